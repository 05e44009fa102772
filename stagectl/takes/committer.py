"""From journal records to the take store: the committer thread, and the ingest it shares with
recovery after a crash (:mod:`stagectl.takes.recovery`).

Both read the same records the same way (:class:`TakeIngest`): a ``HEADER`` creates the take row,
``CAMERA`` declares a camera, ``SAMPLE`` and ``LOG`` records are stored in batches, ``END`` marks
the take complete. Each commit also stores how far into the journal the store now holds
everything, so a recovery replays only the rest.

A SAMPLE record of neither layout's size, or a RAW record shorter than its own header says, cannot be
stored: it is left out and counted (:attr:`TakeIngest.skipped`, logged at most every
:data:`SKIP_LOG_PERIOD_S`), and the rest of the take is stored as usual.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.core.timecode import FrameRate
from stagectl.takes.journal import CAMERA, END, HEADER, LOG, RAW, SAMPLE, SOURCE, STATIC, Record
from stagectl.takes.records import (
    RAW_HEAD,
    SAMPLE_DTYPE,
    SAMPLE_SIZE,
    SAMPLE_V1_SIZE,
    lens_from_json,
    upgrade_v1,
)
from stagectl.takes.store import TakeStore, TakeStoreError

log = logging.getLogger("stagectl.takes")

#: What a CAMERA record may hold beyond the camera and its lens file (``cameras.info`` in the store).
CAMERA_INFO = ("sensor_mm", "lens_static", "tracker_make", "delay_ms")
#: The committer commits at least this often while records arrive.
COMMIT_PERIOD_S = 0.2
#: Records left out are logged at most this often per take (a damaged stretch can hold thousands).
SKIP_LOG_PERIOD_S = 10.0
JOURNAL_DIR = "journal"


class TakeIngest:
    """Applies one take's journal records to the store (call :meth:`commit` to make them durable).

    Attributes:
        samples / raw: sample records and raw entries committed so far.
        skipped: records left out because their size fits no layout (see the module docstring).
    """

    def __init__(self, store: TakeStore, journal_name: str, take_id: int | None = None) -> None:
        self.store = store
        self.journal_name = journal_name
        self.take_id = take_id
        self.ended: dict[str, Any] | None = None
        self.samples = 0
        self.raw = 0
        self.skipped = 0
        self._skip_logged: float | None = None  # time.monotonic() of the last such log
        self._samples: list[bytes] = []
        self._old_samples: list[bytes] = []  # layout 1 (a journal of stagectl 0.1 being recovered)
        self._raw: dict[int, list[bytes]] = {}
        self._logs: list[dict[str, Any]] = []
        self._cameras: list[dict[str, Any]] = []
        self._sources: list[dict[str, Any]] = []
        self._statics: list[dict[str, Any]] = []
        self._header: dict[str, Any] | None = None
        self._rate: tuple[FrameRate, bool] | None = None
        self._offset = 0

    def add(self, records: list[Record], offset: int) -> None:
        """Take in records that end at journal byte ``offset`` (not yet committed)."""
        for rtype, payload in records:
            if rtype == SAMPLE:
                if len(payload) == SAMPLE_SIZE:
                    self._samples.append(payload)
                elif len(payload) == SAMPLE_V1_SIZE:
                    self._old_samples.append(payload)
                else:
                    self._skip(f"a sample record of {len(payload)} bytes (layout 2 is {SAMPLE_SIZE}, "
                               f"layout 1 {SAMPLE_V1_SIZE})")
            elif rtype == RAW:
                self._add_raw(payload)
            elif rtype == LOG:
                self._logs.append(json.loads(payload))
            elif rtype == STATIC:
                self._statics.append(json.loads(payload))
            elif rtype == CAMERA:
                self._cameras.append(json.loads(payload))
            elif rtype == SOURCE:
                self._sources.append(json.loads(payload))
            elif rtype == HEADER:
                self._header = json.loads(payload)
                num, den = self._header["rate"]
                self._rate = (FrameRate(Fraction(num, den)), bool(self._header.get("drop_frame")))
            elif rtype == END:
                self.ended = json.loads(payload)
        self._offset = offset

    def _add_raw(self, payload: bytes) -> None:
        if len(payload) < RAW_HEAD.size:
            self._skip(f"a raw record of {len(payload)} bytes (its header alone is {RAW_HEAD.size})")
            return
        *_, source, _flags, peer_len, data_len = RAW_HEAD.unpack_from(payload)
        if len(payload) != RAW_HEAD.size + peer_len + data_len:
            self._skip(f"a raw record of {len(payload)} bytes whose header says "
                       f"{RAW_HEAD.size + peer_len + data_len}")
            return
        self._raw.setdefault(source, []).append(payload)

    def _skip(self, what: str) -> None:
        self.skipped += 1
        now = time.monotonic()
        if self._skip_logged is None or now - self._skip_logged >= SKIP_LOG_PERIOD_S:
            self._skip_logged = now
            log.error("take journal %s: %s cannot be stored and is left out (%d so far in this take); "
                      "the rest of the take is stored", self.journal_name, what, self.skipped)

    @property
    def dirty(self) -> bool:
        """Records taken in and not committed."""
        return bool(self._samples or self._old_samples or self._raw or self._logs or self._cameras
                    or self._sources or self._statics or self._header or self.ended)

    def _rate_of(self, take_id: int) -> tuple[FrameRate, bool]:
        if self._rate is None:
            info = self.store.info(take_id)
            self._rate = (info.rate, info.drop_frame)
        return self._rate

    def commit(self) -> None:
        """Store what was taken in, in one transaction (TakeStoreError / sqlite3.Error on failure:
        nothing is lost, the records stay and the next commit retries them)."""
        store = self.store
        with store.transaction():
            if self._header is not None and self.take_id is None:
                self.take_id = store.insert_take(self._header, self.journal_name)
            if self.take_id is None:
                raise TakeStoreError(f"{self.journal_name}: records before the take's header")
            for cam in self._cameras:
                store.put_camera(
                    self.take_id,
                    int(cam["index"]),
                    str(cam["camera"]),
                    str(cam.get("source", "")),
                    lens_from_json(cam.get("lens")),
                    {key: cam[key] for key in CAMERA_INFO if cam.get(key) is not None},
                )
            for source in self._sources:
                store.put_source(self.take_id, source)
            if self._old_samples:
                store.put_samples(self.take_id, upgrade_v1(b"".join(self._old_samples),
                                                           *self._rate_of(self.take_id)))
            if self._samples:
                store.put_samples(self.take_id, np.frombuffer(b"".join(self._samples), dtype=SAMPLE_DTYPE))
            for source_idx, entries in self._raw.items():
                store.put_raw(self.take_id, source_idx, entries)
            if self._statics:
                store.put_statics(self.take_id, self._statics)
            if self._logs:
                store.put_log(self.take_id, self._logs)
            store.set_journal_offset(self.take_id, self._offset)
        self.samples += len(self._samples) + len(self._old_samples)
        self.raw += sum(map(len, self._raw.values()))
        self._header = None
        self._cameras, self._sources, self._samples, self._old_samples, self._logs = [], [], [], [], []
        self._raw, self._statics = {}, []

    def finish(self, state: str) -> None:
        """Mark the take ``complete`` (an END record was seen) or ``recovered``."""
        assert self.take_id is not None
        end = self.ended or {}
        with self.store.transaction():
            self.store.finish(
                self.take_id,
                "complete" if state == "complete" else "recovered",
                end.get("stopped"),
                end.get("tc_out"),
            )


@dataclass
class CommitterStats:
    """How the committer is doing (read from any thread)."""

    commits: int = 0
    errors: int = 0
    error: str | None = None
    committed_records: int = 0
    committed_raw: int = 0
    last_commit_ns: int = 0
    wakes: int = 0
    """Times the thread woke (a batch, the stop, or a commit period while something waits to be stored)."""


class Committer:
    """A thread that stores journal batches in SQLite (see the module docstring).

    ``feed(journal_name, records, offset)`` is the journal writer's ``on_batch``; ``on_take`` is
    called (on this thread) with (journal name, take id) once a take's row exists.
    """

    def __init__(
        self,
        folder: Path,
        *,
        on_take: Callable[[str, int], None] | None = None,
    ) -> None:
        self.folder = folder
        self.on_take = on_take
        self.stats = CommitterStats()
        self._queue: queue.SimpleQueue[tuple[str, list[Record], int] | None] = queue.SimpleQueue()
        self._ingests: dict[str, TakeIngest] = {}
        self._store: TakeStore | None = None
        self._thread = threading.Thread(target=self._run, name="take committer", daemon=True)
        self._started = threading.Event()
        self._open_error: Exception | None = None

    def start(self) -> None:
        """Open the store on the thread; TakeStoreError when it cannot open (waits for that answer)."""
        self._thread.start()
        self._started.wait(30.0)
        if self._open_error is not None:
            raise self._open_error

    def feed(self, journal_name: str, records: list[Record], offset: int) -> None:
        """Queue a written batch (the journal thread; never blocks)."""
        self._queue.put((journal_name, records, offset))

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Commit what is queued and close; False when it did not finish in time."""
        if not self._thread.is_alive():
            return True
        self._queue.put(None)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def pending(self) -> int:
        """Batches queued and not yet taken in (an estimate, for the lag display)."""
        return self._queue.qsize()

    def _run(self) -> None:
        try:
            self._store = TakeStore(self.folder)
        except Exception as exc:
            self._open_error = exc
            self._started.set()
            return
        self._started.set()
        last_commit = time.monotonic()
        running = True
        while running:
            timeout: float | None = None  # nothing to commit: sleep until a batch or the stop arrives
            if any(ingest.dirty for ingest in self._ingests.values()):
                timeout = max(0.0, COMMIT_PERIOD_S - (time.monotonic() - last_commit))
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ("", [], 0)
            self.stats.wakes += 1
            if item is None:
                running = False
            elif item[1]:
                self._take_in(*item)
            if not running or time.monotonic() - last_commit >= COMMIT_PERIOD_S:
                self._commit_all()
                last_commit = time.monotonic()
        self._store.close()

    def _take_in(self, journal_name: str, records: list[Record], offset: int) -> None:
        assert self._store is not None
        ingest = self._ingests.get(journal_name)
        if ingest is None:
            ingest = self._ingests[journal_name] = TakeIngest(self._store, journal_name)
        ingest.add(records, offset)

    def _commit_all(self) -> None:
        for name, ingest in list(self._ingests.items()):
            if not ingest.dirty:
                continue
            had_id = ingest.take_id is not None
            before, raw_before = ingest.samples, ingest.raw
            try:
                ingest.commit()
                if ingest.ended is not None:
                    ingest.finish("complete")
            except Exception as exc:  # disk full, locked: the journal still holds it; retry next period
                self.stats.errors += 1
                if self.stats.error is None:
                    log.error("take store: commit failed: %s (the journal keeps the take; retrying)", exc)
                self.stats.error = f"take store commit failed: {exc}"
                continue
            self.stats.error = None
            self.stats.commits += 1
            self.stats.committed_records += ingest.samples - before
            self.stats.committed_raw += ingest.raw - raw_before
            self.stats.last_commit_ns = time.monotonic_ns()
            if not had_id and ingest.take_id is not None and self.on_take is not None:
                self.on_take(name, ingest.take_id)
            if ingest.ended is not None and ingest.take_id is not None:
                del self._ingests[name]
                path = self.folder / JOURNAL_DIR / name
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("take journal %s is stored in full as take %d but could not be deleted (%s): "
                                "the next start knows it as stored and does not replay it; delete it, or "
                                "make %s writable by the user running stagectl",
                                path, ingest.take_id, exc.strerror, path.parent)
