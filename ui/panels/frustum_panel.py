"""Frustum dock: inner frustum, overscan, soft edge, chroma key and exposure cues for Unreal, and what
each Unreal node answered.

Every change of a control is pushed at once (``StageCommands.set_frustum_cues``; it never waits) to
every :class:`~stagectl.unreal.frustum.FrustumSender`. The panel keeps no queue and no timer of its own
for changes: the sender keeps only the latest wanted cues and sends the changed fields at most 60
times a second with one request in flight per target, so dragging a slider (or a hung editor) never
builds a backlog anywhere.

The controls follow the cues in each :class:`~stagectl.stage.view.FrustumView`, whoever set them: a
look recalled in the Lighting dock or over OSC control-in, a cue sent to the ``frustum`` device over
OSC. A control the operator is moving, or whose change is still on its way, keeps its own value
until the view agrees (or :data:`CONFIRM_TIMEOUT_S` passes).

The targets table (at most 10 refreshes a second) shows each node's link state and detail, the last
acknowledgement (``ok``, or Unreal's error text verbatim in red with the whole text as the tooltip),
the round-trip time (or how long the request in flight has been waiting) and sends per second. Rows
are updated in place.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import (
    QColorDialog,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from stagectl.stage.view import FrustumCues, FrustumView, StageView
from ui import theme
from ui.panels.frustum_targets import ACK, LINK, RATE, RTT, TARGET, FrustumTargets
from ui.seen import seen

__all__ = ["ACK", "LINK", "RATE", "RTT", "TARGET", "FrustumPanel", "same_value"]

#: The table is refreshed at most this often from the view feed (ms).
STATUS_INTERVAL_MS = 100
#: Operator range of the exposure offset (the sender accepts more).
EXPOSURE_RANGE = (-4.0, 4.0)
#: How long a pushed change may take to show in the view before the control follows the view again.
CONFIRM_TIMEOUT_S = 1.0

Rgb = tuple[float, float, float]
#: Hands cue changes to the stage (``StageCommands.set_frustum_cues``); never waits.
Push = Callable[[Mapping[str, Any]], object]


def theme_width(text: str) -> int:
    """Width of ``text`` in the panel's numbers font (15 pt bold monospace)."""
    return QFontMetrics(theme.monospace(15, bold=True)).horizontalAdvance(text)


