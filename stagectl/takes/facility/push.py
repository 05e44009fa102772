"""Copying one local take to the facility database: idempotent batches, resumed where the database is.

The database says how far each part of a take is (samples per camera, raw entries per source, statics
and log entries); the local store is read from there on, in its own order, and written in batches of
one transaction each, every row keyed so that writing it twice is a no-op (``ON CONFLICT DO
NOTHING``). A local chunk the database holds part of (the local store was rebuilt from a journal in
other batches) is cut at the first sample it lacks. The take row's ``local_hash`` (the local take
row's content) is set last: while it differs from the local row, the take is pushed again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import psycopg

from stagectl.core.timecode import FrameRate
from stagectl.takes.records import LAYOUT, RAW_HEAD, SAMPLE_DTYPE, unpack_samples, upgrade_v1

#: One transaction's worth of sample chunks or raw batches (bytes of blobs).
BATCH_BYTES = 4 << 20
#: Log and statics rows per transaction.
BATCH_ROWS = 2000

LOCAL_COLUMNS = ("id, name, slate, production, scene, shot, take_number, rate_num, rate_den, drop_frame, "
                 "tc_in, tc_out, timecode_from, started, stopped, state, circled, no_good, notes, "
                 "look_at_start, cdl, journal, journal_offset, samples")
_NAMES = [c.strip() for c in LOCAL_COLUMNS.split(",")]


@dataclass(frozen=True, slots=True)
class LocalTake:
    """A local take row: its columns by name, its key in the facility and the hash of the row."""

    row: dict[str, Any]
    key: str
    digest: str

    @property
    def local_id(self) -> int:
        return int(self.row["id"])


def local_takes(conn: sqlite3.Connection) -> list[LocalTake]:
    """Every take of the local store (rows only, no samples), oldest first."""
    out = []
    for values in conn.execute(f"SELECT {LOCAL_COLUMNS} FROM takes ORDER BY id"):
        row = dict(zip(_NAMES, values, strict=True))
        digest = hashlib.sha1(repr(values).encode()).hexdigest()
        out.append(LocalTake(row, take_key(row), digest))
    return out


def take_key(row: dict[str, Any]) -> str:
    """A take's identity within its stage: its journal's name (kept by the local store, and by a store
    rebuilt from the journals), else its start time and name (a take made by a stagectl that cleared it)."""
    journal = str(row["journal"] or "")
    return journal if journal else f"{float(row['started'])!r}:{row['name']}"


@dataclass(slots=True)
class Pushed:
    """What one push sent."""

    samples: int = 0
    bytes: int = 0


def upsert_take(pg: psycopg.Connection[Any], stage_id: str, take: LocalTake) -> int:
    """The facility row of ``take`` created or brought up to date (not its samples); its facility id."""
    r = take.row
    day = time.strftime("%Y-%m-%d", time.localtime(float(r["started"])))
    values = (stage_id, take.key, r["id"], r["name"], r["slate"], r["production"], r["scene"], r["shot"],
              r["take_number"], r["rate_num"], r["rate_den"], bool(r["drop_frame"]), r["tc_in"], r["tc_out"],
              r["timecode_from"], r["started"], r["stopped"], day, r["state"], bool(r["circled"]),
              bool(r["no_good"]), r["notes"], r["look_at_start"], r["cdl"])
    pg.execute("INSERT INTO stages (stage_id) VALUES (%s) "
               "ON CONFLICT (stage_id) DO UPDATE SET last_seen = now()", (stage_id,))
    row = pg.execute(
        "INSERT INTO takes (stage_id, take_key, local_id, name, slate, production, scene, shot, "
        "take_number, rate_num, rate_den, drop_frame, tc_in, tc_out, timecode_from, started, stopped, day, "
        "state, circled, no_good, notes, look_at_start, cdl) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (stage_id, take_key) DO UPDATE SET "
        "local_id = excluded.local_id, name = excluded.name, slate = excluded.slate, "
        "production = excluded.production, scene = excluded.scene, shot = excluded.shot, "
        "take_number = excluded.take_number, tc_in = excluded.tc_in, tc_out = excluded.tc_out, "
        "stopped = excluded.stopped, state = excluded.state, circled = excluded.circled, "
        "no_good = excluded.no_good, notes = excluded.notes, look_at_start = excluded.look_at_start, "
        "cdl = excluded.cdl, updated = now() RETURNING id", values).fetchone()
    assert row is not None
    return int(row[0])


def _put_cameras_and_sources(local: sqlite3.Connection, pg: psycopg.Connection[Any], local_id: int,
                             take_id: int) -> None:
    cams = local.execute("SELECT idx, camera, source, lens, info FROM cameras WHERE take_id = ?", (local_id,))
    with pg.cursor() as cur:
        cur.executemany(
            "INSERT INTO cameras (take_id, idx, camera, source, lens, info) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (take_id, idx) DO UPDATE SET camera = excluded.camera, source = excluded.source, "
            "lens = excluded.lens, info = excluded.info", [(take_id, *row) for row in cams])
        sources = local.execute("SELECT idx, name, protocol, cameras, settings FROM sources "
                                "WHERE take_id = ?", (local_id,))
        cur.executemany(
            "INSERT INTO sources (take_id, idx, name, protocol, cameras, settings) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (take_id, idx) DO UPDATE SET name = excluded.name, "
            "protocol = excluded.protocol, cameras = excluded.cameras, settings = excluded.settings",
            [(take_id, *row) for row in sources])


def local_span(local: sqlite3.Connection, local_id: int) -> tuple[int, int] | None:
    """Arrival ns of the local take's first and last sample (None: no sample yet)."""
    mine = local.execute("SELECT MIN(first_ns), MAX(last_ns) FROM chunks WHERE take_id = ?",
                         (local_id,)).fetchone()
    if mine is None or mine[1] is None:
        return None
    return int(mine[0]), int(mine[1])


