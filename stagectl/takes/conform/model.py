"""What conform works on: the camera's clips, the editor's cut events, and its one error.

A :class:`Clip` is a run of picture frames as the camera (or the DIT's ALE, or a CSV) names it: its
first frame's timecode, how many frames, at what picture rate. A :class:`CutEvent` is one event of an
editor's cut: the source range it uses, as a clip, plus the event's name and whether the cut marks it
for VFX. Timecode arithmetic goes through :mod:`stagectl.core.timecode` only (exact Fractions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stagectl.core.errors import StageError
from stagectl.core.timecode import FrameRate, Timecode

__all__ = ["Clip", "ConformError", "CutEvent"]


class ConformError(StageError):
    """Conform could not go on: the message says what, where (path:line or clip) and what to do."""


@dataclass(frozen=True, slots=True)
class Clip:
    """A camera clip: ``frames`` picture frames at ``rate`` from timecode ``start``.

    ``start`` carries the clip's drop-frame flag; ``camera`` is the camera letter or name the
    source gave ("A"), None when unknown; ``source`` says where the clip came from, for messages
    ("/media/A001C007.mov", "day1.ale:14"); ``columns`` keeps every other field as read.
    """

    name: str
    start: Timecode
    frames: int
    rate: FrameRate
    camera: str | None = None
    reel: str | None = None
    source: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f" ({self.source})" if self.source else ""
        if not self.name:
            raise ConformError(f"a clip{where} has no name; give every clip a name")
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames <= 0:
            raise ConformError(f"clip {self.name!r}{where}: frames {self.frames!r} must be a whole "
                               "number > 0")
        if self.start.rate != self.rate:
            raise ConformError(f"clip {self.name!r}{where}: start timecode {self.start} counts at "
                               f"{self.start.rate} fps but the clip runs at {self.rate} fps; give the "
                               "start at the clip's rate")

    @property
    def drop_frame(self) -> bool:
        """True when the clip's timecode is drop-frame (29.97 / 59.94 with ';')."""
        return self.start.drop_frame

    @property
    def end(self) -> Timecode:
        """Timecode of the frame after the last one (exclusive end; wraps at 24 h)."""
        return self.start + self.frames

    def timecode_of(self, n: int) -> Timecode:
        """Timecode label of the clip's frame ``n`` (0-based; wraps at 24 h)."""
        return self.start + n


@dataclass(frozen=True, slots=True)
class CutEvent:
    """One event of a cut: its source range as ``clip``; ``name`` is "<event number>_<clip name>"."""

    name: str
    clip: Clip
    vfx: bool
    record_in: Timecode | None = None
    source: str = ""
