"""FreeD ingest cost per datagram, as ratios against a baseline measured in the same run.

Measures, per 29-byte D1 datagram:
  baseline  struct.unpack of the 29 bytes (the cheapest Python-level look at a packet)
  decode    tracking.freed.codec.decode_d1
  ingest    FreeDUdpSource.datagram_received: size check, decode, CameraSample, stage-clock
            timecode, health, pipeline delivery into the latest slot and the plot ring
  ring row  SampleRing.append alone (the plot's row of one sample)
and the health monitor's tick on the I/O loop (``Stage._async_monitor``: ``evaluate`` of every
source) for 8 sources of 500 Hz with full histories (1 000 intervals, 1 s of arrivals), in µs a tick.
Machines here are noisy, so only the ratios are meant to be compared between runs.

    python bench/freed_ingest.py [--packets N] [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.health import StreamHealth
from stagectl.core.links import Endpoint
from stagectl.core.ringbuffer import SampleRing
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tracking.freed.codec import decode_d1
from tracking.freed.udp import FreeDUdpSource
from tracking.simulator import FreeDSimulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    sim = FreeDSimulator(Endpoint("127.0.0.1", 9), rate_hz=100.0, cameras=1)
    packets = [sim.packets_at(i / 100.0)[0] for i in range(args.packets)]
    unpack = struct.Struct(">29B").unpack
    camera = CameraPipeline("A")
    source = FreeDUdpSource("A/freed", camera, StageClock(FrameRate.parse("24000/1001")), EventQueue(),
                            Endpoint("127.0.0.1", 0), camera_id=1)
    addr = ("127.0.0.1", 40000)

    def baseline() -> None:
        for p in packets:
            unpack(p)

    def decode() -> None:
        for p in packets:
            decode_d1(p)

    def ingest() -> None:
        for p in packets:
            source.datagram_received(p, addr)

    ring = SampleRing()

    def ring_row() -> None:
        append, latest = ring.append, camera.latest
        assert latest is not None  # ingest runs first
        for _ in packets:
            append(latest)

    healths = [StreamHealth(f"S{k}/freed") for k in range(8)]
    now = 0
    for i in range(1, 3001):
        now = i * 2_000_000 + (i % 7) * 1000
        for health in healths:
            health.on_accept(now)

    def monitor_ticks() -> None:
        for tick in range(1000):
            at = now + tick * 1000  # a tick every microsecond of stream time: each one's own work
            for health in healths:
                health.evaluate(at)

    base = best_of(args.repeats, baseline, len(packets))
    dec = best_of(args.repeats, decode, len(packets))
    ing = best_of(args.repeats, ingest, len(packets))
    row = best_of(args.repeats, ring_row, len(packets))
    tick = best_of(args.repeats, monitor_ticks, 1000)
    assert source.health.rejected == 0, source.health.rejected_by_reason
    print(f"packets per run: {len(packets)}, runs: {args.repeats} (median)")
    print(f"baseline struct.unpack : {base:8.0f} ns/packet  1.00x")
    print(f"decode_d1              : {dec:8.0f} ns/packet  {dec / base:5.2f}x baseline")
    print(f"full ingest (handler)  : {ing:8.0f} ns/packet  {ing / base:5.2f}x baseline")
    print(f"ingest headroom        : {1e9 / ing:,.0f} packets/s on one core")
    print(f"plot ring row          : {row:8.0f} ns/sample")
    print(f"health monitor tick    : {tick / 1000:8.1f} µs for 8 sources of 500 Hz")
    if args.json:
        print(json.dumps({"bench": "freed_ingest", "packets": len(packets), "repeats": args.repeats,
                          "loadavg_1m": round(os.getloadavg()[0], 2),
                          "ns_per_packet": {"baseline": round(base), "decode": round(dec),
                                            "ingest": round(ing), "ring_row": round(row)},
                          "monitor_tick_us_8_sources": round(tick / 1000, 1),
                          "x_baseline": {"decode": round(dec / base, 2), "ingest": round(ing / base, 2)}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
