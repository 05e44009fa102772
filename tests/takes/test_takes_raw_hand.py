"""``stagectl takes raw`` on hand-made takes: one recorded before raw capture, IPv6 peers, serial
sources framed across reads, OpenTrackIO samples a live receiver would refuse."""

from __future__ import annotations

import io
import json
import math
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from stagectl.commands.raw import takes_raw
from stagectl.config.load import parse_stage
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    build_sample,
    encode_datagram,
    encode_payload,
    encode_sample,
)
from stagectl.takes.records import pack_raw
from stagectl.takes.store import TakeStore
from tests.raw_capture import STAGE, freed, hex_rows, otrk_sample, read_pcap

WALL = 1_800_000_000_123_456_789  # 2027-01-15T08:00:00.123456789Z
SERIAL_SOURCES = [
    {"index": 0, "name": "A/freed6", "protocol": "freed", "cameras": ["A"],
     "settings": {"protocol": "freed", "preset": "generic", "camera_id": None, "listen": "[::1]:40000"}},
    {"index": 1, "name": "S/serial", "protocol": "freed-serial", "cameras": ["S"],
     "settings": {"protocol": "freed-serial", "preset": "generic", "camera_id": 3, "port": "/dev/ttyUSB0"}},
    {"index": 2, "name": "S/lens", "protocol": "lens-serial", "cameras": ["S"],
     "settings": {"protocol": "lens-serial", "lens_protocol": "fiz-line", "port": "/dev/ttyUSB1"}},
]
OTHER = freed(7, camera_id=3)
SERIAL_ENTRIES = [(0, "[::1]:5000", freed(5)), (1, "/dev/ttyUSB0", b"\x00\x01" + OTHER[:10]),
                  (2, "/dev/ttyUSB1", b"FIZ 1"), (1, "/dev/ttyUSB0", OTHER[10:] + b"\x02\x03" + OTHER[:-1]),
                  (2, "/dev/ttyUSB1", b"0 20 30\nFIZ x\n"), (0, "[::1]:5000", b"")]


def _hand_take(folder: Path, sources: list[dict[str, Any]], entries: list[tuple[int, str, bytes]]) -> int:
    """A stored take of cameras A and S with these sources and raw entries (source index, peer, bytes),
    no samples (the stage file only names the takes folder)."""
    with TakeStore(folder / "takes") as store, store.transaction():
        take_id = store.insert_take({"name": "H-T001", "slate": {"scene": "H", "cameras": ["A", "S"]},
                                     "rate": [24, 1], "started": WALL / 1e9, "tc_in": None}, "")
        store.put_camera(take_id, 0, "A", "", None)
        store.put_camera(take_id, 1, "S", "", None)
        for source in sources:
            store.put_source(take_id, source)
        for index in {i for i, _, _ in entries}:
            store.put_raw(take_id, index, [pack_raw(1000 + n, WALL + n * 1001, n, i, 0, peer, data)
                                           for n, (i, peer, data) in enumerate(entries) if i == index])
        store.finish(take_id, "complete", WALL / 1e9 + 1, None)
    return take_id


