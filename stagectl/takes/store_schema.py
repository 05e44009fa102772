"""The take store's SQLite schema, its versions and the upgrade of an older store.

Schema version 3 (this stagectl):

* ``takes``: one row per take (slate, rate, timecode in/out as frames, state, flags, notes, the look
  live at the start and its CDL per zone, the journal it was fed from and how far).
* ``cameras``: per take, the camera index used in sample records, its name, first source, lens file
  (JSON) and ``info`` (JSON: the stage file's ``sensor_mm``).
* ``sources``: per take, every tracking source feeding its cameras: index, name, protocol, cameras
  and the settings needed to decode its raw datagrams again.
* ``chunks``: samples as blobs of fixed-size records (``layout`` 2: ``records.SAMPLE_DTYPE``; 1: the
  208-byte records of schema 1), one camera per blob, with the first and last sample's arrival time
  and frame (by arrival).
* ``raw``: every datagram the sources received, as it arrived (``records.pack_raw`` entries), in
  zlib-compressed batches per source, with the batch's first/last raw index and arrival; indexed by
  (take, source, first index), the order a source's batches are read in.
* ``statics``: the trackers' ``static`` blocks (JSON as sent) received during the take, per camera.
* ``log``: cues, looks, device changes, notes, take events, in arrival order.

An older store is upgraded in place when a writer opens it, one version at a time in one
transaction: schema 1 (stagectl 0.1) -> 2 adds the new columns with their defaults and the new
tables; 2 -> 3 replaces the ``raw`` index ``raw_by_take (take_id, first_index)`` by ``raw_by_source``.
A read-only open of an older store upgrades it through a short-lived writer, or says what to do
when the store cannot be written.

A new store is built beside its final name and linked into place whole, so no other process ever
sees a half-made one; an empty (0-byte) file or one that is not an SQLite database is therefore
damage, never a store being created: :class:`StoreDamaged` says so (recovery sets such a file aside,
see :func:`set_aside`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from pathlib import Path

from stagectl.core.errors import StageError

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS takes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    slate TEXT NOT NULL,
    production TEXT NOT NULL, scene TEXT NOT NULL, shot TEXT NOT NULL, take_number INTEGER NOT NULL,
    rate_num INTEGER NOT NULL, rate_den INTEGER NOT NULL, drop_frame INTEGER NOT NULL,
    tc_in INTEGER, tc_out INTEGER,
    timecode_from TEXT NOT NULL DEFAULT 'stage',
    started REAL NOT NULL, stopped REAL,
    state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'recovered')),
    circled INTEGER NOT NULL DEFAULT 0, no_good INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    look_at_start TEXT NOT NULL DEFAULT '', cdl TEXT NOT NULL DEFAULT '{}',
    journal TEXT NOT NULL DEFAULT '', journal_offset INTEGER NOT NULL DEFAULT 0,
    samples INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cameras (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, camera TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', lens TEXT,
    PRIMARY KEY (take_id, idx)
);
CREATE TABLE IF NOT EXISTS chunks (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    camera_idx INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,
    first_frame INTEGER NOT NULL, last_frame INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_take ON chunks (take_id, camera_idx, first_ns);
CREATE TABLE IF NOT EXISTS log (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    arrival_ns INTEGER NOT NULL, frame INTEGER, kind TEXT NOT NULL, source TEXT NOT NULL,
    text TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS log_by_take ON log (take_id, arrival_ns);
"""

# Schema 1 -> 2: what every store of schema 2 has beyond schema 1 (also run on a new store).
_UPGRADE_2 = """
ALTER TABLE chunks ADD COLUMN layout INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cameras ADD COLUMN info TEXT NOT NULL DEFAULT '{}';
CREATE TABLE IF NOT EXISTS sources (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, name TEXT NOT NULL, protocol TEXT NOT NULL, cameras TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (take_id, idx)
);
CREATE TABLE IF NOT EXISTS raw (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    source_idx INTEGER NOT NULL, first_index INTEGER NOT NULL, last_index INTEGER NOT NULL,
    first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL,
    codec TEXT NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS raw_by_take ON raw (take_id, first_index);
CREATE TABLE IF NOT EXISTS statics (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    camera_idx INTEGER NOT NULL, arrival_ns INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS statics_by_take ON statics (take_id, camera_idx, arrival_ns);
"""

# Schema 2 -> 3: a source's batches are read by (take_id, source_idx) in first_index order.
_UPGRADE_3 = """
CREATE INDEX IF NOT EXISTS raw_by_source ON raw (take_id, source_idx, first_index);
DROP INDEX IF EXISTS raw_by_take;
"""
_UPGRADES = {2: _UPGRADE_2, 3: _UPGRADE_3}


class TakeStoreError(StageError):
    """The take store could not be opened or read, or a take was not found."""


