"""The lag between picture motion and tracked rotation: normalised cross-correlation, refined, with its
uncertainty and the refusals (docs/delay.md has the maths).

Picture frame ``i`` (time ``t_i``) moved ``p_i = (dx, dy)`` pixels since frame ``i - 1``. The tracking
rotated ``q_i(L)`` (about the camera's up and right axes) between ``t_{i-1} - L`` and ``t_i - L``. The delay
is the ``L`` that maximises the normalised cross-correlation ``rho(L)`` of ``p`` and ``q(L)`` (each axis
centred, both axes in one sum) over ``|L| <= search``: first on a grid of half frames, then every
0.25 ms within a frame of the best, then a parabola through the best three points. ``L > 0``: the picture
shows a movement ``L`` later than the tracking does (the delay to add to tracking).

Uncertainty: the peak's shape (``sigma^2 = (1 - rho^2) / (rho^2 N beta^2)``, ``beta^2`` the peak's
curvature over its height, ``N`` the frames) and the halves (each half of the capture measured alone:
``|L1 - L2| / 2``), added in quadrature. Confidence is the peak's ``rho``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stagectl.takes.motion.errors import (
    DelayMeasureError,
    FlatPicture,
    MotionMismatch,
    NotEnoughMotion,
    ZoomDuringCapture,
)
from stagectl.takes.motion.image import FrameMotion
from stagectl.takes.motion.tracking import TrackingPath

__all__ = ["DEFAULT_SEARCH_MS", "FLAT_TEXTURE", "MIN_CONFIDENCE", "MIN_MOTION_DEG_S", "PICTURE_ZOOM_LIMIT",
           "ZOOM_LIMIT", "DelayResult", "MotionCurves", "measure_lag", "rms_speed_deg_s"]

FloatArray = npt.NDArray[np.float64]

#: Lags searched either way (ms).
DEFAULT_SEARCH_MS = 300.0
#: Tracked rotation slower than this (RMS over the capture, deg/s) is too little to time.
MIN_MOTION_DEG_S = 2.0
#: Picture motion smaller than this (RMS px per frame at the analysis width) is too little to time.
MIN_PICTURE_PX = 0.15
#: Mean gradient (grey levels per analysis px) below which a picture is flat.
FLAT_TEXTURE = 1.0
#: A solved focal length changing more than this fraction during the capture refuses it.
ZOOM_LIMIT = 0.03
#: The picture's own scale drifting more than this (a zoom seen without a lens solve) refuses it; wider
#: than :data:`ZOOM_LIMIT` because the per-frame scale carries a little of the rotation's perspective.
PICTURE_ZOOM_LIMIT = 0.08
#: A peak correlation below this gives no number.
MIN_CONFIDENCE = 0.5
#: At least this many frames with motion and tracking around them.
MIN_FRAMES = 40
_FINE_STEP_S = 0.00025


@dataclass(frozen=True, slots=True)
class MotionCurves:
    """The two motion curves along the axis that moved most, in deg/s, for plotting.

    ``times_s`` from the first frame; ``tracking_before`` at lag 0, ``tracking_after`` at the lag found.
    """

    times_s: FloatArray
    picture: FloatArray
    tracking_before: FloatArray
    tracking_after: FloatArray
    axis: str


@dataclass(frozen=True, slots=True)
class DelayResult:
    """A measured delay.

    Attributes:
        offset_ms: how much later the picture shows a movement than the tracking (the delay to set).
        offset_frames: the same in frames of ``rate_fps``.
        uncertainty_ms: one standard uncertainty (peak shape and halves together).
        confidence: the correlation at the peak (0..1).
        rate_fps: the frame rate ``offset_frames`` counts in.
        frames: frames used.
        motion_deg_s: RMS tracked rotation speed over the capture.
        focal_px: focal length in pixels of the picture; ``focal_from`` says whence ("lens" or "picture").
        halves_ms: the delay measured on each half of the capture.
        curves: the motion curves before and after alignment.
        capture_s: the first and last frame's times (the start of the first interval analysed, the end of
            the last), in the clock the frames were stamped with.
        warnings: what a person should know.
    """

    offset_ms: float
    offset_frames: float
    uncertainty_ms: float
    confidence: float
    rate_fps: float
    frames: int
    motion_deg_s: float
    focal_px: float
    focal_from: str
    halves_ms: tuple[float, float]
    curves: MotionCurves
    capture_s: tuple[float, float] = (math.nan, math.nan)
    warnings: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        """The result as JSON values (ms rounded to 0.01, the curves left out)."""
        return {"offset_ms": round(self.offset_ms, 2), "offset_frames": round(self.offset_frames, 3),
                "uncertainty_ms": round(self.uncertainty_ms, 2), "confidence": round(self.confidence, 3),
                "rate_fps": round(self.rate_fps, 6), "frames": self.frames,
                "motion_deg_s": round(self.motion_deg_s, 2), "focal_px": round(self.focal_px, 1),
                "focal_from": self.focal_from, "halves_ms": [round(h, 2) for h in self.halves_ms],
                "warnings": list(self.warnings)}


def rms_speed_deg_s(path: TrackingPath, start: float, end: float, step_s: float = 0.02) -> float:
    """RMS rotation speed of ``path`` between ``start`` and ``end`` (deg/s; 0 with under 2 samples there).

    Taken on an even ``step_s`` grid, not sample to sample: samples read in one burst arrive microseconds
    apart, and their arrival times would turn the tracker's steps into enormous speeds."""
    inside = (path.times_s >= start) & (path.times_s <= end)
    if int(inside.sum()) < 2:
        return 0.0
    t = np.arange(float(path.times_s[inside][0]), float(path.times_s[inside][-1]), step_s)
    if t.size < 2:
        return 0.0
    steps = path.steps(t[:-1], t[1:])
    speed = np.hypot(steps[:, 0], steps[:, 1]) / step_s
    return float(np.sqrt(np.mean(speed ** 2)))


