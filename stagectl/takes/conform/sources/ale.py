"""The DIT's Avid Log Exchange (``.ale``) read strictly into :class:`Clip` s.

An ALE is tab-delimited text in three sections (Avid Log Specifications): ``Heading`` (``key<TAB>value``
lines: ``FIELD_DELIM TABS``, ``VIDEO_FORMAT``, ``AUDIO_FORMAT``, ``FPS``), ``Column`` (one line of column
titles) and ``Data`` (one line per clip), blank lines between them. The reader takes what
Silverstack, Resolve and Media Composer write: CRLF or LF line ends, a UTF-8 byte order mark, a
trailing tab on the Column and Data lines, columns in any order and any extra columns.

Strict, with ``path:line`` in every error: the sections in order; ``FIELD_DELIM`` (when given) is
``TABS``; ``FPS`` is given and is a rate; column titles are unique; a ``Name`` and a ``Start`` column
and an ``End`` or ``Duration`` one; every row has exactly as many fields as there are columns; names
are non-empty; ``Start``/``End``/``Duration`` parse at the FPS (``;`` before the frames is
drop-frame); ``End`` is exclusive (the frame after the last, ``End = Start + Duration``, what Media
Composer writes); a clip has at least one frame. A name listed again (a timeline export lists a clip
once per use) keeps its first row as the clip, with a warning. The text then goes through OpenTimelineIO's ALE
adapter (``otio-ale-adapter``), and its start and duration of every clip must agree with ours.

Columns used: ``Name``; ``Start``; ``End``/``Duration``; ``Tape`` (else ``Reel``, ``Reel Name``) as the
reel; ``Camera`` (else ``Camera #``, ``Camera ID``) as the camera, else the camera letter of a clip
named by the usual convention (``A001C007...``). Every column (these too) is kept in ``Clip.columns``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import otio_ale_adapter.ale as otio_ale  # type: ignore[import-untyped, unused-ignore]

from stagectl.core.timecode import FrameRate, Timecode, TimecodeError, frames_per_24h
from stagectl.takes.conform.model import Clip, ConformError
from stagectl.takes.conform.sources.media import camera_from_name

__all__ = ["AleDocument", "AleRow", "read_ale", "split_lines"]

_SECTIONS = ("Heading", "Column", "Data")
_REEL_COLUMNS = ("Tape", "Reel", "Reel Name")
_CAMERA_COLUMNS = ("Camera", "Camera #", "Camera ID")


@dataclass(frozen=True, slots=True)
class AleRow:
    """One Data line: its 1-based line number and one value per column."""

    line: int
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AleDocument:
    """An ALE as read: heading (in file order), columns, rows, the rate, and the clips the rows give."""

    path: Path
    heading: dict[str, str]
    columns: tuple[str, ...]
    rows: tuple[AleRow, ...]
    rate: FrameRate
    clips: tuple[Clip, ...]
    newline: str = "\r\n"
    warnings: tuple[str, ...] = field(default=())

    def row_dict(self, row: AleRow) -> dict[str, str]:
        """The row as column -> value."""
        return dict(zip(self.columns, row.values, strict=True))


def split_lines(text: str) -> tuple[list[str], str]:
    """Lines split on CRLF, LF or CR only (never on the other characters ``str.splitlines`` splits on),
    and the line end the text uses most ("\\r\\n" when it has none)."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    newline = "\n" if lf > crlf else "\r\n"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines, newline


