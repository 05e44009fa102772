"""Replicating a stage's takes to the facility database, on one background thread.

The thread reads the local take store read-only (its own SQLite connection: WAL lets it read while the
committer writes) and never touches the recorder, so recording never waits on the database. Each pass
lists the local takes, asks the database which of them it holds complete (the take row's
``local_hash``), and pushes the rest (:mod:`stagectl.takes.facility.push`), newest first. A pass runs
when :meth:`Replicator.wake` says something changed, and once a second otherwise.

Outages: the database unreachable (or the network gone) puts the replicator in state ``down``; it
retries with capped backoff, WARNING on the first failure of an outage and DEBUG after (the
aioesphomeapi habit), and resumes from where the database says it is. A database whose schema this
stagectl does not write is refused (state ``schema``) and checked again now and then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from stagectl.takes.facility import push
from stagectl.takes.facility.model import FacilitySettings, ReplicationStatus, TakeSync, where
from stagectl.takes.facility.schema import FacilitySchemaError, check
from stagectl.takes.store import DB_NAME, TakeStore
from stagectl.takes.store_schema import TakeStoreError

log = logging.getLogger("stagectl.takes.facility")

POLL_S = 1.0
"""A pass at least this often while the database is up (a wake() runs one sooner)."""
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Waits between attempts while the database is down (the last one repeats)."""
SCHEMA_RECHECK_S = 30.0
"""How often a refused schema is looked at again (someone may run ``stagectl facility migrate``)."""
PUBLISH_S = 0.25
"""The per-take status is published at most this often during a long pass (and at its end)."""
_OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, PoolClosed)


class _Outage(Exception):
    """The database went away during a pass."""


