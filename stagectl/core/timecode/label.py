"""A timecode label exactly as a device sent it, including labels SMPTE has no frame for."""

from __future__ import annotations

from dataclasses import dataclass

from stagectl.core.timecode import FrameRate, Timecode

__all__ = ["LABEL_ODDITIES", "TimecodeLabel"]


LABEL_ODDITIES = {
    "drop_frame": "drop-frame flag at a rate without drop-frame (counted as non-drop)",
    "frames": "frame number at or beyond the rate (carried into the next second)",
    "skipped": "a drop-frame label that does not exist (counted as the next one that does)",
}


@dataclass(frozen=True, slots=True)
class TimecodeLabel:
    """A timecode exactly as a device sent it: the label's fields, rate, drop-frame flag and sub-frame.

    OpenTrackIO's schema allows labels SMPTE has no frame for, and a tracker's timecode must be
    kept as it was sent: drop-frame at a rate without it (camdkit's own example sends it at
    24000/1001), a frame number at or beyond the rate (``frames: 30`` at 25 fps: the schema allows
    up to 119), a drop-frame label that is skipped (00:01:00;00 at 29.97). :meth:`timecode` counts
    the frame it stands for; :meth:`oddities` says what is odd about it. ``str()`` writes the fields
    as sent (``;`` before the frames when the flag is set).
    """

    hours: int
    minutes: int
    seconds: int
    frames: int
    rate: FrameRate
    drop_frame: bool = False
    sub_frame: int | None = None

    @classmethod
    def of(cls, timecode: Timecode, sub_frame: int | None = None) -> TimecodeLabel:
        """The label of a counted timecode."""
        h, m, s, f = timecode.components()
        return cls(h, m, s, f, timecode.rate, timecode.drop_frame, sub_frame)

    def oddities(self) -> tuple[str, ...]:
        """What SMPTE has no frame for here: ``drop_frame``, ``frames``, ``skipped`` (see LABEL_ODDITIES)."""
        found: list[str] = []
        drop = self.rate.drop_frames if self.drop_frame else 0
        if self.drop_frame and not drop:
            found.append("drop_frame")
        if self.frames >= self.rate.nominal:
            found.append("frames")
        elif drop and self.seconds == 0 and self.frames < drop and self.minutes % 10:
            found.append("skipped")
        return tuple(found)

    def timecode(self) -> Timecode:
        """The frame this label stands for, counted at the nominal rate.

        Drop-frame counts only where SMPTE defines it (29.97, 59.94); frames beyond the rate carry
        into the next second; a skipped drop-frame label counts as the next one that exists. Hours
        0-23 as the schema allows, so the count stays within the day.
        """
        nominal = self.rate.nominal
        drop = self.rate.drop_frames if self.drop_frame else 0
        h, m, s, f = self.hours, self.minutes, self.seconds, self.frames
        if f >= nominal:
            secs, f = divmod((h * 3600 + m * 60 + s) * nominal + f, nominal)
            mins, s = divmod(secs, 60)
            h, m = divmod(mins, 60)
            h %= 24
        if drop and s == 0 and f < drop and m % 10:
            f = drop
        return Timecode.from_components(h, m, s, f, self.rate, bool(drop))

    def __str__(self) -> str:
        sep = ";" if self.drop_frame else ":"
        width = 3 if self.rate.nominal > 100 or self.frames >= 100 else 2
        return f"{self.hours:02d}:{self.minutes:02d}:{self.seconds:02d}{sep}{self.frames:0{width}d}"
