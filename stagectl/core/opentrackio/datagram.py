"""OpenTrackIO datagrams: the 16-byte header, its Fletcher-16 checksum and payload segmentation.

Byte for byte after the OpenTrackIO transport section (camdkit ``OpenTrackIO.html``, "Packet
Header") and camdkit's reference sender/receiver (``src/test/python/parser/``), big-endian::

    0-3    b"OTrk"
    4      reserved (sent as 0, ignored on receipt as the spec says)
    5      encoding: 0x01 JSON, 0x02 CBOR (0x80 and up: vendor formats, rejected here)
    6-7    u16 sequence number
    8-11   u32 segment offset: byte offset of this segment in the whole payload
    12-13  bit 15: last-segment flag; bits 0-14: length of this datagram's payload
    14-15  Fletcher-16, modulus 256, over bytes 0-13 and the payload

Checksum byte order: the spec's reference code returns ``(sum2 << 8) | sum1`` and camdkit's
``fletcher16`` packs that big-endian (``struct.pack('!H', ...)``), so byte 14 is sum2 and byte 15
is sum1; the published vector (``{}``, JSON, sequence 0) ends ``0b fb`` = sum2 0x0B, sum1 0xFB.

Sequence numbers: the reference sender gives *every datagram* its own sequence number, so the
segments of one payload carry consecutive numbers (first, first+1, ...); :func:`encode_datagrams`
does the same. See :mod:`stagectl.core.opentrackio.reassembly` for how the receiver copes with both
that and senders that repeat one number on every segment.
"""

from __future__ import annotations

from typing import NamedTuple

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.fletcher import fletcher16

MAGIC = b"OTrk"
HEADER_LENGTH = 16
ENCODING_JSON = 0x01
ENCODING_CBOR = 0x02
ENCODING_NAMES = {ENCODING_JSON: "json", ENCODING_CBOR: "cbor"}
#: Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP).
MAX_DATAGRAM_BYTES = 65507
#: The payload length field has 15 bits.
MAX_SEGMENT_BYTES = 0x7FFF
#: The reference sender's MTU; its segments carry at most MTU - 16 payload bytes.
DEFAULT_MTU = 1500
#: Largest reassembled payload stagectl accepts (a complete sample is a few kB).
MAX_PAYLOAD_BYTES = 256 * 1024
SEQUENCE_MODULUS = 1 << 16
_LAST_SEGMENT = 0x8000


class Header(NamedTuple):
    """A parsed OpenTrackIO header (the checksum has been verified)."""

    encoding: int
    sequence: int
    segment_offset: int
    last_segment: bool
    payload_length: int
    checksum: int


def _checksum(header14: bytes | bytearray | memoryview, payload: bytes | bytearray | memoryview) -> int:
    return fletcher16(bytes(header14) + bytes(payload))


def parse_datagram(data: bytes | bytearray | memoryview) -> tuple[Header, bytes]:
    """Check and split one datagram; raises DecodeError (reason length|magic|encoding|checksum).

    ``length``: shorter than the header, longer than a UDP payload, or a payload-length field
    that does not match the bytes after the header.
    """
    size = len(data)
    if size < HEADER_LENGTH:
        raise DecodeError("length", f"datagram of {size} bytes is shorter than the {HEADER_LENGTH}-byte "
                                    "header")
    if size > MAX_DATAGRAM_BYTES:
        raise DecodeError("length", f"datagram of {size} bytes exceeds the UDP maximum {MAX_DATAGRAM_BYTES}")
    if data[:4] != MAGIC:
        raise DecodeError("magic", f"identifier is {bytes(data[:4])!r}, expected b'OTrk'")
    encoding = data[5]
    if encoding not in ENCODING_NAMES:
        kind = "a vendor-specific encoding" if encoding >= 0x80 else "not a known encoding"
        raise DecodeError("encoding", f"encoding 0x{encoding:02X} is {kind}; supported: 0x01 JSON, 0x02 CBOR")
    flags_length = (data[12] << 8) | data[13]
    length = flags_length & MAX_SEGMENT_BYTES
    if length != size - HEADER_LENGTH:
        raise DecodeError("length", f"header says {length} payload bytes, the datagram carries "
                                    f"{size - HEADER_LENGTH}")
    found = (data[14] << 8) | data[15]
    expected = _checksum(data[:14], data[HEADER_LENGTH:])
    if found != expected:
        raise DecodeError("checksum", f"checksum expected 0x{expected:04X}, found 0x{found:04X}")
    header = Header(encoding, (data[6] << 8) | data[7], int.from_bytes(data[8:12], "big"),
                    bool(flags_length & _LAST_SEGMENT), length, found)
    return header, bytes(data[HEADER_LENGTH:])


def encode_datagram(payload: bytes, encoding: int, sequence: int, segment_offset: int = 0,
                    last_segment: bool = True) -> bytes:
    """One datagram: header + ``payload`` (at most 32767 bytes); ValueError for bad fields."""
    if encoding not in ENCODING_NAMES:
        raise ValueError(f"encoding 0x{encoding:02X} is not 0x01 (JSON) or 0x02 (CBOR)")
    if not 0 <= sequence < SEQUENCE_MODULUS:
        raise ValueError(f"sequence {sequence} is outside 0..65535")
    if not 0 <= segment_offset <= 0xFFFFFFFF:
        raise ValueError(f"segment offset {segment_offset} is outside 0..2**32-1")
    if len(payload) > MAX_SEGMENT_BYTES:
        raise ValueError(f"segment of {len(payload)} bytes exceeds the 15-bit length field "
                         f"({MAX_SEGMENT_BYTES})")
    head = (MAGIC + bytes((0, encoding)) + sequence.to_bytes(2, "big") + segment_offset.to_bytes(4, "big")
            + ((_LAST_SEGMENT if last_segment else 0) | len(payload)).to_bytes(2, "big"))
    return head + _checksum(head, payload).to_bytes(2, "big") + payload


def encode_datagrams(payload: bytes, encoding: int, sequence: int, mtu: int = DEFAULT_MTU) -> list[bytes]:
    """Datagrams carrying ``payload``, segmented like camdkit's reference sender.

    Segments hold ``min(mtu - 16, 32767)`` payload bytes (the last one the rest); each carries
    the byte offset of its segment and its own sequence number, ``sequence``, ``sequence + 1``,
    ... modulo 65536 (so the caller's next sequence is ``sequence + len(result)``). An empty
    payload still makes one (empty, last) datagram. ValueError for an MTU below 17 or a
    payload above MAX_PAYLOAD_BYTES.
    """
    if mtu <= HEADER_LENGTH:
        raise ValueError(f"MTU {mtu} leaves no room for a payload after the {HEADER_LENGTH}-byte header")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES} bytes")
    step = min(mtu - HEADER_LENGTH, MAX_SEGMENT_BYTES)
    total = len(payload)
    offsets = range(0, total, step) if total else range(1)
    return [encode_datagram(payload[offset:offset + step], encoding, (sequence + i) % SEQUENCE_MODULUS,
                            offset, offset + step >= total)
            for i, offset in enumerate(offsets)]
