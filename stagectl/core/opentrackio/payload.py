"""OpenTrackIO payloads: JSON (UTF-8) or CBOR bytes <-> a dict, rejecting hostile input cheaply.

Neither decoder is trusted with raw network bytes. ``json.loads`` recurses (RecursionError
near 1000 levels) and CBOR decoders may recurse or pre-allocate for a declared length; and both
run on the I/O loop, where every camera's output, fades and device polls wait for them. So every
payload must be checked, and decoded, in a bounded amount of work, well under the loop's ~2 ms
budget per wake-up, whatever its bytes say:

* bytes: at most MAX_PAYLOAD_BYTES (a whole reassembled payload; a datagram is at most 65507);
* items: at most MAX_ITEMS (every value, key and container counts one). The largest sample in
  camdkit's examples (complete static) has ~370; building 32 000 empty lists takes cbor2 and the
  head scan ~10 ms and json ~1 ms, a 256 KiB payload of them ~100 ms;
* depth: at most MAX_DEPTH levels.

A payload over a limit is refused before anything is built, with a :class:`PayloadBudgetError`
(reason ``too_many_items`` or ``too_deep``) saying the encoding, the shape found, where, and the
limit. Refused, not decoded off the loop: a sample is a few hundred items, so a payload over the
limit is not a sample stagectl could use, and moving its decode to a worker would still spend
the stage's CPU (two cores on many stage PCs) on a hostile sender's behalf and reorder samples.

* JSON: one C-speed pass keeps only the structural bytes ``, : [ { "``; their count (those
  inside strings too: an over-estimate, never an under-estimate) bounds the items and the
  strings. Over the limit: refused. Then, if the payload has more than MAX_DEPTH opening
  brackets at all, string literals are cut out (one regular-expression pass, bounded by the
  string count just checked), the brackets that remain are walked and the walk stops at
  MAX_DEPTH + 1 levels.
* CBOR: one iterative pass over the item heads checks that the bytes are exactly one
  well-formed item, nesting at most MAX_DEPTH, at most MAX_ITEMS items (a container that
  declares more than the items left is refused at its head, before one of them is walked),
  with every declared length or count backed by the bytes that remain (so nothing can claim
  2**60 items), map keys that are text, and no tags (they could build shared references or
  cycles), the self-describe prefix aside.

Measured per-sample cost (CPython 3.11, cbor2 6.2 C decoder, best of 5 x 3000 runs on the
development machine), datagram(s) -> checked OpenTrackIOSample:

==============================  =====  =======  ==============  ============  ======
camdkit example                 enc.   bytes    decode_payload  parse_sample  total
==============================  =====  =======  ==============  ============  ======
recommended_dynamic_example     JSON     843        7 us           26 us       47 us
recommended_dynamic_example     CBOR     784       32 us           26 us       82 us
complete_static_example (2 dg)  JSON    2905       48 us          102 us      192 us
complete_static_example (2 dg)  CBOR    2692      113 us          100 us      267 us
==============================  =====  =======  ==============  ============  ======

The CBOR head scan is most of CBOR's decode cost (~26 us of 32; cbor2 itself ~6 us) the first
time a shape is seen. A tracker sends one shape sample after sample (only numbers and string
contents change), so a walk that passes keeps the payload's shape: its length and the bytes the walk
decided by (every head, and the length or count bytes of strings and containers). A payload of the
same length with the same bytes at those places walks exactly the same way, so comparing those bytes
(one C call, ~3 us) stands for the walk (a small integer's value is its head byte: one that
changes is a new shape); anything else is walked. The complete example's three-transform chain
costs ~32 us of its parse_sample. Hostile input is refused in well under a millisecond: 100 000
nested JSON arrays 0.3 ms, CBOR 0.02 ms, a CBOR claim of 2**60 items or a 10 MB string 0.01 ms;
the worst shapes per datagram and per reassembled payload are measured by
``bench/fuzz_tracking.py --protocol shapes`` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import cbor2

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.datagram import ENCODING_CBOR, ENCODING_JSON, MAX_PAYLOAD_BYTES

MAX_DEPTH = 32
#: Items (values, keys, containers) a payload may hold: ~3x camdkit's complete static example (365).
#: The CBOR head scan costs up to ~0.5 us per item (floats), so the limit caps it near 0.5 ms.
MAX_ITEMS = 1024
_SELF_DESCRIBE = b"\xd9\xd9\xf7"  # CBOR tag 55799
_INDEFINITE = -1
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENERS = frozenset(b"[{")
_NOT_STRUCTURAL = bytes(sorted(set(range(256)) - set(b',:[{"')))
_NOT_ITEM_MARKS = bytes(sorted(set(range(256)) - set(b",:[{")))
_ENCODING_LABEL = {ENCODING_JSON: "JSON", ENCODING_CBOR: "CBOR"}
#: Shapes of CBOR payloads that passed the walk, by (length, item limit): the bytes the walk decided
#: by (a getter of them and their values) and where the item starts. A few shapes per stage.
_SHAPES: dict[tuple[int, int], tuple[Callable[[Any], Any], Any, int]] = {}
_SHAPES_KEPT = 32


class PayloadBudgetError(DecodeError):
    """A payload refused because checking or building it would cost more than its budget.

    ``reason`` is ``too_many_items`` or ``too_deep``; ``limit`` the limit it broke; ``scanned`` how
    many items (CBOR) or structural bytes (JSON) were looked at before refusing (never much more
    than ``limit``: the work stops there); ``at_byte`` where the offending shape starts (-1 when
    not known); ``shape`` what was found, for people.
    """

    def __init__(self, reason: str, encoding: int, shape: str, limit: int, scanned: int,
                 at_byte: int = -1) -> None:
        self.encoding = encoding
        self.shape = shape
        self.limit = limit
        self.scanned = scanned
        self.at_byte = at_byte
        where = f" at byte {at_byte}" if at_byte >= 0 else ""
        label = _ENCODING_LABEL.get(encoding, "?")
        if reason == "too_deep":
            message = f"{label} nests deeper than {limit} levels{where}; refused unread"
        else:
            message = (f"{label} payload refused unread: {shape}{where}, over the limit of {limit} items "
                       "(an OpenTrackIO sample has a few hundred): is the sender an OpenTrackIO tracker?")
        super().__init__(reason, message)


def _check_size(payload: bytes) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError("too_large", f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES} bytes")


def _outside_strings(payload: bytes, max_items: int) -> tuple[bytes, bool]:
    """The bytes of ``payload`` outside its JSON string literals (C-speed passes), and whether
    they were cut short after ``max_items`` strings (each string is an item: over the limit).

    Escaped backslashes, then escaped quotes, are removed (left to right, as JSON pairs them), so
    every quote left opens or closes a string; an unterminated string runs to the end. A backslash
    outside a string can mislead the pairing after it, but ``json.loads`` stops at that byte.
    """
    unescaped = payload.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in payload else payload
    parts = unescaped.split(b'"', 2 * max_items + 1)
    if len(parts) > 2 * max_items + 1:  # more strings than items allowed: what precedes the last
        return b"".join(parts[0:-1:2]), True
    return b"".join(parts[0::2]), False


def _check_json_shape(payload: bytes, max_items: int) -> None:
    """Refuse JSON holding more than ``max_items`` items or nesting deeper than MAX_DEPTH, unbuilt.

    Every item but the first follows a ``,`` ``:`` ``[`` or ``{``. A first C-speed pass counts those
    bytes (and quotes) anywhere: a payload under both limits by that over-estimate (any real
    sample) needs nothing more. Otherwise the brackets outside string literals are walked (a Python
    loop of at most 2 * ``max_items`` + 2 steps: a longer walk means too many items anyway; it also
    stops where the nesting goes below zero, as json.loads does), then the items are counted there.
    """
    structural = payload.translate(None, _NOT_STRUCTURAL)
    if len(structural) <= max_items and structural.count(b"[") + structural.count(b"{") <= MAX_DEPTH:
        return  # cannot hold more items, nor nest deeper than the number of brackets
    outside, too_many_strings = _outside_strings(payload, max_items)
    brackets = outside.translate(None, _NOT_BRACKETS)
    if len(brackets) > MAX_DEPTH:
        depth = 0
        for step, char in enumerate(brackets[:2 * max_items + 2]):  # past that: over the item limit
            if char in _OPENERS:
                depth += 1
                if depth > MAX_DEPTH:
                    raise PayloadBudgetError("too_deep", ENCODING_JSON, f"nesting over {MAX_DEPTH} levels",
                                             MAX_DEPTH, step + 1)
            else:
                depth -= 1
                if depth < 0:
                    break  # not JSON from here: json.loads stops at this bracket
    if too_many_strings:
        raise PayloadBudgetError("too_many_items", ENCODING_JSON, f"more than {max_items} strings", max_items,
                                 max_items + 1)
    items = len(outside.translate(None, _NOT_ITEM_MARKS))
    if items > max_items:
        raise PayloadBudgetError("too_many_items", ENCODING_JSON,
                                 f"{items} items (counting , : [ {{ outside strings)", max_items, items)


def _cbor_error(pos: int, message: str) -> DecodeError:
    return DecodeError("cbor", f"CBOR byte {pos}: {message}")


def _check_cbor_shape(data: bytes, max_items: int = MAX_ITEMS) -> int:
    """:func:`_check_cbor`, or the bytes the walk decides by compared with a payload of the same length
    that passed it (see the module docstring): the offset where the item starts."""
    key = (len(data), max_items)
    shape = _SHAPES.get(key)
    if shape is not None and shape[0](data) == shape[1]:
        return shape[2]
    marks: list[int] = []
    start = _check_cbor(data, max_items, marks)
    if len(marks) >= 2:  # itemgetter of one place gives a value, not a tuple: such a payload is no sample
        if len(_SHAPES) >= _SHAPES_KEPT:
            _SHAPES.clear()
        getter = itemgetter(*marks)
        _SHAPES[key] = (getter, getter(data), start)
    return start


def _check_cbor(data: bytes, max_items: int = MAX_ITEMS, marks: list[int] | None = None) -> int:
    """Walk the item heads of ``data``; the offset where the item starts (after a self-describe tag).

    ``marks``, when given, gets the offset of every byte the walk decided by: each head, and the
    argument bytes of strings, containers and two-byte simple values.

    At most ``max_items`` heads are walked: a container declaring more items than are left is
    refused at its head, and any other item past the limit where it starts (PayloadBudgetError).
    ``stack`` holds one ``[items still expected or _INDEFINITE, items so far, is a map]`` per
    open container (items so far even in a map: the next item is a key).
    """
    n = len(data)
    items = 0
    pos = start = 3 if data.startswith(_SELF_DESCRIBE) else 0
    stack: list[list[int]] = []
    top: list[int] | None = None  # stack[-1]
    chunk_major = -1  # inside an indefinite-length string: the major type of its chunks
    while True:
        if pos >= n:
            raise _cbor_error(pos, "the data ends inside an item")
        head = data[pos]
        item_at = pos
        pos += 1
        items += 1
        if marks is not None:
            marks.append(item_at)
        if items > max_items:
            raise PayloadBudgetError("too_many_items", ENCODING_CBOR, f"more than {max_items} items",
                                     max_items, items - 1, item_at)
        # Fast paths for the commonest items: short text, small integers, false/true/null.
        if 0x60 <= head < 0x78 and chunk_major < 0:
            pos += head - 0x60
            if pos > n:
                raise _cbor_error(item_at, f"a string declares {head - 0x60} bytes, {n - item_at - 1} remain")
        elif (head < 0x18 or 0xF4 <= head <= 0xF7) and chunk_major < 0:
            if top is not None and top[2] and not top[1] % 2:
                raise DecodeError("schema", f"CBOR byte {item_at}: a map key is not a text string")
        elif head == 0xFF:  # "break": ends the innermost indefinite string or container
            if chunk_major >= 0:
                chunk_major = -1
            elif top is not None and top[0] == _INDEFINITE:
                if top[2] and top[1] % 2:
                    raise _cbor_error(item_at, "an indefinite map ends after a key with no value")
                stack.pop()
                top = stack[-1] if stack else None
            else:
                raise _cbor_error(item_at, "a break outside an indefinite-length item")
        else:
            major, info = head >> 5, head & 0x1F
            if chunk_major >= 0:
                if major != chunk_major or info == 31:
                    raise _cbor_error(item_at, "an indefinite-length string holds a chunk of another type")
            elif top is not None and top[2] and not top[1] % 2 and major != 3:
                raise DecodeError("schema", f"CBOR byte {item_at}: a map key is not a text string")
            if info < 24:
                arg = info
            elif info <= 27:
                size = 1 << (info - 24)
                if pos + size > n:
                    raise _cbor_error(item_at, "the data ends inside an item head")
                arg = int.from_bytes(data[pos:pos + size], "big")
                pos += size
                if marks is not None and (2 <= major <= 5 or (major == 7 and info == 24)):
                    marks.extend(range(pos - size, pos))
            elif info == 31 and 2 <= major <= 5:
                arg = _INDEFINITE
            else:
                raise _cbor_error(item_at, f"reserved or invalid additional information {info}")
            if major == 6:
                raise _cbor_error(item_at, f"tag {arg} is not allowed in OpenTrackIO payloads")
            if major == 2 or major == 3:
                if arg == _INDEFINITE:
                    chunk_major = major
                    continue
                if arg > n - pos:
                    raise _cbor_error(item_at, f"a string declares {arg} bytes, {n - pos} remain")
                pos += arg
                if chunk_major >= 0:
                    continue
            elif major == 4 or major == 5:
                if len(stack) >= MAX_DEPTH:
                    raise PayloadBudgetError("too_deep", ENCODING_CBOR, f"nesting over {MAX_DEPTH} levels",
                                             MAX_DEPTH, items, item_at)
                if arg != _INDEFINITE:
                    if major == 5:
                        arg *= 2
                    # Every item takes at least one byte: a count beyond the bytes left is a lie.
                    if arg > n - pos:
                        raise _cbor_error(item_at, f"a container declares {arg} items, "
                                                   f"{n - pos} bytes remain")
                    if arg > max_items - items:  # more than the budget left: refused before one is walked
                        kind = f"a map of {arg // 2} pairs" if major == 5 else f"an array of {arg} items"
                        raise PayloadBudgetError("too_many_items", ENCODING_CBOR,
                                                 f"{kind} (item {items})", max_items, items, item_at)
                if arg:
                    top = [arg, 0, major == 5]
                    stack.append(top)
                    continue
            elif major == 7 and info == 24 and arg < 32:
                raise _cbor_error(item_at, "an invalid two-byte simple value")
        # One whole item ended: count it in its container, closing containers that are full.
        while top is not None:
            top[1] += 1
            if top[0] == _INDEFINITE:
                break
            top[0] -= 1
            if top[0]:
                break
            stack.pop()
            top = stack[-1] if stack else None
        if top is None:
            if pos != n:
                raise _cbor_error(pos, f"{n - pos} bytes follow the end of the payload item")
            return start


def decode_payload(encoding: int, payload: bytes) -> dict[str, Any]:
    """The sample dict of a JSON (0x01) or CBOR (0x02) payload.

    Raises DecodeError: ``too_large``, ``too_many_items`` / ``too_deep`` (a PayloadBudgetError:
    refused before anything is built), ``json`` / ``cbor`` (not well-formed), ``schema`` (the top
    level is not a map), ``encoding`` (neither format).
    """
    _check_size(payload)
    value: object
    if encoding == ENCODING_JSON:
        _check_json_shape(payload, MAX_ITEMS)
        try:
            value = json.loads(payload.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DecodeError("json", f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or an int beyond 4300 digits
            raise DecodeError("json", f"payload is not valid JSON: {exc}") from None
    elif encoding == ENCODING_CBOR:
        start = _check_cbor_shape(payload, MAX_ITEMS)
        try:
            value = cbor2.loads(payload[start:] if start else payload)
        except (cbor2.CBORDecodeError, ValueError, RecursionError) as exc:
            raise DecodeError("cbor", f"payload is not valid CBOR: {exc}") from None
    else:
        raise DecodeError("encoding", f"encoding 0x{encoding:02X} is not 0x01 (JSON) or 0x02 (CBOR)")
    if not isinstance(value, dict):
        raise DecodeError("schema", f"the payload is a {type(value).__name__}; an OpenTrackIO sample "
                                    "is a map")
    return value


def encode_payload(obj: dict[str, Any], encoding: int) -> bytes:
    """``obj`` as compact UTF-8 JSON (0x01) or CBOR (0x02); ValueError for NaN/inf or other encodings."""
    if encoding == ENCODING_JSON:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if encoding == ENCODING_CBOR:
        return cbor2.dumps(obj)
    raise ValueError(f"encoding 0x{encoding:02X} is not 0x01 (JSON) or 0x02 (CBOR)")
