"""A clip's package: a folder named after the clip with every format and a JSON manifest.

``OUT/<clip name>/<clip name>.usda | .chan | .csv | .jsonl | .cc .cdl .ccc | .json``: the take
exporters (:func:`stagectl.takes.export.registry.export_takes`) run over a per-clip
:class:`TakeData` whose one camera holds one resampled sample per covered clip frame (frames at the
clip's rate, labels the clip's), named after the clip (``name``, ``file_stem``), with the clip's
start as tc in. The look is the one live at the clip's first covered frame: the last look or cue the
take logged before it, else the look at record; its CDL is written only when the take holds it
(the look at record), otherwise the manifest says why not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.core.atomic import atomic_write_text
from stagectl.core.colour import Cdl
from stagectl.takes.conform.match import ClipMatch, TakeIndex
from stagectl.takes.conform.model import Clip
from stagectl.takes.conform.resample import Resampled
from stagectl.takes.export.registry import export_takes
from stagectl.takes.model import LogEntry, TakeData, TakeInfo

__all__ = ["DEFAULT_FORMATS", "Package", "clip_take", "folder_name", "write_package"]

DEFAULT_FORMATS = ("usd", "chan", "csv", "jsonl", "cdl")
"""What a clip's package holds unless told otherwise."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(slots=True)
class Package:
    """One clip's written package: folder, files, coverage and warnings."""

    clip: Clip
    folder: Path
    files: list[Path] = field(default_factory=list)
    frames_covered: int = 0
    frames_missing: int = 0
    warnings: list[str] = field(default_factory=list)


