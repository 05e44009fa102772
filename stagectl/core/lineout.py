"""Lines to standard output that never hold up their writer: ``--status-json`` into a pipe nobody reads.

A write to a full pipe blocks until the reader reads. The status lines of ``stagectl run --status-json``
come from the loop that also waits for Ctrl+C (headless) or from the window's GUI thread, so a reader
that stops reading (a paused ``less``, a stuck dashboard) would freeze the window, or keep Ctrl+C from
stopping the stage. :class:`LineOut` hands each line to a daemon thread of its own that does the
writing; the caller only queues it. While the reader is behind, at most ``keep`` lines wait: older ones
are dropped and counted (a status line is a snapshot; the newest is the one that matters). A reader
that went away (``| head -1``) is seen as :attr:`LineOut.broken`, for the caller to end quietly.

Standard output itself is written with ``os.write`` on its descriptor, past Python's buffer: a thread
stuck in a write then holds no lock the process's exit needs (the exit flushes ``sys.stdout``).
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections import deque
from typing import TextIO


class LineOut:
    """Writes lines to ``stream`` from a daemon thread (see the module docstring).

    Attributes:
        written: lines written whole. dropped: lines dropped while the reader was behind.
        broken: the reader went away (a broken pipe); nothing more is written.
    """

    def __init__(self, stream: TextIO, keep: int = 4, name: str = "status lines") -> None:
        self.written = 0
        self.dropped = 0
        self.broken = False
        self._stream = stream
        self._fd = _descriptor(stream)
        self._lines: deque[str] = deque()
        self._keep = keep
        self._ready = threading.Condition()
        self._writing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        """Queue ``line`` (a newline is added); never blocks."""
        with self._ready:
            if self.broken or self._closed:
                return
            if len(self._lines) >= self._keep:
                self._lines.popleft()
                self.dropped += 1
            self._lines.append(line + "\n")
            self._ready.notify()

    def close(self, timeout_s: float = 0.5) -> bool:
        """Wait up to ``timeout_s`` for the queued lines to be written, then stop: lines still queued are
        dropped (counted), the line being written is finished if the reader reads it.

        True when everything queued was written (False: the reader is not reading, or went away)."""
        with self._ready:
            done = self._ready.wait_for(lambda: self.broken or not (self._lines or self._writing), timeout_s)
            self._closed = True
            self.dropped += len(self._lines)
            self._lines.clear()
            self._ready.notify()
            return done and not self.broken

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._lines) or self._closed)
                if not self._lines:
                    return
                line = self._lines.popleft()
                self._writing = True
            try:
                self._write(line)
            except (OSError, ValueError):  # the reader went away (EPIPE), or the stream was closed
                with self._ready:
                    self.broken = True
                    self._writing = False
                    self._lines.clear()
                    self._ready.notify_all()
                return
            with self._ready:
                self.written += 1
                self._writing = False
                self._ready.notify_all()

    def _write(self, line: str) -> None:
        if self._fd is None:
            self._stream.write(line)
            self._stream.flush()
            return
        data = line.encode("utf-8")
        while data:
            data = data[os.write(self._fd, data):]


def _descriptor(stream: TextIO) -> int | None:
    """The descriptor to write ``stream`` with directly (its buffer flushed first), or None for a stream
    that has none (a StringIO in a test)."""
    try:
        fd = stream.fileno()
    except (io.UnsupportedOperation, AttributeError, ValueError, OSError):
        return None
    with contextlib.suppress(OSError, ValueError):
        stream.flush()
    return fd
