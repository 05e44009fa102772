"""Camera dock: the selected camera's live values, its last 10 s in plots, and the stage map."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from stagectl.ringbuffer import COLUMNS
from stagectl.samples import CameraSample
from stagectl.stage import Stage, StageSnapshot
from ui import theme
from ui.panels.stage_map import StageMap
from ui.plots import HISTORY_S, TimePlot

_COL = {name: i for i, name in enumerate(COLUMNS)}
READOUTS = (("X", "m"), ("Y", "m"), ("Z", "m"), ("Pan", "°"), ("Tilt", "°"), ("Roll", "°"),
            ("Zoom", "raw"), ("Focus", "raw"))


class CameraPanel(QWidget):
    """Live view of one camera.

    Signals:
        camera_selected(str): the user picked another camera in the selector.
    """

    camera_selected = Signal(str)

    def __init__(self, stage: Stage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        self.camera: str | None = None
        self.selector = QComboBox(self)
        self.selector.addItems(list(stage.cameras))
        self.selector.currentTextChanged.connect(self._on_selector)
        self.state_label = QLabel("—", self)
        self.timecode_label = QLabel("--:--:--:--", self)
        self.timecode_label.setFont(theme.monospace(11, bold=True))
        head = QHBoxLayout()
        head.addWidget(QLabel("Camera", self))
        head.addWidget(self.selector)
        head.addWidget(self.state_label)
        head.addStretch(1)
        head.addWidget(QLabel("sample TC", self))
        head.addWidget(self.timecode_label)

        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        self.values: dict[str, QLabel] = {}
        for i, (name, unit) in enumerate(READOUTS):
            caption = QLabel(f"{name} <span style='color:{theme.DIM_TEXT}'>{unit}</span>", self)
            value = QLabel("—", self)
            value.setFont(theme.monospace(12, bold=True))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(90)
            grid.addWidget(caption, 0, i)
            grid.addWidget(value, 1, i)
            self.values[name] = value

        self.graphs = pg.GraphicsLayoutWidget(self)
        self.position_plot = TimePlot(self.graphs.addPlot(row=0, col=0), "Position", "m", [
            ("X", _COL["x_m"], theme.AXIS_COLOURS[0], 1.0),
            ("Y", _COL["y_m"], theme.AXIS_COLOURS[1], 1.0),
            ("Z", _COL["z_m"], theme.AXIS_COLOURS[2], 1.0)])
        self.rotation_plot = TimePlot(self.graphs.addPlot(row=1, col=0), "Rotation", "°", [
            ("pan", _COL["pan_deg"], theme.AXIS_COLOURS[0], 1.0),
            ("tilt", _COL["tilt_deg"], theme.AXIS_COLOURS[1], 1.0),
            ("roll", _COL["roll_deg"], theme.AXIS_COLOURS[2], 1.0)])
        self.lens_plot = TimePlot(self.graphs.addPlot(row=2, col=0), "Zoom / focus (raw encoder)", "", [
            ("zoom", _COL["zoom_raw"], theme.LENS_COLOURS[0], 1.0),
            ("focus", _COL["focus_raw"], theme.LENS_COLOURS[1], 1.0)])
        self.rotation_plot.plot.setXLink(self.position_plot.plot)
        self.lens_plot.plot.setXLink(self.position_plot.plot)
        self.lens_plot.plot.setLabel("bottom", "seconds before now")
        self.plots = (self.position_plot, self.rotation_plot, self.lens_plot)

        self.map = StageMap(self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.graphs)
        self.splitter.addWidget(self.map)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addLayout(grid)
        layout.addWidget(self.splitter, 1)
        if stage.cameras:
            self.select_camera(next(iter(stage.cameras)))

    def select_camera(self, name: str) -> None:
        """Show ``name`` (no-op for an unknown name)."""
        if name not in self.stage.cameras or name == self.camera:
            return
        self.camera = name
        self.map.selected = name
        if self.selector.currentText() != name:
            self.selector.setCurrentText(name)

    def _on_selector(self, name: str) -> None:
        if name and name != self.camera:
            self.select_camera(name)
            self.camera_selected.emit(name)

    def update_snapshot(self, snap: StageSnapshot) -> None:
        """Refresh readouts, plots and map from a snapshot (GUI thread, 30 Hz)."""
        now_s = snap.monotonic_ns / 1e9
        rows = None
        status = next((c for c in snap.cameras if c.name == self.camera), None)
        if status is not None and self.camera is not None:
            rows = self.stage.cameras[self.camera].ring.recent(HISTORY_S, now_s=now_s)
            for plot in self.plots:
                plot.update(rows, now_s)
            colour = theme.STATE_COLOURS.get(status.state, theme.TEXT)
            self.state_label.setText(f"<b style='color:{colour}'>● {status.state}</b> "
                                     f"<span style='color:{theme.DIM_TEXT}'>{status.rate_hz:.1f} Hz</span>")
            self._show_values(status.latest)
        self.map.update_snapshot(snap, rows)

    def _show_values(self, sample: CameraSample | None) -> None:
        if sample is None:
            return
        x, y, z = sample.translation_m
        pan, tilt, roll = sample.rotation_deg
        texts = {"X": f"{x:+.3f}", "Y": f"{y:+.3f}", "Z": f"{z:+.3f}", "Pan": f"{pan:+.2f}",
                 "Tilt": f"{tilt:+.2f}", "Roll": f"{roll:+.2f}",
                 "Zoom": "—" if sample.zoom_raw is None else str(sample.zoom_raw),
                 "Focus": "—" if sample.focus_raw is None else str(sample.focus_raw)}
        for name, text in texts.items():
            self.values[name].setText(text)
        self.timecode_label.setText(str(sample.timecode) if sample.timecode else "--:--:--:--")
