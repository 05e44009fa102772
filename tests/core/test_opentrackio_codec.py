"""OpenTrackIO datagrams and payloads: known vectors, errors with exact reasons, hostile input."""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    MAX_DEPTH,
    MAX_PAYLOAD_BYTES,
    Header,
    decode_payload,
    encode_datagram,
    encode_datagrams,
    encode_payload,
    fletcher16,
    parse_datagram,
)
from tests.support.cli import REPO

DATA = REPO / "tests" / "data" / "opentrackio"
#: The OpenTrackIO documentation's example: payload ``{}``, JSON, sequence 0, one segment.
EMPTY_JSON = bytes.fromhex("4f54726b000100000000000080020bfb7b7d")
FAST_S = 0.5  # hostile input must be rejected well within this


def _slow_fletcher(data: bytes) -> int:
    """The spec's reference code, transcribed: sum1, sum2 modulo 256, (sum2 << 8) | sum1."""
    sum1 = sum2 = 0
    for byte in data:
        sum1 = (sum1 + byte) % 256
        sum2 = (sum2 + sum1) % 256
    return (sum2 << 8) | sum1


def _example(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / "examples" / f"{name}.json").read_text())
    return result


def _rejected(reason: str, encoding: int, payload: bytes, words: str = "") -> None:
    start = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        decode_payload(encoding, payload)
    assert info.value.reason == reason, str(info.value)
    assert words in str(info.value)
    assert time.perf_counter() - start < FAST_S


# --- header and checksum ------------------------------------------------------------------------

def test_published_vector_encodes_and_decodes() -> None:
    assert encode_datagrams(b"{}", ENCODING_JSON, 0) == [EMPTY_JSON]
    header, payload = parse_datagram(EMPTY_JSON)
    assert header == Header(ENCODING_JSON, 0, 0, True, 2, 0x0BFB)
    assert payload == b"{}"
    assert decode_payload(header.encoding, payload) == {}


def test_checksum_bytes_are_sum2_then_sum1() -> None:
    # Byte 14 carries sum2 and byte 15 sum1, as camdkit's fletcher16 packs (sum2 << 8) | sum1.
    covered = EMPTY_JSON[:14] + EMPTY_JSON[16:]
    assert fletcher16(covered) == _slow_fletcher(covered) == 0x0BFB
    assert (EMPTY_JSON[14], EMPTY_JSON[15]) == (0x0B, 0xFB)


