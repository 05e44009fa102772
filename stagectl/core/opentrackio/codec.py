"""OpenTrackIO codec (SMPTE RIS OSVP): datagrams, reassembly, payloads and samples. No sockets.

The layers, each in its own module and all re-exported here:

* :mod:`stagectl.core.opentrackio.datagram`: the 16-byte header, Fletcher-16, segmentation
  (:func:`parse_datagram`, :func:`encode_datagrams`).
* :mod:`stagectl.core.opentrackio.reassembly`: :class:`Reassembler`, segments -> whole payloads.
* :mod:`stagectl.core.opentrackio.payload`: JSON / CBOR bytes <-> dict, hostile input rejected in
  bounded time (:func:`decode_payload`, :func:`encode_payload`).
* :mod:`stagectl.core.opentrackio.sample`: dict -> checked :class:`OpenTrackIOSample` in stagectl's
  units (:func:`parse_sample`); :mod:`stagectl.core.opentrackio.build` the inverse (:func:`build_sample`).

Receiving, in short::

    header, segment = parse_datagram(data)
    payload = reassembler.feed(header, segment, time.monotonic_ns())
    if payload is not None:
        sample = parse_sample(decode_payload(header.encoding, payload))

Every failure is a DecodeError whose ``reason`` is one of: length, magic, encoding, checksum,
segment, too_large, too_many_items, too_deep, json, cbor, schema, value.
"""

from __future__ import annotations

from typing import Any

from stagectl.core.opentrackio.build import PROTOCOL_NAME, PROTOCOL_VERSION, build_sample
from stagectl.core.opentrackio.datagram import (
    DEFAULT_MTU,
    ENCODING_CBOR,
    ENCODING_JSON,
    ENCODING_NAMES,
    HEADER_LENGTH,
    MAGIC,
    MAX_PAYLOAD_BYTES,
    Header,
    encode_datagram,
    encode_datagrams,
    parse_datagram,
)
from stagectl.core.opentrackio.fletcher import fletcher16
from stagectl.core.opentrackio.model import (
    DEFAULT_DISTORTION_MODEL,
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOStatic,
    OpenTrackIOTransform,
    Synchronization,
)
from stagectl.core.opentrackio.payload import (
    MAX_DEPTH,
    MAX_ITEMS,
    PayloadBudgetError,
    decode_payload,
    encode_payload,
)
from stagectl.core.opentrackio.reassembly import Reassembler
from stagectl.core.opentrackio.sample import compose_transforms, parse_sample

#: Multicast group of source number N (1..200) is 239.135.1.N; the default port is 55555.
MULTICAST_PREFIX = "239.135.1."
DEFAULT_PORT = 55555

__all__ = [
    "DEFAULT_DISTORTION_MODEL", "DEFAULT_MTU", "DEFAULT_PORT", "ENCODING_CBOR", "ENCODING_JSON",
    "ENCODING_NAMES", "HEADER_LENGTH", "MAGIC", "MAX_DEPTH", "MAX_ITEMS", "MAX_PAYLOAD_BYTES",
    "MULTICAST_PREFIX", "PROTOCOL_NAME", "PROTOCOL_VERSION", "Header", "LensDistortion", "OpenTrackIOLens",
    "OpenTrackIOSample", "OpenTrackIOStatic", "OpenTrackIOTransform", "PayloadBudgetError", "Reassembler",
    "Synchronization",
    "build_sample", "compose_transforms", "decode_payload", "decode_sample", "encode_datagram",
    "encode_datagrams", "encode_payload", "encode_sample", "fletcher16", "multicast_group",
    "parse_datagram", "parse_sample",
]


def multicast_group(source_number: int) -> str:
    """The multicast address of ``source_number`` (1..200): 239.135.1.N."""
    if not 1 <= source_number <= 200:
        raise ValueError(f"source number {source_number} is outside 1..200")
    return f"{MULTICAST_PREFIX}{source_number}"


def decode_sample(encoding: int, payload: bytes) -> OpenTrackIOSample:
    """decode_payload then parse_sample: a complete payload to a checked sample."""
    return parse_sample(decode_payload(encoding, payload))


def encode_sample(sample: OpenTrackIOSample, encoding: int, sequence: int,
                  mtu: int = DEFAULT_MTU) -> list[bytes]:
    """build_sample, encode_payload and encode_datagrams: a sample to the datagrams that carry it."""
    obj: dict[str, Any] = build_sample(sample)
    return encode_datagrams(encode_payload(obj, encoding), encoding, sequence, mtu)
