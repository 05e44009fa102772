"""PlotGrid draws the grid pyqtgraph would draw (same lines, same colour on the background), from a pixmap
made again only when the view's range or size changes."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from ui.app import ensure_app
from ui.plots import GridPlotWidget, PlotGrid, show_grid, steady, steady_axes

SIZE = (640, 360)


def _plot(qtbot: QtBot, ours: bool) -> tuple[pg.PlotWidget, PlotGrid | None]:
    widget = GridPlotWidget(axisItems=steady_axes()) if ours else pg.PlotWidget(axisItems=steady_axes())
    qtbot.addWidget(widget)
    plot = widget.getPlotItem()
    plot.setXRange(-10.0, 0.0, padding=0.0)
    plot.setYRange(-0.4, 1.3, padding=0.0)
    steady(plot, left_width=52)
    grid = show_grid(plot, alpha=0.15) if ours else None
    if not ours:
        plot.showGrid(x=True, y=True, alpha=0.15)
    widget.resize(*SIZE)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(30)
    return widget, grid


def _pixels(widget: pg.PlotWidget) -> npt.NDArray[np.int16]:
    """The view box's pixels (RGB), as the window would show them."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = rgb[:, :image.width() * 3].reshape(image.height(), image.width(), 3)
    box = widget.getPlotItem().getViewBox().sceneBoundingRect().toRect()
    # The view box without its edge pixels (where the axes' own lines are).
    return rgb[box.top() + 2:box.bottom() - 1, box.left() + 2:box.right() - 1].astype(np.int16)


def _assert_same_grid(theirs: pg.PlotWidget, ours: pg.PlotWidget) -> None:
    """Both views show the same grid lines in the same colours."""
    want, got = _pixels(theirs), _pixels(ours)
    assert want.shape == got.shape
    colours, counts = np.unique(want.reshape(-1, 3), axis=0, return_counts=True)
    background = colours[np.argmax(counts)]  # what most of the view is
    lines = np.any(np.abs(want - background) > 2, axis=2)
    # Where two of pyqtgraph's translucent lines cross they add up; opaque lines do not: crossings aside, the
    # same lines in the same colours, to rounding (a line may land one pixel over: its place is rounded from
    # the plot's coordinates here, from the axis's there).
    rows, columns = lines.mean(axis=1) > 0.5, lines.mean(axis=0) > 0.5
    assert 10 < rows.sum() < len(rows) / 2 and 10 < columns.sum() < len(columns) / 2
    crossings = rows[:, None] & columns[None, :]
    near = np.full(want.shape[:2], 255, dtype=np.int16)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(want, (dy, dx), axis=(0, 1))
            near = np.minimum(near, np.abs(got - shifted).max(axis=2))
    assert near[1:-1, 1:-1][~crossings[1:-1, 1:-1]].max() <= 3


def test_the_grid_looks_as_pyqtgraphs_own(qtbot: QtBot) -> None:
    ensure_app()
    theirs, _ = _plot(qtbot, ours=False)
    ours, grid = _plot(qtbot, ours=True)
    assert grid is not None and grid.levels
    assert ours.getPlotItem().getAxis("left").grid is False  # the axes draw their labels only: their own size
    _assert_same_grid(theirs, ours)


def test_the_kept_background_follows_the_range_the_size_and_the_place(qtbot: QtBot) -> None:
    ensure_app()
    theirs, _ = _plot(qtbot, ours=False)
    ours, grid = _plot(qtbot, ours=True)
    assert grid is not None
    first = [path.elementCount() for path, _colour in grid.levels]
    changes = [
        lambda w: w.getPlotItem().setYRange(100.0, 250.0, padding=0.0),  # new lines
        lambda w: w.getPlotItem().setXRange(-3.0, 7.0, padding=0.0),
        lambda w: w.resize(SIZE[0] + 200, SIZE[1] + 150),  # more lines fit
        lambda w: w.getPlotItem().setTitle("a title moves the view down"),
    ]
    for change in changes:
        for widget in (theirs, ours):
            change(widget)
        qtbot.wait(30)
        _assert_same_grid(theirs, ours)
    assert [path.elementCount() for path, _colour in grid.levels] != first


def test_a_grid_needs_a_view_that_draws_it(qtbot: QtBot) -> None:
    ensure_app()
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    with pytest.raises(TypeError, match="GridPlotWidget"):
        show_grid(widget.getPlotItem())


def test_a_view_with_a_grid_goes_away_when_dropped_not_at_the_next_garbage_collection(qtbot: QtBot) -> None:
    # A cycle between a view and its grids left the view's deletion to the collector, at any later moment:
    # Qt then fired a timer at the deleted view (a segmentation fault between two tests).
    ensure_app()
    gc.disable()
    try:
        widget = GridPlotWidget(axisItems=steady_axes())
        grid = show_grid(widget.getPlotItem())
        widget.resize(*SIZE)
        widget.show()
        qtbot.waitExposed(widget)
        gone = weakref.ref(widget)
        widget.close()
        del widget, grid
        assert gone() is None
    finally:
        gc.enable()
