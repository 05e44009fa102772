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
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from stagectl.core.coords import forward_vector
from stagectl.stage.view import CameraStatus
from ui import theme

HEADING_LENGTH_M = 1.2
#: Half the horizontal angle of the drawn view cone (lens solve arrives later; a 35 mm-ish guess).
VIEW_HALF_ANGLE_DEG = 20.0
#: A camera's name sits this many screen pixels right of and above its marker (clear of the
#: 12 px dot and the 26 px selection ring at any zoom).
LABEL_OFFSET_PX = 16.0


class _MarkerLabel(pg.TextItem):  # type: ignore[misc]
    """A text item whose bottom-left corner sits :data:`LABEL_OFFSET_PX` up and right of its position.

    TextItem draws in screen pixels whatever the view's scale, so the gap stays the same at any zoom.
    """

    def __init__(self, text: str, colour: str) -> None:
        super().__init__(text, color=colour, anchor=(0.0, 1.0))

    def updateTextPos(self) -> None:
        """Place the text by its anchor, then move it off the marker by the fixed offset."""
        super().updateTextPos()
        self.textItem.setPos(self.textItem.pos() + QPointF(LABEL_OFFSET_PX, -LABEL_OFFSET_PX))


class _CameraGlyph:
    def __init__(self, plot: pg.PlotItem, name: str, colour: str) -> None:
        self.dot = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(colour), pen=pg.mkPen("#000000", width=1))
        self.cone = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.2))
        self.heading = pg.PlotDataItem(pen=pg.mkPen(colour, width=2.5))
        self.label = _MarkerLabel(name, colour)
        for item in (self.cone, self.heading, self.dot, self.label):
            plot.addItem(item)
        self.x = self.y = float("nan")

    def place(self, x: float, y: float, pan: float, tilt: float) -> None:
        self.x, self.y = x, y
        fx, fy, _ = forward_vector(pan, tilt)
        flat = math.hypot(fx, fy) or 1.0
        hx, hy = x + HEADING_LENGTH_M * fx / flat, y + HEADING_LENGTH_M * fy / flat
        self.dot.setData([x], [y])
        self.heading.setData([x, hx], [y, hy])
        left = forward_vector(pan - VIEW_HALF_ANGLE_DEG, 0.0)
        right = forward_vector(pan + VIEW_HALF_ANGLE_DEG, 0.0)
        reach = HEADING_LENGTH_M * 2.2
        self.cone.setData([x + reach * left[0], x, x + reach * right[0]],
                          [y + reach * left[1], y, y + reach * right[1]])
        self.label.setPos(x, y)


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
        origin = pg.ScatterPlotItem([0], [0], symbol="+", size=14, pen=pg.mkPen(theme.DIM_TEXT))
        self.plot.addItem(origin)
        self.trail = pg.PlotDataItem(pen=pg.mkPen(theme.ACCENT + "80", width=1, style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.trail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.glyphs: dict[str, _CameraGlyph] = {}
        self.selected: str | None = None
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
        for index, cam in enumerate(cameras):
            glyph = self.glyphs.get(cam.name)
            if glyph is None:
                glyph = self.glyphs[cam.name] = _CameraGlyph(self.plot, cam.name, theme.camera_colour(index))
            if cam.latest is not None:
                x, y, _z = cam.latest.translation_m
                pan, tilt, _roll = cam.latest.rotation_deg
                glyph.place(x, y, pan, tilt)
            glyph.dot.setOpacity(1.0 if cam.state == "up" else 0.45)
        if trail is not None and len(trail):
            self.trail.setData(trail[:, 1], trail[:, 2])
        else:
            self.trail.setData([], [])
        glyph = self.glyphs.get(self.selected or "")
        placed = glyph is not None and math.isfinite(glyph.x) and math.isfinite(glyph.y)
        if glyph is not None and placed:
            self.selection_ring.setPos(glyph.x, glyph.y)
        if self.selection_ring.isVisible() != placed:
            self.selection_ring.setVisible(placed)
