"""Every export format by name, and running several formats over several takes with one progress bar.

Per-camera and per-take formats run once per take; ``ale`` and ``otio`` given several takes write
one file holding them all (an ALE row per take; a timeline with the takes one after the other).
Format modules load on first use (usd-core takes a second to import).

A format that has nothing to write for a take (a CDL of a take with no look) writes no file; it is
never silent: ``export_takes`` hands the reason to its ``skipped`` callback (the format module's
``skip_reason(take)`` when it has one, else a general one).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagectl.core.errors import StageError
from stagectl.takes.model import TakeData

Progress = Callable[[float], None]
Skipped = Callable[[str], None]


class ExportError(StageError):
    """An export could not be written (unknown format, no folder, a writer failed)."""


@dataclass(frozen=True, slots=True)
class Format:
    """One export format: its module and functions, and what it writes."""

    name: str
    module: str
    function: str
    many: str | None
    description: str


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("usd", "stagectl.takes.export.usd", "export_usd", None,
           "USD camera per camera (.usda): animated transform and lens, Y-up, cm"),
    Format("chan", "stagectl.takes.export.chan", "export_chan", None,
           "Nuke .chan per camera: frame, translate, rotate (ZXY), vertical FOV"),
    Format("csv", "stagectl.takes.export.csv_export", "export_csv", None,
           "CSV per camera: every sample, every field, units in the header"),
    Format("jsonl", "stagectl.takes.export.jsonl", "export_jsonl", None,
           "OpenTrackIO JSON lines per camera: one schema-valid sample per line"),
    Format("otio", "stagectl.takes.export.otio", "export_otio", "export_otio_many",
           "OpenTimelineIO: a clip per camera with timecode, slate, lens and CDL"),
    Format("ale", "stagectl.takes.export.ale", "export_ale", "export_ale_many",
           "Avid ALE: a row per take with timecode, scene, take, lens, ASC_SOP / ASC_SAT"),
    Format("cdl", "stagectl.takes.export.cdl", "export_cdl", None,
           "ASC CDL of the look live at the start (.cc, .cdl, .ccc)"),
)}


def parse_formats(text: str, every: Sequence[str] | None = None) -> list[str]:
    """``usd,chan`` -> ["usd", "chan"]; ``all`` -> ``every`` (default: every format). ExportError naming
    the ones allowed."""
    allowed = list(FORMATS) if every is None else list(every)
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return allowed
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise ExportError(f"unknown format(s) {', '.join(unknown) or '(none given)'}; "
                          f"known: {', '.join(allowed)} or all")
    return list(dict.fromkeys(names))


def _function(module: str, name: str) -> Callable[..., list[Path]]:
    try:
        fn: Any = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ExportError(f"export format module {module} is not available: {exc}") from None
    return fn  # type: ignore[no-any-return]


def skip_reason(fmt: Format, take: TakeData) -> str:
    """Why ``fmt`` wrote nothing for ``take``, as ``"cdl: take 3 (NAME) has no look: no CDL written"``.

    The format module's ``skip_reason(take)`` gives the reason when it has one."""
    reason: Any = getattr(importlib.import_module(fmt.module), "skip_reason", None)
    text = reason(take) if callable(reason) else None
    if not text:
        text = f"take {take.info.take_id} ({take.info.name}) has nothing to write: no file written"
    return f"{fmt.name}: {text}"


def export_takes(takes: Sequence[TakeData], formats: Sequence[str], out_dir: Path,
                 progress: Progress | None = None, name: str | None = None,
                 skipped: Skipped | None = None) -> list[Path]:
    """Write every format of every take into ``out_dir`` (created); the files written.

    ``name`` names the combined ALE / OTIO files of several takes (default: the first and last
    take's names). A format that writes no file for a take calls ``skipped`` with the reason
    (:func:`skip_reason`). ExportError for an unknown format or a folder that cannot be made; a
    writer's own error propagates as ExportError naming the format and take.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the export folder {out_dir}: {exc.strerror}") from None
    steps: list[tuple[Format, Sequence[TakeData]]] = []
    for fmt_name in formats:
        fmt = FORMATS.get(fmt_name)
        if fmt is None:
            raise ExportError(f"unknown export format {fmt_name!r}; known: {', '.join(FORMATS)}")
        if fmt.many is not None and len(takes) > 1:
            steps.append((fmt, takes))
        else:
            steps.extend((fmt, [take]) for take in takes)
    written: list[Path] = []
    combined = name or (f"{takes[0].info.name}_to_{takes[-1].info.name}" if len(takes) > 1 else "")
    for n, (fmt, group) in enumerate(steps):
        def part(fraction: float, n: int = n) -> None:
            if progress is not None:
                progress((n + min(max(fraction, 0.0), 1.0)) / len(steps))

        what = group[0].info.name if len(group) == 1 else f"{len(group)} takes"
        try:
            if len(group) > 1:
                assert fmt.many is not None
                written += _function(fmt.module, fmt.many)(group, out_dir, combined, progress=part)
            else:
                files = _function(fmt.module, fmt.function)(group[0], out_dir, progress=part)
                if not files and skipped is not None:
                    skipped(skip_reason(fmt, group[0]))
                written += files
        except ExportError:
            raise
        except (StageError, OSError, ValueError) as exc:
            raise ExportError(f"{fmt.name} export of {what} failed: {exc}") from exc
        part(1.0)
    return written
