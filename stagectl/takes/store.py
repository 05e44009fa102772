"""The take store: one SQLite database in WAL mode in the takes folder (``[takes] dir``).

Tables (schema version :data:`SCHEMA_VERSION`):

* ``takes``: one row per take (slate, rate, timecode in/out as absolute frames, state, flags,
  notes, the look live at the start and its CDL per zone, the journal it was fed from and how far).
* ``cameras``: per take, the camera index used in sample records, its name, source and lens.
* ``chunks``: samples as blobs of 208-byte records (``records.SAMPLE_DTYPE``), one camera per blob,
  with first/last arrival and frame for range queries. A blob per commit batch instead of a row per
  sample: a one-hour 240 Hz camera (864 000 samples) reads back into numpy in well under a second,
  where a row per sample costs seconds of Python objects (see docs/ARCHITECTURE.md).
* ``log``: cues, looks, device changes, notes, take events, in arrival order.

One writer (the committer thread, or a recovery); any number of readers (the CLI, the take
browser) thanks to WAL. ``synchronous=NORMAL``: a commit is durable against a process crash (the
journal covers the rest), and a power cut loses at most the last commits, which the journal —
written before them — still holds until the take is complete.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np

from stagectl.errors import StageError
from stagectl.takes.model import CameraTrack, LensInfo, LogEntry, TakeData, TakeInfo, TakeState
from stagectl.takes.records import (
    FLAG_TRACKER_TIMECODE,
    SAMPLE_DTYPE,
    cdl_from_json,
    lens_from_json,
    lens_json,
    slate_from_json,
    slate_json,
    unpack_samples,
)
from stagectl.timecode import FrameRate, Timecode, frames_per_24h

DB_NAME = "takes.sqlite"
SCHEMA_VERSION = 1

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


class TakeStoreError(StageError):
    """The take store could not be opened or read, or a take was not found."""


@dataclass(frozen=True, slots=True)
class CameraSummary:
    """One camera of a take: sample count, sequence gaps, time span and lens."""

    camera: str
    source: str
    samples: int
    dropouts: int
    first_frame: int | None
    last_frame: int | None
    lens: LensInfo | None


@dataclass(frozen=True, slots=True)
class TakeSummary:
    """What ``stagectl takes show`` prints: the take, its cameras and its log."""

    info: TakeInfo
    cameras: tuple[CameraSummary, ...]
    log: tuple[LogEntry, ...] = ()
    looks: tuple[str, ...] = ()


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with the schema in place (a writer creates it)."""
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as exc:
        raise TakeStoreError(f"cannot open the take store {path}: {exc}") from None
    if version is None or int(version[0]) > SCHEMA_VERSION:
        conn.close()
        raise TakeStoreError(
            f"take store {path} has schema version {version and version[0]}, "
            f"this stagectl reads up to {SCHEMA_VERSION}: upgrade stagectl"
        )
    return conn


def _rate(num: int, den: int) -> FrameRate:
    return FrameRate(Fraction(num, den))


def _tc(frames: int | None, rate: FrameRate, drop: bool) -> Timecode | None:
    if frames is None:
        return None
    return Timecode(frames % frames_per_24h(rate, drop), rate, drop)


_TAKE_COLUMNS = (
    "id, name, slate, rate_num, rate_den, drop_frame, tc_in, tc_out, started, stopped, state, "
    "circled, no_good, notes, look_at_start"
)


def _info(row: Sequence[Any]) -> TakeInfo:
    (
        take_id,
        name,
        slate,
        num,
        den,
        drop,
        tc_in,
        tc_out,
        started,
        stopped,
        state,
        circled,
        no_good,
        notes,
        look,
    ) = row
    rate = _rate(num, den)
    return TakeInfo(
        take_id=take_id,
        name=name,
        slate=slate_from_json(json.loads(slate)),
        rate=rate,
        drop_frame=bool(drop),
        tc_in=_tc(tc_in, rate, bool(drop)),
        tc_out=_tc(tc_out, rate, bool(drop)),
        started_unix_s=started,
        stopped_unix_s=stopped,
        state=cast(TakeState, state),
        circled=bool(circled),
        no_good=bool(no_good),
        notes=notes,
        look_at_start=look,
    )


