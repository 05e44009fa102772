"""Devices on the network: what zeroconf found, one click to add a processor, and manual adding.

Reads :attr:`stagectl.stage.lighting.LightingStatus.found` (with ``found_added`` marking what is
already this stage's) from the DP panel's refresh. "Add" on a row adds that Tessera or HELIOS
under a name made from its instance name, in the zone chosen above the table; "Add device…"
opens :class:`AddDeviceDialog` for a processor entered by address (always works, found or not).
Adding goes to the I/O loop through ``call_in_loop`` and never waits: the row says "adding…"
until the device shows up in the stage (or the refusal shows up, inline and in the Log).

A device added here lives for this session; the box under the table shows its ``[[devices]]``
table with a Copy button, to paste into the stage file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stagectl.config.model import DeviceConfig
from stagectl.core.errors import ConfigError, StageError
from stagectl.discovery.mdns import KINDS, FoundDevice
from stagectl.discovery.stage import (
    OWN_CONTROL,
    check_device_config,
    device_config_for,
    endpoint_key,
    stage_file_snippet,
    unique_name,
)
from stagectl.stage.lighting import LightingStatus, StageLighting
from ui import theme

CallInLoop = Callable[..., object]
NO_ZONE = "(no zone)"
PENDING_S = 8.0
SNIPPET_LINES = 9
"""The stage-file box grows to this many lines, then scrolls."""
"""An add not seen in the stage after this long is shown as lost (the Log dock says why)."""
KIND_LABELS = {"tessera": "Brompton Tessera", "helios": "Megapixel HELIOS", "osc": "OSC device",
               "sacn": "sACN (DMX) fixtures", "stagectl": "stagectl control"}
EDIT_STAGE_FILE = ("{label}s need their {what} listed: add a [[devices]] table to the stage file "
                   "(docs/stage-file.md) and reload the stage.")
_NEEDS = {"osc": "features (OSC addresses)", "sacn": "fixtures (profile, universe, address)"}


def _zones(status: LightingStatus) -> list[str]:
    """Zones a new device can follow: the looks' zones and the devices' zones (not the frustum)."""
    zones = {z for look in status.looks for z in look.zones} | {d.zone for d in status.devices if d.zone}
    return sorted(z for z in zones if z != "frustum")


def _row_key(device: FoundDevice) -> str:
    return f"{device.service_type}|{device.name}"


def _error_style(label: QLabel) -> None:
    label.setStyleSheet(f"color: {theme.STATE_COLOURS['down']};")
    label.setWordWrap(True)


class FoundTable(QTableWidget):
    """One row per found service: name, kind, address, status, and an Add button."""

    COLUMNS = ("Name", "Kind", "Address", "Status", "")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 12)
        self.setWordWrap(False)
        self.keys: list[str] = []
        self.buttons: list[QPushButton | None] = []
        """The Add button of each row; None where the service is not a processor (nothing to add)."""

    def set_rows(self, keys: list[str], addable: list[bool], on_add: Callable[[int], None]) -> None:
        """Exactly these rows (by key); when the set changed, each addable row gets a fresh Add button."""
        if keys == self.keys:
            return
        self.keys = list(keys)
        self.setRowCount(len(keys))
        self.buttons = []
        last = self.columnCount() - 1
        for row in range(len(keys)):
            for column in range(last):
                if self.item(row, column) is None:
                    self.setItem(row, column, QTableWidgetItem())
            self.removeCellWidget(row, last)
            button = None
            if addable[row]:
                button = QPushButton("Add")
                button.setToolTip("Add this processor to the stage now (for this session)")
                button.clicked.connect(lambda _checked=False, r=row: on_add(r))
                self.setCellWidget(row, last, button)
            self.buttons.append(button)

    def put(self, row: int, column: int, text: str, colour: str | None = None, tip: str = "") -> None:
        """Set one cell (only what changed)."""
        item = self.item(row, column)
        assert item is not None
        if item.text() != text:
            item.setText(text)
        wanted = QColor(colour or theme.TEXT)
        if item.foreground().color() != wanted:
            item.setForeground(wanted)
        if item.toolTip() != tip:
            item.setToolTip(tip)


class AddDeviceDialog(QDialog):
    """Add a Tessera or HELIOS by address: kind, URL, name, zone; problems shown under the fields.

    ``taken``: names already used (refused here rather than on the loop). After ``accept``,
    :attr:`config` is the checked device.
    """

    def __init__(self, taken: Sequence[str], zones: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add device")
        self.taken = set(taken)
        self.config: DeviceConfig | None = None
        self.kind_combo = QComboBox()
        for kind in ("tessera", "helios", "osc", "sacn"):
            self.kind_combo.addItem(KIND_LABELS[kind], kind)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://10.0.0.50")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. wall-left (letters, digits, - _ .)")
        self.zone_combo = QComboBox()
        self.zone_combo.setEditable(True)
        self.zone_combo.addItems([NO_ZONE, *zones])
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.error_label = QLabel("")
        _error_style(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add")
        form = QFormLayout()
        form.addRow("Kind", self.kind_combo)
        form.addRow("URL", self.url_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("Zone", self.zone_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        for edit in (self.url_edit, self.name_edit):
            edit.textEdited.connect(lambda _text: self._mark(None, ""))
        self._kind_changed()
        self.setMinimumWidth(440)

    def kind(self) -> str:
        """The chosen kind (tessera, helios, osc, sacn)."""
        return str(self.kind_combo.currentData())

    def _kind_changed(self) -> None:
        kind = self.kind()
        drivable = kind in KINDS
        for widget in (self.url_edit, self.name_edit, self.zone_combo, self.ok_button):
            widget.setEnabled(drivable)
        hint = "" if drivable else EDIT_STAGE_FILE.format(label=KIND_LABELS[kind], what=_NEEDS[kind])
        self.note.setText(hint)
        self._mark(None, "")

    def _mark(self, key: str | None, message: str) -> None:
        self.error_label.setText(message)
        bad = f"border: 1px solid {theme.STATE_COLOURS['down']};"
        self.url_edit.setStyleSheet(bad if key == "url" else "")
        self.name_edit.setStyleSheet(bad if key == "name" else "")
        self.zone_combo.setStyleSheet(bad if key == "zone" else "")

    def _url(self) -> str:
        """The URL as typed; a bare address (``10.0.0.50``, ``10.0.0.50:8080``) gets ``http://``."""
        text = self.url_edit.text().strip()
        return text if "://" in text or not text else f"http://{text}"

    def try_accept(self) -> None:
        """Check the fields; accept with :attr:`config`, or say what is wrong and stay open."""
        zone = self.zone_combo.currentText().strip()
        name = self.name_edit.text().strip()
        if not self.url_edit.text().strip():
            self._mark("url", "Enter the processor's address, e.g. http://10.0.0.50")
            return
        try:
            config = check_device_config(DeviceConfig(self.kind(), name, url=self._url(),
                                                      zone=None if zone in ("", NO_ZONE) else zone))
        except ConfigError as exc:
            self._mark(exc.key, f"{exc.key}: {exc.detail}" if exc.key else exc.detail)
            return
        if config.name in self.taken:
            self._mark("name", f"name: a device named {config.name!r} exists; choose another name")
            return
        self.config = config
        self.accept()


