"""Tests of tracking.encoders.serial through real pseudo-terminal pairs.

The pty behind a symlink (tests.support.serial.PtyDevice) lets a device vanish and come back
at the same path. The camera records every lens reading handed to it; nothing here waits a
fixed time for a result: every wait polls with a deadline.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.health import StreamState
from stagectl.core.links import SerialSettings
from stagectl.core.samples import LensReading
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tests.support.polling import async_wait_until
from tests.support.serial import PtyDevice
from tests.support.serial import run_serial_source as _run
from tests.tracking.test_lens_encoders import KD_FRAME, KD_VALUES, N_PRIME
from tracking.encoders.serial import LensSerialSource

RATE = FrameRate.parse(25)


class RecordingCamera(CameraPipeline):
    """A camera that also keeps every lens reading it is handed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.readings: list[LensReading] = []

    def lens_reading(self, reading: LensReading) -> None:
        self.readings.append(reading)
        super().lens_reading(reading)


@pytest.fixture
def device(tmp_path: Path) -> Iterator[PtyDevice]:
    dev = PtyDevice(tmp_path / "ttyLENS")
    yield dev
    dev.unplug()


def _make(path: Path, lens_protocol: str = "fiz-line", **kwargs: Any) -> LensSerialSource:
    kwargs.setdefault("reconnect_min_s", 0.02)
    kwargs.setdefault("reconnect_max_s", 0.08)
    kwargs.setdefault("command_gap_s", 0.005)
    settings = SerialSettings(str(path), baud=115200, parity="none")
    return LensSerialSource("A/lens-serial", RecordingCamera("A"), StageClock(RATE), EventQueue(), settings,
                            lens_protocol, **kwargs)


def _readings(source: LensSerialSource) -> list[LensReading]:
    camera = source.camera
    assert isinstance(camera, RecordingCamera)
    return camera.readings


async def _wait_open(source: LensSerialSource) -> None:
    await async_wait_until(lambda: source.health.failed is None and source.health.detail is None,
                           what="the port to open")


async def _read_from(device: PtyDevice, expected: bytes) -> bytes:
    """What the source wrote to the device, once it is at least as long as ``expected``."""
    got = bytearray()

    def enough() -> bool:
        got.extend(device.read_ready())
        return len(got) >= len(expected)

    await async_wait_until(enough, what=f"the source to write {expected!r}")
    return bytes(got)


def test_fiz_readings_reach_the_camera(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path)

    async def body(src: LensSerialSource) -> None:
        await _wait_open(src)
        device.write(b"FIZ 1200 340 77\nFIZ 1201 - 78\r\n")
        await async_wait_until(lambda: len(_readings(src)) == 2, what="two readings")

    events = _run(source, body)
    first, second = _readings(source)
    assert first == LensReading("A/lens-serial", first.arrival_ns, 1200, 340, 77)
    assert second == LensReading("A/lens-serial", second.arrival_ns, 1201, None, 78)
    assert 0 < first.arrival_ns <= second.arrival_ns <= time.monotonic_ns()
    h = source.health
    assert (h.received, h.accepted, h.rejected, h.failed) == (2, 2, 0, None)
    assert source.camera.lens_readings == 2
    assert [(e.level, e.message) for e in events] == [(Level.INFO, f"opened {device.path} at 115200 8N1")]
    assert (source.protocol, source.unit, source.description) == ("lens-serial", "serial data",
                                                                  "lens-serial (fiz-line)")
    assert source.bound is None and source.configured_address == str(device.path)
    assert device.read_ready() == b""  # a FIZ box is sent nothing


def test_fiz_garbage_and_half_lines_are_counted(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path)

    async def body(src: LensSerialSource) -> None:
        await _wait_open(src)
        device.write(b"\x00\xffnoise\nFIZ 1 2")
        # the half line's end comes in a later read: wait until the reader has taken the first part
        await async_wait_until(lambda: src.health.rejected == 1, what="the noise line")
        await asyncio.sleep(0.1)  # several empty reads (flushes) while the half line waits
        device.write(b" 3\r\nFIZ one 2 3\n" + b"Z" * 300 + b"\nFIZ 4 5 6\n")
        await async_wait_until(lambda: len(_readings(src)) == 2 and src.health.rejected == 3, what="the rest")

    events = _run(source, body)
    assert [(r.focus_raw, r.iris_raw, r.zoom_raw) for r in _readings(source)] == [(1, 2, 3), (4, 5, 6)]
    h = source.health
    assert h.rejected_by_reason == {"format": 1, "value": 1, "too_long": 1}
    assert (h.received, h.accepted) == (5, 2)
    rejected = [e.message for e in events if e.kind == "rejected"]
    assert any(m.startswith("rejected serial data (format): not a FIZ line") for m in rejected)


