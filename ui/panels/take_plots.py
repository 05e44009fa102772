"""One take's camera path from above and its lens over the take, for the takes browser.

Left: the camera's path in the stage's top view (X right, Y towards the wall, metres; the same
axes as the stage map), a green dot where the take starts and a red square where it ends. Right:
focal length (mm) and focus distance (m) against seconds from the take's timecode in, the two
plots sharing their time axis. A lens value nobody knew (NaN) leaves a gap; an infinite focus
distance is not drawn (the axis would have no top).

Every recorded sample is handed to pyqtgraph (``getOriginalDataset`` gives them back); what is
drawn is thinned to about :data:`PATH_POINTS` points on the path and to the view's pixels on the
time plots, so a one-hour 240 Hz take (864 000 samples) redraws in milliseconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from stagectl.core.timecode import frames_per_24h
from stagectl.takes.model import CameraTrack, TakeData, TakeInfo
from ui import theme
from ui.plots import set_title, steady

FloatArray = npt.NDArray[np.float64]
#: About this many points of a path are drawn (all are kept).
PATH_POINTS = 20_000


def take_seconds(track: CameraTrack, info: TakeInfo) -> FloatArray:
    """Seconds of each sample from the take's timecode in.

    The first sample sits at its frame's offset from tc in; later samples follow their arrival
    times (finer than frames: several samples share a frame). Without a tc in, from the first sample.
    """
    if len(track) == 0:
        return np.zeros(0)
    start = 0.0
    if info.tc_in is not None:
        per_day = frames_per_24h(info.rate, info.drop_frame)
        frames = (int(track.frame[0]) - info.tc_in.frames) % per_day
        if frames > per_day // 2:  # the first sample came before tc in: a small negative offset
            frames -= per_day
        start = frames / float(info.rate.rate)
    seconds: FloatArray = start + (track.arrival_ns - track.arrival_ns[0]).astype(np.float64) / 1e9
    return seconds


def _finite(values: FloatArray) -> FloatArray:
    out: FloatArray = np.where(np.isfinite(values), values, np.nan)
    return out


def _style(plot: pg.PlotItem, title: str) -> None:
    set_title(plot, f"<span style='color:{theme.DIM_TEXT}'>{title}</span>")
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    steady(plot, left_width=48)


class TakePlots(QWidget):
    """Path and lens plots of one camera of a take; :meth:`show_take` then pick a camera.

    Attributes:
        take: the take shown (None: nothing).
        camera: the camera shown.
        path_curve / focal_curve / focus_curve: the curves (every sample in their original dataset).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.take: TakeData | None = None
        self.camera: str | None = None
        self.selector = QComboBox(self)
        self.selector.setToolTip("Camera to plot")
        self.selector.currentTextChanged.connect(self._on_selector)
        self.note = QLabel("", self)
        self.note.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.graphs = pg.GraphicsLayoutWidget(self)
        self.path_plot = self.graphs.addPlot(row=0, col=0, rowspan=2)
        _style(self.path_plot, "Camera path (top view)")
        self.path_plot.setAspectLocked(True)
        self.path_plot.setLabel("bottom", "X (right)", units="m")
        self.path_plot.setLabel("left", "Y (towards wall)", units="m")
        self.path_curve = self.path_plot.plot([], [], pen=theme.curve_pen(theme.camera_colour(0)))
        self.path_curve.setDownsampling(method="subsample")
        self.start_dot = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(theme.STATE_COLOURS["up"]),
                                            pen=pg.mkPen("#000000"))
        self.end_dot = pg.ScatterPlotItem(size=11, symbol="s", brush=pg.mkBrush(theme.STATE_COLOURS["down"]),
                                          pen=pg.mkPen("#000000"))
        self.path_plot.addItem(self.start_dot)
        self.path_plot.addItem(self.end_dot)
        self.focal_plot = self.graphs.addPlot(row=0, col=1)
        _style(self.focal_plot, "Focal length")
        self.focal_plot.setLabel("left", units="mm")
        self.focus_plot = self.graphs.addPlot(row=1, col=1)
        _style(self.focus_plot, "Focus distance")
        self.focus_plot.setLabel("left", units="m")
        self.focus_plot.setXLink(self.focal_plot)
        self.focal_curve = self.focal_plot.plot([], [], pen=theme.curve_pen(theme.LENS_COLOURS[0]),
                                                connect="finite")
        self.focus_curve = self.focus_plot.plot([], [], pen=theme.curve_pen(theme.LENS_COLOURS[1]),
                                                connect="finite")
        for curve in (self.focal_curve, self.focus_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.graphs.ci.layout.setColumnStretchFactor(0, 1)
        self.graphs.ci.layout.setColumnStretchFactor(1, 1)
        top = QHBoxLayout()
        top.addWidget(QLabel("Camera", self))
        top.addWidget(self.selector)
        top.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.graphs, 1)

    def show_take(self, take: TakeData | None) -> None:
        """Plot ``take`` (the camera shown before when it has it, else its first camera)."""
        self.take = take
        names = list(take.cameras) if take is not None else []
        keep = self.camera if self.camera in names else (names[0] if names else None)
        self.selector.blockSignals(True)
        self.selector.clear()
        self.selector.addItems(names)
        if keep is not None:
            self.selector.setCurrentText(keep)
        self.selector.blockSignals(False)
        self.show_camera(keep)

    def _on_selector(self, name: str) -> None:
        self.show_camera(name or None)

    def show_camera(self, name: str | None) -> None:
        """Plot camera ``name`` of the take shown (clears the plots when there is none)."""
        take = self.take
        track = take.cameras.get(name) if take is not None and name is not None else None
        self.camera = name
        if take is None or track is None or len(track) == 0:
            for curve in (self.path_curve, self.focal_curve, self.focus_curve):
                curve.setData([], [])
            self.start_dot.setData([], [])
            self.end_dot.setData([], [])
            self.note.setText("no samples" if track is not None else "")
            return
        colour = theme.camera_colour(list(take.cameras).index(track.camera))
        x, y = track.translation_m[:, 0], track.translation_m[:, 1]
        self.path_curve.setPen(theme.curve_pen(colour))
        self.path_curve.setDownsampling(ds=max(1, len(track) // PATH_POINTS), method="subsample")
        self.path_curve.setData(x, y)
        self.start_dot.setData([x[0]], [y[0]])
        self.end_dot.setData([x[-1]], [y[-1]])
        self.path_plot.autoRange()
        seconds = take_seconds(track, take.info)
        focal, focus = _finite(track.focal_length_mm), _finite(track.focus_distance_m)
        self.focal_curve.setData(seconds, focal)
        self.focus_curve.setData(seconds, focus)
        tc_in = take.info.tc_in
        # The axis stays short (a narrow dock cuts long labels); where its zero is goes into the note.
        self.focus_plot.setLabel("bottom", "s from TC in" if tc_in is not None else "s")
        for plot in (self.focal_plot, self.focus_plot):
            plot.enableAutoRange()
        missing = [what for what, values in (("focal length", focal), ("focus distance", focus))
                   if not np.isfinite(values).any()]
        lacking = f" · no {' or '.join(missing)} recorded" if missing else ""
        zero = f" · 0 s = TC in {tc_in}" if tc_in is not None else ""
        self.note.setText(f"{len(track)} samples{zero}{lacking}")
