"""A damaged take store and ``stagectl takes raw``: a raw batch overwritten with junk or cut short, a
sample chunk or JSON column spoiled. Each ends in one clear message (the take, the store, what to do)
and exit status 1, never a traceback; what came before the damage is still given."""

from __future__ import annotations

import contextlib
import io
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stagectl.commands.raw import takes_raw
from stagectl.config.load import parse_stage
from stagectl.takes.raw import RawCaptureError, StoreRawAccess
from stagectl.takes.records import SAMPLE_DTYPE, iter_raw, pack_raw
from stagectl.takes.store import TakeStore, TakeStoreError
from tests.raw_capture import STAGE, freed, hex_rows
from tests.support.cli import stagectl

SOURCE = {"index": 0, "name": "A/freed", "protocol": "freed", "cameras": ["A"],
          "settings": {"protocol": "freed", "preset": "generic", "camera_id": 1, "listen": "127.0.0.1:40000"}}
BATCHES = ([0, 1, 2], [3, 4, 5])


def _entry(n: int) -> bytes:
    return pack_raw(1000 + n, 1_800_000_000_000_000_000 + n, n, 0, 0, "127.0.0.1:5000", freed(n))


def _take(folder: Path) -> Path:
    """A stored take of camera A: two samples, one FreeD source, two raw batches; the stage file."""
    stage_file = folder / "stage.toml"
    stage_file.write_text(STAGE, encoding="utf-8")
    with TakeStore(folder / "takes") as store, store.transaction():
        take_id = store.insert_take({"name": "D-T001", "slate": {"scene": "D", "cameras": ["A"]},
                                     "rate": [24, 1], "started": 1_800_000_000.0, "tc_in": None}, "")
        assert take_id == 1
        store.put_camera(take_id, 0, "A", "A/freed", None)
        store.put_source(take_id, SOURCE)
        records = np.zeros(2, dtype=SAMPLE_DTYPE)
        records["arrival_ns"], records["frame"], records["raw_index"] = [1000, 1001], [10, 11], [0, 1]
        store.put_samples(take_id, records)
        for numbers in BATCHES:
            store.put_raw(take_id, 0, [_entry(n) for n in numbers])
        store.finish(take_id, "complete", 1_800_000_001.0, None)
    return stage_file


def _spoil(folder: Path, sql: str, *args: Any) -> None:
    with contextlib.closing(sqlite3.connect(folder / "takes" / "takes.sqlite")) as db, db:
        assert db.execute(sql, args).rowcount == 1


def _second_batch(folder: Path) -> bytes:
    with contextlib.closing(sqlite3.connect(folder / "takes" / "takes.sqlite")) as db:
        blob: bytes = db.execute("SELECT data FROM raw WHERE first_index = 3").fetchone()[0]
    return zlib.decompress(blob)


def _run(folder: Path, **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = takes_raw(parse_stage(STAGE, base_dir=folder), "1", out=out, err=err, **kw)
    return status, out.getvalue(), err.getvalue()


def test_an_intact_take_gives_every_entry(tmp_path: Path) -> None:
    _take(tmp_path)
    status, out, err = _run(tmp_path)
    assert status == 0, err
    assert [bytes.fromhex(r[6]) for r in hex_rows(out)] == [freed(n) for n in range(6)]


@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_a_damaged_raw_batch_is_one_clear_error_after_the_entries_before_it(tmp_path: Path,
                                                                            damage: str) -> None:
    stage_file = _take(tmp_path)
    if damage == "junk":
        blob, readable = b"this is not a zlib stream" * 3, 3
        detail = "its zlib stream is broken"
    else:
        blob, readable = zlib.compress(_second_batch(tmp_path)[:-5]), 5  # entry 5 lost its last 5 bytes
        detail = "the batch is truncated: entry 2 (number 5)"
    _spoil(tmp_path, "UPDATE raw SET data = ? WHERE first_index = 3", blob)
    store_path = tmp_path / "takes" / "takes.sqlite"

    status, out, err = _run(tmp_path)
    assert status == 1
    assert [bytes.fromhex(r[6]) for r in hex_rows(out)] == [freed(n) for n in range(readable)]
    assert f"take 1 in {store_path}: the raw batch of source 0 holding entries 3 to 5 is damaged" in err
    assert detail in err and "restore takes.sqlite from a backup" in err

    for kw in ({"redecode": True}, {"fmt": "pcap", "out_path": str(tmp_path / "d.pcap")},
               {"out_path": str(tmp_path / "d.hex")}):
        status, _, err = _run(tmp_path, **kw)
        assert status == 1 and "holding entries 3 to 5 is damaged" in err, kw
    assert not (tmp_path / "d.pcap").exists() and not (tmp_path / "d.hex").exists()  # no half files

    done = stagectl("takes", "raw", "D-T001", "--config", str(stage_file))
    assert done.returncode == 1 and "holding entries 3 to 5 is damaged" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("sql", "cause"), [
    ("UPDATE chunks SET data = X'0102030405' WHERE take_id = 1", "ValueError"),
    ("UPDATE cameras SET lens = '{\"lens_file\": ' WHERE take_id = 1", "JSONDecodeError"),
    ("UPDATE takes SET cdl = '[1, 2]' WHERE id = 1", "AttributeError"),
])
def test_a_damaged_take_row_is_one_clear_error_naming_the_take_and_store(tmp_path: Path, sql: str,
                                                                        cause: str) -> None:
    stage_file = _take(tmp_path)
    _spoil(tmp_path, sql)
    store_path = tmp_path / "takes" / "takes.sqlite"
    status, out, err = _run(tmp_path)
    assert status == 1 and out == ""
    assert f"take 1 in {store_path} cannot be read ({cause}" in err
    assert "PRAGMA integrity_check" in err and "restore it from a backup" in err
    done = stagectl("takes", "raw", "1", "--config", str(stage_file))
    assert done.returncode == 1 and "cannot be read" in done.stderr and "Traceback" not in done.stderr


def test_the_raw_reader_raises_one_error_type_for_any_damaged_batch(tmp_path: Path) -> None:
    _take(tmp_path)
    raw = StoreRawAccess(tmp_path / "takes" / "takes.sqlite", 1)
    _spoil(tmp_path, "UPDATE raw SET codec = 'lz9' WHERE first_index = 3")
    got: list[int] = []
    with pytest.raises(RawCaptureError, match="codec 'lz9' is not known") as caught:
        got.extend(entry.number for entry in raw.entries())
    assert got == [0, 1, 2] and isinstance(caught.value, TakeStoreError)
    missing = StoreRawAccess(tmp_path / "gone.sqlite", 1)
    with pytest.raises(RawCaptureError, match=r"gone\.sqlite"):
        list(missing.entries())


def test_iter_raw_says_where_a_batch_is_cut_short() -> None:
    batch = b"".join(_entry(n) for n in range(3))
    assert [e.number for e in iter_raw(batch)] == [0, 1, 2]
    got: list[int] = []
    with pytest.raises(ValueError, match=r"entry 2 \(number 2\) at byte \d+ needs \d+ bytes, \d+ are left"):
        got.extend(e.number for e in iter_raw(batch[:-1]))
    assert got == [0, 1]
    with pytest.raises(ValueError, match="10 bytes after entry 3 are too few for an entry header"):
        list(iter_raw(batch + b"\0" * 10))
