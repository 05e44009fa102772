"""The export dialog: the chosen takes into the chosen formats, on a worker, with a progress bar.

Formats come from :data:`stagectl.takes.export.registry.FORMATS` (their descriptions are the
check boxes' tooltips); a format whose module is not in this build is shown disabled. The output
folder defaults to ``<takes folder>/exports/<take name>`` (``<first>_to_<last>`` for several
takes). ``StageCommands.export_takes`` reads the takes from the store and exports them one format at
a time on a thread of its own (:func:`stagectl.stage.commands.run_export`): the first tenth of the
bar is reading, the rest the formats. Cancel stops between formats (a format being written
finishes; every file is written atomically, so nothing is ever left half-written). At the end the
dialog lists the files written, or the error.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stagectl.stage.commands import ExportResult, StageCommands
from stagectl.takes.export.registry import FORMATS
from ui import theme


def format_available(name: str) -> bool:
    """True when the format's module is in this build (found without importing it)."""
    try:
        return importlib.util.find_spec(FORMATS[name].module) is not None
    except (ImportError, ValueError):
        return False


def default_folder(takes_folder: Path, names: Sequence[str]) -> Path:
    """``<takes folder>/exports/<name>`` (``<first>_to_<last>`` for several takes)."""
    label = names[0] if len(names) == 1 else f"{names[0]}_to_{names[-1]}"
    return takes_folder / "exports" / label


class ExportDialog(QDialog):
    """Export the given takes (see the module docstring).

    Args:
        folder: the takes folder (the default export folder is under it).
        takes: (take id, name) of each take to export, in order.
        commands: what runs the export (``export_takes``).

    Attributes:
        job: the export running (or last run), None before.
        outcome: the last finished run's outcome.
    """

    def __init__(self, folder: Path, takes: Sequence[tuple[int, str]], commands: StageCommands,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.takes = list(takes)
        self.commands = commands
        self.job: Future[ExportResult] | None = None
        self._cancel = threading.Event()
        self.outcome: ExportResult | None = None
        self.setWindowTitle("Export takes")
        self.setMinimumWidth(640)
        self.resize(720, 660)
        names = [name for _id, name in self.takes]
        count = f"{len(names)} takes" if len(names) != 1 else "Take"
        self.takes_label = QLabel(f"{count}: {', '.join(names)}")
        self.takes_label.setWordWrap(True)
        font = self.takes_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.takes_label.setFont(font)
        self.checks: dict[str, QCheckBox] = {}
        formats = QGroupBox("Formats")
        grid = QGridLayout(formats)
        for row, (name, fmt) in enumerate(FORMATS.items()):
            check = QCheckBox(name)
            available = format_available(name)
            check.setEnabled(available)
            check.setChecked(available)
            check.setToolTip(fmt.description if available else f"{fmt.description} (not in this build)")
            description = QLabel(fmt.description if available else f"{fmt.description} — not in this build")
            description.setStyleSheet(f"color: {theme.DIM_TEXT if available else '#4a5058'};")
            grid.addWidget(check, row, 0)
            grid.addWidget(description, row, 1)
            self.checks[name] = check
        grid.setColumnStretch(1, 1)
        self.folder_edit = QLineEdit(str(default_folder(folder, names)))
        self.choose_button = QPushButton("Choose…")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setStyleSheet("QProgressBar { border: 1px solid #3a4350; border-radius: 4px;"
                                    " text-align: center; min-height: 22px; }"
                                    "QProgressBar::chunk { background: #6b4a1f; border-radius: 3px; }")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.files = QListWidget()
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the format being written")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")

        where = QHBoxLayout()
        where.addWidget(QLabel("Folder"))
        where.addWidget(self.folder_edit, 1)
        where.addWidget(self.choose_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.export_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.takes_label)
        layout.addWidget(formats)
        layout.addLayout(where)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.files, 1)
        layout.addLayout(buttons)
        self.choose_button.clicked.connect(self.choose_folder)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.close_button.clicked.connect(self.reject)

    def chosen_formats(self) -> list[str]:
        """The formats checked, in the registry's order."""
        return [name for name, check in self.checks.items() if check.isChecked() and check.isEnabled()]

    def choose_folder(self) -> None:
        """Pick the output folder."""
        chosen = QFileDialog.getExistingDirectory(self, "Export into folder", self.folder_edit.text())
        if chosen:
            self.folder_edit.setText(chosen)

    @property
    def running(self) -> bool:
        """True while an export runs (until its outcome has been shown)."""
        return self.job is not None and self.outcome is None

    def start_export(self) -> None:
        """Export on a worker (nothing when one runs, no format is chosen or no folder is given)."""
        if self.running:
            return
        formats = self.chosen_formats()
        text = self.folder_edit.text().strip()
        if not formats or not text:
            self._say("choose at least one format" if not formats else "choose a folder", theme.FAULT_TEXT)
            return
        out_dir = Path(text).expanduser()
        self.files.clear()
        self.progress.setValue(0)
        self._say(f"exporting {', '.join(formats)} into {out_dir}…", theme.TEXT)
        self._set_running(True)
        self.outcome = None
        self._cancel = threading.Event()
        self.job = self.commands.export_takes([take_id for take_id, _name in self.takes], formats, out_dir,
                                              progress=self._on_progress, cancel=self._cancel,
                                              done=self._on_finished)

    def cancel_export(self) -> None:
        """Ask the export to stop after the format being written."""
        if self.running:
            self._cancel.set()
            self._say("cancelling after the current format…", theme.WARNING_TEXT)

    def _set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.choose_button.setEnabled(not running)
        self.folder_edit.setEnabled(not running)
        for check in self.checks.values():
            check.setEnabled(not running and format_available(check.text()))

    def _say(self, text: str, colour: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour};")

    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self.outcome is None:
            self.progress.setValue(round(100 * done / max(total, 1)))
            self.progress.setFormat(f"%p%  {what}")

    def _on_finished(self, job: Future[ExportResult]) -> None:
        if job is not self.job:
            return
        exc = job.exception()
        if exc is not None:
            self._on_failed(exc)
        else:
            self._on_done(job.result())

    def _on_done(self, result: ExportResult) -> None:
        self.outcome = result
        self._set_running(False)
        for path in result.files:
            self.files.addItem(path.name)
            self.files.item(self.files.count() - 1).setToolTip(str(path))
        count = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
        if result.error:
            self._say(f"export failed: {result.error} ({count} written before)", theme.FAULT_TEXT)
        elif result.cancelled:
            self._say(f"cancelled: {count} written", theme.WARNING_TEXT)
        else:
            self.progress.setValue(100)
            self.progress.setFormat("%p%  done")
            if result.skipped:  # said, not silent: a checked format that wrote nothing for a take
                self._say(f"wrote {count} into {self.folder_edit.text()}; not written: "
                          + "; ".join(result.skipped), theme.WARNING_TEXT)
            else:
                self._say(f"wrote {count} into {self.folder_edit.text()}", theme.STATE_COLOURS["up"])

    def _on_failed(self, exc: object) -> None:
        self._set_running(False)
        self.outcome = ExportResult(error=str(exc))
        self._say(f"export failed: {exc}", theme.FAULT_TEXT)

    def reject(self) -> None:
        """Close (a running export is cancelled and finishes its current format on its own)."""
        if self.running:
            self._cancel.set()
        super().reject()