def _decode(path: Path) -> tuple[str, list[str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConformError(f"{path}: cannot read the ALE ({exc.strerror or exc}); check the path") from exc
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return data.decode("cp1252", errors="replace"), [
            f"{path}:{line}: the ALE is not UTF-8; read as Windows-1252 (check accented names)"]


class _Reader:
    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path, self.lines, self.i = path, lines, 0

    def fail(self, line: int, message: str) -> ConformError:
        return ConformError(f"{self.path}:{line}: {message}")

    def next_content(self) -> tuple[int, str] | None:
        while self.i < len(self.lines):
            self.i += 1
            if self.lines[self.i - 1].strip():
                return self.i, self.lines[self.i - 1]
        return None

    def section(self, name: str) -> int:
        found = self.next_content()
        if found is None or found[1].strip() != name:
            where = found[0] if found else len(self.lines)
            shown = repr(found[1][:40]) if found else "the end of the file"
            raise self.fail(where, f"expected the {name!r} section here, found {shown}; an ALE holds "
                                   "Heading, Column and Data sections in that order")
        return found[0]

    def heading(self) -> dict[str, str]:
        heading: dict[str, str] = {}
        while self.i < len(self.lines) and self.lines[self.i].strip() != "Column":
            self.i += 1
            line = self.lines[self.i - 1]
            if not line.strip():
                continue
            parts = line.rstrip("\t").split("\t")
            if len(parts) != 2 or not parts[0].strip():
                raise self.fail(self.i, f"heading line {line[:60]!r} is not KEY<TAB>VALUE; "
                                        "e.g. 'FPS<TAB>23.976'")
            key = parts[0].strip()
            if key in heading:
                raise self.fail(self.i, f"heading {key!r} is given twice; keep one")
            heading[key] = parts[1].strip()
        return heading


def _rate(reader: _Reader, heading: dict[str, str], line: int) -> FrameRate:
    delim = heading.get("FIELD_DELIM", "TABS")
    if delim.upper() != "TABS":
        raise reader.fail(line, f"FIELD_DELIM is {delim!r}; only TABS is defined for ALE: re-export "
                                "with tabs")
    if "FPS" not in heading:
        raise reader.fail(line, "the Heading has no FPS; add 'FPS<TAB>23.976' (the clips' frame rate)")
    try:
        return FrameRate.parse(heading["FPS"])
    except TimecodeError as exc:
        raise reader.fail(line, f"FPS {heading['FPS']!r} is not a frame rate: {exc}") from exc


def _columns(reader: _Reader) -> tuple[tuple[str, ...], int]:
    found = reader.next_content()
    if found is None or found[1].strip() == "Data":
        raise reader.fail(found[0] if found else len(reader.lines), "the Column section has no column line")
    line, text = found
    columns = tuple(name.strip() for name in text.rstrip("\t").split("\t"))
    seen: set[str] = set()
    for name in columns:
        if not name:
            raise reader.fail(line, "a column title is empty (two tabs in a row); remove the extra tab")
        if name in seen:
            raise reader.fail(line, f"column {name!r} appears twice; keep one")
        seen.add(name)
    if "Name" not in seen or "Start" not in seen or not {"End", "Duration"} & seen:
        raise reader.fail(line, "an ALE for conform needs Name, Start and End (or Duration) columns; "
                                f"found {', '.join(columns)}")
    return columns, line


def _rows(reader: _Reader, columns: tuple[str, ...]) -> list[AleRow]:
    rows = []
    while (found := reader.next_content()) is not None:
        line, text = found
        values = text.split("\t")
        if len(values) == len(columns) + 1 and values[-1] == "":
            values.pop()  # a trailing tab, as Media Composer writes
        if len(values) != len(columns):
            raise reader.fail(line, f"row has {len(values)} fields but there are {len(columns)} columns; "
                                    "each row needs one tab-separated value per column (empty is allowed)")
        rows.append(AleRow(line, tuple(values)))
    return rows


def _timecode(reader: _Reader, row: AleRow, column: str, text: str, rate: FrameRate) -> Timecode:
    try:
        return Timecode.parse(text, rate)
    except TimecodeError as exc:
        raise reader.fail(row.line, f"{column} {text!r} does not parse at FPS {rate}: {exc}") from exc


def _clip(reader: _Reader, row: AleRow, fields: dict[str, str], rate: FrameRate) -> Clip:
    name = fields["Name"].strip()
    if not name:
        raise reader.fail(row.line, "Name is empty; every clip needs its name")
    start = _timecode(reader, row, "Start", fields["Start"].strip(), rate)
    per_day = frames_per_24h(rate, start.drop_frame)
    frames = None
    if fields.get("End", "").strip():
        end = _timecode(reader, row, "End", fields["End"].strip(), rate)
        frames = (end.frames - start.frames) % per_day  # an End past midnight wraps
    if fields.get("Duration", "").strip():
        text = fields["Duration"].strip()
        duration = _timecode(reader, row, "Duration", text, rate).frames
        if frames is not None and frames != duration:
            raise reader.fail(row.line, f"Start {start} + Duration {text} is not End {fields['End'].strip()} "
                                        "(End is exclusive: the frame after the last); fix one of them")
        frames = duration
    if not frames:
        raise reader.fail(row.line, f"clip {name!r} has no frames (End or Duration missing, or End equals "
                                    "Start); give End as the frame after the last")
    reel = next((fields[c].strip() for c in _REEL_COLUMNS if fields.get(c, "").strip()), None)
    camera = next((fields[c].strip() for c in _CAMERA_COLUMNS if fields.get(c, "").strip()), None)
    return Clip(name=name, start=start, frames=frames, rate=rate, camera=camera or camera_from_name(name),
                reel=reel, source=f"{reader.path}:{row.line}", columns=fields)


def _adapter_text(lines: list[str], columns: tuple[str, ...], rows: list[AleRow], clips: list[Clip]) -> str:
    """The file's lines for OpenTimelineIO's adapter; a row across midnight with both End and Duration
    has its End left out there (the adapter does not wrap at 24 h and would call the two inconsistent)."""
    if "End" not in columns or "Duration" not in columns:
        return "\n".join(lines)
    lines = list(lines)
    end = columns.index("End")
    for row, clip in zip(rows, clips, strict=True):
        if clip.start.frames + clip.frames > frames_per_24h(clip.rate, clip.drop_frame):
            values = list(row.values)
            values[end] = ""
            lines[row.line - 1] = "\t".join(values)
    return "\n".join(lines)


def _cross_check(path: Path, text: str, rate: FrameRate, clips: list[Clip]) -> None:
    """OpenTimelineIO's ALE adapter must read the same clips, starts and durations."""
    try:
        collection = otio_ale.read_from_string(text)
    except Exception as exc:  # the adapter raises plain exceptions too (ValueError, IndexError)
        raise ConformError(f"{path}: OpenTimelineIO's ALE reader refuses the file: {exc}") from exc
    theirs = list(collection.find_clips())
    if len(theirs) != len(clips):
        raise ConformError(f"{path}: OpenTimelineIO's ALE reader finds {len(theirs)} clips, this reader "
                           f"{len(clips)}; check for stray lines in the Data section")
    for ours, other in zip(clips, theirs, strict=True):
        span = other.source_range
        start = round(span.start_time.value_rescaled_to(span.start_time.rate))
        frames = round(span.duration.value_rescaled_to(span.start_time.rate))
        per_day = frames_per_24h(rate, ours.drop_frame)  # a clip past midnight: OTIO's duration is negative
        if (other.name, start, frames % per_day) != (ours.name, ours.start.frames, ours.frames):
            raise ConformError(f"{ours.source}: OpenTimelineIO reads clip {other.name!r} as frame {start} "
                               f"+ {frames}, this reader as {ours.name!r} {ours.start} + {ours.frames} "
                               f"at {rate} fps; check the FPS heading and the timecodes")


def read_ale(path: Path) -> AleDocument:
    """Read an ALE strictly (see the module docstring); raises :class:`ConformError` with ``path:line``."""
    text, warnings = _decode(path)
    lines, newline = split_lines(text)
    reader = _Reader(path, lines)
    heading_line = reader.section("Heading")
    heading = reader.heading()
    rate = _rate(reader, heading, heading_line)
    reader.section("Column")
    columns, _ = _columns(reader)
    reader.section("Data")
    rows = _rows(reader, columns)
    every = [_clip(reader, row, dict(zip(columns, row.values, strict=True)), rate) for row in rows]
    _cross_check(path, _adapter_text(lines, columns, rows, every), rate, every)
    clips: dict[str, Clip] = {}
    for clip in every:
        first = clips.setdefault(clip.name, clip)
        if first is not clip:  # a timeline export lists a clip once per use
            warnings.append(f"{clip.source}: clip {clip.name!r} is listed again (first at {first.source}); "
                            "conform uses the first row, the enriched ALE fills both")
    return AleDocument(path=path, heading=heading, columns=columns, rows=tuple(rows), rate=rate,
                       clips=tuple(clips.values()), newline=newline, warnings=tuple(warnings))
