"""Conform from the top: match clips (or a cut's events) to the takes and write a package per clip.

``plan`` is the match table (nothing written); ``conform_clips`` writes ``out_dir/<clip>/`` for every
clip; ``conform_cut`` writes ``out_dir/<event>/`` for every event of a cut, its source range widened by
``handles`` frames each side. Both report ``progress(fraction 0..1, what)`` and stop between clips when
``cancel`` is set (every file is written atomically). Clips are worked through in timecode order, so
the few takes kept in memory serve the next clip too; results keep the input order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stagectl.takes.conform.enrich import enrich_values
from stagectl.takes.conform.match import ClipMatch, TakeIndex, TakeOpener, match_clip
from stagectl.takes.conform.model import Clip, ConformError, CutEvent
from stagectl.takes.conform.package import DEFAULT_FORMATS, Package, folder_name, write_package
from stagectl.takes.conform.resample import Resampled, resample
from stagectl.takes.conform.timing import axis_of
from stagectl.takes.export.registry import FORMATS

__all__ = ["ConformResult", "Progress", "conform_clips", "conform_cut", "plan", "with_handles"]

Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, what)``."""


@dataclass(slots=True)
class ConformResult:
    """What a conform run did: a match per clip (input order), the packages written, every warning
    (``<clip>: ...``), the enriched-ALE values per clip name, and whether it was cancelled."""

    matches: list[ClipMatch] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ale_values: dict[str, dict[str, str]] = field(default_factory=dict)
    cancelled: bool = False


def _index(store_folder: Path | TakeOpener) -> TakeIndex:
    if isinstance(store_folder, Path) and not store_folder.is_dir():
        raise ConformError(f"the take store {store_folder} does not exist; give the takes folder "
                           "([takes] dir of the stage file)")
    return TakeIndex(store_folder)


def _order(clips: Sequence[Clip]) -> list[int]:
    return sorted(range(len(clips)), key=lambda i: (float(axis_of(clips[i].start)), i))


def plan(clips: Sequence[Clip], store_folder: Path | TakeOpener, camera_map: Mapping[str, str] | None = None
         ) -> list[ClipMatch]:
    """Each clip matched to its take(s) and camera (input order); nothing written."""
    index = _index(store_folder)
    matches: list[ClipMatch | None] = [None] * len(clips)
    for i in _order(clips):
        matches[i] = match_clip(clips[i], index, camera_map)
    return [m for m in matches if m is not None]


def _check_formats(formats: Sequence[str] | None) -> list[str]:
    names = list(DEFAULT_FORMATS if formats is None else formats)
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ConformError(f"unknown export format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    return names


def _unique(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Package names with a clash resolved (``-2``, ``-3`` appended, as take names are) and what was done."""
    used: set[str] = set()
    out, notes = [], []
    for name in names:
        stem, k = folder_name(name), 1
        while stem.lower() in used:  # folders differing only in case clash on Windows and macOS
            k += 1
            stem = f"{folder_name(name)}-{k}"
        if stem != folder_name(name):
            notes.append(f"{name}: a second clip or event of this name; its package is {stem}")
        used.add(stem.lower())
        out.append(stem)
    return out, notes


def _conform(clips: Sequence[Clip], names: Sequence[str], store_folder: Path | TakeOpener, out_dir: Path,
             camera_map: Mapping[str, str] | None, formats: Sequence[str] | None, progress: Progress | None,
             cancel: threading.Event | None) -> ConformResult:
    chosen = _check_formats(formats)
    index = _index(store_folder)
    names, notes = _unique(names)
    result = ConformResult(warnings=notes)
    matches: list[ClipMatch | None] = [None] * len(clips)
    packages: list[Package | None] = [None] * len(clips)
    total = max(1, len(clips))
    for done, i in enumerate(_order(clips)):
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        clip, name = clips[i], names[i]

        def part(fraction: float, done: int = done, name: str = name) -> None:
            if progress is not None:
                progress((done + min(max(fraction, 0.0), 1.0)) / total, name)

        part(0.0)
        match = matches[i] = match_clip(clip, index, camera_map)
        resampled: Resampled | None = resample(clip, match, index) if match.segments else None
        packages[i] = write_package(clip, match, resampled, index, out_dir, chosen, part, name=name)
        result.ale_values[clip.name] = enrich_values(match, resampled, index)
        result.warnings += [f"{name}: {w}" for w in packages[i].warnings]  # type: ignore[union-attr]
        part(1.0)
    result.matches = [m for m in matches if m is not None]
    result.packages = [p for p in packages if p is not None]
    return result


def conform_clips(clips: Sequence[Clip], store_folder: Path | TakeOpener, out_dir: Path, *,
                  camera_map: Mapping[str, str] | None = None, formats: Sequence[str] | None = None,
                  progress: Progress | None = None, cancel: threading.Event | None = None) -> ConformResult:
    """A package per clip in ``out_dir/<clip name>/`` (:mod:`.package`); formats default to
    :data:`.package.DEFAULT_FORMATS`. ConformError for a missing store or an unknown format."""
    return _conform(clips, [c.name for c in clips], store_folder, out_dir, camera_map, formats, progress,
                    cancel)


def with_handles(clip: Clip, handles: int) -> Clip:
    """``clip`` starting ``handles`` frames earlier and ending as many later (wrapping at 24 h)."""
    if handles < 0:
        raise ConformError(f"handles {handles} must be 0 or more frames")
    if handles == 0:
        return clip
    return Clip(name=clip.name, start=clip.start - handles, frames=clip.frames + 2 * handles, rate=clip.rate,
                camera=clip.camera, reel=clip.reel, source=clip.source, columns=clip.columns)


def conform_cut(events: Sequence[CutEvent], store_folder: Path | TakeOpener, out_dir: Path, *,
                handles: int = 0, camera_map: Mapping[str, str] | None = None,
                formats: Sequence[str] | None = None, progress: Progress | None = None,
                cancel: threading.Event | None = None) -> ConformResult:
    """A package per cut event in ``out_dir/<event name>/``: the event's source range plus ``handles``
    frames before and after."""
    clips = [with_handles(e.clip, handles) for e in events]
    return _conform(clips, [e.name for e in events], store_folder, out_dir, camera_map, formats, progress,
                    cancel)