def same_value(a: object, b: object) -> bool:
    """True when two cue values are equal (numbers to within 1e-6, colours channel by channel)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, abs_tol=1e-6)
    return a == b


class FrustumPanel(QWidget):
    """Frustum cue controls and per-target acknowledgements.

    Args:
        push: hands cue changes to the stage (``StageCommands.set_frustum_cues``), never waiting.
        frustum: the stage's frustum as the first view shows it.

    Attributes:
        inner_frustum, chroma_key: checkable toggle buttons.
        overscan_slider, overscan (spin ×), soft_edge_slider, soft_edge, exposure_slider, exposure.
        colour_button: opens a colour dialog; :meth:`set_chroma_colour` sets the colour directly.
        chroma_colour: the chosen chroma key colour (r, g, b) in 0..1.
        cues: the cues the controls show.
        table: one row per Unreal node (:class:`~ui.panels.frustum_targets.FrustumTargets`).
        pushes: changes pushed to the stage (one per control change).
        notice: shown when there is no Unreal output.
    """

    def __init__(self, push: Push, frustum: FrustumView | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._push_to_stage = push
        self.frustum = frustum or FrustumView()
        self.pushes = 0
        self._last_refresh = 0.0
        self._dialog: QColorDialog | None = None
        self._expected: dict[str, tuple[object, float]] = {}  # field -> (value pushed, when)
        cues = self.frustum.cues or FrustumCues()
        self.cues = cues
        self.chroma_colour: Rgb = cues.chroma_key_colour

        big = self.font()
        big.setPointSize(max(big.pointSize(), 10) + 3)
        self.setFont(big)
        mono = theme.monospace(15, bold=True)

        self.inner_frustum = self._toggle("Inner frustum", "Show the camera's inner frustum on the wall")
        self.chroma_key = self._toggle("Chroma key", "Fill the inner frustum with the chroma key colour")
        self.colour_button = QPushButton("", self)
        self.colour_button.setMinimumHeight(46)
        self.colour_button.setFont(theme.monospace(13, bold=True))
        self.colour_button.clicked.connect(self.choose_colour)

        self.overscan_slider, self.overscan = self._slider_pair(
            (0.05, 5.0), 0.01, 2, " ×", "Field of view multiplier of the inner frustum (1 × = the lens)")
        self.soft_edge_slider, self.soft_edge = self._slider_pair(
            (0.0, 1.0), 0.01, 2, "", "Feathering of the inner frustum's edge (0 = hard edge)")
        self.exposure_slider, self.exposure = self._slider_pair(
            EXPOSURE_RANGE, 0.1, 1, " stops", "Exposure offset of the inner frustum, in stops")
        for spin in (self.overscan, self.soft_edge, self.exposure):
            spin.setFont(mono)
            spin.setMinimumHeight(40)
        self.overscan.setSingleStep(0.05)

        self._show_cues(cues)
        self._show_colour(cues.chroma_key_colour)
        self._connect()

        controls = QGridLayout()
        controls.setHorizontalSpacing(12)
        controls.setVerticalSpacing(10)
        toggles = QHBoxLayout()
        toggles.addWidget(self.inner_frustum)
        toggles.addSpacing(24)
        toggles.addWidget(self.chroma_key)
        toggles.addWidget(self.colour_button)
        toggles.addStretch(1)
        controls.addLayout(toggles, 0, 0, 1, 3)
        for row, (caption, slider, spin) in enumerate(
                (("Overscan", self.overscan_slider, self.overscan),
                 ("Soft edge", self.soft_edge_slider, self.soft_edge),
                 ("Exposure", self.exposure_slider, self.exposure)), start=1):
            label = QLabel(caption, self)
            label.setStyleSheet(f"color: {theme.DIM_TEXT};")
            label.setFont(big)
            controls.addWidget(label, row, 0)
            controls.addWidget(slider, row, 1)
            controls.addWidget(spin, row, 2)
        controls.setColumnStretch(1, 1)

        self.notice = QLabel("No Unreal Remote Control output in this stage file: frustum cues go nowhere. "
                             "Add an [[outputs]] table for an Unreal node to drive its inner frustum.", self)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {theme.WARNING_TEXT};")
        self.notice.setFont(big)
        self.notice.hide()

        self.table = FrustumTargets(big, self)
        targets_caption = QLabel("Unreal nodes", self)
        targets_caption.setStyleSheet(f"color: {theme.DIM_TEXT};")
        targets_caption.setFont(big)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addLayout(controls)
        layout.addWidget(self.notice)
        layout.addSpacing(6)
        layout.addWidget(targets_caption)
        layout.addWidget(self.table, 1)

        self.refresh()

    # --- building --------------------------------------------------------------------------------

    def _toggle(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setCheckable(True)
        button.setStyleSheet(theme.TOGGLE_STYLE)
        button.setFont(self.font())
        button.setMinimumHeight(46)
        button.setMinimumWidth(button.fontMetrics().horizontalAdvance(f"{text}: OFF") + 48)
        button.setToolTip(tip)
        button.toggled.connect(lambda on, b=button, t=text: b.setText(f"{t}: {'ON' if on else 'OFF'}"))
        button.setText(f"{text}: OFF")
        return button

    def _slider_pair(self, bounds: tuple[float, float], step: float, decimals: int, suffix: str,
                     tip: str) -> tuple[QSlider, QDoubleSpinBox]:
        low, high = bounds
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(round(low / step), round(high / step))
        slider.setPageStep(10)
        slider.setStyleSheet(theme.BIG_SLIDER_STYLE)
        slider.setToolTip(tip)
        spin = QDoubleSpinBox(self)
        spin.setRange(low, high)
        spin.setDecimals(decimals)
        spin.setSingleStep(step)
        spin.setSuffix(suffix)
        spin.setKeyboardTracking(False)  # typed values go out on Enter, not per keystroke
        spin.setAccelerated(True)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        spin.setFixedWidth(theme_width("-0.00 stops") + 56)  # one width: the three line up
        spin.setToolTip(tip)
        return slider, spin

    def _connect(self) -> None:
        self.inner_frustum.toggled.connect(lambda on: self._push(inner_frustum=bool(on)))
        self.chroma_key.toggled.connect(lambda on: self._push(chroma_key=bool(on)))
        pairs: tuple[tuple[QSlider, QDoubleSpinBox, str, float], ...] = (
            (self.overscan_slider, self.overscan, "overscan", 0.01),
            (self.soft_edge_slider, self.soft_edge, "soft_edge", 0.01),
            (self.exposure_slider, self.exposure, "exposure_stops", 0.1),
        )
        for slider, spin, name, step in pairs:
            slider.valueChanged.connect(partial(self._on_slider, spin, name, step))
            spin.valueChanged.connect(partial(self._on_spin, slider, name, step))

    def _controls(self) -> tuple[QWidget, ...]:
        return (self.inner_frustum, self.chroma_key, self.colour_button, self.overscan_slider, self.overscan,
                self.soft_edge_slider, self.soft_edge, self.exposure_slider, self.exposure)

    def _show_cues(self, cues: FrustumCues, held: frozenset[str] = frozenset()) -> None:
        """Set every control to ``cues`` (except the ``held`` fields) without pushing anything."""
        self.cues = cues
        widgets = self._controls()
        for widget in widgets:
            widget.blockSignals(True)
        for name, button, text in (("inner_frustum", self.inner_frustum, "Inner frustum"),
                                   ("chroma_key", self.chroma_key, "Chroma key")):
            on = bool(getattr(cues, name))
            if name not in held and button.isChecked() != on:
                button.setChecked(on)
                button.setText(f"{text}: {'ON' if on else 'OFF'}")
        exposure = min(max(cues.exposure_stops, EXPOSURE_RANGE[0]), EXPOSURE_RANGE[1])
        for name, slider, spin, value, step in (
                ("overscan", self.overscan_slider, self.overscan, cues.overscan, 0.01),
                ("soft_edge", self.soft_edge_slider, self.soft_edge, cues.soft_edge, 0.01),
                ("exposure_stops", self.exposure_slider, self.exposure, exposure, 0.1)):
            if name in held:
                continue
            if slider.value() != round(value / step):
                slider.setValue(round(value / step))
            if not same_value(spin.value(), round(value, spin.decimals())):
                spin.setValue(value)
        for widget in widgets:
            widget.blockSignals(False)
        if "chroma_key_colour" not in held and not same_value(cues.chroma_key_colour, self.chroma_colour):
            self._show_colour(cues.chroma_key_colour)

    def _held(self, cues: FrustumCues, now: float) -> frozenset[str]:
        """The fields whose controls keep their own value: being moved, or a change still on its way."""
        held = {name for name, (value, at) in self._expected.items()
                if not same_value(getattr(cues, name), value) and now - at <= CONFIRM_TIMEOUT_S}
        self._expected = {name: self._expected[name] for name in held}
        for name, slider, spin in (("overscan", self.overscan_slider, self.overscan),
                                   ("soft_edge", self.soft_edge_slider, self.soft_edge),
                                   ("exposure_stops", self.exposure_slider, self.exposure)):
            if slider.isSliderDown() or spin.hasFocus():
                held.add(name)
        if self._dialog is not None and self._dialog.isVisible():
            held.add("chroma_key_colour")
        return frozenset(held)

    # --- from the operator -----------------------------------------------------------------------

    def _on_slider(self, spin: QDoubleSpinBox, name: str, step: float, position: int) -> None:
        value = round(position * step, 4)
        spin.blockSignals(True)
        spin.setValue(value)
        spin.blockSignals(False)
        self._push(**{name: value})

    def _on_spin(self, slider: QSlider, name: str, step: float, value: float) -> None:
        slider.blockSignals(True)
        slider.setValue(round(value / step))
        slider.blockSignals(False)
        self._push(**{name: value})

    def choose_colour(self) -> None:
        """Open the colour dialog (not modal: the panel and the stage go on meanwhile)."""
        if self._dialog is None:
            self._dialog = QColorDialog(self)
            self._dialog.setWindowTitle("Chroma key colour")
            self._dialog.colorSelected.connect(self._on_colour_selected)
        self._dialog.setCurrentColor(QColor.fromRgbF(*self.chroma_colour))
        self._dialog.open()

    def _on_colour_selected(self, colour: QColor) -> None:
        if colour.isValid():
            self.set_chroma_colour((colour.redF(), colour.greenF(), colour.blueF()))

    def set_chroma_colour(self, rgb: Rgb) -> None:
        """Use ``rgb`` (0..1 each) as the chroma key colour and push it."""
        clamped = (min(max(float(rgb[0]), 0.0), 1.0), min(max(float(rgb[1]), 0.0), 1.0),
                   min(max(float(rgb[2]), 0.0), 1.0))
        self._show_colour(clamped)
        self._push(chroma_key_colour=clamped)

    def _show_colour(self, rgb: Rgb) -> None:
        self.chroma_colour = rgb
        colour = QColor.fromRgbF(*rgb)
        text_colour = "#000000" if colour.lightnessF() > 0.45 else "#ffffff"
        self.colour_button.setText(f"{rgb[0]:.2f} {rgb[1]:.2f} {rgb[2]:.2f}")
        self.colour_button.setToolTip(f"Chroma key colour R {rgb[0]:.3f} G {rgb[1]:.3f} B {rgb[2]:.3f} "
                                      "(linear 0..1); click to choose another")
        self.colour_button.setStyleSheet(
            f"QPushButton {{ background: {colour.name()}; color: {text_colour}; padding: 8px 14px;"
            f" border: 2px solid #3a4350; border-radius: 6px; }}")

    def _push(self, **changes: Any) -> None:
        """Hand the change to the stage (the senders coalesce; latest wins)."""
        if self.frustum.cues is None:
            return  # no Unreal output: nothing to send to
        now = time.monotonic()
        for name, value in changes.items():
            self._expected[name] = (value, now)
        self.pushes += 1
        self._push_to_stage(changes)

    # --- refreshing (GUI thread) -----------------------------------------------------------------

    def update_view(self, view: StageView) -> None:
        """From the window's view feed (30 Hz): follow the cues; the table at most every 100 ms, when seen."""
        now = time.monotonic()
        table = seen(self) and now - self._last_refresh >= STATUS_INTERVAL_MS / 1000.0
        self.show_frustum(view.frustum, table=table)

    def show_frustum(self, frustum: FrustumView, *, table: bool = True) -> None:
        """Follow ``frustum``'s cues (see the module docstring); refresh the table unless ``table``
        is False."""
        self.frustum = frustum
        if frustum.cues is not None:
            self._show_cues(frustum.cues, self._held(frustum.cues, time.monotonic()))
        if table:
            self.refresh()

    def refresh(self) -> None:
        """Show the last frustum view's per-target status in the table (in place)."""
        now = time.monotonic()
        self._last_refresh = now
        self.table.show_targets(self.frustum.targets, now)
        has_senders = self.frustum.cues is not None
        if self.notice.isHidden() == (not has_senders):
            self.notice.setVisible(not has_senders)
            for widget in self._controls():
                widget.setEnabled(has_senders)

    def stop(self) -> None:
        """Close the colour dialog (window closing)."""
        if self._dialog is not None:
            self._dialog.close()
