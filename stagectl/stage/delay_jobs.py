"""Measuring a camera's delay on a running stage: its picture against its tracking, as a job.

One place for what ``stagectl delay measure`` and the Tracking panel's "Measure delay..." dialog both do
(:func:`measure_delay`), on a thread of its own (never the I/O loop, never the GUI thread):

1. open the picture source (:func:`stagectl.takes.motion.video.open_video`);
2. switch on the camera's delay tap: every sample the camera receives, lens solved, *before* smoothing and
   the delay line, kept with its arrival time (one list append on the I/O loop per sample; the tap is
   registered once per camera and does nothing while no measurement runs);
3. read frames for the capture's length, each frame's motion computed as it arrives (so little is left
   to do when the capture ends), reporting :class:`DelayProgress` (elapsed, the motion meter, a small
   preview) every few frames;
4. wait for the tracking of the search window after the last frame, switch the tap off and measure
   (:func:`stagectl.takes.motion.lag.measure_lag`).

The delay found is measured against arrival times before the delay line, so it is the delay line's new
length whatever it is set to now; :func:`stage_file_line` is the line that keeps it in the stage file.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stagectl.core.errors import StageError
from stagectl.core.runtime import Runtime
from stagectl.core.samples import CameraSample
from stagectl.stage.assembly import Stage
from stagectl.stage.pipeline import CameraPipeline
from stagectl.takes.motion.errors import DelayMeasureError
from stagectl.takes.motion.image import FrameMotion, MotionTracker, thumbnail
from stagectl.takes.motion.lag import (
    DEFAULT_SEARCH_MS,
    MIN_MOTION_DEG_S,
    DelayResult,
    measure_lag,
    rms_speed_deg_s,
)
from stagectl.takes.motion.tracking import TrackingPath
from stagectl.takes.motion.video import VideoSource, open_video

__all__ = ["DEFAULT_SECONDS", "DelayCancelled", "DelayProgress", "measure_delay", "stage_file_line"]

#: Capture length unless told otherwise (s).
DEFAULT_SECONDS = 10.0
#: Preview and meter updates per second.
REPORTS_PER_S = 8.0


class DelayCancelled(DelayMeasureError):
    """The measurement was stopped before it finished (Cancel, Ctrl+C, the stage closing)."""


@dataclass(frozen=True, slots=True)
class DelayProgress:
    """How a running measurement is going.

    Attributes:
        elapsed_s / seconds: capture time so far and in all.
        level: the motion meter, 0..1 (1: plenty of motion to time).
        enough: True once the capture so far has enough motion for a result.
        tracking_deg_s: RMS tracked rotation speed over the last second.
        frames: frames captured so far.
        preview: a small RGB copy of the newest frame (None between previews).
        stage: ``"capturing"``, then ``"measuring"``.
    """

    elapsed_s: float
    seconds: float
    level: float
    enough: bool
    tracking_deg_s: float
    frames: int
    preview: npt.NDArray[np.uint8] | None
    stage: str = "capturing"


class _DelayTap:
    """Collects one camera's samples while a measurement runs (called on the I/O loop)."""

    def __init__(self) -> None:
        self.active = False
        self.rows: list[tuple[float, float, float, float, float, float]] = []

    def start(self) -> None:
        self.rows = []
        self.active = True

    def stop(self) -> None:
        self.active = False

    def __call__(self, sample: CameraSample) -> None:
        if self.active:
            lens = sample.lens
            focal = lens.focal_length_mm if lens is not None and lens.focal_length_mm is not None else np.nan
            pan, tilt, roll = sample.rotation_deg
            zoom = np.nan if sample.zoom_raw is None else float(sample.zoom_raw)
            self.rows.append((sample.arrival_ns / 1e9, pan, tilt, roll, focal, zoom))

    def path(self, since: int = 0) -> TrackingPath:
        rows = np.array(self.rows[since:], dtype=np.float64).reshape(-1, 6)
        return TrackingPath.of(rows[:, 0], rows[:, 1:4], rows[:, 4], rows[:, 5])


_TAPS: weakref.WeakKeyDictionary[CameraPipeline, _DelayTap] = weakref.WeakKeyDictionary()


