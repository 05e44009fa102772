"""Which takes a day's report holds, read from a real take store (takes written through the store's own
writing path, tests/takes/facility/longtake.py): the takes started on that day in local time, as
``stagectl takes list --day`` picks them, a take running past midnight in the day it started."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from stagectl.takes.report import TakeReader, day_report
from stagectl.takes.store import TakeStore
from tests.takes.facility.longtake import write_take

DAY = date(2026, 12, 7)


def _at(day: date, hour: int, minute: int) -> float:
    return datetime(day.year, day.month, day.day, hour, minute).timestamp()


def _take(store: TakeStore, name: str, started: float, *, take: int = 1, cameras: int = 1,
          seconds: float = 1) -> None:
    write_take(store, cameras=cameras, hz=50, seconds=seconds, name=name, take=take, started=started,
               raw=False)


def test_the_report_holds_the_takes_started_that_day_in_start_order(tmp_path: Path) -> None:
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)
    with TakeStore(tmp_path) as store:
        # written out of order: the report sorts by start
        _take(store, "late", _at(DAY, 23, 59), take=3, cameras=2, seconds=2)
        _take(store, "eve", _at(before, 23, 30), take=1)
        _take(store, "first", _at(DAY, 0, 0), take=2, cameras=2)
        _take(store, "next", _at(after, 0, 1), take=4)
        _take(store, "noon", _at(DAY, 12, 0), take=5)
        reader: TakeReader = store
        report = day_report(reader, DAY, stage="stage-3")
        assert [t.name for t in report.takes] == ["first", "noon", "late"]
        assert report.stage == "stage-3" and report.title == "Daily report"  # no production on these slates
        late = report.takes[-1]
        assert [(c.camera, c.samples) for c in late.cameras] == [("CAM0", 100), ("CAM1", 100)]
        assert late.cameras[0].focal_mm == (24.0, 73.0)  # the writer's focal length: 24 + n % 50
        assert late.looks == ("Dusk",) and late.stage is None
        assert [t.name for t in day_report(store, after).takes] == ["next"]
        assert day_report(store, date(2001, 1, 1)).takes == ()


def test_the_title_names_the_days_productions(tmp_path: Path) -> None:
    with TakeStore(tmp_path) as store:
        _take(store, "a", _at(DAY, 9, 0))
        store.conn.execute("UPDATE takes SET slate = json_set(slate, '$.production', 'Night Drive')")
        store.conn.commit()
        assert day_report(store, DAY).title == "Night Drive"
        assert day_report(store, DAY, title="Unit B").title == "Unit B"
