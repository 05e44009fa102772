"""Frustum dock: inner frustum, overscan, soft edge, chroma key and exposure cues for Unreal, and what
each Unreal node answered.

Every change of a control is pushed at once to each :class:`~stagectl.unreal.frustum.FrustumSender`
through ``call_in_loop`` (the stage's ``Stage.call_in_loop``; it never waits). The panel keeps no
queue and no timer of its own for changes: the sender keeps only the latest wanted cues and sends
the changed fields at most 60 times a second with one request in flight per target, so dragging a
slider (or a hung editor) never builds a backlog anywhere.

The targets table reads ``FrustumSender.status()`` (plain copies, any thread) at most 10 times a
second: link state and detail, the last acknowledgement (``ok``, or Unreal's error text verbatim in
red with the whole text as the tooltip), the round-trip time (or how long the request in flight has
been waiting) and sends per second. Rows are updated in place.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stagectl.stage.assembly import Stage
from stagectl.stage.snapshot import StageSnapshot
from stagectl.unreal.frustum import FrustumCues, FrustumSender, TargetAck
from stagectl.unreal.remote_control import RemoteControlClient
from ui import theme

#: The table is refreshed at most this often from the snapshot feed (ms).
STATUS_INTERVAL_MS = 100
#: A request in flight longer than this shows "waiting x.x s" instead of the last round trip.
WAITING_AFTER_S = 0.1
#: Sends per second are counted over this window.
RATE_WINDOW_S = 1.0
#: The longest acknowledgement text shown in the cell; the whole text is the tooltip.
ACK_CHARS = 160
#: Operator range of the exposure offset (the sender accepts more).
EXPOSURE_RANGE = (-4.0, 4.0)

Rgb = tuple[float, float, float]
SenderMap = Mapping[str, FrustumSender]
ClientMap = Mapping[str, RemoteControlClient]
CallInLoop = Callable[..., object]

COLUMNS = ("Target", "Link", "Acknowledgement", "RTT", "Sends/s")
TARGET, LINK, ACK, RTT, RATE = range(len(COLUMNS))


def theme_width(text: str) -> int:
    """Width of ``text`` in the panel's numbers font (15 pt bold monospace)."""
    return QFontMetrics(theme.monospace(15, bold=True)).horizontalAdvance(text)


def stage_senders(stage: Stage) -> SenderMap:
    """The stage's frustum senders by output name (empty when the stage has none)."""
    senders = getattr(stage, "frustum_senders", None)
    return senders if isinstance(senders, Mapping) else {}


def stage_clients(stage: Stage) -> ClientMap:
    """The stage's Remote Control clients by output name (empty when the stage has none)."""
    clients = getattr(getattr(stage, "outputs", None), "clients", None)
    return clients if isinstance(clients, Mapping) else {}


def link_detail(ack: TargetAck, clients: ClientMap) -> str:
    """The target's link detail ("websocket ws://…", "…; retry in 2.0 s"): ``TargetAck.detail`` when
    the sender reports it, else the ``detail`` of the client of that name."""
    if ack.detail:
        return ack.detail
    for client in clients.values():
        if client.name == ack.target:
            return client.detail
    return ""


def ack_text(ack: TargetAck) -> tuple[str, str, str]:
    """(cell text, colour, tooltip) of the last acknowledgement: "ok", Unreal's error, or none yet."""
    if ack.ok is None:
        if ack.in_flight:
            return "waiting for the first answer…", theme.DIM_TEXT, ""
        return "no answer yet", theme.DIM_TEXT, ""
    if ack.ok:
        return "ok", theme.ACK_OK_TEXT, f"{ack.acks} acknowledged, {ack.errors} refused or failed"
    text = ack.error or "failed"
    first = text.splitlines()[0] if text else ""
    if len(first) > ACK_CHARS or "\n" in text:
        first = first[:ACK_CHARS].rstrip() + " …"
    return first, theme.ACK_ERROR_TEXT, text


@dataclass
class _Row:
    """What one table row shows, and what the rate and waiting figures are computed from."""

    index: int
    sends: deque[tuple[float, int]] = field(default_factory=deque)
    in_flight_since: float | None = None
    in_flight_send: int = -1


