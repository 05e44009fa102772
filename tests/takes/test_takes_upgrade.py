"""Takes written by stagectl 0.1, read by this one: a schema-1 store upgraded in place (by a writer and
through a read-only open), a schema-2 store's raw index replaced, 208-byte layout-1 sample records
read as layout 2 (in the store and in a journal being recovered).

The old store and records are built here from their documented layout (stagectl 0.1's
``takes/store.py`` and ``takes/records.py``), not with today's code, so a change that breaks an old
take fails here."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.committer import JOURNAL_DIR
from stagectl.takes.journal import CAMERA, END, HEADER, SAMPLE, frame
from stagectl.takes.model import LensInfo
from stagectl.takes.records import (
    FLAG_SOLVED,
    FLAG_TC_DROP,
    FLAG_TRACKER_TIMECODE,
    NO_SOURCE,
    SAMPLE_V1_SIZE,
    dumps,
    upgrade_v1,
)
from stagectl.takes.recovery import recover
from stagectl.takes.store import SCHEMA_VERSION, TakeStore, TakeStoreError

# stagectl 0.1's tables (schema version 1), as it created them.
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE takes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, slate TEXT NOT NULL,
    production TEXT NOT NULL, scene TEXT NOT NULL, shot TEXT NOT NULL, take_number INTEGER NOT NULL,
    rate_num INTEGER NOT NULL, rate_den INTEGER NOT NULL, drop_frame INTEGER NOT NULL,
    tc_in INTEGER, tc_out INTEGER, timecode_from TEXT NOT NULL DEFAULT 'stage',
    started REAL NOT NULL, stopped REAL,
    state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'recovered')),
    circled INTEGER NOT NULL DEFAULT 0, no_good INTEGER NOT NULL DEFAULT 0, notes TEXT NOT NULL DEFAULT '',
    look_at_start TEXT NOT NULL DEFAULT '', cdl TEXT NOT NULL DEFAULT '{}',
    journal TEXT NOT NULL DEFAULT '', journal_offset INTEGER NOT NULL DEFAULT 0,
    samples INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cameras (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, camera TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', lens TEXT,
    PRIMARY KEY (take_id, idx)
);
CREATE TABLE chunks (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    camera_idx INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,
    first_frame INTEGER NOT NULL, last_frame INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE INDEX chunks_by_take ON chunks (take_id, camera_idx, first_ns);
CREATE TABLE log (
    take_id INTEGER NOT NULL REFERENCES takes(id) ON DELETE CASCADE,
    arrival_ns INTEGER NOT NULL, frame INTEGER, kind TEXT NOT NULL, source TEXT NOT NULL,
    text TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX log_by_take ON log (take_id, arrival_ns);
INSERT INTO meta VALUES ('schema_version', '1');
"""
# Layout 1: arrival_ns, frame, sequence, sample_time_ns (int64); x, y, z, pan, tilt, roll, zoom / focus /
# iris raw, focal length, focus distance, f-stop, T-stop, entrance pupil, k1, k2, k3, p1, p2, cx, cy
# (float64); camera index, flags (uint16); 4 pad bytes.
V1 = struct.Struct("<4q21d2H4x")
DF = FrameRate.parse("29.97")
LENS = LensInfo("primes/35.json", "Zeiss", "CP.3 35", "A123", 36.0, 24.0, 4096, 2160)
NAN = math.nan


def _v1(n: int, frame_no: int, *, sample_time_ns: int = -1, flags: int = 0, camera: int = 0) -> bytes:
    """Layout-1 sample ``n``: every float column distinct, NaN for the lens values it did not know."""
    pose = (1.0 + n, 2.0 + n, 3.0 + n, 10.0 + n, -5.0 - n, 0.5 * n)
    lens = (100.0 + n, 200.0 + n, NAN, 35.0 + n, 2.5, 2.8, 2.9, 0.01,
            -0.1, 0.01, -0.001, 0.0001, 0.0002, 2048.5, NAN)
    return V1.pack(1_000_000 + n * 1000, frame_no, 500 + n, sample_time_ns, *pose, *lens, camera, flags)


