"""``stagectl report --day YYYY-MM-DD --out report.html``: the daily report as a printable HTML file.

The takes come from the stage file's takes folder (``--config FILE``, else the demo stage's), after
recovering any take a crash interrupted, as ``takes list`` reads them; with ``--store URL`` from the
facility store (every stage's takes, or ``--stage``'s). The file is written atomically: a report open in a
browser or being printed is never half-written.

A day without takes is not an error: the report says so and is written (a day off, a prep day), the
exit status is 0 so a nightly job does not fail on it, and stderr names the nearest days that have takes
(a mistyped day shows at once).
"""

from __future__ import annotations

import contextlib
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from stagectl.commands.facility import open_facility
from stagectl.commands.takes import open_store, store_errors
from stagectl.config.model import StageConfig
from stagectl.core.atomic import atomic_write_text
from stagectl.core.errors import StageError
from stagectl.takes.model import TakeInfo
from stagectl.takes.report import DayReport, day_report, render_html

__all__ = ["report_command", "write_report"]


def report_command(config: StageConfig, day: date, out_path: Path, *, store_url: str | None = None,
                   stage: str | None = None, err: TextIO | None = None) -> int:
    """Write the report of ``day`` to ``out_path``; print where it went (and, for an empty day, the
    nearest days with takes) on ``err``. StageError for a store that cannot be read, a ``--stage`` this
    stage file's takes are not of, or a file that cannot be written."""
    err = sys.stderr if err is None else err
    _check_out(out_path)
    with contextlib.ExitStack() as kept:
        if store_url is not None:
            facility = kept.enter_context(open_facility(store_url))
            report = day_report(facility, day, stage=stage)
            every = facility.takes(stage=stage) if not report.takes else []
        else:
            own = config.facility.stage_id if config.facility is not None else None
            if stage is not None and stage != own:
                whose = f"stage {own}" if own else "this stage"
                raise StageError(f"--stage {stage}: the takes folder of this stage file holds {whose}'s "
                                 "takes only; read another stage's takes from the facility store with "
                                 "--store URL")
            store = kept.enter_context(open_store(config))
            kept.enter_context(store_errors(store.folder))
            report = day_report(store, day, stage=own or config.name)
            every = store.takes() if not report.takes else []
    write_report(out_path, report)
    if report.takes:
        print(f"stagectl report: {len(report.takes)} takes of {day.isoformat()} ({report.circled} circled) "
              f"in {out_path}", file=err)
    else:
        print(f"stagectl report: no takes on {day.isoformat()}{_nearest(every, day)}; wrote an empty report "
              f"to {out_path}", file=err)
    return 0


def _check_out(path: Path) -> None:
    """Refuse, before reading any take, an ``--out`` that is a folder or in a folder that does not exist."""
    if path.is_dir():
        raise StageError(f"--out {path} is a folder: give the report's file name, e.g. "
                         f"{path / 'report.html'}")
    if not path.parent.is_dir():
        raise StageError(f"--out {path}: the folder {path.parent} does not exist; create it or write "
                         "the report elsewhere")


def write_report(path: Path, report: DayReport) -> None:
    """The report as HTML at ``path``, atomically (StageError naming the file when it cannot be written)."""
    try:
        atomic_write_text(path, render_html(report))
    except OSError as exc:
        raise StageError(f"cannot write the report to {path} ({exc.strerror or exc}): choose a file in a "
                         "folder this user may write, or fix that folder's permissions") from None


def _nearest(takes: list[TakeInfo], day: date) -> str:
    """``; takes were recorded on 2026-12-05 and 2026-12-08`` (the days just before and after), or ""."""
    days = sorted({datetime.fromtimestamp(t.started_unix_s).date() for t in takes})
    before = [d for d in days if d < day][-1:]
    after = [d for d in days if d > day][:1]
    found = [d.isoformat() for d in (*before, *after)]
    if not found:
        return " (the store has no takes at all)" if not takes else ""
    return f"; takes were recorded on {' and '.join(found)}"
