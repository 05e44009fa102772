"""A view reaches the screen in one repaint of the window, however many plots it changes (ui.frame)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from ui.app import ensure_app, open_settings
from ui.frame import RepaintHold
from ui.main_window import MainWindow
from ui.plots import LiveCurve


def _settle(hold: RepaintHold, qtbot: QtBot) -> None:
    """Let every repaint asked for so far happen (the count stops moving)."""
    last = -1
    while hold.repaints != last:
        last = hold.repaints
        qtbot.wait(50)


def test_three_plots_and_a_label_changed_together_are_one_repaint(qtbot: QtBot) -> None:
    ensure_app()
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    label = QLabel("0", window)
    layout.addWidget(label)
    curves = []
    for _ in range(3):  # three plots: three scenes, each of which would repaint the window on its own
        plot = pg.PlotWidget(window)
        curves.append(LiveCurve("#ffffff"))
        plot.getPlotItem().addItem(curves[-1])
        plot.setXRange(0, 100)
        plot.setYRange(-1, 1)
        layout.addWidget(plot)
    hold = RepaintHold(window)
    hold.find_scenes()
    window.resize(600, 600)
    window.show()
    qtbot.waitExposed(window)
    _settle(hold, qtbot)
    x = np.arange(100, dtype=np.float64)
    for frame in range(1, 6):
        before, held = hold.repaints, hold.held
        with hold.one_repaint():
            for index, curve in enumerate(curves):
                curve.setData(x, np.sin(x / 10 + frame + index))
            label.setText(str(frame))
        assert hold.held > held  # the scenes asked for repaints of their own, and were held
        _settle(hold, qtbot)
        assert hold.repaints == before + 1, f"frame {frame}: {hold.repaints - before} repaints"
        assert curves[0].getData()[1][0] == np.sin(frame)


def test_the_window_repaints_about_once_a_view(qtbot: QtBot, demo_runner: StageRunner) -> None:
    ensure_app()
    window = MainWindow(demo_runner.views, demo_runner.commands, open_settings())
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    qtbot.waitExposed(window)
    panel = window.tracking_panel
    qtbot.waitUntil(lambda: all(plot.updates > 3 for plot in panel.plots), timeout=TIMEOUT_MS)
    views, repaints = window.bridge.emitted, window.frame.repaints
    qtbot.waitUntil(lambda: window.bridge.emitted >= views + 30, timeout=TIMEOUT_MS)
    views, repaints = window.bridge.emitted - views, window.frame.repaints - repaints
    # The plots, the map, the tables and the labels of a view: one repaint (three, one a plot, without the
    # hold). A few more come from what changes between views (the status bar's totals, a tooltip).
    assert repaints <= 1.3 * views, (repaints, views)
    assert window.frame.held > 0
    QApplication.processEvents()
