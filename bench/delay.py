"""Measured delay at 1080p50: how long after a 10 s capture ends the delay is known, and whether the
per-frame work keeps up with a live 50 fps picture.

A 10 s 1080p50 H.264 clip of a tracked camera is rendered first (the test scene, rendered at 960x540 and
scaled up, 36 ms delay; not timed), then read as the live measurement reads it:
  decode       cv2.VideoCapture.read() per frame (what a capture card's driver would hand over)
  motion       MotionTracker.push per frame (grey, scale to 320 px, 13 phase correlations)
  after end    from the last frame to the result: measure_lag over the 499 frame motions (the search,
               the refinement, the halves), which is all that is left once the capture ends, plus the
               wait for the tracking of the 300 ms search window after the last frame
  offline      the whole clip decoded and analysed after the fact (as conform --verify-motion does)

    python bench/delay.py [--seconds 10] [--keep FILE.mov]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import cv2
import numpy as np

from stagectl.takes.motion.image import FrameMotion, MotionTracker
from stagectl.takes.motion.lag import DEFAULT_SEARCH_MS, measure_lag
from stagectl.takes.motion.tracking import TrackingPath
from tests.support.motion_scene import render_clip, tracking_samples

FPS = 50
DELAY_S = 0.036


def _upscale(small: Path, big: Path) -> None:
    """``small`` re-encoded at 1920x1080 (H.264, the way a recorder would write it)."""
    capture = cv2.VideoCapture(str(small))
    with av.open(str(big), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS), options={"crf": "18", "preset": "veryfast"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        n = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            big_frame = cv2.resize(frame, (1920, 1080), interpolation=cv2.INTER_CUBIC)
            rgb = np.asarray(cv2.cvtColor(big_frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            picture.pts = n
            n += 1
            out.mux(stream.encode(picture.reformat(format="yuv420p")))
        out.mux(stream.encode(None))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", metavar="FILE.mov", help="keep the rendered 1080p clip here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small, big = Path(folder) / "small.mov", Path(args.keep or Path(folder) / "clip_1080p50.mov")
        print(f"rendering {args.seconds:g} s at 1080p{FPS} (not timed)...", file=sys.stderr)
        render_clip(small, Fraction(FPS), args.seconds, DELAY_S, size=(960, 540), blur_steps=2)
        _upscale(small, big)
        times, rotation = tracking_samples(args.seconds + 2.0)
        path = TrackingPath.of(times, rotation)

        capture = cv2.VideoCapture(str(big))
        tracker, motions = MotionTracker(), list[FrameMotion]()
        decode_ns, motion_ns = [], []
        index = 0
        while True:
            t0 = time.perf_counter_ns()
            ok, frame = capture.read()
            t1 = time.perf_counter_ns()
            if not ok:
                break
            motion = tracker.push(np.asarray(frame, dtype=np.uint8), index / FPS)
            t2 = time.perf_counter_ns()
            decode_ns.append(t1 - t0)
            motion_ns.append(t2 - t1)
            if motion is not None:
                motions.append(motion)
            index += 1
        capture.release()
        start = time.perf_counter()
        result = measure_lag(motions, path, rate_fps=FPS)
        after_s = time.perf_counter() - start

        start = time.perf_counter()
        capture, tracker, again = cv2.VideoCapture(str(big)), MotionTracker(), []
        n = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            m = tracker.push(np.asarray(frame, dtype=np.uint8), n / FPS)
            n += 1
            if m is not None:
                again.append(m)
        measure_lag(again, path, rate_fps=FPS)
        offline_s = time.perf_counter() - start

    decode_ms = statistics.median(decode_ns) / 1e6
    motion_ms = statistics.median(motion_ns) / 1e6
    p99_motion = float(np.percentile(motion_ns, 99)) / 1e6
    wait_s = DEFAULT_SEARCH_MS / 1000.0 + 0.05
    print(f"frames                 {index} at 1920x1080, {FPS} fps ({1000 / FPS:.0f} ms a frame)")
    print(f"decode per frame       {decode_ms:.2f} ms median")
    print(f"motion per frame       {motion_ms:.2f} ms median, {p99_motion:.2f} ms p99 "
          f"(decode + motion {decode_ms + motion_ms:.1f} ms: "
          f"{1000 / FPS / (decode_ms + motion_ms):.1f}x live)")
    print(f"after the capture      {after_s:.2f} s to compute + {wait_s:.2f} s waiting for the tracking "
          f"= {after_s + wait_s:.2f} s (goal < 5 s)")
    print(f"offline (whole clip)   {offline_s:.2f} s for {args.seconds:g} s of picture")
    print(f"result                 {result.offset_ms:.2f} ms +- {result.uncertainty_ms:.2f} (truth "
          f"{1000 * DELAY_S:.1f} ms), confidence {result.confidence:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