class TakeStore:
    """Reads (and, for the committer and recovery, writes) the take database in ``folder``."""

    def __init__(self, folder: Path, *, readonly: bool = False) -> None:
        self.folder = folder
        self.path = folder / DB_NAME
        if readonly and not self.path.exists():
            raise TakeStoreError(f"no take store at {self.path}: nothing has been recorded there yet")
        self.conn = connect(self.path, readonly=readonly)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> TakeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing (committer / recovery) -----------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back when the block raises."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def insert_take(self, header: Mapping[str, Any], journal: str) -> int:
        """A new take row in state ``recording`` from a journal header; returns its id."""
        slate = slate_from_json(header["slate"])
        num, den = header["rate"]
        name = self.unique_name(str(header.get("name") or slate.label))
        cur = self.conn.execute(
            "INSERT INTO takes (name, slate, production, scene, shot, take_number, rate_num, rate_den, "
            "drop_frame, tc_in, timecode_from, started, state, look_at_start, cdl, journal) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'recording', ?, ?, ?)",
            (
                name,
                json.dumps(slate_json(slate)),
                slate.production,
                slate.scene,
                slate.shot,
                slate.take,
                num,
                den,
                int(bool(header.get("drop_frame"))),
                header.get("tc_in"),
                str(header.get("timecode_from", "stage")),
                float(header["started"]),
                str(header.get("look") or ""),
                json.dumps(header.get("cdl") or {}),
                journal,
            ),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def unique_name(self, name: str) -> str:
        """``name``, or ``name-2``, ``name-3``... when taken."""
        candidate, n = name, 1
        while self.conn.execute("SELECT 1 FROM takes WHERE name = ?", (candidate,)).fetchone():
            n += 1
            candidate = f"{name}-{n}"
        return candidate

    def put_camera(self, take_id: int, idx: int, camera: str, source: str, lens: LensInfo | None) -> None:
        """Declare (or update the lens of) a camera of a take."""
        self.conn.execute(
            "INSERT INTO cameras VALUES (?, ?, ?, ?, ?) ON CONFLICT (take_id, idx) DO UPDATE "
            "SET source = excluded.source, lens = excluded.lens",
            (take_id, idx, camera, source, json.dumps(lens_json(lens))),
        )

    def put_samples(self, take_id: int, records: np.ndarray) -> None:
        """Store sample records (any cameras, arrival order) as one chunk per camera."""
        if records.size == 0:
            return
        for idx in np.unique(records["camera"]):
            part = records[records["camera"] == idx]
            self.conn.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    take_id,
                    int(idx),
                    int(part["arrival_ns"][0]),
                    int(part["arrival_ns"][-1]),
                    int(part["frame"].min()),
                    int(part["frame"].max()),
                    int(part.size),
                    part.tobytes(),
                ),
            )
        self.conn.execute("UPDATE takes SET samples = samples + ? WHERE id = ?", (int(records.size), take_id))

    def put_log(self, take_id: int, entries: Iterable[Mapping[str, Any]]) -> None:
        """Store log records (JSON objects as the recorder wrote them)."""
        self.conn.executemany(
            "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    take_id,
                    int(e["ns"]),
                    e.get("frame"),
                    str(e["kind"]),
                    str(e.get("source", "")),
                    str(e.get("text", "")),
                    json.dumps(e.get("data") or {}),
                )
                for e in entries
            ],
        )

    def set_journal_offset(self, take_id: int, offset: int) -> None:
        """How far into the take's journal the store holds everything."""
        self.conn.execute("UPDATE takes SET journal_offset = ? WHERE id = ?", (offset, take_id))

    def finish(self, take_id: int, state: TakeState, stopped: float | None, tc_out: int | None) -> None:
        """Mark a take complete or recovered.

        Timecode in/out: with ``timecode_from = "stage"`` the stage clock at record and ``tc_out``
        (the clock at stop), each falling back to the samples' first/last frame when missing (a
        recovered take has no stop); with a camera's name, that camera's first and last frame.
        """
        tc_in, source = self.conn.execute("SELECT tc_in, timecode_from FROM takes WHERE id = ?",
                                          (take_id,)).fetchone()
        first, last = self._frame_span(take_id, None if source == "stage" else source)
        if source != "stage":
            tc_in, tc_out = first, last
        tc_in = first if tc_in is None else tc_in
        tc_out = last if tc_out is None else tc_out
        self.conn.execute(
            "UPDATE takes SET state = ?, stopped = ?, tc_in = ?, tc_out = ?, journal = '' WHERE id = ?",
            (state, stopped, tc_in, tc_out, take_id),
        )

    def _frame_span(self, take_id: int, camera: str | None) -> tuple[int | None, int | None]:
        query = "SELECT MIN(first_frame), MAX(last_frame) FROM chunks WHERE take_id = ?"
        args: tuple[Any, ...] = (take_id,)
        if camera is not None:
            query += " AND camera_idx = (SELECT idx FROM cameras WHERE take_id = ? AND camera = ?)"
            args = (take_id, take_id, camera)
        first, last = self.conn.execute(query, args).fetchone()
        return first, last

    def set_flags(
        self,
        take_id: int,
        *,
        circled: bool | None = None,
        no_good: bool | None = None,
        notes: str | None = None,
    ) -> None:
        """Change a take's circle / NG flags or notes (the take browser)."""
        self._id_exists(take_id)
        with self.transaction():
            if circled is not None:
                self.conn.execute("UPDATE takes SET circled = ? WHERE id = ?", (int(circled), take_id))
            if no_good is not None:
                self.conn.execute("UPDATE takes SET no_good = ? WHERE id = ?", (int(no_good), take_id))
            if notes is not None:
                self.conn.execute("UPDATE takes SET notes = ? WHERE id = ?", (notes, take_id))

    # --- reading ---------------------------------------------------------------------------------

    def takes(self) -> list[TakeInfo]:
        """Every take, oldest first."""
        rows = self.conn.execute(f"SELECT {_TAKE_COLUMNS} FROM takes ORDER BY id").fetchall()
        return [_info(row) for row in rows]

    def sample_counts(self) -> dict[int, int]:
        """Samples stored per take id (all cameras), without reading them."""
        return {int(i): int(n) for i, n in self.conn.execute("SELECT id, samples FROM takes").fetchall()}

    def recording(self) -> list[tuple[int, str, int]]:
        """Takes still marked recording: (id, journal file name, journal offset)."""
        return [
            (int(r[0]), str(r[1]), int(r[2]))
            for r in self.conn.execute(
                "SELECT id, journal, journal_offset FROM takes WHERE state = 'recording'"
            ).fetchall()
        ]

    def next_take_number(self, production: str, scene: str, shot: str) -> int:
        """One more than the highest take number recorded for this production, scene and shot."""
        row = self.conn.execute(
            "SELECT MAX(take_number) FROM takes WHERE production = ? AND scene = ? AND shot = ?",
            (production, scene, shot),
        ).fetchone()
        return int(row[0] or 0) + 1

    def find(self, ref: str | int) -> int:
        """A take id from an id (``7``) or a name (``12-A-T003``); TakeStoreError naming close ones."""
        text = str(ref).strip()
        if text.isdigit() and self.conn.execute("SELECT 1 FROM takes WHERE id = ?", (int(text),)).fetchone():
            return int(text)
        row = self.conn.execute("SELECT id FROM takes WHERE name = ?", (text,)).fetchone()
        if row is not None:
            return int(row[0])
        names = [r[0] for r in self.conn.execute("SELECT name FROM takes ORDER BY id DESC LIMIT 5")]
        hint = f"; recent takes: {', '.join(names)}" if names else "; the store has no takes"
        raise TakeStoreError(f"no take {text!r} in {self.path}{hint}")

    def _id_exists(self, take_id: int) -> None:
        if not self.conn.execute("SELECT 1 FROM takes WHERE id = ?", (take_id,)).fetchone():
            raise TakeStoreError(f"no take with id {take_id} in {self.path}")

    def info(self, take_id: int) -> TakeInfo:
        """One take's info."""
        row = self.conn.execute(f"SELECT {_TAKE_COLUMNS} FROM takes WHERE id = ?", (take_id,)).fetchone()
        if row is None:
            raise TakeStoreError(f"no take with id {take_id} in {self.path}")
        return _info(row)

    def log(self, take_id: int) -> list[LogEntry]:
        """The take's log in arrival order."""
        info = self.info(take_id)
        out = []
        for ns, frame, kind, source, text, data in self.conn.execute(
            "SELECT arrival_ns, frame, kind, source, text, data FROM log WHERE take_id = ? "
            "ORDER BY arrival_ns, rowid",
            (take_id,),
        ):
            out.append(
                LogEntry(ns, _tc(frame, info.rate, info.drop_frame), kind, source, text, json.loads(data))
            )
        return out

    def _cameras(self, take_id: int) -> list[tuple[int, str, str, LensInfo | None]]:
        return [
            (int(i), str(c), str(s), lens_from_json(json.loads(lens) if lens else None))
            for i, c, s, lens in self.conn.execute(
                "SELECT idx, camera, source, lens FROM cameras WHERE take_id = ? ORDER BY idx", (take_id,)
            )
        ]

    def samples(self, take_id: int, camera_idx: int) -> np.ndarray:
        """Every sample record of one camera of a take, in arrival order (structured array)."""
        blobs = [
            row[0]
            for row in self.conn.execute(
                "SELECT data FROM chunks WHERE take_id = ? AND camera_idx = ? ORDER BY first_ns, rowid",
                (take_id, camera_idx),
            )
        ]
        if not blobs:
            return np.zeros(0, dtype=SAMPLE_DTYPE)
        records = unpack_samples(b"".join(blobs))
        if records.size > 1 and np.any(np.diff(records["arrival_ns"]) < 0):
            records = records[np.argsort(records["arrival_ns"], kind="stable")]
        return records

    def summary(self, take_id: int) -> TakeSummary:
        """The take with per-camera counts, dropouts and its log."""
        info = self.info(take_id)
        cams = []
        for idx, camera, source, lens in self._cameras(take_id):
            records = self.samples(take_id, idx)
            frames = records["frame"]
            cams.append(
                CameraSummary(
                    camera,
                    source,
                    int(records.size),
                    sequence_gaps(records["sequence"]),
                    int(frames.min()) if frames.size else None,
                    int(frames.max()) if frames.size else None,
                    lens,
                )
            )
        entries = self.log(take_id)
        looks = tuple(dict.fromkeys(str(e.data["look"]) for e in entries if e.data.get("look")))
        return TakeSummary(info, tuple(cams), tuple(entries), looks)

    def read(self, take_id: int) -> TakeData:
        """The whole take, for export and the browser."""
        info = self.info(take_id)
        cdl_row = self.conn.execute("SELECT cdl FROM takes WHERE id = ?", (take_id,)).fetchone()
        cdl = {zone: cdl_from_json(value) for zone, value in json.loads(cdl_row[0] or "{}").items()}
        tracks: dict[str, CameraTrack] = {}
        dropouts: dict[str, int] = {}
        for idx, camera, source, lens in self._cameras(take_id):
            records = self.samples(take_id, idx)
            tracks[camera] = track_of(camera, source, records, lens)
            dropouts[camera] = sequence_gaps(records["sequence"])
        return TakeData(info, tracks, cdl, self.log(take_id), dropouts)


