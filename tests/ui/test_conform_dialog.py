"""Conform dialog: opened from the Takes dock, a CSV of clips matched to a recorded take (the table shown
before anything is written, problem rows coloured), conformed on a worker with the bar reaching 100 %,
the files listed and read back; a cut with handles; errors said in red; Conform only after a match of
what is entered."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QTableWidgetItem
from pytestqt.qtbot import QtBot

from stagectl.core.timecode import Timecode
from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.ui.feed import MakeFeed
from tests.ui.takes_stage import record_take, stored, takes_runner
from ui.panels.conform_dialog import COLUMNS, ROW_COLOURS, ConformDialog
from ui.panels.takes_browser import TakesBrowser


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    yield from takes_runner(tmp_path)


def _clips(path: Path, rows: list[tuple[str, str, Timecode, int]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "camera", "start TC", "end TC", "fps"])
        for name, camera, start, frames in rows:
            writer.writerow([name, camera, str(start), str(start + frames), "25"])
    return path


def _item(dialog: ConformDialog, row: int, column: int) -> QTableWidgetItem:
    item = dialog.table.item(row, column)
    assert item is not None, (row, column)
    return item


def _cells(dialog: ConformDialog, row: int) -> list[str]:
    return [_item(dialog, row, c).text() for c in range(len(COLUMNS))]


def test_conform_clips_from_the_takes_dock(qtbot: QtBot, runner: StageRunner, tmp_path: Path,
                                          feed: MakeFeed) -> None:
    take_id = record_take(qtbot, runner, 1.2, scene="12", shot="A")
    info = stored(runner, take_id)
    inside, before = info.tc_in + 5, info.tc_in - 8
    clips = _clips(tmp_path / "day1.csv", [("A001C007_0412", "A", inside, 12),
                                           ("B001C003_0412", "B", before, 16),
                                           ("D001C001_0001", "D", inside, 5)])
    fed = feed(runner)
    browser = TakesBrowser.for_view(fed.view, fed.commands)
    fed.to(browser.update_view)
    qtbot.addWidget(browser)
    browser.show()
    assert browser.conform_button.isEnabled()  # no take needs selecting: clips find their takes
    browser.conform_button.click()
    dialog = browser.conform_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.conform_button.isEnabled()  # nothing matched yet: nothing to write

    dialog.source_edit.setText(str(clips))
    folder = runner.stage.recorder.folder
    assert Path(dialog.out_edit.text()) == folder / "conform" / "day1"
    dialog.match_button.click()
    assert dialog.table.rowCount() == 0  # the click returned at once: reading and matching run on a worker
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 3, timeout=TIMEOUT_MS)
    assert not list(folder.glob("conform"))  # the table is shown before anything is written
    first = _cells(dialog, 0)
    assert first[:6] == ["A001C007_0412", "A", "12-A-T001", str(inside), str(inside + 11), "12"]
    # (a loaded machine may delay a burst of the simulator's datagrams past what is bridged: a frame less)
    assert dialog.plan is not None and dialog.plan.rows[0].covered >= 10
    assert first[6] == f"{100 * dialog.plan.rows[0].covered / 12:.1f} %"
    partly = _cells(dialog, 1)
    assert partly[:2] == ["B001C003_0412", "B"] and float(partly[6].split()[0]) < 100
    assert "frames have no tracking (before recording" in partly[7]
    assert _item(dialog, 1, 0).background().color().name() == ROW_COLOURS["partial"][0]
    refused = _cells(dialog, 2)
    assert refused[1] == "—" and "says camera 'D'" in refused[7]
    assert _item(dialog, 2, 0).background().color().name() == ROW_COLOURS["refused"][0]
    assert dialog.summary.text().startswith("3 clips: ")
    assert dialog.summary.text().endswith(" without tracking")
    assert dialog.conform_button.isEnabled()

    out = tmp_path / "out"
    dialog.out_edit.setText(str(out))
    for name, check in dialog.checks.items():
        check.setChecked(name in ("chan", "jsonl"))
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    dialog.conform_button.click()
    assert dialog.running and not dialog.conform_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=20000)
    outcome = dialog.outcome
    assert outcome is not None and outcome.error == "" and not outcome.cancelled, outcome
    assert dialog.progress.value() == 100 and seen == sorted(seen) and seen[-1] == 100
    listed = [dialog.files.item(i).text() for i in range(dialog.files.count())]
    said = [text for text in listed if text.startswith("warning: ")]
    files = listed[len(said):]
    assert "A001C007_0412/A001C007_0412.jsonl" in files and "A001C007_0412/A001C007_0412.json" in files
    assert any(t.startswith("warning: B001C003_0412: ") and "frames have no tracking" in t for t in said)
    assert any(t.startswith("warning: D001C001_0001: ") and "says camera 'D'" in t for t in said)
    assert dialog.message.text().startswith(f"wrote 2 of 3 packages with tracking, {len(files)} files into "
                                            f"{out}")
    assert dialog.message.text().endswith(f"; {len(said)} warning(s), listed below")
    lines = (out / "A001C007_0412" / "A001C007_0412.jsonl").read_text(encoding="utf-8").splitlines()
    labels = [(t["seconds"], t["frames"]) for t in (json.loads(line)["timing"]["timecode"] for line in lines)]
    frames = [((inside + n).seconds, (inside + n).frame) for n in range(12)]
    assert len(labels) == dialog.plan.rows[0].covered and labels == [f for f in frames if f in labels]
    assert not (out / "A001C007_0412" / "A001C007_0412.usda").exists()  # not chosen
    dialog.close_button.click()
    assert not dialog.isVisible()


def test_a_cut_with_handles_and_what_changes_after_a_match(qtbot: QtBot, runner: StageRunner, tmp_path: Path,
                                                           feed: MakeFeed) -> None:
    take_id = record_take(qtbot, runner, 1.2)
    info = stored(runner, take_id)
    src = info.tc_in + 8
    rec = Timecode.parse("01:00:00:00", src.rate)
    cut = tmp_path / "vfx.edl"
    cut.write_text(f"TITLE: VFX\nFCM: NON-DROP FRAME\n\n001  A001C001 V     C        {src} {src + 6} {rec} "
                   f"{rec + 6}\n* FROM CLIP NAME: A001C001_0001\n", encoding="utf-8")
    dialog = ConformDialog(runner.stage.recorder.folder, feed(runner).commands, edl_rate="25")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.handles.isEnabled()
    dialog.cut_radio.setChecked(True)
    assert dialog.handles.isEnabled() and not dialog.folder_button.isEnabled()
    dialog.source_edit.setText(str(cut))
    assert dialog.edl_rate.isEnabled()  # an EDL does not say its rate
    dialog.handles.setValue(3)
    dialog.start_match()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=TIMEOUT_MS)
    row = _cells(dialog, 0)
    assert row[:6] == ["001_A001C001_0001", "A", "T001", str(src - 3), str(src + 8), "12"]
    assert dialog.summary.text().startswith("1 events: ")
    assert dialog.conform_button.isEnabled()
    dialog.handles.setValue(4)  # the table no longer says what Conform would write
    assert not dialog.conform_button.isEnabled()
    dialog.handles.setValue(3)
    assert dialog.conform_button.isEnabled()
    dialog.out_edit.setText(str(tmp_path / "pull"))
    for name, check in dialog.checks.items():
        check.setChecked(name == "chan")
    dialog.start_conform()
    qtbot.waitUntil(lambda: not dialog.running, timeout=20000)
    assert dialog.outcome is not None and dialog.outcome.error == ""
    chan = (tmp_path / "pull" / "001_A001C001_0001" / "001_A001C001_0001.chan").read_text(encoding="ascii")
    written = [int(line.split()[0]) for line in chan.splitlines()]
    assert dialog.plan is not None and len(written) == dialog.plan.rows[0].covered >= 10
    assert set(written) <= {(src - 3).frames + n for n in range(12)} and written == sorted(written)


def test_errors_are_said_and_nothing_runs_without_a_match(qtbot: QtBot, runner: StageRunner, tmp_path: Path,
                                                          feed: MakeFeed) -> None:
    dialog = ConformDialog(runner.stage.recorder.folder, feed(runner).commands)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start_match()
    assert dialog.message.text() == "choose a media folder, an ALE or a CSV"
    missing = tmp_path / "nothing.ale"
    dialog.source_edit.setText(str(missing))
    dialog.camera_map.setText("A")
    dialog.start_match()
    assert dialog.message.text() == "camera map: 'A' is not CLIP=STAGE (e.g. A=A001)"
    dialog.camera_map.setText("")
    dialog.start_match()
    qtbot.waitUntil(lambda: dialog.message.text().startswith("cannot match"), timeout=TIMEOUT_MS)
    assert f"SOURCE {missing} does not exist" in dialog.message.text()
    assert "#f85149" in dialog.message.styleSheet()
    assert not dialog.conform_button.isEnabled()
    dialog.start_conform()  # (the button is disabled; the slot itself refuses too)
    assert dialog.job is None
