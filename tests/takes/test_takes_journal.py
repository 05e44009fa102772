"""The take journal and recovery: torn and corrupt tails, replay after a partial commit, write retries."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.samples import CameraSample, LensValues
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.committer import JOURNAL_DIR, TakeIngest
from stagectl.takes.journal import CAMERA, END, HEADER, LOG, SAMPLE, JournalWriter, frame, read_journal
from stagectl.takes.records import SAMPLE_SIZE, dumps, pack_sample, unpack_samples
from stagectl.takes.recovery import recover
from stagectl.takes.store import TakeStore

R24 = FrameRate.parse(24)

HEADER_JSON = {
    "name": "3-T002",
    "slate": {"scene": "3", "take": 2, "cameras": ["A"]},
    "rate": [24, 1],
    "drop_frame": False,
    "started": 1_790_000_000.0,
    "tc_in": 864000,
    "timecode_from": "stage",
    "look": "Dusk",
    "cdl": {"wall": {"slope": [1.1, 1, 0.9], "offset": [0, 0, 0], "power": [1, 1, 1], "saturation": 0.8}},
}


def _sample(n: int) -> bytes:
    sample = CameraSample(
        "A",
        "A/freed",
        1_000_000 + n,
        (n * 0.5, 2.0, 1.5),
        (n * 1.0, -5.0, 0.0),
        zoom_raw=n,
        timecode=Timecode(864000 + n // 10, R24),
        lens=LensValues(focal_length_mm=35.0, lens_file="z.json"),
    )
    return pack_sample(sample, 0, 864000 + n // 10)


def _records(samples: int) -> list[tuple[int, bytes]]:
    return [
        (HEADER, dumps(HEADER_JSON)),
        (CAMERA, dumps({"index": 0, "camera": "A", "source": "A/freed", "lens": None})),
        *[(SAMPLE, _sample(n)) for n in range(samples)],
        (
            LOG,
            dumps({"ns": 5, "frame": 864001, "kind": "cue", "source": "looks", "text": "GO 2", "data": {}}),
        ),
    ]


def _journal(folder: Path, records: list[tuple[int, bytes]], name: str = "t.journal") -> Path:
    (folder / JOURNAL_DIR).mkdir(parents=True, exist_ok=True)
    path = folder / JOURNAL_DIR / name
    path.write_bytes(b"".join(frame(t, p) for t, p in records))
    return path


def test_a_sample_record_packs_to_256_bytes_and_reads_back_with_nan_for_unknowns() -> None:
    data = _sample(7)
    assert len(data) == SAMPLE_SIZE == 256
    [r] = unpack_samples(data)
    assert (r["arrival_ns"], r["frame"], r["sequence"], r["x"], r["pan"], r["zoom_raw"]) == (
        1_000_007,
        864000,
        -1,
        3.5,
        7.0,
        7.0,
    )
    assert r["focal_length_mm"] == 35.0 and np.isnan(r["focus_distance_m"]) and np.isnan(r["iris_raw"])
    assert r["flags"] == 2  # solved (a lens file), stage timecode
    assert (r["tc_hours"], r["tc_minutes"], r["tc_seconds"], r["tc_frames"]) == (10, 0, 0, 0)
    assert (r["tc_rate_num"], r["tc_rate_den"], r["raw_index"], r["ptp_seconds"]) == (24, 1, -1, -1)


def test_reading_stops_at_a_torn_last_record_and_keeps_everything_before(tmp_path: Path) -> None:
    path = _journal(tmp_path, _records(10))
    whole = path.read_bytes()
    path.write_bytes(whole + frame(SAMPLE, _sample(10))[:100])  # killed half-way through a write
    read = read_journal(path)
    assert len(read.records) == 13 and read.good_size == len(whole) and read.torn_bytes == 100
    assert read.problem is not None and f"byte {len(whole)}" in read.problem


def test_reading_stops_at_a_record_whose_checksum_is_wrong(tmp_path: Path) -> None:
    records = _records(10)
    path = _journal(tmp_path, records)
    data = bytearray(path.read_bytes())
    third_sample_at = sum(len(frame(t, p)) for t, p in records[:4])
    data[third_sample_at + 20] ^= 0xFF  # one flipped byte inside the third sample's payload
    path.write_bytes(bytes(data))
    read = read_journal(path)
    assert len(read.records) == 4 and read.good_size == third_sample_at


def test_an_absurd_length_is_corruption_not_a_huge_allocation(tmp_path: Path) -> None:
    path = _journal(tmp_path, _records(2))
    good = path.stat().st_size
    body = b"S" + b"x" * 10
    with path.open("ab") as f:
        f.write(struct.pack("<II", 2**31, zlib.crc32(body)) + body)
    assert read_journal(path).good_size == good


def test_recovery_rebuilds_an_interrupted_take_and_marks_it_recovered(tmp_path: Path) -> None:
    path = _journal(tmp_path, _records(50))
    with path.open("ab") as f:
        f.write(frame(SAMPLE, _sample(50))[:37])
    [r] = recover(tmp_path).takes
    assert r.state == "recovered" and r.samples == 50 and r.problem is not None
    assert not path.exists()
    with TakeStore(tmp_path) as store:
        take = store.read(r.take_id)
    assert take.info.state == "recovered" and take.info.stopped_unix_s is None
    assert take.info.name == "3-T002" and take.info.look_at_start == "Dusk"
    assert take.cdl_at_start["wall"].slope == (1.1, 1.0, 0.9) and take.cdl_at_start["wall"].saturation == 0.8
    track = take.cameras["A"]
    assert (
        len(track) == 50
        and list(track.zoom_raw[:3]) == [0.0, 1.0, 2.0]
        and track.translation_m[49, 0] == 24.5
    )
    assert take.info.tc_in == Timecode.parse("10:00:00:00", take.info.rate)
    assert take.info.tc_out is not None and take.info.tc_out.frames == 864000 + 49 // 10
    assert [e.text for e in take.log] == ["GO 2"]
    with contextlib.closing(sqlite3.connect(tmp_path / "takes.sqlite")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_recovery_replays_only_what_the_store_did_not_commit(tmp_path: Path) -> None:
    records = _records(30)
    path = _journal(tmp_path, records[:12])  # header, camera, 10 samples: committed before the crash
    with TakeStore(tmp_path) as store:
        ingest = TakeIngest(store, path.name)
        read = read_journal(path)
        ingest.add(read.records, read.good_size)
        ingest.commit()
    with path.open("ab") as f:  # 20 more samples and a log reached the journal, not the store
        f.write(b"".join(frame(t, p) for t, p in records[12:]))
    [r] = recover(tmp_path).takes
    assert r.samples == 20
    with TakeStore(tmp_path) as store:
        track = store.read(r.take_id).cameras["A"]
    assert len(track) == 30 and list(track.zoom_raw) == [float(n) for n in range(30)]  # no duplicates


def test_a_journal_with_its_end_record_recovers_as_complete(tmp_path: Path) -> None:
    _journal(tmp_path, [*_records(3), (END, dumps({"stopped": 1_790_000_010.0, "tc_out": 864100}))])
    [r] = recover(tmp_path).takes
    with TakeStore(tmp_path) as store:
        info = store.info(r.take_id)
    assert r.state == "complete" and info.state == "complete" and info.stopped_unix_s == 1_790_000_010.0


def test_a_journal_killed_before_its_header_is_no_take(tmp_path: Path) -> None:
    path = _journal(tmp_path, [])
    path.write_bytes(frame(HEADER, dumps(HEADER_JSON))[:9])
    assert recover(tmp_path).takes == [] and not path.exists()


def test_a_journal_a_live_recorder_holds_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / JOURNAL_DIR).mkdir()
    writer = JournalWriter(tmp_path / JOURNAL_DIR / "live.journal", lambda records, offset: None)
    try:
        writer.put(HEADER, dumps(HEADER_JSON))
        assert recover(tmp_path).takes == [] and (tmp_path / JOURNAL_DIR / "live.journal").exists()
    finally:
        assert writer.close()


def test_a_failing_write_is_retried_without_losing_or_doubling_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = {"n": 0}

    def flaky(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        if calls["n"] == 3:  # a short write: only part of the batch lands
            return real_write(fd, bytes(data)[:50])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", flaky)
    batches: list[int] = []
    path = tmp_path / "flaky.journal"
    writer = JournalWriter(path, lambda records, offset: batches.append(len(records)))
    for rtype, payload in _records(5):
        writer.put(rtype, payload)
        time.sleep(0.01)
    assert writer.close()
    assert writer.write_errors == 1 and writer.written == 8 and sum(batches) == 8
    read = read_journal(path)
    assert read.torn_bytes == 0 and [t for t, _ in read.records] == [t for t, _ in _records(5)]


def test_a_sample_without_lens_values_packs_with_nan_lens_columns() -> None:
    # A tracker that sends no lens block (and no lens file): this once failed in the tap and the
    # sample never reached the take.
    sample = CameraSample("A", "A/opentrackio", 5, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0),
                          timecode=Timecode(0, R24))
    [r] = unpack_samples(pack_sample(sample, 0, 0))
    assert (r["x"], r["roll"]) == (1.0, 6.0)
    assert all(np.isnan(r[name]) for name in ("focal_length_mm", "k1", "cx", "cy", "zoom_raw"))
