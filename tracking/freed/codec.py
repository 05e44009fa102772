"""Vinten free-d protocol codec: D1 camera position messages and D0 commands.

Byte for byte after the free-d manual v1.4.4, appendix A (see docs/PROTOCOLS notes in the
shared reference): big-endian, 24-bit signed angles in 1/32768 degree, 24-bit signed positions
in 1/64 mm, 24-bit unsigned zoom and focus counts, 16 spare bits, and a checksum
``(0x40 - sum of all preceding bytes) mod 256``.

Values here are in FreeD's own units and axes; coords.freed_to_internal converts.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from stagectl.core.errors import DecodeError

D1 = 0xD1
D0 = 0xD0
D1_LENGTH = 29
D0_LENGTH = 4
BROADCAST_ID = 0xFF

ANGLE_UNITS_PER_DEG = 32768
POSITION_UNITS_PER_MM = 64
_S24_MIN, _S24_MAX = -(1 << 23), (1 << 23) - 1
_U24_MAX = (1 << 24) - 1
_SIGN = 1 << 23

#: D0 command bytes (poll / stream control).
CMD_STOP_STREAM = 0x00
CMD_START_STREAM = 0x01
CMD_POLL_POSITION = 0xD1

MESSAGE_NAMES = {0xD0: "D0 command", 0xD1: "D1 position", 0xD2: "D2 status", 0xDB: "DB diagnostic"}


def checksum(data: bytes | bytearray | memoryview) -> int:
    """The free-d checksum of ``data`` (all bytes before the checksum byte)."""
    return (0x40 - sum(data)) & 0xFF


class FreeDPosition(NamedTuple):
    """A decoded D1 message in FreeD units: degrees, millimetres, raw encoder counts.

    A NamedTuple rather than a dataclass: it is built once per datagram on the hot path, and
    tuple construction is several times cheaper than a frozen dataclass's ``__init__``.
    """

    camera_id: int
    pan_deg: float
    tilt_deg: float
    roll_deg: float
    x_mm: float
    y_mm: float
    z_mm: float
    zoom: int
    focus: int
    spare: int = 0


class FreeDCommand(NamedTuple):
    """A D0 command: ``D0 camera_id command checksum``."""

    camera_id: int
    command: int


def _check_frame(data: bytes | bytearray | memoryview, kind: int, length: int) -> None:
    if len(data) != length:
        raise DecodeError("length", f"{MESSAGE_NAMES[kind]} must be {length} bytes, got {len(data)}")
    if data[0] != kind:
        name = MESSAGE_NAMES.get(data[0], "unknown message")
        raise DecodeError("type", f"expected message type 0x{kind:02X}, got 0x{data[0]:02X} ({name})")
    expected = checksum(data[:length - 1])
    if data[length - 1] != expected:
        raise DecodeError(
            "checksum", f"checksum expected 0x{expected:02X}, found 0x{data[length - 1]:02X}"
        )


def _position(data: bytes | bytearray | memoryview) -> FreeDPosition:
    """The fields of a D1 message already checked (type, length, checksum)."""
    # Bytes 2..25 are eight 24-bit fields: read them as one 192-bit integer and shift them out,
    # about three times faster than eight int.from_bytes calls. (x ^ 0x800000) - 0x800000 sign-
    # extends a 24-bit two's-complement value.
    v = int.from_bytes(data[2:26], "big")
    return FreeDPosition(
        data[1],
        (((v >> 168) & _U24_MAX ^ _SIGN) - _SIGN) / ANGLE_UNITS_PER_DEG,
        (((v >> 144) & _U24_MAX ^ _SIGN) - _SIGN) / ANGLE_UNITS_PER_DEG,
        (((v >> 120) & _U24_MAX ^ _SIGN) - _SIGN) / ANGLE_UNITS_PER_DEG,
        (((v >> 96) & _U24_MAX ^ _SIGN) - _SIGN) / POSITION_UNITS_PER_MM,
        (((v >> 72) & _U24_MAX ^ _SIGN) - _SIGN) / POSITION_UNITS_PER_MM,
        (((v >> 48) & _U24_MAX ^ _SIGN) - _SIGN) / POSITION_UNITS_PER_MM,
        (v >> 24) & _U24_MAX,
        v & _U24_MAX,
        (data[26] << 8) | data[27],
    )


def decode_d1(data: bytes | bytearray | memoryview) -> FreeDPosition:
    """Decode one 29-byte D1 message; raises DecodeError (reason length|type|checksum)."""
    _check_frame(data, D1, D1_LENGTH)
    return _position(data)


def _fixed(value: float, scale: int, field: str) -> int:
    if not math.isfinite(value):
        raise DecodeError("range", f"{field} is {value}, not a finite number")
    scaled = value * scale  # may overflow to inf for huge finite values (1e308 deg)
    units = round(scaled) if math.isfinite(scaled) else None
    if units is None or not _S24_MIN <= units <= _S24_MAX:
        lo, hi = _S24_MIN / scale, _S24_MAX / scale
        raise DecodeError("range", f"{field} = {value} is outside FreeD's range {lo:g}..{hi:g}")
    return units


def _unsigned(value: int, maximum: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise DecodeError("range", f"{field} = {value!r} must be an integer 0..{maximum}")
    return value


def encode_d1(pos: FreeDPosition) -> bytes:
    """Encode a D1 message; raises DecodeError(reason 'range') for values FreeD cannot carry."""
    out = bytearray(D1_LENGTH)
    out[0] = D1
    out[1] = _unsigned(pos.camera_id, 0xFF, "camera_id")
    fields = (
        (pos.pan_deg, ANGLE_UNITS_PER_DEG, "pan"), (pos.tilt_deg, ANGLE_UNITS_PER_DEG, "tilt"),
        (pos.roll_deg, ANGLE_UNITS_PER_DEG, "roll"), (pos.x_mm, POSITION_UNITS_PER_MM, "x"),
        (pos.y_mm, POSITION_UNITS_PER_MM, "y"), (pos.z_mm, POSITION_UNITS_PER_MM, "z"),
    )
    for i, (value, scale, name) in enumerate(fields):
        offset = 2 + 3 * i
        out[offset:offset + 3] = _fixed(value, scale, name).to_bytes(3, "big", signed=True)
    out[20:23] = _unsigned(pos.zoom, _U24_MAX, "zoom").to_bytes(3, "big")
    out[23:26] = _unsigned(pos.focus, _U24_MAX, "focus").to_bytes(3, "big")
    out[26:28] = _unsigned(pos.spare, 0xFFFF, "spare").to_bytes(2, "big")
    out[28] = checksum(out[:28])
    return bytes(out)


def encode_d0(camera_id: int, command: int) -> bytes:
    """Encode a 4-byte D0 command (e.g. CMD_START_STREAM) for ``camera_id`` (0xFF = all)."""
    body = bytes((D0, _unsigned(camera_id, 0xFF, "camera_id"), _unsigned(command, 0xFF, "command")))
    return body + bytes((checksum(body),))


def decode_d0(data: bytes | bytearray | memoryview) -> FreeDCommand:
    """Decode a 4-byte D0 command; raises DecodeError (reason length|type|checksum)."""
    _check_frame(data, D0, D0_LENGTH)
    return FreeDCommand(camera_id=data[1], command=data[2])


def decode(data: bytes | bytearray | memoryview) -> FreeDPosition | FreeDCommand:
    """Decode a D1 or D0 message by its type byte."""
    if not data:
        raise DecodeError("length", "empty message")
    if data[0] == D0:
        return decode_d0(data)
    return decode_d1(data)


#: Well-formed FreeD messages that are not positions: refused as ``type``, not ``length``.
OTHER_MESSAGE_LENGTHS = {0xD0: 4, 0xD2: 16, 0xDB: 4}


def decode_d1_datagram(data: bytes | bytearray | memoryview) -> FreeDPosition:
    """A datagram that should hold one D1 message: checked for size before anything is parsed.

    DecodeError reason ``type`` for another whole FreeD message (D0, D2, DB), ``length`` for any other
    size, else :func:`decode_d1`'s."""
    size = len(data)
    if size == D1_LENGTH and data[0] == D1 and data[28] == (0x40 - sum(data[:28])) & 0xFF:
        return _position(data)  # a well-formed D1 (nearly every datagram): decode_d1 without its checks
    if size != D1_LENGTH:
        if size and OTHER_MESSAGE_LENGTHS.get(data[0]) == size:
            raise DecodeError("type", f"{MESSAGE_NAMES[data[0]]} message; only D1 (0xD1) carries a camera "
                                      "position")
        raise DecodeError("length", f"{size} bytes; a D1 position message is {D1_LENGTH}")
    return decode_d1(data)
