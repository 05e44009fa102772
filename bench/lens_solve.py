"""Lens solve cost per sample, as ratios against a baseline measured in the same run.

Measures, per sample (raw counts from the simulated FreeD camera's zoom and focus pulls):
  baseline     one bisect_right into the 9 zoom knots + one 3-tuple built (the least a table
               look-up can cost in Python)
  values       building an empty LensValues (the NamedTuple every solve returns)
  solve 2-D    LensSolver.solve(zoom, focus) on the demo 24-70 zoom (bilinear over 9 x 5 nodes)
  solve +iris  the same with an iris count (T-stop by PCHIP in stops, one exp)
  solve 1-D    a prime calibrated along focus only (PCHIP over 5 nodes)
Machines here are noisy, so only the ratios are meant to be compared between runs.

    python bench/lens_solve.py [--samples N] [--repeats R]
"""

from __future__ import annotations

import argparse
import sys
from bisect import bisect_right
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of

from lens.lensfile import LensFile, load_lens_file
from lens.solve import LensSolver
from stagectl.core.samples import LensValues
from tracking.simulator import MotionModel

DEMO_LENS = Path(__file__).resolve().parent.parent / "lens" / "data" / "demo_zoom_24_70.json"


def prime_along_focus(zoom_lens: LensFile) -> LensFile:
    """The demo lens cut to its widest zoom line: a prime whose tables vary with focus only."""
    return LensFile(zoom_lens.identity, zoom_lens.sensor, (0.0,), zoom_lens.grid_focus,
                    {name: (table[0],) for name, table in zoom_lens.tables.items()},
                    {"focus": zoom_lens.encoders["focus"]}, zoom_lens.iris)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    lens = load_lens_file(DEMO_LENS)
    solve = LensSolver(lens).solve
    solve_prime = LensSolver(prime_along_focus(lens)).solve
    motion = MotionModel()
    poses = [motion.pose(i / 50.0) for i in range(args.samples)]
    counts = [(p.zoom_raw, p.focus_raw, (p.zoom_raw * 7) % 65536) for p in poses]
    knots = list(lens.grid_zoom)

    def baseline() -> None:
        for zoom, focus, _ in counts:
            i = bisect_right(knots, zoom / 65535.0)
            (i, zoom, focus)  # noqa: B018 - the tuple build is the point

    def values() -> None:
        for _ in counts:
            LensValues()

    def solve_2d() -> None:
        for zoom, focus, _ in counts:
            solve(zoom, focus)

    def solve_iris() -> None:
        for zoom, focus, iris in counts:
            solve(zoom, focus, iris)

    def solve_1d() -> None:
        for _, focus, _ in counts:
            solve_prime(None, focus)

    base = best_of(args.repeats, baseline, len(counts))
    rows = [("baseline bisect + tuple", base)] + [
        (name, best_of(args.repeats, fn, len(counts)))
        for name, fn in (("LensValues()", values), ("solve 2-D (zoom, focus)", solve_2d),
                         ("solve 2-D + iris", solve_iris), ("solve 1-D (focus)", solve_1d))]
    print(f"samples per run: {len(counts)}, runs: {args.repeats} (median)")
    for name, ns in rows:
        print(f"{name:<26}: {ns:8.0f} ns/sample  {ns / base:6.2f}x baseline")
    full = rows[3][1]
    print(f"solve headroom            : {1e9 / full:,.0f} samples/s on one core (with iris)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