# (frame, sample_time_ns, flags) of the three samples the old take holds; 0x40 is no flag layout 2 knows.
SAMPLES = [(17982, -1, FLAG_TRACKER_TIMECODE), (17983, 1_700_000_000_123_456_789, FLAG_SOLVED),
           (17984, 2_000_000_001, FLAG_TRACKER_TIMECODE | FLAG_SOLVED | 0x40)]


def _old_store(folder: Path) -> Path:
    """A schema-1 store (WAL, as stagectl 0.1 kept it) with one 29.97 DF take of camera A."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "takes.sqlite"
    blob = b"".join(_v1(n, f, sample_time_ns=t, flags=fl) for n, (f, t, fl) in enumerate(SAMPLES))
    assert len(blob) == 3 * SAMPLE_V1_SIZE
    slate = {"production": "P", "scene": "12", "shot": "A", "take": 3, "cameras": ["A"], "notes": "wind"}
    cdl = {"wall": {"slope": [1.1, 1.0, 0.9], "offset": [0.0, 0.01, 0.0], "power": [1, 1, 1],
                    "saturation": 0.8}}
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA_1)
        db.execute("INSERT INTO takes VALUES (1, '12-A-T003', ?, 'P', '12', 'A', 3, 30000, 1001, 1, "
                   "17982, 17984, 'stage', 1700000000.5, 1700000009.25, 'complete', 1, 0, 'wind', 'Dusk', ?, "
                   "'', 0, 3)",
                   (json.dumps(slate), json.dumps(cdl)))
        db.execute("INSERT INTO cameras VALUES (1, 0, 'A', 'A/freed', ?)",
                   (json.dumps({k: getattr(LENS, k) for k in LensInfo.__slots__}),))
        db.execute("INSERT INTO chunks VALUES (1, 0, 1000000, 1002000, 17982, 17984, 3, ?)", (blob,))
        db.execute("INSERT INTO log VALUES (1, 1000500, 17983, 'cue', 'looks', 'GO 2', '{\"cue\": 2}')")
        db.commit()
    return path


def _meta(path: Path) -> tuple[str, set[str], list[tuple[int, str]]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                            "AND name NOT LIKE 'sqlite_%'")}
        cells = [(int(r[0]), str(r[1])) for r in db.execute(
            "SELECT chunks.layout, cameras.info FROM chunks JOIN cameras USING (take_id)")]
    return version, indexes, cells


def _check_old_take(store: TakeStore) -> None:
    """Every value of the schema-1 take, as layout 2 reads it."""
    take = store.read(1)
    info = take.info
    assert (info.name, info.slate.scene, info.slate.shot, info.slate.take, info.slate.notes) == (
        "12-A-T003", "12", "A", 3, "wind")
    assert (info.rate, info.drop_frame, info.state, info.circled, info.no_good) == (
        DF, True, "complete", True, False)
    assert (info.started_unix_s, info.stopped_unix_s, info.look_at_start) == (
        1700000000.5, 1700000009.25, "Dusk")
    assert str(info.tc_in) == "00:10:00;00" and info.tc_out is not None and info.tc_out.frames == 17984
    assert take.cdl_at_start["wall"].slope == (1.1, 1.0, 0.9) and take.cdl_at_start["wall"].saturation == 0.8
    assert [(e.kind, e.text, e.data) for e in take.log] == [("cue", "GO 2", {"cue": 2})]
    assert take.sources == {} and take.raw is None
    track = take.cameras["A"]
    assert track.source == "A/freed" and track.lens == LENS and len(track) == 3
    assert track.arrival_ns.tolist() == [1_000_000, 1_001_000, 1_002_000]
    assert track.frame.tolist() == [17982, 17983, 17984] and track.sequence.tolist() == [500, 501, 502]
    assert track.translation_m.tolist() == [[1.0 + n, 2.0 + n, 3.0 + n] for n in range(3)]
    assert track.rotation_deg.tolist() == [[10.0 + n, -5.0 - n, 0.5 * n] for n in range(3)]
    assert track.zoom_raw.tolist() == [100.0, 101.0, 102.0]
    assert track.focus_raw.tolist() == [200.0, 201.0, 202.0]
    assert np.isnan(track.iris_raw).all() and track.focal_length_mm.tolist() == [35.0, 36.0, 37.0]
    assert (track.focus_distance_m.tolist(), track.f_stop.tolist(), track.t_stop.tolist()) == (
        [2.5] * 3, [2.8] * 3, [2.9] * 3)
    assert track.entrance_pupil_m.tolist() == [0.01] * 3
    assert track.distortion.tolist() == [[-0.1, 0.01, -0.001, 0.0001, 0.0002]] * 3
    assert track.principal_point_px[:, 0].tolist() == [2048.5] * 3
    assert np.isnan(track.principal_point_px[:, 1]).all()
    assert track.tracker_timecode.tolist() == [True, False, True]
    assert track.solved is not None and track.solved.tolist() == [False, True, True]
    assert track.sample_timestamp is not None
    assert track.sample_timestamp.tolist() == [[-1, -1], [1_700_000_000, 123_456_789], [2, 1]]
    assert track.raw_index is None  # no raw capture in 0.1
    assert track.device_id is not None and track.device_id.tolist() == [-1] * 3
    assert track.spare is not None and track.spare.tolist() == [-1] * 3
    assert track.source_index is not None and track.source_index.tolist() == [NO_SOURCE] * 3
    assert track.timecode is not None and track.timecode_rate is not None
    assert track.timecode.tolist() == [[0, 10, 0, 0], [0, 10, 0, 1], [0, 10, 0, 2]]
    assert track.timecode_rate.tolist() == [[30000, 1001]] * 3
    assert track.timecode_drop is not None and track.timecode_drop.tolist() == [True] * 3
    assert track.sub_frame is not None and track.sub_frame.tolist() == [-1] * 3
    assert str(track.label(1, info.rate, info.drop_frame)) == "00:10:00;01"
    [camera] = store.summary(1).cameras
    assert (camera.samples, camera.first_frame, camera.last_frame, camera.lens) == (3, 17982, 17984, LENS)


def test_a_schema_1_store_is_upgraded_in_place_and_keeps_every_value(tmp_path: Path) -> None:
    path = _old_store(tmp_path)
    with TakeStore(tmp_path) as store:
        _check_old_take(store)
    version, indexes, cells = _meta(path)
    assert version == str(SCHEMA_VERSION) == "3"
    assert {"raw_by_source", "statics_by_take"} <= indexes and "raw_by_take" not in indexes
    assert cells == [(1, "{}")]  # the old chunk keeps its layout; the camera gets an empty info
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_read_only_open_of_a_schema_1_store_upgrades_it_first(tmp_path: Path) -> None:
    path = _old_store(tmp_path)
    with TakeStore(tmp_path, readonly=True) as store:
        _check_old_take(store)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.conn.execute("UPDATE takes SET notes = 'x'")
    assert _meta(path)[0] == "3"


def test_a_schema_2_store_gets_the_raw_index_by_source(tmp_path: Path) -> None:
    with TakeStore(tmp_path):
        pass
    path = tmp_path / "takes.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # as schema 2 left it
        db.execute("DROP INDEX raw_by_source")
        db.execute("CREATE INDEX raw_by_take ON raw (take_id, first_index)")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with TakeStore(tmp_path, readonly=True) as store:
        plan = " ".join(str(r[-1]) for r in store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT first_index, last_index, codec, data FROM raw "
            "WHERE take_id = ? AND source_idx = ? ORDER BY first_index, rowid", (1, 0)))
    version, indexes, _ = _meta(path)
    assert version == "3" and "raw_by_source" in indexes and "raw_by_take" not in indexes
    assert "raw_by_source" in plan and "TEMP B-TREE" not in plan


def test_a_store_newer_than_this_stagectl_is_refused(tmp_path: Path) -> None:
    with TakeStore(tmp_path):
        pass
    with contextlib.closing(sqlite3.connect(tmp_path / "takes.sqlite")) as db, db:
        db.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    for readonly in (False, True):
        with pytest.raises(TakeStoreError, match="schema version 9, this stagectl reads up to 3: upgrade"):
            TakeStore(tmp_path, readonly=readonly)


def test_upgrade_v1_reads_every_field_of_a_layout_1_record() -> None:
    blob = b"".join(_v1(n, f, sample_time_ns=t, flags=fl, camera=n) for n, (f, t, fl) in enumerate(SAMPLES))
    for drop in (True, False):
        new = upgrade_v1(blob, DF, drop)
        assert new["arrival_ns"].tolist() == [1_000_000, 1_001_000, 1_002_000]
        assert new["frame"].tolist() == [17982, 17983, 17984] and new["camera"].tolist() == [0, 1, 2]
        assert new["sequence"].tolist() == [500, 501, 502] and new["x"].tolist() == [1.0, 2.0, 3.0]
        assert new["cx"].tolist() == [2048.5] * 3
        assert np.isnan(new["cy"]).all() and np.isnan(new["iris_raw"]).all()
        drop_flag = FLAG_TC_DROP if drop else 0
        assert new["flags"].tolist() == [1 | drop_flag, 2 | drop_flag, 3 | drop_flag]  # 0x40 is dropped
        assert new["ptp_seconds"].tolist() == [-1, 1_700_000_000, 2]
        assert new["ptp_nanoseconds"].tolist() == [-1, 123_456_789, 1]
        assert new["raw_index"].tolist() == new["device_id"].tolist() == new["spare"].tolist() == [-1] * 3
        assert new["source"].tolist() == [NO_SOURCE] * 3 and new["tc_sub_frame"].tolist() == [0] * 3
        assert (new["tc_rate_num"].tolist(), new["tc_rate_den"].tolist()) == ([30000] * 3, [1001] * 3)
        labels = [Timecode.from_frames(f, DF, drop).components() for f, _, _ in SAMPLES]
        got = list(zip(*(new[k].tolist() for k in ("tc_hours", "tc_minutes", "tc_seconds", "tc_frames")),
                       strict=True))
        assert got == labels
    assert got[0] == (0, 9, 59, 12)  # 17982 without drop-frame: 29.97 counted as 30 a second


def test_a_journal_of_layout_1_records_is_recovered_as_layout_2(tmp_path: Path) -> None:
    header = {"name": "J-T001", "slate": {"scene": "J", "cameras": ["A"]}, "rate": [30000, 1001],
              "drop_frame": True, "started": 1_700_000_000.0, "tc_in": 17982, "timecode_from": "stage"}
    records = [(HEADER, dumps(header)), (CAMERA, dumps({"index": 0, "camera": "A", "source": "A/freed",
                                                         "lens": None})),
               *[(SAMPLE, _v1(n, f, sample_time_ns=t, flags=fl)) for n, (f, t, fl) in enumerate(SAMPLES)],
               (END, dumps({"stopped": 1_700_000_002.0, "tc_out": 17984}))]
    (tmp_path / JOURNAL_DIR).mkdir()
    (tmp_path / JOURNAL_DIR / "j.journal").write_bytes(b"".join(frame(t, p) for t, p in records))
    [r] = recover(tmp_path).takes
    assert (r.state, r.samples, r.problem) == ("complete", 3, None)
    with TakeStore(tmp_path) as store:
        track = store.read(r.take_id).cameras["A"]
        layouts = [int(x[0]) for x in store.conn.execute("SELECT layout FROM chunks")]
    assert layouts == [2]  # stored as today's records
    assert track.frame.tolist() == [17982, 17983, 17984] and track.zoom_raw.tolist() == [100.0, 101.0, 102.0]
    assert track.sample_timestamp is not None
    assert track.sample_timestamp[1].tolist() == [1_700_000_000, 123_456_789]
    assert track.timecode is not None
    assert track.timecode.tolist() == [[0, 10, 0, 0], [0, 10, 0, 1], [0, 10, 0, 2]]
    assert track.timecode_drop is not None and track.timecode_drop.all()
    assert track.solved is not None and track.solved.tolist() == [False, True, True]
