"""Rolling time plots for camera channels, fed from a camera's recent samples in each view, and what
makes a plot cheap to redraw thirty or sixty times a second."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from stagectl.stage.view import HISTORY_S
from ui import theme

#: Height (px) kept for a bottom axis's tick labels: fixed, so new labels never re-layout the plot.
TICK_TEXT_HEIGHT = 18
#: A live curve draws about this many of its samples per pixel of the plot's width (peak
#: downsampling keeps each pixel's lowest and highest: spikes stay in sight).
SAMPLES_PER_PIXEL = 1.0


def live_curve_options() -> dict[str, object]:
    """``PlotItem.plot`` options for a curve over a fixed, increasing x range that changes every frame:
    only what is in view, about one sample per pixel (peak kept), no check for NaN."""
    return {"skipFiniteCheck": True, "clipToView": True, "autoDownsample": True, "downsampleMethod": "peak",
            "autoDownsampleFactor": SAMPLES_PER_PIXEL}


def steady(plot: pg.PlotItem, left_width: int | None = None) -> None:
    """Make ``plot`` cheap to repaint: axes of fixed size (new tick labels never re-layout the plot) drawn
    once per change into a pixmap (not replayed at every repaint), and the title likewise."""
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        if name in ("left", "right"):
            if left_width is not None and name == "left":
                axis.setWidth(left_width)
        else:
            axis.setStyle(autoExpandTextSpace=False, tickTextHeight=TICK_TEXT_HEIGHT)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


#: When the y range follows the data, a new range leaves this share of it free (half above, half below) ...
Y_HEADROOM = 0.35
#: ... and is kept while all the data is inside it and fills at least this share of it: the axis (its
#: ticks, labels and grid) is redrawn when the data has moved, not at every frame.
Y_MIN_FILL = 0.35
#: The least y span drawn (in the plot's units, and as a share of the values' size): a still camera
#: shows a flat line, not its noise blown up.
Y_MIN_SPAN = 1e-3


def follow_range(current: tuple[float, float], low: float, high: float) -> tuple[float, float] | None:
    """A new y range for data spanning ``low``..``high`` when ``current`` no longer suits it, else None."""
    span = max(high - low, Y_MIN_SPAN * max(1.0, abs(low), abs(high)))
    y0, y1 = current
    if y0 <= low and high <= y1 and span >= Y_MIN_FILL * (y1 - y0):
        return None
    middle, half = (low + high) / 2.0, span / (1.0 - Y_HEADROOM) / 2.0
    return middle - half, middle + half


class TimePlot:
    """A pyqtgraph plot of several history columns against time (seconds before now).

    ``channels`` is a list of (label, column index in :data:`stagectl.stage.view.HISTORY_COLUMNS`, colour,
    scale).

    Attributes:
        updates: how many times data was drawn.
        following: the y range follows the data (False once the operator zoomed it).
    """

    def __init__(self, plot: pg.PlotItem, title: str, unit: str,
                 channels: list[tuple[str, int, str, float]]) -> None:
        self.plot = plot
        self.channels = channels
        # The legend is the title row: channel names in their curves' colours, never over the data.
        entries = [(label, colour) for label, _col, colour, _scale in channels]
        plot.setTitle(theme.legend_title(title, entries), size="9pt")
        plot.setLabel("left", units=unit)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setXRange(-HISTORY_S, 0.0, padding=0.0)
        plot.setMouseEnabled(x=False, y=True)
        # The y range follows the data here (see follow_range), not in pyqtgraph's auto range, which fits
        # every frame; zooming with the mouse stops following, the plot's "A" button follows again.
        plot.enableAutoRange(axis="y")
        steady(plot, left_width=52)
        self.following = True
        self.curves = [plot.plot([], [], pen=theme.curve_pen(colour), **live_curve_options())
                       for _label, _col, colour, _scale in channels]
        plot.getViewBox().sigRangeChangedManually.connect(self._zoomed)
        self.updates = 0

    def update(self, rows: npt.NDArray[np.float64], now_s: float) -> None:
        """Redraw from history rows (see :data:`stagectl.stage.view.HISTORY_COLUMNS`)."""
        if rows.size == 0:
            for curve in self.curves:
                curve.setData([], [])
            return
        t = rows[:, 0] - now_s
        for curve, (_label, col, _colour, scale) in zip(self.curves, self.channels, strict=True):
            curve.setData(t, rows[:, col] if scale == 1.0 else rows[:, col] * scale)
        self._follow(rows)
        self.updates += 1

    def _zoomed(self) -> None:
        self.following = False

    def _follow(self, rows: npt.NDArray[np.float64]) -> None:
        view = self.plot.getViewBox()
        if view.autoRangeEnabled()[1] is not False:  # the first frame, or the operator clicked "A"
            view.enableAutoRange(axis="y", enable=False)
            self.following = True
        if not self.following:
            return
        columns = [col for _label, col, _colour, _scale in self.channels]
        scales = np.array([scale for _label, _col, _colour, scale in self.channels])
        values = rows[:, columns] * scales
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return
        wanted = follow_range(tuple(view.viewRange()[1]), float(finite.min()), float(finite.max()))
        if wanted is not None:
            view.setYRange(*wanted, padding=0.0)
