"""``stagectl takes raw``: a real take (FreeD and 3-segment OpenTrackIO over loopback, a bad datagram of
each, a pre-roll) back out as hex lines, as a pcap read by the tests' own strict pcap reader, and decoded
again. Hand-made takes are in test_takes_raw_hand.py."""

from __future__ import annotations

import io
import itertools
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from stagectl.commands.raw import takes_raw
from stagectl.config.load import StageConfig, parse_stage
from stagectl.core.opentrackio.codec import (
    ENCODING_JSON,
    build_sample,
    encode_datagram,
    encode_payload,
    encode_sample,
)
from stagectl.stage.runner import StageRunner
from stagectl.takes.committer import JOURNAL_DIR
from stagectl.takes.model import TakeData
from stagectl.takes.records import RAW_PREROLL
from stagectl.takes.store import TakeStore
from tests.raw_capture import STAGE, freed, hex_rows, otrk_sample, read_pcap
from tests.support.cli import stagectl
from tests.support.polling import async_wait_until, wait_until

FREED_SAMPLES = 40
OTRK_SAMPLES = 12  # sample 0 arrives whole before RECORD, and sample 1's first segment: the pre-roll
PREROLL = 4


def _otrk(n: int) -> list[bytes]:
    """Sample ``n`` in exactly three datagrams, numbered 3n, 3n + 1, 3n + 2 (the reference sender's way)."""
    payload = encode_payload(build_sample(otrk_sample(n)), ENCODING_JSON)
    datagrams = encode_sample(otrk_sample(n), ENCODING_JSON, 3 * n, mtu=16 + -(-len(payload) // 3))
    assert len(datagrams) == 3
    return datagrams


def _spoiled(datagram: bytes) -> bytes:
    """``datagram`` with its last (checksum) byte wrong."""
    return datagram[:-1] + bytes([datagram[-1] ^ 0x5A])


BAD_FREED = _spoiled(freed(99))  # FreeD checksum
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
        wait_until(lambda: recorder.ready)
        sources = runner.stage.sources
        ports = {s.protocol: s.bound.port for s in sources if s.bound is not None}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tracker:
            tracker.bind(("127.0.0.1", 0))

            def send(protocol: str, *datagrams: bytes) -> None:
                for datagram in datagrams:
                    tracker.sendto(datagram, ("127.0.0.1", ports[protocol]))
                sent[protocol] += datagrams

            async def record_once_arrived() -> str:
                await async_wait_until(lambda: sources[1].health.received == PREROLL, interval_s=0.0005)
                return recorder.record(scene="R")

            # Waiting on the loop itself, RECORD follows the pre-roll's arrival at once: within the 100 ms
            # pre-roll window even on a loaded machine (a hop from this thread could take longer).
            recording = runner.runtime.submit(record_once_arrived())
            send("opentrackio", *_otrk(0), _otrk(1)[0])
            recording.result(15.0)
            send("opentrackio", *_otrk(1)[1:])
            for n in range(FREED_SAMPLES):
                send("freed", freed(n))
                if n == 10:
                    send("freed", BAD_FREED)
                    send("opentrackio", BAD_OTRK)
                if 2 <= n < OTRK_SAMPLES:
                    send("opentrackio", *_otrk(n))
                time.sleep(0.001)
            wait_until(lambda: [s.health.received for s in sources] == [len(sent["freed"]),
                                                                      len(sent["opentrackio"])])

        async def stop() -> str:
            return await recorder.async_stop_take()

        runner.runtime.call_sync(stop(), 10.0)
        wait_until(lambda: recorder.status().last_take_id is not None)
        wait_until(lambda: not any((folder / "takes" / JOURNAL_DIR).iterdir()))  # stored
        take_id = recorder.status().last_take_id
        assert take_id is not None
    finally:
        runner.close()
    yield Recorded(config, stage_file, take_id, sent)


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
    rows = hex_rows(out)
    assert [int(r[0]) for r in rows] == list(range(len(rows)))  # every entry, numbered in the order read
    # Arrival stamps (the kernel's, taken before the stage reads) go forward within each source; across the
    # two sockets, the loop may read one a moment before the other's earlier datagram.
    for source in ("0", "1"):
        stamps = [int(r[1]) for r in rows if r[3] == source]
        assert all(a <= b for a, b in itertools.pairwise(stamps))
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
    rows = hex_rows(out)
    assert {r[3] for r in rows} == {"0"} and [bytes.fromhex(r[6]) for r in rows] == recorded.sent["freed"]
    target = tmp_path / "b.hex"
    target.write_text("old\n")
    status, out, err = recorded.run(camera="B", out_path=str(target))
    assert status == 0 and out == "" and f"{len(recorded.sent['opentrackio'])} entries" in err
    assert [bytes.fromhex(r[6]) for r in hex_rows(target.read_text())] == recorded.sent["opentrackio"]
    assert [p.name for p in tmp_path.iterdir()] == ["b.hex"]  # no temporary file left


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
    data_of = {int(r[0]): bytes.fromhex(r[6]) for r in hex_rows(recorded.run()[1])}
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
        sent = otrk_sample(n)
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


def test_each_sample_names_its_source_and_the_raw_entry_that_completed_it(recorded: Recorded) -> None:
    take = recorded.take()
    assert take.raw is not None
    data_of = {e.number: (e.source, e.data) for e in take.raw.entries()}
    freed_track, otrk_track = take.cameras["A"], take.cameras["B"]
    assert freed_track.source_index is not None and freed_track.raw_index is not None
    assert otrk_track.source_index is not None and otrk_track.raw_index is not None
    assert set(freed_track.source_index.tolist()) == {0} and set(otrk_track.source_index.tolist()) == {1}
    assert [data_of[int(n)] for n in freed_track.raw_index] == [(0, freed(n)) for n in range(FREED_SAMPLES)]
    completed_by = [(1, _otrk(n)[2]) for n in range(1, OTRK_SAMPLES)]  # each payload's last segment
    assert [data_of[int(n)] for n in otrk_track.raw_index] == completed_by
