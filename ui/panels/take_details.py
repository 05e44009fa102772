"""The selected take in the takes browser: circle / NG flags, notes, and everything about the take.

The flags and the notes are sent out as :attr:`TakeDetails.flag_changed` (the browser writes
them to the store on a worker); the text shows the slate, the timecode range, the cameras with
their samples, dropouts and lens, the looks, and the cue log (cues, looks, operator notes,
dropouts, in order, with their timecode).
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stagectl.core.timecode import Timecode
from stagectl.takes.model import TakeData, TakeInfo
from ui import theme

#: Log kinds shown in the cue log (take events and device changes stay in ``stagectl takes show``).
CUE_LOG_KINDS = ("cue", "look", "note", "dropout")
#: The cue log shows at most this many entries (the rest are counted).
CUE_LOG_LINES = 300
STATE_COLOURS = {"complete": theme.TEXT, "recovered": theme.WARNING_TEXT, "recording": theme.FAULT_TEXT}
FLAG_STYLE = ("QPushButton { padding: 6px 14px; border: 2px solid #3a4350; border-radius: 5px;"
              f" background: {theme.BASE}; color: {theme.DIM_TEXT}; font-weight: bold; }}"
              "QPushButton:checked { border-color: %s; color: %s; background: #2a2014; }")


def duration_text(info: TakeInfo) -> str:
    """The take's length as a timecode duration (``00:00:12:05``), "—" when unknown."""
    if info.duration_frames <= 0:
        return "—"
    return str(Timecode.from_frames(info.duration_frames, info.rate, info.drop_frame))


def _row(label: str, value: str) -> str:
    return (f"<tr><td style='color:{theme.DIM_TEXT}; padding-right:10px'>{html.escape(label)}</td>"
            f"<td>{html.escape(value)}</td></tr>")


def details_html(take: TakeData) -> str:
    """The take as HTML for the details pane."""
    info, slate = take.info, take.info.slate
    rows = [
        _row("Slate", " · ".join(p for p in (slate.production, f"scene {slate.scene}" if slate.scene else "",
                                               f"shot {slate.shot}" if slate.shot else "",
                                               f"take {slate.take}") if p)),
        _row("Timecode", f"{info.tc_in or '—'} → {info.tc_out or '—'} ({duration_text(info)})"),
        _row("Rate", f"{theme.rate_label(float(info.rate.rate))} fps"
                     + (" drop-frame" if info.drop_frame else "")),
        _row("Recorded", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.started_unix_s))),
        _row("State", info.state + (" (interrupted, rebuilt from its journal)"
                                    if info.state == "recovered" else "")),
    ]
    if slate.notes:
        rows.append(_row("Slate notes", slate.notes))
    looks = list(dict.fromkeys(
        [info.look_at_start] * bool(info.look_at_start)
        + [str(e.data["look"]) for e in take.log if e.data.get("look")]))
    rows.append(_row("Looks", ", ".join(looks) or "—"))
    primary = take.primary_cdl()
    if primary is not None:
        zone, cdl = primary
        rows.append(_row("CDL", f"{zone}: slope {cdl.slope} offset {cdl.offset} power {cdl.power} "
                                f"sat {cdl.saturation:g}"))
    out = [f"<table>{''.join(rows)}</table>", "<p><b>Cameras</b></p><table>",
           "<tr>" + "".join(f"<th align='left' style='color:{theme.DIM_TEXT}; padding-right:10px'>{h}</th>"
                            for h in ("Camera", "Source", "Samples", "Dropouts", "Lens")) + "</tr>"]
    for name, track in take.cameras.items():
        lens = track.lens
        lens_text = f"{lens.make} {lens.model} ({lens.lens_file})" if lens is not None else "unsolved"
        dropouts = take.dropouts.get(name, 0)
        colour = theme.WARNING_TEXT if dropouts else theme.TEXT
        cells = ((name, theme.TEXT), (track.source, theme.TEXT), (str(len(track)), theme.TEXT),
                 (str(dropouts), colour), (lens_text, theme.TEXT))
        out.append("<tr>" + "".join(f"<td style='padding-right:10px; color:{c}'>{html.escape(v)}</td>"
                                    for v, c in cells) + "</tr>")
    out.append("</table><p><b>Cue log</b></p>")
    entries = [e for e in take.log if e.kind in CUE_LOG_KINDS]
    if not entries:
        out.append(f"<p style='color:{theme.DIM_TEXT}'>no cues, looks or notes during the take</p>")
    lines = []
    for entry in entries[:CUE_LOG_LINES]:
        colour = theme.ACCENT if entry.kind == "note" else (
            theme.WARNING_TEXT if entry.kind == "dropout" else theme.TEXT)
        what = f"{html.escape(entry.kind)}: {html.escape(entry.text)}"
        lines.append(f"<span style='color:{theme.DIM_TEXT}'>{entry.timecode or '--:--:--:--'}</span> "
                     f"<span style='color:{colour}'>{what}</span>")
    if len(entries) > CUE_LOG_LINES:
        lines.append(f"… and {len(entries) - CUE_LOG_LINES} more")
    out.append("<br>".join(lines))
    return "".join(out)


