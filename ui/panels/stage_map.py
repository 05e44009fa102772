"""Top-down stage map: every camera's position, heading and field of view, seen from above.

Drawn in stage axes: X to the right, Y up the screen (towards the LED wall), metres. The
selected camera gets its last seconds of travel as a trail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from stagectl.core.coords import forward_vector
from stagectl.stage.view import CameraStatus
from ui import theme
from ui.plots import GridPlotWidget, LiveCurve, set_title, show_grid, steady, steady_axes

HEADING_LENGTH_M = 1.2
#: Half the horizontal angle of the drawn view cone (lens solve arrives later; a 35 mm-ish guess).
VIEW_HALF_ANGLE_DEG = 20.0
#: A camera's name sits this many screen pixels right of and above its marker (clear of the
#: 12 px dot and the 26 px selection ring at any zoom).
LABEL_OFFSET_PX = 16.0
#: At most about this many points of the selected camera's trail are drawn (the newest always).
TRAIL_POINTS = 500


def _disc(colour: str, diameter: int, fill: bool, width: float = 1.0, outline: str = "#000000") -> QPixmap:
    """A round marker drawn once, smoothed (a dot, or a ring when not ``fill``)."""
    size = diameter + 4
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(outline if fill else colour), width))
    painter.setBrush(QColor(colour) if fill else Qt.BrushStyle.NoBrush)
    painter.drawEllipse(QRectF(2, 2, diameter, diameter))
    painter.end()
    return pixmap


def _name_tag(text: str, colour: str) -> QPixmap:
    """A camera's name drawn once into a pixmap (text is slow to lay out and draw every frame)."""
    font = QFont()
    metrics = QFontMetrics(font)
    pixmap = QPixmap(metrics.horizontalAdvance(text) + 4, metrics.height() + 2)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setFont(font)
    painter.setPen(QColor(colour))
    painter.drawText(2, metrics.ascent() + 1, text)
    painter.end()
    return pixmap


def _marker(pixmap: QPixmap, parent: QGraphicsItem | None = None) -> QGraphicsPixmapItem:
    """A pixmap the same size on screen at any zoom, centred on its position."""
    item = QGraphicsPixmapItem(pixmap, parent)
    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    item.setOffset(-pixmap.width() / 2, -pixmap.height() / 2)
    return item


class _SmoothPath(QGraphicsPathItem):
    """A path drawn smoothed whatever the view's own setting (a few lines that turn: worth it)."""

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        """Draw the path, smoothed."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        super().paint(painter, option, widget)


class _CameraGlyph:
    """A camera's view cone and heading, drawn once around the origin pointing along +X, then moved and turned
    with the item's transform each frame; its dot and name (a fixed size on screen) move with it. All are
    Qt's own items: nothing of them runs Python to paint but the two smoothed lines."""

    def __init__(self, plot: pg.PlotItem, name: str, colour: str) -> None:
        self.dots = {True: _disc(colour, 12, True), False: _disc(colour + "73", 12, True)}  # up / not up
        reach = HEADING_LENGTH_M * 2.2
        half = math.radians(VIEW_HALF_ANGLE_DEG)
        cone = QPainterPath(QPointF(reach * math.cos(half), reach * math.sin(half)))
        cone.lineTo(0.0, 0.0)
        cone.lineTo(reach * math.cos(half), -reach * math.sin(half))
        self.cone = _SmoothPath(cone)
        self.cone.setPen(theme.curve_pen(colour))
        heading = QPainterPath(QPointF(0.0, 0.0))
        heading.lineTo(HEADING_LENGTH_M, 0.0)
        self.heading = _SmoothPath(heading, self.cone)
        self.heading.setPen(theme.curve_pen(colour, width=2))
        self.dot = _marker(self.dots[True])
        self.dot.setZValue(1)  # over every camera's cone
        tag = _name_tag(name, colour)
        self.label = QGraphicsPixmapItem(tag, self.dot)  # in the dot's screen pixels
        self.label.setOffset(LABEL_OFFSET_PX, -LABEL_OFFSET_PX - tag.height())
        for item in (self.cone, self.dot):
            item.setVisible(False)  # until the camera's first sample places it
        plot.addItem(self.cone)
        plot.addItem(self.dot, ignoreBounds=True)  # a size on screen, not on the stage
        self.x = self.y = float("nan")
        self.up = True
        self._placed: tuple[float, float, float] | None = None

    def place(self, x: float, y: float, pan: float, tilt: float) -> bool:
        """Move to (x, y) facing ``pan`` / ``tilt``; True when that moved it."""
        self.x, self.y = x, y
        fx, fy, _ = forward_vector(pan, tilt)
        angle = math.degrees(math.atan2(fy, fx)) if (fx or fy) else 90.0
        if self._placed == (x, y, angle):
            return False
        if self._placed is None:
            self.cone.setVisible(True)
            self.dot.setVisible(True)
        self._placed = (x, y, angle)
        self.cone.setPos(x, y)
        self.cone.setRotation(angle)
        self.dot.setPos(x, y)
        return True

    def show_up(self, up: bool) -> None:
        """A dimmer dot while the camera is not up."""
        if up != self.up:
            self.up = up
            self.dot.setPixmap(self.dots[up])


