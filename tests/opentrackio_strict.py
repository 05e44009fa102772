"""A strict OpenTrackIO receiver for tests, written from the published spec and JSON schema only.

Independent of stagectl (imports nothing from ``tracking``/``stagectl``) and stricter than camdkit's
reference receiver: every datagram must be well formed, every payload must reassemble exactly, decode
as RFC 8259 JSON or as a CBOR map that JSON could represent, and validate against the schema.

Header (16 bytes, big-endian): ``OTrk``, reserved (ignored), encoding (0x01 JSON, 0x02 CBOR), u16
sequence number, u32 segment offset, u16 last-segment flag (bit 15) | payload length, u16 Fletcher-16
with modulus 256 over header bytes 0-13 then the payload (byte 14 = sum2, byte 15 = sum1).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cbor2
import jsonschema

SCHEMA = Path(__file__).parent / "data" / "opentrackio" / "schema.json"
HEADER = struct.Struct(">4sBBHIHH")
MAGIC = b"OTrk"
JSON, CBOR = 0x01, 0x02
Numbering = Literal["per-datagram", "per-payload"]


class StrictError(AssertionError):
    """A datagram or payload a strict receiver refuses; the message says which rule."""


def fletcher16_256(data: bytes) -> int:
    sum1 = sum2 = 0
    for b in data:
        sum1 = (sum1 + b) % 256
        sum2 = (sum2 + sum1) % 256
    return (sum2 << 8) | sum1


@dataclass(frozen=True)
class Datagram:
    encoding: int
    sequence: int
    offset: int
    last: bool
    payload: bytes


def parse(datagram: bytes) -> Datagram:
    """One datagram's header checked and split off; raises StrictError naming the broken rule."""
    if len(datagram) < HEADER.size:
        raise StrictError(f"header: {len(datagram)} bytes, shorter than the {HEADER.size}-byte header")
    magic, _reserved, encoding, sequence, offset, flag_length, checksum = HEADER.unpack_from(datagram)
    if magic != MAGIC:
        raise StrictError(f"magic: {magic!r} is not {MAGIC!r}")
    if encoding >= 0x80:
        raise StrictError(f"encoding: 0x{encoding:02x} is vendor-specific, not OpenTrackIO JSON or CBOR")
    if encoding not in (JSON, CBOR):
        raise StrictError(f"encoding: 0x{encoding:02x} is neither 0x01 (JSON) nor 0x02 (CBOR)")
    length, payload = flag_length & 0x7FFF, datagram[HEADER.size :]
    if length != len(payload):
        raise StrictError(f"length: header says {length} payload bytes, the datagram carries {len(payload)}")
    expected = fletcher16_256(datagram[:14] + payload)
    if checksum != expected:
        hint = " (byte-swapped)" if checksum == ((expected & 0xFF) << 8 | expected >> 8) else ""
        raise StrictError(f"checksum: 0x{checksum:04x} != Fletcher-16 mod 256 0x{expected:04x}{hint}")
    if not payload:
        raise StrictError("length: the datagram carries no payload bytes")
    return Datagram(encoding, sequence, offset, bool(flag_length & 0x8000), payload)


@dataclass
class _Pending:
    """The segments of one payload received so far, by offset."""

    encoding: int
    parts: dict[int, Datagram] = field(default_factory=dict)
    end: int | None = None  # the payload's length, once its last segment arrived

    def received(self) -> int:
        return sum(len(d.payload) for d in self.parts.values())

    def describe(self) -> str:
        spans = ", ".join(f"[{o}, {o + len(d.payload)})" for o, d in sorted(self.parts.items()))
        total = "last segment not received" if self.end is None else f"payload is {self.end} bytes"
        return f"have {spans}; {total}"


