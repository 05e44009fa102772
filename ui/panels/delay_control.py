"""Delay line and smoothing for one camera, changed live.

Changes go to the I/O thread through :class:`~stagectl.stage.commands.StageCommands` (never waits) at
most every :data:`APPLY_INTERVAL_MS`, the latest value winning, so dragging a spinner does not flood the
loop. The controls show the camera's actual figures from the view (whoever changed them: this
panel, another window, a remote), except while the operator is editing or a change is on its way
(then the view would briefly show the old value).
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from stagectl.stage.commands import MAX_DELAY_MS, MAX_SMOOTHING, StageCommands
from stagectl.stage.view import CameraStatus
from ui import theme
from ui.panels.delay_measure_dialog import DelayMeasureDialog

#: At most one change per control is sent this often while the operator drags.
APPLY_INTERVAL_MS = 100
#: How long a sent change may take to show in the view before the control follows it again.
CONFIRM_TIMEOUT_S = 1.0
MS, FRAMES = 0, 1


def latency_text(cam: CameraStatus) -> str:
    """What smoothing costs, in the operator's terms: "adds 40 ms at 50 Hz" or "off (no added latency)"."""
    if not cam.smoothing:
        return "off (no added latency)"
    if not math.isfinite(cam.smoothing_latency_ms):
        return "adds ? ms (no rate measured yet)"
    ms = cam.smoothing_latency_ms
    figure = f"{ms:.0f}" if ms >= 10 else f"{ms:.1f}"
    return f"adds {figure} ms at {cam.rate_hz:.0f} Hz"


class _Sent:
    """A change on its way to the loop: the value the view should soon show, and when it left."""

    def __init__(self) -> None:
        self.value: float | None = None
        self.at = 0.0

    def expect(self, value: float) -> None:
        self.value, self.at = value, time.monotonic()

    def waiting(self, actual: float, tolerance: float) -> bool:
        """True while the view still shows something else (for at most CONFIRM_TIMEOUT_S)."""
        if self.value is None:
            return False
        if abs(actual - self.value) <= tolerance or time.monotonic() - self.at > CONFIRM_TIMEOUT_S:
            self.value = None
            return False
        return True


