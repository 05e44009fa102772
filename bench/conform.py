"""Conform a shooting day: 300 camera clips over 8 hours of two cameras tracked at 100 Hz, every format.

The day is written into a temporary take store through the store's own writing path (``TakeIngest`` and
``TakeStore.put_samples``, as the committer does; no live recording): ``--clips / 2`` takes back to
back over ``--hours`` hours at 25 fps, each with cameras A and B tracked at ``--hz`` (moving camera and
focal length, stage-clock timecode, the sample times a stage clock gives). Each camera rolls one clip
per take, ``--clip-s`` seconds long (default 90 s of a 192 s take; 0: from 2 s after the take starts
to 2 s before it ends). The clips go into a DIT's ALE (or a CSV with ``--source csv``) and are
conformed exactly as ``stagectl conform clips`` does (:func:`stagectl.stage.conform_jobs.run_conform`:
read the ALE, match, resample, write usd, chan, csv, jsonl and cdl per clip, then the enriched ALE).

Timed (after an untimed warm-up of two clips: imports, first reads): the first 30, 100 and all 300
clips, each into a fresh folder, wall and CPU seconds; per clip, and the ratio of the time per clip
to that at 30 clips (1.0 = linear in clips), and what each clip more costs between two runs (the
slope; the rest is a fixed part per run). Goal: all 300 clips under 60 s. Baseline in
the same run: reading every take the clips touch from the store (``TakeStore.read``), the floor under
any conform.

    python bench/conform.py [--clips 300] [--hours 8] [--hz 100] [--clip-s 90] [--source ale|csv] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stagectl.core.colour import Cdl  # noqa: E402
from stagectl.core.timecode import FrameRate, Timecode  # noqa: E402
from stagectl.core.timecode.columns import timecode_fields  # noqa: E402
from stagectl.stage.conform_jobs import ConformRequest, run_conform  # noqa: E402
from stagectl.takes.committer import TakeIngest  # noqa: E402
from stagectl.takes.conform.package import DEFAULT_FORMATS  # noqa: E402
from stagectl.takes.journal import CAMERA, HEADER  # noqa: E402
from stagectl.takes.records import FLAG_SOLVED, SAMPLE_DTYPE, cdl_json, dumps  # noqa: E402
from stagectl.takes.store import TakeStore  # noqa: E402

FPS = 25
RATE = FrameRate(Fraction(FPS))
DAY_START = Timecode.parse("08:00:00:00", RATE)
ROLL_S = 2.0  # the camera rolls this long after the take starts and cuts as long before it ends
LENS = {"lens_file": "bench.json", "make": "ZEISS", "model": "Supreme Prime 35", "serial": "SP35-1",
        "sensor_width_mm": 36.0, "sensor_height_mm": 24.0, "image_width_px": 3840, "image_height_px": 2160}
GRADE = Cdl((1.1, 1.0, 0.9), (0.01, 0.0, -0.02), (1.0, 1.05, 0.95), 0.9)


def _records(camera_index: int, t0: float, seconds: float, hz: int) -> np.ndarray:
    """One camera's samples from ``t0`` (s since the day's first frame) for ``seconds`` at ``hz``."""
    n = round(seconds * hz)
    # Free-running trackers: neither on the frame edges nor in phase with each other.
    t = t0 + np.arange(n) / hz + 0.0007 + camera_index * 0.0013
    r = np.zeros(n, dtype=SAMPLE_DTYPE)
    r["arrival_ns"] = 1_000_000_000 + np.round(t * 1e9).astype(np.int64)
    r["frame"] = DAY_START.frames + np.floor(t * FPS).astype(np.int64)  # the stage clock's label on arrival
    r["sequence"] = np.arange(n)
    r["raw_index"] = r["ptp_seconds"] = r["ptp_nanoseconds"] = r["device_id"] = r["spare"] = -1
    r["tc_rate_num"], r["tc_rate_den"] = FPS, 1
    for name, values in zip(("tc_hours", "tc_minutes", "tc_seconds", "tc_frames"),
                            timecode_fields(r["frame"], RATE, False), strict=True):
        r[name] = values
    r["x"], r["y"], r["z"] = np.sin(t / 10) * 3 + camera_index, np.cos(t / 10) * 3, 1.5 + 0.1 * np.sin(t)
    r["pan"], r["tilt"], r["roll"] = (t * 7) % 360 - 180, -5 + np.sin(t), 0.5 * np.sin(t / 3)
    r["zoom_raw"], r["focus_raw"], r["iris_raw"] = 1000 + np.arange(n) % 500, 2000, 300
    r["focal_length_mm"] = 24 + 46 * (0.5 + 0.5 * np.sin(t / 20))
    r["focus_distance_m"], r["f_stop"], r["t_stop"], r["entrance_pupil_m"] = 3.0, 2.5, 2.8, 0.1
    r["k1"], r["k2"], r["k3"], r["p1"], r["p2"], r["cx"], r["cy"] = -0.1, 0.02, 0.0, 0.001, -0.002, 1920, 1080
    r["camera"] = camera_index
    r["flags"] = FLAG_SOLVED
    return r


def write_day(folder: Path, takes: int, hours: float, hz: int, clip_s: float = 0.0
              ) -> list[tuple[str, str, Timecode, int]]:
    """The day's takes into the store in ``folder``; the clips (name, camera, start, frames) they hold:
    ``clip_s`` seconds from :data:`ROLL_S` into each take (0: to :data:`ROLL_S` before its end)."""
    take_s = hours * 3600 / takes
    clips = []
    with TakeStore(folder) as store:
        for k in range(takes):
            t0 = k * take_s
            tc_in = DAY_START + int(np.floor(t0 * FPS))
            header = {"name": f"{k // 4 + 1}-{'ABCD'[k % 4]}-T001",
                      "slate": {"scene": str(k // 4 + 1), "shot": "ABCD"[k % 4], "take": 1,
                                "cameras": ["A", "B"]},
                      "rate": [FPS, 1], "drop_frame": False, "started": 1_790_000_000.0 + t0,
                      "tc_in": tc_in.frames, "timecode_from": "stage", "look": "Dusk",
                      "cdl": {"frustum": cdl_json(GRADE)}}
            ingest = TakeIngest(store, f"bench-{k}.journal")
            ingest.add([(HEADER, dumps(header)),
                        *((CAMERA, dumps({"index": i, "camera": c, "lens": LENS, "delay_ms": 0.0}))
                          for i, c in enumerate("AB"))], 0)
            ingest.commit()
            assert ingest.take_id is not None
            with store.transaction():
                for i in range(2):
                    store.put_samples(ingest.take_id, _records(i, t0, take_s, hz))
            ingest.ended = {"stopped": 1_790_000_000.0 + t0 + take_s,
                            "tc_out": DAY_START.frames + int(np.floor((t0 + take_s) * FPS)) - 1}
            ingest.finish("complete")
            first = DAY_START + int(np.ceil((t0 + ROLL_S) * FPS))
            frames = int((min(clip_s, take_s - 2 * ROLL_S) if clip_s else take_s - 2 * ROLL_S) * FPS)
            for camera in "AB":
                clips.append((f"{camera}{k // 50 + 1:03d}C{k % 50 + 1:03d}_{k:04d}", camera, first, frames))
    return clips


def write_clips(path: Path, clips: list[tuple[str, str, Timecode, int]]) -> Path:
    """The clips as the DIT's ALE (CRLF, tab-delimited) or a CSV, by ``path``'s suffix."""
    if path.suffix == ".csv":
        lines = ["clip,camera,start TC,end TC,fps"]
        lines += [f"{n},{c},{s},{s + f},{FPS}" for n, c, s, f in clips]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    lines = ["Heading", "FIELD_DELIM\tTABS", "VIDEO_FORMAT\t1080", "AUDIO_FORMAT\t48khz", f"FPS\t{FPS}", "",
             "Column", "Name\tTracks\tStart\tEnd\tTape\tCamera", "", "Data"]
    lines += [f"{n}\tV\t{s}\t{s + f}\t{n[:4]}\t{c}" for n, c, s, f in clips]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def _baseline(folder: Path, takes: int) -> float:
    t0 = time.perf_counter()
    with TakeStore(folder, readonly=True) as store:
        for take_id in range(1, takes + 1):
            store.read(take_id)
    return time.perf_counter() - t0


def _conform(folder: Path, source: Path, out: Path) -> dict[str, Any]:
    t0, cpu0 = time.perf_counter(), time.process_time()
    outcome = run_conform(folder, ConformRequest(sources=(source,)), list(DEFAULT_FORMATS), out,
                          lambda *_: None, threading.Event())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if outcome.error:
        raise SystemExit(f"conform failed: {outcome.error}")
    covered = sum(row.covered for row in outcome.rows)
    frames = sum(row.frames for row in outcome.rows)
    size = sum(p.stat().st_size for p in outcome.files)
    return {"clips": len(outcome.rows), "seconds": seconds, "cpu_s": cpu, "frames": frames,
            "covered": covered, "files": len(outcome.files), "bytes": size, "warnings": len(outcome.warnings)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=300, help="clips in the day (two per take)")
    parser.add_argument("--hours", type=float, default=8.0, help="hours of tracking")
    parser.add_argument("--hz", type=int, default=100, help="tracker rate")
    parser.add_argument("--clip-s", type=float, default=90.0,
                        help="seconds of picture per clip (0: the whole take but the roll in and out)")
    parser.add_argument("--source", choices=("ale", "csv"), default="ale")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    takes = args.clips // 2
    steps = sorted({n for n in (30, 100, args.clips) if n <= args.clips})
    with tempfile.TemporaryDirectory(prefix="stagectl-bench-conform-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        clips = write_day(root / "takes", takes, args.hours, args.hz, args.clip_s)
        setup_s = time.perf_counter() - t0
        store_mb = (root / "takes" / "takes.sqlite").stat().st_size / 1e6
        # Warm up (imports of usd-core and the adapters, first reads): not part of any figure.
        _conform(root / "takes", write_clips(root / "warm.csv", clips[:2]), root / "warm")
        runs = []
        for n in steps:
            source = write_clips(root / f"day_{n}.{args.source}", clips[:n])
            baseline = _baseline(root / "takes", (n + 1) // 2)
            run = _conform(root / "takes", source, root / f"out_{n}")
            run["baseline_read_s"] = baseline
            runs.append(run)
            shutil.rmtree(root / f"out_{n}")
    per_clip_30 = runs[0]["seconds"] / runs[0]["clips"]
    for k, run in enumerate(runs):
        run["per_clip_s"] = run["seconds"] / run["clips"]
        run["linearity"] = run["per_clip_s"] / per_clip_30
        if k:  # what each clip more costs: the slope between this run and the one before
            before = runs[k - 1]
            run["marginal_s"] = (run["seconds"] - before["seconds"]) / (run["clips"] - before["clips"])
    samples = 2 * int(args.hours * 3600 * args.hz)
    result = {"takes": takes, "hours": args.hours, "hz": args.hz, "samples": samples,
              "store_mb": store_mb, "setup_s": setup_s, "formats": list(DEFAULT_FORMATS), "runs": runs}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    length = f"{args.clip_s:g} s" if args.clip_s else "the whole take"
    print(f"a day of {args.hours:g} h, cameras A and B at {args.hz} Hz ({samples:,} samples) in {takes} "
          f"takes (store {store_mb:.0f} MB written in {setup_s:.1f} s); clips of {length}; formats "
          f"{', '.join(DEFAULT_FORMATS)} + manifest + enriched {args.source.upper()}")
    for run in runs:
        print(f"  {run['clips']:>4} clips ({run['frames']:,} frames, {run['covered']:,} with tracking): "
              f"{run['seconds']:6.1f} s ({run['cpu_s']:.1f} s CPU) = {run['per_clip_s'] * 1000:5.0f} ms a "
              f"clip, x{run['linearity']:.2f} of the time a clip at {runs[0]['clips']}; reading the takes "
              f"alone {run['baseline_read_s']:.1f} s; {run['files']} files, {run['bytes'] / 1e6:.0f} MB, "
              f"{run['warnings']} warnings")
        if "marginal_s" in run:
            print(f"        each clip more: {run['marginal_s'] * 1000:.0f} ms (fixed part: "
                  f"{run['seconds'] - run['marginal_s'] * run['clips']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
