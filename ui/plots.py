"""Rolling time plots for camera channels, fed from a camera's sample ring at the frame rate."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg

from ui import theme

#: Seconds of history the plots show.
HISTORY_S = 10.0


class TimePlot:
    """A pyqtgraph plot of several ring columns against time (seconds before now).

    ``channels`` is a list of (label, ring column index, colour, scale).
    """

    def __init__(self, plot: pg.PlotItem, title: str, unit: str,
                 channels: list[tuple[str, int, str, float]]) -> None:
        self.plot = plot
        self.channels = channels
        plot.setTitle(f"<span style='color:{theme.DIM_TEXT}'>{title}</span>", size="9pt")
        plot.setLabel("left", units=unit)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setXRange(-HISTORY_S, 0.0, padding=0.0)
        plot.setMouseEnabled(x=False, y=True)
        plot.enableAutoRange(axis="y")
        plot.getAxis("left").setWidth(52)
        legend = plot.addLegend(offset=(6, 4), labelTextSize="8pt", colCount=len(channels))
        legend.setBrush(pg.mkBrush(theme.BACKGROUND + "c0"))
        self.curves = [
            plot.plot([], [], pen=pg.mkPen(colour, width=1.6), name=label, skipFiniteCheck=True)
            for label, _col, colour, _scale in channels
        ]
        self.updates = 0

    def update(self, rows: npt.NDArray[np.float64], now_s: float) -> None:
        """Redraw from ring rows (see stagectl.core.ringbuffer.COLUMNS)."""
        if rows.size == 0:
            for curve in self.curves:
                curve.setData([], [])
            return
        t = rows[:, 0] - now_s
        for curve, (_label, col, _colour, scale) in zip(self.curves, self.channels, strict=True):
            curve.setData(t, rows[:, col] * scale)
        self.updates += 1
