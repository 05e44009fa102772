"""The health of one camera's tracking sources: one row per source, refreshed in place with every view (its
rates and jitter at :data:`ui.theme.FIGURES_PERIOD_S`)."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QIcon, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from stagectl.stage.view import SourceStatus
from ui import theme
from ui.panels.stage_panel import state_icon

#: (header, tooltip) per column; the numbers are right-aligned in monospace.
COLUMNS = (
    ("State", "up: samples arriving · stale: none for a moment, last value held · down: none, or the "
              "transport failed"),
    ("Source", "The source's name in the stage file"),
    ("Protocol", "Protocol (and the vendor preset it is read with)"),
    ("Address", "Where the source listens"),
    ("Hz", "Accepted samples per second over the last second"),
    ("Interval ms", "Median time between samples"),
    ("Jitter p50/p99 ms", "How far intervals stray from the median: half of them within p50, "
                          "99 % within p99"),
    ("Lost / reord.", "Samples missing from / out of order in the tracker's sequence numbers "
                      "(— when the protocol has none)"),
    ("Rej. / odd", "Datagrams thrown away / samples kept exactly as sent though something in them is odd "
                   "(valid by the protocol's schema, e.g. a drop-frame flag at 23.976); the tooltip lists "
                   "why and what"),
    ("Detail", "Why rejected or odd, what the transport is doing, errors"),
)
STATE, SOURCE, PROTOCOL, ADDRESS, HZ, INTERVAL, JITTER, LOST, REJECTED, DETAIL = range(len(COLUMNS))
NUMERIC = (HZ, INTERVAL, JITTER, LOST, REJECTED)
#: Text columns that give way (elided, whole in their tooltip) so Detail stays in view in a narrow dock.
YIELDING = (PROTOCOL, SOURCE, ADDRESS)
YIELDING_MIN_PX = 72
DETAIL_MIN_PX = 150
#: Rows shown before the table scrolls.
MAX_VISIBLE_ROWS = 5


def ms_text(value: float) -> str:
    """Milliseconds for a cell; "—" when not measured yet (NaN)."""
    return f"{value:.2f}" if math.isfinite(value) else "—"


def by_reason_text(by_reason: dict[str, int]) -> str:
    """``{"sender": 12, "checksum": 3}`` -> ``"checksum 3, sender 12"`` (empty when none)."""
    return ", ".join(f"{reason} {count}" for reason, count in sorted(by_reason.items()))


def detail_text(src: SourceStatus) -> tuple[str, str]:
    """The Detail cell for a source and its colour: errors red, held values amber.

    Most urgent first (the cell may be cut short; its tooltip has it all): the transport's error,
    its state line, why datagrams were rejected, how long the last value has been held.
    """
    parts: list[str] = []
    colour = theme.TEXT
    if src.error:
        parts.append(src.error)
        colour = theme.FAULT_TEXT
    if src.detail:
        parts.append(src.detail)
    if src.rejected_by_reason:
        parts.append(f"rejected: {by_reason_text(src.rejected_by_reason)}")
    if src.warnings_by_reason:
        parts.append(f"kept as sent: {by_reason_text(src.warnings_by_reason)}")
    if src.state != "up" and src.age_s is not None:
        parts.append(f"no sample for {src.age_s:.1f} s (last value held)")
        if colour == theme.TEXT:
            colour = theme.WARNING_TEXT
    return " · ".join(parts), colour


class SourceHealthTable(QTableWidget):
    """State, rate, timing, loss and rejections of the sources feeding one camera.

    Rows are made once per source and updated in place (no rebuild per frame, so no flicker and
    the selection stays put); columns only ever widen, so numbers do not make them jump.

    Attributes:
        rebuilds: how many times the rows were made (once per change of the source set).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        for col, (title, tip) in enumerate(COLUMNS):
            header_item = QTableWidgetItem(title)
            header_item.setToolTip(tip)
            self.setHorizontalHeaderItem(col, header_item)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.verticalHeader().hide()
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.mono = theme.monospace(10)
        self._mono_metrics = QFontMetrics(self.mono)
        self._text_metrics = QFontMetrics(self.font())
        self._header_metrics = QFontMetrics(header.font())
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        #: Widths the columns' contents want; what they get is fitted to the table's width.
        self._natural = [self._header_metrics.horizontalAdvance(title) + 24 for title, _tip in COLUMNS]
        self._fit_columns()
        self._icons: dict[str, QIcon] = {state: state_icon(state) for state in theme.STATE_COLOURS}
        self._names: list[str] = []
        self._items: list[list[QTableWidgetItem]] = []  # [row][column], kept to update in place
        self.rebuilds = 0
        self._figures_at = -theme.FIGURES_PERIOD_S
        self._names_shown: list[str] = []
        self._shown: list[SourceStatus] = []  # the statuses last shown with their figures
        self._fit_height()
        self.horizontalScrollBar().rangeChanged.connect(lambda _low, _high: self._fit_height())

    # --- refreshing ------------------------------------------------------------------------------

    def show_sources(self, sources: list[SourceStatus]) -> None:
        """Show ``sources`` (GUI thread, every frame); rows are re-made only when the set changes."""
        shown = self._shown
        if len(shown) == len(sources) and all(a is b for a, b in zip(shown, sources, strict=True)):
            return  # the very statuses shown whole last time (a view's figures are kept between refreshes)
        names = [src.name for src in sources]
        if names != self._names:
            self._make_rows(sources)
        now = time.monotonic()  # rate, interval and jitter at theme.FIGURES_PERIOD_S, the rest at once
        figures = names != self._names_shown or now - self._figures_at >= theme.FIGURES_PERIOD_S
        if figures:
            self._figures_at, self._names_shown = now, names
        for row, src in enumerate(sources):
            self._show_row(row, src, figures)
        self._shown = list(sources) if figures else []

    def _make_rows(self, sources: list[SourceStatus]) -> None:
        self.setRowCount(len(sources))
        self._items = []
        for row, src in enumerate(sources):
            items: list[QTableWidgetItem] = []
            for col in range(len(COLUMNS)):
                item = QTableWidgetItem()
                if col in NUMERIC:
                    item.setFont(self.mono)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, col, item)
                items.append(item)
            self._items.append(items)
            camera_prefix = f"{src.camera}/"
            short = src.name[len(camera_prefix):] if src.name.startswith(camera_prefix) else src.name
            self._set(row, SOURCE, short, tooltip=src.name)
            protocol = src.description or src.protocol
            self._set(row, PROTOCOL, protocol, tooltip=protocol)
        self._names = [src.name for src in sources]
        self.rebuilds += 1
        self._fit_height()

    def _show_row(self, row: int, src: SourceStatus, figures: bool = True) -> None:
        if self._items[row][STATE].text() != src.state:  # a new icon repaints the row: only on a change
            self._items[row][STATE].setIcon(self._icons.get(src.state, QIcon()))
        self._set(row, STATE, src.state, colour=theme.state_colour(src.state))
        allow = f"accepts only {', '.join(src.allow)}" if src.allow else "accepts any sender"
        self._set(row, ADDRESS, src.listen, tooltip=f"{src.listen} ({allow})")
        if figures:
            self._set(row, HZ, f"{src.rate_hz:.1f}")
            self._set(row, INTERVAL, ms_text(src.interval_ms_p50))
            self._set(row, JITTER, f"{ms_text(src.jitter_ms_p50)} / {ms_text(src.jitter_ms_p99)}")
        if src.has_sequence:
            lost = f"{src.lost} / {src.reordered}"
            lost_colour = theme.WARNING_TEXT if src.lost or src.reordered else theme.TEXT
            lost_tip = f"lost {src.lost}, reordered {src.reordered}, duplicates {src.duplicates}"
        else:
            lost, lost_colour, lost_tip = "—", theme.DIM_TEXT, "this protocol sends no sequence numbers"
        self._set(row, LOST, lost, colour=lost_colour, tooltip=lost_tip)
        lines = [f"{src.rejected} rejected of {src.received} received"
                 + (", by reason:" if src.rejected else "")]
        lines += [f"  {reason}: {count}" for reason, count in sorted(src.rejected_by_reason.items())]
        lines.append(f"{src.warned} kept exactly as sent though odd" + (":" if src.warned else ""))
        lines += [f"  {reason}: {count}" for reason, count in sorted(src.warnings_by_reason.items())]
        colour = theme.FAULT_TEXT if src.rejected else theme.WARNING_TEXT if src.warned else theme.TEXT
        self._set(row, REJECTED, f"{src.rejected} / {src.warned}", colour=colour, tooltip="\n".join(lines))
        detail, colour = detail_text(src)
        self._set(row, DETAIL, detail, colour=colour, tooltip=detail)

    def _set(self, row: int, col: int, text: str, *, colour: str | None = None,
             tooltip: str | None = None) -> None:
        item = self._items[row][col]
        if item.text() != text:
            item.setText(text)
            self._widen(col, text)
        if colour is not None and item.foreground().color().name() != colour:
            item.setForeground(QBrush(QColor(colour)))
        if tooltip is not None and item.toolTip() != tooltip:
            item.setToolTip(tooltip)

    def _widen(self, col: int, text: str) -> None:
        """Grow a column to fit ``text`` (never shrink: steady columns while numbers change)."""
        if col == DETAIL:
            return
        metrics = self._mono_metrics if col in NUMERIC else self._text_metrics
        needed = metrics.horizontalAdvance(text) + (36 if col == STATE else 18)
        if needed > self._natural[col]:
            self._natural[col] = needed
            self._fit_columns()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Refit the columns to the new width."""
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Natural widths when they fit with ``DETAIL_MIN_PX`` left for Detail; otherwise the text columns
        give way, widest first, down to ``YIELDING_MIN_PX`` (numbers never do: past that, it scrolls)."""
        widths = list(self._natural[:DETAIL])
        excess = sum(widths) + DETAIL_MIN_PX - self.viewport().width()
        if excess > 0:
            # Level the widest text columns down together until the excess is gone (or the floor is hit).
            level = max(widths[col] for col in YIELDING)
            while level > YIELDING_MIN_PX and sum(max(0, widths[c] - level) for c in YIELDING) < excess:
                level -= 1
            for col in YIELDING:
                widths[col] = min(widths[col], level)
        for col, width in enumerate(widths):
            if self.columnWidth(col) != width:
                self.setColumnWidth(col, width)
        self._fit_height()  # new widths may bring or take away the scrollbar (measured then, not every frame)

    def _fit_height(self) -> None:
        """Exactly as tall as its rows (up to MAX_VISIBLE_ROWS), so the plots get the rest."""
        rows = max(1, min(self.rowCount(), MAX_VISIBLE_ROWS))
        height = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
        height += rows * self.verticalHeader().defaultSectionSize()
        bar = self.horizontalScrollBar()
        if bar.maximum() > 0:
            height += bar.sizeHint().height()
        if height != self.height():
            self.setFixedHeight(height)
