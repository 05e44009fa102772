"""A laptop's 1280x720: the time plots get the room to be read, titles take the height of their text, the
log, started smaller, still shows its newest line; and the status bar's timecode repaints itself alone."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from pytestqt.qtbot import QtBot

from stagectl.core.events import Level, StageEvent
from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.support.windows import shown, shown_window
from ui.app import ensure_app
from ui.main_window import SHORT_WINDOW_PX, log_share
from ui.panels.log_panel import LogPanel
from ui.plots import GridPlotWidget, set_title

PYQTGRAPH_TITLE_PX = 30  # the row pyqtgraph gives any title


def test_on_a_1280x720_first_run_each_time_plot_is_over_twice_as_tall_as_its_title(
        qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = shown_window(qtbot, demo_runner)
    plots = window.tracking_panel.plots
    qtbot.waitUntil(lambda: all(p.updates > 2 for p in plots), timeout=TIMEOUT_MS)
    assert window.log_dock.height() <= 0.14 * window.height()
    for time_plot in plots:
        title = time_plot.plot.titleLabel
        text = title.item.boundingRect().height()
        assert text <= title.geometry().height() < PYQTGRAPH_TITLE_PX
        assert time_plot.plot.getViewBox().height() >= 2 * title.geometry().height()


def test_the_log_starts_smaller_on_a_short_window() -> None:
    assert log_share(SHORT_WINDOW_PX - 1) < log_share(SHORT_WINDOW_PX) == log_share(1080)


def test_a_title_of_two_lines_gets_a_row_of_two_lines_and_back(qtbot: QtBot) -> None:
    ensure_app()
    widget = GridPlotWidget()
    qtbot.addWidget(widget)
    plot: pg.PlotItem = widget.getPlotItem()
    set_title(plot, "one line")
    one = plot.titleLabel.maximumHeight()
    set_title(plot, "first line<br>second line")
    two = plot.titleLabel.maximumHeight()
    set_title(plot, "one line again")
    assert one < PYQTGRAPH_TITLE_PX < two < 2.2 * one and plot.titleLabel.maximumHeight() == one


def _event(i: int) -> StageEvent:
    return StageEvent(time.time(), time.monotonic_ns(), Level.INFO, "test", "info", f"line {i}")


def test_the_log_keeps_its_newest_line_in_sight_when_made_smaller_but_not_when_scrolled_back(
        qtbot: QtBot) -> None:
    ensure_app()
    panel = shown(qtbot, LogPanel(), 500, 300)
    panel.add_events([_event(i) for i in range(40)])
    bar = panel.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=TIMEOUT_MS)
    panel.resize(500, panel.minimumSizeHint().height())
    qtbot.waitUntil(lambda: panel.view.height() < 100, timeout=TIMEOUT_MS)
    assert bar.value() == bar.maximum()  # the newest line, not the first one that was shown
    bar.setValue(3)  # scrolled back to read
    panel.add_events([_event(40)])
    assert bar.value() == 3 and not panel.following


class _Paints(QObject):
    """Counts the paint events of the widgets it watches."""

    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {}

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            name = type(watched).__name__
            self.count[name] = self.count.get(name, 0) + 1
        return False


def test_a_new_timecode_in_the_status_bar_repaints_the_label_alone(qtbot: QtBot,
                                                                   demo_runner: StageRunner) -> None:
    window = shown_window(qtbot, demo_runner)
    window.bridge.stop()  # no views: only the test's timecode changes
    qtbot.wait(200)
    paints = _Paints()
    for widget in (window, window.statusBar(), window.timecode):
        widget.installEventFilter(paints)
    def labels_painted(at_least: int) -> Callable[[], bool]:
        return lambda: paints.count.get("QLabel", 0) >= at_least

    for frame in range(3):
        window.timecode.setText(f"10:00:00:0{frame}")
        qtbot.waitUntil(labels_painted(frame + 1), timeout=TIMEOUT_MS)
    qtbot.wait(100)
    assert paints.count.get("QLabel") == 3
    assert "QStatusBar" not in paints.count and "MainWindow" not in paints.count
