"""``stagectl takes raw``: a real take (FreeD and 3-segment OpenTrackIO over loopback, a bad datagram of
each, a pre-roll) back out as hex lines, as a pcap read by the test's own strict pcap reader, and decoded
again; hand-made takes for IPv6, serial sources and a take recorded before raw capture."""

from __future__ import annotations

import io
import itertools
import json
import re
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from stagectl.app import StageRunner
from stagectl.commands_raw import takes_raw
from stagectl.config import StageConfig, parse_stage
from stagectl.takes.committer import JOURNAL_DIR
from stagectl.takes.model import TakeData
from stagectl.takes.records import RAW_PREROLL, pack_raw
from stagectl.takes.store import TakeStore
from stagectl.timecode import FrameRate, Timecode
from tests.helpers import stagectl
from tracking.freed import FreeDPosition, encode_d1
from tracking.opentrackio import (
    ENCODING_JSON,
    OpenTrackIOSample,
    build_sample,
    encode_datagram,
    encode_payload,
    encode_sample,
)

STAGE = """
[stage]
name = "raw test"
frame_rate = 24
[[cameras]]
name = "A"
[[cameras]]
name = "B"
[[sources]]
camera = "A"
protocol = "freed"
listen = "127.0.0.1:0"
camera_id = 1
[[sources]]
camera = "B"
protocol = "opentrackio"
listen = "127.0.0.1:0"
[takes]
dir = "takes"
"""
FREED_SAMPLES = 40
OTRK_SAMPLES = 12  # sample 0 arrives whole before RECORD, and sample 1's first segment: the pre-roll
PREROLL = 4


def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.001)


def _freed(n: int, camera_id: int = 1) -> bytes:
    return encode_d1(FreeDPosition(camera_id, pan_deg=n * 0.5, tilt_deg=-5.0, roll_deg=1.0, x_mm=1000.0 + n,
                                   y_mm=2000.0, z_mm=1500.0, zoom=n, focus=100))


def _otrk_sample(n: int) -> OpenTrackIOSample:
    return OpenTrackIOSample(translation_m=(1.0 + n / 100, -2.0, 1.5), rotation_deg=(n * 2.0, -5.0, 0.5),
                             sequence_number=n, sample_rate=Fraction(24), source_number=1,
                             timecode=Timecode.from_components(1, 2, 3, n, FrameRate.parse(24)))


