"""What the lens encoder parsers share: their items and a bounded line splitter.

Both lens wire formats stagectl reads are line based: the hobby ``FIZ`` protocol ends lines in
LF or CR LF, and Cooke /i ends every reply, ASCII or packed binary, in LF CR (the packed binary
bytes all have bit 6 or 7 set, so they never contain either). :class:`LineSplitter` treats CR
and LF alike as line ends and drops the empty lines between them, so every one of those
conventions (and a bare CR) splits the same way whatever the chunking of the reads.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from stagectl.core.samples import LensReading

#: How many bytes of a bad line are quoted in its rejection.
QUOTE_BYTES = 24

_LINE_END = re.compile(rb"[\r\n]")


class LensData(NamedTuple):
    """One decoded reading, before it has a source and an arrival time (see :meth:`reading`).

    The fields are :class:`stagectl.core.samples.LensReading`'s after ``arrival_ns``, in its order.
    """

    focus_raw: int | None = None
    iris_raw: int | None = None
    zoom_raw: int | None = None
    focus_distance_m: float | None = None
    t_stop: float | None = None
    focal_length_mm: float | None = None
    entrance_pupil_offset_m: float | None = None

    def reading(self, source: str, arrival_ns: int) -> LensReading:
        """This reading as ``source``'s, arrived at ``arrival_ns``."""
        return LensReading(source, arrival_ns, *self)


class LensReject(NamedTuple):
    """Bytes that were not a reading: a counter reason and a detail for people."""

    reason: str
    detail: str


class LensNotice(NamedTuple):
    """Something the device said that is neither a reading nor an error.

    ``kind``: ``lens`` (the lens identified itself; ``detail`` describes it), ``power_on`` (the
    device restarted and waits for its start commands again) or ``ack`` (a command was taken).
    """

    kind: str
    detail: str


LensItem = LensData | LensReject | LensNotice
"""What a lens parser's ``feed`` yields, in stream order."""


def quote(line: bytes) -> str:
    """The start of ``line`` for a message: printable ASCII as is, the rest as ``\\xNN``."""
    head = line[:QUOTE_BYTES]
    text = repr(head)[2:-1]
    return text + ("..." if len(line) > QUOTE_BYTES else "")


class LineSplitter:
    """Splits a byte stream into lines at CR or LF, keeping at most ``max_line`` bytes pending.

    :meth:`feed` returns complete lines (without their ends; empty lines dropped) and, for each
    line longer than ``max_line`` bytes, one :class:`LensReject` with reason ``too_long``
    (reported as soon as it is known; the rest of that line is skipped up to its end).
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._pending = b""
        self._skipping = False  # inside a too-long line already reported

    @property
    def pending(self) -> int:
        """Bytes held as the start of a line not yet ended (at most ``max_line``)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[bytes | LensReject]:
        """Split ``data`` (appended to what came before); never raises."""
        parts = _LINE_END.split(self._pending + bytes(data))
        out: list[bytes | LensReject] = []
        for line in parts[:-1]:
            if self._skipping:
                self._skipping = False  # the end of the long line
            elif len(line) > self.max_line:
                out.append(self._too_long(line))
            elif line:
                out.append(line)
        tail = parts[-1]
        if self._skipping:
            tail = b""
        elif len(tail) > self.max_line:
            out.append(self._too_long(tail))
            self._skipping = True
            tail = b""
        self._pending = tail
        return out

    def _too_long(self, line: bytes) -> LensReject:
        return LensReject("too_long", f"line longer than {self.max_line} bytes: {quote(line)}")
