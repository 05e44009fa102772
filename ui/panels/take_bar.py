"""The take bar: a big RECORD / STOP button, the running timecode, the slate and the recorder's lag.

One strip for the top of the window (the main window puts it in a toolbar). Every action goes to
the recorder on the I/O loop through :class:`~stagectl.stage.commands.StageCommands` and never
waits; what the recorder did shows in the recorder status of the next view, 30 a second (the
timecode label ticks at about the frame rate). A refusal ("already recording") is an event in the
Log dock (the commands post it) and is also shown in the bar for :data:`REFUSAL_SHOWN_S` seconds.

The slate (production, scene, shot, take number, cameras, notes) is edited here and sent to the
recorder when a field is finished (Enter or leaving it); it is locked while a take runs (the
take's slate is fixed at record). "Note" adds an operator note into the take in progress.

Lag: records waiting for the journal thread, batches waiting for the committer and the age of
the last commit, green while small, amber while growing, red past :data:`LAG_FAULT` or with an
error (its text is shown).

Facility: on a stage with ``[facility]`` a small line says how the newest takes stand in the facility
store (synced, pending, behind N s, error and why), dim while all is well, amber while the database is
down (the takes are safe here), red for an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from stagectl.stage.commands import StageCommands
from stagectl.stage.facility import bar_summary
from stagectl.stage.view import RecorderStatus, StageView
from stagectl.takes.model import Slate
from ui import theme

#: A click is taken as done for this long (the button ignores a second click meanwhile).
CLICK_HOLD_S = 0.4
REFUSAL_SHOWN_S = 10.0
#: (journal records waiting, committer batches waiting, seconds since the last commit while
#: recording): below LAG_OK all green, from LAG_FAULT red, amber between.
LAG_OK = (500, 5, 1.0)
LAG_FAULT = (5000, 50, 3.0)
RECORD_RED = theme.STATE_COLOURS["down"]
IDLE_STYLE = (f"QPushButton {{ background: #2a1213; color: {RECORD_RED}; border: 3px solid {RECORD_RED};"
              " border-radius: 8px; font-weight: bold; }"
              " QPushButton:disabled { color: #4a5058; border-color: #2a2f36; }")
#: Slate fields framed so they read as fields inside the toolbar on a dark stage.
FIELD_STYLE = ("QLineEdit, QSpinBox { border: 1px solid #3a4350; border-radius: 3px; padding: 2px 4px;"
               f" background: {theme.BASE}; }}"
               "QLineEdit:disabled, QSpinBox:disabled { border-color: #2a2f36; color: #7d8590; }")
#: The take number's field: framed like the others, its own arrows gone (zero width; the
#: NoButtons symbol under a style sheet would leave its text no room).
TAKE_FIELD_STYLE = FIELD_STYLE + "QSpinBox::up-button, QSpinBox::down-button { width: 0px; border: none; }"
#: Screen pixels between a slate label and its field, and between one slate field and the next label.
LABEL_GAP_PX = 6
GROUP_GAP_PX = 14
#: The take number's − / + buttons: big enough to hit on a stage.
STEP_BUTTON_SIZE = (28, 26)
STEP_BUTTON_STYLE = ("QToolButton { border: 1px solid #3a4350; border-radius: 3px;"
                     f" background: {theme.BASE}; color: {theme.TEXT}; font-weight: bold; }}"
                     "QToolButton:disabled { border-color: #2a2f36; color: #4a5058; }")
RECORDING_STYLE = (f"QPushButton {{ background: {RECORD_RED}; color: #0e1013; border: 3px solid #ffffff;"
                   " border-radius: 8px; font-weight: bold; }")


def lag_level(status: RecorderStatus) -> tuple[str, str]:
    """("ok" | "warn" | "fault", text) for the lag indicator."""
    age = status.commit_age_s if status.recording else None
    figures = (status.journal_pending, status.commit_pending, age or 0.0)
    text = f"journal {status.journal_pending} · commit {status.commit_pending}"
    if age is not None:
        text += f" · {age:.1f} s"
    if status.error:
        return "fault", f"{text} · {status.error}"
    if status.errors:
        return "fault", f"{text} · {status.errors} error(s)"
    if any(v >= limit for v, limit in zip(figures, LAG_FAULT, strict=True)):
        return "fault", text
    if any(v >= limit for v, limit in zip(figures, LAG_OK, strict=True)):
        return "warn", text
    return "ok", text


LAG_COLOURS = {"ok": theme.STATE_COLOURS["up"], "warn": theme.WARNING_TEXT, "fault": theme.FAULT_TEXT}
FACILITY_COLOURS = {"ok": theme.DIM_TEXT, "warn": theme.WARNING_TEXT, "fault": theme.FAULT_TEXT}


def elapsed_text(seconds: float) -> str:
    """``0:01:23.4``: hours, minutes, seconds and tenths."""
    tenths = int(max(seconds, 0.0) * 10)
    s, t = divmod(tenths, 10)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}.{t}"


def _label(text: str = "", size: float = 1.0, bold: bool = False, colour: str = theme.TEXT) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * size)
    font.setBold(bold)
    label.setFont(font)
    label.setStyleSheet(f"color: {colour};")
    return label


class TakeBar(QWidget):
    """Record / stop, the slate, and what the recorder is doing (see the module docstring).

    Args:
        view: the stage's first view (the recorder's cameras make the slate's camera buttons).
        commands: where record, stop, the slate and notes go.

    Attributes:
        status: the last recorder status shown.
        refusal: the last refusal shown inline ("" when none or after REFUSAL_SHOWN_S).
        refusals: every refusal the bar was told of, newest last.
    """

    def __init__(self, view: StageView, commands: StageCommands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.commands = commands
        self.status = RecorderStatus()
        self.refusal = ""
        self.refusals: list[str] = []
        self._refusal_at = 0.0
        self._hold_until = 0.0

        self.record_button = QPushButton("● RECORD")
        self.record_button.setMinimumSize(150, 58)
        font = QFont(self.record_button.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.record_button.setFont(font)
        self.record_button.setStyleSheet(IDLE_STYLE)
        self.record_button.setToolTip("Record a take with this slate (click again to stop)")
        self.name_label = _label("—", 1.3, True)
        self.timecode_label = QLabel("--:--:--:--")
        self.timecode_label.setFont(theme.monospace(20, bold=True))
        self.timecode_label.setStyleSheet(f"color: {theme.ACCENT};")
        self.timecode_label.setToolTip("Stage timecode")
        theme.hold_size(self.timecode_label, "00:00:00;00", opaque=True)  # new frames repaint the label alone
        self.elapsed_label = QLabel("")
        self.elapsed_label.setFont(theme.monospace(12, bold=True))
        theme.hold_size(self.elapsed_label, "00:00:00.0")  # tenths of a second: it changes every frame
        self.samples_label = _label("", colour=theme.DIM_TEXT)
        self.lag_label = _label("")
        self.lag_label.setToolTip("Recorder lag: records waiting for the journal · batches waiting for "
                                  "the take store · seconds since the last commit")
        self.refusal_label = _label("", colour=theme.FAULT_TEXT, bold=True)
        self.facility_label = _label("", 0.9, colour=theme.DIM_TEXT)
        self.facility_label.setVisible(view.facility is not None)

        self.production = QLineEdit()
        self.scene = QLineEdit()
        self.shot = QLineEdit()
        self.take = QSpinBox()
        self.take.setRange(1, 9999)
        self.take.setKeyboardTracking(False)
        self.take.setToolTip("Take number (goes up by one after each take)")
        # The spin box's own arrows are all but invisible on the dark theme: plain − / + buttons instead
        # (the arrows are styled away, see TAKE_FIELD_STYLE; the keys and the wheel still step).
        self.take.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.take_down = self._step_button("−", "One take number down", self.take.stepDown)
        self.take_up = self._step_button("+", "One take number up", self.take.stepUp)
        self.slate_notes = QLineEdit()
        self.slate_notes.setPlaceholderText("slate notes")
        self.camera_buttons: dict[str, QToolButton] = {}
        for name in view.takes.cameras:
            button = QToolButton()
            button.setText(name)
            button.setCheckable(True)
            button.setToolTip(f"Camera {name} on the slate")
            button.setStyleSheet(f"QToolButton:checked {{ color: {theme.ACCENT}; font-weight: bold; }}")
            self.camera_buttons[name] = button
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("note into the take (Enter)")
        self.note_button = QPushButton("Note")
        for field in (self.production, self.scene, self.shot, self.take, self.slate_notes, self.note_edit):
            field.setStyleSheet(FIELD_STYLE)
        self.take.setStyleSheet(TAKE_FIELD_STYLE)
        self.note_button.setToolTip("Add this note into the take in progress, at the current timecode")
        self._build()
        self._connect()
        self.update_view(view)

    def _step_button(self, text: str, tip: str, step: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setFixedSize(*STEP_BUTTON_SIZE)
        button.setStyleSheet(STEP_BUTTON_STYLE)
        button.clicked.connect(lambda: step())
        return button

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.name_label)
        top.addSpacing(12)
        top.addWidget(self.timecode_label)
        top.addSpacing(12)
        top.addWidget(self.elapsed_label)
        top.addSpacing(12)
        top.addWidget(self.samples_label)
        top.addStretch(1)
        top.addWidget(self.refusal_label)
        top.addSpacing(12)
        top.addWidget(self.facility_label)
        top.addSpacing(12)
        top.addWidget(self.lag_label)
        slate = QHBoxLayout()
        for text, widget, width in (("Prod", self.production, 130), ("Scene", self.scene, 60),
                                    ("Shot", self.shot, 60), ("Take", self.take, 70)):
            slate.addWidget(_label(text, colour=theme.DIM_TEXT))
            slate.addSpacing(LABEL_GAP_PX)
            widget.setMaximumWidth(width)
            if widget is self.take:
                slate.addWidget(self.take_down)
            slate.addWidget(widget)
            if widget is self.take:
                slate.addWidget(self.take_up)
            slate.addSpacing(GROUP_GAP_PX)
        if self.camera_buttons:  # a lighting-only stage has no camera to put on the slate
            slate.addWidget(_label("Cams", colour=theme.DIM_TEXT))
            slate.addSpacing(LABEL_GAP_PX)
        for button in self.camera_buttons.values():
            slate.addWidget(button)
        slate.addWidget(self.slate_notes, 1)
        slate.addSpacing(16)
        slate.addWidget(self.note_edit, 2)
        slate.addWidget(self.note_button)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.record_button, 0, 0, 2, 1)
        layout.addLayout(top, 0, 1)
        layout.addLayout(slate, 1, 1)
        layout.setColumnStretch(1, 1)

    def _connect(self) -> None:
        self.record_button.clicked.connect(self.toggle_record)
        for key, edit in (("production", self.production), ("scene", self.scene), ("shot", self.shot),
                          ("notes", self.slate_notes)):
            edit.editingFinished.connect(lambda key=key, edit=edit: self._slate_field(key, edit.text()))
        self.take.valueChanged.connect(lambda value: self._slate_field("take", int(value)))
        for button in self.camera_buttons.values():
            button.toggled.connect(self._cameras_changed)
        self.note_edit.returnPressed.connect(self.add_note)
        self.note_button.clicked.connect(self.add_note)

    # --- actions ----------------------------------------------------------------------------------

    def _send(self, what: str, action: Callable[..., Future[Any]]) -> None:
        """Call ``action(done=...)``; a refusal comes back (on the GUI thread) to be shown in the bar."""
        def done(future: Future[Any]) -> None:
            exc = future.exception()
            if exc is not None:
                self.show_refusal(f"{what}: {exc}")

        action(done=done)

    def show_refusal(self, text: str) -> None:
        """Show ``text`` in the bar for :data:`REFUSAL_SHOWN_S` seconds."""
        self.refusals.append(text)
        self.refusal, self._refusal_at = text, time.monotonic()
        self._show_refusal()

    def toggle_record(self) -> None:
        """RECORD when idle, STOP while recording (as the last snapshot says); no question asked."""
        now = time.monotonic()
        if now < self._hold_until:
            return  # a double click must not record and stop at once
        self._hold_until = now + CLICK_HOLD_S
        if self.status.recording:
            self._send("stop", self.commands.stop_take)
        else:
            self._send("record", self.commands.record)

    def _slate_field(self, key: str, value: str | int) -> None:
        current = getattr(self.status.slate, key)
        if value != current and not self.status.recording:
            self._send("slate", lambda done: self.commands.set_slate(done=done, **{key: value}))

    def _cameras_changed(self) -> None:
        cameras = tuple(name for name, b in self.camera_buttons.items() if b.isChecked())
        if cameras != self.status.slate.cameras and not self.status.recording:
            self._send("slate", lambda done: self.commands.set_slate(done=done, cameras=cameras))

    def add_note(self) -> None:
        """Send the note field's text into the take in progress, then clear the field."""
        text = self.note_edit.text().strip()
        if text:
            self._send("note", lambda done: self.commands.add_note(text, done=done))
            self.note_edit.clear()

    # --- refresh ----------------------------------------------------------------------------------

    def update_view(self, view: StageView) -> None:
        """Show the recorder's status, the timecode and any refusal (the window's view feed)."""
        status = view.takes.status
        was_recording = self.status.recording
        self.status = status
        if status.recording != was_recording:
            self._hold_until = 0.0
        self.timecode_label.setText(view.timecode)
        self._show_button(status)
        if status.recording:
            self.name_label.setText(f"● {status.take_name}")
            theme.set_style(self.name_label, f"color: {RECORD_RED};")
            self.elapsed_label.setText(elapsed_text(status.elapsed_s))
            self.elapsed_label.setToolTip(f"recording since {status.tc_in}" if status.tc_in else "")
        else:
            self.name_label.setText(f"next: {status.slate.label}")
            theme.set_style(self.name_label, f"color: {theme.TEXT};")
            self.elapsed_label.setText("")
        samples = " · ".join(f"{cam} {n}" for cam, n in status.samples.items())
        if samples and not status.recording and status.last_take:
            samples = f"last {status.last_take}: {samples}"
        self.samples_label.setText(samples)
        level, text = lag_level(status)
        self.lag_label.setText(f"● {text}")
        theme.set_style(self.lag_label, f"color: {LAG_COLOURS[level]};")
        self._show_refusal()
        if view.facility is not None:
            level, text, tip = bar_summary(view.facility)
            if self.facility_label.text() != text or self.facility_label.toolTip() != tip:
                self.facility_label.setText(text)
                self.facility_label.setToolTip(tip)
                self.facility_label.setStyleSheet(f"color: {FACILITY_COLOURS[level]};")
        self._show_slate(status.slate, editable=status.ready and not status.recording)
        self.note_edit.setEnabled(status.recording)
        self.note_button.setEnabled(status.recording)

    def _show_button(self, status: RecorderStatus) -> None:
        self.record_button.setEnabled(status.ready)
        self.record_button.setToolTip(
            "Stop the take" if status.recording else
            "Record a take with this slate (click again to stop)" if status.ready else
            status.error or "the take store is still opening")
        text, style = ("■ STOP", RECORDING_STYLE) if status.recording else ("● RECORD", IDLE_STYLE)
        if self.record_button.text() != text:
            self.record_button.setText(text)
            self.record_button.setStyleSheet(style)

    def _show_refusal(self) -> None:
        if self.refusal and time.monotonic() - self._refusal_at > REFUSAL_SHOWN_S:
            self.refusal = ""
        if self.refusal_label.text() != self.refusal:
            self.refusal_label.setText(self.refusal)
            self.refusal_label.setToolTip(self.refusal)

    def _show_slate(self, slate: Slate, editable: bool) -> None:
        for edit, value in ((self.production, slate.production), (self.scene, slate.scene),
                            (self.shot, slate.shot), (self.slate_notes, slate.notes)):
            edit.setEnabled(editable)
            if not edit.hasFocus() and edit.text() != value:
                edit.setText(value)
        self.take.setEnabled(editable)
        self.take_down.setEnabled(editable)
        self.take_up.setEnabled(editable)
        if not self.take.hasFocus() and self.take.value() != slate.take:
            self.take.blockSignals(True)
            self.take.setValue(slate.take)
            self.take.blockSignals(False)
        for name, button in self.camera_buttons.items():
            button.setEnabled(editable)
            if button.isChecked() != (name in slate.cameras):
                button.blockSignals(True)
                button.setChecked(name in slate.cameras)
                button.blockSignals(False)
