"""SMPTE 12M timecode: exact frame rates, HH:MM:SS:FF labels (incl. drop-frame) and a stage clock.

A ``Timecode`` is an absolute frame count since 00:00:00:00 plus the rate it counts at; the label
is derived from it. Labels wrap at 24 h as SMPTE labels do: 24:00:00:00 does not exist, hours run
0-23, ``Timecode.from_frames`` and ``+``/``-`` wrap modulo one day of frames.

Drop-frame (29.97 and 59.94 only) skips label frames 00-01 (00-03 at 59.94) at the start of every
minute except minutes divisible by 10, so the label stays within ~86 ms/day of real time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import overload

from stagectl.core.errors import StageError

__all__ = ["FrameRate", "Timecode", "TimecodeError", "frames_per_24h"]

_NS_PER_S = 1_000_000_000
# Label frames skipped per minute; SMPTE defines drop-frame for these two rates only.
_DROP_FRAMES = {Fraction(30000, 1001): 2, Fraction(60000, 1001): 4}
_NTSC_TOLERANCE = Fraction(1, 100)
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_RATIO_RE = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)")
_FIELD_NAMES = ("hours", "minutes", "seconds", "frame")


class TimecodeError(StageError, ValueError):
    """A frame rate or timecode is not valid: bad text, a field out of range, a nonexistent label."""


def _snap_ntsc(rate: Fraction) -> Fraction:
    # Decimal spellings of NTSC rates ("23.976", 29.97) are approximations of N*1000/1001. Snap
    # only when the NTSC rate is also nearer than the nearest whole rate, so "5" stays 5 (5000/1001
    # is only 0.005 away) and integers are never touched.
    n = round(rate * Fraction(1001, 1000))
    if n < 1:
        return rate
    candidate = Fraction(n * 1000, 1001)
    off = abs(rate - candidate)
    if off <= _NTSC_TOLERANCE and off < abs(rate - round(rate)):
        return candidate
    return rate


def _positive(rate: Fraction, value: object) -> Fraction:
    if rate <= 0:
        raise TimecodeError(f"frame rate {value!r} is not allowed: it must be greater than 0")
    return rate


@dataclass(frozen=True, slots=True)
class FrameRate:
    """An exact frame rate in frames per second, e.g. ``Fraction(24000, 1001)`` for 23.976."""

    rate: Fraction
    _nominal: int = field(init=False, repr=False, compare=False)
    _drop: int = field(init=False, repr=False, compare=False)
    """Labels drop-frame skips a minute at this rate (0: drop-frame does not exist here); kept so that
    counting never hashes the Fraction (a list of ten thousand takes counts twenty thousand timecodes)."""

    def __post_init__(self) -> None:
        rate: object = self.rate
        if isinstance(rate, bool) or not isinstance(rate, int | Fraction):
            raise TimecodeError(f"FrameRate needs an int or Fraction, got {type(rate).__name__} {rate!r}; "
                                "use FrameRate.parse() for floats and text")
        exact = _positive(Fraction(rate), rate)
        object.__setattr__(self, "rate", exact)
        # Round half up (not half-even) and never 0, so every rate has a usable label rate.
        object.__setattr__(self, "_nominal",
                           max(1, (2 * exact.numerator + exact.denominator) // (2 * exact.denominator)))
        object.__setattr__(self, "_drop", _DROP_FRAMES.get(exact, 0))

    @classmethod
    def parse(cls, value: str | int | float | Fraction) -> FrameRate:
        """Parse ``24``, ``25.0``, ``"29.97"``, ``"30000/1001"``, ... into an exact rate.

        Decimals within 0.01 of an NTSC rate N*1000/1001 (and nearer to it than to a whole rate)
        become that exact rate; other decimals convert exactly (12.5 -> 25/2). ``"N/D"`` text
        and Fractions are taken as given.
        """
        if isinstance(value, bool):
            raise TimecodeError(f"frame rate {value!r} is not allowed: expected a number such as 25 or 29.97")
        if isinstance(value, int | Fraction):
            return cls(_positive(Fraction(value), value))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise TimecodeError(f"frame rate {value!r} is not allowed: it must be a finite number > 0")
            # repr() is the shortest decimal that round-trips: the number the user meant.
            return cls(_snap_ntsc(_positive(Fraction(repr(value)), value)))
        if isinstance(value, str):
            text = value.strip()
            ratio = _RATIO_RE.fullmatch(text)
            if ratio is not None:
                num, den = int(ratio[1]), int(ratio[2])
                if den == 0:
                    raise TimecodeError(f"frame rate {value!r}: denominator is 0; expected N/D with D > 0, "
                                        "e.g. 30000/1001")
                return cls(_positive(Fraction(num, den), value))
            if _DECIMAL_RE.fullmatch(text):
                return cls(_snap_ntsc(_positive(Fraction(text), value)))
        raise TimecodeError(f"frame rate {value!r} is not a number; expected e.g. 24, 25, 23.976, 29.97 "
                            "or 30000/1001")

    @property
    def nominal(self) -> int:
        """The whole label rate: 24 for 23.976, 30 for 29.97 (rate rounded, at least 1)."""
        return self._nominal

    @property
    def fps(self) -> float:
        """The rate as a float, for display and plotting only."""
        return float(self.rate)

    @property
    def is_ntsc(self) -> bool:
        """True for the x/1001 rates (23.976, 29.97, 59.94, ...)."""
        return self.rate.denominator == 1001

    @property
    def supports_drop_frame(self) -> bool:
        """True for 29.97 and 59.94, the only rates SMPTE defines drop-frame for."""
        return self._drop > 0

    @property
    def drop_frames(self) -> int:
        """Label frames drop-frame skips each minute at this rate: 2 at 29.97, 4 at 59.94, else 0."""
        return self._drop

    @property
    def frame_duration_ns(self) -> int:
        """One frame's duration in nanoseconds, rounded to the nearest ns."""
        return round(_NS_PER_S / self.rate)

    def frames_at(self, seconds: float | Fraction) -> int:
        """Index of the frame running at ``seconds`` of real time: floor(seconds * rate).

        ints and Fractions are exact; floats are first rounded to the nearest nanosecond so float
        noise (0.3 s stored as 0.29999...) does not drop a frame on exact boundaries.
        """
        num, den = self.rate.numerator, self.rate.denominator
        if isinstance(seconds, float):
            if not math.isfinite(seconds):
                raise TimecodeError(f"seconds {seconds!r} is not allowed: it must be a finite number")
            return (round(seconds * _NS_PER_S) * num) // (den * _NS_PER_S)
        return math.floor(Fraction(seconds) * self.rate)

    def seconds_of(self, frames: int) -> Fraction:
        """Real time at the start of frame ``frames``: frames / rate, exactly."""
        return Fraction(frames) / self.rate

    def __str__(self) -> str:
        return str(self.rate)


