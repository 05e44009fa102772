"""Tracking dock: one camera's live values, the health of its sources, its delay and smoothing,
its last 10 s in plots, the time between its samples, and every camera on the stage map."""

from __future__ import annotations

import math
import time

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from stagectl.core.samples import CameraSample, LensValues
from stagectl.stage.commands import StageCommands
from stagectl.stage.view import HISTORY_COLUMNS, HISTORY_S, CameraStatus, StageView
from ui import theme
from ui.panels.delay_control import DelayControl
from ui.panels.interarrival_plot import InterArrivalPlot
from ui.panels.source_health_table import SourceHealthTable
from ui.panels.stage_map import StageMap
from ui.peaks import PeakBins
from ui.plots import GridLayoutWidget, TimePlot, steady_axes
from ui.seen import seen

_COL = {name: i for i, name in enumerate(HISTORY_COLUMNS)}
READOUTS = (("X", "m"), ("Y", "m"), ("Z", "m"), ("Pan", "°"), ("Tilt", "°"), ("Roll", "°"),
            ("Zoom", "raw"), ("Focus", "raw"), ("Focal", "mm"))
#: Readouts shown only when the sample carries lens values.
LENS_READOUTS = ("Focal",)
#: The inter-arrival plot redraws at most every this many ms (with a view, so in the same repaint): a
#: thousand points per source need not move at 30 Hz.
INTERVALS_REFRESH_MS = 100
#: Height (px) of the time axis of the upper two plots: their grid lines, with the values and the label only
#: under the lowest plot, so a small screen keeps the height for the curves.
SHARED_AXIS_HEIGHT = 4


LENS_TIP = "Lens (tracker or lens file): focal length · focus distance · stop"

#: What the Tracking and Lens docks say on a stage without cameras (a lighting-only stage).
NO_CAMERA_TEXT = ("<b>No camera on this stage.</b><br>It runs lighting only: devices, looks, cues and "
                  "control-in; takes keep the looks, cues and notes.<br>To track a camera, add a "
                  "<code>[[cameras]]</code> table and a <code>[[sources]]</code> table feeding it to the "
                  "stage file.")


def no_camera_note(parent: QWidget, what: str) -> QLabel:
    """The centred note a camera dock shows instead of its content on a stage without cameras;
    ``what`` says what the dock would show (one sentence)."""
    note = QLabel(f"{what}<br><br>{NO_CAMERA_TEXT}", parent)
    note.setObjectName("no_camera_note")
    note.setAlignment(Qt.AlignmentFlag.AlignCenter)
    note.setWordWrap(True)
    note.setStyleSheet(f"color: {theme.DIM_TEXT}; padding: 24px;")
    return note


def lens_summary(lens: LensValues | None) -> str:
    """``35.0 mm · 2.50 m · T2.8`` from whatever the tracker sent (empty when nothing)."""
    if lens is None:
        return ""
    parts: list[str] = []
    if lens.focal_length_mm is not None:
        parts.append(f"{lens.focal_length_mm:.1f} mm")
    if lens.focus_distance_m is not None:
        distance = lens.focus_distance_m
        parts.append("∞" if math.isinf(distance) else f"{distance:.2f} m")
    if lens.t_stop is not None:
        parts.append(f"T{lens.t_stop:.1f}")
    elif lens.f_stop is not None:
        parts.append(f"f/{lens.f_stop:.1f}")
    return " · ".join(parts)


