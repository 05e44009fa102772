"""Take bar: record and stop with the big button on a running stage, the timecode and samples move,
the slate is edited from the bar, notes go into the take, refusals show, lag turns amber and red."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from stagectl.core.events import Level
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.stage.runner import StageRunner
from stagectl.stage.view import StageView
from stagectl.takes.recorder import RecorderStatus
from stagectl.takes.store import TakeStore
from tests.support.polling import TIMEOUT_MS
from tests.ui.feed import MakeFeed
from tests.ui.takes_stage import FPS, RATE_HZ, takes_runner
from tracking.simulated_source import SimulatedFreeDSource
from ui.app import ensure_app, open_settings
from ui.main_window import LAYOUT_VERSION, MainWindow
from ui.panels.take_bar import LAG_COLOURS, TakeBar, lag_level


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    yield from takes_runner(tmp_path)


def _bar(qtbot: QtBot, runner: StageRunner, feed: MakeFeed, shown: list[StageView] | None = None) -> TakeBar:
    """A take bar fed the runner's views; each view it showed is appended to ``shown`` after it."""
    fed = feed(runner)
    bar = TakeBar(fed.view, fed.commands)
    fed.to(bar.update_view)
    if shown is not None:
        fed.to(shown.append)
    qtbot.addWidget(bar)
    bar.resize(1400, 90)
    bar.show()
    qtbot.waitUntil(lambda: bar.record_button.isEnabled(), timeout=TIMEOUT_MS)
    return bar


def _type(qtbot: QtBot, edit: object, text: str) -> None:
    edit.setFocus()  # type: ignore[attr-defined]
    edit.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _samples(bar: TakeBar) -> dict[str, int]:
    return {cam: int(n) for cam, n in re.findall(r"([AB]) (\d+)", bar.samples_label.text())}


def _skipped(runner: StageRunner) -> dict[str, int]:
    """Each camera's simulator: the ticks it skipped so far (its own count; a loaded loop makes it skip)."""
    out = {}
    for source in runner.stage.sources:
        assert isinstance(source, SimulatedFreeDSource) and source.simulator is not None
        out[source.camera.name] = source.simulator.skipped_ticks
    return out


def _delivered(runner: StageRunner, seconds: float, skipped: int) -> tuple[float, float]:
    """The samples a :data:`RATE_HZ` simulator delivers in ``seconds`` of the stage clock: its schedule
    less the ticks it skipped, give or take a catch-up burst (ticks owed when its loop was late go out
    late, up to its ``max_lag_s``) and a frame at either end."""
    source = runner.stage.sources[0]
    assert isinstance(source, SimulatedFreeDSource) and source.simulator is not None
    slack = RATE_HZ * source.simulator.max_lag_s + 2 * RATE_HZ / FPS + 5
    return RATE_HZ * seconds - skipped - slack, RATE_HZ * seconds + slack


