"""A clip list as CSV: one row per clip with its name, camera, start and end timecode and frame rate.

The header names the columns, in any order and any case, spaces or underscores alike: ``clip``,
``camera``, ``start TC``, ``end TC``, ``fps`` (``camera`` may be left empty). ``end TC`` is exclusive:
the timecode of the frame after the last one, as an ALE's ``End`` (``start TC + duration``); an end
past midnight wraps. ``fps`` is ``23.976``, ``24``, ``25``, ``29.97``, ``24000/1001``, ...; ``;`` before
the frames of a timecode is drop-frame. Other columns are kept in ``Clip.columns``. The delimiter is a
comma, or a semicolon or tab when the header uses one (spreadsheets in many locales); a UTF-8 byte
order mark is skipped. Every error names ``path:line``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from stagectl.core.timecode import FrameRate, Timecode, TimecodeError, frames_per_24h
from stagectl.takes.conform.model import Clip, ConformError
from stagectl.takes.conform.sources.media import camera_from_name

__all__ = ["CSV_COLUMNS", "read_clip_csv"]

CSV_COLUMNS = ("clip", "camera", "start tc", "end tc", "fps")
_REQUIRED = ("clip", "start tc", "end tc", "fps")


def _key(title: str) -> str:
    return " ".join(title.replace("_", " ").lower().split())


def _delimiter(header: str) -> str:
    counts = {delim: header.count(delim) for delim in ",;\t"}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _timecode(path: Path, line: int, column: str, text: str, rate: FrameRate) -> Timecode:
    try:
        return Timecode.parse(text, rate)
    except TimecodeError as exc:
        raise ConformError(f"{path}:{line}: {column} {text!r} is not a timecode at {rate} fps: "
                           f"{exc}") from exc


def _row_clip(path: Path, line: int, row: dict[str, str]) -> Clip:
    name = row["clip"].strip()
    if not name:
        raise ConformError(f"{path}:{line}: clip name is empty; every row needs the clip's name")
    try:
        rate = FrameRate.parse(row["fps"].strip())
    except TimecodeError as exc:
        raise ConformError(f"{path}:{line}: fps {row['fps']!r} is not a frame rate: {exc}") from exc
    start = _timecode(path, line, "start TC", row["start tc"].strip(), rate)
    end = _timecode(path, line, "end TC", row["end tc"].strip(), rate)
    if end.drop_frame != start.drop_frame:
        raise ConformError(f"{path}:{line}: start TC {start} and end TC {end} disagree on drop-frame "
                           "(';' before the frames); write both the same way")
    frames = (end.frames - start.frames) % frames_per_24h(rate, start.drop_frame)
    if frames == 0:
        raise ConformError(f"{path}:{line}: end TC {end} equals start TC {start}: the clip has no frames; "
                           "end TC is the frame after the last one")
    camera = row.get("camera", "").strip() or camera_from_name(name)
    columns = {title: value for title, value in row.items() if title not in CSV_COLUMNS}
    return Clip(name=name, start=start, frames=frames, rate=rate, camera=camera, source=f"{path}:{line}",
                columns=columns)


def read_clip_csv(path: Path) -> list[Clip]:
    """The clips a CSV lists (see the module docstring); raises :class:`ConformError` with ``path:line``."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConformError(f"{path}: cannot read the CSV ({exc.strerror or exc}); check the path") from exc
    except UnicodeDecodeError as exc:
        raise ConformError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from exc
    try:
        return _read(path, text)
    except csv.Error as exc:
        raise ConformError(f"{path}: not a CSV stagectl can read ({exc}); save it again as plain "
                           "CSV") from exc


def _read(path: Path, text: str) -> list[Clip]:
    header = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(header))
    titles = [_key(title) for title in next(reader, [])]
    missing = [name for name in _REQUIRED if name not in titles]
    if missing:
        raise ConformError(f"{path}:1: the header lacks {', '.join(missing)}; it needs the columns clip, "
                           f"camera, start TC, end TC, fps (found {', '.join(titles) or 'nothing'})")
    if len(set(titles)) != len(titles):
        twice = sorted({t for t in titles if titles.count(t) > 1})
        raise ConformError(f"{path}:1: column {', '.join(twice)} appears twice in the header; keep one")
    clips: list[Clip] = []
    first_line: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(titles):
            raise ConformError(f"{path}:{line}: row has {len(values)} fields, the header {len(titles)}; "
                               "give one value per column (empty is allowed for camera)")
        clip = _row_clip(path, line, dict(zip(titles, values, strict=True)))
        if clip.name in first_line:
            raise ConformError(f"{path}:{line}: clip {clip.name!r} is listed twice (first at line "
                               f"{first_line[clip.name]}); keep one row per clip")
        first_line[clip.name] = line
        clips.append(clip)
    return clips
