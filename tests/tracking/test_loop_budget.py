"""One hostile sender cannot hold the I/O loop: real sockets on 127.0.0.1, the loop's own order.

No wall-clock assertions: a burst's processing is watched through a callback that the loop runs once
per trip, the refusals through the source's counters, arrival times through the samples' stamps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sys
import time
from fractions import Fraction

import cbor2
import pytest

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    MAX_ITEMS,
    OpenTrackIOSample,
    encode_datagram,
    encode_sample,
)
from stagectl.core.platform import DatagramReader, kernel_timestamps_available
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until
from tracking.opentrackio_udp import OpenTrackIOUdpSource
from tracking.udp_source import WAKE_BUDGET_BYTES

LOCAL = "127.0.0.1"
CLOCK = StageClock(FrameRate.parse(25))
needs_kernel_stamps = pytest.mark.skipif(not kernel_timestamps_available(),
                                         reason="the OS gives no kernel receive stamps")


def _source(events: EventQueue | None = None, camera: CameraPipeline | None = None) -> OpenTrackIOUdpSource:
    return OpenTrackIOUdpSource("A/opentrackio", camera or CameraPipeline("A"), CLOCK,
                                EventQueue() if events is None else events,
                                Endpoint(LOCAL, 0))


def _wide(encoding: int, size: int, sequence: int) -> bytes:
    """A datagram with a valid header and a ``{"a": [[], [], ...]}`` payload of about ``size`` bytes."""
    if encoding == ENCODING_CBOR:
        payload = cbor2.dumps({"a": [[]] * (size - 8)})
    else:
        payload = json.dumps({"a": [[]] * ((size - 8) // 3)}, separators=(",", ":")).encode()
    return encode_datagram(payload, encoding, sequence)


def _pose(seq: int) -> list[bytes]:
    sample = OpenTrackIOSample(translation_m=(1.0, 2.0, 1.5), rotation_deg=(10.0, 0.0, 0.0),
                               sequence_number=seq, sample_rate=Fraction(50), source_number=1)
    return encode_sample(sample, ENCODING_CBOR, sequence=seq)


@pytest.mark.parametrize("encoding", [ENCODING_CBOR, ENCODING_JSON])
def test_a_queued_burst_of_wide_payloads_is_read_over_several_trips_of_the_loop(encoding: int) -> None:
    """30 datagrams of 5 kB wait in the socket; a callback that reschedules itself once per trip of the
    loop sees the count grow in steps: the reader gives the loop back between them."""
    events = EventQueue()
    camera = CameraPipeline("A")
    source = _source(events, camera)
    count, size = 30, 5000
    seen: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        camera.attach(loop)
        await source.async_start()
        assert source.bound is not None
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for i in range(count):  # all queued before the loop looks at the socket
                    sender.sendto(_wide(encoding, size, i), (LOCAL, source.bound.port))

            def tick() -> None:
                seen.append(source.health.received)
                if source.health.received < count and len(seen) < 10_000:
                    loop.call_soon(tick)

            loop.call_soon(tick)
            await async_wait_until(lambda: source.health.received == count, what="every datagram read")
        finally:
            await source.async_stop()

    run_loop(main)
    steps = sorted(set(seen) - {0, count})
    assert len(steps) >= count * size // WAKE_BUDGET_BYTES - 1, seen  # other callbacks ran in between
    assert source.health.rejected_by_reason == {"too_many_items": count}
    assert source.budget_yields >= 2 and source.wakeups >= 3
    refusal = next(e for e in events.drain() if e.kind == "rejected")  # says which source, what, which limit
    assert refusal.source == "A/opentrackio" and "(too_many_items)" in refusal.message
    assert ("array of" in refusal.message or "items (counting" in refusal.message) and \
        f"limit of {MAX_ITEMS} items" in refusal.message


@needs_kernel_stamps
def test_samples_read_late_keep_the_times_they_arrived_and_the_rate_stays_true() -> None:
    """The loop is held (a blocking sleep on it) while ten 50 Hz samples arrive; then it reads them in one
    go. Each keeps its kernel arrival stamp: 20 ms apart, not all at the read, and the rate is ~50 Hz."""
    camera = CameraPipeline("A")
    source = _source(camera=camera)
    delivered: list[CameraSample] = []
    camera.add_sink(delivered.append)

    async def main() -> None:
        camera.attach(asyncio.get_running_loop())
        await source.async_start()
        assert source.bound is not None and source.kernel_stamps
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for seq in range(1, 11):
                    for datagram in _pose(seq):
                        sender.sendto(datagram, (LOCAL, source.bound.port))
                    time.sleep(0.02)  # on the loop: it is busy, nothing is read meanwhile
            read_from = time.monotonic_ns()
            await async_wait_until(lambda: len(delivered) == 10, what="ten samples")
            assert all(s.arrival_ns < read_from for s in delivered)
            source.health.evaluate(time.monotonic_ns())
        finally:
            await source.async_stop()

    run_loop(main)
    arrivals = [s.arrival_ns for s in delivered]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 15_000_000, gaps  # stamped when they arrived (a read stamps them ~us apart)
    assert 0 < source.health.rate_hz <= 55.0  # at most what arrived (before: thousands of Hz)


@needs_kernel_stamps
def test_the_reader_gives_each_datagram_its_kernel_arrival_time() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sock.bind((LOCAL, 0))
        sock.setblocking(False)
        reader = DatagramReader(sock, 2048)
        assert reader.kernel_stamps
        sent = []
        sender.bind((LOCAL, 0))
        sender_addr = sender.getsockname()
        for i in range(3):
            sent.append(time.monotonic_ns())
            sender.sendto(bytes([i]), sock.getsockname())
            time.sleep(0.03)
        read_at = time.monotonic_ns()
        got = [reader.read() for _ in range(3)]
        with pytest.raises(BlockingIOError):
            reader.read()
    assert [data for data, _, _ in got] == [b"\x00", b"\x01", b"\x02"]
    for (_, addr, arrival), at in zip(got, sent, strict=True):
        assert addr == sender_addr
        assert at <= arrival + 1_000_000 and arrival < read_at - 5_000_000  # when sent, not when read


def test_without_kernel_stamps_each_datagram_is_stamped_at_its_read() -> None:
    """The portable fallback (Windows, macOS): the time of the read, per datagram, never backwards."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sock.bind((LOCAL, 0))
        sock.setblocking(False)
        reader = DatagramReader(sock, 2048, kernel_stamps=False)
        assert not reader.kernel_stamps
        sender.sendto(b"a", sock.getsockname())
        sender.sendto(b"b", sock.getsockname())
        time.sleep(0.01)
        before = time.monotonic_ns()
        first, second = reader.read(), reader.read()
    assert before <= first[2] <= second[2]
    assert sys.platform.startswith("linux") == kernel_timestamps_available()
