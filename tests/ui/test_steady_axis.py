"""SteadyAxis keeps its bounds between changes: they must always be the ones pyqtgraph's own axis measures."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from pytestqt.qtbot import QtBot

from ui.app import ensure_app
from ui.plots import SteadyAxis, steady, steady_axes


def _measured(axis: SteadyAxis) -> QRectF:
    """What pyqtgraph's AxisItem works out now, without the kept bounds."""
    return pg.AxisItem.boundingRect(axis)


def _check(widget: pg.PlotWidget, qtbot: QtBot) -> int:
    """Every axis's kept bounds equal the measured ones once Qt has handled the change; returns how many
    axes were checked."""
    qtbot.wait(20)
    checked = 0
    for name in ("left", "bottom"):
        axis = widget.getPlotItem().getAxis(name)
        assert isinstance(axis, SteadyAxis)
        assert axis.boundingRect() == _measured(axis), name
        checked += 1
    return checked


def test_steady_axis_bounds_follow_every_change(qtbot: QtBot) -> None:
    ensure_app()
    widget = pg.PlotWidget(axisItems=steady_axes())
    qtbot.addWidget(widget)
    plot = widget.getPlotItem()
    plot.showGrid(x=True, y=True, alpha=0.15)
    steady(plot, left_width=52)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    # A plot as pyqtgraph makes it: no top or right axis, the view taking most of the height.
    assert plot.getAxis("left").isVisible() and plot.getAxis("bottom").isVisible()
    assert not plot.getAxis("top").isVisible() and not plot.getAxis("right").isVisible()
    assert plot.getViewBox().height() > 0.7 * widget.height()
    left = plot.getAxis("left")
    before = left.boundingRect()
    assert _check(widget, qtbot) == 2

    widget.resize(900, 500)  # the view grows: the grid's reach with it
    assert _check(widget, qtbot) == 2
    assert left.boundingRect() != before

    plot.setTitle("a title")  # the view moves down and shrinks
    assert _check(widget, qtbot) == 2
    plot.showGrid(x=False, y=False)  # without the grid an axis is its own size
    assert _check(widget, qtbot) == 2
    assert left.boundingRect().width() < before.width()
    left.setWidth(80)
    left.setStyle(tickLength=-8, hideOverlappingLabels=False)
    assert _check(widget, qtbot) == 2
    plot.showGrid(x=True, y=True, alpha=0.3)
    plot.setXRange(-3, 7)  # a new range changes ticks, not bounds
    assert _check(widget, qtbot) == 2
