"""A strict OSC 1.0 decoder for the control-in server, and the encoder of its replies.

Why not python-osc's parser (``pythonosc.osc_packet.OscPacket``, 1.10.2) on a port any desk can
reach: a bundle element with a negative size makes it loop forever; nested bundles recurse
until ``RecursionError``; an unknown type tag is logged to the root logger (per message, not
rate-limited) and skipped, which shifts every later argument; bytes after the arguments are
ignored. Here every length is checked against what is left, nesting and message counts are
bounded, and every failure is one :class:`~stagectl.core.errors.DecodeError` whose ``reason`` is a
stable word and whose message says where the packet went wrong.

Decoded arguments keep their OSC type tag (:class:`OscMessage.type_tags`), so handlers can say
"argument 1 is a string (s), expected a number". Supported tags: the OSC 1.0 ``i f s b`` and the
common extensions ``h d t S c r m T F N I`` and arrays ``[ ]`` (one level). python-osc and liblo
(``oscsend``) are the independent encoders the tests use against this decoder.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from stagectl.core.errors import DecodeError
from stagectl.core.osc import encode_message

#: Bundles inside bundles deeper than this are refused (a packet is a few KiB; nothing needs more).
MAX_DEPTH = 4
#: Messages in one packet (all bundle levels together).
MAX_MESSAGES = 64
#: Arguments in one message.
MAX_ARGUMENTS = 64
#: Longest text sent back in a reply (characters); longer texts end with "...".
MAX_REPLY_TEXT = 400

OscArg = int | float | str | bytes | bool | None | tuple["OscArg", ...]
"""One decoded argument: i/h/t/r -> int, f/d -> float, s/S/c -> str, b/m -> bytes, T/F -> bool,
N/I -> None, an array -> tuple."""

_BUNDLE = b"#bundle\x00"
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT64 = struct.Struct(">q")
_UINT64 = struct.Struct(">Q")
_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")
_FIXED: dict[str, tuple[struct.Struct, int]] = {
    "i": (_INT32, 4), "f": (_FLOAT32, 4), "h": (_INT64, 8), "d": (_FLOAT64, 8),
    "t": (_UINT64, 8), "r": (_UINT32, 4),
}
_NO_DATA: dict[str, OscArg] = {"T": True, "F": False, "N": None, "I": None}
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True, slots=True)
class OscMessage:
    """One decoded message: its address, one type tag per argument and the arguments.

    ``type_tags`` has exactly one character per argument: an array argument (a tuple) is ``[``.
    """

    address: str
    type_tags: str
    args: tuple[OscArg, ...]


def decode_packet(data: bytes) -> list[OscMessage]:
    """The messages of one datagram (a message, or a bundle's messages in order, depth first).

    Bundle timetags are not kept: the control server runs every message at once, in order.
    Raises DecodeError (reason ``empty``, ``truncated``, ``string``, ``type_tag``, ``bundle``,
    ``limit`` or ``trailing``) with a message saying what and where.
    """
    if not data:
        raise DecodeError("empty", "empty datagram")
    out: list[OscMessage] = []
    _decode_element(data, 0, out)
    return out


def _decode_element(data: bytes, depth: int, out: list[OscMessage]) -> None:
    if data.startswith(_BUNDLE):
        _decode_bundle(data, depth, out)
    elif data[:1] == b"/":
        if len(out) >= MAX_MESSAGES:
            raise DecodeError("limit", f"more than {MAX_MESSAGES} messages in one packet")
        out.append(_decode_message(data))
    else:
        what = "bundle element" if depth else "packet"
        raise DecodeError("bundle", f"{what} starts with {data[:8]!r}: neither '/address' nor '#bundle'")


def _decode_bundle(data: bytes, depth: int, out: list[OscMessage]) -> None:
    if depth >= MAX_DEPTH:
        raise DecodeError("limit", f"bundles nested deeper than {MAX_DEPTH}")
    if len(data) < 16:
        raise DecodeError("truncated", f"bundle of {len(data)} bytes has no complete timetag")
    offset = 16
    while offset < len(data):
        if offset + 4 > len(data):
            raise DecodeError("truncated", f"bundle element size at byte {offset} is cut off")
        (size,) = _INT32.unpack_from(data, offset)
        offset += 4
        if size <= 0 or size % 4 or offset + size > len(data):
            raise DecodeError("bundle", f"bundle element at byte {offset - 4} declares {size} bytes "
                                        f"({len(data) - offset} left; sizes are positive multiples of 4)")
        _decode_element(data[offset:offset + size], depth + 1, out)
        offset += size


def _read_string(data: bytes, offset: int, what: str) -> tuple[str, int]:
    end = data.find(b"\x00", offset)
    if end < 0:
        raise DecodeError("string", f"{what} at byte {offset} has no terminating NUL")
    following = (end + 4) & ~3
    if following > len(data):
        raise DecodeError("truncated", f"{what} at byte {offset} is not padded to 4 bytes")
    try:
        return data[offset:end].decode("utf-8"), following
    except UnicodeDecodeError:
        raise DecodeError("string", f"{what} at byte {offset} is not UTF-8") from None


def _decode_message(data: bytes) -> OscMessage:
    address, offset = _read_string(data, 0, "address")
    if offset == len(data):  # no type tag string at all: an old-style message without arguments
        return OscMessage(address, "", ())
    if data[offset:offset + 1] != b",":
        raise DecodeError("type_tag", f"{address}: type tag string must start with ',' "
                                      f"(got {data[offset:offset + 4]!r})")
    tags, offset = _read_string(data, offset, "type tag string")
    tags = tags[1:]
    if len(tags) > MAX_ARGUMENTS:
        raise DecodeError("limit", f"{address}: {len(tags)} arguments (at most {MAX_ARGUMENTS})")
    args: list[OscArg] = []
    arg_tags: list[str] = []
    array: list[OscArg] | None = None
    for tag in tags:
        if tag == "[":
            if array is not None:
                raise DecodeError("type_tag", f"{address}: nested arrays are not supported")
            array = []
            continue
        if tag == "]":
            if array is None:
                raise DecodeError("type_tag", f"{address}: ']' without '[' in type tags {tags!r}")
            args.append(tuple(array))
            arg_tags.append("[")
            array = None
            continue
        what = f"{address}: argument {len(args) + 1} ({tag})"
        value, offset = _read_argument(data, offset, tag, what)
        if array is not None:
            array.append(value)
        else:
            args.append(value)
            arg_tags.append(tag)
    if array is not None:
        raise DecodeError("type_tag", f"{address}: '[' without ']' in type tags {tags!r}")
    if offset != len(data):
        raise DecodeError("trailing", f"{address}: {len(data) - offset} bytes after the arguments "
                                      f"(type tags {tags!r} do not describe the data)")
    return OscMessage(address, "".join(arg_tags), tuple(args))


def _read_argument(data: bytes, offset: int, tag: str, what: str) -> tuple[OscArg, int]:
    fixed = _FIXED.get(tag)
    if fixed is not None:
        layout, size = fixed
        if offset + size > len(data):
            raise DecodeError("truncated", f"{what} needs {size} bytes, {len(data) - offset} left")
        return layout.unpack_from(data, offset)[0], offset + size
    if tag in _NO_DATA:
        return _NO_DATA[tag], offset
    if tag in "sS":
        return _read_string(data, offset, what)
    if tag == "c":
        if offset + 4 > len(data):
            raise DecodeError("truncated", f"{what} needs 4 bytes, {len(data) - offset} left")
        code = _UINT32.unpack_from(data, offset)[0]
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise DecodeError("string", f"{what} is not a character (code {code})")
        return chr(code), offset + 4
    if tag == "m":
        if offset + 4 > len(data):
            raise DecodeError("truncated", f"{what} needs 4 bytes, {len(data) - offset} left")
        return bytes(data[offset:offset + 4]), offset + 4
    if tag == "b":
        if offset + 4 > len(data):
            raise DecodeError("truncated", f"{what}: blob size is cut off")
        (size,) = _INT32.unpack_from(data, offset)
        start = offset + 4
        following = start + ((size + 3) & ~3)
        if size < 0 or following > len(data):
            raise DecodeError("truncated", f"{what}: blob of {size} bytes, {len(data) - start} left")
        return bytes(data[start:start + size]), following
    raise DecodeError("type_tag", f"{what}: unknown type tag {tag!r}")


# --- replies ------------------------------------------------------------------------------------

def _clip(text: str) -> str:
    text = text.replace("\x00", "")
    return text if len(text) <= MAX_REPLY_TEXT else text[:MAX_REPLY_TEXT - 3] + "..."


def encode_reply(address: str, ok: bool, text: str) -> bytes:
    """``/stagectl/reply ,sss <address> ok|error <text>`` (texts clipped, NULs removed)."""
    return encode_message("/stagectl/reply", _clip(address), "ok" if ok else "error", _clip(text))


def state_address(key: str, root: str = "/stagectl/state/") -> str:
    """``/stagectl/state/<key>``: the key percent-encoded where OSC forbids a character (space, #, *, ...)."""
    return root + quote(key.replace("\x00", ""), safe="/-._~:@!$&'()+;=")


def state_value(value: object) -> float | int | str | bool | None:
    """``value`` as something OSC carries (T/F, int32, float32, string); None when it cannot be sent.

    Integers outside int32 travel as floats; floats that are NaN, infinite or beyond float32 do
    not travel at all (the caller counts and logs them).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT32_MIN <= value <= _INT32_MAX else state_value(float(value))
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= _FLOAT32_MAX else None
    if isinstance(value, str):
        return _clip(value)
    return None


def encode_state(state: Mapping[str, object]) -> tuple[list[bytes], list[str]]:
    """One ``/stagectl/state/<key> <value>`` message per key, and the keys whose values cannot be sent."""
    messages: list[bytes] = []
    skipped: list[str] = []
    for key, value in state.items():
        wire = state_value(value)
        if wire is None or not key:
            skipped.append(key)
            continue
        messages.append(encode_message(state_address(key), wire))
    return messages, skipped