class TrackingPanel(QWidget):
    """Live view of one camera's tracking, with its delay and smoothing controls.

    Args:
        view: the stage's first view (its cameras fill the selector).
        commands: where the delay and smoothing go.

    Signals:
        camera_selected(str): the user picked another camera in the selector.

    Attributes:
        camera: the camera shown (None on a stage without cameras).
        health: the sources feeding it, one row each.
        intervals: their recent inter-arrival times.
        delay_control: its delay line and smoothing.
        plots: position, rotation and zoom/focus against time.
        map: every camera from above, the selected one ringed.
        content: all of the above; hidden on a stage without cameras, where ``no_camera`` shows.
        no_camera: the note saying the stage has no camera (hidden when it has one).
        updates: views drawn (:meth:`update_view` calls).
    """

    camera_selected = Signal(str)

    def __init__(self, view: StageView, commands: StageCommands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera: str | None = None
        self.view = view
        self._cameras = view.camera_names

        self.selector = QComboBox(self)
        self.selector.addItems(list(self._cameras))
        self.selector.currentTextChanged.connect(self._on_selector)
        # The state (rich text, rarely new: its own width) and the rate (plain text, often new: a fixed size)
        # apart: a rich text label lays its text out inside its paint and asks for one more repaint each time.
        self.state_label = QLabel("—", self)
        self.rate_label = QLabel("", self)
        self.rate_label.setTextFormat(Qt.TextFormat.PlainText)
        self.rate_label.setStyleSheet(f"color: {theme.DIM_TEXT};")
        theme.hold_size(self.rate_label, "00000.0 Hz", opaque=True)
        self.lens_label = QLabel("", self)
        self.lens_label.setFont(theme.monospace(11))
        self.lens_label.setToolTip(LENS_TIP)
        self.lens_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Moves with the lens: a fixed size, so never a new layout.
        theme.hold_size(self.lens_label, "000.0 mm · 000.00 m · T00.0", opaque=True)
        self.timecode_source = QLabel("TC", self)
        self.timecode_source.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.timecode_label = QLabel("--:--:--:--", self)
        self.timecode_label.setFont(theme.monospace(12, bold=True))
        self.timecode_label.setStyleSheet(f"color: {theme.ACCENT};")
        theme.hold_size(self.timecode_label, "00:00:00;00", opaque=True)
        head = QHBoxLayout()
        head.addWidget(QLabel("Camera", self))
        head.addWidget(self.selector)
        head.addSpacing(6)
        head.addWidget(self.state_label)
        head.addWidget(self.rate_label)
        head.addStretch(1)
        head.addWidget(self.lens_label)
        head.addSpacing(18)
        head.addWidget(self.timecode_source)
        head.addWidget(self.timecode_label)

        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(0)
        self.values: dict[str, QLabel] = {}
        self._captions: dict[str, QLabel] = {}
        for i, (name, unit) in enumerate(READOUTS):
            caption = QLabel(f"{name} <span style='color:{theme.DIM_TEXT}'>{unit}</span>", self)
            value = QLabel("—", self)
            value.setFont(theme.monospace(12, bold=True))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            theme.hold_size(value, "+0000.000", opaque=True)  # new figures every frame: never a new layout
            grid.addWidget(caption, 0, i)
            grid.addWidget(value, 1, i)
            self.values[name] = value
            self._captions[name] = caption
        self._show_lens_readouts(False)

        self.delay_control = DelayControl(view.fps, str(view.frame_rate), commands, self)
        self.health = SourceHealthTable(self)

        self.graphs = GridLayoutWidget(self)
        self.position_plot = TimePlot(self._plot_row(0), "Position", "m", [
            ("X", _COL["x_m"], theme.AXIS_COLOURS[0], 1.0),
            ("Y", _COL["y_m"], theme.AXIS_COLOURS[1], 1.0),
            ("Z", _COL["z_m"], theme.AXIS_COLOURS[2], 1.0)])
        self.rotation_plot = TimePlot(self._plot_row(1), "Rotation", "°", [
            ("pan", _COL["pan_deg"], theme.AXIS_COLOURS[0], 1.0),
            ("tilt", _COL["tilt_deg"], theme.AXIS_COLOURS[1], 1.0),
            ("roll", _COL["roll_deg"], theme.AXIS_COLOURS[2], 1.0)])
        self.lens_plot = TimePlot(self._plot_row(2), "Zoom / focus (raw encoder)", "", [
            ("zoom", _COL["zoom_raw"], theme.LENS_COLOURS[0], 1.0),
            ("focus", _COL["focus_raw"], theme.LENS_COLOURS[1], 1.0)])
        self.rotation_plot.plot.setXLink(self.position_plot.plot)
        self.lens_plot.plot.setXLink(self.position_plot.plot)
        self.lens_plot.plot.setLabel("bottom", "seconds before now")
        for upper in (self.position_plot, self.rotation_plot):  # one time axis, under the three plots
            axis = upper.plot.getAxis("bottom")
            axis.setStyle(showValues=False)
            axis.setHeight(SHARED_AXIS_HEIGHT)
        self.plots = (self.position_plot, self.rotation_plot, self.lens_plot)
        # The three plots share their width: their channels are thinned together, in one set of bins.
        self._columns = [col for plot in self.plots for col in plot.columns]
        self._peaks = PeakBins(HISTORY_S)

        self.map = StageMap(self)
        self.intervals = InterArrivalPlot(self)
        self.side = QSplitter(Qt.Orientation.Vertical, self)
        self.side.addWidget(self.map)
        self.side.addWidget(self.intervals)
        self.side.setStretchFactor(0, 3)
        self.side.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.graphs)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        self.content = QWidget(self)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addLayout(grid)
        layout.addWidget(self.delay_control)
        layout.addWidget(self.health)
        layout.addWidget(self.splitter, 1)
        self.no_camera = no_camera_note(self, "The Tracking dock shows a camera's live tracking.")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.content, 1)
        outer.addWidget(self.no_camera, 1)
        self.content.setVisible(bool(self._cameras))
        self.no_camera.setVisible(not self._cameras)

        self.updates = 0
        self._intervals_at = -math.inf
        self._rate_at = -math.inf
        if self._cameras:
            self.select_camera(self._cameras[0])

    def select_camera(self, name: str) -> None:
        """Show ``name`` (no-op for an unknown name)."""
        if name not in self._cameras or name == self.camera:
            return
        self.camera = name
        self.map.selected = name
        self.delay_control.set_camera(name)
        if self.selector.currentText() != name:
            self.selector.setCurrentText(name)
        self.refresh_intervals()

    def _on_selector(self, name: str) -> None:
        if name and name != self.camera:
            self.select_camera(name)
            self.camera_selected.emit(name)

    # --- refreshing (GUI thread) -----------------------------------------------------------------

    def _plot_row(self, row: int) -> pg.PlotItem:
        """A new plot in ``row`` of the plot grid, with axes Qt measures without Python."""
        return self.graphs.addPlot(row=row, col=0, axisItems=steady_axes())

    def update_view(self, view: StageView, numbers: bool = True) -> None:
        """Refresh the plots from a view (the window's refresh), and with ``numbers`` the map, the header,
        readouts, table and controls too (see :data:`ui.theme.NUMBERS_PERIOD_S`)."""
        self.view = view
        self.updates += 1
        now_s = view.monotonic_ns / 1e9
        rows = None
        status = view.camera(self.camera)
        if status is not None:
            rows = view.history.get(status.name)
            if rows is not None and not len(rows):
                for plot in self.plots:
                    plot.update(rows, now_s)  # no samples yet: empty curves
            elif rows is not None:
                times, values = self._peaks(rows, self._columns, self.position_plot.bins())
                first = 0
                for plot in self.plots:
                    plot.show(times - now_s, values[first:first + len(plot.columns)])
                    first += len(plot.columns)
            if numbers:
                self._show_state(status)
                self._show_values(status.latest)
                self._show_lens_status(status)
                self.health.show_sources(list(view.sources_of(self.camera)))
                self.delay_control.update_status(status)
        if numbers:  # where the cameras stand: thirty times a second shows a move as smoothly as film does
            self.map.update_cameras(view.cameras, rows)
        now = time.monotonic()
        if now - self._intervals_at >= INTERVALS_REFRESH_MS / 1000:
            self._intervals_at = now
            self.refresh_intervals()

    def refresh_intervals(self) -> None:
        """Redraw the inter-arrival plot from the selected camera's sources (every
        :data:`INTERVALS_REFRESH_MS` with a view)."""
        if self.camera is None or not seen(self.intervals):
            return
        view = self.view
        self.intervals.show_intervals([(source.name, view.intervals.get(source.name, ()))
                                       for source in view.sources_of(self.camera)])

    def _show_state(self, status: CameraStatus) -> None:
        colour = theme.state_colour(status.state)
        text = f"<b style='color:{colour}'>● {status.state}</b>"
        if self.state_label.text() != text:
            self.state_label.setText(text)
        now = time.monotonic()
        if now - self._rate_at >= theme.FIGURES_PERIOD_S or not self.rate_label.text():
            self._rate_at = now
            self.rate_label.setText(f"{status.rate_hz:.1f} Hz")

    def _show_lens_status(self, status: CameraStatus) -> None:
        """The lens values the tracker or lens file gives, or "lens unsolved" when neither gives any."""
        sample = status.latest
        summary = lens_summary(sample.lens if sample is not None else None)
        unsolved = not summary and status.lens_status.startswith("unsolved")
        text = "lens unsolved" if unsolved else summary
        tip = (f"{status.lens_status}: raw encoder counts still flow and are recorded; choose a lens file in "
               "the Lens panel") if unsolved else LENS_TIP
        # Set only when it changes: a new text is a new layout of the whole dock.
        if self.lens_label.text() != text:
            self.lens_label.setText(text)
        if self.lens_label.toolTip() != tip:
            self.lens_label.setToolTip(tip)

    def _show_values(self, sample: CameraSample | None) -> None:
        if sample is None:
            return  # nothing yet; a stale camera keeps its last sample, so its values are held
        x, y, z = sample.translation_m
        pan, tilt, roll = sample.rotation_deg
        lens = sample.lens
        focal = lens.focal_length_mm if lens is not None else None
        texts = {"X": f"{x:+.3f}", "Y": f"{y:+.3f}", "Z": f"{z:+.3f}", "Pan": f"{pan:+.2f}",
                 "Tilt": f"{tilt:+.2f}", "Roll": f"{roll:+.2f}",
                 "Zoom": "—" if sample.zoom_raw is None else str(sample.zoom_raw),
                 "Focus": "—" if sample.focus_raw is None else str(sample.focus_raw),
                 "Focal": "—" if focal is None else f"{focal:.1f}"}
        for name, text in texts.items():
            self.values[name].setText(text)
        self._show_lens_readouts(focal is not None)
        self.timecode_label.setText(str(sample.timecode) if sample.timecode else "--:--:--:--")
        source = sample.timecode_source
        if self.timecode_source.text() != f"TC {source}":
            self.timecode_source.setText(f"TC {source}")
            self.timecode_source.setToolTip("timecode sent by the tracker" if source == "tracker" else
                                            "the tracker sends no timecode: the stage clock at arrival")

    def _show_lens_readouts(self, visible: bool) -> None:
        for name in LENS_READOUTS:
            if self.values[name].isHidden() == visible:
                self.values[name].setVisible(visible)
                self._captions[name].setVisible(visible)
