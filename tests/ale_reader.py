"""A strict, independent reader of Avid Log Exchange (.ale) files, for tests.

It checks the Avid Log Specifications' layout rather than trusting our writer:

* UTF-8 text; one line-break convention throughout (CRLF, LF or CR; never a mix); ends with one;
* ``Heading`` on line 1, then ``KEY<TAB>value`` lines (exactly one tab, no duplicate key) until a
  blank line; ``FIELD_DELIM`` must be ``TABS``; ``VIDEO_FORMAT`` and ``FPS`` are required;
* ``Column``, one line of tab-separated titles (none empty, none repeated, at most 64 titles
  together with the headings), a blank line;
* ``Data``, then one row per line with exactly as many fields as titles and no blank line;
  required columns Name, Tracks, Start, End; Name never empty; Tracks one of Avid's values;
  timecode columns HH:MM:SS:FF (``;`` allowed as drop-frame separator).

Errors are :class:`AleFormatError` with the 1-based line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REQUIRED_HEADINGS = ("FIELD_DELIM", "VIDEO_FORMAT", "FPS")
REQUIRED_COLUMNS = ("Name", "Tracks", "Start", "End")
TRACKS = {"V", "VA1", "VA2", "VA1A2", "A1A2", "A1", "A2", "D"}
TIMECODE_COLUMNS = ("Start", "End", "Duration")
MAX_TITLES = 64
_TIMECODE = re.compile(r"\d{2}[:;]\d{2}[:;]\d{2}[:;]\d{2}")


class AleFormatError(ValueError):
    """The file is not a valid ALE; ``line`` is the 1-based line where it went wrong."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class Ale:
    """A parsed ALE: the headings, the column titles in order, one dict per data row, the newline used."""

    heading: dict[str, str]
    columns: list[str]
    rows: list[dict[str, str]]
    newline: str


def _split_lines(text: str) -> tuple[list[str], str]:
    parts = re.split(r"(\r\n|\r|\n)", text)
    lines, breaks = parts[0::2], parts[1::2]
    if not breaks:
        raise AleFormatError(1, "the file has no line break")
    newline = breaks[0]
    for number, found in enumerate(breaks, 1):
        if found != newline:
            raise AleFormatError(number, f"mixed line breaks: line 1 ends with {newline!r}, "
                                 f"this one with {found!r}")
    if lines[-1] != "":
        raise AleFormatError(len(lines), f"the file does not end with a line break ({newline!r})")
    return lines[:-1], newline


def _expect(lines: list[str], index: int, word: str) -> None:
    if index >= len(lines):
        raise AleFormatError(index + 1, f"the file ends where {word!r} was expected")
    if lines[index] != word:
        raise AleFormatError(index + 1, f"expected {word!r}, got {lines[index]!r}")


def parse_ale(text: str) -> Ale:
    """Parse ALE text strictly; :class:`AleFormatError` on anything the spec does not allow."""
    lines, newline = _split_lines(text)
    _expect(lines, 0, "Heading")
    heading: dict[str, str] = {}
    i = 1
    while True:
        if i >= len(lines):
            raise AleFormatError(i, "the file ends inside the Heading section (no blank line, no Column)")
        line = lines[i]
        if line == "":
            break
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            raise AleFormatError(i + 1, f"a heading line is KEY<TAB>value, got {line!r}")
        if parts[0] in heading:
            raise AleFormatError(i + 1, f"heading {parts[0]!r} appears twice")
        heading[parts[0]] = parts[1]
        i += 1
    for key in REQUIRED_HEADINGS:
        if key not in heading:
            raise AleFormatError(i + 1, f"required heading {key!r} is missing")
    if heading["FIELD_DELIM"] != "TABS":
        raise AleFormatError(2, f"FIELD_DELIM must be TABS, got {heading['FIELD_DELIM']!r}")
    try:
        fps = float(heading["FPS"])
    except ValueError:
        raise AleFormatError(1, f"FPS {heading['FPS']!r} is not a number") from None
    if not fps > 0:
        raise AleFormatError(1, f"FPS {heading['FPS']!r} must be > 0")
    i += 1
    _expect(lines, i, "Column")
    i += 1
    if i >= len(lines) or lines[i] == "":
        raise AleFormatError(i + 1, "the Column section has no title line")
    columns = lines[i].split("\t")
    for title in columns:
        if title == "" or title != title.strip():
            raise AleFormatError(i + 1, f"column title {title!r} is empty or has spaces around it")
    if len(set(columns)) != len(columns):
        raise AleFormatError(i + 1, "a column title appears twice")
    if len(columns) + len(heading) > MAX_TITLES:
        raise AleFormatError(i + 1, f"{len(columns) + len(heading)} titles; Avid allows at most {MAX_TITLES}")
    for title in REQUIRED_COLUMNS:
        if title not in columns:
            raise AleFormatError(i + 1, f"required column {title!r} is missing")
    i += 1
    _expect(lines, i, "")
    i += 1
    _expect(lines, i, "Data")
    rows: list[dict[str, str]] = []
    for number, line in enumerate(lines[i + 1:], i + 2):
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise AleFormatError(number, f"{len(fields)} fields, but the Column line has {len(columns)}")
        row = dict(zip(columns, fields, strict=True))
        if not row["Name"]:
            raise AleFormatError(number, "Name is empty")
        if row["Tracks"] not in TRACKS:
            raise AleFormatError(number, f"Tracks {row['Tracks']!r} is not one of {sorted(TRACKS)}")
        for title in TIMECODE_COLUMNS:
            if title in row and not _TIMECODE.fullmatch(row[title]):
                raise AleFormatError(number, f"{title} {row[title]!r} is not a timecode HH:MM:SS:FF")
        rows.append(row)
    return Ale(heading, columns, rows, newline)


def read_ale(path: Path) -> Ale:
    """Read and parse an ALE file (bytes decoded as strict UTF-8, line breaks kept as they are)."""
    return parse_ale(path.read_bytes().decode("utf-8"))
