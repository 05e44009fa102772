"""The OpenTrackIO payload check bounds its own work: wide and deep payloads are refused unbuilt.

No wall-clock assertions: the check reports how far it looked (``scanned``) before it stopped, and
that must stay near the limit whatever the payload declares.
"""

from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio import payload as payload_module
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    MAX_DEPTH,
    MAX_ITEMS,
    PayloadBudgetError,
    Reassembler,
    decode_payload,
    encode_datagrams,
    parse_datagram,
)
from stagectl.core.opentrackio.datagram import MAX_PAYLOAD_BYTES


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _refused(encoding: int, payload: bytes) -> PayloadBudgetError:
    with pytest.raises(PayloadBudgetError) as info:
        decode_payload(encoding, payload)
    return info.value


def test_wide_cbor_is_refused_at_the_head_that_declares_too_many_items() -> None:
    err = _refused(ENCODING_CBOR, cbor2.dumps({"a": [[]] * 32000}))
    assert err.reason == "too_many_items" and err.limit == MAX_ITEMS
    assert err.scanned == 3 and err.at_byte == 3  # the map, its key, the array's head: refused there
    assert "array of 32000 items" in str(err) and f"limit of {MAX_ITEMS} items" in str(err)


def test_wide_cbor_of_unknown_length_stops_at_the_item_limit() -> None:
    """An indefinite-length array declares nothing: the scan stops after MAX_ITEMS heads."""
    payload = b"\xa1\x61a\x9f" + b"\x80" * 32000 + b"\xff"
    err = _refused(ENCODING_CBOR, payload)
    assert err.reason == "too_many_items" and err.scanned == MAX_ITEMS
    assert err.at_byte == 3 + (MAX_ITEMS - 3) + 1  # where item MAX_ITEMS + 1 starts


def test_cbor_at_the_item_limit_decodes_and_one_more_is_refused() -> None:
    at_limit = cbor2.dumps({"a": [0] * (MAX_ITEMS - 3)})  # map, key, array and its items
    assert len(decode_payload(ENCODING_CBOR, at_limit)["a"]) == MAX_ITEMS - 3
    assert _refused(ENCODING_CBOR, cbor2.dumps({"a": [0] * (MAX_ITEMS - 2)})).reason == "too_many_items"


def test_deep_cbor_stops_at_the_depth_limit() -> None:
    err = _refused(ENCODING_CBOR, b"\xa1\x61a" + b"\x81" * 30000 + b"\x00")
    assert err.reason == "too_deep" and err.limit == MAX_DEPTH and err.scanned <= MAX_DEPTH + 2


@pytest.mark.parametrize("payload", [
    _json({"a": [[]] * 32000}),  # wide: 32 000 empty lists
    _json({"a": [0] * 20000}),
    _json({"a": ["x"] * 5000}),  # many strings
    b'{"a":[' + b"{}," * 80000 + b"{}]}",  # a reassembled payload's worth
])
def test_wide_json_is_refused_before_json_builds_it(payload: bytes) -> None:
    err = _refused(ENCODING_JSON, payload)
    assert err.reason == "too_many_items" and err.limit == MAX_ITEMS


def test_deep_json_is_refused_as_too_deep() -> None:
    err = _refused(ENCODING_JSON, b'{"a":' * 50000)
    assert err.reason == "too_deep" and err.scanned == MAX_DEPTH + 1


def test_json_structure_inside_strings_is_not_counted() -> None:
    notes = "[{,:" * 3000  # 12 000 structural bytes, all inside one string
    assert decode_payload(ENCODING_JSON, _json({"notes": notes, "b": [1, 2]}))["notes"] == notes
    escaped = _json({"quote": '\\"' * 3000, "b": 1})  # escaped quotes do not end the string
    assert decode_payload(ENCODING_JSON, escaped)["b"] == 1


def test_json_at_the_item_limit_decodes() -> None:
    assert decode_payload(ENCODING_JSON, _json({"a": [0] * (MAX_ITEMS - 3)}))["a"]


@pytest.mark.parametrize("encoding", [ENCODING_JSON, ENCODING_CBOR])
def test_a_reassembled_wide_payload_is_refused_unbuilt(encoding: int) -> None:
    body: list[list[int]] = [[]] * (120_000 if encoding == ENCODING_CBOR else 80_000)
    payload = cbor2.dumps({"a": body}) if encoding == ENCODING_CBOR else _json({"a": body})
    assert 100_000 < len(payload) <= MAX_PAYLOAD_BYTES
    reassembler = Reassembler()
    whole = None
    for datagram in encode_datagrams(payload, encoding, sequence=5, mtu=9000):
        header, segment = parse_datagram(datagram)
        whole = reassembler.feed(header, segment, 0)
    assert whole == payload
    assert _refused(encoding, whole).reason == "too_many_items"


def _same_length_twins() -> tuple[bytes, bytes, bytes]:
    """A sample-like payload, one of its shape with other numbers and text, and one of the same length
    whose array count claims far more items than are there (a lie only the walk can find)."""
    good = cbor2.dumps({"seq": 1000, "pose": [1.5, -2.25, 3.0], "id": "urn:uuid:aaaa", "list": [1, 2]})
    twin = cbor2.dumps({"seq": 4000, "pose": [7.5, 9.25, -1.0], "id": "urn:uuid:bbbb", "list": [1, 2]})
    at = good.index(b"\x82")  # the two-item array's head: claim 23 items (0x97), same length
    liar = good[:at] + b"\x97" + good[at + 1:]
    assert len(good) == len(twin) == len(liar)
    return good, twin, liar


def test_a_payload_of_a_known_shape_is_checked_by_its_shape_and_decoded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    good, twin, _liar = _same_length_twins()
    walks: list[int] = []
    walk = payload_module._check_cbor

    def counted(data: bytes, max_items: int = MAX_ITEMS, marks: list[int] | None = None) -> int:
        walks.append(len(data))
        return walk(data, max_items, marks)

    monkeypatch.setattr(payload_module, "_check_cbor", counted)
    payload_module._SHAPES.clear()
    assert decode_payload(ENCODING_CBOR, good)["seq"] == 1000
    assert decode_payload(ENCODING_CBOR, twin) == cbor2.loads(twin)
    assert walks == [len(good)], "the second payload of the same shape was walked again"


def test_a_payload_of_a_known_length_but_another_shape_is_walked_and_refused() -> None:
    good, _twin, liar = _same_length_twins()
    decode_payload(ENCODING_CBOR, good)
    with pytest.raises(DecodeError) as info:
        decode_payload(ENCODING_CBOR, liar)
    assert info.value.reason == "cbor" and "declares 23 items" in str(info.value)
    # A string whose length byte changed (same total length: the next key is shorter) is walked too.
    key_at = good.index(b"\x64list")
    other = good[:key_at] + b"\x63lis" + b"\x60" + good[key_at + 5:]
    assert len(other) == len(good)
    with pytest.raises(DecodeError):
        decode_payload(ENCODING_CBOR, other)  # an empty key then a dangling value: not one map


def test_a_wide_payload_after_a_good_one_of_the_same_length_is_still_refused() -> None:
    wide = cbor2.dumps({"a": [[]] * 32000})
    filler = cbor2.dumps({"a": b"\x00" * (len(wide) - 6)})
    assert len(filler) == len(wide)
    decode_payload(ENCODING_CBOR, filler)
    assert _refused(ENCODING_CBOR, wide).reason == "too_many_items"