def sequence_gaps(sequence: np.ndarray) -> int:
    """Samples missing from a tracker's numbering (steps larger than one, ignoring -1 = no number and
    backward steps, which are wraps or restarts)."""
    seq = sequence[sequence >= 0]
    if seq.size < 2:
        return 0
    steps = np.diff(seq)
    return int(np.sum(steps[steps > 1] - 1))


def track_of(camera: str, source: str, r: np.ndarray, lens: LensInfo | None) -> CameraTrack:
    """Sample records as a :class:`CameraTrack` (copies: the columns outlive the blob)."""

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(r[name], dtype=np.float64)

    return CameraTrack(
        camera=camera,
        source=source,
        arrival_ns=r["arrival_ns"].astype(np.int64),
        frame=r["frame"].astype(np.int64),
        tracker_timecode=(r["flags"] & FLAG_TRACKER_TIMECODE) != 0,
        sequence=r["sequence"].astype(np.int64),
        translation_m=np.stack([col("x"), col("y"), col("z")], axis=1) if r.size else np.zeros((0, 3)),
        rotation_deg=np.stack([col("pan"), col("tilt"), col("roll")], axis=1) if r.size else np.zeros((0, 3)),
        zoom_raw=col("zoom_raw"),
        focus_raw=col("focus_raw"),
        iris_raw=col("iris_raw"),
        focal_length_mm=col("focal_length_mm"),
        focus_distance_m=col("focus_distance_m"),
        f_stop=col("f_stop"),
        t_stop=col("t_stop"),
        entrance_pupil_m=col("entrance_pupil_m"),
        distortion=np.stack([col(k) for k in ("k1", "k2", "k3", "p1", "p2")], axis=1)
        if r.size
        else np.zeros((0, 5)),
        principal_point_px=np.stack([col("cx"), col("cy")], axis=1) if r.size else np.zeros((0, 2)),
        lens=lens,
    )
