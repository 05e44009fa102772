"""The DP panel's read-only tables: looks at a glance, the cue list, and the devices' state.

Each ``show`` call takes plain values from :class:`stagectl.stage.view.LightingView` and
updates cells in place (rows are rebuilt only when the set of rows changed), so a 10 Hz refresh
costs nothing and a selection survives it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from presets.model import Cue, Look
from presets.nudge import zone_summary
from stagectl.core.features import DeviceStatus, LinkState
from stagectl.stage.view import EngineStatus
from ui import theme

LINK_COLOURS = {LinkState.UP: theme.STATE_COLOURS["up"],
                LinkState.CONNECTING: theme.STATE_COLOURS["stale"],
                LinkState.RECONNECTING: theme.STATE_COLOURS["stale"],
                LinkState.DOWN: theme.STATE_COLOURS["down"]}
#: Values the device table shows, when the device has them, in this order (feature -> format).
SHOWN_VALUES = (("brightness", "{:.0f}"), ("cct", "{:.0f} K"), ("tint", "{:+.3f} Duv"),
                ("exposure", "{:+.1f} EV"))


class _Table(QTableWidget):
    """A table of text cells, selection by row, updated in place."""

    def __init__(self, columns: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(0, len(columns), parent)
        self.setHorizontalHeaderLabels(list(columns))
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._keys: list[str] = []

    def set_rows(self, keys: list[str]) -> None:
        """Make the table have exactly these rows (by key), keeping the selection when it can."""
        if keys == self._keys:
            return
        selected = self.selected_key()
        self._keys = list(keys)
        self.setRowCount(len(keys))
        for row in range(len(keys)):
            for column in range(self.columnCount()):
                if self.item(row, column) is None:
                    self.setItem(row, column, QTableWidgetItem())
        if selected in keys:
            self.selectRow(keys.index(selected))

    def selected_key(self) -> str | None:
        """The key of the selected row."""
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self._keys[rows[0].row()] if rows and rows[0].row() < len(self._keys) else None

    def put(self, row: int, column: int, text: str, colour: str | None = None, tip: str = "") -> None:
        """Set one cell's text, colour and tooltip (only when they changed)."""
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.setItem(row, column, item)
        if item.text() != text:
            item.setText(text)
        wanted = QColor(colour or theme.TEXT)
        if item.foreground().color() != wanted:
            item.setForeground(wanted)
        if item.toolTip() != tip:
            item.setToolTip(tip)


class LooksTable(_Table):
    """Every look with its values per zone at a glance; the live look in amber."""

    COLUMNS = ("Look", "Wall", "Ceiling", "Fixtures", "Frustum")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.COLUMNS, parent)

    def show_looks(self, looks: Sequence[Look], live: str | None) -> None:
        """Fill the table from ``looks``; ``live`` is highlighted."""
        self.set_rows([look.name for look in looks])
        for row, look in enumerate(looks):
            colour = theme.ACCENT if look.name == live else None
            self.put(row, 0, ("▶ " if look.name == live else "") + look.name, colour, look.notes)
            for column, zone in ((1, "wall"), (2, "ceiling"), (4, "frustum")):
                values = look.zones.get(zone)
                self.put(row, column, zone_summary(values) if values is not None else "—", colour)
            others = [f"{zone}: {zone_summary(v)}" for zone, v in look.zones.items()
                      if zone not in ("wall", "ceiling", "frustum")]
            self.put(row, 3, "; ".join(others) or "—", colour, "\n".join(others))


class CueTable(_Table):
    """The cue list: the cue fired last in amber, what GO fires next marked."""

    COLUMNS = ("Cue", "Label", "Look", "Fade", "Easing", "Delay")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.COLUMNS, parent)

    def show_cues(self, cues: Sequence[Cue], engine: EngineStatus | None) -> None:
        """Fill the table; live and next cues marked from ``engine``."""
        self.set_rows([cue.number for cue in cues])
        live = engine.live_cue if engine is not None else None
        following = engine.next_cue if engine is not None else None
        for row, cue in enumerate(cues):
            mark = "▶ " if cue.number == live else ("→ " if cue.number == following else "")
            colour = theme.ACCENT if cue.number == live else None
            self.put(row, 0, mark + cue.number, colour)
            self.put(row, 1, cue.label, colour)
            self.put(row, 2, cue.look, colour)
            self.put(row, 3, f"{cue.fade_s:g} s", colour)
            self.put(row, 4, cue.easing, colour)
            self.put(row, 5, f"{cue.delay_s:g} s" if cue.delay_s else "", colour)


class DeviceTable(_Table):
    """Every device: link state, round trip, the values a DP watches, the last problem."""

    COLUMNS = ("Device", "Kind", "Zone", "Link", "RTT", "Values", "Problem")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.COLUMNS, parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)

    def show_devices(self, devices: Sequence[DeviceStatus]) -> None:
        """Fill the table from device snapshots."""
        self.set_rows([d.name for d in devices])
        for row, d in enumerate(devices):
            self.put(row, 0, d.name)
            self.put(row, 1, d.kind)
            self.put(row, 2, d.zone or "")
            colour = LINK_COLOURS.get(d.state, theme.DIM_TEXT)
            self.put(row, 3, f"● {d.state.value}", colour, d.detail)
            self.put(row, 4, "" if d.rtt_ms is None else f"{d.rtt_ms:.1f} ms")
            shown = [fmt.format(d.values[name]) + ("" if name != "brightness" else _unit(d.kind))
                     for name, fmt in SHOWN_VALUES if name in d.values]
            if not shown:  # fixtures: their intensities
                shown = [f"{k.split('.')[0]} {float(v) * 100:.0f} %" for k, v in d.values.items()
                         if k.endswith(".intensity") and isinstance(v, int | float)]
            if d.values.get("blackout") is True:
                shown.insert(0, "BLACKOUT")
            self.put(row, 5, " · ".join(shown), None, "\n".join(f"{k} = {v}" for k, v in d.values.items()))
            problem = d.last_error or ""
            self.put(row, 6, problem, theme.STATE_COLOURS["down"] if problem else None, problem)


def _unit(kind: str) -> str:
    return " %" if kind == "helios" else " nit" if kind == "tessera" else ""
