"""Tests of tracking.freed.serial through real pseudo-terminal pairs.

The source opens a symlink in tmp_path that points at a pty's slave side; the test writes FreeD
bytes to the master. Unplugging closes the master and removes the link; plugging in again makes
a new pty and re-points the link, so the device "comes back" at the same path.

Linux ptys ignore parity (the pty driver clears PARENB and forces CS8), and pyserial does not
complain: the default 8O1 opens fine, so these tests use it; the settings reaching pyserial are
checked with a recording stand-in for serial.Serial.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.health import StreamState
from stagectl.core.links import SerialSettings
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tests.support.polling import async_wait_until
from tests.support.serial import PtyDevice
from tests.support.serial import run_serial_source as _run
from tracking.freed.codec import CMD_START_STREAM, FreeDPosition, encode_d0, encode_d1
from tracking.freed.serial import FreeDSerialSource, backoff_s

RATE = FrameRate.parse(25)


def _frame(pan: float = 12.5, camera_id: int = 1) -> bytes:
    return encode_d1(FreeDPosition(camera_id, pan, -3.25, 0.5, 1500.0, -2250.5, 1725.0, 1000, 2000, 0x1234))


@pytest.fixture
def device(tmp_path: Path) -> Iterator[PtyDevice]:
    dev = PtyDevice(tmp_path / "ttyFREED")
    yield dev
    dev.unplug()


def _make(path: Path, **kwargs: Any) -> FreeDSerialSource:
    settings = kwargs.pop("settings", SerialSettings(str(path)))
    kwargs.setdefault("reconnect_min_s", 0.02)
    kwargs.setdefault("reconnect_max_s", 0.08)
    camera = CameraPipeline("A")
    return FreeDSerialSource("A/freed-serial", camera, StageClock(RATE), EventQueue(), settings, **kwargs)


def _collect(source: FreeDSerialSource) -> list[CameraSample]:
    samples: list[CameraSample] = []
    source.camera.add_sink(samples.append)
    return samples


def _opened(source: FreeDSerialSource) -> Callable[[], bool]:
    return lambda: source.health.failed is None and source.health.detail is None


async def _wait_open(source: FreeDSerialSource) -> None:
    await async_wait_until(_opened(source), what="the port to open")


# --- data ---------------------------------------------------------------------------------------

def test_good_frames_become_samples(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path)
    samples = _collect(source)

    async def body(src: FreeDSerialSource) -> None:
        assert src.health.detail == f"opening {device.path}"  # async_start returned before the open
        await _wait_open(src)
        device.write(_frame(10.0) + _frame(20.0) + _frame(30.0))
        await async_wait_until(lambda: len(samples) == 3, what="three samples")

    events = _run(source, body)
    # FreeD pans right-positive, stagectl (OpenTrackIO) left-positive
    assert [s.rotation_deg for s in samples] == [(-p, -3.25, 0.5) for p in (10.0, 20.0, 30.0)]
    first = samples[0]
    assert first.translation_m == pytest.approx((1.5, -2.2505, 1.725), abs=1e-12)
    assert (first.camera, first.source, first.device_id, first.zoom_raw, first.focus_raw) == (
        "A", "A/freed-serial", 1, 1000, 2000)
    assert [s.sequence for s in samples] == [1, 2, 3]
    h = source.health
    assert (h.received, h.accepted, h.rejected, h.failed) == (3, 3, 0, None)
    assert [(e.level, e.message) for e in events] == [(Level.INFO, f"opened {device.path} at 38400 8O1")]
    assert source.protocol == "freed-serial" and source.bound is None
    assert source.configured_address == str(device.path)


def test_garbage_half_frames_and_bad_checksums_between_good_frames(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path)
    samples = _collect(source)
    corrupt = bytearray(_frame(99.0))
    corrupt[7] ^= 0x01
    stream = (b"\x00\xd1garbage" + _frame(1.0) + _frame(2.0)[:13] + _frame(3.0) + bytes(corrupt)
              + _frame(4.0) + encode_d0(0xFF, CMD_START_STREAM) + _frame(5.0) + b"\xd1\xd1\xd1" + _frame(6.0))

    async def body(src: FreeDSerialSource) -> None:
        await _wait_open(src)
        for i in range(0, len(stream), 7):  # as a slow line delivers it
            device.write(stream[i:i + 7])
        await async_wait_until(lambda: len(samples) == 5, what="five samples")

    _run(source, body)
    assert [-s.rotation_deg[0] for s in samples] == [1.0, 3.0, 4.0, 5.0, 6.0]
    h = source.health
    assert h.rejected_by_reason == {"sync": 3, "checksum": 1, "type": 1}
    assert (h.received, h.accepted) == (10, 5)


def test_camera_id_filter_and_value_check(device: PtyDevice) -> None:
    device.plug()
    source = _make(device.path, camera_id=2)
    samples = _collect(source)

    async def body(src: FreeDSerialSource) -> None:
        await _wait_open(src)
        device.write(_frame(1.0, camera_id=1) + _frame(200.0, camera_id=2) + _frame(2.0, camera_id=2))
        await async_wait_until(lambda: len(samples) == 1, what="one sample")

    events = _run(source, body)
    assert source.health.rejected_by_reason == {"camera_id": 1, "value": 1}
    assert samples[0].device_id == 2 and samples[0].rotation_deg[0] == -2.0
    rejected = [e.message for e in events if e.kind == "rejected"]
    assert any("camera id 1; this source takes 2" in m for m in rejected)
    assert any("pan 200.000 deg is outside" in m for m in rejected)


# --- the device going away and coming back -----------------------------------------------------

def _attempt(source: FreeDSerialSource) -> int:
    """The reconnect attempt named in ``health.detail`` (0 when there is none)."""
    match = re.search(r"\(attempt (\d+)\)", source.health.detail or "")
    return int(match.group(1)) if match else 0


def test_device_vanishing_and_coming_back(device: PtyDevice, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="stagectl.tracking")
    device.plug()
    source = _make(device.path)
    samples = _collect(source)

    async def body(src: FreeDSerialSource) -> None:
        await _wait_open(src)
        device.write(_frame(1.0))
        await async_wait_until(lambda: len(samples) == 1, what="a sample")
        device.unplug()
        await async_wait_until(lambda: src.health.failed is not None, what="the loss")
        assert src.health.state is StreamState.DOWN
        await async_wait_until(lambda: _attempt(src) >= 5, what="five reconnect attempts")
        assert (src.health.failed or "").startswith(f"cannot open {device.path}: No such file")
        device.plug()
        await _wait_open(src)
        device.write(_frame(2.0))
        await async_wait_until(lambda: len(samples) == 2, what="a sample after the reconnect")

    events = _run(source, body)
    assert [-s.rotation_deg[0] for s in samples] == [1.0, 2.0]
    assert [e.level for e in events] == [Level.INFO, Level.WARNING, Level.INFO]  # warned once per outage
    assert events[0].message == f"opened {device.path} at 38400 8O1"
    assert events[1].message.startswith(f"lost {device.path}: ")
    assert events[1].message.endswith("; reconnecting in 0.02 s (attempt 1)")
    # later attempts go to the debug log; each wait doubles from reconnect_min_s up to the cap
    details = [events[1].message] + [r.getMessage() for r in caplog.records
                                     if r.levelno == logging.DEBUG and "reconnecting in" in r.getMessage()]
    attempts = [int(m.rsplit(" ", 1)[1].rstrip(")")) for m in details]
    assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 5
    for message, attempt in zip(details, attempts, strict=True):
        assert message.endswith(f"reconnecting in {backoff_s(attempt, 0.02, 0.08):g} s (attempt {attempt})")
    assert details[4].endswith("reconnecting in 0.08 s (attempt 5)")
    assert events[2].message == f"reconnected {device.path} after {len(attempts)} attempts"


def test_device_appearing_after_start(device: PtyDevice) -> None:
    source = _make(device.path)
    samples = _collect(source)

    async def body(src: FreeDSerialSource) -> None:
        await async_wait_until(lambda: _attempt(src) >= 2, what="two failed opens")
        assert (src.health.failed or "").startswith(f"cannot open {device.path}: ")
        device.plug()
        await _wait_open(src)
        device.write(_frame(1.0))
        await async_wait_until(lambda: len(samples) == 1, what="a sample")

    events = _run(source, body)
    assert [e.level for e in events] == [Level.WARNING, Level.INFO]
    assert events[1].message.startswith(f"opened {device.path} at 38400 8O1 after ")


def test_async_stop_returns_promptly_while_the_device_is_gone(device: PtyDevice) -> None:
    source = _make(device.path, reconnect_min_s=30.0, reconnect_max_s=60.0)

    async def body(src: FreeDSerialSource) -> None:
        await async_wait_until(lambda: src.health.detail == "reconnecting in 30 s (attempt 1)",
                               what="a failed open")

    events = _run(source, body)  # asserts the reader thread ended: the 30 s wait was cut short
    assert (source.health.failed or "").endswith("No such file or directory")
    assert [e.level for e in events] == [Level.WARNING]


# --- the start-stream command and the line settings ---------------------------------------------

async def _read_command(device: PtyDevice) -> bytes:
    """The bytes the source wrote to the device, once there are at least four."""
    got = bytearray()

    def enough() -> bool:
        got.extend(device.read_ready())
        return len(got) >= 4

    await async_wait_until(enough, what="the D0 command")
    return bytes(got)


@pytest.mark.parametrize(("camera_id", "expected"), [(3, b"\xd0\x03\x01\x6c"), (None, b"\xd0\xff\x01\x70")])
def test_start_stream_command_is_sent_after_each_open(device: PtyDevice, camera_id: int | None,
                                                      expected: bytes) -> None:
    device.plug()
    source = _make(device.path, camera_id=camera_id, start_stream=True)  # no camera id: 0xFF, all
    received: list[bytes] = []

    async def body(src: FreeDSerialSource) -> None:
        await _wait_open(src)
        received.append(await _read_command(device))
        device.unplug()
        await async_wait_until(lambda: src.health.failed is not None, what="the loss")
        device.plug()
        await _wait_open(src)
        received.append(await _read_command(device))

    _run(source, body)
    assert received == [expected, expected]
    assert expected == encode_d0(0xFF if camera_id is None else camera_id, CMD_START_STREAM)


def test_line_settings_reach_pyserial(device: PtyDevice, monkeypatch: pytest.MonkeyPatch) -> None:
    device.plug()
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    real = serial.Serial

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(serial, "Serial", recording)
    settings = SerialSettings(str(device.path), baud=19200, parity="even", data_bits=7, stop_bits=2.0)
    source = _make(device.path, settings=settings, read_timeout_s=0.03)

    events = _run(source, _wait_open)
    args, kwargs = calls[0]
    assert args == (str(device.path),)
    assert kwargs == {"baudrate": 19200, "parity": serial.PARITY_EVEN, "bytesize": serial.SEVENBITS,
                      "stopbits": serial.STOPBITS_TWO, "timeout": 0.03, "write_timeout": 0.5}
    assert events[0].message == f"opened {device.path} at 19200 7E2"


# --- a wedged device ----------------------------------------------------------------------------

class WedgedPort:
    """A port whose read ignores its timeout and cancel_read (a hung driver)."""

    last: WedgedPort
    in_waiting = 0

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        self.release = threading.Event()
        self.closed = False
        WedgedPort.last = self

    def read(self, _size: int) -> bytes:
        self.release.wait(5.0)
        return b""

    def cancel_read(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        self.release.set()


def test_async_stop_does_not_hang_on_a_wedged_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(serial, "Serial", WedgedPort)
    source = _make(tmp_path / "ttyWEDGED")

    _run(source, _wait_open, settle_s=3.0)  # the forced close releases the read, so the thread still ends
    assert WedgedPort.last.closed
    assert any("did not stop" in r.getMessage() for r in caplog.records)