def folder_name(name: str) -> str:
    """A clip or event name as a folder / file name: characters other than letters, digits, ``. _ -``
    become ``_`` (``A001C007_0412`` stays as it is)."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "clip"
    return cleaned


def _look_at(takes: Sequence[TakeData], arrival_ns: int) -> tuple[str, dict[str, Cdl], str | None]:
    """The look live at ``arrival_ns`` in the first take: (name, CDL per zone, why no CDL)."""
    take = takes[0]
    live = take.info.look_at_start
    for entry in take.log:
        if entry.arrival_ns <= arrival_ns and entry.data.get("look"):
            live = str(entry.data["look"])
    if live == take.info.look_at_start:
        return live, dict(take.cdl_at_start), None
    return live, {}, (f"look {live!r} was live at the clip's first frame, but take {take.info.name} "
                      f"holds only the CDL of the look at record ({take.info.look_at_start or 'none'}): "
                      "no CDL written")


def _log_within(takes: Sequence[TakeData], first_ns: int, last_ns: int) -> list[LogEntry]:
    return [e for t in takes for e in t.log if first_ns <= e.arrival_ns <= last_ns]


def clip_take(clip: Clip, match: ClipMatch, resampled: Resampled, index: TakeIndex
              ) -> tuple[TakeData, dict[str, Any]]:
    """The per-clip take the exporters write, and what the manifest says of its look."""
    assert match.camera is not None
    takes = [index.take(t) for t in dict.fromkeys(s.take_id for s in match.segments)]
    first, last = takes[0].info, takes[-1].info
    track = resampled.covered_track()
    name = folder_name(clip.name)
    ns = track.arrival_ns
    look, cdl, why = _look_at(takes, int(ns[0]))
    info = TakeInfo(
        take_id=first.take_id, name=name, slate=first.slate, rate=clip.rate, drop_frame=clip.drop_frame,
        tc_in=clip.start, tc_out=clip.timecode_of(clip.frames - 1), started_unix_s=first.started_unix_s,
        stopped_unix_s=last.stopped_unix_s, state=first.state, circled=any(t.info.circled for t in takes),
        no_good=any(t.info.no_good for t in takes),
        notes="; ".join(dict.fromkeys(t.info.notes for t in takes if t.info.notes)),
        look_at_start=look, file_stem=name)
    data = TakeData(info, {match.camera: track}, cdl, _log_within(takes, int(ns[0]), int(ns[-1])))
    return data, {"name": look, "zones": sorted(cdl), "cdlWritten": bool(cdl), "note": why}


def _sources(match: ClipMatch, index: TakeIndex) -> list[dict[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for take_id in dict.fromkeys(s.take_id for s in match.segments):
        take = index.take(take_id)
        track = take.cameras[match.camera or ""]
        used = set() if track.source_index is None else {int(i) for i in np.unique(track.source_index)}
        for i, source in take.sources.items():
            if i in used:
                found[(source.protocol, source.name)] = None
        if not used & set(take.sources) and track.source:
            found[("", track.source)] = None
    return [{"protocol": p, "name": n} for p, n in found]


def manifest(clip: Clip, match: ClipMatch, index: TakeIndex, look: dict[str, Any] | None,
             files: Sequence[Path], warnings: Sequence[str]) -> dict[str, Any]:
    """The package's JSON manifest: clip, camera, takes with clip frame ranges, coverage, sources,
    lens identity, delay applied, look and warnings."""
    rate = clip.rate.rate
    takes = []
    delays: set[float] = set()
    lens: dict[str, str] | None = None
    for seg in match.segments:
        info = index.take(seg.take_id).info
        takes.append({"id": seg.take_id, "name": seg.take_name, "slate": info.slate.label,
                      "clipFrames": [seg.first, seg.stop - 1], "timecodeIn": str(clip.timecode_of(seg.first)),
                      "timecodeOut": str(clip.timecode_of(seg.stop - 1)),
                      "takeTimecodeIn": None if info.tc_in is None else str(info.tc_in),
                      "takeTimecodeOut": None if info.tc_out is None else str(info.tc_out)})
        if match.camera is not None:
            delays.update(index.times(seg.take_id, match.camera).delay_ms)
            track = index.take(seg.take_id).cameras[match.camera]
            if lens is None and track.lens is not None:
                lens = {"make": track.lens.make, "model": track.lens.model, "serial": track.lens.serial,
                        "file": track.lens.lens_file}
    return {
        "clip": {"name": clip.name, "reel": clip.reel, "camera": clip.camera, "start": str(clip.start),
                 "end": str(clip.end), "frames": clip.frames, "rate": f"{rate.numerator}/{rate.denominator}",
                 "dropFrame": clip.drop_frame, "source": clip.source},
        "camera": match.camera,
        "takes": takes,
        "frames": {"covered": match.frames_covered, "missing": match.frames_missing,
                   "missingBefore": match.missing_before, "missingBetween": match.missing_between,
                   "missingAfter": match.missing_after},
        "coverage": round(match.coverage, 6),
        "exposure": "frame start",
        "sources": _sources(match, index) if match.segments else [],
        "lens": lens,
        "delayAppliedMs": sorted(delays),
        "look": look,
        "files": [f.name for f in files],
        "warnings": list(warnings),
    }


def write_package(clip: Clip, match: ClipMatch, resampled: Resampled | None, index: TakeIndex, out_dir: Path,
                  formats: Sequence[str] = DEFAULT_FORMATS, progress: Callable[[float], None] | None = None,
                  name: str | None = None) -> Package:
    """Write ``out_dir/<name or clip name>/`` (see the module docstring); the package written."""
    stem = folder_name(name or clip.name)
    folder = out_dir / stem
    folder.mkdir(parents=True, exist_ok=True)
    warnings = list(match.warnings)
    if match.refused:
        warnings.insert(0, match.refused)
    files: list[Path] = []
    look: dict[str, Any] | None = None
    if resampled is not None and resampled.covered.any():
        take, look = clip_take(clip, match, resampled, index)
        take.info = replace(take.info, name=stem, file_stem=stem)
        if look["note"]:
            warnings.append(look["note"])
        own = f"take {take.info.take_id} ({stem})"  # the writers speak of takes; here it is the clip

        def skipped(reason: str) -> None:
            warnings.append(reason.replace(own, f"clip {stem}"))

        files = export_takes([take], list(formats), folder, progress=progress, skipped=skipped)
    path = folder / f"{stem}.json"
    atomic_write_text(path, json.dumps(manifest(clip, match, index, look, files, warnings), indent=2) + "\n")
    return Package(clip, folder, [*files, path], match.frames_covered, match.frames_missing, warnings)
