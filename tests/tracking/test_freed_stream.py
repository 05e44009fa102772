"""Tests of tracking.freed.stream: finding FreeD frames in a byte stream with garbage in it."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from tracking.freed.codec import (
    CMD_START_STREAM,
    D1,
    D1_LENGTH,
    FreeDPosition,
    checksum,
    decode_d1,
    encode_d0,
    encode_d1,
)
from tracking.freed.stream import MAX_PENDING, RUN_REPORT_BYTES, FreeDStreamParser, StreamItem, StreamReject


def _frame(body: bytes) -> bytes:
    """A valid D1 frame from 27 bytes of camera id, payload and spare."""
    data = bytes((D1,)) + body
    return data + bytes((checksum(data),))


def _position(camera_id: int = 1, pan: float = 12.5) -> bytes:
    return encode_d1(FreeDPosition(camera_id, pan, -3.25, 0.5, 1500.0, -2250.5, 1725.0, 1000, 2000, 0x1234))


GOOD = [_position(pan=p) for p in (10.0, 20.0, 30.0, 40.0)]


def _parse(chunks: list[bytes]) -> tuple[list[StreamItem], FreeDStreamParser]:
    parser = FreeDStreamParser()
    items: list[StreamItem] = []
    for chunk in chunks:
        items += parser.feed(chunk)
        assert parser.pending <= MAX_PENDING
    items += parser.flush()
    return items, parser


def _positions(items: list[StreamItem]) -> list[FreeDPosition]:
    return [i for i in items if isinstance(i, FreeDPosition)]


def _rejects(items: list[StreamItem]) -> list[StreamReject]:
    return [i for i in items if isinstance(i, StreamReject)]


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos = [], 0
    for size in sizes:
        chunks.append(data[pos:pos + size])
        pos += size
    chunks.append(data[pos:])
    return chunks


def _accounted(items: list[StreamItem], parser: FreeDStreamParser, total: int) -> bool:
    """Every byte of the stream is in exactly one frame, one reject, or the pending tail."""
    framed = D1_LENGTH * len(_positions(items)) + sum(r.skipped for r in _rejects(items))
    return framed + parser.pending == total


# --- hand-built streams ------------------------------------------------------------------------

def test_clean_stream_yields_every_frame_in_order() -> None:
    items, parser = _parse([b"".join(GOOD)])
    assert items == [decode_d1(f) for f in GOOD]
    assert parser.pending == 0


def test_frames_split_byte_by_byte() -> None:
    data = b"".join(GOOD)
    items, _ = _parse([data[i:i + 1] for i in range(len(data))])
    assert items == [decode_d1(f) for f in GOOD]


def test_garbage_run_is_reported_once_with_its_length() -> None:
    items, _ = _parse([GOOD[0] + bytes(range(100)) + GOOD[1]])  # contains no 0xD0/0xD1
    assert [type(i) for i in items] == [FreeDPosition, StreamReject, FreeDPosition]
    reject = items[1]
    assert isinstance(reject, StreamReject)
    assert (reject.reason, reject.skipped) == ("sync", 100)
    assert reject.detail.startswith("skipped 100 bytes looking for a D1 frame (00 01 02 03 04 05 06 07 ...)")


def test_joining_mid_frame_skips_the_tail_as_sync() -> None:
    items, _ = _parse([GOOD[0][11:] + GOOD[1]])
    assert items == [StreamReject("sync", items[0].detail, 18), decode_d1(GOOD[1])]  # type: ignore[union-attr]


def test_half_frame_between_good_frames_is_sync() -> None:
    items, _ = _parse([GOOD[0] + GOOD[1][:15] + GOOD[2]])
    assert _positions(items) == [decode_d1(GOOD[0]), decode_d1(GOOD[2])]
    assert [(r.reason, r.skipped) for r in _rejects(items)] == [("sync", 15)]


def test_corrupt_frame_is_one_checksum_reject_and_cannot_swallow_the_next() -> None:
    corrupt = bytearray(GOOD[1])
    corrupt[5] = D1  # a 0xD1 inside the corrupt frame, as well as a wrong checksum
    corrupt[9] ^= 0x40
    items, _ = _parse([GOOD[0] + bytes(corrupt) + GOOD[2]])
    assert _positions(items) == [decode_d1(GOOD[0]), decode_d1(GOOD[2])]
    rejects = _rejects(items)
    assert [(r.reason, r.skipped) for r in rejects] == [("checksum", D1_LENGTH)]
    assert "D1 checksum expected" in rejects[0].detail


def test_d1_byte_in_garbage_right_before_a_frame_does_not_swallow_it() -> None:
    for garbage in (b"\xd1", b"\x00\xd1\x01", b"\xd1" * 28, b"\xd1" * 40):
        items, _ = _parse([GOOD[0] + garbage + GOOD[1]])
        assert _positions(items) == [decode_d1(GOOD[0]), decode_d1(GOOD[1])], garbage.hex()
        assert [r.skipped for r in _rejects(items)] == [len(garbage)]


def test_d0_echo_is_skipped_as_type() -> None:
    echo = encode_d0(0xFF, CMD_START_STREAM)
    items, _ = _parse([GOOD[0] + echo + GOOD[1]])
    assert _positions(items) == [decode_d1(GOOD[0]), decode_d1(GOOD[1])]
    assert [(r.reason, r.skipped) for r in _rejects(items)] == [("type", 4)]
    assert "d0 ff 01 70" in _rejects(items)[0].detail


def test_d0_that_would_overlap_a_frame_start_is_not_taken() -> None:
    # D0 D1 01 9E is a valid D0 command, but its 0xD1 starts a frame (camera 1, pan byte 0x9E).
    frame = _frame(bytes((1, 0x9E)) + bytes(25))
    assert checksum(b"\xd0" + frame[:2]) == frame[2]
    items, _ = _parse([GOOD[0] + b"\xd0" + frame])
    assert _positions(items) == [decode_d1(GOOD[0]), decode_d1(frame)]
    assert [(r.reason, r.skipped) for r in _rejects(items)] == [("sync", 1)]


def test_flush_reports_an_idle_run_but_keeps_a_partial_frame() -> None:
    parser = FreeDStreamParser()
    assert parser.feed(b"\x00\x01\x02" + GOOD[0][:10]) == []
    assert parser.pending == 10
    flushed = parser.flush()
    assert [(r.reason, r.skipped) for r in _rejects(flushed)] == [("sync", 3)]
    assert parser.flush() == []
    assert parser.feed(GOOD[0][10:]) == [decode_d1(GOOD[0])]


def test_endless_garbage_is_reported_while_it_lasts() -> None:
    parser = FreeDStreamParser()
    items: list[StreamItem] = []
    for _ in range(10):
        items += parser.feed(bytes(RUN_REPORT_BYTES // 2))  # a wrong baud rate: no frame ever
    assert [(r.reason, r.skipped) for r in _rejects(items)] == [("sync", RUN_REPORT_BYTES)] * 5


def test_all_d1_bytes_stay_bounded_and_linear() -> None:
    parser = FreeDStreamParser()
    items = parser.feed(b"\xd1" * 100_000)
    assert parser.pending == MAX_PENDING
    items += parser.flush()
    assert _positions(items) == []
    assert sum(r.skipped for r in _rejects(items)) == 100_000 - MAX_PENDING


# --- properties --------------------------------------------------------------------------------

frames = st.binary(min_size=27, max_size=27).map(_frame)
biased_byte = st.sampled_from([0xD0, 0xD1, 0x00, 0xFF, 0x01, 0x70]) | st.integers(0, 255)
garbage = st.one_of(
    st.binary(max_size=40),
    st.lists(biased_byte, max_size=40).map(bytes),
    frames.flatmap(lambda f: st.integers(1, D1_LENGTH - 1).map(lambda n: f[:n])),  # half frames
    frames.flatmap(lambda f: st.integers(1, D1_LENGTH - 1).map(  # corrupt frames
        lambda i: f[:i] + bytes(((f[i] + 1) % 256,)) + f[i + 1:])),
    st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda t: encode_d0(*t)),  # D0 echoes
)


def _accidental_frame(stream: bytes, spans: list[tuple[int, int]]) -> bool:
    """True when a 0xD1 inside garbage starts 29 bytes with a valid checksum (1 in 256 each):
    a frame to any FreeD receiver, so no framer can be asked to skip it."""
    for start, end in spans:
        for i in range(start, end):
            if stream[i] == D1 and i + D1_LENGTH <= len(stream) \
                    and stream[i + D1_LENGTH - 1] == checksum(stream[i:i + D1_LENGTH - 1]):
                return True
    return False


@given(st.lists(st.tuples(garbage, frames), max_size=12), garbage, st.lists(st.integers(0, 64), max_size=30))
def test_every_frame_survives_garbage_in_any_chunking(pairs: list[tuple[bytes, bytes]], tail: bytes,
                                                      sizes: list[int]) -> None:
    stream, spans = b"", []
    for junk, frame in pairs:
        spans.append((len(stream), len(stream) + len(junk)))
        stream += junk + frame
    spans.append((len(stream), len(stream) + len(tail)))
    stream += tail
    assume(not _accidental_frame(stream, spans))

    whole, parser = _parse([stream])
    assert _positions(whole) == [decode_d1(f) for _, f in pairs]
    assert _accounted(whole, parser, len(stream))
    assert {r.reason for r in _rejects(whole)} <= {"sync", "checksum", "type"}

    chunked, parser = _parse(_split(stream, sizes))
    assert chunked == whole
    assert _accounted(chunked, parser, len(stream))


@given(st.lists(st.binary(max_size=200) | st.lists(biased_byte, max_size=200).map(bytes), max_size=20))
def test_random_bytes_never_raise_and_stay_bounded(chunks: list[bytes]) -> None:
    items, parser = _parse(chunks)
    assert _accounted(items, parser, sum(map(len, chunks)))
    for item in _rejects(items):
        assert item.skipped > 0 and item.reason in {"sync", "checksum", "type"}