class FrustumPanel(QWidget):
    """Frustum cue controls and per-target acknowledgements.

    Args:
        senders: returns the frustum senders by output name (read again on every refresh, so
            senders wired after the window opened appear).
        call_in_loop: ``fn(callable, *args)`` running the callable on the I/O loop, never waiting.
        clients: returns the Remote Control clients (any keys), for each target's link detail.
        poll_ms: refresh the table on a timer of its own (for use without the snapshot feed).

    Attributes:
        inner_frustum, chroma_key: checkable toggle buttons.
        overscan_slider, overscan (spin ×), soft_edge_slider, soft_edge, exposure_slider, exposure.
        colour_button: opens a colour dialog; :meth:`set_chroma_colour` sets the colour directly.
        chroma_colour: the chosen chroma key colour (r, g, b) in 0..1.
        table: one row per target; ``rows`` maps (output, target) to the row.
        pushes: changes pushed to the loop (one per control change and sender).
        notice: shown when there is no sender.
    """

    def __init__(self, senders: Callable[[], SenderMap], call_in_loop: CallInLoop,
                 parent: QWidget | None = None, *, clients: Callable[[], ClientMap] | None = None,
                 poll_ms: int | None = None) -> None:
        super().__init__(parent)
        self._senders = senders
        self._clients: Callable[[], ClientMap] = clients or dict
        self._call_in_loop = call_in_loop
        self.pushes = 0
        self.rows: dict[tuple[str, str], _Row] = {}
        self._last_refresh = 0.0
        self._dialog: QColorDialog | None = None
        cues = self._current_cues()
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

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Unreal's error wraps onto more lines rather than being cut at the column's edge.
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setMinimumSectionSize(self.table.fontMetrics().height() + 14)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        self.table.setStyleSheet(f"QHeaderView::section {{ font-size: {big.pointSize() - 1}pt; }}")
        self.table.setFont(big)  # a widget with a style sheet no longer inherits its parent's font
        for column in (TARGET, RTT, RATE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # The link detail and Unreal's answer share what is left, and wrap in a narrow dock.
        header.setSectionResizeMode(LINK, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ACK, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(self.table.fontMetrics().horizontalAdvance("Sends/s") + 16)
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
        self._poll: QTimer | None = None
        if poll_ms is not None:
            self._poll = QTimer(self)
            self._poll.setInterval(poll_ms)
            self._poll.timeout.connect(self.refresh)
            self._poll.start()

    @classmethod
    def for_stage(cls, stage: Stage, parent: QWidget | None = None) -> FrustumPanel:
        """The panel driving ``stage.frustum_senders`` through ``stage.call_in_loop``."""
        return cls(lambda: stage_senders(stage), stage.call_in_loop, parent,
                   clients=lambda: stage_clients(stage))

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

    def _current_cues(self) -> FrustumCues:
        senders = self._senders()
        return next(iter(senders.values())).cues if senders else FrustumCues()

    def _controls(self) -> tuple[QWidget, ...]:
        return (self.inner_frustum, self.chroma_key, self.colour_button, self.overscan_slider, self.overscan,
                self.soft_edge_slider, self.soft_edge, self.exposure_slider, self.exposure)

    def _show_cues(self, cues: FrustumCues) -> None:
        """Set every control to ``cues`` without pushing anything."""
        widgets = self._controls()
        for widget in widgets:
            widget.blockSignals(True)
        self.inner_frustum.setChecked(cues.inner_frustum)
        self.inner_frustum.setText(f"Inner frustum: {'ON' if cues.inner_frustum else 'OFF'}")
        self.chroma_key.setChecked(cues.chroma_key)
        self.chroma_key.setText(f"Chroma key: {'ON' if cues.chroma_key else 'OFF'}")
        exposure = min(max(cues.exposure_stops, EXPOSURE_RANGE[0]), EXPOSURE_RANGE[1])
        for slider, spin, value, step in ((self.overscan_slider, self.overscan, cues.overscan, 0.01),
                                          (self.soft_edge_slider, self.soft_edge, cues.soft_edge, 0.01),
                                          (self.exposure_slider, self.exposure, exposure, 0.1)):
            slider.setValue(round(value / step))
            spin.setValue(value)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_colour(cues.chroma_key_colour)

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
        """Hand the change to every sender on the I/O loop (the sender coalesces; latest wins)."""
        for sender in self._senders().values():
            self.pushes += 1
            self._call_in_loop(partial(sender.set, **changes))

    # --- refreshing (GUI thread) -----------------------------------------------------------------

    def update_snapshot(self, _snap: StageSnapshot) -> None:
        """From the window's snapshot feed (30 Hz): refresh the table at most every 100 ms, when seen."""
        now = time.monotonic()
        if self.isVisible() and now - self._last_refresh >= STATUS_INTERVAL_MS / 1000.0:
            self.refresh()

    def refresh(self) -> None:
        """Read every sender's per-target status and update the table in place."""
        now = time.monotonic()
        self._last_refresh = now
        senders = self._senders()
        clients = self._clients()
        acks = [(output, ack, link_detail(ack, clients)) for output, sender in senders.items()
                for ack in sender.status()]
        keys = [(output, ack.target) for output, ack, _detail in acks]
        if keys != list(self.rows):
            self._rebuild(keys)
        has_senders = bool(senders)
        if self.notice.isHidden() == (not has_senders):
            self.notice.setVisible(not has_senders)
            for widget in self._controls():
                widget.setEnabled(has_senders)
        for (output, ack, detail), key in zip(acks, keys, strict=True):
            self._show_row(self.rows[key], output, ack, detail, now)

    def _rebuild(self, keys: list[tuple[str, str]]) -> None:
        self.table.setRowCount(len(keys))
        self.rows = {}
        for index, key in enumerate(keys):
            self.rows[key] = _Row(index)
            for column in range(len(COLUMNS)):
                item = QTableWidgetItem("")
                if column in (RTT, RATE):
                    item.setFont(theme.monospace(12, bold=True))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(index, column, item)

    def _show_row(self, row: _Row, output: str, ack: TargetAck, detail: str, now: float) -> None:
        name = ack.target if ack.target == output else f"{output} / {ack.target}"
        state_colour = theme.state_colour(ack.link)
        link = f"● {ack.link}" + (f" · {detail}" if detail else "")
        self._set(row.index, TARGET, name, None, f"output {output}, Unreal node {ack.target}")
        self._set(row.index, LINK, link, state_colour, detail or ack.link)
        text, colour, tooltip = ack_text(ack)
        self._set(row.index, ACK, text, colour, tooltip)

        # How long the request in flight has waited: from the refresh that first saw it.
        if ack.in_flight and row.in_flight_send != ack.sends:
            row.in_flight_since, row.in_flight_send = now, ack.sends
        elif not ack.in_flight:
            row.in_flight_since, row.in_flight_send = None, -1
        waited = now - row.in_flight_since if row.in_flight_since is not None else 0.0
        if waited >= WAITING_AFTER_S:
            self._set(row.index, RTT, f"waiting {waited:.1f} s", theme.WARNING_TEXT,
                      "a request is on its way and Unreal has not answered yet")
        elif ack.rtt_ms is not None:
            self._set(row.index, RTT, f"{ack.rtt_ms:.1f} ms", None,
                      "round trip of the last answered send")
        else:
            self._set(row.index, RTT, "—", theme.DIM_TEXT, "no answered send yet")

        row.sends.append((now, ack.sends))
        while len(row.sends) > 2 and now - row.sends[1][0] >= RATE_WINDOW_S:
            row.sends.popleft()
        first_t, first_sends = row.sends[0]
        span = now - first_t
        rate = (ack.sends - first_sends) / span if span > 0.05 else 0.0
        self._set(row.index, RATE, f"{rate:.0f}", None,
                  f"{ack.sends} sends, {ack.acks} acknowledged, {ack.errors} refused or failed")

    def _set(self, row: int, column: int, text: str, colour: str | None, tooltip: str) -> None:
        item = self.table.item(row, column)
        if item is None:
            return
        if item.text() != text:
            item.setText(text)
        if item.toolTip() != tooltip:
            item.setToolTip(tooltip)
        if colour is None:  # ordinary text: the palette's, readable with or without the dark theme
            if item.data(Qt.ItemDataRole.ForegroundRole) is not None:
                item.setData(Qt.ItemDataRole.ForegroundRole, None)
        elif item.foreground().color().name() != colour:
            item.setForeground(QColor(colour))

    # --- closing ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the panel's own refresh timer (if any) and close the colour dialog."""
        if self._poll is not None:
            self._poll.stop()
        if self._dialog is not None:
            self._dialog.close()