def _tap_of(pipeline: CameraPipeline) -> _DelayTap:
    """The camera's delay tap, added to its pipeline the first time (I/O loop)."""
    tap = _TAPS.get(pipeline)
    if tap is None:
        tap = _TAPS[pipeline] = _DelayTap()
        pipeline.add_tap(tap)
    return tap


def stage_file_line(camera: str, delay_ms: float) -> str:
    """What keeps ``delay_ms`` for ``camera`` in the stage file: its ``[[cameras]]`` table's line."""
    return f'delay_ms = {delay_ms:.1f}    # in the [[cameras]] table with name = "{camera}"'


def _focal_px(stage: Stage, camera: str, path: TrackingPath, width_px: int, start: float, end: float
              ) -> float | None:
    """The solved focal length in pixels of the picture (None when the lens or film back is unknown)."""
    focal_mm = path.median_focal_mm(start, end)
    film_back = stage.film_back(camera)
    if not np.isfinite(focal_mm) or film_back is None or film_back.width_mm <= 0:
        return None
    return float(focal_mm / film_back.width_mm * width_px)


def _call(runtime: Runtime, fn: Callable[[], object]) -> object:
    async def run() -> object:
        return fn()

    return runtime.call_sync(run(), 5.0)


def _capture(video: VideoSource, tap: _DelayTap, seconds: float, progress: Callable[[DelayProgress], None],
             cancel: threading.Event) -> list[FrameMotion]:
    tracker, motions = MotionTracker(), []
    every = max(1, round((video.fps or 25.0) / REPORTS_PER_S))
    start = time.monotonic()
    for frame in video.frames(seconds, cancel):
        motion = tracker.push(frame.image, frame.time_s)
        if motion is not None:
            motions.append(motion)
        if frame.index % every == 0:
            now = time.monotonic()
            recent = rms_speed_deg_s(tap.path(max(0, len(tap.rows) - 400)), now - 1.0, now)
            overall = rms_speed_deg_s(tap.path(), start, now)
            level = min(1.0, overall / (3.0 * MIN_MOTION_DEG_S))
            progress(DelayProgress(min(seconds, now - start), seconds, level, overall >= MIN_MOTION_DEG_S,
                                   recent, frame.index + 1, thumbnail(frame.image)))
    return motions


def measure_delay(stage: Stage, runtime: Runtime, camera: str, source: str, *,
                  seconds: float = DEFAULT_SECONDS, progress: Callable[[DelayProgress], None] | None = None,
                  cancel: threading.Event | None = None, search_ms: float = DEFAULT_SEARCH_MS) -> DelayResult:
    """Capture ``seconds`` of ``source`` and ``camera``'s tracking and measure the delay between them
    (see the module docstring). A :class:`~stagectl.takes.motion.errors.DelayMeasureError` says why there
    is no number (:class:`DelayCancelled` when ``cancel`` was set); StageError for an unknown camera."""
    if camera not in stage.cameras:
        known = ", ".join(stage.cameras) or "none"
        raise StageError(f"no camera {camera!r} on this stage (cameras: {known}); give one of those")
    cancel = cancel or threading.Event()
    report = progress or (lambda _p: None)
    pipeline = stage.cameras[camera]
    tap = _call(runtime, lambda: _tap_of(pipeline))
    assert isinstance(tap, _DelayTap)
    with open_video(source) as video:
        _call(runtime, tap.start)
        try:
            motions = _capture(video, tap, seconds, report, cancel)
            if motions and not cancel.is_set():  # the tracking of the search window after the last frame
                cancel.wait(max(0.0, motions[-1].time_s + search_ms / 1000.0 + 0.05 - time.monotonic()))
        finally:
            _call(runtime, tap.stop)
        width = video.size[0]
    if cancel.is_set():
        raise DelayCancelled("the delay measurement was cancelled; nothing was changed")
    report(DelayProgress(seconds, seconds, 1.0, True, 0.0, len(motions) + 1, None, "measuring"))
    path = tap.path()
    if len(path) < 2:
        raise DelayMeasureError(f"camera {camera} received no tracking during the capture: check that its "
                                "tracker is sending (the Tracking panel's source table)")
    start, end = (motions[0].time_s, motions[-1].time_s) if motions else path.span_s
    focal = _focal_px(stage, camera, path, width, start, end)
    rate = float(stage.config.frame_rate.rate)
    return measure_lag(motions, path, rate_fps=rate, focal_px=focal, search_ms=search_ms)
