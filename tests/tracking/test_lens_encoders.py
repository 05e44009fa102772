"""Tests of the lens encoder parsers (tracking.encoders.parsers): FIZ lines and Cooke /i replies.

The Cooke /i frames are built by hand from the layout in tracking/encoders/cooke.py, with every value worked
out in the comments; the manual's own examples are decoded as a cross-check.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.samples import LensReading
from tracking.encoders import cooke, fiz_line
from tracking.encoders.parsers import (
    CookeParser,
    FizLineParser,
    LensData,
    LensItem,
    LensNotice,
    LensReject,
    LineSplitter,
    make_parser,
)

# --- Cooke /i: hand-built frames -----------------------------------------------------------

# Packed binary: every data byte is 0x40 | six bits (bit 6 set), big-endian.
KD_FRAME = (
    b"d"
    b"\x40\x40\x67\x44"  # focus: 39 * 64 + 4 = 2500 mm
    b"\x44\x58"          # T x 100: 4 * 64 + 24 = 280 -> T2.8
    b"\x9c\x80"          # ring: 28 (T2.8 x 10), +0 tenths (bit 7 set, as the lens sends it)
    b"\x40\x72"          # zoom EFL: 50 mm
    b"\x40\x47\x4e\x60"  # hyperfocal: 7 * 4096 + 14 * 64 + 32 = 29600 mm
    b"\x40\x40\x65\x60"  # near: 37 * 64 + 32 = 2400 mm
    b"\x40\x40\x68\x72"  # far: 40 * 64 + 50 = 2610 mm
    b"\x44\x4e"          # field of view x 10: 4 * 64 + 14 = 270 -> 27.0 deg
    b"\x61\x55"          # entrance pupil: 0x61 = sign bit 5 set (negative), magnitude bits 9-6 = 1;
                         # 0x55 & 0x3F = 21 -> -(1 * 64 + 21) = -85 mm
    b"\x40\x40"          # normalised zoom: 0
    b"STEST00042"        # serial number
    b"\n\r"
)
KD_VALUES = LensData(focus_distance_m=2.5, t_stop=2.8, focal_length_mm=50.0, entrance_pupil_offset_m=-0.085)

# The same reading as an ASCII D reply, column for column.
D_REPLY = b"D0002500T0280t2.8+0Z0050H0029600N0002400F0002610V027.0E-085z0000STEST00042\n\r"

# An N reply of a 32 mm prime: "NS" + 9-char serial, "O" + 31-char owner, "LPN032M032", units, firmware.
N_PRIME = b"NSTEST00042O" + b"Stage A".ljust(31) + b"LPN032M032UbT92  B4.10\n\r"


def _frame(focus: int, t_x100: int, zoom: int, pupil: int, high: int = 0x40) -> bytes:
    """A d frame with the given fields (the rest zero), each byte ``high`` | six bits."""
    def packed(value: int, count: int) -> bytes:
        return bytes(high | (value >> (6 * (count - 1 - i))) & 0x3F for i in range(count))

    magnitude = abs(pupil)
    pupil_bytes = bytes([high | (0x20 if pupil < 0 else 0) | (magnitude >> 6), high | (magnitude & 0x3F)])
    return (b"d" + packed(focus, 4) + packed(t_x100, 2) + packed(0, 2) + packed(zoom, 2) + packed(0, 12)
            + packed(0, 2) + pupil_bytes + packed(0, 2) + b"SX\n\r")


def _readings(items: list[LensItem]) -> list[LensData]:
    return [i for i in items if isinstance(i, LensData)]


def test_hand_built_packed_binary_frame() -> None:
    assert len(KD_FRAME) == 41  # the manual's "typically 41 characters including termination"
    assert CookeParser().feed(KD_FRAME) == [KD_VALUES]
    built = _frame(2500, 280, 50, -85)  # the test's encoder agrees with the hand-built bytes
    for used in (slice(0, 7), slice(9, 11), slice(25, 27)):  # tag, focus, T; zoom; entrance pupil
        assert built[used] == KD_FRAME[used]


def test_hand_built_ascii_reply_decodes_like_the_binary_frame() -> None:
    assert CookeParser().feed(D_REPLY) == [KD_VALUES]


def test_data_bytes_with_bit_7_set_decode_the_same() -> None:
    assert CookeParser().feed(_frame(2500, 280, 50, -85, high=0xC0)) == [KD_VALUES]
    assert CookeParser().feed(_frame(2500, 280, 50, -85, high=0x80)) == [KD_VALUES]


def test_infinity_focus_and_zero_aperture_are_none() -> None:
    # 24 bits of ones = infinity; TT 0 = no aperture reading
    frame = b"d\x7f\x7f\x7f\x7f\x40\x40" + KD_FRAME[7:]
    assert CookeParser().feed(frame) == [KD_VALUES._replace(focus_distance_m=None, t_stop=None)]
    ascii_inf = D_REPLY.replace(b"D0002500", b"D   INF ")
    assert CookeParser().feed(ascii_inf) == [KD_VALUES._replace(focus_distance_m=None)]


def test_imperial_display_units_read_tenths_of_an_inch() -> None:
    # focus 15 * 64 + 40 = 1000 tenths = 100 in = 2.54 m; pupil -85 tenths = -8.5 in = -0.2159 m
    frame = _frame(1000, 280, 50, -85)
    (data,) = CookeParser(imperial=True).feed(frame)
    assert isinstance(data, LensData)
    assert data.focus_distance_m == pytest.approx(2.54)
    assert data.entrance_pupil_offset_m == pytest.approx(-0.2159)


def test_prime_takes_its_focal_length_from_the_n_reply() -> None:
    parser = CookeParser()
    prime = _frame(2500, 280, 0, 85)  # a prime reports zoom 0
    assert _readings(parser.feed(prime))[0].focal_length_mm is None  # not identified yet
    items = parser.feed(N_PRIME + prime)
    assert items[0] == LensNotice("lens", "/i prime 32 mm, serial TEST00042, firmware 4.10")
    assert items[1] == LensData(focus_distance_m=2.5, t_stop=2.8, focal_length_mm=32.0,
                                entrance_pupil_offset_m=0.085)
    assert parser.lens is not None and parser.lens.kind == "prime"


def test_zoom_n_reply() -> None:
    line = b"NSZOOM00001O" + b"".ljust(31) + b"LZN018M100UbT90  B4.10\n\r"
    expected = LensNotice("lens", "/i zoom 18-100 mm, serial ZOOM00001, firmware 4.10")
    assert CookeParser().feed(line) == [expected]


def test_the_manuals_examples_decode_to_the_same_values() -> None:
    # Cooke /i Technical Manual v3.0, 5.1.9 (C) and 5.1.10 (Kc): the same lens state, ASCII and
    # packed binary (the binary printed in cp1252: 0x8E, 0x88, 0xA2 are bytes with bit 7 set).
    ascii_reply = b"D0001021T0195t1.4+8Z0000H0290024N0001018F0001024V006.8E+098z0000S5/100-009\n\r"
    binary = "d@@O}CCŽˆ@@AFsh@@Oz@@P@ADA¢@@S5/100-009".encode("cp1252") + b"\n\r"
    expected = LensData(focus_distance_m=1.021, t_stop=1.95, entrance_pupil_offset_m=0.098)
    assert CookeParser().feed(ascii_reply) == [expected]
    assert CookeParser().feed(binary) == [expected]


def test_replies_that_are_not_readings() -> None:
    items = CookeParser().feed(b"<\n\r!\n\rB 4.10\n\r?\n\r^\n\r@\n\r+++<\n\r")
    assert [(type(i).__name__, i[0]) for i in items] == [
        ("LensNotice", "power_on"), ("LensNotice", "ack"), ("LensNotice", "ack"),
        ("LensReject", "lens_error"), ("LensReject", "lens_error"), ("LensReject", "lens_error"),
        ("LensNotice", "power_on")]


def test_cooke_garbage_short_frames_and_bad_bytes_are_rejected() -> None:
    bad_byte = bytearray(KD_FRAME)
    bad_byte[6] = 0x18  # neither bit 6 nor bit 7
    stream = (b"\x00\x01garbage\n\r" + KD_FRAME[:20] + b"\n\r" + bytes(bad_byte)
              + D_REPLY.replace(b"D0002500", b"D00x2500") + b"N short\n\r" + KD_FRAME)
    items = CookeParser().feed(stream)
    assert [i.reason for i in items if isinstance(i, LensReject)] == ["format", "length", "format", "value",
                                                                      "format"]
    assert _readings(items) == [KD_VALUES]
    assert "byte 6 is 0x18" in str(items[2])


def test_cooke_overlong_line_is_dropped_and_the_next_frame_read() -> None:
    parser = CookeParser()
    items = parser.feed(b"\xc0" * 500)
    assert [i.reason for i in items if isinstance(i, LensReject)] == ["too_long"]
    assert parser.pending == 0
    assert parser.feed(b"\xc0" * 100 + b"\n\r" + KD_FRAME) == [KD_VALUES]


# --- FIZ lines ------------------------------------------------------------------------------

@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_fiz_lines_with_each_line_end(end: bytes) -> None:
    parser = FizLineParser()
    items = parser.feed(b"FIZ 1200 -35 4095" + end + b"  FIZ\t-\t7 +8  " + end)
    assert items == [LensData(focus_raw=1200, iris_raw=-35, zoom_raw=4095),
                     LensData(focus_raw=None, iris_raw=7, zoom_raw=8)]
    assert (parser.lines, parser.rejected, parser.pending) == (2, 0, 0)


def test_fiz_half_lines_wait_for_their_end() -> None:
    parser = FizLineParser()
    assert parser.feed(b"FIZ 1 2") == []
    assert parser.flush() == [] and parser.pending == 7  # a quiet line does not cut it short
    assert parser.feed(b" 3") == []
    assert parser.feed(b"\r") == [LensData(1, 2, 3)]
    assert parser.feed(b"\n") == []  # the LF of CR LF is no second line


def test_fiz_garbage_is_rejected_with_reasons_and_counted() -> None:
    parser = FizLineParser()
    stream = (b"hello\nFIZ 1 2\nFIZ 1 2 3 4\nFIZ a 2 3\nFIZ 1 0x2 3\nFIZ 99999999999 1 1\n"
              b"FIZ 2147483648 0 0\nFIZ - - -\n" + b"Z" * 300 + b"\nfiz 1 2 3\nFIZ 4 5 6\n")
    items = parser.feed(stream)
    assert [i.reason for i in items if isinstance(i, LensReject)] == [
        "format", "format", "format", "value", "value", "value", "value", "empty", "too_long", "format"]
    assert _readings(items) == [LensData(4, 5, 6)]
    assert (parser.lines, parser.rejected) == (10, 10)
    first = items[0]
    assert isinstance(first, LensReject) and "not a FIZ line" in first.detail and "hello" in first.detail


def test_fiz_overlong_line_keeps_bounded_memory() -> None:
    parser = FizLineParser()
    for _ in range(100):
        parser.feed(b"9" * 1000)
        assert parser.pending <= fiz_line.MAX_LINE
    assert parser.feed(b"\nFIZ 1 2 3\n") == [LensData(1, 2, 3)]
    assert parser.rejected == 1


def test_make_parser_and_reading() -> None:
    assert isinstance(make_parser("cooke-i"), CookeParser)
    assert isinstance(make_parser("fiz-line"), FizLineParser)
    with pytest.raises(ValueError, match="not one of cooke-i, fiz-line"):
        make_parser("freed")
    assert LensData(1, 2, 3, 1.5).reading("A/lens", 42) == LensReading("A/lens", 42, 1, 2, 3, 1.5)


# --- properties -----------------------------------------------------------------------------

_axis = st.none() | st.integers(fiz_line.RAW_MIN, fiz_line.RAW_MAX)
_ends = st.sampled_from([b"\n", b"\r\n", b"\r"])


@given(st.lists(st.tuples(_axis, _axis, _axis, _ends), max_size=20))
def test_fiz_round_trip(lines: list[tuple[int | None, int | None, int | None, bytes]]) -> None:
    text = b"".join(b"FIZ " + b" ".join(b"-" if v is None else str(v).encode() for v in (f, i, z)) + end
                    for f, i, z, end in lines)
    expected = [LensData(f, i, z) if (f, i, z) != (None, None, None) else "empty" for f, i, z, _ in lines]
    got = [i.reason if isinstance(i, LensReject) else i for i in FizLineParser().feed(text)]
    assert got == expected


@given(st.integers(0, (1 << 24) - 2), st.integers(1, 4095), st.integers(0, 4095), st.integers(-1023, 1023),
       st.sampled_from([0x40, 0x80, 0xC0]))
def test_cooke_binary_round_trip(focus: int, t_x100: int, zoom: int, pupil: int, high: int) -> None:
    (data,) = CookeParser().feed(_frame(focus, t_x100, zoom, pupil, high))
    assert data == LensData(focus_distance_m=focus / 1000.0, t_stop=t_x100 / 100.0,
                            focal_length_mm=float(zoom) if zoom else None,
                            entrance_pupil_offset_m=pupil / 1000.0)


_FIZ_PIECES = [b"FIZ 1 2 3\n", b"FIZ - 5 -\r\n", b"FIZ x\n", b"\r", b"\n", b"F" * 200, b"FIZ 7 8"]
_COOKE_PIECES = [KD_FRAME, D_REPLY, N_PRIME, b"<\n\r", b"!\n\r", b"?\n\r", KD_FRAME[:30], b"\xc0" * 200]


def _stream(pieces: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(pieces) | st.binary(max_size=40), max_size=25).map(b"".join)


def _feed_in_chunks(parser: CookeParser | FizLineParser, data: bytes, cuts: list[int]) -> list[LensItem]:
    items: list[LensItem] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        items += parser.feed(data[start:cut])
        items += parser.flush()
        start = cut
    return items


@pytest.mark.parametrize(("protocol", "pieces"), [("fiz-line", _FIZ_PIECES), ("cooke-i", _COOKE_PIECES)])
@settings(max_examples=150)
@given(data=st.data())
def test_any_chunking_gives_the_same_items(protocol: str, pieces: list[bytes], data: st.DataObject) -> None:
    stream = data.draw(_stream(pieces))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    whole = make_parser(protocol).feed(stream)
    assert _feed_in_chunks(make_parser(protocol), stream, cuts) == whole
    assert _feed_in_chunks(make_parser(protocol), stream, list(range(len(stream)))) == whole


@pytest.mark.parametrize("protocol", ["fiz-line", "cooke-i"])
@given(chunks=st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_raise_and_memory_stays_bounded(protocol: str, chunks: list[bytes]) -> None:
    parser = make_parser(protocol)
    limit = cooke.MAX_LINE if protocol == "cooke-i" else fiz_line.MAX_LINE
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, LensData | LensReject | LensNotice)
        assert parser.pending <= limit


@given(st.binary(max_size=400), st.integers(1, 64))
def test_line_splitter_keeps_at_most_max_line(data: bytes, max_line: int) -> None:
    splitter = LineSplitter(max_line)
    for line in splitter.feed(data):
        assert isinstance(line, LensReject) or (0 < len(line) <= max_line and b"\r" not in line
                                                and b"\n" not in line)
    assert splitter.pending <= max_line
