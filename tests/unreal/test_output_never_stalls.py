"""Outputs never stall ingest: a dead receiver or a full socket buffer costs the hot path nothing.

A FreeD source keeps delivering at full rate while the camera's outputs go to a socket whose
buffer is full (a socket pair nobody reads), a UDP receiver with a tiny SO_RCVBUF that never
reads, and a port nobody listens on: every sample still reaches the camera's sinks, the drops
are counted per output with their reason, and nothing raises into the pipeline.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from typing import Any

from bench._receivers import udp_drops
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate
from stagectl.core.udp_out import UdpSender
from stagectl.stage.pipeline import CameraPipeline
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput
from stagectl.unreal.osc_out import OscOutput
from tests.support.loop import run_loop
from tests.support.network import LOCAL, free_udp_port
from tests.support.polling import async_wait_until
from tracking.freed.codec import FreeDPosition, encode_d1
from tracking.freed.udp import FreeDUdpSource

RATE_HZ = 2000
SECONDS = 1.0


def _filled_pair() -> tuple[socket.socket, socket.socket]:
    """A datagram socket pair whose buffer is already full; the first end is the one to send on."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ours.setblocking(False)
    try:
        while True:
            ours.send(b"x" * 512)
    except BlockingIOError:
        pass
    return ours, theirs


def _sample(i: int) -> CameraSample:
    return CameraSample("A", "test", i * 1_000_000, (1.0, 2.0, 3.0), (10.0, 0.0, 0.0), sequence=i)


def test_a_full_buffer_is_a_counted_drop_and_costs_microseconds() -> None:
    ours, theirs = _filled_pair()
    try:
        out = OpenTrackIOOutput("full", Endpoint(LOCAL, 9))
        asyncio.run(out.async_start(sock=ours))
        sink = out.sink_for("A")
        start = time.perf_counter()
        for i in range(2000):
            sink(_sample(i))
        per_sample_us = (time.perf_counter() - start) / 2000 * 1e6
        assert out.sent == 0 and out.dropped_by_reason == {"buffer_full": 2000}
        assert out.last_error == "send buffer full"
        assert per_sample_us < 500  # never waits for the buffer (typically ~30 µs: the encoding)
    finally:
        ours.close()
        theirs.close()


class _NoBuffers:
    """A socket whose every send fails with ENOBUFS (what a saturated NIC queue gives)."""

    def setblocking(self, flag: bool) -> None:
        pass

    def send(self, data: bytes) -> int:
        raise OSError(errno.ENOBUFS, "No buffer space available")

    def close(self) -> None:
        pass


def test_enobufs_and_other_errors_are_counted_by_reason() -> None:
    sender = UdpSender(Endpoint(LOCAL, 9))
    sender.open(_NoBuffers())  # type: ignore[arg-type]
    assert sender.send(b"x") is False and sender.send(b"y") is False
    assert sender.dropped_by_reason == {"no_buffers": 2}
    sender.close()
    assert sender.send(b"z") is False and sender.dropped_by_reason == {"no_buffers": 2, "closed": 1}


def test_ingest_keeps_up_while_every_output_is_stuck() -> None:
    count = int(RATE_HZ * SECONDS)
    results: dict[str, Any] = {}

    # A receiver that never reads, with the smallest receive buffer the kernel allows.
    deaf = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    deaf.bind((LOCAL, 0))
    deaf_port = deaf.getsockname()[1]
    full_ours, full_theirs = _filled_pair()

    async def main() -> None:
        camera = CameraPipeline("A")
        camera.attach(asyncio.get_running_loop())
        source = FreeDUdpSource("A/freed", camera, StageClock(FrameRate.parse(25)), EventQueue(),
                                Endpoint(LOCAL, 0), camera_id=1)
        await source.async_start()
        assert source.bound is not None
        full = OpenTrackIOOutput("full-buffer", Endpoint(LOCAL, 9), encoding="json")
        await full.async_start(sock=full_ours)
        slow = OscOutput("deaf-receiver", Endpoint(LOCAL, deaf_port))
        await slow.async_start()
        dead = OpenTrackIOOutput("dead-receiver", Endpoint(LOCAL, free_udp_port()))
        await dead.async_start()
        for output in (full, slow, dead):
            camera.add_sink(output.sink_for("A"))

        def send_freed() -> None:  # paced at RATE_HZ in 5 ms bursts, from another thread
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            target = (LOCAL, source.bound.port if source.bound else 0)
            start = time.monotonic()
            per_burst = RATE_HZ // 200
            for i in range(count):
                pos = FreeDPosition(1, float(i % 360) - 180.0, 1.0, 0.0, 1000.0, 2000.0, 1500.0, i, i, 0)
                sender.sendto(encode_d1(pos), target)
                if i % per_burst == per_burst - 1:
                    delay = start + (i + 1) / RATE_HZ - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
            sender.close()

        thread = threading.Thread(target=send_freed)
        started = time.monotonic()
        thread.start()
        try:
            # The socket's 1 MiB buffer holds every datagram, so a slow loop delays delivery, never loses it.
            await async_wait_until(lambda: not thread.is_alive() and camera.delivered >= count,
                                   timeout_s=SECONDS + 10.0, what=f"{count} samples delivered",
                                   detail=lambda: camera.delivered)
        finally:
            thread.join()
            results.update(delivered=camera.delivered, sink_errors=camera.sink_errors,
                           rejected=source.health.rejected, elapsed=time.monotonic() - started,
                           full=(full.sent, dict(full.dropped_by_reason)),
                           slow=(slow.sent, slow.dropped, slow.samples),
                           dead=(dead.sent, dead.dropped, dict(dead.dropped_by_reason), dead.samples))
            for output in (full, slow, dead):
                await output.async_stop()
            await source.async_stop()

    try:
        run_loop(main)
        deaf_drops = udp_drops(deaf_port)
    finally:
        deaf.close()
        full_ours.close()
        full_theirs.close()
    # Ingest kept up: every FreeD datagram reached the camera's sinks, none raised.
    assert results["delivered"] == count, results
    assert results["sink_errors"] == 0 and results["rejected"] == 0
    # The full buffer: every sample's datagram dropped and counted, never retried.
    assert results["full"] == (0, {"buffer_full": count})
    # The deaf receiver: the kernel took the datagrams and dropped them at the receiver.
    sent, dropped, samples = results["slow"]
    assert samples == count and sent >= count and dropped == 0  # transform, encoders, timecode
    assert deaf_drops > 0
    # The dead receiver: refusals counted (the first send goes out before the ICMP comes back).
    sent, dropped, by_reason, samples = results["dead"]
    assert samples == count and sent + dropped >= count and by_reason.get("refused", 0) > 0