class Replicator:
    """Copies the take store in ``store_folder`` to the facility database of ``settings``.

    ``on_event(level, message)`` (level ``warning`` / ``info`` / ``error``) hears of outages and their
    end, on the replicator's thread: hop to your own thread before touching anything of yours."""

    def __init__(self, store_folder: Path, settings: FacilitySettings,
                 on_event: Callable[[str, str], None] | None = None) -> None:
        self.folder = store_folder
        self.settings = settings
        self._on_event = on_event
        self._cond = threading.Condition()
        self._wanted = False
        self._urgent = False
        self._stopping = False
        self._requested = 0
        self._completed = 0
        self._thread: threading.Thread | None = None
        self._pool: ConnectionPool[Any] | None = None
        self._local: TakeStore | None = None
        self._local_inode: int | None = None
        self._takes: dict[int, TakeSync] = {}
        self._known: dict[str, str] = {}  # take key -> local hash the facility holds complete
        self._theirs_ns: dict[int, int | None] = {}  # local id -> the facility's last sample at last contact
        self._state = "stopped"
        self._error: str | None = None
        self._sent_samples = self._sent_bytes = 0
        self._failures = 0
        self._status = ReplicationStatus("stopped", None, {}, 0, 0)
        self._published = 0.0
        self._refreshed = 0.0

    # --- any thread ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (a second call does nothing)."""
        if self._thread is not None:
            return
        self._stopping = False
        self._state = "connecting"
        self._publish(force=True)
        self._thread = threading.Thread(target=self._run, name="facility-replicator", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout_s`` for a push under way) and close the connections."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._close_pool()
        if self._local is not None:
            with contextlib.suppress(sqlite3.Error):
                self._local.close()
            self._local = None
        self._state = "stopped"
        self._publish(force=True)

    def wake(self) -> None:
        """Something changed locally (a commit, STOP, notes or flags edited): look soon."""
        with self._cond:
            self._wanted = True
            self._cond.notify_all()

    def status(self) -> ReplicationStatus:
        """The latest published status (never blocks)."""
        return self._status

    def sync_now(self, timeout_s: float) -> ReplicationStatus:
        """Run a pass now (even while backing off from an outage) and wait for it, up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._requested += 1
            target = self._requested
            self._urgent = self._wanted = True
            self._cond.notify_all()
            while self._completed < target and not self._stopping and self._thread is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        return self._status

    # --- the replicator's thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                generation = self._requested
                self._wanted = self._urgent = False
            wait = self._attempt()
            with self._cond:
                self._completed = max(self._completed, generation)
                self._cond.notify_all()
            end = time.monotonic() + wait
            while self._sleep_until(end):  # woken while the database is away: the takes' lag from local
                self._refresh_local_view()

    def _sleep_until(self, end: float) -> bool:
        """Wait for the next pass (``end``, a request, or a wake while the database is up). True: woken
        while the database is away, at most once a second (to show how far behind the takes are)."""
        with self._cond:
            while not self._stopping and not self._urgent and not (self._wanted and self._state == "ok"):
                now = time.monotonic()
                if self._wanted and self._state == "down" and now - self._refreshed >= POLL_S:
                    self._wanted = False
                    self._refreshed = now
                    return True
                if now >= end:
                    break
                self._cond.wait(end - now)
            return False

    def _refresh_local_view(self) -> None:
        """Each take's state and lag from the local store alone (the database is away)."""
        store = self._open_local()
        if store is None:
            return
        with contextlib.suppress(sqlite3.Error, TakeStoreError):
            self._update_local_view(store.conn, push.local_takes(store.conn))

    def _attempt(self) -> float:
        """One pass; the wait before the next."""
        try:
            self._pass()
        except FacilitySchemaError as exc:
            self._close_pool()
            if self._state != "schema":
                self._event("error", str(exc))
            self._state, self._error = "schema", str(exc)
            self._publish(force=True)
            return SCHEMA_RECHECK_S
        except (_Outage, *_OUTAGE) as exc:
            self._close_pool()
            reason = _reason(exc)
            wait = BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)]
            message = (f"facility database {where(self.settings.url)} unreachable ({reason}): takes are kept "
                       f"locally and sent when it is back; retrying in {wait:g} s")
            if self._failures == 0:
                self._event("warning", message)
            else:
                log.debug("%s", message)
            self._failures += 1
            self._state, self._error = "down", reason
            self._publish(force=True)
            return wait
        if self._failures:
            message = f"facility database {where(self.settings.url)} reachable again: replication resumed"
            self._event("info", message)
            self._failures = 0
        self._state, self._error = "ok", None
        self._publish(force=True)
        return POLL_S

    def _pass(self) -> None:
        store = self._open_local()
        if store is None:
            self._takes = {}
            pool = self._ensure_pool()
            return
        takes = push.local_takes(store.conn)
        self._update_local_view(store.conn, takes)
        pool = self._ensure_pool()
        # A connection that fails is closed with the pool, never handed back: the pool would try to
        # replace it at once and log each failed attempt; the outage is reported here, once.
        pg = pool.getconn(timeout=self.settings.connect_timeout_s)
        try:
            facility = push.facility_hashes(pg, self.settings.stage_id)
            self._known = {key: digest for key, (_id, digest) in facility.items()}
            self._update_local_view(store.conn, takes, facility)
            for take in sorted(takes, key=lambda t: -t.local_id):
                if self._stopping:
                    break
                if self._known.get(take.key) != take.digest:
                    self._push_one(store.conn, pg, take, facility.get(take.key, (None, ""))[0])
        except BaseException:
            self._close_pool()
            with contextlib.suppress(Exception):
                pg.close()
            raise
        pool.putconn(pg)

    def _push_one(self, local: sqlite3.Connection, pg: psycopg.Connection[Any], take: push.LocalTake,
                  facility_id: int | None) -> None:
        pushed = push.Pushed()
        try:
            theirs = self._theirs_ns[take.local_id] = push.facility_last_ns(pg, facility_id)
            span = push.local_span(local, take.local_id)
            lag = push.lag_s(span, theirs)
            self._takes[take.local_id] = TakeSync("behind" if facility_id is not None else "pending", lag,
                                                  f"{lag:.1f} s of recording to send")
            self._publish()
            push.push_take(local, pg, self.settings.stage_id, take, pushed)
        except _OUTAGE:
            raise
        except psycopg.Error as exc:
            if pg.broken or pg.closed:
                raise _Outage(_reason(exc)) from None
            self._take_error(take, f"the database refused it: {_reason(exc)}")
            return
        except (sqlite3.Error, TakeStoreError, ValueError, KeyError, TypeError) as exc:
            self._take_error(take, f"the local store could not be read: {exc}")
            return
        finally:
            self._sent_samples += pushed.samples
            self._sent_bytes += pushed.bytes
        self._known[take.key] = take.digest
        if span is not None:  # everything recorded up to the push's start is there now
            self._theirs_ns[take.local_id] = span[1]
        self._takes[take.local_id] = TakeSync("synced", 0.0)
        self._publish()

    def _take_error(self, take: push.LocalTake, why: str) -> None:
        detail = (f"take {take.row['name']} (local id {take.local_id}) not replicated: {why}; "
                  "retried on every pass")
        if self._takes.get(take.local_id, TakeSync("", 0.0)).detail != detail:
            log.warning("%s", detail)
        self._takes[take.local_id] = TakeSync("error", 0.0, detail)
        self._publish()

    def _update_local_view(self, local: sqlite3.Connection, takes: list[push.LocalTake],
                           facility: dict[str, tuple[int, str]] | None = None) -> None:
        """Each take's state from what is known of the facility (the last contact when it is down)."""
        view: dict[int, TakeSync] = {}
        for take in takes:
            old = self._takes.get(take.local_id)
            if self._known.get(take.key) == take.digest:
                view[take.local_id] = TakeSync("synced", 0.0)
            elif old is not None and old.state == "error":
                view[take.local_id] = old
            elif facility is not None and take.key not in facility:
                view[take.local_id] = TakeSync("pending", 0.0, "not in the facility yet")
            elif take.local_id in self._theirs_ns:
                # behind by what was recorded since the facility's last sample (known at the last contact:
                # while the database is away it grows with the recording)
                lag = push.lag_s(push.local_span(local, take.local_id), self._theirs_ns[take.local_id])
                why = f"{lag:.1f} s of recording to send" if lag > 0 else "changed since it was sent"
                view[take.local_id] = TakeSync("behind", lag, why)
            else:
                view[take.local_id] = old if old is not None and old.state != "synced" else \
                    TakeSync("behind", 0.0, "changed since it was sent")
        self._takes = view
        self._publish(force=True)

    def _open_local(self) -> TakeStore | None:
        """The local store read-only (opened again when it was replaced, e.g. set aside and rebuilt)."""
        path = self.folder / DB_NAME
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            return None
        if self._local is not None and inode == self._local_inode:
            return self._local
        if self._local is not None:
            with contextlib.suppress(sqlite3.Error):
                self._local.close()
            self._local = None
        try:
            self._local = TakeStore(self.folder, readonly=True)
        except TakeStoreError as exc:
            self._error = str(exc)
            return None
        self._local_inode = inode
        return self._local

    def _ensure_pool(self) -> ConnectionPool[Any]:
        if self._pool is not None:
            return self._pool
        url, timeout = self.settings.url, self.settings.connect_timeout_s
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": max(1, round(timeout)),
                                  "application_name": f"stagectl {self.settings.stage_id}", "keepalives": 1,
                                  "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
        # Probe first: the pool retries on its own and logs every failed attempt; an outage is ours to report.
        with psycopg.connect(url, **kwargs) as probe:
            check(probe, url)
        pool: ConnectionPool[Any] = ConnectionPool(url, min_size=1, max_size=2, kwargs=kwargs, open=False,
                                                   timeout=timeout,
                                                   name=f"facility-{self.settings.stage_id}")
        pool.open(wait=True, timeout=timeout)
        self._pool = pool
        return pool

    def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.close(timeout=1.0)

    def _event(self, level: str, message: str) -> None:
        """Say ``message`` once: to the listener when there is one (the stage's event log, which prints
        it), else to this module's logger at ``level``; the logger hears it at DEBUG either way."""
        if self._on_event is None:
            log.log(logging.getLevelName(level.upper()), "%s", message)
            return
        log.debug("%s", message)
        try:
            self._on_event(level, message)
        except Exception:  # a listener's failure is its own; replication goes on
            log.exception("facility replication listener failed")

    def _publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._published < PUBLISH_S:
            return
        self._published = now
        self._status = ReplicationStatus(self._state, self._error, dict(self._takes), self._sent_samples,
                                         self._sent_bytes)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
