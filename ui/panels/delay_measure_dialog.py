"""Measure delay: a camera's picture against its tracking, on a worker, with Apply and Cancel.

The operator names the picture source (a capture device, a stream, or a video file played as if live),
presses Start and pans and tilts the camera. The measurement runs through
:meth:`StageCommands.measure_delay` on a thread of its own; its progress (a preview of the newest
frame, the motion meter) and its result come back on the GUI thread through the commands' hop, the
newest progress only. The two motion curves (picture and tracking, along the axis that moved most) are
drawn before and after alignment; Apply sets the camera's delay line (:meth:`StageCommands.set_delay`)
and says the stage file line that keeps it. Nothing here waits for the worker or the loop.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stagectl.stage.commands import StageCommands
from ui import theme
from ui.plots import set_title

if TYPE_CHECKING:
    from stagectl.stage.delay_jobs import DelayProgress
    from stagectl.takes.motion.lag import DelayResult

#: The preview's size on screen (px).
PREVIEW_SIZE = (320, 180)
PICTURE_COLOUR = theme.ACCENT
TRACKING_COLOUR = "#58a6ff"


class DelayMeasureDialog(QDialog):
    """Measure ``camera``'s delay from its picture (see the module docstring).

    Attributes:
        source_edit / seconds: what to capture and for how long.
        start_button / apply_button / cancel_button: Start, Apply (once there is a result), Cancel.
        preview: the newest frame; meter: the motion meter (0..100); meter_text: its figures.
        before_plot / after_plot: the motion curves before and after alignment.
        result_label: the delay, its uncertainty and confidence, or why there is none.
        job: the running measurement (None before Start); measured: the last delay measured.
    """

    def __init__(self, camera: str, commands: StageCommands, fps: float, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.camera, self.commands, self.fps = camera, commands, fps
        self.setWindowTitle(f"Measure delay — camera {camera}")
        self.job: Future[DelayResult] | None = None
        self.measured: DelayResult | None = None
        self._cancel = threading.Event()
        self._busy = False

        self.source_edit = QLineEdit(self)
        self.source_edit.setPlaceholderText("0, /dev/video0, rtsp://…, or a video file")
        self.source_edit.setToolTip("The camera's picture: a capture device index or path (UVC/HDMI grabber, "
                                    "SDI card), a stream URL, or a recorded clip (played at its own rate)")
        self.file_button = QPushButton("File…", self)
        self.file_button.clicked.connect(self._choose_file)
        self.seconds = QDoubleSpinBox(self)
        self.seconds.setRange(2.0, 60.0)
        self.seconds.setValue(10.0)
        self.seconds.setSuffix(" s")
        self.seconds.setDecimals(0)
        self.instructions = QLabel("Press Start, then pan and tilt the camera briskly, with sudden stops, "
                                   "until the meter is full.", self)
        self.instructions.setWordWrap(True)

        self.preview = QLabel("no picture yet", self)
        self.preview.setFixedSize(*PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet(f"background: #000; color: {theme.DIM_TEXT};")
        self.meter = QProgressBar(self)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedHeight(14)
        self.meter_text = QLabel("motion —", self)
        self.meter_text.setFont(theme.monospace(10))
        self.elapsed = QProgressBar(self)
        self.elapsed.setRange(0, 1000)
        self.elapsed.setFormat("capture")
        self.elapsed.setFixedHeight(16)

        self.plots = pg.GraphicsLayoutWidget(self)
        self.plots.setMinimumSize(560, 340)
        self.before_plot = self.plots.addPlot(row=0, col=0)
        self.after_plot = self.plots.addPlot(row=1, col=0)
        self._curves = {}
        for name, plot in (("before", self.before_plot), ("after", self.after_plot)):
            title = "Before alignment" if name == "before" else "After alignment"
            entries = [("picture", PICTURE_COLOUR), ("tracking", TRACKING_COLOUR)]
            set_title(plot, theme.legend_title(title, entries))
            plot.setLabel("left", "speed", units="°/s")
            plot.setLabel("bottom", "capture time", units="s")
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.getAxis("left").setWidth(52)
            self._curves[name] = (plot.plot([], [], pen=pg.mkPen(PICTURE_COLOUR, width=1.6)),
                                  plot.plot([], [], pen=pg.mkPen(TRACKING_COLOUR, width=1.4)))
        self.after_plot.setXLink(self.before_plot)

        self.result_label = QLabel("", self)
        self.result_label.setFont(theme.monospace(12, bold=True))
        self.result_label.setWordWrap(True)
        self.detail_label = QLabel("", self)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.setStyleSheet(f"color: {theme.DIM_TEXT};")

        self.start_button = QPushButton("Start", self)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setToolTip("Set the camera's delay line to the measured delay")
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self._layout()
        self._update_buttons()

    def _layout(self) -> None:
        top = QGridLayout()
        top.addWidget(QLabel("Picture", self), 0, 0)
        top.addWidget(self.source_edit, 0, 1)
        top.addWidget(self.file_button, 0, 2)
        top.addWidget(QLabel("Capture", self), 0, 3)
        top.addWidget(self.seconds, 0, 4)
        top.setColumnStretch(1, 1)
        left = QVBoxLayout()
        left.addWidget(self.preview)
        left.addWidget(QLabel("Motion", self))
        left.addWidget(self.meter)
        left.addWidget(self.meter_text)
        left.addWidget(self.elapsed)
        left.addStretch(1)
        middle = QHBoxLayout()
        middle.addLayout(left)
        middle.addWidget(self.plots, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.apply_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.instructions)
        layout.addLayout(middle, 1)
        layout.addWidget(self.result_label)
        layout.addWidget(self.detail_label)
        layout.addLayout(buttons)

    @property
    def running(self) -> bool:
        """True from Start until the outcome has been shown."""
        return self._busy

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running)
        self.apply_button.setEnabled(not running and self.measured is not None)
        self.cancel_button.setText("Stop" if running else "Close")
        for widget in (self.source_edit, self.file_button, self.seconds):
            widget.setEnabled(not running)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Video of the camera", "",
                                              "Video (*.mov *.mp4 *.mxf *.mkv *.avi);;All files (*)")
        if path:
            self.source_edit.setText(path)

    def _say(self, text: str, detail: str = "", colour: str = theme.TEXT) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet(f"color: {colour};")
        self.detail_label.setText(detail)

    # --- the measurement -------------------------------------------------------------------------

    def start(self) -> None:
        """Start a measurement on a worker (returns at once)."""
        source = self.source_edit.text().strip()
        if self.running:
            return
        if not source:
            self._say("Give the camera's picture first", "a device index (0), a device path, a stream URL or "
                      "a video file", theme.FAULT_TEXT)
            return
        self.measured = None
        self._cancel = threading.Event()
        for picture, tracking in self._curves.values():
            picture.setData([], [])
            tracking.setData([], [])
        self._say("Capturing: pan and tilt now", "")
        self._busy = True
        self.job = self.commands.measure_delay(self.camera, source, self.seconds.value(),
                                               progress=self.on_progress, cancel=self._cancel,
                                               done=self._on_done)
        self._update_buttons()

    def on_progress(self, progress: DelayProgress) -> None:
        """The newest figures from the worker (GUI thread)."""
        if progress.stage == "measuring":
            self.elapsed.setValue(1000)
            self._say("Measuring…")
            return
        self.elapsed.setValue(round(1000 * progress.elapsed_s / max(progress.seconds, 1e-9)))
        self.meter.setValue(round(100 * progress.level))
        colour = theme.STATE_COLOURS["up"] if progress.enough else theme.WARNING_TEXT
        self.meter.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        say = "enough" if progress.enough else "more, please"
        self.meter_text.setText(f"{progress.tracking_deg_s:5.1f} °/s  {say}")
        if progress.preview is not None:
            self._show_preview(progress.preview)

    def _show_preview(self, rgb: np.ndarray) -> None:
        frame = np.ascontiguousarray(rgb)
        h, w = frame.shape[:2]
        image = QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        pixmap = QPixmap.fromImage(image).scaled(*PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(pixmap)

    def _on_done(self, job: Future[DelayResult]) -> None:
        if job is not self.job:
            return
        self._busy = False
        exc = job.exception()
        if exc is not None:
            self._say("No delay measured", str(exc), theme.FAULT_TEXT)
        else:
            self.show_result(job.result())
        self._update_buttons()

    def show_result(self, result: DelayResult) -> None:
        """Show a measured delay and its curves."""
        self.measured = result
        self._say(f"Delay {result.offset_ms:.1f} ms  ({result.offset_frames:.2f} frames @ "
                  f"{theme.rate_label(result.rate_fps)})  ± {result.uncertainty_ms:.1f} ms · confidence "
                  f"{result.confidence:.2f}",
                  f"halves {result.halves_ms[0]:.1f} / {result.halves_ms[1]:.1f} ms · {result.frames} "
                  f"frames · {result.motion_deg_s:.0f} °/s · focal length {result.focal_px:.0f} px (from the "
                  f"{result.focal_from})" + "".join(f"\n⚠ {w}" for w in result.warnings),
                  theme.ACCENT)
        c = result.curves
        for name, tracking in (("before", c.tracking_before), ("after", c.tracking_after)):
            picture_curve, tracking_curve = self._curves[name]
            picture_curve.setData(c.times_s, c.picture)
            tracking_curve.setData(c.times_s, tracking)
        entries = [("picture", PICTURE_COLOUR), ("tracking", TRACKING_COLOUR)]
        title = f"After alignment (tracking {result.offset_ms:+.1f} ms)"
        set_title(self.after_plot, theme.legend_title(title, entries))
        self._update_buttons()

    def apply(self) -> None:
        """Set the camera's delay line to the measured delay (the outcome is said when the loop answers)."""
        if self.measured is None:
            return
        ms = self.measured.offset_ms
        self.commands.set_delay(self.camera, ms=round(ms, 1), done=lambda f: self._on_applied(f, ms))

    def _on_applied(self, job: Future[float], ms: float) -> None:
        exc = job.exception()
        if exc is not None:
            self.detail_label.setText(f"not applied: {exc}")
            self.detail_label.setStyleSheet(f"color: {theme.FAULT_TEXT};")
            return
        from stagectl.stage.delay_jobs import stage_file_line  # loaded with the measurement already

        line = stage_file_line(self.camera, ms)
        self.detail_label.setText(f"Applied: camera {self.camera}'s delay line is {job.result():.1f} ms for "
                                  f"this run. To keep it, put this in the stage file:\n{line}")
        self.detail_label.setStyleSheet(f"color: {theme.TEXT};")

    def cancel(self) -> None:
        """Stop a running measurement (the worker stops at its next frame), else close."""
        if self.running:
            self._cancel.set()
            self._say("Stopping…")
            return
        self.reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window stops a running measurement too."""
        self._cancel.set()
        super().closeEvent(event)
