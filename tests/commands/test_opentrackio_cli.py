"""``stagectl decode opentrackio`` and ``stagectl simulate opentrackio`` through the real command line."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from stagectl.commands.opentrackio import simulate_opentrackio
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    Reassembler,
    decode_payload,
    encode_datagram,
    encode_datagrams,
    encode_payload,
    parse_datagram,
    parse_sample,
)
from tests.support.cli import REPO, stagectl, stagectl_popen
from tests.support.network import free_udp_port
from tests.support.polling import wait_until

EMPTY_JSON = "4f54726b000100000000000080020bfb7b7d"
EXAMPLES = REPO / "tests" / "data" / "opentrackio" / "examples"


def _example(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return result


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_decode_the_published_vector() -> None:
    result = stagectl("decode", "opentrackio", "4f54 726b:0001 0000 0000 0000 8002 0bfb 7b7d")
    assert result.returncode == 0, result.stderr
    assert _lines(result.stdout) == [EMPTY_DECODED]


def test_decode_a_complete_cbor_sample_in_internal_units() -> None:
    datagrams = encode_datagrams(encode_payload(_example("complete_static_example"), ENCODING_CBOR),
                                 ENCODING_CBOR, 4242)
    assert len(datagrams) == 2  # 2.7 kB: two segments at MTU 1500
    result = stagectl("decode", "opentrackio", datagrams[1].hex(), datagrams[0].hex())  # out of order
    assert result.returncode == 0, result.stderr
    (sample,) = _lines(result.stdout)
    assert (sample["encoding"], sample["sequence"], sample["segments"]) == ("cbor", 4242, 2)
    assert sample["position_m"] == pytest.approx([0.3431457505, 11.2426406871, 10.6568542495])
    assert sample["rotation_deg"] == pytest.approx([-45.0, 45.0, -45.0])
    assert [t["id"] for t in sample["transforms"]] == ["Dolly", "Crane Arm", "Camera"]
    assert sample["timecode"] == "01:02:03:04" and sample["timecode_rate"] == "24000/1001"
    assert sample["sample_time_ns"] == 1_718_806_554_500_000_000
    assert (sample["focal_length_mm"], sample["focus_distance_m"], sample["f_stop"]) == (24.305, 10.0, 4.0)
    assert sample["encoders"] == {"focus": 0.1, "iris": 0.2, "zoom": 0.3}
    assert sample["raw_encoders"] == {"focus": 1000, "iris": 2000, "zoom": 3000}
    assert sample["static"]["camera"] == "CameraMaker Model20"
    assert sample["static"]["sensor_mm"] == [36.0, 24.0] and sample["static"]["sensor_px"] == [3840, 2160]


def test_decode_from_files(tmp_path: Path) -> None:
    payload = encode_payload(_example("recommended_dynamic_example"), ENCODING_JSON)
    raw, text = tmp_path / "one.bin", tmp_path / "two.hex"
    raw.write_bytes(encode_datagram(payload, ENCODING_JSON, 9))
    text.write_text(" ".join(f"{b:02x}" for b in encode_datagram(payload, ENCODING_JSON, 10)) + "\n")
    result = stagectl("decode", "opentrackio", f"@{raw}", f"@{text}")
    assert result.returncode == 0, result.stderr
    first, second = _lines(result.stdout)
    assert (first["sequence"], second["sequence"]) == (9, 10)
    assert first["position_m"] == second["position_m"] == [1.0, 2.0, 3.0]
    assert first["rotation_deg"] == [180.0, 90.0, 45.0]


def test_decode_a_repeated_datagram_once() -> None:
    result = stagectl("decode", "opentrackio", EMPTY_JSON, EMPTY_JSON)
    assert result.returncode == 0, result.stderr
    assert len(_lines(result.stdout)) == 1
    assert "repeats an earlier datagram" in result.stderr


def test_decode_segments_numbered_per_payload() -> None:
    payload = encode_payload(_example("complete_static_example"), ENCODING_JSON)
    segments = [encode_datagram(payload[o:o + 1484], ENCODING_JSON, 5, o, o + 1484 >= len(payload))
                for o in range(0, len(payload), 1484)]
    result = stagectl("decode", "opentrackio", *(s.hex() for s in reversed(segments)))
    assert result.returncode == 0, result.stderr
    assert _lines(result.stdout)[0]["segments"] == 2


BAD_DATAGRAMS = [
    (EMPTY_JSON[:-6] + "fc7b7d", "checksum: checksum expected 0x0BFB, found 0x0BFC"),
    ("zz", "zz: not hexadecimal"),
    (EMPTY_JSON[:20], "length: datagram of 10 bytes is shorter than the 16-byte header"),
    ("5854726b" + EMPTY_JSON[8:], "magic: identifier is b'XTrk'"),
    ("@/nonexistent/file.bin", "cannot read /nonexistent/file.bin"),
]
EMPTY_DECODED = {"encoding": "json", "sequence": 0, "segments": 1, "warnings": [], "received": {}}
BAD_PAYLOADS = [
    (b'{"lens": {"fStop": NaN}}', "value: lens.fStop: must be a finite number, got nan"),
    (b'{"lens": {"encoders": {"zoom": 1.5}}}', "value: lens.encoders.zoom: 1.5 is above the maximum 1"),
    (b"[" * 1000 + b"]" * 1000, "too_deep: JSON nests deeper than 32 levels"),
    (b'{"a": ', "json: payload is not valid JSON"),
]


def test_decode_says_what_is_wrong_with_each_argument() -> None:
    # One run, many bad arguments (a process start costs ~0.5 s): each gets its own stderr line.
    payloads = [encode_datagram(p, ENCODING_JSON, i).hex() for i, (p, _) in enumerate(BAD_PAYLOADS)]
    result = stagectl("decode", "opentrackio", *(arg for arg, _ in BAD_DATAGRAMS), *payloads, EMPTY_JSON)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == len(BAD_DATAGRAMS) + len(BAD_PAYLOADS)
    expected = [words for _, words in BAD_DATAGRAMS] + [words for _, words in BAD_PAYLOADS]
    for line, words in zip(lines, expected, strict=True):
        assert words in line
    assert _lines(result.stdout) == [EMPTY_DECODED]  # the good one


def test_decode_missing_segment_says_incomplete() -> None:
    datagrams = encode_datagrams(bytes(4000), ENCODING_CBOR, 0)
    result = stagectl("decode", "opentrackio", datagrams[0].hex(), datagrams[2].hex())
    assert result.returncode == 1
    assert "incomplete: 1 payload(s) are missing segments" in result.stderr


# --- simulate ------------------------------------------------------------------------------------------

def _simulated(sock: socket.socket, proc: subprocess.Popen[str]) -> tuple[list[bytes], str, int]:
    """Once the simulator has exited: every datagram it says it sent (read from ``sock``), its stderr,
    and the ticks it skipped (a loaded machine skips ticks rather than bursting)."""
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    counts = re.search(r"sent (\d+) datagrams \((\d+) ticks skipped", err)
    assert counts is not None, err
    sent, skipped = int(counts[1]), int(counts[2])
    sock.setblocking(False)
    received: list[bytes] = []

    def all_arrived() -> bool:
        with contextlib.suppress(BlockingIOError):
            while True:
                received.append(sock.recv(65535))
        return len(received) >= sent

    wait_until(all_arrived, what=f"the {sent} datagrams sent", detail=lambda: len(received))
    assert len(received) == sent
    return received, err, skipped


def _samples(datagrams: list[bytes]) -> list[Any]:
    reassembler = Reassembler()
    out = []
    for datagram in datagrams:
        header, segment = parse_datagram(datagram)
        payload = reassembler.feed(header, segment, time.monotonic_ns())
        if payload is not None:
            out.append(parse_sample(decode_payload(header.encoding, payload)))
    return out


def test_simulate_unicast() -> None:
    port = free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
        proc = stagectl_popen("simulate", "opentrackio", "--target", f"127.0.0.1:{port}",
                              "--encoding", "cbor", "--rate", "50", "--duration", "0.6",
                              "--source-number", "7")
        datagrams, err, skipped = _simulated(sock, proc)
    assert "sending OpenTrackIO (CBOR, source number 7) to 127.0.0.1:" in err
    samples = _samples(datagrams)
    assert len(samples) <= 30 and len(samples) + skipped >= 30  # 0.6 s at 50 Hz: every tick sent or skipped
    assert {s.source_number for s in samples} == {7}
    assert samples[0].static is not None


def test_simulate_multicast_on_loopback() -> None:
    port, group = free_udp_port(), "239.135.1.78"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((group, port))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group)
                        + socket.inet_aton("127.0.0.1"))
        proc = stagectl_popen("simulate", "opentrackio", "--target", f"127.0.0.1:{port}", "--group", group,
                              "--ttl", "0", "--rate", "50", "--duration", "0.4")
        datagrams, err, skipped = _simulated(sock, proc)
    assert f"multicast {group}:{port} from interface 127.0.0.1 (TTL 0)" in err
    samples = _samples(datagrams)
    assert len(samples) <= 20 and len(samples) + skipped >= 20  # 0.4 s at 50 Hz: every tick sent or skipped


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--group", "10.1.2.3"], 2, "not an IPv4 multicast address"),
    (["--source-number", "0"], 2, "0 must be 1..200"),
    (["--ttl", "300"], 2, "300 must be 0..255"),
    (["--encoding", "xml"], 2, "invalid choice"),
    (["--target", "nowhere"], 2, "no port"),
])
def test_simulate_bad_arguments(args: list[str], code: int, words: str) -> None:
    result = stagectl("simulate", "opentrackio", *args, "--duration", "0.1")
    assert result.returncode == code
    assert words in result.stderr


def test_camdkits_generated_complete_example_decodes_with_every_field() -> None:
    # camdkit's examples.py sends dropFrame true at 24000/1001 (and subFrame 1): once refused as
    # "drop-frame is not defined at 24000/1001 fps", now kept as sent and flagged.
    sample = json.loads((EXAMPLES.parent / "generated" / "complete_dynamic_example.json").read_text())
    datagrams = encode_datagrams(json.dumps(sample).encode(), ENCODING_JSON, 0, 1500)
    result = stagectl("decode", "opentrackio", *(d.hex() for d in datagrams))
    assert result.returncode == 0, result.stderr
    (decoded,) = _lines(result.stdout)
    assert decoded["received"] == sample
    assert decoded["warnings"] == ["timecode_drop_frame"]
    assert decoded["timecode_as_sent"] == "01:02:03;04" and decoded["timecode"] == "01:02:03:04"
    assert "kept as sent (timecode_drop_frame)" in result.stderr


def test_simulate_to_a_closed_port_gives_the_reason_once() -> None:
    port = free_udp_port()  # bound and released: nothing listens there
    err = io.StringIO()
    assert simulate_opentrackio(f"127.0.0.1:{port}", None, "json", 100.0, 1, 1, 0.3, err=err) == 0
    text = err.getvalue()
    errors = re.search(r"(\d+) send errors\)", text)
    assert errors is not None and int(errors[1]) > 0, text
    reason = f"connection refused: nothing listens on 127.0.0.1:{port}"
    assert text.count(reason) == 1, text
    assert re.search(rf"^  {errors[1]} send errors?: {re.escape(reason)}$", text, re.MULTILINE), text
