"""OpenTrackIO reassembly: segments in order, reversed, lost, repeated, hostile; bounded memory."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    Header,
    Reassembler,
    encode_datagrams,
    parse_datagram,
)
from stagectl.core.opentrackio.datagram import encode_datagram
from stagectl.core.opentrackio.reassembly import Numbering

MS = 1_000_000
PAYLOAD = os.urandom(5000)  # four segments at MTU 1500


def _segments(payload: bytes = PAYLOAD, sequence: int = 100, mtu: int = 1500,
              encoding: int = ENCODING_CBOR) -> list[tuple[Header, bytes]]:
    return [parse_datagram(d) for d in encode_datagrams(payload, encoding, sequence, mtu)]


def _shared_sequence(payload: bytes, sequence: int, mtu: int = 1500) -> list[tuple[Header, bytes]]:
    """Segments that all carry one sequence number (a sender that numbers payloads)."""
    step = mtu - 16
    offsets = range(0, len(payload), step)
    return [parse_datagram(encode_datagram(payload[o:o + step], ENCODING_JSON, sequence, o,
                                           o + step >= len(payload)))
            for o in offsets]


def _feed_all(reassembler: Reassembler, segments: list[tuple[Header, bytes]], now_ns: int = 0) -> list[bytes]:
    return [p for p in (reassembler.feed(h, s, now_ns) for h, s in segments) if p is not None]


def test_single_segment_passes_straight_through() -> None:
    reassembler = Reassembler()
    (header, payload), = _segments(b"{}", 7)
    assert reassembler.feed(header, payload, 0) == b"{}"
    assert (reassembler.completed_sequence, reassembler.completed_segments) == (7, 1)
    assert reassembler.pending == 0


def test_in_order() -> None:
    reassembler = Reassembler()
    segments = _segments()
    assert len(segments) == 4
    assert [reassembler.feed(h, s, 0) for h, s in segments] == [None, None, None, PAYLOAD]
    assert (reassembler.completed_sequence, reassembler.completed_segments) == (100, 4)
    assert reassembler.pending == 0 and reassembler.discarded == 0


@pytest.mark.parametrize("order", ["reversed", "shuffled", "last_first"])
def test_out_of_order(order: str) -> None:
    segments = _segments(sequence=65534)  # the numbers wrap inside the payload
    if order == "reversed":
        segments.reverse()
    elif order == "shuffled":
        random.Random(4).shuffle(segments)
    else:
        segments.insert(0, segments.pop())
    reassembler = Reassembler()
    assert _feed_all(reassembler, segments) == [PAYLOAD]
    assert reassembler.completed_sequence == 65534
    assert reassembler.pending == 0 and reassembler.discarded == 0


def test_duplicates_are_ignored() -> None:
    segments = _segments()
    reassembler = Reassembler()
    doubled = [segments[0], segments[1], segments[1], segments[0], segments[2], segments[3], segments[3]]
    assert _feed_all(reassembler, doubled) == [PAYLOAD]
    assert reassembler.duplicates == 3
    single = _segments(b"{}", 300)[0]
    assert reassembler.feed(*single, 0) == b"{}"
    assert reassembler.feed(*single, 0) is None  # the same message twice is processed once


def test_missing_segment_is_discarded_and_counted_when_a_newer_payload_completes() -> None:
    reassembler = Reassembler()
    lost = _segments(sequence=100)
    del lost[2]
    assert _feed_all(reassembler, lost) == []
    assert reassembler.pending == 1
    assert _feed_all(reassembler, _segments(b"next", 104)) == [b"next"]
    assert reassembler.pending == 0 and reassembler.discarded == 1


def test_missing_first_segment_then_timeout() -> None:
    reassembler = Reassembler(timeout_ns=100 * MS)
    assert _feed_all(reassembler, _segments()[1:], now_ns=0) == []
    assert reassembler.pending == 1
    reassembler.expire(100 * MS)
    assert reassembler.pending == 1  # not yet older than the timeout
    reassembler.expire(101 * MS)
    assert reassembler.pending == 0 and reassembler.discarded == 1


def test_lone_last_segment_counts_once() -> None:
    reassembler = Reassembler()
    assert reassembler.feed(*_segments()[-1], 0) is None
    reassembler.expire(10**9)
    assert reassembler.discarded == 1


def test_numbering_per_payload() -> None:
    segments = _shared_sequence(PAYLOAD, 9)
    assert {h.sequence for h, _ in segments} == {9}
    for ordered in (segments, segments[::-1]):
        reassembler = Reassembler(numbering="per_payload")
        assert _feed_all(reassembler, ordered) == [PAYLOAD]
    # The default (reference) numbering cannot join them: they stay incomplete, nothing is invented.
    default = Reassembler()
    assert _feed_all(default, segments) == []


def test_flood_of_never_completed_sets_stays_bounded() -> None:
    reassembler = Reassembler(max_pending=4)
    first_segment = _segments()[0][1]
    for i in range(20_000):
        header = Header(ENCODING_CBOR, (i * 4) % 65536, 0, False, len(first_segment), i)
        assert reassembler.feed(header, first_segment, i) is None
        assert reassembler.pending <= 4
    assert reassembler.buffered_bytes <= 4 * len(first_segment)
    assert reassembler.discarded == 20_000 - 4


def test_flood_of_distinct_last_segments_stays_bounded() -> None:
    reassembler = Reassembler(max_pending=3)
    for i in range(5000):
        header = Header(ENCODING_JSON, i % 65536, 1484 * (1 + i % 7), True, 100, i)
        reassembler.feed(header, bytes(100), 0)
        assert reassembler.pending <= 3


def test_too_large() -> None:
    reassembler = Reassembler(max_payload_bytes=4000)
    header = Header(ENCODING_CBOR, 1, 3000, True, 1484, 0)
    with pytest.raises(DecodeError) as info:
        reassembler.feed(header, bytes(1484), 0)
    assert info.value.reason == "too_large"
    with pytest.raises(DecodeError) as info:
        Reassembler().feed(Header(ENCODING_CBOR, 1, 2**32 - 2, False, 1000, 0), bytes(1000), 0)
    assert info.value.reason == "too_large"


def _reason(reassembler: Reassembler, header: Header, payload: bytes) -> str:
    with pytest.raises(DecodeError) as info:
        reassembler.feed(header, payload, 0)
    return info.value.reason


def test_inconsistent_segments_are_rejected_and_the_set_dropped() -> None:
    segments = _segments()
    reassembler = Reassembler()
    reassembler.feed(*segments[0], 0)
    reassembler.feed(*segments[1], 0)
    # A different segment at the same place (same sequence, another checksum).
    header, payload = segments[1]
    assert _reason(reassembler, header._replace(checksum=header.checksum ^ 1), payload[::-1]) == "segment"
    assert reassembler.pending == 0 and reassembler.discarded == 1
    # A non-last segment of another length in the same payload.
    reassembler = Reassembler()
    reassembler.feed(*segments[0], 0)
    odd = Header(ENCODING_CBOR, 101, 1484, False, 1484, 1)
    assert _reason(reassembler, odd, bytes(742) * 3) == "segment"
    # Offsets that are not multiples of the segment length (per-datagram numbering needs them).
    assert _reason(Reassembler(), Header(ENCODING_CBOR, 5, 100, False, 300, 0), bytes(300)) == "segment"
    # Two last segments disagreeing about the payload's end.
    reassembler = Reassembler(numbering="per_payload")
    reassembler.feed(Header(ENCODING_JSON, 3, 1000, True, 10, 0), bytes(10), 0)
    assert _reason(reassembler, Header(ENCODING_JSON, 3, 2000, True, 10, 1), bytes(10)) == "segment"
    # Overlapping segments.
    reassembler = Reassembler(numbering="per_payload")
    reassembler.feed(Header(ENCODING_JSON, 3, 0, False, 100, 0), bytes(100), 0)
    assert _reason(reassembler, Header(ENCODING_JSON, 3, 50, False, 100, 1), bytes(100)) == "segment"
    # A segment beyond the end the last segment set.
    reassembler = Reassembler(numbering="per_payload")
    reassembler.feed(Header(ENCODING_JSON, 3, 100, True, 50, 0), bytes(50), 0)
    assert _reason(reassembler, Header(ENCODING_JSON, 3, 200, False, 100, 1), bytes(100)) == "segment"


def test_encodings_do_not_mix() -> None:
    json_segments = _segments(encoding=ENCODING_JSON)
    cbor_segments = _segments(encoding=ENCODING_CBOR)
    reassembler = Reassembler()
    mixed = [json_segments[0], cbor_segments[1], json_segments[2], cbor_segments[3]]
    assert _feed_all(reassembler, mixed) == []


@given(st.binary(min_size=1, max_size=6000), st.integers(0, 65535), st.integers(200, 1600),
       st.randoms(use_true_random=False))
@settings(max_examples=150)
def test_any_payload_any_order(payload: bytes, sequence: int, mtu: int, rng: random.Random) -> None:
    segments = _segments(payload, sequence, mtu)
    rng.shuffle(segments)
    reassembler = Reassembler(max_pending=16)
    assert _feed_all(reassembler, segments + segments[:2]) == [payload]
    assert reassembler.pending == 0 and reassembler.discarded == 0


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 8), st.booleans(), st.integers(0, 300)),
                max_size=40))
@settings(max_examples=300)
def test_hostile_segments_raise_only_decode_error(specs: list[tuple[int, int, bool, int]]) -> None:
    numberings: tuple[Numbering, ...] = ("per_datagram", "per_payload")
    for numbering in numberings:
        reassembler = Reassembler(numbering=numbering, max_payload_bytes=2000)
        for i, (seq, slot, last, length) in enumerate(specs):
            header = Header(ENCODING_JSON, seq, slot * 250, last, length, i)
            try:
                result = reassembler.feed(header, bytes([i % 256]) * length, i * MS)
            except DecodeError as exc:
                assert exc.reason in ("segment", "too_large")
                continue
            if result is not None:
                assert len(result) <= 2000
            assert reassembler.pending <= reassembler.max_pending
