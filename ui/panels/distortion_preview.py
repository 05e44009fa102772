"""A grid over the image, drawn as the lens distorts it (OpenCV's Brown-Conrady, undistorted -> distorted).

Each frame only stores the newest coefficients; a 10 Hz timer redraws when they differ from what is
drawn, so a zoom pull redraws ten times a second and a still lens never. Distortion of a good lens
moves a grid line a few pixels on a 4K frame, invisible at panel size: the displacement is drawn
multiplied by an exaggeration factor, which the preview shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from stagectl.core.samples import LensValues
from ui import theme
from ui.plots import set_title

FloatArray = npt.NDArray[np.float64]
#: Grid lines each way, and points along each line.
GRID_LINES = 9
POINTS_PER_LINE = 41
REDRAW_INTERVAL_MS = 100
#: Factors the operator can pick; "auto" picks from them so the largest shift is about
#: AUTO_TARGET of the image width (and keeps its factor while the shift stays within AUTO_BAND).
EXAGGERATIONS = (1, 2, 5, 10, 20, 50, 100, 200)
AUTO_TARGET = 0.04
AUTO_BAND = (0.015, 0.10)


@dataclass(frozen=True)
class LensFrame:
    """What the preview needs: image size and intrinsics in px, and OpenCV's k1, k2, k3, p1, p2."""

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    p1: float = 0.0
    p2: float = 0.0

    @property
    def coefficients(self) -> tuple[float, float, float, float, float]:
        """(k1, k2, k3, p1, p2)."""
        return self.k1, self.k2, self.k3, self.p1, self.p2


def frame_from_lens(values: LensValues | None, sensor: object | None) -> LensFrame | None:
    """The preview's frame from solved lens values and the lens file's sensor (None if they lack any)."""
    if values is None or sensor is None or values.focal_length_mm is None or values.brown_conrady is None:
        return None
    width_px, height_px = int(getattr(sensor, "width_px", 0)), int(getattr(sensor, "height_px", 0))
    width_mm, height_mm = float(getattr(sensor, "width_mm", 0.0)), float(getattr(sensor, "height_mm", 0.0))
    if min(width_px, height_px) <= 0 or min(width_mm, height_mm) <= 0:
        return None
    fx = values.focal_length_mm * width_px / width_mm
    fy = values.focal_length_mm * height_px / height_mm
    cx, cy = values.principal_point_px or ((width_px - 1) / 2.0, (height_px - 1) / 2.0)
    k1, k2, k3, p1, p2 = values.brown_conrady
    return LensFrame(width_px, height_px, fx, fy, cx, cy, k1, k2, k3, p1, p2)