class DelayControl(QWidget):
    """Delay (ms or frames at the stage rate) and smoothing (samples) of the selected camera.

    Args:
        fps: the stage's frame rate, for delays in frames; ``rate``: how the stage file writes it.
        commands: where changes go (``set_delay``, ``set_smoothing``).

    Attributes:
        delay: the spin box, in the unit :attr:`unit` shows.
        unit: "ms" or "frames @ <rate>".
        other_unit: the delay in the other unit ("= 2.00 frames").
        smoothing: the window in samples (0 = off).
        latency: what the smoothing adds ("adds 40 ms at 50 Hz").
        measure_button: opens :attr:`measure_dialog`, which measures the delay from the camera's picture.
    """

    def __init__(self, fps: float, rate: str, commands: StageCommands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.commands = commands
        self.camera: str | None = None
        self.fps = fps
        mono = theme.monospace(11, bold=True)

        self.delay = QDoubleSpinBox(self)
        self.delay.setFont(mono)
        self.delay.setKeyboardTracking(False)  # typed values apply on Enter, not per keystroke
        self.delay.setAccelerated(True)
        self.delay.setFixedWidth(self.delay.fontMetrics().horizontalAdvance("1000.0 ms") + 40)
        self.delay.setToolTip("Holds every sample this long before it goes out, to line tracking up with "
                              "the video path")
        self.unit = QComboBox(self)
        self.unit.addItems(["ms", f"frames @ {theme.rate_label(self.fps)}"])
        self.unit.setToolTip("Delay in milliseconds or in frames of the stage rate "
                             f"({rate})")
        self.other_unit = QLabel("", self)
        self.other_unit.setFont(theme.monospace(10))
        self.other_unit.setStyleSheet(f"color: {theme.DIM_TEXT};")
        widest = self.other_unit.fontMetrics().horizontalAdvance("= 120.00 frames")  # 1 s at 120 fps
        self.other_unit.setMinimumWidth(widest + 8)

        self.smoothing = QSpinBox(self)
        self.smoothing.setFont(mono)
        self.smoothing.setRange(0, MAX_SMOOTHING)
        self.smoothing.setSpecialValueText("off")
        self.smoothing.setSuffix(" samples")
        self.smoothing.setKeyboardTracking(False)
        self.smoothing.setFixedWidth(self.smoothing.fontMetrics().horizontalAdvance("50 samples") + 40)
        self.smoothing.setToolTip("Moving average over this many samples: steadier pose, more latency")
        self.latency = QLabel("off (no added latency)", self)
        self.latency.setStyleSheet(f"color: {theme.ACCENT};")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        delay_caption = QLabel("Delay", self)
        delay_caption.setStyleSheet(f"color: {theme.DIM_TEXT};")
        smoothing_caption = QLabel("Smoothing", self)
        smoothing_caption.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.measure_button = QPushButton("Measure delay…", self)
        self.measure_button.setToolTip("Measure the delay from the camera's picture while it pans and tilts")
        self.measure_button.clicked.connect(self.open_measure)
        self.measure_dialog: DelayMeasureDialog | None = None
        widgets: tuple[QWidget, ...] = (delay_caption, self.delay, self.unit, self.other_unit,
                                        self.measure_button)
        for widget in widgets:
            layout.addWidget(widget)
        layout.addSpacing(24)
        widgets = (smoothing_caption, self.smoothing, self.latency)
        for widget in widgets:
            layout.addWidget(widget)
        layout.addStretch(1)

        self._delay_ms = 0.0  # the camera's actual delay, from the last view
        self._pending_delay: tuple[str, int, float] | None = None  # camera, unit, value
        self._pending_smoothing: tuple[str, int] | None = None
        self._sent_delay = _Sent()
        self._sent_smoothing = _Sent()
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(APPLY_INTERVAL_MS)
        self._apply_timer.timeout.connect(self._apply)
        self._set_unit_range(MS)
        self.delay.valueChanged.connect(self._on_delay)
        self.unit.currentIndexChanged.connect(self._on_unit)
        self.smoothing.valueChanged.connect(self._on_smoothing)

    # --- from the view ---------------------------------------------------------------------------

    def set_camera(self, name: str) -> None:
        """Control ``name`` from now on (a change still on its way goes to the camera it was for)."""
        if name != self.camera:
            # Leaving the spin boxes commits what was typed, to the camera it was typed for; then
            # nothing is being edited and the next view shows this camera's figures.
            self.delay.clearFocus()
            self.smoothing.clearFocus()
            self.camera = name
            self._sent_delay.value = self._sent_smoothing.value = None

    def update_status(self, cam: CameraStatus) -> None:
        """Follow the camera's actual delay and smoothing unless the operator is changing them."""
        self._delay_ms = cam.delay_ms
        delay_busy = (self.delay.hasFocus() or self._pending_delay is not None
                      or self._sent_delay.waiting(cam.delay_ms, 0.01))
        if not delay_busy:
            self._show_delay(cam.delay_ms)
        smoothing_busy = (self.smoothing.hasFocus() or self._pending_smoothing is not None
                          or self._sent_smoothing.waiting(cam.smoothing, 0))
        if not smoothing_busy and self.smoothing.value() != cam.smoothing:
            self.smoothing.blockSignals(True)
            self.smoothing.setValue(cam.smoothing)
            self.smoothing.blockSignals(False)
        text = latency_text(cam)
        if self.latency.text() != text:
            self.latency.setText(text)

    def _show_delay(self, delay_ms: float) -> None:
        value = delay_ms if self.unit.currentIndex() == MS else delay_ms * self.fps / 1000.0
        if abs(self.delay.value() - value) > 10 ** -self.delay.decimals() / 2:
            self.delay.blockSignals(True)
            self.delay.setValue(value)
            self.delay.blockSignals(False)
        self._show_other_unit()

    def _show_other_unit(self) -> None:
        value = self.delay.value()
        if self.unit.currentIndex() == MS:
            text = f"= {value * self.fps / 1000.0:.2f} frames"
        else:
            text = f"= {value * 1000.0 / self.fps:.1f} ms"
        if self.other_unit.text() != text:
            self.other_unit.setText(text)

    # --- from the operator -----------------------------------------------------------------------

    def _set_unit_range(self, unit: int) -> None:
        self.delay.blockSignals(True)
        if unit == MS:
            self.delay.setDecimals(1)
            self.delay.setRange(0.0, MAX_DELAY_MS)
            self.delay.setSingleStep(1.0)
            self.delay.setSuffix(" ms")
        else:
            self.delay.setDecimals(2)
            # Rounded down so the top of the range is still within MAX_DELAY_MS.
            self.delay.setRange(0.0, math.floor(MAX_DELAY_MS * self.fps / 10.0) / 100.0)
            self.delay.setSingleStep(1.0)
            self.delay.setSuffix(" fr")
        self.delay.blockSignals(False)

    def _on_unit(self, unit: int) -> None:
        pending = self._pending_delay
        shown_ms = self._delay_ms
        if pending is not None:
            shown_ms = pending[2] if pending[1] == MS else pending[2] * 1000.0 / self.fps
        self._set_unit_range(unit)
        self._show_delay(shown_ms)

    def _on_delay(self, value: float) -> None:
        self._show_other_unit()
        if self.camera is not None:
            self._pending_delay = (self.camera, self.unit.currentIndex(), value)
            self._schedule()

    def _on_smoothing(self, value: int) -> None:
        if self.camera is not None:
            self._pending_smoothing = (self.camera, value)
            self._schedule()

    def _schedule(self) -> None:
        # Not restarted on every change: while dragging, one change per interval still goes out.
        if not self._apply_timer.isActive():
            self._apply_timer.start()

    def _apply(self) -> None:
        commands = self.commands
        if self._pending_delay is not None:
            camera, unit, value = self._pending_delay
            self._pending_delay = None
            if unit == MS:
                commands.set_delay(camera, ms=value)
                expected_ms = value
            else:
                commands.set_delay(camera, frames=value)
                expected_ms = value * 1000.0 / self.fps
            if camera == self.camera:
                self._sent_delay.expect(expected_ms)
        if self._pending_smoothing is not None:
            camera, samples = self._pending_smoothing
            self._pending_smoothing = None
            commands.set_smoothing(camera, samples)
            if camera == self.camera:
                self._sent_smoothing.expect(samples if samples > 1 else 0)

    # --- measuring ------------------------------------------------------------------------------

    def open_measure(self) -> None:
        """Open the "Measure delay" dialog for the selected camera (one at a time, kept until closed)."""
        if self.camera is None:
            return
        dialog = self.measure_dialog
        if dialog is None or dialog.camera != self.camera:
            if dialog is not None:
                dialog.close()
            dialog = self.measure_dialog = DelayMeasureDialog(self.camera, self.commands, self.fps, self)
            dialog.resize(1100, 640)
        dialog.show()
        dialog.raise_()
