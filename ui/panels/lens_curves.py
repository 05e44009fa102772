"""Focal length over zoom and focus distance over focus, from a lens file's solver, with the live point.

The curves are sampled from the solver once per lens file, on a worker thread
(:func:`sample_curves` touches no Qt); each frame only moves one point per plot. Each curve is a
band: the other axis changes the value a little (focal length breathes with focus), so the band
spans every position of the other axis and the live point always lies inside it.

Focus distance is drawn on a 1 / distance scale (dioptres), so infinity sits at 0 and the near end
gets the room it needs; the axis is labelled in metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from stagectl.core.samples import LensValues
from ui import theme
from ui.plots import GridLayoutWidget, set_title, show_grid, steady

FloatArray = npt.NDArray[np.float64]
#: Points along each curve.
CURVE_SAMPLES = 121
#: Focus distances (m) the dioptre axis may label, far to near.
DISTANCE_TICKS_M = (20.0, 10.0, 5.0, 3.0, 2.0, 1.5, 1.0, 0.75, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05,
                    0.02)
#: Least room between two labels on the dioptre axis (px).
TICK_SPACING_PX = 22


@dataclass(frozen=True)
class Band:
    """A curve over a normalised axis: the middle line and the band around it (min / max)."""

    x: FloatArray
    low: FloatArray
    high: FloatArray

    @property
    def middle(self) -> FloatArray:
        """Halfway between low and high."""
        mid: FloatArray = (self.low + self.high) / 2.0
        return mid


@dataclass(frozen=True)
class LensCurves:
    """What the plots draw for one lens file: focal length (mm) over normalised zoom and dioptres
    (1 / focus distance in m, 0 at infinity) over normalised focus; None where the file has no such
    table or axis."""

    focal_over_zoom: Band | None
    dioptres_over_focus: Band | None


def _positions(lens: Any, axis: str, count: int) -> list[tuple[float, float | None]]:
    """(normalised, raw count) positions along ``axis``: ``count`` of them over the encoder's range,
    or the single grid value of an axis the file does not vary (raw None: not sent)."""
    encoder = lens.encoders.get(axis)
    grid = lens.grid_zoom if axis == "zoom" else lens.grid_focus
    if encoder is None:
        return [(grid[0], None)]
    lo, hi = min(encoder.normalised), max(encoder.normalised)
    return [(n, encoder.to_raw(n)[0]) for n in np.linspace(lo, hi, count)]


def _grid_raw(lens: Any, axis: str) -> list[float | None]:
    """Raw counts at each grid line of ``axis`` (the other axis's band runs over these)."""
    encoder = lens.encoders.get(axis)
    grid = lens.grid_zoom if axis == "zoom" else lens.grid_focus
    if encoder is None:
        return [None]
    return [encoder.to_raw(n)[0] for n in grid]


def _band(xs: Sequence[float], columns: list[list[float]]) -> Band | None:
    values = np.array(columns, dtype=np.float64)  # (other positions, samples)
    if values.size == 0 or not np.all(np.isfinite(values)):
        return None
    return Band(np.array(xs, dtype=np.float64), values.min(axis=0), values.max(axis=0))


def sample_curves(solver: Any) -> LensCurves:
    """Sample ``solver`` (a ``lens.solve.LensSolver``) over its encoder range (any thread; no Qt)."""
    lens = solver.lens
    zooms = _positions(lens, "zoom", CURVE_SAMPLES)
    focuses = _positions(lens, "focus", CURVE_SAMPLES)
    focal_rows: list[list[float]] = []
    for focus_raw in _grid_raw(lens, "focus"):
        row = [solver.solve(raw, focus_raw).focal_length_mm for _n, raw in zooms]
        focal_rows.append([math.nan if v is None else float(v) for v in row])
    focal = _band([n for n, _raw in zooms], focal_rows) if len(zooms) > 1 else None
    dioptre_rows: list[list[float]] = []
    if "focus_distance_m" in lens.tables:
        for zoom_raw in _grid_raw(lens, "zoom"):
            row = [solver.solve(zoom_raw, raw).focus_distance_m for _n, raw in focuses]
            dioptre_rows.append([math.nan if v is None else 0.0 if math.isinf(v) else 1.0 / v for v in row])
    dioptres = _band([n for n, _raw in focuses], dioptre_rows) if dioptre_rows and len(focuses) > 1 else None
    return LensCurves(focal, dioptres)


def distance_text(metres: float) -> str:
    """An axis label for a focus distance: ``∞``, ``2 m``, ``0.75 m``."""
    if math.isinf(metres):
        return "∞"
    return f"{metres:.3g} m" if metres < 1 else f"{metres:.3g} m".replace(".0 ", " ")


class DioptreAxis(pg.AxisItem):  # type: ignore[misc]
    """A vertical axis over dioptres (1 / m) labelled in metres at round distances, ∞ at 0."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        span = max(maxVal - minVal, 1e-9)
        least = span * TICK_SPACING_PX / max(size, 1.0)
        ticks: list[float] = []
        for dioptres in [0.0, *(1.0 / m for m in DISTANCE_TICKS_M)]:
            if minVal <= dioptres <= maxVal and (not ticks or dioptres - ticks[-1] >= least):
                ticks.append(dioptres)
        return [(1.0, ticks)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [distance_text(math.inf if v <= 1e-9 else 1.0 / v) for v in values]


def _plot(graphs: pg.GraphicsLayoutWidget, row: int, title: str, axis: pg.AxisItem | None) -> pg.PlotItem:
    plot = graphs.addPlot(row=row, col=0, axisItems={"left": axis} if axis is not None else None)
    set_title(plot, f"<span style='color:{theme.DIM_TEXT}'>{title}</span>")
    show_grid(plot, alpha=0.15)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    plot.setXRange(0.0, 1.0, padding=0.02)
    steady(plot, left_width=58)
    return plot


class _BandItems:
    """The band (filled), its middle line and the live point on one plot."""

    def __init__(self, plot: pg.PlotItem, colour: str) -> None:
        self.plot = plot
        pen = theme.curve_pen(colour + "60")
        self.low = plot.plot([], [], pen=pen)
        self.high = plot.plot([], [], pen=pen)
        self.fill = pg.FillBetweenItem(self.low, self.high, brush=pg.mkBrush(colour + "30"))
        plot.addItem(self.fill)
        # Drawn once per lens file, so worth smoothing: a 2 px antialiased line reads well on the band.
        self.middle = plot.plot([], [], pen=theme.curve_pen(colour, width=2), antialias=True)
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(theme.ACCENT),
                                        pen=pg.mkPen(theme.BACKGROUND, width=1.5))
        self.point.setZValue(10)
        plot.addItem(self.point)
        self.note = pg.TextItem("", color=theme.DIM_TEXT, anchor=(0.5, 0.5))
        plot.addItem(self.note, ignoreBounds=True)
        self.note.setPos(0.5, 0.5)
        self._shown: tuple[float, float] | None = None

    def show_band(self, band: Band | None, empty_note: str) -> None:
        axis = self.plot.getAxis("left")
        if band is None:
            for item in (self.low, self.high, self.middle):
                item.setData([], [])
            self.plot.setYRange(0.0, 1.0, padding=0.0)
            axis.setStyle(showValues=False)  # figures on an empty plot would mean nothing
            self.note.setText(empty_note)
            return
        axis.setStyle(showValues=True)
        self.note.setText("")
        self.low.setData(band.x, band.low)
        self.high.setData(band.x, band.high)
        self.middle.setData(band.x, band.middle)
        lo, hi = float(band.low.min()), float(band.high.max())
        pad = max((hi - lo) * 0.06, 1e-3)
        self.plot.setYRange(lo - pad, hi + pad, padding=0.0)

    def show_point(self, x: float | None, y: float | None) -> tuple[float, float] | None:
        """Move the live point to (x, y), or hide it; returns what is shown."""
        if x is None or y is None or not math.isfinite(x) or not math.isfinite(y):
            if self._shown is not None:
                self._shown = None
                self.point.setData([], [])
            return None
        if self._shown != (x, y):
            self._shown = (x, y)
            self.point.setData([x], [y])
        return self._shown


class LensCurvesView(QWidget):
    """Two plots: focal length over normalised zoom, focus distance (1 / m scale) over normalised focus.

    Attributes:
        curves: what is drawn (None: no lens file).
        live: the live point on each plot, (x, y) or None: ``{"focal": ..., "focus": ...}``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphs = GridLayoutWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphs)
        self.focal_plot = _plot(self.graphs, 0, "Focal length over zoom", None)
        self.focal_plot.setLabel("left", "focal length", units="mm")
        self.focal_plot.getAxis("left").enableAutoSIPrefix(False)
        self.focal_plot.setLabel("bottom", "zoom, normalised (0 wide, 1 tele)")
        self.focus_plot = _plot(self.graphs, 1, "Focus distance over focus (1 / distance scale)",
                                DioptreAxis("left"))
        self.focus_plot.setLabel("left", "focus distance")
        self.focus_plot.setLabel("bottom", "focus, normalised (0 infinity, 1 closest)")
        self._focal = _BandItems(self.focal_plot, theme.LENS_COLOURS[0])
        self._focus = _BandItems(self.focus_plot, theme.LENS_COLOURS[1])
        self.curves: LensCurves | None = None
        self.live: dict[str, tuple[float, float] | None] = {"focal": None, "focus": None}
        self.show_curves(None)

    def show_curves(self, curves: LensCurves | None, note: str = "no lens file") -> None:
        """Draw a lens file's curves (None: clear them and say ``note``)."""
        self.curves = curves
        self._focal.show_band(curves.focal_over_zoom if curves else None,
                              note if curves is None else "the lens file has one zoom position")
        self._focus.show_band(curves.dioptres_over_focus if curves else None,
                              note if curves is None else "no focus distance table")

    def show_live(self, lens: LensValues | None) -> None:
        """Move the live points to the camera's current lens values (every frame; cheap)."""
        zoom = focus = focal = dioptres = None
        if lens is not None and self.curves is not None:
            if lens.encoders is not None:
                focus, _iris, zoom = lens.encoders
            focal = lens.focal_length_mm
            distance = lens.focus_distance_m
            if distance is not None:
                dioptres = 0.0 if math.isinf(distance) else 1.0 / distance
        self.live["focal"] = self._focal.show_point(zoom, focal)
        self.live["focus"] = self._focus.show_point(focus, dioptres)
