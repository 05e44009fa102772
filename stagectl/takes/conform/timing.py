"""When each recorded sample happened, on the timecode axis, lined up with the picture.

The axis ("clock time", seconds since 00:00:00:00 as a timecode clock face shows them) is the one
every label of every rate can be placed on exactly:

* a drop-frame or whole-rate label of ``F`` frames at ``rate`` sits at ``F / rate`` (what
  :meth:`Timecode.to_seconds` gives: the clock face of 25, 50, 24, 29.97 DF, 59.94 DF ...);
* a non-drop label at an x/1001 rate (23.976, 29.97 NDF, 59.94 NDF) sits at ``F / nominal``: its
  clock face. Such a generator runs 0.1% slow of real time, so its frames are ``1/nominal`` long on
  the axis and the axis advances ``rate / nominal`` per real second (:func:`axis_per_second`).

Two labels of different rates showing the same clock face are the same instant, as the recorder
counts them (:meth:`Timecode.rebase`). A sample's time is its label's frame start plus its place
inside the frame:

1. tracker timecode with ``sub_frame``: ``sub_frame / m`` of the frame (``m`` samples per frame,
   the largest sub_frame sent + 1);
2. tracker timecode without it: arrival time fitted to the labels over the take (a straight line
   ``axis = a * arrival + b``; ``a`` by least squares, ``b`` in the middle of the interval that keeps
   the most samples inside their labelled frame), then held inside the sample's own labelled frame;
3. stage clock timecode (stamped at arrival): the same fit with ``a`` known exactly (the stage clock
   counts the true rate on the monotonic clock), so ``b`` recovers the clock's phase to within the
   spread of arrival phases.

A run where labels jump against arrival time (a re-jam, a tracker restart) is fitted on its own.
The recorder taps samples before the camera's delay line, so the picture-aligned time is the sample's
time plus the delay (in axis seconds) live when it arrived: the camera's recorded ``delay_ms`` at
record, then each ``delay line N ms`` change the take's log holds. Labels wrap at 24 h: they are
unwrapped against the take's own frame count, which keeps counting past midnight.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.takes.model import CameraTrack, LogEntry, TakeData

__all__ = ["SampleTimes", "axis_of", "axis_per_second", "day_length", "frame_length", "sample_times"]

FloatArray = npt.NDArray[np.float64]
_DELAY_RE = re.compile(r"^delay line (\d+(?:\.\d*)?) ms")
_HOW = ("sub_frame", "arrival_fit", "stage_clock")


def frame_length(rate: FrameRate, drop_frame: bool) -> Fraction:
    """One label frame's length on the axis: ``1/rate`` (drop-frame, whole rates), else ``1/nominal``."""
    return 1 / rate.rate if drop_frame or rate.rate.denominator == 1 else Fraction(1, rate.nominal)


def axis_per_second(rate: FrameRate, drop_frame: bool) -> Fraction:
    """Axis seconds per real second of a generator at ``rate``: 1, or 1000/1001 for x/1001 non-drop."""
    return rate.rate * frame_length(rate, drop_frame)


def axis_of(tc: Timecode) -> Fraction:
    """A label's place on the axis (exact)."""
    return tc.frames * frame_length(tc.rate, tc.drop_frame)


def day_length(rate: FrameRate, drop_frame: bool) -> Fraction:
    """One day of labels on the axis (86400 s; 86400.0864 s for drop-frame)."""
    return frames_per_24h(rate, drop_frame) * frame_length(rate, drop_frame)


@dataclass(slots=True)
class SampleTimes:
    """Every sample's picture-aligned time on the axis (seconds), in the track's order.

    ``how`` per sample: 0 sub_frame, 1 arrival fit (tracker timecode), 2 stage clock (:data:`_HOW`);
    ``delay_s`` the delay added (axis seconds); ``period`` the median spacing of the samples;
    ``warnings`` what a person should know (a delay never recorded, a fit that could not keep every
    sample in its frame).
    """

    times: FloatArray
    how: npt.NDArray[np.int8]
    delay_s: FloatArray
    period: float
    warnings: list[str] = field(default_factory=list)
    delay_ms: tuple[float, ...] = ()
    order: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    """Sample indices in time order (stable); ``ordered`` the times in that order."""
    ordered: FloatArray = field(default_factory=lambda: np.zeros(0))

    def method_counts(self) -> dict[str, int]:
        """How many samples were placed each way, by name."""
        return {name: int(np.sum(self.how == i)) for i, name in enumerate(_HOW) if np.any(self.how == i)}


