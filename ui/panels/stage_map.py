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
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from stagectl.core.coords import forward_vector
from stagectl.stage.view import CameraStatus
from ui import theme
from ui.plots import steady

HEADING_LENGTH_M = 1.2
#: Half the horizontal angle of the drawn view cone (lens solve arrives later; a 35 mm-ish guess).
VIEW_HALF_ANGLE_DEG = 20.0
#: A camera's name sits this many screen pixels right of and above its marker (clear of the
#: 12 px dot and the 26 px selection ring at any zoom).
LABEL_OFFSET_PX = 16.0
#: At most about this many points of the selected camera's trail are drawn (the newest always).
TRAIL_POINTS = 500


class _MarkerLabel(pg.TextItem):  # type: ignore[misc]
    """A text item whose bottom-left corner sits :data:`LABEL_OFFSET_PX` up and right of its position.

    TextItem draws in screen pixels whatever the view's scale, so the gap stays the same at any zoom.
    """

    def __init__(self, text: str, colour: str) -> None:
        super().__init__(text, color=colour, anchor=(0.0, 1.0))
        # The name is laid out and drawn once into a pixmap, then only moved: text is slow to draw.
        self.textItem.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def updateTextPos(self) -> None:
        """Place the text by its anchor, then move it off the marker by the fixed offset."""
        super().updateTextPos()
        self.textItem.setPos(self.textItem.pos() + QPointF(LABEL_OFFSET_PX, -LABEL_OFFSET_PX))


class _CameraGlyph:
    """A camera's heading, view cone and name, drawn once around the origin pointing along +X, then moved
    and turned with the item's transform each frame (no new data, no new path). Its dot is one point of
    the map's :attr:`StageMap.dots`."""

    def __init__(self, plot: pg.PlotItem, name: str, colour: str) -> None:
        self.brushes = {True: pg.mkBrush(colour), False: pg.mkBrush(colour + "73")}  # up / not up
        reach = HEADING_LENGTH_M * 2.2
        half = math.radians(VIEW_HALF_ANGLE_DEG)
        # Antialiased: two and three straight segments, worth smoothing when they turn.
        self.cone = pg.PlotCurveItem([reach * math.cos(half), 0.0, reach * math.cos(half)],
                                     [reach * math.sin(half), 0.0, -reach * math.sin(half)],
                                     pen=theme.curve_pen(colour), antialias=True)
        self.heading = pg.PlotCurveItem([0.0, HEADING_LENGTH_M], [0.0, 0.0],
                                        pen=theme.curve_pen(colour, width=2), antialias=True)
        self.label = _MarkerLabel(name, colour)
        for item in (self.cone, self.heading, self.label):
            item.setVisible(False)  # until the camera's first sample places it
            plot.addItem(item)
        self.x = self.y = float("nan")
        self._placed: tuple[float, float, float] | None = None

    def place(self, x: float, y: float, pan: float, tilt: float) -> bool:
        """Move to (x, y) facing ``pan`` / ``tilt``; True when that moved it."""
        self.x, self.y = x, y
        fx, fy, _ = forward_vector(pan, tilt)
        angle = math.degrees(math.atan2(fy, fx)) if (fx or fy) else 90.0
        if self._placed == (x, y, angle):
            return False
        if self._placed is None:
            for item in (self.cone, self.heading, self.label):
                item.setVisible(True)
        self._placed = (x, y, angle)
        for item in (self.heading, self.cone, self.label):
            item.setPos(x, y)
        self.heading.setRotation(angle)
        self.cone.setRotation(angle)
        return True


class StageMap(QWidget):
    """All cameras from above; call :meth:`update_cameras` at the frame rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.PlotWidget(self)
        self.plot = self.widget.getPlotItem()
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.12)
        self.plot.setLabel("bottom", "X (right)", units="m")
        self.plot.setLabel("left", "Y (towards wall)", units="m")
        self.plot.setTitle(f"<span style='color:{theme.DIM_TEXT}'>Stage map (top view)</span>", size="9pt")
        self.plot.setRange(xRange=(-5, 5), yRange=(-5, 5))
        steady(self.plot)
        origin = pg.ScatterPlotItem([0], [0], symbol="+", size=14, pen=pg.mkPen(theme.DIM_TEXT))
        self.plot.addItem(origin)
        # Solid and 1 px: a dotted pen is the slowest line Qt draws, and the trail changes every frame.
        self.trail = pg.PlotDataItem(pen=theme.curve_pen(theme.ACCENT + "90"), skipFiniteCheck=True)
        self.plot.addItem(self.trail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.glyphs: dict[str, _CameraGlyph] = {}
        self.selected: str | None = None
        #: Every camera's dot, one scatter item for all (one paint, not one per camera), over the cones.
        self.dots = pg.ScatterPlotItem(size=12, pen=pg.mkPen("#000000", width=1))
        self.dots.setZValue(1)
        self.plot.addItem(self.dots)
        self._dots_key: tuple[tuple[float, float, bool], ...] = ()
        # The amber ring round the selected camera: one point moved with setPos, far cheaper per
        # frame than new scatter data; under the camera's own dot and heading.
        self.selection_ring = pg.ScatterPlotItem([0.0], [0.0], size=26, brush=None,
                                                 pen=pg.mkPen(theme.ACCENT, width=2.5))
        self.selection_ring.setZValue(-1)
        self.selection_ring.setVisible(False)
        self.plot.addItem(self.selection_ring)
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
        dots: list[tuple[float, float, bool]] = []
        brushes = []
        for index, cam in enumerate(cameras):
            glyph = self.glyphs.get(cam.name)
            if glyph is None:
                glyph = self.glyphs[cam.name] = _CameraGlyph(self.plot, cam.name, theme.camera_colour(index))
            if cam.latest is not None:
                x, y, _z = cam.latest.translation_m
                pan, tilt, _roll = cam.latest.rotation_deg
                glyph.place(x, y, pan, tilt)
            if math.isfinite(glyph.x) and math.isfinite(glyph.y):
                dots.append((glyph.x, glyph.y, cam.state == "up"))
                brushes.append(glyph.brushes[cam.state == "up"])
        key = tuple(dots)
        if key != self._dots_key:  # a still stage redraws nothing
            self._dots_key = key
            self.dots.setData(x=[d[0] for d in dots], y=[d[1] for d in dots], brush=brushes)
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