class TakeDetails(QWidget):
    """The selected take: flags, notes and details (see the module docstring).

    Signals:
        flag_changed(int, str, object): take id, ``circled`` / ``no_good`` / ``notes``, new value.

    Attributes:
        take: the take shown (None: none selected).
    """

    flag_changed = Signal(int, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.take: TakeData | None = None
        self.title = QLabel("No take selected", self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.circle_button = QPushButton("◯ Circle", self)
        self.circle_button.setCheckable(True)
        self.circle_button.setToolTip("Circled take: the script supervisor's pick")
        self.circle_button.setStyleSheet(FLAG_STYLE % (theme.ACCENT, theme.ACCENT))
        self.no_good_button = QPushButton("NG", self)
        self.no_good_button.setCheckable(True)
        self.no_good_button.setToolTip("No good: hidden with \"hide NG\"")
        self.no_good_button.setStyleSheet(FLAG_STYLE % (theme.FAULT_TEXT, theme.FAULT_TEXT))
        self.notes = QPlainTextEdit(self)
        self.notes.setPlaceholderText("notes on this take")
        self.notes.setMaximumHeight(70)
        self.save_notes_button = QPushButton("Save notes", self)
        self.save_notes_button.setEnabled(False)
        self.text = QTextBrowser(self)
        self.text.setOpenLinks(False)
        flags = QHBoxLayout()
        flags.addWidget(self.title, 1)
        flags.addWidget(self.circle_button)
        flags.addWidget(self.no_good_button)
        notes = QHBoxLayout()
        notes.addWidget(self.notes, 1)
        notes.addWidget(self.save_notes_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(flags)
        layout.addLayout(notes)
        layout.addWidget(self.text, 1)
        self.circle_button.toggled.connect(
            lambda on: self.circle_button.setText("● Circled" if on else "◯ Circle"))
        self.circle_button.clicked.connect(self._on_circle)
        self.no_good_button.clicked.connect(self._on_no_good)
        self.save_notes_button.clicked.connect(self.save_notes)
        self.notes.textChanged.connect(self._on_notes_edited)
        self.show_take(None)

    def show_take(self, take: TakeData | None, message: str = "") -> None:
        """Show ``take`` (None: ``message`` or "No take selected"); unsaved notes of the same take stay."""
        same = take is not None and self.take is not None and take.info.take_id == self.take.info.take_id
        editing = same and self.save_notes_button.isEnabled()
        self.take = take
        for widget in (self.circle_button, self.no_good_button, self.notes):
            widget.setEnabled(take is not None)
        if take is None:
            self.title.setText(message or "No take selected")
            self.title.setStyleSheet(f"color: {theme.DIM_TEXT};")
            self.text.setHtml("")
            self.notes.blockSignals(True)
            self.notes.setPlainText("")
            self.notes.blockSignals(False)
            self.save_notes_button.setEnabled(False)
            return
        info = take.info
        recovered = "  (recovered)" if info.state == "recovered" else ""
        self.title.setText(f"{info.take_id} · {info.name}{recovered}")
        self.title.setStyleSheet(f"color: {STATE_COLOURS.get(info.state, theme.TEXT)};")
        self.circle_button.setChecked(info.circled)
        self.no_good_button.setChecked(info.no_good)
        if not editing:
            self.notes.blockSignals(True)
            self.notes.setPlainText(info.notes)
            self.notes.blockSignals(False)
            self.save_notes_button.setEnabled(False)
        scroll = self.text.verticalScrollBar().value() if same else 0
        self.text.setHtml(details_html(take))
        self.text.verticalScrollBar().setValue(scroll)

    def _on_circle(self, checked: bool) -> None:
        if self.take is not None:
            self.flag_changed.emit(self.take.info.take_id, "circled", bool(checked))

    def _on_no_good(self, checked: bool) -> None:
        if self.take is not None:
            self.flag_changed.emit(self.take.info.take_id, "no_good", bool(checked))

    def _on_notes_edited(self) -> None:
        self.save_notes_button.setEnabled(self.take is not None
                                          and self.notes.toPlainText() != self.take.info.notes)

    def save_notes(self) -> None:
        """Send the notes editor's text as the take's notes."""
        if self.take is not None:
            self.flag_changed.emit(self.take.info.take_id, "notes", self.notes.toPlainText())
            self.save_notes_button.setEnabled(False)
