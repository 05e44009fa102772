"""FreeD ingest cost per datagram, as ratios against a baseline measured in the same run.

Measures, per 29-byte D1 datagram:
  baseline  struct.unpack of the 29 bytes (the cheapest Python-level look at a packet)
  decode    tracking.freed.codec.decode_d1
  ingest    FreeDUdpSource.datagram_received: size check, decode, CameraSample, stage-clock
            timecode, health, pipeline delivery into the latest slot and the plot ring
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
from stagectl.core.links import Endpoint
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

    base = best_of(args.repeats, baseline, len(packets))
    dec = best_of(args.repeats, decode, len(packets))
    ing = best_of(args.repeats, ingest, len(packets))
    assert source.health.rejected == 0, source.health.rejected_by_reason
    print(f"packets per run: {len(packets)}, runs: {args.repeats} (median)")
    print(f"baseline struct.unpack : {base:8.0f} ns/packet  1.00x")
    print(f"decode_d1              : {dec:8.0f} ns/packet  {dec / base:5.2f}x baseline")
    print(f"full ingest (handler)  : {ing:8.0f} ns/packet  {ing / base:5.2f}x baseline")
    print(f"ingest headroom        : {1e9 / ing:,.0f} packets/s on one core")
    if args.json:
        print(json.dumps({"bench": "freed_ingest", "packets": len(packets), "repeats": args.repeats,
                          "loadavg_1m": round(os.getloadavg()[0], 2),
                          "ns_per_packet": {"baseline": round(base), "decode": round(dec),
                                            "ingest": round(ing)},
                          "x_baseline": {"decode": round(dec / base, 2), "ingest": round(ing / base, 2)}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
