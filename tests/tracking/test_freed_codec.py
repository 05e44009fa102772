"""Tests of tracking.freed.codec: the D1/D0 codec against the reference packets in PROTOCOLS.md."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.errors import DecodeError
from tracking.freed.codec import (
    CMD_POLL_POSITION,
    CMD_START_STREAM,
    CMD_STOP_STREAM,
    FreeDCommand,
    FreeDPosition,
    checksum,
    decode,
    decode_d0,
    decode_d1,
    encode_d0,
    encode_d1,
)

# The two known-good packets of PROTOCOLS.md (FreeD section) with their published values.
PACKET_1 = bytes.fromhex("d100df78aa0047ef000000000000000000000000004000001501d1ff12")
PACKET_2 = bytes.fromhex("d1002198d8ffeb940000000000000000000000000028c60013b9d1ffd6")
S24 = (-(1 << 23), (1 << 23) - 1)

GOOD = FreeDPosition(camera_id=3, pan_deg=12.5, tilt_deg=-3.25, roll_deg=0.5, x_mm=1500.0,
                     y_mm=-2250.5, z_mm=1725.0, zoom=1000, focus=2000, spare=0x1234)


def _reason(exc_info: pytest.ExceptionInfo[DecodeError]) -> str:
    return exc_info.value.reason


def _with_checksum(body: bytes) -> bytes:
    return body + bytes(((0x40 - sum(body)) % 256,))


# --- known-good packets ------------------------------------------------------------------------

def test_packet_1_decodes_to_published_values() -> None:
    pos = decode_d1(PACKET_1)
    assert pos.camera_id == 0
    assert pos.pan_deg == pytest.approx(-65.05731, abs=1e-5)
    assert pos.tilt_deg == pytest.approx(0.5619812, abs=1e-5)
    assert pos.roll_deg == 0.0
    assert (pos.x_mm, pos.y_mm, pos.z_mm) == (0.0, 0.0, 0.0)
    assert (pos.zoom, pos.focus, pos.spare) == (16384, 5377, 0xD1FF)
    # Exactly: pan bytes DF78AA are 0xDF78AA - 2**24 = -2131798 units of 1/32768 degree.
    assert pos.pan_deg == -2131798 / 32768
    assert pos.tilt_deg == 0x47EF / 32768


def test_packet_2_decodes_to_published_values() -> None:
    pos = decode_d1(PACKET_2)
    assert pos.camera_id == 0
    assert pos.pan_deg == pytest.approx(67.19409, abs=1e-5)
    assert pos.tilt_deg == pytest.approx(-0.1595459, abs=1e-5)
    assert pos.roll_deg == 0.0
    assert (pos.x_mm, pos.y_mm, pos.z_mm) == (0.0, 0.0, 0.0)
    assert (pos.zoom, pos.focus, pos.spare) == (10438, 5049, 0xD1FF)
    assert pos.tilt_deg == -5228 / 32768  # FFEB94 = -0x146C


@pytest.mark.parametrize("packet", [PACKET_1, PACKET_2], ids=["packet1", "packet2"])
def test_known_packets_reencode_to_the_same_bytes(packet: bytes) -> None:
    assert encode_d1(decode_d1(packet)) == packet
    assert decode(packet) == decode_d1(packet)


def test_encode_hand_built_packet() -> None:
    pos = FreeDPosition(camera_id=7, pan_deg=1.0, tilt_deg=-1.0, roll_deg=0.5, x_mm=1.0, y_mm=-1.0,
                        z_mm=2.0, zoom=0x123456, focus=0xABCDEF, spare=0xBEEF)
    body = bytes.fromhex("d107" "008000" "ff8000" "004000" "000040" "ffffc0" "000080"
                         "123456" "abcdef" "beef")
    assert encode_d1(pos) == _with_checksum(body)


# --- checksum ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (b"", 0x40),
    (bytes((0x01, 0x02, 0x03)), 0x3A),            # 0x40 - 6
    (bytes((0xFF, 0xFF)), 0x42),                  # 0x40 - 0x1FE = -0x1BE = 0x42 mod 256
    (bytes((0xD0, 0xFF, 0xD1)), 0xA0),            # 64 - 672 = -608 = 160 mod 256
    (bytes((0x40,)), 0x00),
])
def test_checksum_hand_worked(data: bytes, expected: int) -> None:
    assert checksum(data) == expected


def test_known_packets_carry_their_checksum() -> None:
    assert checksum(PACKET_1[:28]) == 0x12
    assert checksum(PACKET_2[:28]) == 0xD6


# --- decode errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("length", [28, 30, 0, 1, 4])
def test_wrong_length_is_rejected(length: int) -> None:
    data = (PACKET_1 + bytes(10))[:length]
    with pytest.raises(DecodeError) as info:
        decode_d1(data)
    assert _reason(info) == "length"
    assert str(length) in str(info.value)
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert _reason(info) == "length"


@pytest.mark.parametrize("kind", [0xD2, 0xDB, 0x00, 0xD0, 0xFF])
def test_wrong_type_byte_is_rejected(kind: int) -> None:
    data = _with_checksum(bytes((kind,)) + PACKET_1[1:28])
    with pytest.raises(DecodeError) as info:
        decode_d1(data)
    assert _reason(info) == "type"
    assert f"0x{kind:02X}" in str(info.value)


def test_decode_dispatches_a_29_byte_d2_to_a_type_error() -> None:
    with pytest.raises(DecodeError) as info:
        decode(_with_checksum(b"\xd2" + PACKET_1[1:28]))
    assert _reason(info) == "type"


@pytest.mark.parametrize("delta", [1, 0x80, 0xFF])
def test_wrong_checksum_names_expected_and_found(delta: int) -> None:
    found = (0x12 + delta) % 256
    with pytest.raises(DecodeError) as info:
        decode_d1(PACKET_1[:28] + bytes((found,)))
    assert _reason(info) == "checksum"
    m = re.search(r"expected 0x([0-9A-Fa-f]{2}),? found 0x([0-9A-Fa-f]{2})", str(info.value))
    assert m is not None, str(info.value)
    assert (int(m[1], 16), int(m[2], 16)) == (0x12, found)


def test_corrupt_payload_byte_fails_checksum() -> None:
    data = bytearray(PACKET_2)
    data[10] ^= 0x01
    with pytest.raises(DecodeError) as info:
        decode_d1(bytes(data))
    assert _reason(info) == "checksum"


# --- encode range errors -----------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"pan_deg": 300.0}, {"pan_deg": 256.0}, {"tilt_deg": -256.01}, {"pan_deg": math.nan},
    {"roll_deg": math.inf}, {"x_mm": -math.inf}, {"pan_deg": 1e308}, {"z_mm": 131072.0},
    {"zoom": -1}, {"zoom": 2 ** 24}, {"focus": 2 ** 24}, {"spare": 0x10000},
    {"camera_id": 256}, {"camera_id": -1}, {"camera_id": True}, {"zoom": True}, {"zoom": 1.0},
], ids=repr)
def test_encode_out_of_range_raises_range(change: dict[str, object]) -> None:
    with pytest.raises(DecodeError) as info:
        encode_d1(GOOD._replace(**change))
    assert _reason(info) == "range"


def test_encode_range_boundaries_are_accepted() -> None:
    top = GOOD._replace(pan_deg=S24[1] / 32768, tilt_deg=S24[0] / 32768, x_mm=S24[1] / 64,
                              z_mm=S24[0] / 64, zoom=2 ** 24 - 1, focus=0, spare=0xFFFF, camera_id=255)
    data = encode_d1(top)
    assert data[2:5] == b"\x7f\xff\xff"
    assert data[5:8] == b"\x80\x00\x00"
    assert decode_d1(data) == top


def test_encode_rounds_to_nearest_unit() -> None:
    data = encode_d1(GOOD._replace(pan_deg=1.4 / 32768, x_mm=-2.6 / 64))
    assert int.from_bytes(data[2:5], "big", signed=True) == 1
    assert int.from_bytes(data[11:14], "big", signed=True) == -3


# --- D0 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("camera_id", "command", "wire"), [
    (1, CMD_START_STREAM, "d001016e"),   # 0x40 - 0xD2 = 0x6E
    (0xFF, CMD_POLL_POSITION, "d0ffd1a0"),
    (0, CMD_STOP_STREAM, "d0000070"),     # 0x40 - 0xD0 = 0x70
])
def test_d0_encode_and_decode(camera_id: int, command: int, wire: str) -> None:
    data = encode_d0(camera_id, command)
    assert data.hex() == wire
    assert decode_d0(data) == FreeDCommand(camera_id, command)
    assert decode(data) == FreeDCommand(camera_id, command)


def test_d0_errors() -> None:
    with pytest.raises(DecodeError) as info:
        decode_d0(bytes.fromhex("d001016f"))
    assert _reason(info) == "checksum"
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("d00101"))
    assert _reason(info) == "length"
    with pytest.raises(DecodeError) as info:
        encode_d0(256, 1)
    assert _reason(info) == "range"


# --- properties --------------------------------------------------------------------------------

s24 = st.integers(*S24)
u24 = st.integers(0, (1 << 24) - 1)


@given(cam=st.integers(0, 255), pan=s24, tilt=s24, roll=s24, x=s24, y=s24, z=s24, zoom=u24, focus=u24,
       spare=st.integers(0, 0xFFFF))
def test_round_trip_of_integer_units(cam: int, pan: int, tilt: int, roll: int, x: int, y: int, z: int,
                                     zoom: int, focus: int, spare: int) -> None:
    a, mm = 32768, 64
    pos = FreeDPosition(cam, pan / a, tilt / a, roll / a, x / mm, y / mm, z / mm, zoom, focus, spare)
    data = encode_d1(pos)
    assert len(data) == 29 and data[0] == 0xD1 and data[1] == cam
    fields = [int.from_bytes(data[o:o + 3], "big", signed=True) for o in range(2, 20, 3)]
    assert fields == [pan, tilt, roll, x, y, z]
    assert (sum(data) - 0x40) % 256 == 0
    assert decode_d1(data) == pos
    assert decode(data) == pos


@given(body=st.binary(min_size=28, max_size=28))
def test_any_d1_body_with_valid_checksum_round_trips(body: bytes) -> None:
    data = _with_checksum(b"\xd1" + body[1:])
    assert encode_d1(decode_d1(data)) == data


def _decode_or_decode_error(data: bytes) -> None:
    for fn in (decode, decode_d1, decode_d0):
        try:
            fn(data)
        except DecodeError as exc:
            assert exc.reason in {"length", "type", "checksum"}


@given(st.binary(max_size=64))
def test_arbitrary_bytes_only_raise_decode_error(data: bytes) -> None:
    _decode_or_decode_error(data)


@given(st.binary(min_size=28, max_size=28).map(lambda b: b"\xd1" + b))
def test_arbitrary_d1_frames_only_raise_decode_error(data: bytes) -> None:
    _decode_or_decode_error(data)
    _decode_or_decode_error(bytearray(data))
