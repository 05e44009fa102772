"""The stage clock: a free-running SMPTE timecode generator jammed to the local time of day."""

from __future__ import annotations

import math
import time

from stagectl.core.timecode import (
    _NS_PER_S,
    FrameRate,
    Timecode,
    TimecodeError,
    _drop_count,
    _label_to_frames,
)

__all__ = ["StageClock"]


class StageClock:
    """Free-running stage timecode generator, jammed to the local time of day.

    At a jam the label is set to the local time of day (frames within the second = fraction of the
    second x nominal rate; a drop-frame label that does not exist becomes the next one that does).
    From then on it counts frames at the true rational rate on the monotonic clock, so an NTP step
    of the wall clock never makes it jump. At 23.976 (and other x/1001 non-drop rates) the label
    therefore runs 0.1% slow against the wall clock between jams (3.6 s per hour), which is what
    free-run generators and cameras do; drop-frame labels stay within a frame or so of it.
    """

    __slots__ = ("_den_ns", "_drop_frame", "_jam", "_last", "_num", "_rate")

    def __init__(self, rate: FrameRate, drop_frame: bool = False, *, wall_time_s: float | None = None,
                 monotonic_ns: int | None = None) -> None:
        _drop_count(rate, drop_frame)
        self._rate = rate
        self._drop_frame = drop_frame
        self._num = rate.rate.numerator
        self._den_ns = rate.rate.denominator * _NS_PER_S
        # (label frame count at the jam, monotonic ns at which that frame started); one tuple so
        # a re-jam from another thread is seen whole by frame_at.
        self._jam: tuple[int, int] = (0, 0)
        # (absolute frame, its label): the label is a pure function of the frame, so this stays
        # right across re-jams; one tuple so another thread never sees half of it.
        self._last: tuple[int, Timecode] | None = None
        self.jam(wall_time_s=wall_time_s, monotonic_ns=monotonic_ns)

    @property
    def rate(self) -> FrameRate:
        """The rate the clock counts at."""
        return self._rate

    @property
    def drop_frame(self) -> bool:
        """Whether labels are drop-frame."""
        return self._drop_frame

    def jam(self, *, wall_time_s: float | None = None, monotonic_ns: int | None = None) -> Timecode:
        """Set the label to the local time of day at ``wall_time_s`` (default now), seen at ``monotonic_ns``.

        Returns the label at the jam instant.
        """
        if monotonic_ns is None:
            monotonic_ns = time.monotonic_ns()
        if wall_time_s is None:
            wall_time_s = time.time()
        if not math.isfinite(wall_time_s):
            raise TimecodeError(f"wall_time_s {wall_time_s!r} is not allowed: it must be a finite number")
        whole = math.floor(wall_time_s)
        frac_ns = min(round((wall_time_s - whole) * _NS_PER_S), _NS_PER_S - 1)
        local = time.localtime(whole)
        # Labels are read off the local clock face (not elapsed seconds), so DST days still jam to
        # the hour shown on the wall; a leap second (tm_sec 60) has no label and holds :59.
        h, m, s = local.tm_hour, local.tm_min, min(local.tm_sec, 59)
        nominal = self._rate.nominal
        f, part = divmod(frac_ns * nominal, _NS_PER_S)
        drop = _drop_count(self._rate, self._drop_frame)
        if drop and s == 0 and f < drop and m % 10:
            f, part = drop, 0
        base = _label_to_frames(h, m, s, f, nominal, drop)
        # `part` (in 1e-9 frames) of the current frame has already run: start it that much earlier.
        started_ns = monotonic_ns - (part * self._rate.rate.denominator) // self._num
        self._jam = (base, started_ns)
        return self.timecode_at(monotonic_ns)

    def frame_at(self, monotonic_ns: int) -> int:
        """Absolute label frame count at ``monotonic_ns`` (not wrapped at 24 h; integer math only)."""
        base, started_ns = self._jam
        return base + ((monotonic_ns - started_ns) * self._num) // self._den_ns

    def timecode_at(self, monotonic_ns: int) -> Timecode:
        """The label at ``monotonic_ns`` (a ``time.monotonic_ns()`` reading), wrapped at 24 h.

        Trackers send several samples per frame (500 Hz against 24 fps): the label of the last
        frame asked for is kept and handed out again while the frame has not changed, which
        takes Timecode construction off most samples' path.
        """
        frame = self.frame_at(monotonic_ns)
        cached = self._last
        if cached is not None and cached[0] == frame:
            return cached[1]
        label = Timecode.from_frames(frame, self._rate, self._drop_frame)
        self._last = (frame, label)
        return label

    def now(self) -> Timecode:
        """The label now."""
        return self.timecode_at(time.monotonic_ns())
