"""Long work off the GUI thread: one function on its own QThread, its outcome back as GUI-thread signals.

The hop (napari's ``ensure_main_thread``, done with Qt's own machinery): the worker thread emits
signals of a :class:`QThread` object that lives on the GUI thread, connected to a :class:`Task`
on the GUI thread, so Qt queues them and every slot runs on the GUI thread. Widgets are never
touched from the worker; the function itself must not touch Qt at all.

A running task keeps itself alive (a module-level set) until its thread has finished, so closing
the dialog that started it never destroys a running QThread (which aborts the process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

#: ``progress(done, total, message)``, callable from the worker.
Progress = Callable[[int, int, str], None]
#: The work: called on the worker thread with a progress callback and the cancel flag.
Work = Callable[[Progress, threading.Event], Any]

_RUNNING: set[Task] = set()


class _Thread(QThread):
    """Runs the work; its signals are emitted from the worker and delivered where their receivers live."""

    progressed = Signal(int, int, str)
    returned = Signal(object)
    raised = Signal(object)

    def __init__(self, work: Work, cancel: threading.Event) -> None:
        super().__init__()
        self._work = work
        self._cancel = cancel

    def run(self) -> None:
        try:
            result = self._work(self.progressed.emit, self._cancel)
        except Exception as exc:  # every failure goes to the GUI as a value, never up the worker
            self.raised.emit(exc)
        else:
            self.returned.emit(result)


class Task(QObject):
    """One function run on a worker thread, cancellable, reporting on the GUI thread.

    Signals (all emitted on the GUI thread):
        progress(int, int, str): ``done`` of ``total`` steps, and what was just done.
        succeeded(object): the function's return value.
        failed(object): the exception it raised (cancellation included, as the function reports it).
        finished(): after ``succeeded`` or ``failed``; the thread has ended.

    Attributes:
        name: what the task does, for messages.
        cancel_event: set by :meth:`cancel`; the function polls it.
    """

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, name: str, work: Work) -> None:
        super().__init__()  # no parent: the task outlives whatever started it while it runs
        self.name = name
        self.cancel_event = threading.Event()
        self._thread = _Thread(work, self.cancel_event)
        self._thread.setObjectName(name)
        self._thread.progressed.connect(self._on_progress)
        self._thread.returned.connect(self._on_returned)
        self._thread.raised.connect(self._on_raised)
        self._thread.finished.connect(self._on_thread_finished)
        self._outcome: tuple[bool, Any] | None = None
        self._started = False
        self.done = False

    @property
    def running(self) -> bool:
        """True from :meth:`start` until ``finished`` has been emitted."""
        return self._started and not self.done

    def start(self) -> Task:
        """Start the work on its own thread (once); returns self."""
        if not self._started:
            self._started = True
            _RUNNING.add(self)
            self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop (it stops at its next check of :attr:`cancel_event`)."""
        self.cancel_event.set()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread ends (shutdown only, never from a GUI handler); True if it ended."""
        return bool(self._thread.wait(timeout_ms))

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, message: str) -> None:
        if not self.done:
            self.progress.emit(done, total, message)

    @Slot(object)
    def _on_returned(self, result: object) -> None:
        self._outcome = (True, result)

    @Slot(object)
    def _on_raised(self, exc: object) -> None:
        self._outcome = (False, exc)

    @Slot()
    def _on_thread_finished(self) -> None:
        # QThread.finished is queued after the outcome signals, so the outcome is known here.
        self._thread.wait()  # it is ending now; this returns at once and makes deleting it safe
        self.done = True
        _RUNNING.discard(self)
        ok, value = self._outcome if self._outcome is not None else (False, RuntimeError("no outcome"))
        if ok:
            self.succeeded.emit(value)
        else:
            self.failed.emit(value)
        self.finished.emit()


def run_task(name: str, work: Work) -> Task:
    """Create and start a :class:`Task` (connect to its signals right away: they are queued)."""
    return Task(name, work).start()


def running_tasks() -> list[Task]:
    """Tasks whose thread has not finished yet."""
    return list(_RUNNING)


def shutdown(timeout_ms: int = 3000) -> bool:
    """Cancel every running task and wait for their threads (at application exit); True if all ended."""
    tasks = running_tasks()
    for task in tasks:
        task.cancel()
    return all(task.wait(timeout_ms) for task in tasks)
