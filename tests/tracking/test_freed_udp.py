"""Tests of tracking.freed.udp over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.health import StreamState
from stagectl.core.links import Endpoint
from stagectl.core.logutil import RateLimiter
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate, frames_per_24h
from stagectl.stage.pipeline import CameraPipeline
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until
from tracking.freed.codec import FreeDPosition, encode_d1
from tracking.freed.udp import FreeDUdpSource

LOCAL = "127.0.0.1"
ADDR = (LOCAL, 40000)
ANY_PORT = Endpoint(LOCAL, 0)
RATE = FrameRate.parse(25)

# camera 1; 1500 mm, -2250.5 mm, 1725 mm; pan 12.5, tilt -3.25, roll 0.5: all exact in FreeD units.
GOOD_POS = FreeDPosition(1, 12.5, -3.25, 0.5, 1500.0, -2250.5, 1725.0, 1000, 2000, 0x1234)
GOOD = encode_d1(GOOD_POS)


def _with_checksum(body: bytes) -> bytes:
    return body + bytes(((0x40 - sum(body)) % 256,))


def _packet(camera_id: int = 1, pan: float = 12.5) -> bytes:
    return encode_d1(FreeDPosition(camera_id, pan, -3.25, 0.5, 1500.0, -2250.5, 1725.0, 1000, 2000, 0x1234))


def _make(listen: Endpoint = ANY_PORT) -> FreeDUdpSource:
    camera = CameraPipeline("A")
    return FreeDUdpSource("A/freed", camera, StageClock(RATE), EventQueue(), listen, camera_id=1)


def _run(source: FreeDUdpSource, body: Callable[[FreeDUdpSource, socket.socket], Awaitable[None]]) -> None:
    """Start ``source`` on a fresh loop, run ``body(source, sender)``, stop; fail on loop errors."""

    async def main() -> None:
        source.camera.attach(asyncio.get_running_loop())  # what Stage.async_start does
        await source.async_start()
        assert source.bound is not None and source.bound.port != 0
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            await body(source, sender)
        finally:
            sender.close()
            await source.async_stop()

    run_loop(main)


def _send(sender: socket.socket, source: FreeDUdpSource, data: bytes) -> None:
    assert source.bound is not None
    sender.sendto(data, (source.bound.host, source.bound.port))


# --- good packet -------------------------------------------------------------------------------

def test_good_packet_becomes_a_camera_sample() -> None:
    source = _make()
    times: list[int] = []

    async def body(src: FreeDUdpSource, sender: socket.socket) -> None:
        times.append(time.monotonic_ns())
        _send(sender, src, GOOD)
        await async_wait_until(lambda: src.camera.latest is not None)
        times.append(time.monotonic_ns())

    _run(source, body)
    sample = source.camera.latest
    assert isinstance(sample, CameraSample)
    assert (sample.camera, sample.source, sample.device_id) == ("A", "A/freed", 1)
    assert sample.translation_m == pytest.approx((1.5, -2.2505, 1.725), abs=1e-12)
    assert sample.rotation_deg == (-12.5, -3.25, 0.5)  # FreeD pans right-positive, internal left
    assert (sample.zoom_raw, sample.focus_raw, sample.sequence) == (1000, 2000, 1)
    assert sample.extra == {"spare": 0x1234}
    assert times[0] <= sample.arrival_ns <= times[1]
    # the stage clock's label at arrival: between its labels before the send and after delivery
    tc = sample.timecode
    assert tc is not None and tc.rate == RATE
    day = frames_per_24h(RATE, False)
    lo, hi = (source.clock.frame_at(t) for t in times)
    assert (tc.frames - lo) % day <= hi - lo
    h = source.health
    assert (h.received, h.accepted, h.rejected) == (1, 1, 0)
    assert source.camera.delivered == 1 and len(source.camera.ring) == 1
    assert h.evaluate(time.monotonic_ns()) is StreamState.UP
    assert [e.kind for e in source.events.drain()] == ["state"]  # "listening for FreeD on ..."


# --- bad datagrams -----------------------------------------------------------------------------

BAD = [
    ("28 bytes", GOOD[:28], "length"),
    ("30 bytes", GOOD + b"\x00", "length"),
    ("65507 bytes", GOOD + bytes(65507 - 29), "length"),
    ("empty", b"", "length"),
    ("D2 type, 29 bytes", _with_checksum(b"\xd2" + GOOD[1:28]), "type"),
    ("D2 status, 16 bytes", _with_checksum(b"\xd2" + bytes(14)), "type"),
    ("65507 bytes of zeros", bytes(65507), "length"),
    ("bad checksum", GOOD[:28] + bytes(((GOOD[28] + 1) % 256,)), "checksum"),
    ("camera id 2", _packet(camera_id=2), "camera_id"),
]


def test_bad_datagrams_are_counted_by_reason_and_a_good_one_still_gets_through() -> None:
    source = _make()

    async def body(src: FreeDUdpSource, sender: socket.socket) -> None:
        for n, (name, data, reason) in enumerate(BAD, start=1):
            before = src.health.rejected_by_reason.get(reason, 0)
            _send(sender, src, data)
            await async_wait_until(lambda n=n: src.health.received == n)
            assert src.health.rejected_by_reason.get(reason, 0) == before + 1, name
            assert src.camera.latest is None, name
        _send(sender, src, _packet(pan=-45.0))
        await async_wait_until(lambda: src.camera.latest is not None)

    _run(source, body)
    h = source.health
    assert h.rejected_by_reason == {"length": 5, "type": 2, "checksum": 1, "camera_id": 1}
    assert (h.received, h.accepted, h.rejected) == (len(BAD) + 1, 1, len(BAD))
    assert source.camera.latest is not None and source.camera.latest.rotation_deg[0] == 45.0
    assert source.camera.latest.sequence == 1  # only accepted samples are numbered


def _mutate(rng: random.Random, good: bytes) -> bytes:
    data = bytearray(good)
    op = rng.randrange(5)
    if op == 0:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif op == 1:
        del data[rng.randrange(len(data)):]
    elif op == 2:
        data += rng.randbytes(rng.randint(1, 64))
    elif op == 3:  # random payload with a valid checksum: decodes, maybe to wild values
        data = bytearray(_with_checksum(b"\xd1" + bytes((rng.choice((1, 1, 7)),)) + rng.randbytes(26)))
    else:
        data[0] = rng.choice((0xD0, 0xD2, 0xDB, 0x00, 0xFF))
    return bytes(data)


def test_fuzzed_datagrams_never_raise_and_are_all_counted() -> None:
    source = _make()
    rng = random.Random(20240611)
    for _ in range(2000):
        source.datagram_received(_mutate(rng, GOOD), ADDR)
    h = source.health
    assert h.received == 2000
    assert h.accepted + h.rejected == h.received
    assert "internal" not in h.rejected_by_reason
    assert h.accepted > 0 and h.rejected > 0  # the fuzz reaches both paths
    assert source.camera.delivered == h.accepted  # no loop attached: delivered at once
    assert set(h.rejected_by_reason) <= {"length", "type", "checksum", "camera_id", "value"}


def test_rejected_events_are_rate_limited_per_reason() -> None:
    source = _make()
    for _ in range(100):
        source.datagram_received(GOOD[:20], ADDR)
        source.datagram_received(GOOD[:28] + b"\x00", ADDR)
    rejected = [e for e in source.events.drain() if e.kind == "rejected"]
    assert len(rejected) == 2
    assert "(length)" in rejected[0].message and "(checksum)" in rejected[1].message
    assert all(e.level is Level.WARNING and e.source == "A/freed" for e in rejected)
    assert source.health.rejected_by_reason == {"length": 100, "checksum": 100}


def test_rejected_event_after_the_interval_reports_what_was_held_back() -> None:
    source = _make()
    now = [50.0]
    source._limiter = RateLimiter(1.0, clock=lambda: now[0])  # a fake clock for the 1 s interval
    for _ in range(100):
        source.datagram_received(GOOD[:20], ADDR)
    now[0] += 1.0
    source.datagram_received(GOOD[:20], ADDR)
    messages = [e.message for e in source.events.drain() if e.kind == "rejected"]
    assert len(messages) == 2
    assert messages[1].endswith("(99 similar suppressed)")


# --- transport failure -------------------------------------------------------------------------

def test_port_already_taken_marks_the_source_down() -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        blocker.bind((LOCAL, 0))
        port = blocker.getsockname()[1]
        source = _make(Endpoint(LOCAL, port))
        asyncio.run(source.async_start())
    finally:
        blocker.close()
    assert source.bound is None
    assert source.health.failed is not None and f"{LOCAL}:{port}" in source.health.failed
    assert source.health.state is StreamState.DOWN
    assert source.health.evaluate(time.monotonic_ns()) is None  # stays down
    errors = [e for e in source.events.drain() if e.level is Level.ERROR]
    assert len(errors) == 1
    assert errors[0].kind == "error" and errors[0].source == "A/freed"
    assert f"{LOCAL}:{port}" in errors[0].message


# --- delay line --------------------------------------------------------------------------------

def test_delay_line_holds_samples_for_delay_ms_and_keeps_order() -> None:
    source = _make()
    delivered: list[tuple[int, float]] = []
    source.camera.add_sink(lambda s: delivered.append((time.monotonic_ns(), -s.rotation_deg[0])))
    source.camera.set_delay_ms(50)

    async def body(src: FreeDUdpSource, sender: socket.socket) -> None:
        for pan in (1.0, 2.0, 3.0):
            _send(sender, src, _packet(pan=pan))
        await async_wait_until(lambda: len(delivered) == 3)

    _run(source, body)
    assert [pan for _, pan in delivered] == [1.0, 2.0, 3.0]
    ring = source.camera.ring.recent()
    assert ring.shape[0] == 3
    for (delivered_ns, _), arrival_s in zip(delivered, ring[:, 0], strict=True):
        held_ms = (delivered_ns - arrival_s * 1e9) / 1e6
        assert 49.0 <= held_ms < 1000.0


def test_delay_line_does_not_deliver_immediately() -> None:
    source = _make()
    camera = source.camera

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        camera.attach(loop)
        camera.set_delay_ms(50)
        source.datagram_received(GOOD, ADDR)
        held = camera.delivered
        started = loop.time()
        await async_wait_until(lambda: camera.delivered == 1)
        elapsed_ms = (loop.time() - started) * 1000
        camera.set_delay_ms(0)  # no delay: delivered inside the handler
        source.datagram_received(_packet(pan=7.0), ADDR)
        assert camera.delivered == 2 and camera.latest is not None
        assert camera.latest.rotation_deg[0] == -7.0
        return held, round(elapsed_ms)

    held, elapsed_ms = asyncio.run(main())
    assert held == 0 and source.health.accepted == 2
    assert 45 <= elapsed_ms < 1000


# --- reading: bursts in one wake-up, and the fallback transport ----------------------------------

def test_a_burst_is_read_in_one_wake_up() -> None:
    source = _make()
    wakes: list[int] = []
    drain = source._drain

    def counting_drain() -> None:
        before = source.health.received
        drain()
        wakes.append(source.health.received - before)

    source._drain = counting_drain  # type: ignore[method-assign]

    async def body(src: FreeDUdpSource, sender: socket.socket) -> None:
        for burst in range(1, 4):
            for _ in range(8):  # eight genlocked trackers send on the same tick
                _send(sender, src, GOOD)
            time.sleep(0.02)  # the loop is busy: the burst queues in the socket
            await async_wait_until(lambda n=burst: src.health.received == 8 * n)  # type: ignore[misc]

    _run(source, body)
    assert source.health.accepted == 24
    assert max(wakes) == 8  # one callback took the whole burst (asyncio's transport reads one)


def test_falls_back_to_the_asyncio_transport_without_add_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_add_reader(self: asyncio.AbstractEventLoop, *args: Any) -> None:
        raise NotImplementedError  # as on Windows' proactor loop

    monkeypatch.setattr(asyncio.BaseEventLoop, "add_reader", no_add_reader, raising=False)
    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_reader", no_add_reader)
    source = _make()

    async def body(src: FreeDUdpSource, sender: socket.socket) -> None:
        monkeypatch.undo()  # the transport itself needs the real add_reader
        _send(sender, src, GOOD)
        await async_wait_until(lambda: src.camera.delivered == 1)

    _run(source, body)
    assert source._transport is None and source._sock is None  # closed on stop
    assert source.health.accepted == 1


def test_a_failing_raw_capture_is_reported_once_and_never_stops_the_stream() -> None:
    source = _make()
    calls: list[bytes] = []

    def capture(data: bytes, _peer: Any, _arrival_ns: int) -> None:
        calls.append(data)
        raise OSError("journal gone")

    source.capture = capture

    async def body(src: FreeDUdpSource, sender: socket.socket) -> None:
        for n in range(5):
            _send(sender, src, _packet(pan=float(n)))
        await async_wait_until(lambda: src.camera.delivered == 5)

    _run(source, body)
    assert len(calls) == 5 and source.health.accepted == 5
    errors = [e for e in source.events.drain() if e.level is Level.ERROR]
    assert [e.message for e in errors] == ["raw capture failed, the take misses this datagram: journal gone"]