class StoreDamaged(TakeStoreError):
    """The file at ``path`` is not a usable take store (empty, not SQLite, corrupt): ``reason`` says how."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"take store {path} is damaged ({reason}): start the stage or run `stagectl takes list` to set "
            "it aside (renamed with the time, nothing deleted) and start a fresh store that takes any "
            "journals left behind; then restore the takes it held from a backup")


#: The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: SQLite's result codes (and their extended forms) for a file that is not a database or is corrupt,
#: and for a file or folder this user may not write.
_DAMAGE_CODES = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
_ACCESS_CODES = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")


def check_file(path: Path) -> None:
    """StoreDamaged when the existing file at ``path`` is empty or does not start as an SQLite database
    (a cheap look at the header, no full scan); OSError when it cannot be read."""
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if not head:
        raise StoreDamaged(path, "the file is empty: 0 bytes")
    if head != SQLITE_MAGIC:
        raise StoreDamaged(path, f"not an SQLite database: it starts with {head[:8]!r}")


def set_aside(path: Path) -> Path:
    """Rename a damaged store (and its ``-wal`` / ``-shm`` files) to ``takes-damaged-<time>.sqlite``
    beside it, so SQLite can still open it with its write-ahead log; returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = f"{path.stem}-damaged-{stamp}"
    target, n = path.with_name(f"{stem}{path.suffix}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{stem}-{n}{path.suffix}")
    os.rename(path, target)
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        if side.exists():
            os.rename(side, target.with_name(target.name + extra))
    return target


def _code(exc: sqlite3.Error) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


def _damage(exc: sqlite3.Error) -> str | None:
    """What SQLite's error says is wrong with the file, when it is damage (not a lock or permissions)."""
    return str(exc) if _code(exc).startswith(_DAMAGE_CODES) else None


def _unwritable(path: Path, exc: BaseException) -> TakeStoreError:
    return TakeStoreError(
        f"cannot open the take store {path} for writing ({exc}): make {path.parent} and the files in it "
        "readable and writable by the user running stagectl, or point the stage file's [takes] dir at a "
        "folder that is")


def _version(conn: sqlite3.Connection, path: Path) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return None
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise TakeStoreError(f"take store {path}: its schema version {row[0]!r} is not a number: the "
                             "store is damaged; restore it from a backup") from None


def _upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Bring a writable connection's store to :data:`SCHEMA_VERSION` (one transaction)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn, path)
        if version is None:  # a new store: schema 1's tables exist (the script ran), then upgrade
            conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
            version = 1
        if version > SCHEMA_VERSION:
            raise TakeStoreError(f"take store {path} has schema version {version}, this stagectl reads up to "
                                 f"{SCHEMA_VERSION}: upgrade stagectl")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in filter(str.strip, _UPGRADES[target].split(";")):
                conn.execute(statement)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(target),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path`` (quoted: a folder named ``Stage #2`` stays one) that never creates the
    file (``mode`` ``ro`` or ``rw``)."""
    return f"file:{urllib.parse.quote(str(path))}?mode={mode}"


def _create(path: Path) -> None:
    """A new, empty store at ``path``: built under a temporary name, then linked into place whole (a
    store another process made meanwhile is kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(tmp, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            _upgrade(conn, path)
        finally:
            conn.close()
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with the schema in place and current (a writer creates or upgrades it).

    A read-only open of a store written by an older stagectl upgrades it first through a short-lived
    writer; TakeStoreError when that is not possible (a read-only folder) or the store is newer,
    StoreDamaged when the file is not a usable store. Every message names the file and what to do.
    """
    try:
        if not readonly and not path.exists():
            _create(path)
        check_file(path)
    except (OSError, sqlite3.Error) as exc:
        if readonly:
            why = exc.strerror if isinstance(exc, OSError) else exc
            raise TakeStoreError(f"cannot read the take store {path} ({why}): make {path.parent} "
                                 "and the files in it readable by the user running stagectl") from None
        raise _unwritable(path, exc) from None
    try:
        if readonly:
            conn = sqlite3.connect(_uri(path, "ro"), uri=True, timeout=10.0, check_same_thread=False)
            version = _version(conn, path)
            if version is not None and version < SCHEMA_VERSION:
                conn.close()
                try:
                    connect(path).close()
                except (sqlite3.Error, TakeStoreError) as exc:
                    raise TakeStoreError(
                        f"take store {path} was written by an older stagectl (schema {version}) and cannot "
                        f"be upgraded here ({exc}): open it once where it can be written, e.g. "
                        "`stagectl takes list --config <stage file>`") from None
                return connect(path, readonly=True)
        else:
            conn = sqlite3.connect(_uri(path, "rw"), uri=True, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
            _upgrade(conn, path)
        version = _version(conn, path)
    except sqlite3.Error as exc:
        damage = _damage(exc)
        if damage is not None:
            raise StoreDamaged(path, damage) from None
        if _code(exc).startswith(_ACCESS_CODES):
            if not readonly:
                raise _unwritable(path, exc) from None
            raise TakeStoreError(
                f"cannot open the take store {path} ({exc}): SQLite needs to create {path.name}-shm beside "
                f"it even to read: make {path.parent} writable by the user running stagectl, or copy the "
                "folder somewhere that is") from None
        raise TakeStoreError(f"cannot open the take store {path}: {exc}") from None
    if version is None or version > SCHEMA_VERSION:
        conn.close()
        raise TakeStoreError(
            f"take store {path} has schema version {version}, this stagectl reads up to {SCHEMA_VERSION}: "
            "upgrade stagectl"
        )
    return conn
