"""Takes dock: every recorded take in a filterable table, the selected one's details, flags and plots.

The take store (SQLite, ``stagectl/takes/store.py``) is only ever opened off the GUI thread: the
list and a take's samples (a one-hour 240 Hz take is 864 000 samples per camera) are read read-only
on a worker (:mod:`ui.workers`); the circle / NG / notes writes go through
``StageCommands.set_take_flags``. Results come back on the GUI thread; a result for a take no
longer selected is dropped.

The list refreshes by itself when the recorder starts or finishes a take (the recorder status in
each view, looked at every :data:`POLL_MS`), and once more while a finished take is still being
committed.
Newest takes first. The filter matches every word typed against the name, scene, shot and
notes; "circled only" and "hide NG" narrow it further. "Export…" opens the export dialog for
the selected takes; "Conform…" the conform dialog (camera clips or a cut matched to every take).

"Facility store…" shows the takes of every stage from the facility's PostgreSQL store instead (read
only: flags are edited on the stage that recorded a take); the line above the table always says which
store is shown, and "This stage" comes back to the stage's own folder.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stagectl.config.facility import redacted
from stagectl.stage.commands import StageCommands
from stagectl.stage.view import RecorderStatus, StageView
from stagectl.takes.model import TakeData
from ui import theme
from ui.panels.conform_dialog import ConformDialog
from ui.panels.export_dialog import ExportDialog
from ui.panels.store_source import StoreSource
from ui.panels.take_details import STATE_COLOURS, TakeDetails, duration_text
from ui.panels.take_list import (
    TakeRow,
    list_facility_takes,
    list_takes,
    matches,
    read_facility_take,
    read_take,
)
from ui.panels.take_plots import TakePlots
from ui.workers import Task, run_task

POLL_MS = 500
COLUMNS = ("ID", "Name", "State", "Circle", "NG", "TC in", "TC out", "Duration", "Cameras", "Samples")
RECOVERED_TIP = "interrupted (a crash): rebuilt from its journal"
__all__ = ["COLUMNS", "TakeRow", "TakesBrowser", "list_takes", "matches", "read_take"]


class TakesBrowser(StoreSource, QWidget):
    """The Takes dock's contents (see the module docstring).

    Args:
        folder: the takes folder (read-only here).
        commands: where circle / NG / notes changes and exports go (None: a folder without a stage,
            read only).

    Attributes:
        rows: the takes listed, newest first (hidden rows included).
        details / plots: the selected take's pane and plots.
        export_dialog / conform_dialog: the export / conform dialog last opened (None before).
        error: the last store error shown ("" when none).
        store_url: the facility store shown (None: the takes folder).
        store_dialog: the "Facility store…" URL dialog last opened (None before).
    """

    def __init__(self, folder: Path, commands: StageCommands | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.commands = commands
        self.rows: list[TakeRow] = []
        self.export_dialog: ExportDialog | None = None
        self.conform_dialog: ConformDialog | None = None
        self._frame_rate = "25"  # the stage's, from its views: the rate an EDL is read at by default
        self.error = ""
        self.list_task: Task | None = None
        self.read_task: Task | None = None
        self._refresh_again = False
        self._wanted: int | None = None  # the take the details should show
        self._poll_key: tuple[object, ...] | None = None
        self._polled_at = 0.0
        self.store_url: str | None = None
        self.store_dialog: QInputDialog | None = None
        self._facility_default = ""  # the stage's own [facility] database, offered in the dialog

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("filter: name, scene, shot, notes")
        self.filter_edit.setClearButtonEnabled(True)
        self.circled_only = QCheckBox("circled only", self)
        self.hide_ng = QCheckBox("hide NG", self)
        self.refresh_button = QPushButton("Refresh", self)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Export the selected takes (USD, .chan, CSV, OTIO, ALE, CDL…)")
        self.export_button.setEnabled(False)
        self.conform_button = QPushButton("Conform…", self)
        self.conform_button.setToolTip("Camera clips (media, ALE, CSV) or a cut (EDL, OTIO, FCP XML) matched "
                                       "to the takes: a tracking package per clip")
        self.facility_button = QPushButton("Facility store…", self)
        self.facility_button.setToolTip("Show the takes of every stage from the facility's PostgreSQL store "
                                        "(read only)")
        self.local_button = QPushButton("This stage", self)
        self.local_button.setToolTip("Back to this stage's own takes folder")
        self.local_button.setVisible(False)
        self.source_label = QLabel("", self)
        self.status_label = QLabel("", self)
        self.status_label.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Name"), QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setWordWrap(False)
        self.details = TakeDetails(self)
        self.plots = TakePlots(self)
        self._build()
        self.filter_edit.textChanged.connect(self.apply_filter)
        self.circled_only.toggled.connect(self.apply_filter)
        self.hide_ng.toggled.connect(self.apply_filter)
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(self.open_export)
        self.conform_button.clicked.connect(self.open_conform)
        self.facility_button.clicked.connect(self.ask_store)
        self.local_button.clicked.connect(lambda: self.open_store(None))
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.details.flag_changed.connect(self.set_flag)
        self._show_source()
        self.refresh()

    @classmethod
    def for_view(cls, view: StageView, commands: StageCommands,
                 parent: QWidget | None = None) -> TakesBrowser:
        """The browser of the stage's takes folder, refreshing as takes finish (feed it the views)."""
        folder = view.takes.folder
        assert folder is not None, "a stage always has a takes folder"
        return cls(folder, commands, parent)

    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.circled_only)
        bar.addWidget(self.hide_ng)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.export_button)
        bar.addWidget(self.conform_button)
        bar.addWidget(self.facility_button)
        bar.addWidget(self.local_button)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.source_label)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.status_label)
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.details)
        lower.addWidget(self.plots)
        lower.setStretchFactor(0, 2)
        lower.setStretchFactor(1, 3)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(lower)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split)

    # --- the list -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the list of takes again (on a worker; once more after it if one is running)."""
        if self.list_task is not None and self.list_task.running:
            self._refresh_again = True
            return
        folder, url = self.folder, self.store_url
        self.list_task = run_task("list takes", lambda _progress, _cancel: list_takes(folder) if url is None
                                  else list_facility_takes(url))
        self.list_task.succeeded.connect(self._on_list)
        self.list_task.failed.connect(self._on_failed)
        self.list_task.finished.connect(self._on_list_finished)

    def _on_list_finished(self) -> None:
        if self._refresh_again:
            self._refresh_again = False
            self.refresh()

    def _on_failed(self, exc: object) -> None:
        self.error = str(exc)
        self.status_label.setText(self.error)
        self.status_label.setStyleSheet(f"color: {theme.FAULT_TEXT};")

    def _on_list(self, rows: list[TakeRow]) -> None:
        selected = self.selected_ids()
        self.rows = rows
        self.error = ""
        self.status_label.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            self._fill(r, row)
        self.table.clearSelection()
        for r, row in enumerate(rows):
            if row.info.take_id in selected:
                self._add_to_selection(r)
        self.table.blockSignals(False)
        self.apply_filter()

    def _add_to_selection(self, r: int) -> None:
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(self.table.model().index(r, 0), flags)

    def _fill(self, r: int, row: TakeRow) -> None:
        info, s = row.info, row.info.slate
        state_colour = STATE_COLOURS.get(info.state, theme.TEXT)
        base = theme.DIM_TEXT if info.no_good else theme.TEXT
        cells = (
            (str(info.take_id), base, ""),
            (f"{row.stage}:{info.name}" if row.stage else info.name, base, info.notes or s.notes),
            (info.state, state_colour, RECOVERED_TIP if info.state == "recovered" else ""),
            ("●" if info.circled else "", theme.ACCENT, "circled" if info.circled else ""),
            ("NG" if info.no_good else "", theme.FAULT_TEXT, "no good" if info.no_good else ""),
            (str(info.tc_in) if info.tc_in else "—", base, ""),
            (str(info.tc_out) if info.tc_out else "—", base, ""),
            (duration_text(info), base, ""),
            (", ".join(s.cameras), base, ""),
            (str(row.samples), base, ""),
        )
        for c, (text, colour, tip) in enumerate(cells):
            item = self.table.item(r, c)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(r, c, item)
            item.setText(text)
            item.setForeground(QColor(colour))
            item.setToolTip(tip)
            if c in (0, 3, 4, 9):
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter if c in (3, 4)
                                      else Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if c == 2 and info.state == "recovered":
                item.setBackground(QColor("#3a2a14"))
            elif c == 2:
                item.setBackground(QColor(0, 0, 0, 0))

    def apply_filter(self) -> None:
        """Hide the rows the filter box and check boxes leave out."""
        text = self.filter_edit.text()
        shown = 0
        for r, row in enumerate(self.rows):
            hidden = not matches(row.info, text, self.circled_only.isChecked(), self.hide_ng.isChecked())
            self.table.setRowHidden(r, hidden)
            shown += not hidden
        total = len(self.rows)
        self.status_label.setText(
            self.error or (f"{shown} of {total} takes" if shown != total else f"{total} takes")
            + f" · {self.folder if self.store_url is None else redacted(self.store_url)}")
        self._on_selection()  # a selected take the filter hides is no longer shown

    def visible_ids(self) -> list[int]:
        """Take ids of the rows shown, top to bottom."""
        return [row.info.take_id for r, row in enumerate(self.rows) if not self.table.isRowHidden(r)]

    def selected_ids(self) -> list[int]:
        """Take ids of the selected rows that are shown, top to bottom."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.rows[r].info.take_id for r in rows
                if r < len(self.rows) and not self.table.isRowHidden(r)]

    def select_take(self, take_id: int) -> None:
        """Select the take with this id (only)."""
        for r, row in enumerate(self.rows):
            if row.info.take_id == take_id:
                self.table.selectRow(r)
                return

    # --- the selected take -----------------------------------------------------------------------

    def _on_selection(self) -> None:
        ids = self.selected_ids()
        self.export_button.setEnabled(bool(ids))
        wanted = ids[0] if ids else None
        info = next((row.info for row in self.rows if row.info.take_id == wanted), None)
        shown = self.details.take
        if wanted is None or info is None:
            self._wanted = None
            self.details.show_take(None)
            self.plots.show_take(None)
            return
        if shown is not None and shown.info.take_id == wanted and wanted == self._wanted:
            if shown.info == info:
                return
            flags_only = dataclasses.replace(shown.info, circled=info.circled, no_good=info.no_good,
                                             notes=info.notes)
            if flags_only == info:  # only flags changed: no need to read the samples again
                shown.info = info
                self.details.show_take(shown)
                return
        self._wanted = wanted
        if shown is None or shown.info.take_id != wanted:
            self.details.show_take(None, f"reading take {wanted}…")
        folder, url = self.folder, self.store_url
        self.read_task = run_task(f"read take {wanted}", lambda _p, _c: read_take(folder, wanted)
                                  if url is None else read_facility_take(url, wanted))
        self.read_task.succeeded.connect(self._on_read)
        self.read_task.failed.connect(self._on_failed)

    def _on_read(self, take: TakeData) -> None:
        if take.info.take_id != self._wanted:
            return  # another take was selected meanwhile
        self.details.show_take(take)
        self.plots.show_take(take)

    def set_flag(self, take_id: int, key: str, value: object) -> None:
        """Write a circle / NG / notes change to the store (``StageCommands.set_take_flags``), then
        refresh the list."""
        if self.commands is None or self.store_url is not None:
            self._on_failed("takes are read-only here: no stage to write them" if self.commands is None else
                            "the facility store is read-only here: circle, NG and notes are edited on the "
                            "stage that recorded the take (they reach the facility from there)")
            self.details.show_take(self.details.take)  # the check boxes back to what is stored
            return
        flag: dict[str, Any] = {"notes": str(value)} if key == "notes" else {key: bool(value)}
        self.commands.set_take_flags(take_id, done=self._on_flag_written, **flag)

    def _on_flag_written(self, future: Future[int]) -> None:
        exc = future.exception()
        if exc is not None:
            self._on_failed(exc)
        self.refresh()

    # --- export and polling -----------------------------------------------------------------------

    def open_export(self) -> None:
        """Open the export dialog for the selected takes (oldest first)."""
        ids = self.selected_ids()
        takes = sorted((row.info.take_id, row.info.name) for row in self.rows if row.info.take_id in ids)
        if not takes:
            return
        if self.commands is None:
            return
        self.export_dialog = ExportDialog(self.folder, takes, self.commands, self)
        self.export_dialog.open()

    def open_conform(self) -> None:
        """Open the conform dialog (over every take in the folder)."""
        if self.commands is not None:
            self.conform_dialog = ConformDialog(self.folder, self.commands, self, edl_rate=self._frame_rate)
            self.conform_dialog.open()

    def update_view(self, view: StageView) -> None:
        """The window's view feed: every :data:`POLL_MS`, look for takes started or finished."""
        self._frame_rate = view.frame_rate
        if view.facility is not None:
            self._facility_default = view.facility.database
        now = time.monotonic()
        if now - self._polled_at >= POLL_MS / 1000.0:
            self._polled_at = now
            self.show_recorder(view.takes.status)

    def show_recorder(self, status: RecorderStatus) -> None:
        """Read the list again when the recorder started or finished a take, or one is being committed."""
        key = (status.ready, status.recording, status.take_id, status.last_take_id)
        committing = not status.recording and any(
            row.info.state == "recording" and row.info.take_id == status.last_take_id for row in self.rows)
        if key != self._poll_key or committing:
            self._poll_key = key
            self.refresh()

    def stop(self) -> None:
        """Close the export and conform dialogs (a job running stops after the file it is writing)."""
        for dialog in (self.export_dialog, self.conform_dialog):
            if dialog is not None:
                dialog.close()