def facility_last_ns(pg: psycopg.Connection[Any], take_id: int | None) -> int | None:
    """Arrival ns of the last sample the facility holds of a take (None: none)."""
    if take_id is None:
        return None
    row = pg.execute("SELECT MAX(last_ns) FROM chunks WHERE take_id = %s", (take_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def lag_s(span: tuple[int, int] | None, theirs_ns: int | None) -> float:
    """Seconds of recording (by sample arrival) the local take has beyond the facility's last sample."""
    if span is None:
        return 0.0
    start = span[0] if theirs_ns is None else theirs_ns
    return max(0.0, (span[1] - start) / 1e9)


def push_take(local: sqlite3.Connection, pg: psycopg.Connection[Any], stage_id: str, take: LocalTake,
              pushed: Pushed) -> None:
    """Bring the facility copy of ``take`` level with the local store (see the module's docstring)."""
    with pg.transaction():
        take_id = upsert_take(pg, stage_id, take)
        _put_cameras_and_sources(local, pg, take.local_id, take_id)
    _push_samples(local, pg, take, take_id, pushed)
    _push_raw(local, pg, take.local_id, take_id, pushed)
    _push_rows(local, pg, take.local_id, take_id, "statics", "camera_idx, arrival_ns, data", 3)
    _push_rows(local, pg, take.local_id, take_id, "log", "arrival_ns, frame, kind, source, text, data", 6)
    with pg.transaction():
        pg.execute("UPDATE takes SET samples = (SELECT COALESCE(SUM(count), 0) FROM chunks "
                   "WHERE take_id = %s), local_hash = %s, updated = now() WHERE id = %s",
                   (take_id, take.digest, take_id))


def _done(pg: psycopg.Connection[Any], query: str, take_id: int) -> dict[int, int]:
    with pg.transaction():
        return {int(k): int(v) for k, v in pg.execute(query, (take_id,)).fetchall()}


def _push_samples(local: sqlite3.Connection, pg: psycopg.Connection[Any], take: LocalTake, take_id: int,
                  pushed: Pushed) -> None:
    done = _done(pg, "SELECT camera_idx, MAX(first_index + count) FROM chunks WHERE take_id = %s "
                 "GROUP BY camera_idx", take_id)
    rate = FrameRate(Fraction(int(take.row["rate_num"]), int(take.row["rate_den"])))
    drop = bool(take.row["drop_frame"])
    cameras = [int(r[0]) for r in local.execute("SELECT DISTINCT camera_idx FROM chunks WHERE take_id = ?",
                                                (take.local_id,))]
    for idx in cameras:
        batch: list[tuple[Any, ...]] = []
        size = 0
        for row in _new_chunks(local, take.local_id, idx, done.get(idx, 0), rate, drop):
            batch.append((take_id, idx, *row))
            size += len(row[-1])
            if size >= BATCH_BYTES:
                _insert_chunks(pg, batch, pushed)
                batch, size = [], 0
        if batch:
            _insert_chunks(pg, batch, pushed)


def _insert_chunks(pg: psycopg.Connection[Any], batch: list[tuple[Any, ...]], pushed: Pushed) -> None:
    with pg.transaction(), pg.cursor() as cur:
        cur.executemany("INSERT INTO chunks (take_id, camera_idx, first_index, count, first_ns, last_ns, "
                        "first_frame, last_frame, layout, data) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", batch)
    pushed.samples += sum(int(row[3]) for row in batch)
    pushed.bytes += sum(len(row[-1]) for row in batch)


def _new_chunks(local: sqlite3.Connection, local_id: int, idx: int, done: int, rate: FrameRate,
                drop: bool) -> Iterator[tuple[Any, ...]]:
    """A camera's chunks from sample ``done`` on: (first index, count, first/last ns, first/last frame,
    layout, blob), a chunk straddling ``done`` cut there (as layout-2 records)."""
    order = local.execute("SELECT rowid, count FROM chunks WHERE take_id = ? AND camera_idx = ? "
                          "ORDER BY first_ns, rowid", (local_id, idx)).fetchall()
    start, wanted = 0, []
    for rowid, count in order:
        if start + int(count) > done:
            wanted.append((int(rowid), start))
        start += int(count)
    for rowid, first_index in wanted:
        row = local.execute("SELECT count, first_ns, last_ns, first_frame, last_frame, layout, data "
                            "FROM chunks WHERE rowid = ?", (rowid,)).fetchone()
        count, first_ns, last_ns, first_frame, last_frame, layout, blob = row
        if first_index >= done:
            yield (first_index, count, first_ns, last_ns, first_frame, last_frame, layout, bytes(blob))
            continue
        records = unpack_samples(blob) if layout == LAYOUT else upgrade_v1(blob, rate, drop)
        part = np.ascontiguousarray(records[done - first_index:], dtype=SAMPLE_DTYPE)
        yield (done, int(part.size), int(part["arrival_ns"][0]), int(part["arrival_ns"][-1]),
               int(part["frame"][0]), int(part["frame"][-1]), LAYOUT, part.tobytes())


def _push_raw(local: sqlite3.Connection, pg: psycopg.Connection[Any], local_id: int, take_id: int,
              pushed: Pushed) -> None:
    from stagectl.takes.raw import compress, decompress

    done = _done(pg, "SELECT source_idx, MAX(last_index) FROM raw WHERE take_id = %s GROUP BY source_idx",
                 take_id)
    sources = [int(r[0]) for r in local.execute("SELECT DISTINCT source_idx FROM raw WHERE take_id = ?",
                                                (local_id,))]
    for idx in sources:
        last = done.get(idx, -1)
        batch: list[tuple[Any, ...]] = []
        size = 0
        rows = local.execute("SELECT first_index, last_index, first_ns, last_ns, count, bytes, codec, data "
                             "FROM raw WHERE take_id = ? AND source_idx = ? AND last_index > ? "
                             "ORDER BY first_index, rowid", (local_id, idx, last))
        for first, last_index, first_ns, last_ns, count, nbytes, codec, blob in rows:
            if first <= last:  # the database holds the start of this batch: send the rest
                entries = _entries_after(decompress(codec, blob), last)
                head = RAW_HEAD.unpack_from(entries)
                first, first_ns = head[2], head[0]
                count, nbytes = _count_entries(entries)
                codec, blob = compress([entries])
            batch.append((take_id, idx, first, last_index, first_ns, last_ns, count, nbytes, codec,
                          bytes(blob)))
            size += len(blob)
            if size >= BATCH_BYTES:
                _insert_raw(pg, batch, pushed)
                batch, size = [], 0
        if batch:
            _insert_raw(pg, batch, pushed)


def _insert_raw(pg: psycopg.Connection[Any], batch: Sequence[tuple[Any, ...]], pushed: Pushed) -> None:
    with pg.transaction(), pg.cursor() as cur:
        cur.executemany("INSERT INTO raw (take_id, source_idx, first_index, last_index, first_ns, last_ns, "
                        "count, bytes, codec, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING", batch)
    pushed.bytes += sum(len(row[-1]) for row in batch)


def _entries_after(blob: bytes, last: int) -> bytes:
    """The packed entries of ``blob`` numbered after ``last``, byte for byte."""
    pos = 0
    while pos < len(blob):
        _arrival, _wall, number, _src, _flags, peer_len, data_len = RAW_HEAD.unpack_from(blob, pos)
        if number > last:
            return blob[pos:]
        pos += RAW_HEAD.size + peer_len + data_len
    return b""


def _count_entries(blob: bytes) -> tuple[int, int]:
    pos = count = 0
    while pos < len(blob):
        *_head, peer_len, data_len = RAW_HEAD.unpack_from(blob, pos)
        pos += RAW_HEAD.size + peer_len + data_len
        count += 1
    return count, len(blob)


def _push_rows(local: sqlite3.Connection, pg: psycopg.Connection[Any], local_id: int, take_id: int,
               table: str, columns: str, width: int) -> None:
    """Statics or log rows after the ones the database holds, numbered in the local store's order."""
    have = _done(pg, f"SELECT 0, COALESCE(MAX(seq) + 1, 0) FROM {table} WHERE take_id = %s",
                 take_id).get(0, 0)
    rows = local.execute(f"SELECT {columns} FROM {table} WHERE take_id = ? ORDER BY rowid LIMIT -1 OFFSET ?",
                         (local_id, have))
    marks = ", ".join(["%s"] * (width + 2))
    while chunk := rows.fetchmany(BATCH_ROWS):
        with pg.transaction(), pg.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} (take_id, seq, {columns}) VALUES ({marks}) "
                            "ON CONFLICT DO NOTHING",
                            [(take_id, have + i, *row) for i, row in enumerate(chunk)])
        have += len(chunk)


def facility_hashes(pg: psycopg.Connection[Any], stage_id: str) -> dict[str, tuple[int, str]]:
    """This stage's takes in the facility: key -> (facility id, local hash last completed)."""
    with pg.transaction():
        rows = pg.execute("SELECT take_key, id, local_hash FROM takes WHERE stage_id = %s",
                          (stage_id,)).fetchall()
    return {str(k): (int(i), str(h)) for k, i, h in rows}

