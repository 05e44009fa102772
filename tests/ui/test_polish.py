"""What an operator squints at: legends clear of the curves, camera names clear of their markers on
the stage map at any zoom, the slate's labels spaced from their fields and a take number that can be
stepped with buttons big enough to hit."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.support.windows import shown_window
from tests.ui.feed import MakeFeed
from ui import theme
from ui.app import ensure_app
from ui.panels.interarrival_plot import InterArrivalPlot
from ui.panels.stage_map import StageMap, _CameraGlyph
from ui.panels.take_bar import TakeBar
from ui.plots import GridLayoutWidget, TimePlot

#: The selection ring round a camera's marker is 26 px across: a label must start beyond it.
RING_RADIUS_PX = 13.0


def _legend_clear_of_data(plot: pg.PlotItem) -> None:
    """No legend drawn over the plot's view box (a legend in the title row is not an item of the plot)."""
    legend = plot.legend
    if legend is not None and legend.isVisible() and legend.items:
        assert not legend.sceneBoundingRect().intersects(plot.vb.sceneBoundingRect())


def test_time_plot_legend_is_in_the_title_row(qtbot: QtBot) -> None:
    ensure_app()
    graphs = GridLayoutWidget()  # a time plot's grid is drawn by the view it is in
    qtbot.addWidget(graphs)
    channels = [("X", 1, theme.AXIS_COLOURS[0], 1.0), ("Y", 2, theme.AXIS_COLOURS[1], 1.0)]
    plot = TimePlot(graphs.addPlot(), "Position", "m", channels)
    graphs.resize(600, 200)
    graphs.show()
    qtbot.waitExposed(graphs)
    _legend_clear_of_data(plot.plot)
    title = plot.plot.titleLabel.text
    for label, _col, colour, _scale in channels:
        assert f"color:{colour}'>&#9644;&nbsp;{label}<" in title


def test_interarrival_legend_is_in_the_title_row(qtbot: QtBot) -> None:
    ensure_app()
    plot = InterArrivalPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    plot.show()
    qtbot.waitExposed(plot)
    plot.show_intervals([("A/simulator#1", [20.0, 21.0, 19.0, 20.0]), ("A/backup", [20.0, 20.5])])
    _legend_clear_of_data(plot.plot)
    title = plot.plot.titleLabel.text
    assert "A/simulator#1" in title and "A/backup" in title and "p50" in title
    plot.show_intervals([("A/backup", [20.0, 20.5])])  # a source gone leaves the legend too
    assert "A/simulator#1" not in plot.plot.titleLabel.text


def test_window_plots_keep_their_legends_off_the_data(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = shown_window(qtbot, demo_runner)
    panel = window.tracking_panel
    qtbot.waitUntil(lambda: panel.intervals.updates > 2 and all(p.updates > 2 for p in panel.plots),
                    timeout=TIMEOUT_MS)
    for plot in [p.plot for p in panel.plots] + [panel.intervals.plot]:
        _legend_clear_of_data(plot)
    browser = window.takes_browser.plots
    for plot in (browser.path_plot, browser.focal_plot, browser.focus_plot):
        _legend_clear_of_data(plot)


def test_stage_map_labels_sit_off_their_markers_at_any_zoom(qtbot: QtBot) -> None:
    ensure_app()
    stage_map = StageMap()
    qtbot.addWidget(stage_map)
    stage_map.resize(500, 400)
    stage_map.show()
    qtbot.waitExposed(stage_map)
    glyph = _CameraGlyph(stage_map.plot, "A", theme.camera_colour(0))
    glyph.place(1.0, 1.0, 0.0, 0.0)
    for half_span in (0.5, 5.0, 40.0):
        stage_map.plot.setRange(xRange=(1 - half_span, 1 + half_span), yRange=(1 - half_span, 1 + half_span),
                                padding=0.0)
        qtbot.wait(20)
        # On screen (the name keeps its size on screen at any zoom, so its scene rectangle says nothing).
        view = stage_map.widget
        marker = view.mapFromScene(stage_map.plot.vb.mapViewToScene(QPointF(1.0, 1.0)))
        text = glyph.label.deviceTransform(view.viewportTransform()).mapRect(glyph.label.boundingRect())
        # Up and to the right of the marker, clear of the selection ring, the same gap at every zoom.
        assert text.left() - marker.x() > RING_RADIUS_PX
        assert marker.y() - text.bottom() > RING_RADIUS_PX


def test_slate_labels_are_spaced_and_take_steps_with_buttons(qtbot: QtBot, demo_runner: StageRunner,
                                                              feed: MakeFeed) -> None:
    fed = feed(demo_runner)
    bar = TakeBar(fed.view, fed.commands)
    fed.to(bar.update_view)
    qtbot.addWidget(bar)
    bar.resize(1280, 90)
    bar.show()
    qtbot.waitExposed(bar)
    labels = {label.text(): label for label in bar.findChildren(QLabel)}
    for text, field in (("Prod", bar.production), ("Scene", bar.scene), ("Shot", bar.shot)):
        gap = field.geometry().left() - labels[text].geometry().right()
        assert gap >= 6, (text, gap)
    # Each field stands apart from the next slate label.
    for field, text in ((bar.production, "Scene"), (bar.scene, "Shot"), (bar.shot, "Take")):
        assert labels[text].geometry().left() - field.geometry().right() >= 12, text
    assert bar.take_down.geometry().left() - labels["Take"].geometry().right() >= 6
    assert labels["Cams"].geometry().left() - bar.take_up.geometry().right() >= 12
    # Plain − / + buttons beside the take number, big enough to hit; the number itself has room.
    for button in (bar.take_down, bar.take_up):
        assert button.isVisible() and button.width() >= 24 and button.height() >= 24
    assert bar.take_down.geometry().right() < bar.take.geometry().left()
    assert bar.take.geometry().right() < bar.take_up.geometry().left()
    assert bar.take.lineEdit().width() >= 30
    qtbot.waitUntil(lambda: bar.take_up.isEnabled(), timeout=TIMEOUT_MS)
    start = bar.take.value()
    bar.take_up.click()
    assert bar.take.value() == start + 1
    bar.take_down.click()
    assert bar.take.value() == start
