"""The take store: one SQLite database in WAL mode in the takes folder (``[takes] dir``).

The tables and their versions are in :mod:`stagectl.takes.store_schema`; samples are blobs of
fixed-size records (``records.SAMPLE_DTYPE``), a blob per camera per commit, so a one-hour 240 Hz
camera (864 000 samples) reads back into numpy in well under a second, where a row per sample costs
seconds of Python objects (see docs/ARCHITECTURE.md). Raw datagrams are compressed batches
(:mod:`stagectl.takes.raw`).

One writer (the committer thread, or a recovery); any number of readers (the CLI, the take
browser) thanks to WAL. ``synchronous=NORMAL``: a commit is durable against a process crash (the
journal covers the rest), and a power cut loses at most the last commits, which the journal —
written before them — still holds until the take is complete.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.takes.model import (
    LensInfo,
    TakeState,
)
from stagectl.takes.raw import batch_bounds, compress
from stagectl.takes.records import (
    LAYOUT,
    lens_json,
    slate_from_json,
    slate_json,
)
from stagectl.takes.store_read import CameraSummary, TakeReads, TakeSummary
from stagectl.takes.store_schema import SCHEMA_VERSION, TakeStoreError, connect
from stagectl.takes.tracks import sequence_gaps, track_of

__all__ = ["DB_NAME", "SCHEMA_VERSION", "CameraSummary", "TakeStore", "TakeStoreError", "TakeSummary",
           "connect", "sequence_gaps", "track_of"]

DB_NAME = "takes.sqlite"


class TakeStore(TakeReads):
    """Reads (and, for the committer and recovery, writes) the take database in ``folder``."""

    def __init__(self, folder: Path, *, readonly: bool = False) -> None:
        self.folder = folder
        self.path = folder / DB_NAME
        try:
            exists = self.path.exists()
        except OSError as exc:
            raise TakeStoreError(f"cannot read the takes folder {folder} ({exc.strerror}): make it readable "
                                 "by the user running stagectl, or point the stage file's [takes] dir at "
                                 "one that is") from None
        if readonly and not exists:
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

    def put_camera(self, take_id: int, idx: int, camera: str, source: str, lens: LensInfo | None,
                   info: Mapping[str, Any] | None = None) -> None:
        """Declare (or update the lens of) a camera of a take; ``info``: its stage-file ``sensor_mm``."""
        self.conn.execute(
            "INSERT INTO cameras (take_id, idx, camera, source, lens, info) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (take_id, idx) DO UPDATE SET source = excluded.source, lens = excluded.lens, "
            "info = excluded.info",
            (take_id, idx, camera, source, json.dumps(lens_json(lens)), json.dumps(dict(info or {}))),
        )

    def put_source(self, take_id: int, source: Mapping[str, Any]) -> None:
        """Declare a take's tracking source (a journal SOURCE record: index, name, protocol, cameras,
        settings)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?)",
            (take_id, int(source["index"]), str(source["name"]), str(source["protocol"]),
             json.dumps(list(source.get("cameras", ()))), json.dumps(source.get("settings") or {})))

    def put_samples(self, take_id: int, records: np.ndarray) -> None:
        """Store layout-2 sample records (any cameras, arrival order) as one chunk per camera."""
        if records.size == 0:
            return
        for idx in np.unique(records["camera"]):
            part = records[records["camera"] == idx]
            self.conn.execute(
                "INSERT INTO chunks (take_id, camera_idx, first_ns, last_ns, first_frame, last_frame, count, "
                "data, layout) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (take_id, int(idx), int(part["arrival_ns"][0]), int(part["arrival_ns"][-1]),
                 int(part["frame"][0]), int(part["frame"][-1]), int(part.size), part.tobytes(), LAYOUT),
            )
        self.conn.execute("UPDATE takes SET samples = samples + ? WHERE id = ?", (int(records.size), take_id))

    def put_raw(self, take_id: int, source_idx: int, entries: list[bytes]) -> None:
        """Store one batch of a source's raw entries (``records.pack_raw``, arrival order), compressed."""
        if not entries:
            return
        first, last, first_ns, last_ns = batch_bounds(entries)
        codec, blob = compress(entries)
        self.conn.execute("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (take_id, source_idx, first, last, first_ns, last_ns, len(entries),
                           sum(map(len, entries)), codec, blob))

    def put_statics(self, take_id: int, statics: Iterable[Mapping[str, Any]]) -> None:
        """Store trackers' static blocks (journal STATIC records: camera index, arrival ns, the block)."""
        self.conn.executemany("INSERT INTO statics VALUES (?, ?, ?, ?)",
                              [(take_id, int(s["camera"]), int(s["ns"]), json.dumps(s["static"]))
                               for s in statics])

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
        """Mark a take complete or recovered (it keeps the name of the journal it was fed from, so a
        journal left behind is known as stored, see :mod:`stagectl.takes.recovery`).

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
            "UPDATE takes SET state = ?, stopped = ?, tc_in = ?, tc_out = ? WHERE id = ?",
            (state, stopped, tc_in, tc_out, take_id),
        )

    def _frame_span(self, take_id: int, camera: str | None) -> tuple[int | None, int | None]:
        """The first and last sample's frame by arrival (not MIN/MAX: a take across midnight)."""
        where, args = "take_id = ?", list[int | str]([take_id])
        if camera is not None:
            where += " AND camera_idx = (SELECT idx FROM cameras WHERE take_id = ? AND camera = ?)"
            args = [take_id, take_id, camera]
        first = self.conn.execute(f"SELECT first_frame FROM chunks WHERE {where} ORDER BY first_ns, rowid "
                                  "LIMIT 1", args).fetchone()
        last = self.conn.execute(f"SELECT last_frame FROM chunks WHERE {where} ORDER BY last_ns DESC, "
                                 "rowid DESC LIMIT 1", args).fetchone()
        return (None if first is None else int(first[0])), (None if last is None else int(last[0]))

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