def _ncc(p: FloatArray, q: FloatArray) -> float:
    """Pearson correlation of two (n, 2) motion series, each axis centred, both axes in one sum."""
    a, b = p - p.mean(axis=0), q - q.mean(axis=0)
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


class _Series:
    """The frames kept for the search and the tracking rotation at any lag."""

    def __init__(self, t0: FloatArray, t1: FloatArray, picture: FloatArray, path: TrackingPath) -> None:
        self.t0, self.t1, self.picture, self.path = t0, t1, picture, path

    def tracking(self, lag: float, rows: slice | None = None) -> FloatArray:
        sel = slice(None) if rows is None else rows
        return self.path.steps(self.t0[sel] - lag, self.t1[sel] - lag)

    def rho(self, lag: float, rows: slice | None = None) -> float:
        sel = slice(None) if rows is None else rows
        return _ncc(self.picture[sel], self.tracking(lag, rows))


def _refine(series: _Series, centre: float, half_width: float, rows: slice | None = None
            ) -> tuple[float, float, float]:
    """(lag, rho at the peak, curvature -rho'') from a fine grid around ``centre`` and a parabola."""
    lags = np.arange(centre - half_width, centre + half_width + _FINE_STEP_S / 2, _FINE_STEP_S)
    rhos = np.array([series.rho(float(lag), rows) for lag in lags])
    k = int(np.clip(np.argmax(rhos), 1, lags.size - 2))
    y0, y1, y2 = rhos[k - 1], rhos[k], rhos[k + 1]
    den = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / den if den < 0 else 0.0
    shift = float(np.clip(shift, -1.0, 1.0))
    peak = float(y1 - 0.25 * (y0 - y2) * shift)
    # Curvature over a wider base than one step (a step is too small to see it through the noise).
    span = max(3, round(0.004 / _FINE_STEP_S))
    lo, hi = max(0, k - span), min(lags.size - 1, k + span)
    x = lags[lo:hi + 1] - lags[k]
    curvature = -2.0 * float(np.polyfit(x, rhos[lo:hi + 1], 2)[0]) if x.size >= 3 else 0.0
    return float(lags[k] + shift * _FINE_STEP_S), peak, curvature


