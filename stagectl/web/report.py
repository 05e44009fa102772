"""The daily report page: the day's takes as the printable document (:mod:`stagectl.takes.report`).

The take store is read on the loop's default executor (never on the loop); ``?day=YYYY-MM-DD`` picks
the day, today by default.
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

from aiohttp import web

from stagectl.core.errors import StageError
from stagectl.takes.model import TakeData, TakeInfo
from stagectl.takes.report import day_report, render_html
from stagectl.web.pages import esc


class _NoTakes:
    """A store with no take (a stage without a recorder, or nothing recorded yet)."""

    def takes(self) -> list[TakeInfo]:
        return []

    def read(self, take_id: int) -> TakeData:
        raise StageError(f"no take {take_id}")


def render_day(folder: Path | None, day: datetime.date, stage: str) -> str:
    """The report of ``day`` as a standalone HTML document (a worker thread)."""
    from stagectl.takes.store import DB_NAME, TakeStore

    if folder is None or not (folder / DB_NAME).exists():
        return render_html(day_report(_NoTakes(), day, stage=stage))
    with TakeStore(folder, readonly=True) as store:
        return render_html(day_report(store, day, stage=stage))


async def report_page(day_text: str | None, folder: Path | None, stage: str) -> web.Response:
    """``GET /report?day=YYYY-MM-DD``: 400 for a malformed day, 500 with the reason when the store
    cannot be read."""
    try:
        day = datetime.date.today() if not day_text else datetime.date.fromisoformat(day_text)
    except ValueError:
        return web.Response(status=400, content_type="text/html",
                            text=f"<!doctype html><title>Bad day</title><p>day must be YYYY-MM-DD, got "
                                 f"{esc(day_text[:32] if day_text else '')}</p>")
    try:
        text = await asyncio.get_running_loop().run_in_executor(None, render_day, folder, day, stage)
    except (StageError, OSError) as exc:
        return web.Response(status=500, content_type="text/html",
                            text=f"<!doctype html><title>Report</title><p>The takes cannot be read: "
                                 f"{esc(exc)}</p>")
    return web.Response(text=text, content_type="text/html")
