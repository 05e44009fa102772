"""Rolling time plots for camera channels, fed from a camera's recent samples in each view."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg

from stagectl.stage.view import HISTORY_S
from ui import theme


class TimePlot:
    """A pyqtgraph plot of several history columns against time (seconds before now).

    ``channels`` is a list of (label, column index in :data:`stagectl.stage.view.HISTORY_COLUMNS`, colour,
    scale).
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
        plot.enableAutoRange(axis="y")
        plot.getAxis("left").setWidth(52)
        self.curves = [
            plot.plot([], [], pen=pg.mkPen(colour, width=1.6), skipFiniteCheck=True)
            for label, _col, colour, _scale in channels
        ]
        self.updates = 0

    def update(self, rows: npt.NDArray[np.float64], now_s: float) -> None:
        """Redraw from history rows (see :data:`stagectl.stage.view.HISTORY_COLUMNS`)."""
        if rows.size == 0:
            for curve in self.curves:
                curve.setData([], [])
            return
        t = rows[:, 0] - now_s
        for curve, (_label, col, _colour, scale) in zip(self.curves, self.channels, strict=True):
            curve.setData(t, rows[:, col] * scale)
        self.updates += 1