class StrictReceiver:
    """Feed datagrams in arrival order; get complete, schema-valid samples out.

    Segments of one payload may arrive in any order, but payloads must not interleave. The numbering
    (one sequence number per datagram, or one per payload) is worked out from the first segmented
    payload and must not change afterwards.
    """

    def __init__(self, schema_path: Path | None = None) -> None:
        schema = json.loads((schema_path or SCHEMA).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        self._validator = jsonschema.Draft202012Validator(schema)
        self._pending: _Pending | None = None
        self._previous_sequence: int | None = None
        self.numbering: Numbering | None = None
        self.samples: list[dict[str, Any]] = []
        self.segments_per_sample: list[int] = []

    def feed(self, datagram: bytes) -> dict[str, Any] | None:
        """The decoded, validated sample when a payload completes, else None; StrictError if refused."""
        d = parse(datagram)
        pending = self._pending
        if pending is None:
            if d.sequence == self._previous_sequence:
                raise StrictError(f"sequence: a new payload repeats the last datagram's number {d.sequence}")
            pending = _Pending(d.encoding)
        self._add(pending, d)
        self._previous_sequence = d.sequence
        if pending.end is None or pending.received() != pending.end:
            self._pending = pending
            return None
        self._pending = None
        self._check_numbering(pending)
        payload = b"".join(d.payload for _, d in sorted(pending.parts.items()))
        sample = self.validate(decode(payload, pending.encoding))
        self.samples.append(sample)
        self.segments_per_sample.append(len(pending.parts))
        return sample

    def finish(self) -> None:
        """Raises StrictError if a payload was left incomplete."""
        if self._pending is not None:
            raise StrictError(f"incomplete: a payload never completed ({self._pending.describe()})")

    def validate(self, sample: dict[str, Any]) -> dict[str, Any]:
        errors = sorted(self._validator.iter_errors(sample), key=lambda e: (e.json_path, e.message))
        if errors:
            raise StrictError("schema: " + "; ".join(f"{e.json_path}: {e.message}" for e in errors))
        return sample

    @staticmethod
    def _add(pending: _Pending, d: Datagram) -> None:
        if d.encoding != pending.encoding:
            raise StrictError(f"encoding: 0x{d.encoding:02x} within a 0x{pending.encoding:02x} payload")
        start, stop = d.offset, d.offset + len(d.payload)
        for other in pending.parts.values():
            if other.offset < stop and start < other.offset + len(other.payload):
                if start == other.offset == 0:
                    raise StrictError(
                        f"incomplete: offset 0 again before the payload completed ({pending.describe()})"
                    )
                raise StrictError(
                    f"segments: [{start}, {stop}) overlaps [{other.offset}, "
                    f"{other.offset + len(other.payload)})"
                )
        if d.last:
            if pending.end is not None:
                raise StrictError(f"segments: two last segments (ending at {pending.end} and {stop})")
            if any(other.offset >= stop for other in pending.parts.values()):
                raise StrictError(f"segments: a segment lies beyond the last segment's end {stop}")
            pending.end = stop
        elif pending.end is not None and stop > pending.end:
            raise StrictError(f"segments: [{start}, {stop}) lies beyond the last segment's end {pending.end}")
        lengths = {len(o.payload) for o in pending.parts.values() if not o.last}
        if not d.last and lengths and lengths != {len(d.payload)}:
            raise StrictError(f"segments: non-last segments of {sorted(lengths)} and {len(d.payload)} bytes")
        pending.parts[start] = d

    def _check_numbering(self, pending: _Pending) -> None:
        numbers = [d.sequence for _, d in sorted(pending.parts.items())]
        if len(numbers) < 2:
            return
        mode: Numbering
        if all(n == numbers[0] for n in numbers):
            mode = "per-payload"
        elif all(n == (numbers[0] + i) % 0x10000 for i, n in enumerate(numbers)):
            mode = "per-datagram"
        else:
            raise StrictError(f"sequence: segments numbered {numbers}, neither per datagram nor per payload")
        if self.numbering not in (None, mode):
            raise StrictError(f"sequence: numbering changed from {self.numbering} to {mode}")
        self.numbering = mode


def decode(payload: bytes, encoding: int) -> dict[str, Any]:
    """A reassembled payload as a JSON object; StrictError if it is not one (or not valid JSON/CBOR)."""
    value: Any
    if encoding == JSON:
        value = _decode_json(payload)
    else:
        _scan_cbor(payload)
        try:
            value = cbor2.loads(payload, allow_duplicate_keys=False)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise StrictError(f"CBOR: {exc}") from exc
    _check_json_value(value, "$")
    if not isinstance(value, dict):
        raise StrictError(f"payload: a {type(value).__name__}, not an object")
    return value


def _decode_json(payload: bytes) -> Any:
    def constant(name: str) -> Any:
        raise StrictError(f"JSON: {name} is not a JSON value (RFC 8259)")

    def finite(text: str) -> float:
        if not math.isfinite(number := float(text)):
            raise StrictError(f"JSON: {text} does not fit a double")
        return number

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        sample = dict(pairs)
        if len(sample) != len(pairs):
            names = [name for name, _ in pairs]
            raise StrictError(f"JSON: duplicate names {sorted({n for n in names if names.count(n) > 1})}")
        return sample

    try:
        text = payload.decode("utf-8")
        return json.loads(text, parse_constant=constant, parse_float=finite, object_pairs_hook=unique)
    except UnicodeDecodeError as exc:
        raise StrictError(f"JSON: not UTF-8 ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise StrictError(f"JSON: {exc}") from exc


def _check_json_value(value: Any, path: str) -> None:
    """Refuses anything JSON cannot carry: non-finite numbers, lone surrogates, non-text keys, other types."""
    if isinstance(value, float) and not math.isfinite(value):
        raise StrictError(f"value: {path} is {value}, not a finite number")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StrictError(f"value: {path} is not encodable as UTF-8 ({exc})") from exc
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_value(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StrictError(f"value: {path} has a non-text key {key!r}")
            _check_json_value(key, path)
            _check_json_value(item, f"{path}.{key}")
    elif value is not None and not isinstance(value, bool | int | float):
        raise StrictError(f"value: {path} is a {type(value).__name__}, which JSON cannot represent")


def _scan_cbor(data: bytes) -> None:
    """Checks one well-formed CBOR item with JSON's data model only (no tags, byte strings, simple values,
    non-text keys) and nothing after it: cbor2 would convert or ignore these silently."""
    end = _cbor_item(data, 0)
    if end != len(data):
        raise StrictError(f"CBOR: {len(data) - end} bytes after the data item")


def _cbor_head(data: bytes, pos: int) -> tuple[int, int, int | None, int]:
    if pos >= len(data):
        raise StrictError("CBOR: truncated data item")
    major, info = data[pos] >> 5, data[pos] & 0x1F
    if info < 24:
        return major, info, info, pos + 1
    if info <= 27:
        n = 1 << (info - 24)
        if pos + 1 + n > len(data):
            raise StrictError("CBOR: truncated data item")
        return major, info, int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), pos + 1 + n
    if info == 31 and major in (2, 3, 4, 5, 7):
        return major, info, None, pos + 1
    raise StrictError(f"CBOR: malformed head 0x{data[pos]:02x} at byte {pos}")


def _cbor_item(data: bytes, pos: int) -> int:
    start = pos
    major, info, arg, pos = _cbor_head(data, pos)
    if major in (0, 1):
        return pos
    if major == 2:
        raise StrictError(f"CBOR: byte string at byte {start}, which JSON cannot represent")
    if major == 6:
        raise StrictError(f"CBOR: tag {arg} at byte {start}, which JSON cannot represent")
    if major == 7:
        if info in (20, 21, 22, 25, 26, 27):  # false, true, null, half/single/double float
            return pos
        raise StrictError(f"CBOR: simple value or break 0x{data[start]:02x} at byte {start}, not JSON")
    if major == 3:
        if arg is not None:
            return _cbor_text(data, pos, arg)
        while data[pos : pos + 1] != b"\xff":  # an indefinite text string: definite text chunks, then break
            chunk_major, _, length, pos = _cbor_head(data, pos)
            if chunk_major != 3 or length is None:
                raise StrictError(f"CBOR: a chunk of an indefinite text string at byte {start} is not text")
            pos = _cbor_text(data, pos, length)
        return pos + 1
    count = 0  # an array or a map, definite (arg items) or indefinite (items until a break)
    while (arg is None and data[pos : pos + 1] != b"\xff") or (arg is not None and count < arg):
        if major == 5 and _cbor_head(data, pos)[0] != 3:
            raise StrictError(f"CBOR: map key at byte {pos} is not a text string")
        pos = _cbor_item(data, pos)
        if major == 5:
            pos = _cbor_item(data, pos)
        count += 1
    return pos + 1 if arg is None else pos


def _cbor_text(data: bytes, pos: int, length: int) -> int:
    if pos + length > len(data):
        raise StrictError(f"CBOR: truncated text string at byte {pos}")
    try:
        data[pos : pos + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictError(f"CBOR: text at byte {pos} is not UTF-8") from exc
    return pos + length


def receive_all(datagrams: Iterable[bytes], schema_path: Path | None = None) -> list[dict[str, Any]]:
    """Every sample in the datagrams; StrictError on a refused datagram or a payload left incomplete."""
    receiver = StrictReceiver(schema_path)
    for datagram in datagrams:
        receiver.feed(datagram)
    receiver.finish()
    return receiver.samples