def _check_picture(motions: Sequence[FrameMotion]) -> None:
    valid = sum(m.valid for m in motions)
    texture = float(np.median([m.texture for m in motions])) if motions else 0.0
    if texture < FLAT_TEXTURE or valid < 0.5 * len(motions):
        raise FlatPicture(
            f"the picture is too flat to see motion in ({valid} of {len(motions)} frames showed it, texture "
            f"{texture:.2f}): point the camera at a detailed, lit scene (not a blank wall), check the lens "
            "cap and the video signal, then measure again")
    excursion = np.abs(np.cumsum([m.scale for m in motions if m.valid]))
    if excursion.size and float(excursion.max()) > PICTURE_ZOOM_LIMIT:
        raise ZoomDuringCapture(
            f"the picture zoomed by {100 * float(excursion.max()):.1f} % during the capture: keep the zoom "
            "still while you pan and tilt, then measure again")


def measure_lag(motions: Sequence[FrameMotion], path: TrackingPath, *, rate_fps: float | None = None,
                focal_px: float | None = None, search_ms: float = DEFAULT_SEARCH_MS) -> DelayResult:
    """The delay between the picture's motion (``motions``, in frame order) and ``path`` (see the module
    docstring). ``focal_px`` is the solved focal length in pixels of the picture when known (else it is
    estimated from the two motions); ``rate_fps`` the rate ``offset_frames`` counts in (default: the
    picture's). A :class:`DelayMeasureError` subclass says why there is no number."""
    search = search_ms / 1000.0
    if len(motions) < MIN_FRAMES:
        raise DelayMeasureError(f"only {len(motions)} frames were captured; capture at least {MIN_FRAMES} "
                                "(a few seconds) while panning and tilting")
    _check_picture(motions)
    times = np.array([m.time_s for m in motions])
    gaps = np.diff(times)
    frame_s = float(np.median(gaps)) if gaps.size else 0.0
    if not frame_s > 0:
        raise DelayMeasureError("the frames carry no usable times; the picture source gave no timing")
    rate = rate_fps or 1.0 / frame_s
    first, last = path.span_s
    t1 = times
    t0 = times - np.concatenate([[frame_s], gaps])
    keep = np.array([m.valid for m in motions]) & (t0 - search >= first) & (t1 + search <= last)
    keep &= (t1 - t0) < 2.5 * frame_s  # a dropped frame: the motion spans two intervals, leave it out
    if len(path) < 2 or int(keep.sum()) < MIN_FRAMES:
        raise DelayMeasureError(
            f"the tracking covers only {int(keep.sum())} of {len(motions)} frames (with +-{search_ms:g} ms "
            "around them): check the camera's tracking is arriving, then capture again")
    if focal_px is None or not focal_px > 0:
        focal_change = path.focal_change(float(t0[0]) - search, float(t1[-1]) + search)
        if focal_change > ZOOM_LIMIT:
            raise ZoomDuringCapture(f"the lens zoomed by {100 * focal_change:.1f} % during the capture "
                                    "(solved focal length): keep the zoom still, then measure again")
    picture = np.array([(m.dx_px, m.dy_px) for m in motions])[keep]
    series = _Series(t0[keep], t1[keep], picture, path)
    motion = rms_speed_deg_s(path, float(t0[keep][0]), float(t1[keep][-1]))
    picture_px = float(np.sqrt(np.mean(np.sum((picture - picture.mean(axis=0)) ** 2, axis=1))))
    if motion < MIN_MOTION_DEG_S or picture_px < MIN_PICTURE_PX:
        raise NotEnoughMotion(
            f"too little motion to time (tracking {motion:.1f} deg/s, picture {picture_px:.2f} px per frame; "
            f"at least {MIN_MOTION_DEG_S:g} deg/s): pan and tilt the camera briskly with sudden stops "
            "during the capture")
    coarse = np.arange(-search, search + frame_s / 4, frame_s / 2)
    rhos = np.array([series.rho(float(lag)) for lag in coarse])
    best = int(np.argmax(rhos))
    if rhos[best] < MIN_CONFIDENCE:
        opposite = float(rhos.min()) <= -MIN_CONFIDENCE
        why = ("the picture moves the opposite way to the tracking: check that this video is camera's own "
               "and the tracker's pan and tilt signs") if opposite else (
            "check that the video is this camera's picture and that the tracking belongs to it")
        raise MotionMismatch(f"picture and tracking motion do not match within +-{search_ms:g} ms (best "
                             f"correlation {rhos[best]:.2f}): {why}")
    if best in (0, coarse.size - 1):
        raise MotionMismatch(f"the best match is at the edge of the +-{search_ms:g} ms search "
                             f"({1000 * coarse[best]:+.0f} ms): the delay may be larger; search wider")
    lag, peak, curvature = _refine(series, float(coarse[best]), frame_s)
    n = len(series.picture)
    halves = []
    for rows in (slice(0, n // 2), slice(n // 2, n)):
        halves.append(_refine(series, lag, frame_s / 2, rows)[0])
    beta2 = curvature / peak if peak > 0 and curvature > 0 else 0.0
    shape = math.sqrt((1 - min(peak, 0.999999) ** 2) / (peak ** 2 * n * beta2)) if beta2 > 0 else frame_s
    spread = abs(halves[0] - halves[1]) / 2.0
    uncertainty = math.hypot(shape, spread)
    focal, focal_from, warnings = _focal(series, lag, focal_px)
    if spread > 0.5 * frame_s:
        warnings.append(f"the two halves of the capture disagree by {1000 * 2 * spread:.1f} ms; measure "
                        "again with more varied motion")
    curves = _curves(series, lag, focal, times[0])
    return DelayResult(1000 * lag, lag * rate, 1000 * uncertainty, max(0.0, min(1.0, peak)), rate, n, motion,
                       focal, focal_from, (1000 * halves[0], 1000 * halves[1]), curves,
                       (float(t0[0]), float(t1[-1])), tuple(warnings))


def _focal(series: _Series, lag: float, focal_px: float | None) -> tuple[float, str, list[str]]:
    """The focal length in px: the lens's when known, else the least-squares ratio of picture to tracking."""
    q = np.radians(series.tracking(lag))
    p = series.picture
    fitted = float((p * q).sum() / max(float((q * q).sum()), 1e-12))
    if focal_px is not None and focal_px > 0:
        warnings = []
        if not 0.7 < fitted / focal_px < 1.4:
            warnings.append(f"the picture moves as a {fitted:.0f} px focal length would, the lens solve says "
                            f"{focal_px:.0f} px: check the lens file and the sensor size")
        return focal_px, "lens", warnings
    return fitted, "picture", []


def _curves(series: _Series, lag: float, focal: float, start: float) -> MotionCurves:
    dt = series.t1 - series.t0
    before = series.tracking(0.0) / dt[:, None]
    after = series.tracking(lag) / dt[:, None]
    picture = np.degrees(np.arctan(series.picture / max(focal, 1e-9))) / dt[:, None]
    axis = 0 if float(np.var(after[:, 0])) >= float(np.var(after[:, 1])) else 1
    name = "pan (about the camera's up axis)" if axis == 0 else "tilt (about the camera's right axis)"
    return MotionCurves(series.t1 - start, picture[:, axis], before[:, axis], after[:, axis], name)