def _label_frames(track: CameraTrack, take_rate: FrameRate, take_drop: bool
                  ) -> tuple[FloatArray, FloatArray]:
    """Per sample: the label's frame start on the axis (unwrapped to the take's day) and its length."""
    n = len(track)
    ref_len = frame_length(take_rate, take_drop)
    reference = track.frame.astype(np.float64) * float(ref_len)
    if track.timecode is None or track.timecode_rate is None:
        return reference, np.full(n, float(ref_len))
    starts = np.empty(n)
    lengths = np.empty(n)
    drops = (track.timecode_drop if track.timecode_drop is not None else np.full(n, take_drop)).astype(bool)
    keys = np.stack([track.timecode_rate[:, 0], track.timecode_rate[:, 1], drops.astype(np.int64)], axis=1)
    same = bool(np.all(keys == keys[0]))  # the usual case: one rate all take long (no sort needed)
    for num, den, drop in (keys[:1] if same else np.unique(keys, axis=0)).tolist():
        rows = np.ones(n, dtype=np.bool_) if same else np.all(keys == (num, den, drop), axis=1)
        if num <= 0 or den <= 0:  # no rate recorded: the take's count
            starts[rows], lengths[rows] = reference[rows], float(ref_len)
            continue
        rate = FrameRate(Fraction(num, den))
        dropped = bool(drop) and rate.supports_drop_frame
        nominal, skip = rate.nominal, rate.drop_frames if dropped else 0
        h, m, s, f = (track.timecode[rows, k].astype(np.int64) for k in range(4))
        minutes = 60 * h + m
        frames = (h * 3600 + m * 60 + s) * nominal + f - skip * (minutes - minutes // 10)
        step = float(frame_length(rate, dropped))
        day = float(day_length(rate, dropped))
        axis = frames * step
        axis += np.round((reference[rows] - axis) / day) * day  # the take's day, across midnight
        starts[rows], lengths[rows] = axis, step
    return starts, lengths


def _runs(ns: npt.NDArray[np.int64], starts: FloatArray, slope: float, limit: float) -> list[slice]:
    """Slices of samples whose labels keep pace with arrival (a jump of more than ``limit`` splits)."""
    if ns.size < 2:
        return [slice(0, ns.size)]
    drift = np.diff(starts) - slope * np.diff(ns) * 1e-9
    cuts = np.flatnonzero(np.abs(drift) > limit) + 1
    bounds = [0, *cuts.tolist(), ns.size]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def _fit(ns: npt.NDArray[np.int64], starts: FloatArray, lengths: FloatArray, slope: float | None
         ) -> tuple[FloatArray, int]:
    """Times for one run: ``a * arrival + b`` held inside each sample's frame; and how many had to be held."""
    x = (ns - ns[0]).astype(np.float64) * 1e-9
    y0 = starts - starts[0]
    if slope is None:
        a = 1.0
        if np.ptp(x) > 0 and np.ptp(y0) > 0:
            centre = y0 + lengths / 2
            a = float(np.polyfit(x, centre, 1)[0])
            keep = np.abs(centre - np.polyval(np.polyfit(x, centre, 1), x)) <= lengths
            if keep.sum() >= 2 and np.ptp(x[keep]) > 0:
                a = float(np.polyfit(x[keep], centre[keep], 1)[0])
    else:
        a = slope
    low = y0 - a * x
    high = y0 + lengths - a * x
    lo, hi = float(low.max()), float(high.min())
    if lo > hi:  # arrival jitter: the interval most samples agree on
        lo, hi = float(np.quantile(low, 0.9)), float(np.quantile(high, 0.1))
        if lo > hi:
            lo = hi = (lo + hi) / 2
    t = a * x + (lo + hi) / 2
    inside = np.clip(t, y0, y0 + lengths * (1 - 1e-9))
    held = int(np.sum(np.abs(inside - t) > 1e-12))
    return inside + starts[0], held


def _delays(track: CameraTrack, log: list[LogEntry], rate: float, warnings: list[str], take: str
            ) -> tuple[FloatArray, tuple[float, ...]]:
    """Per sample: the delay line live at its arrival (seconds, real), from the take's record."""
    changes = sorted((e.arrival_ns, float(m[1])) for e in log
                     if e.source == track.camera and (m := _DELAY_RE.match(e.text)) is not None)
    delay = np.full(len(track), np.nan if track.delay_ms is None else track.delay_ms / 1000.0)
    for ns, ms in changes:
        delay[track.arrival_ns >= ns] = ms / 1000.0
    unknown = np.isnan(delay)
    if unknown.any():
        warnings.append(f"take {take} has no record of camera {track.camera}'s delay line"
                        f"{' before its first change' if changes else ''}: assumed 0 ms for "
                        f"{int(unknown.sum())} samples (line the picture up by hand if the camera had one)")
        delay[unknown] = 0.0
    used = tuple(sorted({round(float(d) * 1000.0, 3) for d in np.unique(delay)}))
    return delay * rate, used


def sample_times(take: TakeData, camera: str) -> SampleTimes:
    """Picture-aligned axis time of every sample of ``camera`` in ``take`` (see the module docstring)."""
    track = take.cameras[camera]
    info = take.info
    warnings: list[str] = []
    n = len(track)
    if n == 0:
        return SampleTimes(np.zeros(0), np.zeros(0, dtype=np.int8), np.zeros(0), 0.0, warnings)
    starts, lengths = _label_frames(track, info.rate, info.drop_frame)
    times = np.empty(n)
    how = np.full(n, 2, dtype=np.int8)
    tracker = track.tracker_timecode.astype(bool)
    sub = track.sub_frame if track.sub_frame is not None else np.full(n, -1)
    by_sub = tracker & (sub >= 0)
    if by_sub.any():
        per_frame = int(sub[by_sub].max()) + 1
        times[by_sub] = starts[by_sub] + lengths[by_sub] * sub[by_sub] / per_frame
        how[by_sub] = 0
    clock_rate = float(axis_per_second(info.rate, info.drop_frame))
    held = 0
    for mask, slope, code in ((tracker & ~by_sub, None, 1), (~tracker, clock_rate, 2)):
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            continue
        limit = 2 * float(lengths[rows].max())
        for run in _runs(track.arrival_ns[rows], starts[rows], slope or clock_rate, limit):
            part = rows[run]
            times[part], count = _fit(track.arrival_ns[part], starts[part], lengths[part], slope)
            held += count
        how[rows] = code
    if held > max(2, n // 100):
        warnings.append(f"take {info.name}, camera {camera}: {held} of {n} samples arrived too unevenly to "
                        "place by arrival time; each was kept inside its own timecode frame")
    delay, used = _delays(track, take.log, clock_rate, warnings, info.name)
    times = times + delay
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    steps = np.diff(ordered)
    steps = steps[steps > 0]
    period = float(np.median(steps)) if steps.size else float(lengths[0])
    return SampleTimes(times, how, delay, period, warnings, used, order, ordered)
