"""``stagectl delay measure``: a camera's tracking-to-picture delay, measured from its picture.

The command runs the stage the stage file describes (``--config FILE``, else the demo stage) headless, as
``stagectl takes record`` does, opens the camera's picture (``--video SOURCE``: a capture device index or
path, a stream URL, or a clip played at its own rate as if live), asks the operator to pan and tilt, and
captures ``--seconds`` of picture and tracking while a motion meter runs on stderr. The work is
:func:`stagectl.stage.delay_jobs.measure_delay` (the window's "Measure delay..." dialog runs the same).

Output: the delay in ms and frames of the stage rate, its uncertainty and a confidence on stdout
(``--json``: one object, with the capture's first and last frame on the monotonic clock tracking arrivals
and takes' ``arrival_ns`` use); the stage file line that keeps it. ``--apply`` also sets the camera's
delay line on the running stage (exit status 1 when the delay line cannot take it: a negative delay). The
stage file is not edited (stagectl has no writer for it that keeps the operator's comments and layout):
the line to put there is printed. Exit status 0 with a delay, 1 when the measurement refused (too little
motion, a zoom, a flat picture, no match: the message says what to do) or could not run, 2 for a usage
error.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from stagectl.config.model import StageConfig
from stagectl.core.errors import StageError
from stagectl.stage.delay_jobs import DelayProgress, measure_delay, stage_file_line
from stagectl.takes.motion.errors import DelayMeasureError
from stagectl.takes.motion.lag import DelayResult

__all__ = ["delay_measure", "meter_bar"]

PROG = "stagectl delay measure"
#: The meter's width in characters.
BAR = 20


def meter_bar(level: float) -> str:
    """``[#######-------------]`` for a meter level 0..1."""
    filled = round(max(0.0, min(1.0, level)) * BAR)
    return "[" + "#" * filled + "-" * (BAR - filled) + "]"


def _meter(err: TextIO) -> Any:
    last = [-1.0]

    def show(p: DelayProgress) -> None:
        if p.elapsed_s - last[0] < 1.0 and p.stage == "capturing":
            return
        last[0] = p.elapsed_s
        if p.stage == "measuring":
            print(f"{PROG}: capture done, measuring", file=err)
            return
        say = "enough motion" if p.enough else "more motion: pan and tilt briskly, stop sharply"
        print(f"{PROG}: {p.elapsed_s:4.1f}/{p.seconds:g} s {meter_bar(p.level)} "
              f"{p.tracking_deg_s:5.1f} deg/s  {say}", file=err)

    return show


def _print_result(camera: str, result: DelayResult, applied: bool, out: TextIO, err: TextIO) -> None:
    line = stage_file_line(camera, result.offset_ms)
    out.write(f"camera {camera}: delay {result.offset_ms:.1f} ms ({result.offset_frames:.2f} frames at "
              f"{result.rate_fps:g} fps) +- {result.uncertainty_ms:.1f} ms, "
              f"confidence {result.confidence:.2f}\n")
    out.write(f"  halves {result.halves_ms[0]:.1f} / {result.halves_ms[1]:.1f} ms, {result.frames} frames, "
              f"motion {result.motion_deg_s:.1f} deg/s, focal length {result.focal_px:.0f} px "
              f"(from the {result.focal_from})\n")
    if applied:
        out.write(f"  applied: camera {camera}'s delay line is {result.offset_ms:.1f} ms on this stage\n")
    out.write(f"  to keep it, in the stage file: {line}\n")
    for warning in result.warnings:
        print(f"{PROG}: warning: {warning}", file=err)


def delay_measure(config: StageConfig, camera: str, source: str, seconds: float, *, apply: bool = False,
                  as_json: bool = False, stop: threading.Event | None = None, out: TextIO | None = None,
                  err: TextIO | None = None) -> int:
    """Run ``stagectl delay measure`` (see the module docstring); ``stop`` (Ctrl+C) cancels it."""
    out, err = out or sys.stdout, err or sys.stderr
    names = [c.name for c in config.cameras]
    if camera not in names:
        print(f"{PROG}: no camera {camera!r} in the stage file (cameras: {', '.join(names) or 'none'})",
              file=err)
        return 2
    from stagectl.stage.runner import StageRunner

    try:
        runner = StageRunner(config)
    except StageError as exc:
        print(f"{PROG}: cannot start the stage: {exc}", file=err)
        return 1
    refused = False
    try:
        print(f"{PROG}: capturing {seconds:g} s of {source} for camera {camera}: pan and tilt the camera "
              "briskly now, with sudden stops", file=err)
        started = time.monotonic()
        try:
            result = measure_delay(runner.stage, runner.runtime, camera, source, seconds=seconds,
                                   progress=_meter(err), cancel=stop)
        except DelayMeasureError as exc:
            if as_json:
                refusal = {"camera": camera, "source": source, "error": str(exc),
                           "reason": type(exc).__name__}
                json.dump(refusal, out, indent=1)
                out.write("\n")
            print(f"{PROG}: {exc}", file=err)
            return 1
        print(f"{PROG}: measured in {time.monotonic() - started:.1f} s", file=err)
        if apply:
            try:
                runner.commands.set_delay(camera, ms=result.offset_ms).result(5.0)
            except ValueError as exc:  # a delay line holds tracking back 0..1000 ms, never ahead
                print(f"{PROG}: not applied: {exc} (a negative delay means the picture arrives before the "
                      "tracking: check the tracker's own delay setting)", file=err)
                apply, refused = False, True
    except StageError as exc:
        print(f"{PROG}: {exc}", file=err)
        return 1
    finally:
        runner.close()
    if as_json:
        first, last = result.capture_s  # on the monotonic clock, as tracking arrivals and takes' arrival_ns
        json.dump({"camera": camera, "source": source, **result.as_json(), "applied": apply,
                   # From the offset as the JSON gives it (0.01 ms), so the two never round apart.
                   "stage_file_line": stage_file_line(camera, round(result.offset_ms, 2)),
                   "capture_monotonic_ns": [round(first * 1e9), round(last * 1e9)]}, out, indent=1)
        out.write("\n")
    else:
        _print_result(camera, result, apply, out, err)
    return 1 if refused else 0
