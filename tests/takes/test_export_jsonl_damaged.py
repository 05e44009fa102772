"""OpenTrackIO JSON lines of a take whose raw capture is damaged: every row still gets a line (the
rows past the damage from the recorded columns) and the export says so in a warning log record."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    build_sample,
    encode_datagram,
    encode_payload,
    encode_sample,
    parse_sample,
)
from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.export.jsonl import export_jsonl
from stagectl.takes.export.registry import export_takes
from stagectl.takes.model import TakeData
from stagectl.takes.records import FLAG_TRACKER_TIMECODE, SAMPLE_DTYPE, pack_raw
from stagectl.takes.store import DB_NAME, TakeStore
from tests.raw_capture import otrk_sample

WALL = 1_800_000_000_000_000_000
SOURCE = {"index": 0, "name": "A/otrk", "protocol": "opentrackio", "cameras": ["A"],
          "settings": {"protocol": "opentrackio", "listen": "127.0.0.1:55555"}}
N = 6


def _take(folder: Path, junk: tuple[int, ...] = (),
          datagram: Callable[[int], bytes] | None = None) -> TakeData:
    """A take of camera A fed by one OpenTrackIO source: ``N`` samples, each completed by its own raw
    datagram (``datagram(n)``, default JSON), stored as batches of three entries; the batches numbered
    in ``junk`` hold junk bytes."""
    datagram = datagram or (lambda n: encode_sample(otrk_sample(n), ENCODING_JSON, n)[0])
    rate = FrameRate(Fraction(24))
    records = np.zeros(N, dtype=SAMPLE_DTYPE)
    records["arrival_ns"] = 1_000_000_000 + np.arange(N) * 41_666_667
    records["frame"] = 86400 + np.arange(N)
    records["sequence"] = records["raw_index"] = np.arange(N)
    records["ptp_seconds"] = records["ptp_nanoseconds"] = records["device_id"] = records["spare"] = -1
    records["tc_rate_num"], records["tc_rate_den"] = 24, 1
    for name, values in zip(("tc_hours", "tc_minutes", "tc_seconds", "tc_frames"),
                            timecode_fields(records["frame"], rate, False), strict=True):
        records[name] = values
    records["x"], records["y"], records["z"] = 1.0, -2.0, 1.5
    records["pan"], records["tilt"], records["roll"] = 0.0, -5.0, 0.5
    for name in ("zoom_raw", "focus_raw", "iris_raw", "focal_length_mm", "focus_distance_m", "f_stop",
                 "t_stop", "entrance_pupil_m", "k1", "k2", "k3", "p1", "p2", "cx", "cy"):
        records[name] = np.nan
    records["flags"] = FLAG_TRACKER_TIMECODE
    entries = [pack_raw(int(records["arrival_ns"][n]), WALL + n, n, 0, 0, "127.0.0.1:9", datagram(n))
               for n in range(N)]
    with TakeStore(folder) as store, store.transaction():
        take_id = store.insert_take({"name": "D-T001", "slate": {"scene": "D", "cameras": ["A"]},
                                     "rate": [24, 1], "started": WALL / 1e9, "tc_in": 86400}, "")
        store.put_camera(take_id, 0, "A", "A/otrk", None)
        store.put_source(take_id, SOURCE)
        store.put_samples(take_id, records)
        for first in range(0, N, 3):
            store.put_raw(take_id, 0, entries[first:first + 3])
        store.finish(take_id, "complete", WALL / 1e9 + 1, 86400 + N - 1)
    with sqlite3.connect(folder / DB_NAME) as conn:
        for batch in junk:
            conn.execute("UPDATE raw SET data = ? WHERE first_index = ?", (b"\x78\x9c not zlib", batch * 3))
    conn.close()
    with TakeStore(folder, readonly=True) as store:
        return store.read(take_id)


def _lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        parse_sample(line)
    return lines


def _replayed(lines: list[dict[str, Any]]) -> list[bool]:
    """Which lines came from the tracker's own map (only those carry ``custom.stagectl.takeFrame``)."""
    return ["takeFrame" in line.get("custom", {}).get("stagectl", {}) for line in lines]


def test_an_intact_capture_replays_every_row(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    take = _take(tmp_path / "takes")
    with caplog.at_level(logging.WARNING, logger="stagectl.takes"):
        (path,) = export_jsonl(take, tmp_path)
    lines = _lines(path)
    assert _replayed(lines) == [True] * N
    assert [line["timing"]["sequenceNumber"] for line in lines] == list(range(N))
    assert caplog.records == []


def test_a_damaged_batch_leaves_the_rows_past_it_to_the_columns(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    take = _take(tmp_path / "takes", junk=(1,))
    with caplog.at_level(logging.WARNING, logger="stagectl.takes"):
        (path,) = export_takes([take], ["jsonl"], tmp_path / "out")
    lines = _lines(path)
    assert _replayed(lines) == [True, True, True, False, False, False]
    assert [line["timing"]["sequenceNumber"] for line in lines] == list(range(N))  # every row, in order
    assert [line["transforms"][0]["rotation"]["tilt"] for line in lines] == [-5] * N
    (record,) = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    for part in ("take D-T001", "camera A", "after raw entry 2", "3 remaining", "from row 3 on",
                 "recorded columns"):
        assert part in message, message


def test_a_capture_damaged_from_its_first_batch_writes_every_row_from_the_columns(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    take = _take(tmp_path / "takes", junk=(0,))
    with caplog.at_level(logging.WARNING, logger="stagectl.takes"):
        (path,) = export_jsonl(take, tmp_path)
    lines = _lines(path)
    assert _replayed(lines) == [False] * N
    intact = _lines(export_jsonl(_take(tmp_path / "intact"), tmp_path / "intact")[0])
    # The first line's static block is the camera's one, whichever writer wrote the line.
    assert lines[0]["static"] == intact[0]["static"]
    assert lines[0]["static"]["camera"] == {"label": "A", "captureFrameRate": {"num": 24, "denom": 1}}
    (record,) = caplog.records
    assert "cannot be read at all" in record.getMessage() and "6 remaining" in record.getMessage()


def test_cbor_values_json_cannot_hold_cost_that_value_not_the_line(tmp_path: Path) -> None:
    def cbor(n: int) -> bytes:
        obj = build_sample(otrk_sample(n))
        obj["custom"] = {"blob": b"\x01\x02", "gain": math.nan, "pot1": n}
        return encode_datagram(encode_payload(obj, ENCODING_CBOR), ENCODING_CBOR, n)

    (path,) = export_jsonl(_take(tmp_path / "takes", datagram=cbor), tmp_path)
    lines = _lines(path)  # strict JSON: no NaN token
    assert _replayed(lines) == [True] * N
    for n, line in enumerate(lines):
        custom = line["custom"]
        assert (custom["blob"], custom["gain"], custom["pot1"]) == ("0102", None, n)
        assert custom["stagectl"]["changed"]["custom.blob"] == "bytes of 2"
        assert custom["stagectl"]["changed"]["custom.gain"] == "nan"
        assert "upstream" not in custom["stagectl"] and custom["stagectl"]["takeFrame"] == 86400 + n