# --- the device going away and coming back -----------------------------------------------------

def _attempt(source: LensSerialSource) -> int:
    match = re.search(r"\(attempt (\d+)\)", source.health.detail or "")
    return int(match.group(1)) if match else 0


def test_unplugged_encoder_goes_down_and_comes_back(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path)

    async def body(src: LensSerialSource) -> None:
        await _wait_open(src)
        device.write(b"FIZ 1 1 1\n")
        await async_wait_until(lambda: len(_readings(src)) == 1, what="a reading")
        device.unplug()
        await async_wait_until(lambda: src.health.failed is not None, what="the loss")
        assert src.health.state is StreamState.DOWN
        assert (src.health.detail or "").startswith("reconnecting in ")
        await async_wait_until(lambda: _attempt(src) >= 3, what="three reconnect attempts")
        assert (src.health.failed or "").startswith(f"cannot open {device.path}: ")
        device.plug()
        await _wait_open(src)
        device.write(b"FIZ 2 2 2\n")
        await async_wait_until(lambda: len(_readings(src)) == 2, what="a reading after the reconnect")

    events = _run(source, body)
    assert [r.focus_raw for r in _readings(source)] == [1, 2]
    assert [e.level for e in events] == [Level.INFO, Level.WARNING, Level.INFO]  # warned once
    assert events[1].message.startswith(f"lost {device.path}: ")
    assert events[1].message.endswith("; reconnecting in 0.02 s (attempt 1)")
    assert events[2].message.startswith(f"reconnected {device.path} after ")


# --- Cooke /i -----------------------------------------------------------------------------------

def test_cooke_start_commands_on_each_open_and_frames_decoded(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path, "cooke-i")
    written: list[bytes] = []

    async def body(src: LensSerialSource) -> None:
        written.append(await _read_from(device, b"N\rY\rKc\r"))
        device.write(N_PRIME + b"!\n\r!\n\r")
        for i in range(0, len(KD_FRAME) * 2, 5):  # as a slow line delivers it
            device.write((KD_FRAME * 2)[i:i + 5])
        await async_wait_until(lambda: len(_readings(src)) == 2, what="two readings")
        device.unplug()
        await async_wait_until(lambda: src.health.failed is not None, what="the loss")
        device.plug()
        written.append(await _read_from(device, b"N\rY\rKc\r"))

    events = _run(source, body)
    assert written == [b"N\rY\rKc\r", b"N\rY\rKc\r"]
    reading = _readings(source)[0]
    assert reading == KD_VALUES.reading("A/lens-serial", reading.arrival_ns)
    assert (reading.focus_distance_m, reading.t_stop, reading.focal_length_mm,
            reading.entrance_pupil_offset_m) == (2.5, 2.8, 50.0, -0.085)
    assert source.lens == "/i prime 32 mm, serial TEST00042, firmware 4.10"
    assert f"lens: {source.lens}" in [e.message for e in events]
    assert source.health.rejected == 0 and source.health.accepted == 2  # acks are not counted
    assert source.description == "lens-serial (cooke-i)"


def test_cooke_power_on_gets_the_start_commands_again(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path, "cooke-i", start_commands=[b"N\r", b"C\r"])  # ASCII continuous mode

    async def body(src: LensSerialSource) -> None:
        assert await _read_from(device, b"N\rC\r") == b"N\rC\r"
        device.write(b"<\n\r")  # the lens restarted (or another one was plugged into the cable)
        assert await _read_from(device, b"N\rC\r") == b"N\rC\r"
        device.write(b"D0002500T0280t2.8+0Z0050H0029600N0002400F0002610V027.0E-085z0000STEST00042\n\r?\n\r")
        await async_wait_until(lambda: len(_readings(src)) == 1 and src.health.rejected == 1,
                               what="a reading")

    events = _run(source, body)
    assert _readings(source)[0].t_stop == 2.8
    assert source.health.rejected_by_reason == {"lens_error": 1}
    assert f"the lens on {device.path} powered on; start commands sent again" in [e.message for e in events]


def test_unknown_lens_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lens protocol 'freed' is not one of cooke-i, fiz-line"):
        _make(tmp_path / "tty", "freed")