def _drop_count(rate: FrameRate, drop_frame: bool) -> int:
    if not drop_frame:
        return 0
    drop = rate._drop
    if not drop:
        raise TimecodeError(f"drop-frame is not defined at {rate} fps; it exists only at 30000/1001 (29.97) "
                            "and 60000/1001 (59.94)")
    return drop


def frames_per_24h(rate: FrameRate, drop_frame: bool = False) -> int:
    """Number of frames (labels) in one day of timecode, 00:00:00:00 up to the 24 h wrap."""
    drop = _drop_count(rate, drop_frame)
    # 144 ten-minute blocks per day; each drops `drop` labels in 9 of its 10 minutes.
    return 144 * (rate.nominal * 600 - 9 * drop)


def _label_to_frames(h: int, m: int, s: int, f: int, nominal: int, drop: int) -> int:
    minutes = 60 * h + m
    return ((h * 3600 + m * 60 + s) * nominal + f) - drop * (minutes - minutes // 10)


def _frames_to_label(frames: int, nominal: int, drop: int) -> tuple[int, int, int, int]:
    if drop:
        per_minute = nominal * 60 - drop
        per_ten = nominal * 600 - 9 * drop
        tens, rem = divmod(frames, per_ten)
        # Add back the skipped labels so the plain non-drop split below yields the DF label.
        frames += 9 * drop * tens + drop * max(0, (rem - drop) // per_minute)
    secs, f = divmod(frames, nominal)
    mins, s = divmod(secs, 60)
    h, m = divmod(mins, 60)
    return h, m, s, f


def _check_label(h: int, m: int, s: int, f: int, rate: FrameRate, drop: int, shown: str) -> None:
    tops = (23, 59, 59, rate.nominal - 1)
    for name, value, top in zip(_FIELD_NAMES, (h, m, s, f), tops, strict=True):
        if not 0 <= value <= top:
            why = {"hours": " (labels wrap at 24 h)", "frame": f" at {rate} fps"}.get(name, "")
            raise TimecodeError(f"timecode {shown}: {name} {value} is out of range; allowed 0-{top}{why}")
    if drop and s == 0 and f < drop and m % 10:
        raise TimecodeError(
            f"timecode {shown} does not exist in drop-frame at {rate} fps: frames 00-{drop - 1:02d} are "
            f"skipped at the start of every minute except minutes divisible by 10 "
            f"(the next label is {h:02d}:{m:02d}:00;{drop:02d})")


@dataclass(frozen=True, slots=True)
class Timecode:
    """A SMPTE timecode: ``frames`` since 00:00:00:00 (0 <= frames < one day) at ``rate``.

    Equality compares frames, rate and drop_frame; ordering and subtraction need equal rates.
    """

    frames: int
    rate: FrameRate
    drop_frame: bool = False
    _label: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rate = self.rate
        if not isinstance(rate, FrameRate):
            raise TimecodeError(f"Timecode rate must be a FrameRate, got {type(rate).__name__}")
        frames = self.frames
        if type(frames) is not int and (isinstance(frames, bool) or not isinstance(frames, int)):
            raise TimecodeError(f"Timecode frames must be an int, got {type(self.frames).__name__}")
        drop = _drop_count(rate, self.drop_frame)
        per_day = 144 * (rate._nominal * 600 - 9 * drop)  # frames_per_24h, inline: counted per timecode
        if not 0 <= self.frames < per_day:
            raise TimecodeError(f"frame count {self.frames} is out of range at {self.rate} fps"
                                f"{' drop-frame' if self.drop_frame else ''}: allowed 0-{per_day - 1}; "
                                "use Timecode.from_frames() to wrap at 24 h")
        object.__setattr__(self, "_label", _frames_to_label(self.frames, rate._nominal, drop))

    @classmethod
    def from_frames(cls, frames: int, rate: FrameRate, drop_frame: bool = False) -> Timecode:
        """Timecode of an absolute frame count, wrapped modulo 24 h (negative counts wrap too)."""
        return cls(frames % frames_per_24h(rate, drop_frame), rate, drop_frame)

    @classmethod
    def from_components(cls, hours: int, minutes: int, seconds: int, frame: int, rate: FrameRate,
                        drop_frame: bool = False) -> Timecode:
        """Timecode of the label HH:MM:SS:FF; hours 0-23, frame 0 to nominal-1; DF labels must exist."""
        drop = _drop_count(rate, drop_frame)
        sep = ";" if drop_frame else ":"
        shown = f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frame:02d}"
        _check_label(hours, minutes, seconds, frame, rate, drop, shown)
        return cls(_label_to_frames(hours, minutes, seconds, frame, rate.nominal, drop), rate, drop_frame)

    @classmethod
    def parse(cls, text: str, rate: FrameRate, drop_frame: bool | None = None) -> Timecode:
        """Parse ``"HH:MM:SS:FF"`` or drop-frame ``"HH:MM:SS;FF"`` (also ``.`` or ``,`` before FF).

        With ``drop_frame=None`` the separator before the frames decides; an explicit bool wins.
        ``;`` is also accepted between the other fields (``00;00;00;00`` as some editors write).
        """
        parts = re.split(r"([:;.,])", text.strip())
        if len(parts) != 7:
            raise TimecodeError(f"timecode {text!r} is not HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame): "
                                f"expected 4 fields, got {(len(parts) + 1) // 2}")
        fields, seps = parts[0::2], parts[1::2]
        widths = ((1, 2), (2, 2), (2, 2), (2, 3))
        for name, value, (low, high) in zip(_FIELD_NAMES, fields, widths, strict=True):
            if not (value.isascii() and value.isdigit() and low <= len(value) <= high):
                digits = f"{low}-{high}" if low != high else str(low)
                raise TimecodeError(f"timecode {text!r}: {name} {value!r} is not allowed; expected {digits} "
                                    "digits")
        for sep in seps[:2]:
            if sep not in ":;":
                raise TimecodeError(f"timecode {text!r}: separator {sep!r} is only allowed before the "
                                    "frames; use ':' between hours, minutes and seconds")
        if drop_frame is None:
            drop_frame = seps[2] != ":"
            if drop_frame and not rate.supports_drop_frame:
                raise TimecodeError(f"timecode {text!r}: {seps[2]!r} before the frames marks drop-frame, "
                                    f"which does not exist at {rate} fps; use ':'")
        h, m, s, f = (int(value) for value in fields)
        drop = _drop_count(rate, drop_frame)
        _check_label(h, m, s, f, rate, drop, repr(text))
        return cls(_label_to_frames(h, m, s, f, rate.nominal, drop), rate, drop_frame)

    @classmethod
    def from_seconds(cls, seconds: float | Fraction, rate: FrameRate, drop_frame: bool = False) -> Timecode:
        """Timecode of the frame running ``seconds`` of real time after 00:00:00:00 (wraps at 24 h)."""
        return cls.from_frames(rate.frames_at(seconds), rate, drop_frame)

    @property
    def hours(self) -> int:
        """Hours field of the label (0-23)."""
        return self._label[0]

    @property
    def minutes(self) -> int:
        """Minutes field of the label (0-59)."""
        return self._label[1]

    @property
    def seconds(self) -> int:
        """Seconds field of the label (0-59)."""
        return self._label[2]

    @property
    def frame(self) -> int:
        """Frame-within-second field of the label (0 to nominal-1)."""
        return self._label[3]

    def components(self) -> tuple[int, int, int, int]:
        """The label as ``(hours, minutes, seconds, frame)``."""
        return self._label

    def to_seconds(self) -> Fraction:
        """Real elapsed time since 00:00:00:00: frames / rate (not the label's seconds)."""
        return self.rate.seconds_of(self.frames)

    def rebase(self, rate: FrameRate, drop_frame: bool = False) -> Timecode:
        """The same clock face on another timecode base, counted, never through real seconds.

        A label means a time of day on the clock that wrote it: 10:00:00:12 at 23.976 and at 24 both
        say "ten o'clock, frame 12" (real seconds would move it 3.6 s an hour at 23.976). So hours,
        minutes and seconds are kept; the frame within the second is scaled between the nominal
        rates, rounding down (frame 37 at 50 is frame 17 at 24: it starts inside that frame); a
        drop-frame label the new base skips becomes the next one it has. Same base: ``self``.
        """
        if rate == self.rate and drop_frame == self.drop_frame:
            return self
        h, m, s, f = self._label
        nominal = rate.nominal
        if nominal != self.rate.nominal:
            f = f * nominal // self.rate.nominal
        drop = _drop_count(rate, drop_frame)
        if drop and s == 0 and f < drop and m % 10:
            f = drop
        return Timecode(_label_to_frames(h, m, s, f, nominal, drop), rate, drop_frame)

    def __str__(self) -> str:
        h, m, s, f = self._label
        sep = ";" if self.drop_frame else ":"
        width = 2 if self.rate.nominal <= 100 else 3
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{f:0{width}d}"

    def __repr__(self) -> str:
        return f"Timecode({str(self)!r}, frames={self.frames}, rate={self.rate})"

    def _frames_of(self, other: object, what: str) -> int | None:
        if not isinstance(other, Timecode):
            return None
        if self.rate != other.rate:
            raise TimecodeError(f"cannot {what} timecodes at different rates ({self.rate} and {other.rate} "
                                "fps); convert one of them first")
        return other.frames

    def __add__(self, frames: int) -> Timecode:
        if isinstance(frames, bool) or not isinstance(frames, int):
            return NotImplemented
        return Timecode.from_frames(self.frames + frames, self.rate, self.drop_frame)

    __radd__ = __add__

    @overload
    def __sub__(self, other: int) -> Timecode: ...

    @overload
    def __sub__(self, other: Timecode) -> int: ...

    def __sub__(self, other: int | Timecode) -> Timecode | int:
        """``tc - n`` steps back n frames (wrapping); ``tc - tc`` is the frame difference (no wrap)."""
        theirs = self._frames_of(other, "subtract")
        if theirs is not None:
            return self.frames - theirs
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return Timecode.from_frames(self.frames - other, self.rate, self.drop_frame)

    # Ordering is by frames only, so a drop-frame and a non-drop label of the same frame are equal
    # in time; == still tells them apart (dataclass equality includes drop_frame).
    def __lt__(self, other: Timecode) -> bool:
        theirs = self._frames_of(other, "compare")
        return NotImplemented if theirs is None else self.frames < theirs

    def __le__(self, other: Timecode) -> bool:
        theirs = self._frames_of(other, "compare")
        return NotImplemented if theirs is None else self.frames <= theirs

    def __gt__(self, other: Timecode) -> bool:
        theirs = self._frames_of(other, "compare")
        return NotImplemented if theirs is None else self.frames > theirs

    def __ge__(self, other: Timecode) -> bool:
        theirs = self._frames_of(other, "compare")
        return NotImplemented if theirs is None else self.frames >= theirs
