"""Inter-arrival plot: the time between a camera's last samples, so a jittery tracker shows at a glance.

A steady 50 Hz tracker draws a flat line at 20 ms; jitter draws spikes. The y range never
zooms in closer than a few milliseconds around the median, so sub-millisecond noise on a good
tracker stays flat instead of filling the plot.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QVBoxLayout, QWidget

from stagectl.core.health import JITTER_INTERVALS, percentile
from ui import theme
from ui.plots import GridPlotWidget, LiveCurve, follow_range, set_title, show_grid, steady, steady_axes

#: The y range spans at least this much either side of the median (ms), or this share of it.
MIN_HALF_SPAN_MS = 3.0
MIN_HALF_SPAN_SHARE = 0.15


class ReferenceLine(QGraphicsPathItem):
    """A horizontal line across the plot's samples at a value, drawn and measured by Qt alone
    (pyqtgraph's InfiniteLine runs Python for its bounds and its paint at every repaint)."""

    def __init__(self, colour: str, style: Qt.PenStyle) -> None:
        line = QPainterPath(QPointF(-float(JITTER_INTERVALS), 0.0))
        line.lineTo(0.0, 0.0)
        super().__init__(line)
        self.setPen(theme.curve_pen(colour, style=style))

    def setValue(self, value: float) -> None:
        """Move the line to ``value`` (ms)."""
        self.setPos(0.0, value)

    def value(self) -> float:
        """The value the line is at (ms)."""
        return float(self.pos().y())


class InterArrivalPlot(QWidget):
    """Intervals (ms) of each source against samples before the latest, with p50 and p99 lines.

    The lines are those of the first source with data (the one feeding the camera when there
    is one source). Call :meth:`show_intervals` at ~10 Hz.

    Attributes:
        p50_ms / p99_ms: the figures the lines show (NaN before there are two intervals); the title shows
            them :data:`ui.theme.FIGURES_PERIOD_S` apart (a new source's at once).
        updates: how many times data was drawn (tests watch it advance).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = GridPlotWidget(self, axisItems=steady_axes())
        self.plot = self.widget.getPlotItem()
        self._title = ""
        self._figures_at = -theme.FIGURES_PERIOD_S
        #: (source name, colour) of each curve, shown beside the title as the legend.
        self._sources: list[tuple[str, str]] = []
        self._set_title("")
        self.plot.setLabel("left", units="ms")
        self.plot.setLabel("bottom", "samples before the latest")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setXRange(-JITTER_INTERVALS, 0.0, padding=0.0)
        steady(self.plot, left_width=52)
        self.grid = show_grid(self.plot, alpha=0.15)
        # The source names and the figures go in the title, in the curves' and lines' colours: a
        # legend or labels in the view would cover the newest samples, which an operator looks at.
        p50_colour, p99_colour = theme.REFERENCE_COLOURS
        self.p50_line = self._reference_line(p50_colour, Qt.PenStyle.DashLine)
        self.p99_line = self._reference_line(p99_colour, Qt.PenStyle.DotLine)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.curves: dict[str, LiveCurve] = {}
        self.p50_ms = math.nan
        self.p99_ms = math.nan
        self.updates = 0

    def _reference_line(self, colour: str, style: Qt.PenStyle) -> ReferenceLine:
        line = ReferenceLine(colour, style)
        line.setVisible(False)
        self.plot.addItem(line, ignoreBounds=True)
        return line

    def _set_title(self, figures: str) -> None:
        title = f"<span style='color:{theme.DIM_TEXT}'>Inter-arrival time</span>"
        if figures:
            title += f"&nbsp;&nbsp;{figures}"
        # The legend is a second title line (always there, so the plot does not jump when it fills).
        title += "<br>" + (theme.legend_title("", self._sources) if self._sources else "&nbsp;")
        if title != self._title:
            self._title = title
            set_title(self.plot, title)

    def show_intervals(self, series: Sequence[tuple[str, Sequence[float] | npt.NDArray[np.float64]]]) -> None:
        """Draw each (source name, intervals in ms, oldest first); drops curves no longer listed."""
        names = {name for name, _ in series}
        for name in [n for n in self.curves if n not in names]:
            curve = self.curves.pop(name)
            self.plot.removeItem(curve)
        reference: Sequence[float] | npt.NDArray[np.float64] = ()
        for index, (name, intervals) in enumerate(series):
            if name not in self.curves:
                colour = theme.camera_colour(index + 1)  # index 0 is the camera's own map colour
                self.curves[name] = LiveCurve(colour)  # a thousand points or so, drawn as they are
                self.plot.addItem(self.curves[name])
            curve = self.curves[name]
            y = np.asarray(intervals, dtype=np.float64)
            curve.setData(np.arange(-len(y) + 1, 1, dtype=np.float64), y)
            if len(reference) == 0 and len(intervals) >= 2:
                reference = intervals
        sources = [(name, self.curves[name].pen().color().name()) for name, _ in series]
        if sources != self._sources:
            self._sources = sources
            self._figures_at = -theme.FIGURES_PERIOD_S  # the legend changes: the figures with it, now
        self._show_reference(reference)
        self.updates += 1

    def _show_reference(self, intervals: Sequence[float] | npt.NDArray[np.float64]) -> None:
        if len(intervals) < 2:
            self.p50_ms = self.p99_ms = math.nan
            self.p50_line.setVisible(False)
            self.p99_line.setVisible(False)
            self._set_title("")
            return
        ordered: list[float] = np.sort(np.asarray(intervals, dtype=np.float64)).tolist()
        self.p50_ms = percentile(ordered, 0.5)
        self.p99_ms = percentile(ordered, 0.99)
        self.p50_line.setValue(self.p50_ms)
        self.p99_line.setValue(self.p99_ms)
        self.p50_line.setVisible(True)
        self.p99_line.setVisible(True)
        now = time.monotonic()
        if now - self._figures_at >= theme.FIGURES_PERIOD_S:  # rich text laid out 4, not 10, times a second
            self._figures_at = now
            p50_colour, p99_colour = theme.REFERENCE_COLOURS
            self._set_title(f"<span style='color:{p50_colour}'>p50 {self.p50_ms:.2f} ms</span> · "
                            f"<span style='color:{p99_colour}'>p99 {self.p99_ms:.2f} ms</span>")
        half = max(MIN_HALF_SPAN_MS, MIN_HALF_SPAN_SHARE * self.p50_ms)
        low = min(ordered[0], self.p50_ms - half)
        high = max(ordered[-1], self.p50_ms + half)
        # A new range (so new ticks and labels, a redrawn axis) only when the intervals have left this one.
        wanted = follow_range(tuple(self.plot.getViewBox().viewRange()[1]), max(0.0, low), high)
        if wanted is not None:
            self.plot.setYRange(max(0.0, wanted[0]), wanted[1], padding=0.0)
