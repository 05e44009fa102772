"""Tests of the strict OpenTrackIO receiver (tests/opentrackio_strict.py) itself.

Every datagram here is built by hand (struct and a Fletcher-16 written differently from the helper's),
never with stagectl's encoder: the receiver must be checked independently of the code it will judge.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import cbor2
import pytest

from tests.opentrackio_strict import (
    CBOR,
    JSON,
    Datagram,
    StrictError,
    StrictReceiver,
    fletcher16_256,
    parse,
    receive_all,
)
from tests.support.cli import REPO

DATA = REPO / "tests" / "data" / "opentrackio"
EXAMPLES = sorted((DATA / "examples").glob("*.json")) + sorted((DATA / "generated").glob("*.json"))
PUBLISHED = bytes.fromhex("4f54726b000100000000000080020bfb7b7d")  # payload {} as JSON, sequence 0


def fletcher(data: bytes, modulus: int = 256) -> int:
    """Closed form: sum1 is the byte sum, sum2 weights each byte by how many running sums include it."""
    sum1 = sum(data) % modulus
    sum2 = sum((len(data) - i) * b for i, b in enumerate(data)) % modulus
    return sum2 << 8 | sum1


def datagram(
    payload: bytes,
    *,
    sequence: int = 0,
    offset: int = 0,
    last: bool = True,
    encoding: int = JSON,
    magic: bytes = b"OTrk",
    reserved: int = 0,
    length: int | None = None,
    modulus: int = 256,
) -> bytes:
    flag_length = (0x8000 if last else 0) | (len(payload) if length is None else length)
    head = struct.pack(">4sBBHIH", magic, reserved, encoding, sequence, offset, flag_length)
    return head + struct.pack(">H", fletcher(head + payload, modulus)) + payload


def segments(payload: bytes, count: int, sequences: list[int], encoding: int = JSON) -> list[bytes]:
    size = -(-len(payload) // count)
    chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
    assert len(chunks) == count == len(sequences)
    return [
        datagram(chunk, sequence=seq, offset=i * size, last=i == count - 1, encoding=encoding)
        for i, (chunk, seq) in enumerate(zip(chunks, sequences, strict=True))
    ]


def example(path: Path) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return sample


SAMPLE = example(DATA / "examples" / "complete_static_example.json")
SAMPLE_JSON = json.dumps(SAMPLE).encode()


# --- checksum and header -------------------------------------------------------------------------------


def test_published_vector_is_accepted() -> None:
    assert parse(PUBLISHED) == Datagram(encoding=JSON, sequence=0, offset=0, last=True, payload=b"{}")
    assert receive_all([PUBLISHED]) == [{}]
    assert datagram(b"{}") == PUBLISHED  # the tests' own builder agrees with the published vector


def test_fletcher_matches_the_spec_loop_and_uses_modulus_256() -> None:
    assert fletcher16_256(PUBLISHED[:14] + PUBLISHED[16:]) == 0x0BFB
    assert fletcher16_256(b"\xff\xff") == 0xFDFE  # modulus 255 would give 0x0000
    assert fletcher(b"\xff\xff", 255) == 0x0000
    data = bytes(range(256)) * 3 + SAMPLE_JSON
    assert fletcher16_256(data) == fletcher(data)


def test_checksum_byte_order_is_sum2_then_sum1() -> None:
    good = datagram(b'{"a": 1}')
    assert good[14] != good[15]
    swapped = good[:14] + bytes([good[15], good[14]]) + good[16:]
    with pytest.raises(StrictError, match=r"checksum.*byte-swapped"):
        parse(swapped)


def test_checksum_modulus_255_is_refused() -> None:
    payload = cbor2.dumps({"lens": {"fStop": 0.9999999999999999}})  # the double 0x3fefffffffffffff
    assert b"\xff" * 6 in payload
    head = datagram(payload, encoding=CBOR)[:14]
    assert fletcher(head + payload, 255) != fletcher(head + payload)
    assert parse(datagram(payload, encoding=CBOR)).payload == payload
    with pytest.raises(StrictError, match="checksum"):
        parse(datagram(payload, encoding=CBOR, modulus=255))


@pytest.mark.parametrize("position", range(16 + 8))
def test_any_flipped_byte_is_refused(position: int) -> None:
    good = bytearray(datagram(b'{"a": 1}'))
    assert len(good) == 24
    good[position] ^= 0x01
    with pytest.raises(StrictError):
        parse(bytes(good))


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"magic": b"OTRK"}, "magic"),
        ({"encoding": 0x80}, "vendor"),
        ({"encoding": 0x03}, "encoding"),
        ({"length": 3}, "length"),
        ({"length": 1}, "length"),
    ],
)
def test_bad_header_with_a_valid_checksum_is_refused(kwargs: dict[str, Any], rule: str) -> None:
    with pytest.raises(StrictError, match=rule):
        parse(datagram(b"{}", **kwargs))


def test_short_datagram_and_empty_payload_are_refused() -> None:
    with pytest.raises(StrictError, match="header"):
        parse(PUBLISHED[:15])
    with pytest.raises(StrictError, match="no payload"):
        parse(datagram(b""))


def test_reserved_byte_is_ignored() -> None:
    assert receive_all([datagram(b"{}", reserved=0x5A)]) == [{}]


# --- segmentation -------------------------------------------------------------------------------------


def test_three_segments_numbered_per_datagram_reassemble() -> None:
    receiver = StrictReceiver()
    sent = segments(SAMPLE_JSON, 3, [65534, 65535, 0])  # numbering wraps inside the payload
    assert [receiver.feed(d) for d in sent] == [None, None, SAMPLE]
    receiver.feed(datagram(b"{}", sequence=1))
    assert receiver.samples == [SAMPLE, {}]
    assert receiver.segments_per_sample == [3, 1]
    assert receiver.numbering == "per-datagram"


def test_three_segments_with_one_number_per_payload_reassemble() -> None:
    receiver = StrictReceiver()
    for d in segments(SAMPLE_JSON, 3, [7, 7, 7]) + segments(SAMPLE_JSON, 3, [8, 8, 8]):
        receiver.feed(d)
    assert receiver.samples == [SAMPLE, SAMPLE]
    assert receiver.segments_per_sample == [3, 3]
    assert receiver.numbering == "per-payload"


def test_segments_out_of_order_within_a_payload_reassemble() -> None:
    first, middle, last = segments(SAMPLE_JSON, 3, [10, 11, 12])
    assert receive_all([last, first, middle]) == [SAMPLE]


def test_missing_middle_segment_is_reported_as_incomplete() -> None:
    first, _, last = segments(SAMPLE_JSON, 3, [0, 1, 2])
    receiver = StrictReceiver()
    assert receiver.feed(first) is None
    assert receiver.feed(last) is None
    assert receiver.samples == []
    with pytest.raises(StrictError, match="incomplete"):
        receive_all([first, last])
    with pytest.raises(StrictError, match="incomplete"):  # a new payload begins before the gap is filled
        receive_all([first, last, datagram(b"{}", sequence=3)])


def test_overlapping_segments_are_refused() -> None:
    first = datagram(SAMPLE_JSON[:100], sequence=0, offset=0, last=False)
    with pytest.raises(StrictError, match="overlaps"):
        receive_all([first, datagram(SAMPLE_JSON[90:], sequence=1, offset=90)])
    with pytest.raises(StrictError, match="overlaps"):
        receive_all([first, datagram(SAMPLE_JSON[50:150], sequence=1, offset=50, last=False)])
    with pytest.raises(StrictError, match="offset 0 again"):  # the same segment twice
        receive_all([first, datagram(SAMPLE_JSON[:100], sequence=1, offset=0, last=False)])


def test_bad_segment_layouts_are_refused() -> None:
    a, b, c = (SAMPLE_JSON[:100], SAMPLE_JSON[100:200], SAMPLE_JSON[200:])
    with pytest.raises(StrictError, match="two last segments"):
        receive_all([datagram(b, offset=100, sequence=1), datagram(c, offset=200, sequence=2)])
    with pytest.raises(StrictError, match="beyond the last segment"):
        receive_all([datagram(b, offset=100, sequence=1), datagram(c, offset=200, last=False, sequence=2)])
    with pytest.raises(StrictError, match="beyond the last segment"):
        receive_all([datagram(c, offset=200, last=False, sequence=2), datagram(b, offset=100, sequence=1)])
    with pytest.raises(StrictError, match="non-last segments"):
        receive_all([datagram(a, last=False), datagram(b[:50], offset=100, last=False, sequence=1)])
    with pytest.raises(StrictError, match="encoding"):
        rest = datagram(SAMPLE_JSON[100:], offset=100, encoding=CBOR, sequence=1)
        receive_all([datagram(a, last=False), rest])


def test_inconsistent_numbering_is_refused() -> None:
    with pytest.raises(StrictError, match="neither per datagram nor per payload"):
        receive_all(segments(SAMPLE_JSON, 3, [0, 1, 1]))
    with pytest.raises(StrictError, match="numbering changed"):
        receive_all(segments(SAMPLE_JSON, 3, [0, 1, 2]) + segments(SAMPLE_JSON, 3, [3, 3, 3]))
    with pytest.raises(StrictError, match="repeats"):  # camdkit's receiver would drop it as a duplicate
        receive_all([datagram(b"{}", sequence=5), datagram(b"{}", sequence=5)])


# --- payloads -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_json_numbers_are_refused(literal: bytes) -> None:
    with pytest.raises(StrictError, match="JSON"):
        receive_all([datagram(b'{"lens": {"fStop": ' + literal + b"}}")])


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (b'{"a": 1, "a": 2}', "duplicate"),
        (b"[]", "not an object"),
        (b'\xef\xbb\xbf{"a": 1}', "JSON"),  # a byte-order mark
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"a": "\\ud800"}', "UTF-8"),  # a lone surrogate
        (b'{"a": 1} x', "JSON"),
    ],
)
def test_bad_json_is_refused(payload: bytes, rule: str) -> None:
    with pytest.raises(StrictError, match=rule):
        receive_all([datagram(payload)])


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (cbor2.dumps({"a": float("nan")}), "finite"),
        (cbor2.dumps({"a": float("inf")}), "finite"),
        (cbor2.dumps({"a": b"\x00"}), "byte string"),
        (cbor2.dumps({"a": cbor2.CBORTag(1, 0)}), "tag"),
        (bytes.fromhex("a16161c24101"), "tag 2"),  # {"a": bignum 1}: cbor2 alone would give int 1
        (cbor2.dumps({1: "a"}), "map key at byte 1 is not a text string"),
        (bytes.fromhex("a161617f4161ff"), "chunk"),  # an indefinite text string with a byte-string chunk
        (bytes.fromhex("a1616162c328"), "not UTF-8"),
        (cbor2.dumps({"a": 1}) + b"\x00", "after the data item"),
        (bytes.fromhex("a2616101616102"), "Duplicate"),
        (bytes.fromhex("a16161f7"), "simple value"),  # undefined
        (cbor2.dumps(["a"]), "not an object"),
        (bytes.fromhex("a1616162"), "truncated"),
    ],
)
def test_bad_cbor_is_refused(payload: bytes, rule: str) -> None:
    with pytest.raises(StrictError, match=rule):
        receive_all([datagram(payload, encoding=CBOR)])


def test_indefinite_length_cbor_is_accepted() -> None:
    # {_ "a": (_ "xy", "z"), "b": [_ 1, 2]}
    payload = bytes.fromhex("bf" + "6161" + "7f" + "627879" + "617a" + "ff" + "6162" + "9f0102ff" + "ff")
    assert receive_all([datagram(payload, encoding=CBOR)]) == [{"a": "xyz", "b": [1, 2]}]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("encoding", [JSON, CBOR])
def test_camdkit_examples_are_accepted(path: Path, encoding: int) -> None:
    sample = example(path)
    payload = json.dumps(sample).encode() if encoding == JSON else cbor2.dumps(sample)
    assert receive_all([datagram(payload, encoding=encoding)]) == [sample]
    assert receive_all(segments(payload, 4, [9, 10, 11, 12], encoding)) == [sample]


@pytest.mark.parametrize(
    ("sample", "path", "words"),
    [
        ({"lens": {"fStop": 0}}, "$.lens.fStop", "less than or equal to the minimum"),
        ({"timing": {"timecode": {"hours": 1}}}, "$.timing.timecode", "'minutes' is a required property"),
        ({"lens": {"fStop": "2.8"}}, "$.lens.fStop", "is not of type 'number'"),
    ],
)
def test_schema_invalid_sample_is_refused_naming_the_path(
    sample: dict[str, Any], path: str, words: str
) -> None:
    for payload, encoding in ((json.dumps(sample).encode(), JSON), (cbor2.dumps(sample), CBOR)):
        with pytest.raises(StrictError, match="schema") as refused:
            receive_all([datagram(payload, encoding=encoding)])
        assert f"{path}: " in str(refused.value)
        assert words in str(refused.value)