class DiscoveryPanel(QGroupBox):
    """Devices on the network (see the module docstring).

    Args:
        lighting: the stage's lighting (``add_device_soon`` through ``call_in_loop``).
        call_in_loop: ``fn(callable, *args)`` on the I/O loop, never waiting.
    """

    def __init__(self, lighting: StageLighting, call_in_loop: CallInLoop,
                 parent: QWidget | None = None) -> None:
        super().__init__("Devices on the network", parent)
        self.lighting = lighting
        self._call_in_loop = call_in_loop
        path = lighting.config.path
        self.stage_file = str(path) if path is not None else None
        """The stage file's path, for the "keep it" hint (None: the built-in demo stage)."""
        self._status = LightingStatus()
        self._rows: list[FoundDevice] = []
        self._pending: dict[str, tuple[float, int, str | None]] = {}
        """Device name -> (when asked, the last refusal number seen then, its address key)."""
        self.note_label = QLabel("")
        self.note_label.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.message_label = QLabel("")
        _error_style(self.message_label)
        self.message_label.hide()
        self.zone_combo = QComboBox()
        self.zone_combo.addItem(NO_ZONE)
        self.zone_combo.setToolTip("The look zone a device added with one click follows")
        self.manual_button = QPushButton("Add device…")
        self.manual_button.setToolTip("Add a Tessera or HELIOS by its address (when it is not found)")
        self.table = FoundTable()
        self.snippet_label = QLabel("")
        self.snippet_label.setWordWrap(True)
        self.snippet_label.setStyleSheet(f"color: {theme.ACCENT};")
        self.snippet_edit = QPlainTextEdit()
        self.snippet_edit.setReadOnly(True)
        self.snippet_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.snippet_edit.setStyleSheet(f"QPlainTextEdit {{ background: {theme.BASE}; "
                                        f"color: {theme.TEXT}; }}")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the [[devices]] tables to the clipboard")
        self.snippet_box = QWidget()
        self._build()
        self.manual_button.clicked.connect(self.open_manual_dialog)
        self.copy_button.clicked.connect(self.copy_snippet)

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.note_label, 1)
        top.addWidget(QLabel("Zone for new devices"))
        top.addWidget(self.zone_combo)
        top.addWidget(self.manual_button)
        snippet = QVBoxLayout(self.snippet_box)
        snippet.setContentsMargins(0, 4, 0, 0)
        snippet.addWidget(self.snippet_label)
        row = QHBoxLayout()
        row.addWidget(self.snippet_edit, 1)
        row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        snippet.addLayout(row)
        self.snippet_box.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.snippet_box)

    # --- actions ----------------------------------------------------------------------------------

    def add_row(self, row: int) -> None:
        """Add the found device of ``row`` (one click): name from its instance name, zone from the combo."""
        if not 0 <= row < len(self._rows):
            return
        found = self._rows[row]
        zone = self.zone_combo.currentText()
        name = unique_name(found.name, self._taken(), fallback=found.kind)
        try:
            config = device_config_for(found, name, None if zone == NO_ZONE else zone)
        except StageError as exc:
            self._say(str(exc))
            return
        self.submit(config)

    def open_manual_dialog(self) -> None:
        """Ask for a device by address (modal); add it when the dialog accepts."""
        dialog = AddDeviceDialog(self._taken(), _zones(self._status), self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.config is not None:
            self.submit(dialog.config)

    def submit(self, config: DeviceConfig) -> None:
        """Hand ``config`` to the loop (never waits); the row shows "adding…" until it is in."""
        seen = self._status.add_refusals[-1][0] if self._status.add_refusals else 0
        self._pending[config.name] = (time.monotonic(), seen, endpoint_key(config.url or ""))
        self._say("")
        self._call_in_loop(self.lighting.add_device_soon, config)
        self._show_found(self._status)

    def copy_snippet(self) -> None:
        """Put the ``[[devices]]`` tables on the clipboard."""
        QGuiApplication.clipboard().setText(self.snippet_edit.toPlainText())
        self.copy_button.setText("Copied")

    def _taken(self) -> list[str]:
        return [d.name for d in self._status.devices] + list(self._pending)

    def _say(self, message: str) -> None:
        self.message_label.setText(message)
        self.message_label.setVisible(bool(message))

    # --- refresh ----------------------------------------------------------------------------------

    def show_status(self, status: LightingStatus) -> None:
        """Redraw from a lighting snapshot (the DP panel's refresh)."""
        self._status = status
        self.note_label.setText(f"Zeroconf: {status.discovery or 'starting'}"
                                f" · {len(status.found)} found")
        self.note_label.setToolTip("No vendor mDNS service is documented for Tessera or HELIOS: processors "
                                   "announcing themselves are found, any other is added by address")
        zones = [NO_ZONE, *_zones(status)]
        if zones != [self.zone_combo.itemText(i) for i in range(self.zone_combo.count())]:
            current = self.zone_combo.currentText()
            self.zone_combo.blockSignals(True)
            self.zone_combo.clear()
            self.zone_combo.addItems(zones)
            self.zone_combo.setCurrentText(current if current in zones else NO_ZONE)
            self.zone_combo.blockSignals(False)
        self._settle_pending(status)
        self._show_found(status)
        self._show_snippet(status)

    def _settle_pending(self, status: LightingStatus) -> None:
        names = {d.name for d in status.devices}
        now = time.monotonic()
        for name, (asked, seen, _key) in list(self._pending.items()):
            refusal = next((why for number, who, why in reversed(status.add_refusals)
                            if who == name and number > seen), None)
            if name in names:
                del self._pending[name]
            elif refusal is not None:
                del self._pending[name]
                self._say(f"{name!r} not added: {refusal}")
            elif now - asked > PENDING_S:
                del self._pending[name]
                self._say(f"{name!r} was not added in {PENDING_S:g} s: see the Log")

    def _show_found(self, status: LightingStatus) -> None:
        self._rows = list(status.found)
        self.table.set_rows([_row_key(f) for f in self._rows], [f.kind in KINDS for f in self._rows],
                            self.add_row)
        adding = {key for _asked, _seen, key in self._pending.values() if key is not None}
        for row, found in enumerate(self._rows):
            added = status.found_added.get(found.url)
            self.table.put(row, 0, found.name, None, "\n".join(f"{k} = {v}" for k, v in found.txt.items()))
            self.table.put(row, 1, KIND_LABELS.get(found.kind, found.kind))
            self.table.put(row, 2, f"{found.host}:{found.port}", None, found.url)
            button = self.table.buttons[row]
            if button is None:
                text, colour, action = ("this stage" if added == OWN_CONTROL else "control service"), \
                    theme.DIM_TEXT, ""
            elif added is not None:
                text, colour, action = f"added as {added}", theme.STATE_COLOURS["up"], "Added"
            elif endpoint_key(found.url) in adding:
                text, colour, action = "adding…", theme.STATE_COLOURS["stale"], "Adding…"
            else:
                text, colour, action = "new", theme.ACCENT, "Add"
            self.table.put(row, 3, text, colour)
            if button is not None:
                button.setEnabled(action == "Add")
                if button.text() != action:
                    button.setText(action)

    def _show_snippet(self, status: LightingStatus) -> None:
        added = status.session_devices
        self.snippet_box.setVisible(bool(added))
        if not added:
            return
        where = self.stage_file or "your stage file"
        names = ", ".join(repr(d.name) for d in added)
        them = "it" if len(added) == 1 else "them"
        self.snippet_label.setText(f"Added for this session: {names}. To keep {them}, paste into {where} "
                                   "and reload:")
        text = "\n".join(stage_file_snippet(d) for d in added)
        if self.snippet_edit.toPlainText() != text:
            self.snippet_edit.setPlainText(text)
            self.copy_button.setText("Copy")
            lines = min(text.count("\n") + 1, SNIPPET_LINES)
            self.snippet_edit.setFixedHeight(lines * self.snippet_edit.fontMetrics().lineSpacing() + 14)
