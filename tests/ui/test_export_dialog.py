"""Export dialog: a recorded take exported to CSV from the dialog (on a worker, the bar reaching 100 %),
the file read back with the csv module; cancel between formats; errors shown; missing formats disabled."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from stagectl.stage.commands import run_export
from stagectl.stage.runner import StageRunner
from stagectl.takes.export.registry import FORMATS, Format
from stagectl.takes.store import TakeStore
from tests.support.polling import TIMEOUT_MS
from tests.ui.feed import MakeFeed
from tests.ui.takes_stage import FPS, record_take, takes_runner
from ui.panels.export_dialog import ExportDialog
from ui.panels.takes_browser import TakesBrowser


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    yield from takes_runner(tmp_path)


def _only(dialog: ExportDialog, *formats: str) -> None:
    for name, check in dialog.checks.items():
        check.setChecked(name in formats)


def test_export_csv_from_the_browser(qtbot: QtBot, runner: StageRunner, tmp_path: Path,
                                     feed: MakeFeed) -> None:
    take_id = record_take(qtbot, runner, 0.6, scene="12", shot="A")
    folder = runner.stage.recorder.folder
    fed = feed(runner)
    browser = TakesBrowser.for_view(fed.view, fed.commands)
    fed.to(browser.update_view)
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitUntil(lambda: len(browser.rows) == 1, timeout=TIMEOUT_MS)
    assert not browser.export_button.isEnabled()  # nothing selected
    browser.select_take(take_id)
    assert browser.export_button.isEnabled()
    browser.export_button.click()
    dialog = browser.export_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.takes == [(take_id, "12-A-T001")]
    assert Path(dialog.folder_edit.text()) == folder / "exports" / "12-A-T001"
    assert dialog.checks["csv"].toolTip() == FORMATS["csv"].description

    out = tmp_path / "out"
    dialog.folder_edit.setText(str(out))
    _only(dialog, "csv")
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    dialog.export_button.click()
    assert dialog.running and not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert dialog.outcome is not None and dialog.outcome.error == "", dialog.outcome
    assert dialog.progress.value() == 100
    assert seen == sorted(seen) and seen[-1] == 100  # the bar only goes forward
    assert [dialog.files.item(i).text() for i in range(dialog.files.count())] == [
        "12-A-T001_A.csv", "12-A-T001_B.csv"]
    assert dialog.message.text().startswith("wrote 2 files into ")

    with TakeStore(folder, readonly=True) as store:
        data = store.read(take_id)
    for camera in ("A", "B"):
        track = data.cameras[camera]
        with open(out / f"12-A-T001_{camera}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(track) > 100
        assert float(rows[0]["x_m"]) == pytest.approx(track.translation_m[0, 0], abs=1e-6)
        assert float(rows[-1]["pan_deg"]) == pytest.approx(track.rotation_deg[-1, 0], abs=1e-6)
        frame = int(rows[0]["frame"])
        assert frame == track.frame[0]
        h, m, s, f = frame // (FPS * 3600), frame // (FPS * 60) % 60, frame // FPS % 60, frame % FPS
        assert rows[0]["timecode"] == f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"
    assert not list(out.glob("*.tmp"))
    dialog.close_button.click()
    assert not dialog.isVisible()


def test_cancel_stops_between_formats(qtbot: QtBot, runner: StageRunner, tmp_path: Path) -> None:
    take_id = record_take(qtbot, runner, 0.3)
    cancel = threading.Event()
    steps: list[tuple[int, str]] = []

    def progress(done: int, total: int, what: str) -> None:
        steps.append((done, what))
        if what == "csv":
            cancel.set()  # the operator presses Cancel while the CSV is being written

    result = run_export(runner.stage.recorder.folder, [take_id], ["csv", "ale"], tmp_path, progress, cancel)
    assert result.cancelled and result.error == ""
    assert sorted(p.name for p in result.files) == ["T001_A.csv", "T001_B.csv"]  # CSV finished, no ALE
    assert not list(tmp_path.glob("*.ale"))
    assert steps[0] == (10, "read T001")
    assert max(done for done, _what in steps) == 55  # reading, then csv: half of the remaining 90 %


def test_errors_show_and_missing_formats_are_disabled(qtbot: QtBot, runner: StageRunner, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      feed: MakeFeed) -> None:
    take_id = record_take(qtbot, runner, 0.2)
    monkeypatch.setitem(FORMATS, "nope", Format("nope", "stagectl.takes.export.nope", "export_nope", None,
                                                 "a format not in this build"))
    dialog = ExportDialog(runner.stage.recorder.folder, [(take_id, "T001")], feed(runner).commands)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.checks["nope"].isEnabled() and not dialog.checks["nope"].isChecked()
    assert "nope" not in dialog.chosen_formats()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    dialog.folder_edit.setText(str(blocker / "exports"))
    _only(dialog, "csv")
    dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)
    assert dialog.message.text().startswith("export failed: cannot create the export folder")
    assert "#f85149" in dialog.message.styleSheet()
    assert dialog.export_button.isEnabled()
    _only(dialog)
    dialog.start_export()
    assert dialog.message.text() == "choose at least one format" and not dialog.running


def test_a_format_with_nothing_to_write_is_said(qtbot: QtBot, runner: StageRunner, tmp_path: Path,
                                                 feed: MakeFeed) -> None:
    """CDL of a take recorded with no look live writes nothing: the dialog says so and why, in amber,
    instead of "wrote 0 files" in green."""
    take_id = record_take(qtbot, runner, 0.3, scene="4", shot="C")
    fed = feed(runner)
    dialog = ExportDialog(runner.stage.recorder.folder, [(take_id, "4-C-T001")], fed.commands)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.folder_edit.setText(str(tmp_path / "out"))
    _only(dialog, "cdl", "csv")
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    reason = f"cdl: take {take_id} (4-C-T001) has no look (none was live at its start): no CDL written"
    assert dialog.outcome is not None and dialog.outcome.skipped == [reason]
    assert dialog.message.text().startswith("wrote 2 files into ")
    assert dialog.message.text().endswith(f"; not written: {reason}")
    assert not list((tmp_path / "out").glob("*.cc"))