@pytest.mark.parametrize("size", [0, 1, 2, 63, 64, 65, 510, 511, 512, 1022, 1023, 1484, 32767])
def test_fletcher_matches_the_reference_loop(size: int) -> None:
    data = os.urandom(size)
    assert fletcher16(data) == _slow_fletcher(data)
    for extreme in (b"\xff" * size, b"\x00" * size, b"\x01\xfe" * (size // 2)):  # the sums' largest and edges
        assert fletcher16(extreme) == _slow_fletcher(extreme), (size, extreme[:2])
    datagram = encode_datagram(data, ENCODING_CBOR, 7)
    assert int.from_bytes(datagram[14:16], "big") == _slow_fletcher(datagram[:14] + data)


def test_header_fields_are_big_endian() -> None:
    datagram = encode_datagram(b"abc", ENCODING_CBOR, 0x1234, segment_offset=0x01020304, last_segment=False)
    assert datagram[:6] == b"OTrk\x00\x02"
    assert datagram[6:8] == b"\x12\x34" and datagram[8:12] == b"\x01\x02\x03\x04"
    assert datagram[12:14] == b"\x00\x03"  # last flag clear, length 3
    header, _ = parse_datagram(datagram)
    assert (header.sequence, header.segment_offset, header.last_segment) == (0x1234, 0x01020304, False)


def _with_checksum(head14: bytes, payload: bytes) -> bytes:
    return head14 + _slow_fletcher(head14 + payload).to_bytes(2, "big") + payload


@pytest.mark.parametrize(("datagram", "reason", "words"), [
    (b"", "length", "shorter than the 16-byte header"),
    (EMPTY_JSON[:15], "length", "shorter than the 16-byte header"),
    (EMPTY_JSON + b"x", "length", "header says 2 payload bytes, the datagram carries 3"),
    (EMPTY_JSON[:-1], "length", "header says 2 payload bytes, the datagram carries 1"),
    (b"OTrk" + bytes(65504), "length", "exceeds the UDP maximum 65507"),
    (b"OTrK" + EMPTY_JSON[4:], "magic", "b'OTrK'"),
    (_with_checksum(EMPTY_JSON[:5] + b"\x03" + EMPTY_JSON[6:14], b"{}"), "encoding", "0x03 is not a known"),
    (_with_checksum(EMPTY_JSON[:5] + b"\x80" + EMPTY_JSON[6:14], b"{}"), "encoding", "vendor-specific"),
    (EMPTY_JSON[:14] + b"\x0b\xfc" + b"{}", "checksum", "expected 0x0BFB, found 0x0BFC"),
    (EMPTY_JSON[:16] + b"{]", "checksum", "expected 0x"),
])
def test_bad_datagrams_say_what_is_wrong(datagram: bytes, reason: str, words: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_datagram(datagram)
    assert info.value.reason == reason
    assert words in str(info.value)


def test_reserved_byte_is_ignored() -> None:
    datagram = _with_checksum(EMPTY_JSON[:4] + b"\x7f" + EMPTY_JSON[5:14], b"{}")
    assert parse_datagram(datagram)[1] == b"{}"


def test_encode_refuses_what_the_header_cannot_carry() -> None:
    for bad in (lambda: encode_datagram(b"", 0x80, 0), lambda: encode_datagram(b"", 1, 65536),
                lambda: encode_datagram(bytes(32768), 1, 0), lambda: encode_datagrams(b"{}", 1, 0, mtu=16),
                lambda: encode_datagrams(bytes(MAX_PAYLOAD_BYTES + 1), 1, 0)):
        with pytest.raises(ValueError):
            bad()


def test_segmentation_follows_the_reference_sender() -> None:
    payload = os.urandom(5000)
    datagrams = encode_datagrams(payload, ENCODING_CBOR, 65534, mtu=1500)
    headers = [parse_datagram(d)[0] for d in datagrams]
    assert [h.segment_offset for h in headers] == [0, 1484, 2968, 4452]
    assert [h.payload_length for h in headers] == [1484, 1484, 1484, 548]
    assert [h.last_segment for h in headers] == [False, False, False, True]
    assert [h.sequence for h in headers] == [65534, 65535, 0, 1]  # one number per datagram, wrapping
    assert b"".join(parse_datagram(d)[1] for d in datagrams) == payload
    assert len(encode_datagrams(payload, ENCODING_CBOR, 0, mtu=1500 + 3000)) == 2
    assert len(encode_datagrams(b"", ENCODING_JSON, 0)) == 1


@given(payload=st.binary(max_size=3000), encoding=st.sampled_from([ENCODING_JSON, ENCODING_CBOR]),
       sequence=st.integers(0, 65535), mtu=st.integers(17, 2000))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_datagram_round_trip(payload: bytes, encoding: int, sequence: int, mtu: int) -> None:
    datagrams = encode_datagrams(payload, encoding, sequence, mtu)
    parsed = [parse_datagram(d) for d in datagrams]
    assert all(len(d) <= max(mtu, 16) for d in datagrams)
    assert b"".join(p for _, p in parsed) == payload
    assert [h.sequence for h, _ in parsed] == [(sequence + i) % 65536 for i in range(len(parsed))]
    assert [h.last_segment for h, _ in parsed] == [False] * (len(parsed) - 1) + [True]


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for datagram in (data, b"OTrk" + data):
        try:
            header, payload = parse_datagram(datagram)
        except DecodeError:
            continue
        with contextlib.suppress(DecodeError):
            decode_payload(header.encoding, payload)
    for encoding in (ENCODING_JSON, ENCODING_CBOR):
        with contextlib.suppress(DecodeError):
            decode_payload(encoding, data)


@given(st.data())
@settings(max_examples=300)
def test_mutated_datagrams_raise_only_decode_error(data: st.DataObject) -> None:
    example = _example("complete_static_example")
    encoding = data.draw(st.sampled_from([ENCODING_JSON, ENCODING_CBOR]))
    payload = bytearray(encode_payload(example, encoding))
    for _ in range(data.draw(st.integers(1, 8))):
        payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    datagram = encode_datagram(bytes(payload), encoding, 1)  # a valid header: the payload is what is hostile
    start = time.perf_counter()
    with contextlib.suppress(DecodeError):
        decode_payload(encoding, parse_datagram(datagram)[1])
    assert time.perf_counter() - start < FAST_S


# --- payloads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", [ENCODING_JSON, ENCODING_CBOR])
def test_payload_round_trip(encoding: int) -> None:
    example = _example("complete_static_example")
    assert decode_payload(encoding, encode_payload(example, encoding)) == example


def test_cbor_self_describe_prefix_is_accepted() -> None:
    assert decode_payload(ENCODING_CBOR, b"\xd9\xd9\xf7" + cbor2.dumps({"a": 1})) == {"a": 1}


def test_indefinite_length_cbor_is_accepted() -> None:
    # {"a": [1, "bc"]} with an indefinite map, array and text string.
    assert decode_payload(ENCODING_CBOR, bytes.fromhex("bf6161 9f01 7f6162 6163ff ff ff")) == {"a": [1, "bc"]}


@pytest.mark.parametrize(("encoding", "payload", "reason"), [
    (ENCODING_JSON, b'{"a": [1, }', "json"),
    (ENCODING_JSON, b'{"a": "\xff"}', "json"),
    (ENCODING_JSON, b"[1, 2]", "schema"),
    (ENCODING_JSON, b'"text"', "schema"),
    (ENCODING_JSON, b"1" * 5000, "json"),  # beyond Python's 4300-digit int limit
    (ENCODING_CBOR, b"", "cbor"),
    (ENCODING_CBOR, b"\xa1\x61", "cbor"),
    (ENCODING_CBOR, b"\xa0\x00", "cbor"),  # trailing bytes
    (ENCODING_CBOR, b"\xa1\x01\x02", "schema"),  # integer map key
    (ENCODING_CBOR, b"\x82\x01\x02", "schema"),
    (ENCODING_CBOR, bytes.fromhex("d81c81d81d00"), "cbor"),  # shared reference: a cycle
    (ENCODING_CBOR, bytes.fromhex("a16161c249010000000000000000"), "cbor"),  # bignum tag
    (ENCODING_CBOR, b"\xff", "cbor"),
    (ENCODING_CBOR, b"\xbf\x61a\xff", "cbor"),  # indefinite map: a key without a value
    (ENCODING_CBOR, b"\xa1\x61a\x1c", "cbor"),  # reserved additional information
    (ENCODING_CBOR, b"\xa1\x61a\x7f\x01\xff", "cbor"),  # an int chunk in a text string
    (0x03, b"{}", "encoding"),
])
def test_malformed_payloads(encoding: int, payload: bytes, reason: str) -> None:
    _rejected(reason, encoding, payload)


def test_deep_json_is_rejected_quickly() -> None:
    _rejected("too_deep", ENCODING_JSON, b"[" * 100_000 + b"]" * 100_000)
    _rejected("too_deep", ENCODING_JSON, b'{"a":' * 50_000)
    nested = b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH
    assert decode_payload(ENCODING_JSON, nested)["a"]  # exactly MAX_DEPTH levels is fine
    _rejected("too_deep", ENCODING_JSON, b"[" + nested + b"]")


def test_brackets_inside_json_strings_do_not_count() -> None:
    payload = b'{"notes": "' + b"[{" * 1000 + b'\\"]", "a": 1}'
    assert decode_payload(ENCODING_JSON, payload)["a"] == 1
    _rejected("json", ENCODING_JSON, b'{"a": "' + b'\\"[' * 30_000)  # unterminated: still linear


def test_deep_cbor_is_rejected_quickly() -> None:
    _rejected("too_deep", ENCODING_CBOR, b"\xa1\x61a" + b"\x81" * 100_000 + b"\x00")
    _rejected("too_deep", ENCODING_CBOR, b"\xa1\x61a" + b"\x9f" * 100_000)


@pytest.mark.parametrize("payload", [
    b"\x9b" + (2**60).to_bytes(8, "big"),                 # an array claiming 2**60 items
    b"\xa1\x61a\x9b" + (2**60).to_bytes(8, "big") + b"\x00",
    b"\xbb" + (2**62).to_bytes(8, "big"),                 # a map claiming 2**62 pairs
    b"\xa1\x61a\x7a" + (10_000_000).to_bytes(4, "big") + b"x",  # a 10 MB string claim
    b"\xa1\x61a\x5b" + (2**63).to_bytes(8, "big"),        # a 2**63-byte byte string claim
])
def test_huge_cbor_claims_are_rejected_quickly(payload: bytes) -> None:
    # Rejected by stagectl's own head scan ("declares"), before any decoder could allocate.
    _rejected("cbor", ENCODING_CBOR, payload, "declares")


@pytest.mark.parametrize("encoding", [ENCODING_JSON, ENCODING_CBOR])
def test_oversized_payload_is_rejected(encoding: int) -> None:
    _rejected("too_large", encoding, b" " * (MAX_PAYLOAD_BYTES + 1))


def test_encode_payload_refuses_nan() -> None:
    with pytest.raises(ValueError):
        encode_payload({"a": float("nan")}, ENCODING_JSON)
    with pytest.raises(ValueError):
        encode_payload({}, 0x05)