def distort(frame: LensFrame, u: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Where undistorted pixels (u, v) land with the lens's distortion (OpenCV's model)."""
    x = (u - frame.cx_px) / frame.fx_px
    y = (v - frame.cy_px) / frame.fy_px
    r2 = x * x + y * y
    radial = 1.0 + r2 * (frame.k1 + r2 * (frame.k2 + r2 * frame.k3))
    xd = x * radial + 2.0 * frame.p1 * x * y + frame.p2 * (r2 + 2.0 * x * x)
    yd = y * radial + frame.p1 * (r2 + 2.0 * y * y) + 2.0 * frame.p2 * x * y
    return xd * frame.fx_px + frame.cx_px, yd * frame.fy_px + frame.cy_px


def grid_lines(width: float, height: float, lines: int = GRID_LINES,
               points: int = POINTS_PER_LINE) -> tuple[FloatArray, FloatArray]:
    """The undistorted grid as polylines separated by NaN: ``lines`` verticals then ``lines`` horizontals."""
    along = np.linspace(0.0, 1.0, points)
    across = np.linspace(0.0, 1.0, lines)
    gap = np.array([np.nan])
    us: list[FloatArray] = []
    vs: list[FloatArray] = []
    for a in across:
        us += [np.full(points, a * width), gap]
        vs += [along * height, gap]
    for a in across:
        us += [along * width, gap]
        vs += [np.full(points, a * height), gap]
    return np.concatenate(us), np.concatenate(vs)


def displaced_grid(frame: LensFrame, exaggeration: float) -> tuple[FloatArray, FloatArray, float]:
    """The grid drawn distorted, its displacement multiplied by ``exaggeration``; and the largest
    true displacement in px."""
    u, v = grid_lines(frame.width_px, frame.height_px)
    ud, vd = distort(frame, u, v)
    du, dv = ud - u, vd - v
    shift = float(np.nanmax(np.hypot(du, dv)))
    return u + exaggeration * du, v + exaggeration * dv, shift


def auto_exaggeration(shift_px: float, width_px: float, current: float | None) -> float:
    """A factor that makes ``shift_px`` visible: the current one while it stays in the band, else the
    listed factor closest to the target."""
    if shift_px <= 0.0 or width_px <= 0:
        return float(current or 1)
    if current is not None and AUTO_BAND[0] <= shift_px * current / width_px <= AUTO_BAND[1]:
        return current
    wanted = AUTO_TARGET * width_px / shift_px
    return float(min(EXAGGERATIONS, key=lambda f: abs(math.log(f / wanted))))


class DistortionPreview(QWidget):
    """The distorted grid of the current lens values, with its exaggeration and largest shift.

    Attributes:
        frame: the lens frame drawn (None: nothing to draw).
        exaggeration: the factor the drawn displacement is multiplied by.
        shift_px: the largest true displacement of a grid point, in px of the sensor image.
        redraws: how often the grid was recomputed (tests: only when coefficients change).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(self)
        plot = self.plot = self.plot_widget.getPlotItem()
        set_title(plot, f"<span style='color:{theme.DIM_TEXT}'>Distortion (grid as the lens draws it)</span>")
        plot.setAspectLocked(True)
        plot.invertY(True)  # image rows go down
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        self.reference = plot.plot([], [], pen=theme.curve_pen(theme.DIM_TEXT + "70"), connect="finite")
        self.outline = plot.plot([], [], pen=theme.curve_pen(theme.DIM_TEXT))
        # Curved lines redrawn at most ten times a second: smoothing them is worth it.
        self.grid = plot.plot([], [], pen=theme.curve_pen(theme.DISTORTION_GRID), connect="finite",
                              antialias=True)
        self.centre = pg.ScatterPlotItem(size=9, symbol="+", pen=pg.mkPen(theme.ACCENT, width=1.5))
        plot.addItem(self.centre)
        self.note = pg.TextItem("", color=theme.DIM_TEXT, anchor=(0.5, 0.5))
        plot.addItem(self.note, ignoreBounds=True)

        self.factor = QComboBox(self)
        self.factor.addItem("auto", None)
        for f in EXAGGERATIONS:
            self.factor.addItem(f"×{f}", float(f))
        self.factor.setToolTip("How much the grid's displacement is exaggerated so it can be seen")
        self.factor.currentIndexChanged.connect(self._on_factor)
        self.caption = QLabel("", self)
        self.caption.setFont(theme.monospace(9))
        self.caption.setStyleSheet(f"color: {theme.DIM_TEXT};")
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        exaggeration = QLabel("Exaggeration", self)
        exaggeration.setStyleSheet(f"color: {theme.DIM_TEXT};")
        row.addWidget(exaggeration)
        row.addWidget(self.factor)
        row.addSpacing(8)
        row.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(row)

        self.frame: LensFrame | None = None
        self.exaggeration = 1.0
        self.shift_px = 0.0
        self.redraws = 0
        self._wanted: LensFrame | None = None
        self._drawn: tuple[LensFrame | None, float | None] | None = None
        self._size: tuple[int, int] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()
        self._show_nothing("no lens file")

    def set_frame(self, frame: LensFrame | None) -> None:
        """The newest lens frame (every snapshot; cheap): drawn by the next timer tick if it changed."""
        self._wanted = frame

    def set_exaggeration(self, factor: float | None) -> None:
        """A fixed factor (one of :data:`EXAGGERATIONS`), or None for auto."""
        index = 0 if factor is None else self.factor.findData(float(factor))
        if index >= 0:
            self.factor.setCurrentIndex(index)

    def _on_factor(self, _index: int) -> None:
        self._drawn = None
        self.redraw()

    def redraw(self) -> None:
        """Recompute the grid if the lens frame or the chosen factor changed (timer, 10 Hz)."""
        fixed = self.factor.currentData()
        key = (self._wanted, fixed)
        if key == self._drawn:
            return
        self._drawn = key
        frame = self._wanted
        self.frame = frame
        if frame is None:
            self._show_nothing("no distortion from a lens file")
            return
        self.redraws += 1
        size = (frame.width_px, frame.height_px)
        if size != self._size:
            self._size = size
            self._set_frame_size(*size)
        _u, _v, shift = displaced_grid(frame, 1.0)
        self.shift_px = shift
        if fixed is None:
            self.exaggeration = auto_exaggeration(shift, frame.width_px, self.exaggeration)
        else:
            self.exaggeration = float(fixed)
        u, v, _shift = displaced_grid(frame, self.exaggeration)
        self.grid.setData(u, v, connect="finite")
        self.centre.setData([frame.cx_px], [frame.cy_px])
        self.note.setText("")
        k1, k2, k3, p1, p2 = frame.coefficients
        kind = "barrel" if k1 < 0 else "pincushion" if k1 > 0 else "none"
        self.caption.setText(f"×{self.exaggeration:g} · largest shift {shift:.1f} px · {kind}")
        self.caption.setToolTip(f"k1 {k1:+.5f}  k2 {k2:+.5f}  k3 {k3:+.5f}  p1 {p1:+.5f}  p2 {p2:+.5f}\n"
                                f"principal point {frame.cx_px:.1f}, {frame.cy_px:.1f} px of "
                                f"{frame.width_px} x {frame.height_px}")

    def _set_frame_size(self, width: int, height: int) -> None:
        u, v = grid_lines(width, height)
        self.reference.setData(u, v, connect="finite")
        self.outline.setData([0, width, width, 0, 0], [0, 0, height, height, 0])
        margin = 0.08 * width
        self.plot.setRange(xRange=(-margin, width + margin), yRange=(-margin, height + margin), padding=0.0)

    def _show_nothing(self, why: str) -> None:
        """Only ``why``, centred: no grid to read it over (the pane can be short)."""
        for item in (self.grid, self.centre, self.reference, self.outline):
            item.setData([], [])
        self.shift_px = 0.0
        self._size = None  # the next lens frame draws its reference grid again
        self.plot.setRange(xRange=(0.0, 16.0), yRange=(0.0, 9.0), padding=0.0)
        self.note.setPos(8.0, 4.5)
        self.note.setText(why)
        self.caption.setText("")
