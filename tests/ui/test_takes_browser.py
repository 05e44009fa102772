"""Takes browser: a take recorded from the take bar appears by itself, its details and plots match the
store, circle / NG / notes are written to the store, the filter hides and shows rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from stagectl.core.timecode import FrameRate
from stagectl.stage.runner import StageRunner
from stagectl.takes.store import TakeStore
from tests.support.polling import TIMEOUT_MS
from tests.take_factory import make_take
from tests.ui.feed import MakeFeed
from tests.ui.takes_stage import FPS, record_take, stored, takes_runner
from ui.panels.take_bar import TakeBar
from ui.panels.take_plots import TakePlots, take_seconds
from ui.panels.takes_browser import COLUMNS, TakeRow, TakesBrowser


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    yield from takes_runner(tmp_path)


def _browser(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> TakesBrowser:
    fed = feed(runner)
    browser = TakesBrowser.for_view(fed.view, fed.commands)
    fed.to(browser.update_view)
    qtbot.addWidget(browser)
    browser.resize(1200, 800)
    browser.show()
    return browser


def _cell(browser: TakesBrowser, take_id: int, column: str) -> str:
    row = next(r for r, row in enumerate(browser.rows) if row.info.take_id == take_id)
    return browser.table.item(row, COLUMNS.index(column)).text()


def test_a_take_from_the_bar_appears_with_its_details_and_plots(qtbot: QtBot, runner: StageRunner,
                                                                feed: MakeFeed) -> None:
    browser = _browser(qtbot, runner, feed)
    fed = feed(runner)
    bar = TakeBar(fed.view, fed.commands)
    fed.to(bar.update_view)
    qtbot.addWidget(bar)
    qtbot.waitUntil(lambda: bar.record_button.isEnabled(), timeout=TIMEOUT_MS)
    assert browser.rows == []
    bar.record_button.click()
    qtbot.waitUntil(lambda: bar.status.recording, timeout=TIMEOUT_MS)
    qtbot.wait(1000)
    bar.record_button.click()
    qtbot.waitUntil(lambda: not bar.status.recording, timeout=TIMEOUT_MS)
    # No refresh button pressed: the browser notices the finished take by itself.
    qtbot.waitUntil(lambda: len(browser.rows) == 1 and browser.rows[0].info.state == "complete",
                    timeout=TIMEOUT_MS)
    take_id = browser.rows[0].info.take_id
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        data = store.read(take_id)
    a = data.cameras["A"]
    assert len(a) > 150
    assert _cell(browser, take_id, "Name") == data.info.name == "T001"
    assert _cell(browser, take_id, "State") == "complete"
    assert _cell(browser, take_id, "TC in") == str(data.info.tc_in)
    assert _cell(browser, take_id, "Samples") == str(len(a) + len(data.cameras["B"]))

    browser.select_take(take_id)
    qtbot.waitUntil(lambda: browser.plots.take is not None, timeout=TIMEOUT_MS)
    assert browser.details.title.text() == f"{take_id} · T001"
    text = browser.details.text.toPlainText()
    assert f"\nA\nA/simulator\n{len(a)}\n{data.dropouts['A']}\nunsolved\n" in text
    assert data.info.tc_in is not None and data.info.tc_out is not None
    frames = data.info.tc_out.frames - data.info.tc_in.frames + 1  # both ends are in the take
    seconds, frame = divmod(frames, FPS)
    assert f"{data.info.tc_in} → {data.info.tc_out} (00:00:{seconds:02d}:{frame:02d})" in text
    assert "Slate\nNight Drive · take 1\n" in text
    # The path holds every sample of camera A, in the store's own numbers.
    x, y = browser.plots.path_curve.getOriginalDataset()
    assert len(x) == len(a)
    np.testing.assert_array_equal(x, a.translation_m[:, 0])
    np.testing.assert_array_equal(y, a.translation_m[:, 1])
    t, _focal = browser.plots.focal_curve.getOriginalDataset()
    assert len(t) == len(a)
    # Time runs from the take's timecode in for about the second recorded.
    assert -0.1 <= t[0] <= 0.2 and 0.7 <= t[-1] <= 2.0
    browser.plots.selector.setCurrentText("B")
    x_b, _y = browser.plots.path_curve.getOriginalDataset()
    assert len(x_b) == len(data.cameras["B"])


def test_circle_ng_notes_and_filter(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> None:
    first = record_take(qtbot, runner, 0.4, scene="12", shot="A")
    second = record_take(qtbot, runner, 0.4, scene="14", shot="B", notes="rain on glass")
    third = record_take(qtbot, runner, 0.4, scene="14", shot="B", notes="")  # slate notes carry on
    browser = _browser(qtbot, runner, feed)
    qtbot.waitUntil(lambda: len(browser.rows) == 3, timeout=TIMEOUT_MS)
    assert [row.info.take_id for row in browser.rows] == [third, second, first]  # newest first

    browser.select_take(first)
    qtbot.waitUntil(lambda: browser.details.take is not None and browser.details.take.info.take_id == first,
                    timeout=TIMEOUT_MS)
    browser.details.circle_button.click()
    qtbot.waitUntil(lambda: stored(runner, first).circled, timeout=TIMEOUT_MS)  # a fresh connection says so
    qtbot.waitUntil(lambda: _cell(browser, first, "Circle") == "●", timeout=TIMEOUT_MS)
    browser.details.notes.setPlainText("best performance")
    assert browser.details.save_notes_button.isEnabled()
    browser.details.save_notes_button.click()
    qtbot.waitUntil(lambda: stored(runner, first).notes == "best performance", timeout=TIMEOUT_MS)

    browser.select_take(third)
    qtbot.waitUntil(lambda: browser.details.take is not None and browser.details.take.info.take_id == third,
                    timeout=TIMEOUT_MS)
    browser.details.no_good_button.click()
    qtbot.waitUntil(lambda: stored(runner, third).no_good, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: _cell(browser, third, "NG") == "NG", timeout=TIMEOUT_MS)
    assert not stored(runner, third).circled and stored(runner, first).circled  # each take its own flags

    browser.filter_edit.setText("14")
    assert browser.visible_ids() == [third, second]
    browser.filter_edit.setText("rain")  # the slate notes
    assert browser.visible_ids() == [second]
    browser.filter_edit.setText("BEST")  # the take notes, any case
    assert browser.visible_ids() == [first]
    browser.filter_edit.setText("")
    browser.hide_ng.setChecked(True)
    assert browser.visible_ids() == [second, first]
    browser.circled_only.setChecked(True)
    assert browser.visible_ids() == [first]
    browser.hide_ng.setChecked(False)
    browser.circled_only.setChecked(False)
    assert browser.visible_ids() == [third, second, first]
    assert browser.status_label.text().startswith("3 takes")

    browser.select_take(second)
    qtbot.waitUntil(lambda: browser.details.take is not None and browser.details.take.info.take_id == second,
                    timeout=TIMEOUT_MS)
    browser.details.circle_button.click()
    qtbot.waitUntil(lambda: stored(runner, second).circled, timeout=TIMEOUT_MS)
    browser.circled_only.setChecked(True)
    qtbot.waitUntil(lambda: browser.visible_ids() == [second, first], timeout=TIMEOUT_MS)
    browser.hide_ng.setChecked(True)
    browser.filter_edit.setText("12")
    assert browser.visible_ids() == [first]
    assert browser.details.take is None and not browser.export_button.isEnabled()  # the selected take hid


def test_take_seconds_and_plots_of_a_hand_made_take(qtbot: QtBot) -> None:
    take = make_take(frames=48, samples_per_frame=10)  # 24 fps, samples 1/240 s apart from tc in
    a = take.cameras["A"]
    seconds = take_seconds(a, take.info)
    assert seconds[0] == 0.0
    assert seconds[10] == pytest.approx(10 / 240)
    assert seconds[-1] == pytest.approx(479 / 240)
    assert take.info.tc_in is not None and take.info.rate == FrameRate(Fraction(24))
    early = dataclasses.replace(take.info, tc_in=take.info.tc_in - 2)  # two frames before the first sample
    assert take_seconds(a, early)[0] == pytest.approx(2 / 24)

    plots = TakePlots()
    qtbot.addWidget(plots)
    plots.show_take(take)
    x, y = plots.path_curve.getOriginalDataset()
    assert len(x) == 480
    assert x[-1] == pytest.approx(479 / 240)  # +X at 1 m/s
    assert np.all(y == 2.0)
    t, focal = plots.focal_curve.getOriginalDataset()
    assert np.all(focal == 35.0) and t[-1] == pytest.approx(479 / 240)
    assert plots.start_dot.data["x"][0] == 0.0 and plots.end_dot.data["x"][0] == pytest.approx(479 / 240)
    assert plots.note.text() == f"480 samples · 0 s = TC in {take.info.tc_in}"


def test_a_recovered_take_stands_out(qtbot: QtBot, tmp_path: Path) -> None:
    browser = TakesBrowser(tmp_path)  # no store there yet: an empty list, no error
    qtbot.addWidget(browser)
    qtbot.waitUntil(lambda: browser.list_task is not None and not browser.list_task.running,
                    timeout=TIMEOUT_MS)
    assert browser.rows == [] and browser.error == ""
    take = make_take()
    recovered = dataclasses.replace(take.info, take_id=8, name="12-A-T004", state="recovered", circled=False)
    browser._on_list([TakeRow(recovered, 480), TakeRow(take.info, 480)])
    state = browser.table.item(0, COLUMNS.index("State"))
    assert state.text() == "recovered"
    assert state.foreground().color().name() == "#d29922"  # amber text on a dark amber cell
    assert state.background().color().name() == "#3a2a14"
    assert "journal" in state.toolTip()
    assert browser.table.item(1, COLUMNS.index("State")).foreground().color().name() == "#c9ced6"
    assert _cell(browser, 7, "Duration") == "00:00:02:00"  # 48 frames at 24 fps
    assert _cell(browser, 7, "Circle") == "●"
