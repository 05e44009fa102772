"""One sample per clip frame, at the frame's exposure time, from the take(s) that cover it.

The exposure time of clip frame ``n`` is the start of its label ``start + n`` on the timecode axis
(:mod:`.timing`); a camera whose shutter opens later in the frame is the delay line's business, set on
the stage. Each covered frame is interpolated between the two samples whose picture-aligned times
bracket it (weight ``w`` toward the later one):

* position, lens values and raw encoder counts: linear; where one side is unknown (NaN), the nearer
  sample's value;
* rotation (pan, tilt, roll): per angle, the short way round (179 to -179 passes 180, not 0), kept
  on the earlier sample's side so a multi-turn pan stays continuous;
* discrete fields (sequence, tracker-timecode flag, device id, spare bits, PTP stamp, source, solved):
  the nearer sample's;
* within half a tracker period before the first sample or after the last, the edge sample's values
  (no extrapolation); frames no take covers are NaN (ints -1) and counted as missing.

The result is a :class:`CameraTrack` of exactly ``clip.frames`` rows: ``frame`` the clip frame's
absolute count at the clip's rate (growing past midnight), ``timecode`` its label (drop-frame as the
clip), ``arrival_ns`` the arrival time interpolated like the pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.conform.match import ClipMatch, TakeIndex, exposures
from stagectl.takes.conform.model import Clip
from stagectl.takes.model import CameraTrack

__all__ = ["LINEAR", "NEAREST", "Resampled", "resample"]

LINEAR = ("translation_m", "zoom_raw", "focus_raw", "iris_raw", "focal_length_mm", "focus_distance_m",
          "f_stop", "t_stop", "entrance_pupil_m", "distortion", "principal_point_px")
"""Float columns interpolated linearly."""
NEAREST = ("sequence", "tracker_timecode", "device_id", "spare", "sample_timestamp", "source_index", "solved")
"""Columns taken from the nearer sample."""


@dataclass(slots=True)
class Resampled:
    """A clip's track (``clip.frames`` rows) and which rows hold a sample (``covered``)."""

    track: CameraTrack
    covered: npt.NDArray[np.bool_]

    def covered_track(self) -> CameraTrack:
        """The rows that hold a sample only: what per-frame writers get (missing frames left out)."""
        return subset(self.track, np.flatnonzero(self.covered))


def subset(track: CameraTrack, rows: npt.NDArray[np.int64]) -> CameraTrack:
    """``track`` with only ``rows`` (every per-sample column sliced alike)."""
    out = CameraTrack.empty(track.camera)
    for name in ("arrival_ns", "frame", "tracker_timecode", "sequence", "translation_m", "rotation_deg",
                 *LINEAR[1:], "raw_index", "sample_timestamp", "device_id", "spare", "timecode",
                 "timecode_rate", "timecode_drop", "sub_frame", "source_index", "solved"):
        column = getattr(track, name)
        setattr(out, name, None if column is None else column[rows])
    for name in ("source", "lens", "film_back", "statics", "lens_static", "tracker_make", "delay_ms"):
        setattr(out, name, getattr(track, name))
    return out


def _brackets(ts: npt.NDArray[np.float64], when: npt.NDArray[np.float64]
              ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    i = np.searchsorted(ts, when, side="right")
    lo = np.clip(i - 1, 0, ts.size - 1)
    hi = np.clip(i, 0, ts.size - 1)
    span = ts[hi] - ts[lo]
    safe = np.where(span > 0, span, 1.0)
    w = np.where(span > 0, np.clip((when - ts[lo]) / safe, 0.0, 1.0), np.where(when >= ts[hi], 1.0, 0.0))
    return lo, hi, w


def _linear(values: npt.NDArray[np.float64], lo: npt.NDArray[np.intp], hi: npt.NDArray[np.intp],
            w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    ww = w.reshape(-1, *([1] * (values.ndim - 1)))
    mixed = values[lo] * (1 - ww) + values[hi] * ww
    nearest = np.where(ww < 0.5, values[lo], values[hi])
    result: npt.NDArray[np.float64] = np.where(np.isfinite(mixed), mixed, nearest)
    return result


def _angles(values: npt.NDArray[np.float64], lo: npt.NDArray[np.intp], hi: npt.NDArray[np.intp],
            w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    a, b = values[lo], values[hi]
    step = (b - a + 180.0) % 360.0 - 180.0  # the short way round
    ww = w.reshape(-1, 1)
    mixed = a + step * ww
    result: npt.NDArray[np.float64] = np.where(np.isfinite(mixed), mixed, np.where(ww < 0.5, a, b))
    return result


def _blank(track: CameraTrack, n: int) -> CameraTrack:
    """``n`` rows of nothing known, shaped like ``track``'s columns."""
    out = CameraTrack.empty(track.camera)
    for name in ("translation_m", "rotation_deg", *LINEAR[1:]):
        column = getattr(track, name)
        setattr(out, name, np.full((n, *column.shape[1:]), np.nan))
    for name in NEAREST:
        column = getattr(track, name)
        if column is None:
            setattr(out, name, None)
        elif column.dtype == np.bool_:
            setattr(out, name, np.zeros((n, *column.shape[1:]), dtype=np.bool_))
        else:
            setattr(out, name, np.full((n, *column.shape[1:]), -1, dtype=column.dtype))
    out.arrival_ns = np.full(n, -1, dtype=np.int64)
    out.raw_index = None
    out.sub_frame = np.full(n, -1, dtype=np.int64)
    for name in ("source", "lens", "film_back", "statics", "lens_static", "tracker_make"):
        setattr(out, name, getattr(track, name))
    return out


def _clip_columns(out: CameraTrack, clip: Clip) -> None:
    n = clip.frames
    frames = clip.start.frames + np.arange(n, dtype=np.int64)
    out.frame = frames
    out.timecode = np.stack(timecode_fields(frames, clip.rate, clip.drop_frame), axis=1).astype(np.int64)
    rate = clip.rate.rate
    out.timecode_rate = np.tile(np.array([rate.numerator, rate.denominator], dtype=np.int64), (n, 1))
    out.timecode_drop = np.full(n, clip.drop_frame)


def resample(clip: Clip, match: ClipMatch, index: TakeIndex) -> Resampled:
    """The clip's track, one row per clip frame (see the module docstring)."""
    if match.camera is None or not match.segments:
        raise ValueError(f"clip {clip.name} has no matched take to resample")
    camera = match.camera
    first_take = index.take(match.segments[0].take_id)
    out = _blank(first_take.cameras[camera], clip.frames)
    _clip_columns(out, clip)
    covered = match.take_of_frame >= 0
    for take_id, first in match.exposure.items():
        rows = np.flatnonzero(match.take_of_frame == take_id)
        if rows.size == 0:
            continue
        track = index.take(take_id).cameras[camera]
        times = index.times(take_id, camera)
        order = times.order
        lo, hi, w = _brackets(times.ordered, exposures(clip, first)[rows])
        lo, hi = order[lo], order[hi]
        for name in LINEAR:
            getattr(out, name)[rows] = _linear(getattr(track, name), lo, hi, w)
        out.rotation_deg[rows] = _angles(track.rotation_deg, lo, hi, w)
        near = np.where(w < 0.5, lo, hi)
        for name in NEAREST:
            column = getattr(track, name)
            target = getattr(out, name)
            if column is not None and target is not None:
                target[rows] = column[near]
        arrival = track.arrival_ns.astype(np.float64)
        out.arrival_ns[rows] = np.round(arrival[lo] * (1 - w) + arrival[hi] * w).astype(np.int64)
    return Resampled(out, covered)
