"""What the daily report says: the day's takes as post reads them (frozen values, no store behind them).

Every timecode and duration here is counted in frames at the take's rate and drop-frame mode
(:mod:`stagectl.core.timecode`); nothing is derived from seconds. A focal range is the smallest and
largest focal length over a camera's recorded samples; ``None`` says nobody knew it (no lens file
solved the camera and the tracker sent none), which the report prints as "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.model import TakeState


def rate_text(rate: FrameRate, drop_frame: bool) -> str:
    """A rate as people write it: ``23.976``, ``25``, ``29.97 DF`` (for display only)."""
    shown = f"{float(rate.rate):.3f}".rstrip("0").rstrip(".")
    return f"{shown}{' DF' if drop_frame else ''}"


@dataclass(frozen=True, slots=True)
class CameraLine:
    """One camera of a take: its lens and what it recorded.

    Attributes:
        camera: the stage camera's name.
        lens: ``make model`` of the lens file it was solved with ("" when unsolved).
        lens_file: that lens file's name ("" when unsolved).
        focal_mm: (min, max) focal length over the take's samples, None when no sample knew it.
        samples: samples recorded.
        dropouts: samples the tracker numbered that never arrived.
    """

    camera: str
    lens: str
    lens_file: str
    focal_mm: tuple[float, float] | None
    samples: int
    dropouts: int

    @property
    def focal_text(self) -> str:
        """``35 mm``, ``24-70 mm`` or ``unknown``."""
        if self.focal_mm is None:
            return "unknown"
        low, high = (f"{v:.1f}".removesuffix(".0") for v in self.focal_mm)
        return f"{low} mm" if low == high else f"{low}-{high} mm"


@dataclass(frozen=True, slots=True)
class NoteLine:
    """A note typed into the take while it recorded, at its timecode (None when unknown)."""

    timecode: Timecode | None
    text: str
    source: str = "operator"


@dataclass(frozen=True, slots=True)
class TakeLine:
    """One take of the day.

    Attributes:
        take_id: the store's id (what ``stagectl takes show`` takes).
        name: the take's unique name (``12-A-T003``).
        stage: the facility's stage id, None for a take read from a stage's own store.
        production, scene, shot, take: the slate.
        rate, drop_frame: the take's timecode rate and mode.
        tc_in, tc_out: first and last frame (None when the take recorded nothing).
        duration_frames: frames from TC in to TC out inclusive, across midnight too.
        started_unix_s: the wall clock at RECORD (the day it belongs to, in local time).
        state: ``complete``, ``recovered`` (interrupted, rebuilt from its journal) or ``recording``.
        circled, no_good: the script supervisor's flags.
        cameras: one line per camera, in the order the take declared them.
        looks: every look live during the take, first to last (the look at RECORD first).
        notes: notes typed while recording, in the order they arrived.
        take_notes: the take's notes (edited after the take); slate_notes: the slate's notes.
    """

    take_id: int
    name: str
    stage: str | None
    production: str
    scene: str
    shot: str
    take: int
    rate: FrameRate
    drop_frame: bool
    tc_in: Timecode | None
    tc_out: Timecode | None
    duration_frames: int
    started_unix_s: float
    state: TakeState
    circled: bool
    no_good: bool
    cameras: tuple[CameraLine, ...]
    looks: tuple[str, ...]
    notes: tuple[NoteLine, ...]
    take_notes: str
    slate_notes: str

    @property
    def duration(self) -> Timecode:
        """The duration as a timecode label at the take's rate (a drop-frame take: a drop-frame label)."""
        return Timecode.from_frames(self.duration_frames, self.rate, self.drop_frame)

    @property
    def rate_text(self) -> str:
        """``23.976``, ``25``, ``29.97 DF``."""
        return rate_text(self.rate, self.drop_frame)


@dataclass(frozen=True, slots=True)
class RateTotal:
    """Recorded frames of every take at one rate and timecode mode (frames at different rates never add)."""

    rate: FrameRate
    drop_frame: bool
    takes: int
    frames: int

    @property
    def duration(self) -> Timecode:
        """The total as a timecode label at that rate (wraps past 24 h, as labels do)."""
        return Timecode.from_frames(self.frames, self.rate, self.drop_frame)

    @property
    def rate_text(self) -> str:
        """``25``, ``29.97 DF``."""
        return rate_text(self.rate, self.drop_frame)


@dataclass(frozen=True, slots=True)
class DayReport:
    """The daily report of one day: its takes, oldest first, and the totals.

    Attributes:
        day: the day (the takes started on it, local time).
        stage: the stage the report is of ("" when the takes come from several stages).
        title: the heading (the productions' names when none was given).
        productions: every production named on a slate that day, in order.
        takes: the takes, by start time.
    """

    day: date
    stage: str
    title: str
    productions: tuple[str, ...]
    takes: tuple[TakeLine, ...]

    @property
    def circled(self) -> int:
        """Circled takes."""
        return sum(t.circled for t in self.takes)

    @property
    def no_good(self) -> int:
        """Takes marked NG."""
        return sum(t.no_good for t in self.takes)

    @property
    def incomplete(self) -> int:
        """Takes not stopped normally (recovered after a crash, or still recording)."""
        return sum(t.state != "complete" for t in self.takes)

    @property
    def cameras(self) -> tuple[str, ...]:
        """Every camera that recorded that day, in order of first use."""
        return tuple(dict.fromkeys(c.camera for t in self.takes for c in t.cameras))

    @property
    def looks(self) -> tuple[str, ...]:
        """Every look used that day, in order of first use."""
        return tuple(dict.fromkeys(look for t in self.takes for look in t.looks))

    @property
    def rate_totals(self) -> tuple[RateTotal, ...]:
        """Recorded duration per frame rate and timecode mode, in order of first use."""
        totals: dict[tuple[FrameRate, bool], tuple[int, int]] = {}
        for t in self.takes:
            count, frames = totals.get((t.rate, t.drop_frame), (0, 0))
            totals[(t.rate, t.drop_frame)] = (count + 1, frames + t.duration_frames)
        return tuple(RateTotal(rate, drop, count, frames) for (rate, drop), (count, frames) in totals.items())
