"""The enriched ALE: the DIT's ALE (or one built from the clips) with stagectl's columns per clip.

Written to the Avid Log Specifications so Media Composer and Resolve import it: ``Heading`` (the input's
heading lines kept in order, ``FIELD_DELIM TABS`` and ``FPS`` always present), a blank line, ``Column``,
one line of tab-separated titles, a blank line, ``Data``, one tab-separated line per clip; CRLF line
ends; UTF-8 (no byte order mark). Every input column and value is kept as read, in its place; the
added columns follow them.

Choices, and why:

* A value never breaks the format: every run of tabs, CR, LF and the other characters that split a line
  for some readers (``str.splitlines``: VT, FF, FS, GS, RS, NEL, LS, PS) becomes one space. Each
  replacement is listed in :attr:`EnrichedAle.warnings` (clip, column), so nothing changes silently.
* An added column whose title the input already has (a DIT ALE often has ``Take`` or ``ASC_SOP``) does
  not overwrite the DIT's values: stagectl's goes in ``<title> (stagectl)``.
* Avid needs ``VIDEO_FORMAT`` and a ``Tracks`` column: an input without them gets ``VIDEO_FORMAT
  1080`` and ``Tracks`` ``V`` (picture), each reported. Avid takes at most 64 headings and columns
  together; more is reported (the file is still written whole).
* A clip across midnight keeps its labels (``End`` after the wrap, below ``Start``); Media Composer and
  OpenTimelineIO's ALE adapter do not take such a clip, so each one is reported.
* A clip stagectl has no values for keeps its row with the added columns empty; values for a clip
  name the ALE has no row for are reported, not written.
* Built from clips (no input ALE): columns ``Name, Tracks, Start, End, Duration, Tape, Camera,
  Source File``; ``Tracks`` is ``V``, ``End`` exclusive (``Start + Duration``), ``VIDEO_FORMAT 1080``
  and ``AUDIO_FORMAT 48kHz`` (unknown to stagectl; what dailies tools write when they do not know).
  An ALE has one FPS, so the clips must share a rate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stagectl.core.atomic import atomic_write_text
from stagectl.core.timecode import Timecode, frames_per_24h
from stagectl.takes.conform.model import Clip, ConformError
from stagectl.takes.conform.sources.ale import AleDocument
from stagectl.takes.export.ale import ale_fps

__all__ = ["BUILT_COLUMNS", "ENRICHED_COLUMNS", "EnrichedAle", "write_enriched_ale"]

ENRICHED_COLUMNS = ("Take", "Slate", "Lens", "Focal range", "Focus range", "T-stop", "ASC_SOP", "ASC_SAT",
                    "Tracking coverage", "stagectl notes")
"""The columns stagectl adds, in file order (values the engine gives under other names follow them)."""
BUILT_COLUMNS = ("Name", "Tracks", "Start", "End", "Duration", "Tape", "Camera", "Source File")
"""The columns of an ALE built from clips, before the added ones."""

NEWLINE = "\r\n"
AVID_MAX_TITLES = 64
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class EnrichedAle:
    """What was written: the file, the title each added column got, and every change made on the way."""

    path: Path
    titles: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def _built(clips: Sequence[Clip]) -> tuple[dict[str, str], tuple[str, ...], list[tuple[str, list[str]]]]:
    if not clips:
        raise ConformError("no clips to write an ALE for; give at least one clip")
    rate = clips[0].rate
    for clip in clips[1:]:
        if clip.rate != rate:
            raise ConformError(f"clips {clips[0].name} ({ale_fps(rate)} fps) and {clip.name} "
                               f"({ale_fps(clip.rate)} fps) cannot share an ALE (one FPS per file); "
                               "write one ALE per rate")
    heading = {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48kHz", "FPS": ale_fps(rate)}
    rows = []
    for clip in clips:
        duration = Timecode.from_frames(clip.frames, clip.rate, clip.drop_frame)
        values = [clip.name, "V", str(clip.start), str(clip.end), str(duration), clip.reel or "",
                  clip.camera or "", clip.source]
        rows.append((clip.name, [_BREAKS.sub(" ", value) for value in values]))
    return heading, BUILT_COLUMNS, rows


def _titles(existing: Sequence[str], wanted: Sequence[str]) -> dict[str, str]:
    taken = set(existing)
    titles = {}
    for name in wanted:
        title = name if name not in taken else f"{name} (stagectl)"
        if title in taken:
            raise ConformError(f"the ALE already has both {name!r} and {title!r} columns; rename one of them")
        taken.add(title)
        titles[name] = title
    return titles


def write_enriched_ale(source: AleDocument | Sequence[Clip], values_by_clip: Mapping[str, Mapping[str, str]],
                       path: Path) -> EnrichedAle:
    """Write ``source`` (an ALE as read, or clips) with stagectl's columns per clip into ``path``, atomically.

    ``values_by_clip`` maps a clip name to column -> text (columns of :data:`ENRICHED_COLUMNS`, or
    others, which are added after them). Raises :class:`ConformError` for clips at different rates.
    """
    warnings = []
    if isinstance(source, AleDocument):
        heading = dict(source.heading)
        heading["FIELD_DELIM"] = "TABS"
        if "VIDEO_FORMAT" not in heading:
            heading["VIDEO_FORMAT"] = "1080"
            warnings.append(f"{source.path}: no VIDEO_FORMAT heading (Avid needs one); wrote 1080")
        columns = source.columns
        rows = [(source.row_dict(row)["Name"].strip(), list(row.values)) for row in source.rows]
        if "Tracks" not in columns:
            columns = (*columns, "Tracks")
            rows = [(name, [*values, "V"]) for name, values in rows]
            warnings.append(f"{source.path}: no Tracks column (Avid needs one); added it as V (picture)")
    else:
        heading, columns, rows = _built(source)
    extra = [c for values in values_by_clip.values() for c in values if c not in ENRICHED_COLUMNS]
    wanted = list(ENRICHED_COLUMNS) + list(dict.fromkeys(extra))
    titles = _titles(columns, wanted)
    if len(heading) + len(columns) + len(titles) > AVID_MAX_TITLES:
        warnings.append(f"{len(heading)} headings and {len(columns) + len(titles)} columns: Avid takes at "
                        f"most {AVID_MAX_TITLES} together; drop unused columns from the input ALE")
    for title in titles.values():
        if _BREAKS.search(title):
            raise ConformError(f"column title {title!r} holds a tab or line break; give a plain title")
    for name, title in titles.items():
        if title != name:
            warnings.append(f"the ALE already has a {name!r} column (kept as it was); stagectl's values are "
                            f"in {title!r}")
    clips = source.clips if isinstance(source, AleDocument) else source
    for clip in clips:
        if clip.start.frames + clip.frames > frames_per_24h(clip.rate, clip.drop_frame):
            warnings.append(f"clip {clip.name!r} runs across midnight ({clip.start} to {clip.end}); Avid and "
                            "OpenTimelineIO refuse a clip whose End is below its Start")
    known = {name for name, _ in rows}
    for name in values_by_clip:
        if name not in known:
            warnings.append(f"clip {name!r}: the ALE has no row with this Name; its values are not written")
    lines = ["Heading", *(f"{key}\t{value}" for key, value in heading.items()), "", "Column",
             "\t".join([*columns, *titles.values()]), "", "Data"]
    for name, values in rows:
        given = values_by_clip.get(name, {})
        for column in wanted:
            text = str(given.get(column, ""))
            clean = _BREAKS.sub(" ", text)
            if clean != text:
                warnings.append(f"clip {name!r}, column {titles[column]!r}: tabs / line breaks in the value "
                                "became spaces (an ALE value is one line without tabs)")
            values.append(clean)
        lines.append("\t".join(values))
    atomic_write_text(path, NEWLINE.join(lines) + NEWLINE)
    return EnrichedAle(path=path, titles=titles, warnings=warnings)
