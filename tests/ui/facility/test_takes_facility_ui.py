"""The window and the facility store on a real PostgreSQL server: the take bar says how the newest takes
stand (synced, or the database down: amber, the takes kept here); the Takes dock opens the facility store
through its "Facility store…" dialog, says which store it shows, lists every stage's takes read only, and
goes back to the stage's own folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from stagectl.takes.facility import migrate
from stagectl.takes.model import TakeData
from stagectl.takes.store import TakeStore
from tests.support.polling import TIMEOUT_MS, wait_until
from tests.support.postgres import PostgresServer
from tests.ui.feed import MakeFeed
from tests.ui.takes_stage import record_take, takes_stage
from ui import theme
from ui.panels.take_bar import TakeBar
from ui.panels.take_list import list_facility_takes
from ui.panels.takes_browser import COLUMNS, TakesBrowser

STAGE_ID = "stage-7"


def _runner(tmp_path: Path, url: str) -> Iterator[StageRunner]:
    text = takes_stage().append(f'[facility]\ndatabase = "{url}"\nstage_id = "{STAGE_ID}"\n'
                                "connect_timeout_s = 1.0\n").text
    (tmp_path / "stage.toml").write_text(text, encoding="utf-8")
    from stagectl.config.load import load_stage

    runner = StageRunner(load_stage(tmp_path / "stage.toml"))
    try:
        wait_until(lambda: runner.stage.recorder.status().ready, what="the take store to open")
        yield runner
    finally:
        runner.close()


@pytest.fixture
def runner(tmp_path: Path, facility_url: str) -> Iterator[StageRunner]:
    migrate(facility_url)
    yield from _runner(tmp_path, facility_url)


def _bar(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> TakeBar:
    fed = feed(runner)
    bar = TakeBar(fed.view, fed.commands)
    fed.to(bar.update_view)
    qtbot.addWidget(bar)
    bar.resize(1600, 90)
    bar.show()
    return bar


def test_the_take_bar_shows_the_newest_take_synced(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> None:
    bar = _bar(qtbot, runner, feed)
    assert bar.facility_label.isVisible()
    take_id = record_take(qtbot, runner, 0.5, scene="4", shot="B")
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        name = store.info(take_id).name
    qtbot.waitUntil(lambda: f"{name} synced" in bar.facility_label.text(), timeout=TIMEOUT_MS)
    assert bar.facility_label.text().startswith("facility · ")
    assert theme.DIM_TEXT in bar.facility_label.styleSheet()  # calm while all is well
    assert f"{name}: synced" in bar.facility_label.toolTip() and STAGE_ID in bar.facility_label.toolTip()


def test_the_take_bar_says_when_the_database_is_down(qtbot: QtBot, runner: StageRunner, feed: MakeFeed,
                                                      postgres_server: PostgresServer) -> None:
    bar = _bar(qtbot, runner, feed)
    with postgres_server.down():
        record_take(qtbot, runner, 0.3)
        qtbot.waitUntil(lambda: "facility down" in bar.facility_label.text(), timeout=TIMEOUT_MS)
        assert "kept here" in bar.facility_label.text()
        assert theme.WARNING_TEXT in bar.facility_label.styleSheet()
    qtbot.waitUntil(lambda: "synced" in bar.facility_label.text(), timeout=3 * TIMEOUT_MS)  # sent once back


def test_the_takes_dock_opens_the_facility_store_read_only(qtbot: QtBot, runner: StageRunner, feed: MakeFeed,
                                                           facility_url: str) -> None:
    take_id = record_take(qtbot, runner, 0.5, scene="4", shot="B")
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        samples = store.sample_counts()[take_id]
    wait_until(lambda: [row.samples for row in list_facility_takes(facility_url)] == [samples],
               what="the whole take in the facility store")
    fed = feed(runner)
    browser = TakesBrowser.for_view(fed.view, fed.commands)
    fed.to(browser.update_view)
    qtbot.addWidget(browser)
    browser.resize(1200, 800)
    browser.show()
    qtbot.waitUntil(lambda: len(browser.rows) == 1, timeout=TIMEOUT_MS)
    assert browser.source_label.text().startswith("This stage's takes")
    local = browser.rows[0]

    browser.facility_button.click()  # as a person would: the dialog offers the stage's own database
    dialog = browser.store_dialog
    assert dialog is not None and dialog.textValue() == facility_url
    dialog.accept()
    qtbot.waitUntil(lambda: browser.store_url == facility_url and len(browser.rows) == 1
                    and browser.rows[0].stage == STAGE_ID, timeout=TIMEOUT_MS)
    source = browser.source_label.text()
    assert source.startswith("Facility store") and "read only" in source
    row = browser.rows[0]
    assert (row.info.name, row.samples) == (local.info.name, local.samples)
    name_cell = browser.table.item(0, COLUMNS.index("Name"))
    assert name_cell is not None and name_cell.text() == f"{STAGE_ID}:{local.info.name}"
    assert not browser.export_button.isVisible() and browser.local_button.isVisible()
    browser.select_take(row.info.take_id)
    qtbot.waitUntil(lambda: browser.details.take is not None, timeout=TIMEOUT_MS)
    shown = browser.details.take
    assert shown is not None and len(shown.cameras["A"]) == len(local_take(runner, take_id).cameras["A"])
    browser.set_flag(row.info.take_id, "circled", True)
    assert "read-only" in browser.error

    assert not browser.open_store("postgresql://u:pw-secret@127.0.0.1/x")  # refused, the list stays
    assert "password" in browser.status_label.text() and "pw-secret" not in browser.status_label.text()
    assert browser.store_url == facility_url

    browser.local_button.click()
    qtbot.waitUntil(lambda: browser.store_url is None and len(browser.rows) == 1
                    and browser.rows[0].stage == "", timeout=TIMEOUT_MS)
    assert browser.source_label.text().startswith("This stage's takes")


def local_take(runner: StageRunner, take_id: int) -> TakeData:
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        return store.read(take_id)
