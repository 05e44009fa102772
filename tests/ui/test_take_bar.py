"""Take bar: record and stop with the big button on a running stage, the timecode and samples move,
the slate is edited from the bar, notes go into the take, refusals show, lag turns amber and red."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from stagectl.core.events import Level
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.stage.runner import StageRunner
from stagectl.takes.recorder import RecorderStatus
from stagectl.takes.store import TakeStore
from tests.ui.feed import MakeFeed
from tests.ui.takes_stage import FPS, RATE_HZ, takes_runner
from ui.app import ensure_app, open_settings
from ui.main_window import LAYOUT_VERSION, MainWindow
from ui.panels.take_bar import LAG_COLOURS, TakeBar, lag_level


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    yield from takes_runner(tmp_path)


def _bar(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> TakeBar:
    fed = feed(runner)
    bar = TakeBar(fed.view, fed.commands)
    fed.to(bar.update_view)
    qtbot.addWidget(bar)
    bar.resize(1400, 90)
    bar.show()
    qtbot.waitUntil(lambda: bar.record_button.isEnabled(), timeout=3000)
    return bar


def _type(qtbot: QtBot, edit: object, text: str) -> None:
    edit.setFocus()  # type: ignore[attr-defined]
    edit.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _samples(bar: TakeBar) -> dict[str, int]:
    return {cam: int(n) for cam, n in re.findall(r"([AB]) (\d+)", bar.samples_label.text())}


def test_record_and_stop_with_one_click_each(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> None:
    bar = _bar(qtbot, runner, feed)
    recorder = runner.stage.recorder
    _type(qtbot, bar.scene, "12")
    _type(qtbot, bar.shot, "A")
    qtbot.waitUntil(lambda: (recorder.status().slate.scene, recorder.status().slate.shot) == ("12", "A"),
                    timeout=2000)
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: 12-A-T001", timeout=2000)
    assert bar.record_button.text() == "● RECORD"

    bar.record_button.click()
    qtbot.waitUntil(lambda: bar.record_button.text() == "■ STOP", timeout=2000)
    assert recorder.status().recording
    assert "background: #f85149" in bar.record_button.styleSheet()  # red while recording
    assert bar.name_label.text() == "● 12-A-T001"
    rate = FrameRate(Fraction(FPS))
    first_tc = Timecode.parse(bar.timecode_label.text(), rate)
    first_samples = _samples(bar)
    qtbot.wait(800)
    later_tc = Timecode.parse(bar.timecode_label.text(), rate)
    # 0.8 s at 25 fps is 20 frames; the label is read on a 33 ms timer and the wait is not exact.
    assert 14 <= later_tc.frames - first_tc.frames <= 30, (first_tc, later_tc)
    later = _samples(bar)
    for cam in ("A", "B"):
        # 240 Hz for 0.8 s: 192 more samples (a loaded machine delivers a little late, never more).
        assert 120 <= later[cam] - first_samples.get(cam, 0) <= 230, (first_samples, later)
    def elapsed_s() -> float:
        hours, minutes, seconds = bar.elapsed_label.text().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)

    # the label is refreshed on a timer: it reaches 0.8 s within a tick or two, and is never ahead
    qtbot.waitUntil(lambda: elapsed_s() >= 0.8, timeout=2000)
    assert elapsed_s() <= 3.0

    _type(qtbot, bar.note_edit, "boom in shot")
    qtbot.wait(100)
    bar.record_button.click()  # stop: no question asked
    qtbot.waitUntil(lambda: bar.record_button.text() == "● RECORD", timeout=2000)
    status = recorder.status()
    assert status.last_take == "12-A-T001"
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: 12-A-T002", timeout=2000)  # auto-increment
    take_id = status.last_take_id
    assert take_id is not None

    def complete() -> bool:
        with TakeStore(recorder.folder, readonly=True) as store:
            return store.info(take_id).state == "complete"

    qtbot.waitUntil(complete, timeout=3000)
    with TakeStore(recorder.folder, readonly=True) as store:
        data = store.read(take_id)
    notes = [e.text for e in data.log if e.kind == "note"]
    assert notes == ["boom in shot"]
    assert (data.info.slate.scene, data.info.slate.shot, data.info.slate.take) == ("12", "A", 1)
    duration_s = (data.info.tc_out.frames - data.info.tc_in.frames) / FPS
    for cam in ("A", "B"):
        assert abs(len(data.cameras[cam]) - RATE_HZ * duration_s) <= 0.15 * RATE_HZ * duration_s + 10


def test_slate_take_number_and_cameras_from_the_bar(qtbot: QtBot, runner: StageRunner,
                                                    feed: MakeFeed) -> None:
    bar = _bar(qtbot, runner, feed)
    recorder = runner.stage.recorder
    _type(qtbot, bar.production, "Night Drive II")
    bar.take.setFocus()
    bar.take.lineEdit().selectAll()
    qtbot.keyClicks(bar.take, "7")
    qtbot.keyClick(bar.take, Qt.Key.Key_Return)
    bar.camera_buttons["B"].click()  # B off the slate
    bar.slate_notes.setFocus()  # the take box loses focus: the bar may show the slate again
    qtbot.waitUntil(lambda: recorder.status().slate.cameras == ("A",), timeout=2000)
    slate = recorder.status().slate
    assert (slate.production, slate.take) == ("Night Drive II", 7)
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: T007", timeout=2000)
    bar.record_button.click()
    qtbot.waitUntil(lambda: recorder.status().recording, timeout=2000)
    qtbot.wait(100)
    assert not bar.scene.isEnabled() and not bar.take.isEnabled()  # the take's slate is fixed
    assert bar.note_edit.isEnabled()
    bar.record_button.click()
    qtbot.waitUntil(lambda: not recorder.status().recording, timeout=2000)
    assert recorder.status().last_take == "T007"
    qtbot.waitUntil(lambda: bar.take.value() == 8, timeout=2000)


def test_a_refusal_is_shown_in_the_bar_and_posted(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> None:
    fed = feed(runner)
    bar = TakeBar(fed.view, fed.commands)  # not fed the views: it does not see what happens next
    qtbot.addWidget(bar)
    qtbot.waitUntil(lambda: runner.views.latest.takes.status.ready, timeout=3000)
    bar.update_view(runner.views.latest)
    recorder = runner.stage.recorder

    async def start() -> str:
        return recorder.record()  # someone else (the CLI over OSC, a desk) starts a take

    runner.runtime.call_sync(start())
    bar.record_button.click()  # the bar still shows RECORD: its record is refused
    qtbot.waitUntil(lambda: bool(bar.refusals), timeout=2000)
    assert bar.refusal_label.text().startswith("record: already recording take ")
    qtbot.waitUntil(lambda: runner.views.latest.takes.status.recording, timeout=2000)
    bar.update_view(runner.views.latest)
    assert bar.record_button.text() == "■ STOP"
    events = runner.views.latest.events
    assert any(e.level == Level.ERROR and "already recording" in e.message for e in events)
    runner.runtime.call_sync(recorder.async_stop_take())


def _status(**kw: object) -> RecorderStatus:
    return RecorderStatus(**kw)  # type: ignore[arg-type]


def test_lag_levels() -> None:
    assert lag_level(_status())[0] == "ok"
    assert lag_level(_status(recording=True, journal_pending=499, commit_age_s=0.3)) == (
        "ok", "journal 499 · commit 0 · 0.3 s")
    assert lag_level(_status(recording=True, journal_pending=500, commit_age_s=0.3))[0] == "warn"
    assert lag_level(_status(recording=True, commit_pending=5))[0] == "warn"
    assert lag_level(_status(recording=True, commit_age_s=1.5))[0] == "warn"
    assert lag_level(_status(recording=True, commit_age_s=3.0))[0] == "fault"
    assert lag_level(_status(recording=True, journal_pending=5000))[0] == "fault"
    # Idle: the last commit's age only grows, and is no lag.
    assert lag_level(_status(recording=False, commit_age_s=600.0))[0] == "ok"
    level, text = lag_level(_status(error="take store commit failed: disk I/O error", errors=3))
    assert level == "fault" and text.endswith("disk I/O error")
    assert LAG_COLOURS["fault"] == "#f85149"


def test_the_window_has_the_take_bar_on_top_and_a_takes_dock(qtbot: QtBot, runner: StageRunner) -> None:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.toolBarArea(window.take_toolbar) == Qt.ToolBarArea.TopToolBarArea
    assert window.take_toolbar.isVisible() and window.take_bar.isVisible()
    assert window.takes_dock in window.tabifiedDockWidgets(window.lighting_dock)
    qtbot.waitUntil(lambda: window.take_bar.record_button.isEnabled(), timeout=3000)
    window.take_bar.record_button.click()
    qtbot.waitUntil(lambda: runner.stage.recorder.status().recording, timeout=2000)
    qtbot.wait(300)
    window.take_bar.record_button.click()
    window.takes_dock.raise_()
    qtbot.waitUntil(lambda: [r.info.state for r in window.takes_browser.rows] == ["complete"], timeout=3000)
    window.close()
    state = open_settings().value("window/state")
    again = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(again)
    assert LAYOUT_VERSION == 6  # a layout saved before the take bar is not restored over it
    assert not again.restoreState(state, 5) and again.restoreState(state, LAYOUT_VERSION)
