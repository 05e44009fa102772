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
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stagectl.stage.commands import ExportResult, StageCommands
from stagectl.takes.export.registry import FORMATS
from ui import theme
from ui.panels.job_dialog import JobDialog


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


class ExportDialog(JobDialog[ExportResult]):
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
        super().__init__("format", parent)
        self.folder = folder
        self.takes = list(takes)
        self.commands = commands
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
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)

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

    def chosen_formats(self) -> list[str]:
        """The formats checked, in the registry's order."""
        return [name for name, check in self.checks.items() if check.isChecked() and check.isEnabled()]

    def choose_folder(self) -> None:
        """Pick the output folder."""
        chosen = QFileDialog.getExistingDirectory(self, "Export into folder", self.folder_edit.text())
        if chosen:
            self.folder_edit.setText(chosen)

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
        ids = [take_id for take_id, _name in self.takes]

        def start(cancel: threading.Event) -> Future[ExportResult]:
            return self.commands.export_takes(ids, formats, out_dir, progress=self._on_progress,
                                              cancel=cancel, done=self._on_finished)

        self.begin(f"exporting {', '.join(formats)} into {out_dir}…", start)

    def running_changed(self) -> None:
        """Options and Export are locked while an export runs."""
        super().running_changed()
        running = self.running
        self.export_button.setEnabled(not running)
        self.choose_button.setEnabled(not running)
        self.folder_edit.setEnabled(not running)
        for check in self.checks.values():
            check.setEnabled(not running and format_available(check.text()))

    def _on_finished(self, job: Future[ExportResult]) -> None:
        result = self.take_outcome(job, lambda exc: ExportResult(error=str(exc)))
        if result is None:
            return
        for path in result.files:
            self.add_file(path.name, str(path))
        count = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
        if self.say_outcome("export", result.error, result.cancelled, count):
            if result.skipped:  # said, not silent: a checked format that wrote nothing for a take
                self._say(f"wrote {count} into {self.folder_edit.text()}; not written: "
                          + "; ".join(result.skipped), theme.WARNING_TEXT)
            else:
                self._say(f"wrote {count} into {self.folder_edit.text()}", theme.STATE_COLOURS["up"])
