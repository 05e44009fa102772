"""OpenTrackIO relay cost per sample, as ratios against a baseline measured in the same run.

camdkit's complete example (a lens-solved camera; the tracker repeats its static block in every
sample, as the example does) relayed by the stage's OpenTrackIO output, CBOR:
  baseline  cbor2.dumps of the sample as received (re-encoding what came in, nothing changed)
  relay     OpenTrackIOOutput.relay + encoding: identity replaced, the lens file's solve laid over
            the tracker's lens, the stage's static block (lens file identity, film back) over the
            tracker's, custom.stagectl.changed
  rebuilt   the same with the stage's static block built again for every sample (no cache)
Machines here are noisy, so only the ratios are meant to be compared between runs.

    python bench/opentrackio_relay.py [--samples N] [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cbor2
from _timing import best_of

from lens.interchange import to_opentrackio_static
from stagectl.config.load import parse_stage
from stagectl.core.opentrackio.codec import parse_sample
from stagectl.core.opentrackio.merge import with_notes
from stagectl.core.opentrackio.static import build_static
from stagectl.core.samples import CameraSample, Received
from stagectl.stage.assembly import Stage
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput
from tracking.opentrackio_udp import lens_values

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "opentrackio" / "examples"
STAGE = """
[stage]
name = "relay bench"
frame_rate = 25
[[cameras]]
name = "A"
lens = "{lens}"
[[sources]]
camera = "A"
protocol = "opentrackio"
listen = "127.0.0.1:0"
[[outputs]]
kind = "opentrackio"
target = "127.0.0.1:9"
cameras = ["A"]
encoding = "cbor"
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    lens_file = ROOT / "lens" / "data" / "demo_zoom_24_70.json"
    stage = Stage(parse_stage(STAGE.format(lens=lens_file), base_dir=ROOT))
    output = stage.outputs.streams[0]
    assert isinstance(output, OpenTrackIOOutput)
    stream = output._stream("A")
    obj = json.loads((EXAMPLES / "complete_dynamic_example.json").read_text())
    obj["static"] = json.loads((EXAMPLES / "complete_static_example.json").read_text())["static"]
    parsed = parse_sample(obj)
    assert parsed.static is not None and parsed.lens is not None
    assert parsed.translation_m is not None and parsed.rotation_deg is not None
    stage.cameras["A"].set_tracker_static(obj["static"], (parsed.static.sensor_width_mm or 0.0,
                                                          parsed.static.sensor_height_mm or 0.0))
    lens = lens_values(parsed.lens)
    solved = stage.lens_solvers["A"].solve(1000, 2000, None)
    received = Received("opentrackio", obj, parsed.translation_m, parsed.rotation_deg, lens)
    sample = CameraSample("A", "A/opentrackio", 0, parsed.translation_m, parsed.rotation_deg, lens=solved,
                          received=received)

    def baseline() -> None:
        for _ in range(args.samples):
            cbor2.dumps(obj)

    def relay() -> None:
        for _ in range(args.samples):
            relayed = output.relay(stream, sample, received)
            assert relayed is not None
            cbor2.dumps(with_notes(*relayed))

    def rebuilt() -> None:
        for _ in range(args.samples):
            stage._statics.clear()  # and the lens file's part built again, as it was before the cache
            stage._lens_statics["A"] = build_static(to_opentrackio_static(stage.lens_solvers["A"].lens))
            relayed = output.relay(stream, sample, received)
            assert relayed is not None
            cbor2.dumps(with_notes(*relayed))

    base = best_of(args.repeats, baseline, args.samples)
    print(f"baseline  {base / 1000:7.1f} us per sample (cbor2.dumps of the sample as received)")
    figures: dict[str, float] = {"baseline_us": round(base / 1000, 2)}
    for name, fn in (("relay", relay), ("rebuilt", rebuilt)):
        ns = best_of(args.repeats, fn, args.samples)
        print(f"{name:9} {ns / 1000:7.1f} us per sample = {ns / base:5.1f}x baseline")
        figures |= {f"{name}_us": round(ns / 1000, 2), f"{name}_x_baseline": round(ns / base, 2)}
    if args.json:
        print(json.dumps({"bench": "opentrackio_relay", "samples": args.samples, "repeats": args.repeats,
                          "loadavg_1m": round(os.getloadavg()[0], 2), **figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