def test_record_and_stop_with_one_click_each(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> None:
    shown: list[StageView] = []
    bar = _bar(qtbot, runner, feed, shown)
    recorder = runner.stage.recorder
    _type(qtbot, bar.scene, "12")
    _type(qtbot, bar.shot, "A")
    qtbot.waitUntil(lambda: (recorder.status().slate.scene, recorder.status().slate.shot) == ("12", "A"),
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: 12-A-T001", timeout=TIMEOUT_MS)
    assert bar.record_button.text() == "● RECORD"

    skipped_before = _skipped(runner)
    clicked = time.monotonic()
    bar.record_button.click()
    qtbot.waitUntil(lambda: bar.record_button.text() == "■ STOP", timeout=TIMEOUT_MS)
    assert recorder.status().recording
    assert "background: #f85149" in bar.record_button.styleSheet()  # red while recording
    assert bar.name_label.text() == "● 12-A-T001"
    rate = FrameRate(Fraction(FPS))
    first = shown[-1]  # the view the bar shows now
    assert bar.timecode_label.text() == first.timecode
    first_tc = Timecode.parse(bar.timecode_label.text(), rate)
    first_samples = _samples(bar)
    # Until the bar shows a view made 0.8 s of the stage clock later, however long that takes.
    qtbot.waitUntil(lambda: shown[-1].monotonic_ns - first.monotonic_ns >= 800_000_000, timeout=TIMEOUT_MS)
    later = shown[-1]
    assert bar.timecode_label.text() == later.timecode
    seconds = (later.monotonic_ns - first.monotonic_ns) / 1e9
    later_tc = Timecode.parse(bar.timecode_label.text(), rate)
    # The timecode is the stage clock at the view's instant: 25 frames to its second, but a frame edge.
    assert abs((later_tc.frames - first_tc.frames) - seconds * FPS) <= 1, (first_tc, later_tc, seconds)
    later_samples = _samples(bar)
    skipped = _skipped(runner)
    for cam in ("A", "B"):
        low, high = _delivered(runner, seconds, skipped[cam] - skipped_before[cam])
        assert low <= later_samples[cam] - first_samples.get(cam, 0) <= high, (first_samples, later_samples)

    def elapsed_s() -> float:
        hours, minutes, seconds = bar.elapsed_label.text().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)

    # The take began after the click, and the label counts it in tenths: never ahead of the time since.
    assert 0.8 <= elapsed_s() <= time.monotonic() - clicked, (elapsed_s(), time.monotonic() - clicked)

    _type(qtbot, bar.note_edit, "boom in shot")  # the note and the stop reach the loop in this order
    bar.record_button.click()  # stop: no question asked
    qtbot.waitUntil(lambda: bar.record_button.text() == "● RECORD", timeout=TIMEOUT_MS)
    skipped = _skipped(runner)
    status = recorder.status()
    assert status.last_take == "12-A-T001"
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: 12-A-T002", timeout=TIMEOUT_MS)  # auto-increment
    take_id = status.last_take_id
    assert take_id is not None

    def complete() -> bool:
        with TakeStore(recorder.folder, readonly=True) as store:
            return store.info(take_id).state == "complete"

    qtbot.waitUntil(complete, timeout=TIMEOUT_MS)
    with TakeStore(recorder.folder, readonly=True) as store:
        data = store.read(take_id)
    notes = [e.text for e in data.log if e.kind == "note"]
    assert notes == ["boom in shot"]
    assert (data.info.slate.scene, data.info.slate.shot, data.info.slate.take) == ("12", "A", 1)
    duration_s = (data.info.tc_out.frames - data.info.tc_in.frames) / FPS
    for cam in ("A", "B"):
        low, high = _delivered(runner, duration_s, skipped[cam] - skipped_before[cam])
        assert low <= len(data.cameras[cam]) <= high, (cam, len(data.cameras[cam]), duration_s)


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
    qtbot.waitUntil(lambda: recorder.status().slate.cameras == ("A",), timeout=TIMEOUT_MS)
    slate = recorder.status().slate
    assert (slate.production, slate.take) == ("Night Drive II", 7)
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: T007", timeout=TIMEOUT_MS)
    bar.record_button.click()
    qtbot.waitUntil(lambda: recorder.status().recording, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: bar.status.recording, timeout=TIMEOUT_MS)  # the bar has shown it
    assert not bar.scene.isEnabled() and not bar.take.isEnabled()  # the take's slate is fixed
    assert bar.note_edit.isEnabled()
    bar.record_button.click()
    qtbot.waitUntil(lambda: not recorder.status().recording, timeout=TIMEOUT_MS)
    assert recorder.status().last_take == "T007"
    qtbot.waitUntil(lambda: bar.take.value() == 8, timeout=TIMEOUT_MS)


def test_a_refusal_is_shown_in_the_bar_and_posted(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> None:
    fed = feed(runner)
    bar = TakeBar(fed.view, fed.commands)  # not fed the views: it does not see what happens next
    qtbot.addWidget(bar)
    qtbot.waitUntil(lambda: runner.views.latest.takes.status.ready, timeout=TIMEOUT_MS)
    bar.update_view(runner.views.latest)
    recorder = runner.stage.recorder

    async def start() -> str:
        return recorder.record()  # someone else (the CLI over OSC, a desk) starts a take

    runner.runtime.call_sync(start())
    bar.record_button.click()  # the bar still shows RECORD: its record is refused
    qtbot.waitUntil(lambda: bool(bar.refusals), timeout=TIMEOUT_MS)
    assert bar.refusal_label.text().startswith("record: already recording take ")
    qtbot.waitUntil(lambda: runner.views.latest.takes.status.recording, timeout=TIMEOUT_MS)
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
    qtbot.waitUntil(lambda: window.take_bar.record_button.isEnabled(), timeout=TIMEOUT_MS)
    window.take_bar.record_button.click()
    qtbot.waitUntil(lambda: runner.stage.recorder.status().recording, timeout=TIMEOUT_MS)
    qtbot.wait(300)
    window.take_bar.record_button.click()
    window.takes_dock.raise_()
    qtbot.waitUntil(lambda: [r.info.state for r in window.takes_browser.rows] == ["complete"],
                    timeout=TIMEOUT_MS)
    window.close()
    state = open_settings().value("window/state")
    again = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(again)
    assert LAYOUT_VERSION == 6  # a layout saved before the take bar is not restored over it
    assert not again.restoreState(state, 5) and again.restoreState(state, LAYOUT_VERSION)
