"""The Frustum dock's table of Unreal nodes: link, the last acknowledgement, round trip and sends per second.

Fed with :class:`~stagectl.stage.view.FrustumTarget` rows from each view (at most 10 times a second);
rows are rebuilt only when the set of targets changes, cells are updated in place.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from stagectl.stage.view import FrustumTarget, TargetAck
from ui import theme

#: A request in flight longer than this shows "waiting x.x s" instead of the last round trip.
WAITING_AFTER_S = 0.1
#: Sends per second are counted over this window.
RATE_WINDOW_S = 1.0
#: The longest acknowledgement text shown in the cell; the whole text is the tooltip.
ACK_CHARS = 160

COLUMNS = ("Target", "Link", "Acknowledgement", "RTT", "Sends/s")
TARGET, LINK, ACK, RTT, RATE = range(len(COLUMNS))


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


class FrustumTargets(QTableWidget):
    """One row per Unreal node of every remote-control output, in ``font`` (the dock's large type).

    Attributes:
        rows: (output, target) -> the row's figures.
    """

    def __init__(self, font: QFont, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.rows: dict[tuple[str, str], _Row] = {}
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Unreal's error wraps onto more lines rather than being cut at the column's edge.
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().setMinimumSectionSize(self.fontMetrics().height() + 14)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.horizontalHeader()
        self.setStyleSheet(f"QHeaderView::section {{ font-size: {font.pointSize() - 1}pt; }}")
        self.setFont(font)  # a widget with a style sheet no longer inherits its parent's font
        for column in (TARGET, RTT, RATE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # The link detail and Unreal's answer share what is left, and wrap in a narrow dock.
        header.setSectionResizeMode(LINK, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ACK, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(self.fontMetrics().horizontalAdvance("Sends/s") + 16)

    def show_targets(self, targets: Sequence[FrustumTarget], now: float | None = None) -> None:
        """Show ``targets`` (rows rebuilt only when the set of targets changed)."""
        now = time.monotonic() if now is None else now
        keys = [(t.output, t.ack.target) for t in targets]
        if keys != list(self.rows):
            self._rebuild(keys)
        for target, key in zip(targets, keys, strict=True):
            self._show_row(self.rows[key], target.output, target.ack, target.detail, now)

    def _rebuild(self, keys: list[tuple[str, str]]) -> None:
        self.setRowCount(len(keys))
        self.rows = {}
        for index, key in enumerate(keys):
            self.rows[key] = _Row(index)
            for column in range(len(COLUMNS)):
                item = QTableWidgetItem("")
                if column in (RTT, RATE):
                    item.setFont(theme.monospace(12, bold=True))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(index, column, item)

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
        item = self.item(row, column)
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