def _hand_run(folder: Path, take_id: int, **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = takes_raw(parse_stage(STAGE, base_dir=folder), str(take_id), out=out, err=err, **kw)
    return status, out.getvalue(), err.getvalue()


def test_a_take_recorded_before_raw_capture_says_so(tmp_path: Path) -> None:
    take_id = _hand_take(tmp_path, [], [])
    status, out, err = _hand_run(tmp_path, take_id)
    assert status == 1 and out == "" and "no raw capture" in err and "H-T001" in err
    assert _hand_run(tmp_path, take_id, redecode=True)[:2] == (1, "")


def test_ipv6_pcap_leaves_serial_sources_out_and_refuses_a_serial_only_camera(tmp_path: Path) -> None:
    take_id = _hand_take(tmp_path, SERIAL_SOURCES, SERIAL_ENTRIES)
    status, _, err = _hand_run(tmp_path, take_id, fmt="pcap", out_path=str(tmp_path / "h.pcap"))
    assert status == 0, err
    assert "serial source(s) 1 S/serial (freed-serial), 2 S/lens (lens-serial) left out" in err
    packets = read_pcap((tmp_path / "h.pcap").read_bytes())
    v6 = socket.inet_pton(socket.AF_INET6, "::1")
    assert [(p.version, p.src, p.sport, p.dst, p.dport, p.payload) for p in packets] == [
        (6, v6, 5000, v6, 40000, freed(5)), (6, v6, 5000, v6, 40000, b"")]
    assert (packets[0].seconds, packets[0].nanos) == divmod(WALL, 1_000_000_000)
    status, _, err = _hand_run(tmp_path, take_id, camera="S", fmt="pcap", out_path=str(tmp_path / "s.pcap"))
    assert status == 2 and "--format hex" in err and not (tmp_path / "s.pcap").exists()
    rows = hex_rows(_hand_run(tmp_path, take_id, camera="S")[1])
    assert [(r[0], r[3], r[4]) for r in rows] == [("1", "1", "/dev/ttyUSB0"), ("2", "2", "/dev/ttyUSB1"),
                                                  ("3", "1", "/dev/ttyUSB0"), ("4", "2", "/dev/ttyUSB1")]
    rows = hex_rows(_hand_run(tmp_path, take_id, camera="A")[1])
    assert [(r[2], r[4], r[6]) for r in rows] == [
        ("2027-01-15T08:00:00.123456789Z", "[::1]:5000", freed(5).hex()),
        ("2027-01-15T08:00:00.123461794Z", "[::1]:5000", "-")]


def test_redecode_frames_serial_streams_across_reads(tmp_path: Path) -> None:
    take_id = _hand_take(tmp_path, SERIAL_SOURCES, SERIAL_ENTRIES)
    status, out, err = _hand_run(tmp_path, take_id, redecode=True)
    assert status == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    got = [(x["number"], x["source"], x.get("rejected") or ("sample" if "sample" in x else x.get("notice")))
           for x in lines]
    assert got == [(0, "A/freed6", "sample"), (3, "S/serial", "sync"), (3, "S/serial", "sample"),
                   (4, "S/lens", "sample"), (4, "S/lens", "format"), (5, "A/freed6", "length"),
                   (3, "S/serial", "sync")]  # the open run of skipped bytes, reported at the end
    assert lines[-1]["detail"] == "skipped 2 bytes looking for a D1 frame (02 03)"
    assert (lines[2]["sample"]["camera_id"], lines[2]["sample"]["zoom_raw"]) == (3, 7)
    assert lines[3]["sample"] == {"focus_raw": 10, "iris_raw": 20, "zoom_raw": 30}
    assert "at the end: 28 bytes of an unfinished frame or line" in err
    assert "source 2 S/lens (lens-serial): 2 entries, 1 lens readings, 0 notices; rejected: format 1" in err


def test_redecode_refuses_late_repeated_and_foreign_opentrackio_samples_as_live(tmp_path: Path) -> None:
    source = {"index": 0, "name": "A/otrk", "protocol": "opentrackio", "cameras": ["A"],
              "settings": {"protocol": "opentrackio", "source_number": 1, "listen": "127.0.0.1:55555"}}

    def one(n: int, header_sequence: int, source_number: int = 1) -> bytes:
        sample = replace(otrk_sample(n), source_number=source_number)
        [datagram] = encode_sample(sample, ENCODING_JSON, header_sequence)
        return datagram

    sent = [one(0, 0), one(1, 1), one(2, 2), one(1, 3), one(2, 4), one(3, 5, source_number=2), one(3, 6)]
    take_id = _hand_take(tmp_path, [source], [(0, "127.0.0.1:9", d) for d in sent])
    status, out, err = _hand_run(tmp_path, take_id, redecode=True)
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [x.get("rejected", "sample") for x in lines] == [
        "sample", "sample", "sample", "reordered", "duplicate", "source_number", "sample"]
    assert [x["sample"]["sequence_number"] for x in lines if "sample" in x] == [0, 1, 2, 3]
    assert "rejected: duplicate 1, reordered 1, source_number 1" in err


def _strict(line: str) -> Any:
    """``line`` read by a JSON reader that refuses NaN and Infinity (as most outside Python do)."""
    def refuse(token: str) -> Any:
        raise AssertionError(f"not JSON: {token} in {line[:80]}")

    return json.loads(line, parse_constant=refuse)


def test_redecode_writes_strict_json_when_a_cbor_sample_carries_nan_and_bytes(tmp_path: Path) -> None:
    source = {"index": 0, "name": "A/otrk", "protocol": "opentrackio", "cameras": ["A"],
              "settings": {"protocol": "opentrackio", "listen": "127.0.0.1:55555"}}
    sample = build_sample(otrk_sample(3))
    sample["custom"] = {"gain": math.nan, "tag": b"\x01\xff", "ok": 2.5}
    datagram = encode_datagram(encode_payload(sample, ENCODING_CBOR), ENCODING_CBOR, 0)
    take_id = _hand_take(tmp_path, [source], [(0, "127.0.0.1:9", datagram)])
    target = tmp_path / "a.jsonl"
    for out_path in (None, str(target)):
        status, out, err = _hand_run(tmp_path, take_id, redecode=True, out_path=out_path)
        assert status == 0, err
        [line] = [_strict(text) for text in (out if out_path is None else target.read_text()).splitlines()]
        assert line["sample"]["encoding"] == "cbor" and line["sample"]["sequence_number"] == 3
        assert line["sample"]["received"]["custom"] == {"gain": None, "tag": "01ff", "ok": 2.5}
        assert line["changed"] == {"sample.received.custom.gain": "nan",
                                   "sample.received.custom.tag": "bytes of 2"}
