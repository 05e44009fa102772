"""Exporting stored takes on a worker thread: the Export dialog's job, run by
:meth:`stagectl.stage.commands.StageCommands.export_takes`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stagectl.core.errors import StageError
from stagectl.takes.export.registry import export_takes
from stagectl.takes.store import TakeStore

#: Share of an export's progress spent reading the takes from the store.
READ_SHARE = 0.1
Progress = Callable[[int, int, str], None]


@dataclass
class ExportResult:
    """What an export run did: files written (in order), what a format did not write and why, whether it
    was cancelled, its error."""

    files: list[Path] = field(default_factory=list)
    cancelled: bool = False
    error: str = ""
    skipped: list[str] = field(default_factory=list)


def run_export(folder: Path, take_ids: Sequence[int], formats: Sequence[str], out_dir: Path,
               progress: Progress, cancel: threading.Event) -> ExportResult:
    """Read the takes from the store in ``folder`` and export them format by format (a worker thread).
    Progress in 0..100; ``cancel`` stops between takes and between formats (files are written atomically)."""
    result = ExportResult()
    try:
        takes = []
        with TakeStore(folder, readonly=True) as store:
            for n, take_id in enumerate(take_ids):
                if cancel.is_set():
                    result.cancelled = True
                    return result
                takes.append(store.read(take_id))
                done = round(100 * READ_SHARE * (n + 1) / len(take_ids))
                progress(done, 100, f"read {takes[-1].info.name}")
        for n, fmt in enumerate(formats):
            if cancel.is_set():
                result.cancelled = True
                return result

            def part(fraction: float, n: int = n, fmt: str = fmt) -> None:
                done = READ_SHARE + (1.0 - READ_SHARE) * (n + min(max(fraction, 0.0), 1.0)) / len(formats)
                progress(round(100 * done), 100, fmt)

            result.files += export_takes(takes, [fmt], out_dir, part, skipped=result.skipped.append)
    except (StageError, OSError) as exc:
        result.error = str(exc)
    return result