class StageMap(QWidget):
    """All cameras from above; call :meth:`update_cameras` at the frame rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = GridPlotWidget(self, axisItems=steady_axes())
        self.plot = self.widget.getPlotItem()
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "X (right)", units="m")
        self.plot.setLabel("left", "Y (towards wall)", units="m")
        set_title(self.plot, f"<span style='color:{theme.DIM_TEXT}'>Stage map (top view)</span>")
        self.plot.setRange(xRange=(-5, 5), yRange=(-5, 5))
        steady(self.plot)
        self.grid = show_grid(self.plot, alpha=0.12)
        cross = QPainterPath(QPointF(-7, 0))  # the stage's origin, a cross 14 px across
        cross.lineTo(7, 0)
        cross.moveTo(0, -7)
        cross.lineTo(0, 7)
        origin = QGraphicsPathItem(cross)
        origin.setPen(QPen(QColor(theme.DIM_TEXT), 0))
        origin.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.plot.addItem(origin, ignoreBounds=True)
        # Solid and 1 px: a dotted pen is the slowest line Qt draws, and the trail changes every frame.
        self.trail = LiveCurve(theme.ACCENT + "90")
        self.plot.addItem(self.trail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.glyphs: dict[str, _CameraGlyph] = {}
        self.selected: str | None = None
        # The amber ring round the selected camera, under its dot and over its heading.
        self.selection_ring = _marker(_disc(theme.ACCENT, 26, False, width=2.5))
        self.selection_ring.setZValue(0.5)
        self.selection_ring.setVisible(False)
        self.plot.addItem(self.selection_ring, ignoreBounds=True)
        # A stage without cameras (lighting only) says so rather than showing an empty floor.
        self.empty_note = pg.TextItem("no camera on this stage", color=theme.DIM_TEXT, anchor=(0.5, 1.5))
        self.empty_note.setPos(0, 0)
        self.empty_note.setVisible(False)
        self.plot.addItem(self.empty_note)

    def update_cameras(self, cameras: Sequence[CameraStatus],
                       trail: npt.NDArray[np.float64] | None = None) -> None:
        """Move every camera glyph; draw the selected camera's trail (history rows) when given.
        With no cameras at all the map says so."""
        if self.empty_note.isVisible() != (not cameras):
            self.empty_note.setVisible(not cameras)
        for index, cam in enumerate(cameras):
            glyph = self.glyphs.get(cam.name)
            if glyph is None:
                glyph = self.glyphs[cam.name] = _CameraGlyph(self.plot, cam.name, theme.camera_colour(index))
            if cam.latest is not None:
                x, y, _z = cam.latest.translation_m
                pan, tilt, _roll = cam.latest.rotation_deg
                glyph.place(x, y, pan, tilt)
            glyph.show_up(cam.state == "up")
        if trail is not None and len(trail):
            rows = trail[::-max(1, len(trail) // TRAIL_POINTS)][::-1]  # counted back from the newest
            self.trail.setData(rows[:, 1], rows[:, 2])
        else:
            self.trail.setData([], [])
        glyph = self.glyphs.get(self.selected or "")
        placed = glyph is not None and math.isfinite(glyph.x) and math.isfinite(glyph.y)
        if glyph is not None and placed:
            self.selection_ring.setPos(glyph.x, glyph.y)
        if self.selection_ring.isVisible() != placed:
            self.selection_ring.setVisible(placed)
