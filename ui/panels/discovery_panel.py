"""Devices on the network: what zeroconf found, one click to add a processor, and manual adding.

Reads :attr:`stagectl.stage.view.LightingView.found` (with ``found_added`` marking what is
already this stage's) from the DP panel's refresh. "Add" on a row adds that Tessera or HELIOS
under a name made from its instance name, in the zone chosen above the table; "Add device…"
opens :class:`AddDeviceDialog` for a processor entered by address (always works, found or not).
Adding goes to the I/O loop (``StageCommands.add_device``) and never waits: the row says "adding…"
until the device shows up in the stage (or the refusal shows up, inline and in the Log).

A device added here lives for this session; the box under the table shows its ``[[devices]]``
table with a Copy button, to paste into the stage file.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stagectl.config.model import DeviceConfig
from stagectl.core.errors import StageError
from stagectl.discovery.mdns import KINDS, FoundDevice
from stagectl.discovery.stage import (
    OWN_CONTROL,
    device_config_for,
    endpoint_key,
    stage_file_snippet,
    unique_name,
)
from stagectl.stage.commands import StageCommands
from stagectl.stage.view import LightingView
from ui import theme
from ui.panels.add_device_dialog import KIND_LABELS, NO_ZONE, AddDeviceDialog, error_style

__all__ = ["AddDeviceDialog", "DiscoveryPanel", "FoundTable"]

PENDING_S = 8.0
"""An add not seen in the stage after this long is shown as lost (the Log dock says why)."""
SNIPPET_LINES = 9
"""The stage-file box grows to this many lines, then scrolls."""


def _zones(status: LightingView) -> list[str]:
    """Zones a new device can follow: the looks' zones and the devices' zones (not the frustum)."""
    zones = {z for look in status.looks for z in look.zones} | {d.zone for d in status.devices if d.zone}
    return sorted(z for z in zones if z != "frustum")


def _row_key(device: FoundDevice) -> str:
    return f"{device.service_type}|{device.name}"


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


class DiscoveryPanel(QGroupBox):
    """Devices on the network (see the module docstring).

    Args:
        stage_file: the stage file's path, for the "keep it" hint (None: the built-in demo stage).
        commands: where an added device goes (``add_device``).

    Signals:
        needs_attention(): it has something to say (a refusal, a device to keep): show it.
    """

    needs_attention = Signal()

    def __init__(self, stage_file: str | None, commands: StageCommands,
                 parent: QWidget | None = None) -> None:
        super().__init__("Devices on the network", parent)
        self.commands = commands
        self.stage_file = stage_file
        self._status = LightingView()
        self._rows: list[FoundDevice] = []
        self._pending: dict[str, tuple[float, int, str | None]] = {}
        """Device name -> (when asked, the last refusal number seen then, its address key)."""
        self.note_label = QLabel("")
        self.note_label.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.message_label = QLabel("")
        error_style(self.message_label)
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
        self.commands.add_device(config)
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
        if message:
            self.needs_attention.emit()

    # --- refresh ----------------------------------------------------------------------------------

    def show_status(self, status: LightingView) -> None:
        """Redraw from the view's lighting (the DP panel's refresh)."""
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

    def _settle_pending(self, status: LightingView) -> None:
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

    def _show_found(self, status: LightingView) -> None:
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

    def _show_snippet(self, status: LightingView) -> None:
        added = status.session_devices
        if not added:
            self.snippet_box.hide()
            return
        if self.snippet_box.isHidden():
            self.snippet_box.show()
            self.needs_attention.emit()
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
