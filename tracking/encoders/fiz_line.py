"""The plain line protocol of hobby lens encoders (``lens_protocol = "fiz-line"``).

One reading per line, ASCII::

    FIZ <focus_raw> <iris_raw> <zoom_raw>

Each value is a base-10 integer (an optional sign, at most 10 digits, within a signed 32-bit
range) or ``-`` for an axis the box does not measure (a focus-only follow focus sends
``FIZ 51234 - -``). Fields are separated by spaces or tabs; spaces around the line are
ignored. Lines end in LF, CR LF or CR. A half line is kept until its end arrives; a line longer
than :data:`MAX_LINE` bytes is rejected (reason ``too_long``) without being kept. Rejection
reasons: ``format`` (not a FIZ line), ``value`` (a field that is not an integer, or out of
range), ``empty`` (all three axes ``-``), ``too_long``.
"""

from __future__ import annotations

import re

from tracking.encoders.lines import LensData, LensItem, LensReject, LineSplitter, quote

#: The longest line accepted, in bytes (a FIZ line with three 11-character values is 40).
MAX_LINE = 128
#: Raw counts are kept within a signed 32-bit integer (what every consumer downstream can hold).
RAW_MIN, RAW_MAX = -(2**31), 2**31 - 1

_LINE = re.compile(rb"[ \t]*FIZ[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)[ \t]*")
_NUMBER = re.compile(rb"[+-]?[0-9]{1,10}")
_AXES = ("focus", "iris", "zoom")


class FizLineParser:
    """Incremental parser of ``FIZ`` lines: feed it bytes, get readings and rejections in order.

    Never raises; keeps at most :data:`MAX_LINE` bytes between feeds. ``lines`` and
    ``rejected`` count what it has seen (readings = lines - rejected, not counting ``too_long``).
    """

    def __init__(self) -> None:
        self._lines = LineSplitter(MAX_LINE)
        self.lines = 0
        self.rejected = 0

    @property
    def pending(self) -> int:
        """Bytes held as a half line."""
        return self._lines.pending

    def feed(self, data: bytes) -> list[LensItem]:
        """Parse ``data`` (appended to what came before)."""
        out: list[LensItem] = []
        for line in self._lines.feed(data):
            item = line if isinstance(line, LensReject) else parse_fiz_line(line)
            if isinstance(line, bytes):
                self.lines += 1
            if isinstance(item, LensReject):
                self.rejected += 1
            out.append(item)
        return out

    def flush(self) -> list[LensItem]:
        """Nothing to report when the line goes quiet: a half line waits for its end."""
        return []


def parse_fiz_line(line: bytes) -> LensData | LensReject:
    """One line (without its end) as a reading, or why it is not one."""
    match = _LINE.fullmatch(line)
    if match is None:
        return LensReject("format", f"not a FIZ line (FIZ <focus> <iris> <zoom>): {quote(line)}")
    values: list[int | None] = []
    for axis, field in zip(_AXES, match.groups(), strict=True):
        if field == b"-":
            values.append(None)
            continue
        if _NUMBER.fullmatch(field) is None:
            return LensReject("value", f"{axis} {quote(field)} is not an integer or '-': {quote(line)}")
        value = int(field)
        if not RAW_MIN <= value <= RAW_MAX:
            return LensReject("value", f"{axis} {value} is outside {RAW_MIN}..{RAW_MAX}")
        values.append(value)
    focus, iris, zoom = values
    if focus is None and iris is None and zoom is None:
        return LensReject("empty", "FIZ line with no axis (all '-')")
    return LensData(focus_raw=focus, iris_raw=iris, zoom_raw=zoom)