def _otrk(n: int) -> list[bytes]:
    """Sample ``n`` in exactly three datagrams, numbered 3n, 3n + 1, 3n + 2 (the reference sender's way)."""
    payload = encode_payload(build_sample(_otrk_sample(n)), ENCODING_JSON)
    datagrams = encode_sample(_otrk_sample(n), ENCODING_JSON, 3 * n, mtu=16 + -(-len(payload) // 3))
    assert len(datagrams) == 3
    return datagrams


def _spoiled(datagram: bytes) -> bytes:
    """``datagram`` with its last (checksum) byte wrong."""
    return datagram[:-1] + bytes([datagram[-1] ^ 0x5A])


BAD_FREED = _spoiled(_freed(99))  # FreeD checksum
BAD_OTRK = _spoiled(encode_datagram(b"{}", ENCODING_JSON, 60000))  # Fletcher-16


@dataclass
class Recorded:
    """The take the module records, what was sent per protocol (in send order), how to run the command."""

    config: StageConfig
    stage_file: Path
    take_id: int
    sent: dict[str, list[bytes]]

    def run(self, **kw: Any) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = takes_raw(self.config, str(self.take_id), out=out, err=err, **kw)
        return status, out.getvalue(), err.getvalue()

    def take(self) -> TakeData:
        with TakeStore(self.stage_file.parent / "takes") as store:
            return store.read(self.take_id)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    folder = tmp_path_factory.mktemp("raw")
    stage_file = folder / "stage.toml"
    stage_file.write_text(STAGE, encoding="utf-8")
    config = parse_stage(STAGE, base_dir=folder)
    runner = StageRunner(config)
    sent: dict[str, list[bytes]] = {"freed": [], "opentrackio": []}
    try:
        recorder = runner.stage.recorder
        _until(lambda: recorder.ready)
        sources = runner.stage.sources
        ports = {s.protocol: s.bound.port for s in sources if s.bound is not None}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tracker:
            tracker.bind(("127.0.0.1", 0))

            def send(protocol: str, *datagrams: bytes) -> None:
                for datagram in datagrams:
                    tracker.sendto(datagram, ("127.0.0.1", ports[protocol]))
                sent[protocol] += datagrams

            send("opentrackio", *_otrk(0), _otrk(1)[0])
            _until(lambda: sources[1].health.received == PREROLL)

            async def record() -> str:
                return recorder.record(scene="R")

            runner.runtime.call_sync(record(), 5.0)  # well within the 100 ms pre-roll window
            send("opentrackio", *_otrk(1)[1:])
            for n in range(FREED_SAMPLES):
                send("freed", _freed(n))
                if n == 10:
                    send("freed", BAD_FREED)
                    send("opentrackio", BAD_OTRK)
                if 2 <= n < OTRK_SAMPLES:
                    send("opentrackio", *_otrk(n))
                time.sleep(0.001)
            _until(lambda: [s.health.received for s in sources] == [len(sent["freed"]),
                                                                      len(sent["opentrackio"])])

        async def stop() -> str:
            return await recorder.async_stop_take()

        runner.runtime.call_sync(stop(), 10.0)
        _until(lambda: recorder.status().last_take_id is not None)
        _until(lambda: not any((folder / "takes" / JOURNAL_DIR).iterdir()))  # stored
        take_id = recorder.status().last_take_id
        assert take_id is not None
    finally:
        runner.close()
    yield Recorded(config, stage_file, take_id, sent)


def _hex_rows(text: str) -> list[list[str]]:
    rows = [line.split(" ") for line in text.splitlines() if not line.startswith("#")]
    assert all(len(row) == 7 for row in rows), rows[:3]
    return rows


def _iso_ns(text: str) -> int:
    match = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{9})Z", text)
    assert match is not None, text
    return int(datetime.fromisoformat(text[:19] + "+00:00").timestamp()) * 10**9 + int(match.group(1))


def test_hex_lists_exactly_the_datagrams_sent_in_arrival_order(recorded: Recorded) -> None:
    status, out, err = recorded.run()
    assert status == 0, err
    header = [line for line in out.splitlines() if line.startswith("#")]
    assert header[:2] == [f"# stagectl takes raw: take {recorded.take_id} R-T001",
                          "# format: hex 1: number arrival_ns wall_clock_utc source peer flags data_hex"]
    assert header[2].startswith("# source 0 A/freed#1 freed cameras=A {")
    assert json.loads(header[2].split(" cameras=A ", 1)[1])["camera_id"] == 1
    assert header[3].startswith("# source 1 B/opentrackio opentrackio cameras=B {") and len(header) == 4
    rows = _hex_rows(out)
    assert [int(r[0]) for r in rows] == list(range(len(rows)))  # every entry, numbered in arrival order
    assert all(a <= b for a, b in itertools.pairwise(int(r[1]) for r in rows))
    assert [bytes.fromhex(r[6]) for r in rows if r[3] == "0"] == recorded.sent["freed"]
    assert [bytes.fromhex(r[6]) for r in rows if r[3] == "1"] == recorded.sent["opentrackio"]
    assert len(rows) == len(recorded.sent["freed"]) + len(recorded.sent["opentrackio"])
    otrk_flags = [r[5] for r in rows if r[3] == "1"]
    assert otrk_flags == ["P"] * PREROLL + ["-"] * (len(otrk_flags) - PREROLL)
    assert {r[5] for r in rows if r[3] == "0"} == {"-"} and {r[4][:10] for r in rows} == {"127.0.0.1:"}
    raw = recorded.take().raw
    assert raw is not None
    entries = list(raw.entries())
    assert [_iso_ns(r[2]) for r in rows] == [e.wall_ns for e in entries]  # every nanosecond kept
    assert [r[5] == "P" for r in rows] == [bool(e.flags & RAW_PREROLL) for e in entries]
    assert [r[4] for r in rows] == [e.peer for e in entries]


def test_camera_filters_the_sources_and_a_file_is_written_atomically(recorded: Recorded,
                                                                     tmp_path: Path) -> None:
    status, out, _ = recorded.run(camera="A")
    [source] = [line for line in out.splitlines() if line.startswith("# source")]
    assert status == 0 and source.startswith("# source 0 ")
    rows = _hex_rows(out)
    assert {r[3] for r in rows} == {"0"} and [bytes.fromhex(r[6]) for r in rows] == recorded.sent["freed"]
    target = tmp_path / "b.hex"
    target.write_text("old\n")
    status, out, err = recorded.run(camera="B", out_path=str(target))
    assert status == 0 and out == "" and f"{len(recorded.sent['opentrackio'])} entries" in err
    assert [bytes.fromhex(r[6]) for r in _hex_rows(target.read_text())] == recorded.sent["opentrackio"]
    assert [p.name for p in tmp_path.iterdir()] == ["b.hex"]  # no temporary file left


# --- pcap: a strict reader after the libpcap file format ---------------------------------------------

def _sum16(data: bytes) -> int:
    """The ones' complement sum of RFC 1071 (0xFFFF over a header whose checksum holds)."""
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@dataclass
class Packet:
    seconds: int
    nanos: int
    version: int
    src: bytes
    sport: int
    dst: bytes
    dport: int
    payload: bytes


def read_pcap(blob: bytes) -> list[Packet]:
    """Every packet of a nanosecond little-endian LINKTYPE_RAW pcap of UDP, each header checked."""
    head = struct.unpack_from("<IHHiIII", blob)
    assert head == (0xA1B23C4D, 2, 4, 0, 0, 65535, 101)
    packets, pos = [], 24
    while pos < len(blob):
        assert pos + 16 <= len(blob), "truncated record header"
        seconds, nanos, caplen, length = struct.unpack_from("<IIII", blob, pos)
        assert nanos < 1_000_000_000 and caplen == length <= 65535
        data = blob[pos + 16:pos + 16 + caplen]
        assert len(data) == caplen, "truncated packet"
        pos += 16 + caplen
        version = data[0] >> 4
        if version == 4:
            assert data[0] & 0x0F == 5 and struct.unpack_from("!H", data, 2)[0] == len(data)
            assert struct.unpack_from("!H", data, 6)[0] & 0x3FFF == 0  # not a fragment
            assert data[9] == 17 and _sum16(data[:20]) == 0xFFFF  # UDP; the header checksum holds
            src, dst, udp = data[12:16], data[16:20], data[20:]
            pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
        else:
            assert version == 6 and data[6] == 17 and struct.unpack_from("!H", data, 4)[0] == len(data) - 40
            src, dst, udp = data[8:24], data[24:40], data[40:]
            pseudo = src + dst + struct.pack("!I3xB", len(udp), 17)
        sport, dport, udp_length, checksum = struct.unpack_from("!HHHH", udp)
        assert udp_length == len(udp) and (checksum != 0 or version == 4)  # IPv6 must have one
        assert checksum == 0 or _sum16(pseudo + udp) == 0xFFFF, "UDP checksum"
        packets.append(Packet(seconds, nanos, version, src, sport, dst, dport, udp[8:]))
    return packets


def test_pcap_reads_back_with_valid_headers_the_captured_bytes_and_wall_clock(recorded: Recorded,
                                                                              tmp_path: Path) -> None:
    path = tmp_path / "take.pcap"
    done = stagectl("takes", "raw", "R-T001", "--format", "pcap", "--out", str(path),
                    "--config", str(recorded.stage_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "packets of R-T001 written" in done.stderr
    packets = read_pcap(path.read_bytes())
    raw = recorded.take().raw
    assert raw is not None
    entries = list(raw.entries())
    assert len(packets) == len(entries) == len(recorded.sent["freed"]) + len(recorded.sent["opentrackio"])
    loopback = socket.inet_aton("127.0.0.1")
    for packet, entry in zip(packets, entries, strict=True):
        assert packet.payload == entry.data
        assert packet.seconds * 1_000_000_000 + packet.nanos == entry.wall_ns
        assert (packet.version, packet.src, packet.dst) == (4, loopback, loopback)
        assert f"127.0.0.1:{packet.sport}" == entry.peer
        assert packet.dport == 0  # the listen setting: 127.0.0.1:0 (the stage file's "any free port")
    assert [p.payload for p in packets if p.payload in recorded.sent["freed"]] == recorded.sent["freed"]


def test_pcap_to_stdout_and_redecode_with_format_are_refused(recorded: Recorded) -> None:
    status, out, err = recorded.run(fmt="pcap")
    assert status == 2 and out == "" and "--out" in err
    status, out, err = recorded.run(fmt="hex", redecode=True)
    assert status == 2 and out == "" and "--format" in err


# --- --redecode --------------------------------------------------------------------------------------

def test_redecode_gives_the_takes_samples_the_bad_datagrams_and_the_values_sent(recorded: Recorded) -> None:
    status, out, err = recorded.run(redecode=True)
    assert status == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    data_of = {int(r[0]): bytes.fromhex(r[6]) for r in _hex_rows(recorded.run()[1])}
    take = recorded.take()
    samples = [x for x in lines if "sample" in x]
    for camera, protocol in (("A", "freed"), ("B", "opentrackio")):
        in_take = [x for x in samples if x["camera"] == camera and not x.get("preroll")]
        assert len(in_take) == len(take.cameras[camera]) and {x["protocol"] for x in in_take} == {protocol}
    assert (len(take.cameras["A"]), len(take.cameras["B"])) == (FREED_SAMPLES, OTRK_SAMPLES - 1)
    rejected = sorted((data_of[x["number"]], x["source"], x["rejected"]) for x in lines if "rejected" in x)
    assert rejected == sorted([(BAD_FREED, "A/freed#1", "checksum"), (BAD_OTRK, "B/opentrackio", "checksum")])
    otrk = [x for x in samples if x["protocol"] == "opentrackio"]
    assert [x["sample"]["sequence_number"] for x in otrk] == list(range(OTRK_SAMPLES))
    assert [x.get("preroll", False) for x in otrk] == [True] + [False] * (OTRK_SAMPLES - 1)
    for n, x in enumerate(otrk):
        sent = _otrk_sample(n)
        assert x["sample"]["position_m"] == pytest.approx(list(sent.translation_m or ()))
        assert x["sample"]["rotation_deg"] == pytest.approx(list(sent.rotation_deg or ()))
        assert (x["sample"]["timecode"], x["sample"]["segments"]) == (f"01:02:03:{n:02d}", 3)
        assert x["sample"]["warnings"] == [] and x["source"] == "B/opentrackio"
        assert data_of[x["number"]] == _otrk(n)[2]  # completed by the payload's last segment
    freed = [x for x in samples if x["protocol"] == "freed"]
    assert [x["sample"]["zoom_raw"] for x in freed] == list(range(FREED_SAMPLES))
    assert [x["sample"]["position_m"] for x in freed] == take.cameras["A"].translation_m.tolist()
    assert [x["sample"]["rotation_deg"] for x in freed] == take.cameras["A"].rotation_deg.tolist()
    assert "source 0 A/freed#1 (freed): 41 entries, 40 samples decoded; rejected: checksum 1" in err
    entries = len(recorded.sent["opentrackio"])
    assert (f"source 1 B/opentrackio (opentrackio): {entries} entries (4 pre-roll), {OTRK_SAMPLES} samples "
            "decoded (1 completed by pre-roll") in err
    assert f"camera A: the take recorded {FREED_SAMPLES} samples from source(s) 0, decoded now " \
           f"{FREED_SAMPLES}: they match" in err
    assert f"camera B: the take recorded {OTRK_SAMPLES - 1} samples from source(s) 1, decoded now " \
           f"{OTRK_SAMPLES - 1}: they match" in err


def test_redecode_of_one_camera_to_a_file(recorded: Recorded, tmp_path: Path) -> None:
    target = tmp_path / "b.jsonl"
    status, out, err = recorded.run(camera="B", out_path=str(target), redecode=True)
    assert status == 0 and out == "", err
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert {x["source"] for x in lines} == {"B/opentrackio"}
    assert len([x for x in lines if "sample" in x]) == OTRK_SAMPLES and "camera A" not in err
    assert f"camera B: the take recorded {OTRK_SAMPLES - 1} samples" in err and "they match" in err


def test_unknown_camera_bad_take_and_unwritable_file(recorded: Recorded, tmp_path: Path) -> None:
    status, out, err = recorded.run(camera="Z")
    assert status == 2 and out == "" and "no camera 'Z'" in err and "its cameras: A, B" in err
    done = stagectl("takes", "raw", "nope", "--config", str(recorded.stage_file))
    assert done.returncode == 1 and "no take 'nope'" in done.stderr and "R-T001" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    status, _, err = recorded.run(out_path=str(tmp_path / "missing" / "x.hex"))
    assert status == 1 and "cannot write" in err and not (tmp_path / "missing").exists()


# --- hand-made takes: no raw capture, IPv6, serial sources --------------------------------------------

WALL = 1_800_000_000_123_456_789  # 2027-01-15T08:00:00.123456789Z
SERIAL_SOURCES = [
    {"index": 0, "name": "A/freed6", "protocol": "freed", "cameras": ["A"],
     "settings": {"protocol": "freed", "preset": "generic", "camera_id": None, "listen": "[::1]:40000"}},
    {"index": 1, "name": "S/serial", "protocol": "freed-serial", "cameras": ["S"],
     "settings": {"protocol": "freed-serial", "preset": "generic", "camera_id": 3, "port": "/dev/ttyUSB0"}},
    {"index": 2, "name": "S/lens", "protocol": "lens-serial", "cameras": ["S"],
     "settings": {"protocol": "lens-serial", "lens_protocol": "fiz-line", "port": "/dev/ttyUSB1"}},
]
OTHER = _freed(7, camera_id=3)
SERIAL_ENTRIES = [(0, "[::1]:5000", _freed(5)), (1, "/dev/ttyUSB0", b"\x00\x01" + OTHER[:10]),
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
        (6, v6, 5000, v6, 40000, _freed(5)), (6, v6, 5000, v6, 40000, b"")]
    assert (packets[0].seconds, packets[0].nanos) == divmod(WALL, 1_000_000_000)
    status, _, err = _hand_run(tmp_path, take_id, camera="S", fmt="pcap", out_path=str(tmp_path / "s.pcap"))
    assert status == 2 and "--format hex" in err and not (tmp_path / "s.pcap").exists()
    rows = _hex_rows(_hand_run(tmp_path, take_id, camera="S")[1])
    assert [(r[0], r[3], r[4]) for r in rows] == [("1", "1", "/dev/ttyUSB0"), ("2", "2", "/dev/ttyUSB1"),
                                                  ("3", "1", "/dev/ttyUSB0"), ("4", "2", "/dev/ttyUSB1")]
    rows = _hex_rows(_hand_run(tmp_path, take_id, camera="A")[1])
    assert [(r[2], r[4], r[6]) for r in rows] == [
        ("2027-01-15T08:00:00.123456789Z", "[::1]:5000", _freed(5).hex()),
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
        sample = replace(_otrk_sample(n), source_number=source_number)
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
