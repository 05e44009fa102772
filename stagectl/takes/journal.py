"""The take journal: an append-only file every record reaches the kernel through as it arrives.

Frame of one record, little-endian: ``u32 length`` (of type + payload), ``u32 crc32`` (of type +
payload), ``u8 type``, payload. Types: :data:`HEADER` (JSON: slate, rate, start), :data:`CAMERA`
(JSON: camera index, name, lens, stage-file sensor), :data:`SOURCE` (JSON: source index, name,
protocol, cameras, decoding settings), :data:`SAMPLE` (``records.SAMPLE_STRUCT``; 208 bytes in
layout 1), :data:`RAW` (a datagram as it arrived, ``records.pack_raw``), :data:`STATIC` (JSON: a
camera's tracker ``static`` block as sent), :data:`LOG` (JSON: cue, look, device, note...),
:data:`END` (JSON: stop time).

Why a journal in front of SQLite: a ``write()`` into the page cache survives the process being
killed (SIGKILL, a segfault in a driver), costs a few microseconds, and needs no transaction; the
SQLite store is fed from the same batches a moment later (``committer.py``). A crash leaves at
most one torn record at the end; :func:`read_journal` stops at the first record whose length or
checksum does not hold and everything before it is kept.

:class:`JournalWriter` owns the file on its own thread: producers (the I/O loop's tracking path)
only put bytes on a queue; the thread drains whatever is waiting and writes it with one
``os.write``, so one syscall carries a burst of eight cameras.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagectl.core.errors import StageError

HEADER, CAMERA, SAMPLE, LOG, END = b"H"[0], b"C"[0], b"S"[0], b"L"[0], b"E"[0]
SOURCE, RAW, STATIC = b"O"[0], b"R"[0], b"T"[0]
TYPES = frozenset((HEADER, CAMERA, SAMPLE, LOG, END, SOURCE, RAW, STATIC))
_FRAME = struct.Struct("<II")
FRAME_SIZE = _FRAME.size
#: A record longer than this is corruption, not data (the largest real one is a log entry).
MAX_RECORD = 1 << 20
#: Records one write carries at most (a burst larger than this takes several writes).
MAX_BATCH = 8192
JOURNAL_SUFFIX = ".journal"

log = logging.getLogger("stagectl.takes")

Record = tuple[int, bytes]
"""(type, payload)."""
BatchSink = Callable[[list[Record], int], None]
"""Called on the writer thread after each write with the records written and the file's new size."""


class JournalError(StageError):
    """The journal could not be opened, locked or written."""


def frame(rtype: int, payload: bytes) -> bytes:
    """One record's bytes on disk."""
    body = bytes((rtype,)) + payload
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


@dataclass(frozen=True, slots=True)
class JournalRead:
    """What :func:`read_journal` found: the good records, where they end, and whether a torn or
    corrupt tail (``torn_bytes`` long) was dropped."""

    records: list[Record]
    good_size: int
    torn_bytes: int
    problem: str | None


def iter_records(data: bytes | memoryview, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """(end offset, type, payload) for each good record from ``start``; stops at the first bad one."""
    view = memoryview(data)
    pos, size = start, len(view)
    while pos + FRAME_SIZE <= size:
        length, crc = _FRAME.unpack_from(view, pos)
        end = pos + FRAME_SIZE + length
        if length < 1 or length > MAX_RECORD or end > size:
            return
        body = view[pos + FRAME_SIZE : end]
        if zlib.crc32(body) != crc or body[0] not in TYPES:
            return
        yield end, body[0], bytes(body[1:])
        pos = end


def read_journal(path: Path, start: int = 0) -> JournalRead:
    """Every good record of the journal at ``path`` from byte ``start`` (a record boundary: how far a
    store already holds it). A journal shorter than ``start`` has nothing to give: no records, and a
    problem saying so."""
    data = path.read_bytes()
    if start > len(data):
        return JournalRead([], start, 0, f"{path} is {len(data)} byte(s) long, shorter than the {start} "
                                         "byte(s) the store already holds from it: nothing to replay")
    records: list[Record] = []
    good = start
    for end, rtype, payload in iter_records(data, start):
        records.append((rtype, payload))
        good = end
    torn = len(data) - good
    problem = None
    if torn:
        problem = (
            f"{path}: dropped a torn or corrupt record at byte {good} "
            f"({torn} byte(s) after the last good record)"
        )
    return JournalRead(records, good, torn, problem)


def journal_header(path: Path) -> dict[str, Any] | None:
    """The HEADER record of the journal at ``path`` (its first record) as JSON, or None when the
    journal does not start with a whole one. OSError when it cannot be read."""
    with path.open("rb") as f:
        head = f.read(FRAME_SIZE)
        if len(head) < FRAME_SIZE:
            return None
        length, _crc = _FRAME.unpack(head)
        if not 1 <= length <= MAX_RECORD:
            return None
        data = head + f.read(length)
    for _end, rtype, payload in iter_records(data):
        if rtype == HEADER:
            try:
                header = json.loads(payload)
            except ValueError:
                return None
            return header if isinstance(header, dict) else None
        break
    return None


class JournalWriter:
    """Appends records to one journal file from a thread of its own (see the module docstring).

    ``put`` never blocks and never raises; a write error is kept in ``error`` and counted in
    ``write_errors`` (the records stay queued for the next try).
    """

    def __init__(self, path: Path, on_batch: BatchSink) -> None:
        self.path = path
        self.on_batch = on_batch
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot create the take journal {path}: {exc.strerror}") from None
        try:  # recovery skips journals a live recorder holds
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            raise JournalError(
                f"take journal {path} is in use by another stagectl ({exc.strerror})"
            ) from None
        self.size = os.fstat(self._fd).st_size
        self.put_count = 0
        self.written = 0
        self.write_errors = 0
        self.error: str | None = None
        self.last_write_ns = 0
        self._rest: memoryview | None = None
        self._queue: queue.SimpleQueue[Record | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"journal {path.name}", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Records put and not yet written (the recorder's lag, in records)."""
        return self.put_count - self.written

    def put(self, rtype: int, payload: bytes) -> None:
        """Queue one record (any thread; never blocks)."""
        self.put_count += 1
        self._queue.put((rtype, payload))

    def close(self, timeout_s: float = 10.0) -> bool:
        """Write what is queued, then close the file; False when the thread did not finish in time.

        Blocks up to ``timeout_s``: call it from a worker thread, not the I/O loop.
        """
        self._queue.put(None)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        stop = False
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            while not self._write(batch):  # disk full or gone: retry this batch alone, never drop it
                time.sleep(0.05)
            if stop:
                break
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _write(self, batch: list[Record]) -> bool:
        if self._rest is None:
            self._rest = memoryview(b"".join(frame(rtype, payload) for rtype, payload in batch))
        try:
            while self._rest:  # a short write keeps its remainder: nothing is written twice
                done = os.write(self._fd, self._rest)
                self.size += done
                self._rest = self._rest[done:]
        except OSError as exc:
            self.write_errors += 1
            if self.error is None:
                log.error("take journal %s: write failed: %s (retrying)", self.path.name, exc.strerror)
            self.error = f"journal write failed: {exc.strerror}"
            return False
        self._rest = None
        self.error = None
        self.written += len(batch)
        self.last_write_ns = time.monotonic_ns()
        try:
            self.on_batch(batch, self.size)
        except Exception as exc:  # the committer's trouble must not stop the journal
            log.error("take journal %s: handing a batch on failed: %s", self.path.name, exc)
        return True
