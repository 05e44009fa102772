"""What the Export and Conform dialogs share: one file job on a worker, its progress, outcome and cancel.

:class:`JobDialog` holds the job (a :class:`concurrent.futures.Future` from :class:`StageCommands`), its
cancel flag, the progress bar, the message line, the list of files written and the Cancel / Close
buttons. A subclass lays them out, starts its job with :meth:`begin`, turns a finished job into its
outcome (:meth:`take_outcome`) and says what it wrote (:meth:`say_outcome`); :meth:`running_changed` is its
hook to enable and disable its own widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QLabel, QListWidget, QProgressBar, QPushButton, QWidget

from ui import theme

R = TypeVar("R")

_PROGRESS_STYLE = ("QProgressBar { border: 1px solid #3a4350; border-radius: 4px; text-align: center;"
                   " min-height: 22px; } QProgressBar::chunk { background: #6b4a1f; border-radius: 3px; }")


class JobDialog(QDialog, Generic[R]):
    """A dialog running one file job at a time; ``unit`` is what a cancel waits for ("format", "package").

    Attributes:
        job: the job running (or last run), None before.
        outcome: the last finished run's outcome (None while one runs).
    """

    def __init__(self, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unit = unit
        self.job: Future[R] | None = None
        self.outcome: R | None = None
        self._cancel = threading.Event()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setStyleSheet(_PROGRESS_STYLE)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.files = QListWidget()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(f"Stop after the {unit} being written")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.close_button.clicked.connect(self.reject)

    @property
    def running(self) -> bool:
        """True while a job runs (until its outcome has been shown)."""
        return self.job is not None and self.outcome is None

    def running_changed(self) -> None:
        """A job started or finished: enable or disable the subclass's widgets."""
        self.cancel_button.setEnabled(self.running)

    def begin(self, text: str, start: Callable[[threading.Event], Future[R]]) -> None:
        """Clear the last run, say ``text``, and start a job: ``start(cancel)`` returns its future."""
        self.files.clear()
        self.progress.setValue(0)
        self._say(text, theme.TEXT)
        self.outcome = None
        self._cancel = threading.Event()
        self.job = start(self._cancel)
        self.running_changed()

    def cancel_job(self) -> None:
        """Ask the job to stop after the part being written."""
        if self.running:
            self._cancel.set()
            self._say(f"cancelling after the current {self.unit}…", theme.WARNING_TEXT)

    def _say(self, text: str, colour: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour};")

    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self.outcome is None:
            self.progress.setValue(round(100 * done / max(total, 1)))
            self.progress.setFormat(f"%p%  {what}" if what else "%p%")

    def take_outcome(self, job: Future[R], failed: Callable[[BaseException], R]) -> R | None:
        """The outcome of ``job`` (``failed(exc)`` when it raised), kept as :attr:`outcome`; None for a job
        that is not the current one (a late answer of a run replaced since)."""
        if job is not self.job:
            return None
        exc = job.exception()
        self.outcome = failed(exc) if exc is not None else job.result()
        self.running_changed()
        return self.outcome

    def add_file(self, text: str, tooltip: str, colour: str | None = None) -> None:
        """One line of the files list."""
        self.files.addItem(text)
        item = self.files.item(self.files.count() - 1)
        item.setToolTip(tooltip)
        if colour is not None:
            item.setForeground(QColor(colour))

    def say_outcome(self, verb: str, error: str, cancelled: bool, written: str) -> bool:
        """Say a failed or cancelled run (``written``: what it wrote before); True when the run completed
        (the bar then shows done and the subclass says what it wrote)."""
        if error:
            self._say(f"{verb} failed: {error} ({written} written before)", theme.FAULT_TEXT)
            return False
        if cancelled:
            self._say(f"cancelled: {written} written", theme.WARNING_TEXT)
            return False
        self.progress.setValue(100)
        self.progress.setFormat("%p%  done")
        return True

    def reject(self) -> None:
        """Close (a running job is cancelled and finishes its current part on its own)."""
        if self.running:
            self._cancel.set()
        super().reject()
