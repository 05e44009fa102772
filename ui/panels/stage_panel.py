"""Stage dock: every camera with its sources, a state light, rate, samples and rejections."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from stagectl.stage.view import SourceStatus, StageView
from ui import theme

COLUMNS = ("Camera / source", "State", "Hz", "Samples", "Rej.", "Detail")
SAMPLES, DETAIL = 3, 5
#: Narrowest Detail worth showing; below it the Samples column gives way (the status bar has the totals).
DETAIL_MIN_PX = 110
#: Room around a figure in its column (the cell's margins).
NUMBER_PADDING_PX = 14


def state_icon(state: str, size: int = 12) -> QIcon:
    """A round state light in the state's colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QBrush(QColor(theme.STATE_COLOURS.get(state, theme.DIM_TEXT))))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class StagePanel(QWidget):
    """A tree of cameras and their sources, refreshed from views.

    Signals:
        camera_selected(str): the user picked a camera (or one of its sources).
    """

    camera_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setMinimumSectionSize(40)
        # Fitted to the contents when rows come, then widened by hand as figures grow: a column sized to its
        # contents by Qt measures every row again at every new figure (thousands of samples a second).
        for col in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # A narrow dock elides Detail (its tooltip has all of it) rather than hiding it behind a scrollbar.
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.headerItem().setToolTip(4, "rejected samples")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self._cameras: dict[str, QTreeWidgetItem] = {}
        self._sources: dict[str, QTreeWidgetItem] = {}
        self._icons = {state: state_icon(state) for state in theme.STATE_COLOURS}
        self._wanted: str | None = None  # a camera chosen before its row exists
        self._fitted_rows = -1
        self._figures_at = -theme.FIGURES_PERIOD_S
        self._figures = True
        self._shown: dict[str, SourceStatus] = {}  # each source's status last shown with its figures
        self.tree.currentItemChanged.connect(self._on_current)

    def _item(self, parent: QTreeWidget | QTreeWidgetItem, camera: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent)
        item.setData(0, Qt.ItemDataRole.UserRole, camera)
        for col in (2, 3, 4):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def update_view(self, view: StageView) -> None:
        """Refresh every row in place (no rebuild, so selection and scroll stay put)."""
        # Rates and sample counts at theme.FIGURES_PERIOD_S; a state, a rejection or a new detail at once.
        now = time.monotonic()
        self._figures = now - self._figures_at >= theme.FIGURES_PERIOD_S
        if self._figures:
            self._figures_at = now
        for cam in view.cameras:
            item = self._cameras.get(cam.name)
            if item is None:
                item = self._item(self.tree, cam.name)
                item.setText(0, cam.name)
                item.setExpanded(True)
                self._cameras[cam.name] = item
            self._set_row(item, cam.state, cam.rate_hz, cam.samples, cam.rejected,
                          f"delay {cam.delay_ms:.1f} ms ({cam.delay_frames:.2f} fr)"
                          + (f" · smoothing {cam.smoothing}" if cam.smoothing else ""))
        for src in view.sources:
            if self._shown.get(src.name) is src:
                continue  # the status shown whole last time (a view's figures are kept between refreshes)
            item = self._sources.get(src.name)
            if item is None:
                item = self._item(self._cameras[src.camera], src.camera)
                # Just the protocol: the address is in Detail, what it is in the tooltip, and a
                # narrow dock keeps the figures in view.
                item.setText(0, src.protocol)
                self._sources[src.name] = item
            if src.error:
                detail = src.error
            elif src.rejected_by_reason:
                detail = ", ".join(f"{k} {v}" for k, v in sorted(src.rejected_by_reason.items()))
            else:
                detail = src.listen
            self._set_row(item, src.state, src.rate_hz, src.accepted, src.rejected, detail)
            tip = f"{src.name}: {src.description} on {src.listen}"
            if item.toolTip(0) != tip:
                item.setToolTip(0, tip)
            if self._figures:
                self._shown[src.name] = src
        if len(self._sources) + len(self._cameras) != self._fitted_rows:  # new rows: fit the columns again
            self._fitted_rows = len(self._sources) + len(self._cameras)
            for col in range(DETAIL):
                self.tree.resizeColumnToContents(col)
            self.fit_columns()
        if self.tree.currentItem() is None and self._cameras:
            wanted = self._cameras.get(self._wanted or "")
            self.tree.setCurrentItem(wanted or next(iter(self._cameras.values())))

    def _set_row(self, item: QTreeWidgetItem, state: str, rate: float, samples: int, rejected: int,
                 detail: str) -> None:
        if item.text(1) != state:  # a new icon every frame costs more than the rest of the row
            item.setIcon(1, self._icons.get(state, QIcon()))
            item.setText(1, state)
        figures = ((2, f"{rate:.1f}"), (3, str(samples))) if self._figures or not item.text(2) else ()
        for col, text in (*figures, (4, str(rejected))):
            if item.text(col) != text:  # each new text is a signal through the tree's model
                item.setText(col, text)
                self._widen(col, text)
        if item.text(5) != detail:  # elided in a narrow dock: every cell's tooltip has it whole
            item.setText(5, detail)
            for col in range(1, len(COLUMNS)):
                item.setToolTip(col, detail)
        colour = theme.STATE_COLOURS["down"] if rejected else theme.TEXT
        if item.foreground(4).color().name() != colour:
            item.setForeground(4, QBrush(QColor(colour)))

    def _widen(self, col: int, text: str) -> None:
        """Grow column ``col`` to fit ``text`` (never shrink: the figures stay put while they change)."""
        header = self.tree.header()
        needed = self.tree.fontMetrics().horizontalAdvance(text) + NUMBER_PADDING_PX
        if needed > header.sectionSize(col) and not self.tree.isColumnHidden(col):
            header.resizeSection(col, needed)
            self.fit_columns()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep Detail readable in a narrow dock: drop Samples before Detail shrinks to nothing."""
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Show Samples only when the row still leaves ``DETAIL_MIN_PX`` for Detail."""
        header = self.tree.header()
        fixed = sum(max(header.sectionSize(col), self.tree.sizeHintForColumn(col))
                    for col in range(DETAIL) if col != SAMPLES)
        samples = max(header.sectionSize(SAMPLES), self.tree.sizeHintForColumn(SAMPLES),
                      header.sectionSizeHint(SAMPLES))
        room = self.tree.viewport().width() - fixed - DETAIL_MIN_PX
        hide = room < samples
        if self.tree.isColumnHidden(SAMPLES) != hide:
            self.tree.setColumnHidden(SAMPLES, hide)

    def select_camera(self, name: str) -> None:
        """Select ``name``'s row (when it exists)."""
        self._wanted = name
        item = self._cameras.get(name)
        if item is not None and self.tree.currentItem() is not item:
            self.tree.setCurrentItem(item)

    def _on_current(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if current is not None:
            self.camera_selected.emit(current.data(0, Qt.ItemDataRole.UserRole))
