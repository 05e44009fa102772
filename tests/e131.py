"""A strict E1.31 (sACN) parser for tests, written from ANSI E1.31-2018, independent of the sacn library.

Data packet layout (octet offsets, network byte order), every fixed field checked:

======  ====  ===============================================================
offset  size  field
======  ====  ===============================================================
0       2     preamble size 0x0010
2       2     post-amble size 0x0000
4       12    ACN packet identifier "ASC-E1.17\\0\\0\\0"
16      2     root flags (0x7) and length (octets from 16 to the end)
18      4     root vector: 0x00000004 data (0x00000008 extended: sync, discovery)
22      16    CID
38      2     framing flags (0x7) and length (from 38 to the end)
40      4     framing vector 0x00000002 (data)
44      64    source name, UTF-8, NUL-terminated
108     1     priority 0..200
109     2     synchronisation address (0 = none)
111     1     sequence number
112     1     options: bit 7 preview, bit 6 stream terminated, bit 5 force sync, 0-4 reserved (0)
113     2     universe 1..63999
115     2     DMP flags (0x7) and length (from 115 to the end)
117     1     DMP vector 0x02 (set property)
118     1     address type and data type 0xa1
119     2     first property address 0x0000
121     2     address increment 0x0001
123     2     property value count: 1 + slots (1..513)
125     1     START code (0x00 = dimmer levels)
126     n     slots
======  ====  ===============================================================

Universe discovery (root vector 8, framing vector 2 at 40, page/last page and a sorted list of
u16 universes in its own layer at 112) is parsed by :func:`parse_discovery_packet`.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass

PREAMBLE = 0x0010
ACN_ID = b"ASC-E1.17\x00\x00\x00"
VECTOR_ROOT_DATA = 0x00000004
VECTOR_ROOT_EXTENDED = 0x00000008
VECTOR_FRAMING_DATA = 0x00000002
VECTOR_EXTENDED_DISCOVERY = 0x00000002
VECTOR_DISCOVERY_LIST = 0x00000001
VECTOR_DMP_SET_PROPERTY = 0x02
DMP_ADDRESS_DATA_TYPE = 0xA1


class E131Error(ValueError):
    """A datagram that is not a well-formed E1.31 packet; the message names the field."""


@dataclass(frozen=True)
class E131Data:
    """One decoded data packet."""

    cid: bytes
    source_name: str
    priority: int
    sync_address: int
    sequence: int
    preview: bool
    stream_terminated: bool
    force_sync: bool
    universe: int
    start_code: int
    slots: bytes


@dataclass(frozen=True)
class E131Discovery:
    """One decoded universe discovery packet."""

    cid: bytes
    source_name: str
    page: int
    last_page: int
    universes: tuple[int, ...]


def _u16(data: bytes, offset: int) -> int:
    return int(struct.unpack_from(">H", data, offset)[0])


def _u32(data: bytes, offset: int) -> int:
    return int(struct.unpack_from(">I", data, offset)[0])


def _flags_length(data: bytes, offset: int, layer: str) -> None:
    word = _u16(data, offset)
    if word >> 12 != 0x7:
        raise E131Error(f"{layer} flags are {word >> 12:#x}, not 0x7")
    if word & 0x0FFF != len(data) - offset:
        raise E131Error(f"{layer} length {word & 0x0FFF} != {len(data) - offset} octets from offset {offset}")


def _source_name(raw: bytes) -> str:
    end = raw.find(b"\x00")
    if end < 0:
        raise E131Error("source name is not NUL-terminated within 64 octets")
    try:
        return raw[:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise E131Error(f"source name is not UTF-8: {exc}") from None


def root_vector(datagram: bytes) -> int:
    """The root layer vector after checking the root layer (4 = data, 8 = extended)."""
    if len(datagram) < 38:
        raise E131Error(f"{len(datagram)} octets is shorter than a root layer (38)")
    if _u16(datagram, 0) != PREAMBLE:
        raise E131Error(f"preamble size {_u16(datagram, 0):#06x}, not 0x0010")
    if _u16(datagram, 2) != 0:
        raise E131Error(f"post-amble size {_u16(datagram, 2):#06x}, not 0")
    if datagram[4:16] != ACN_ID:
        raise E131Error(f"ACN packet identifier {datagram[4:16]!r}")
    _flags_length(datagram, 16, "root")
    return _u32(datagram, 18)


def parse_data_packet(datagram: bytes) -> E131Data:
    """Decode an E1.31 data packet, checking every fixed field; E131Error names the first bad one."""
    if not 126 <= len(datagram) <= 638:
        raise E131Error(f"a data packet is 126..638 octets, got {len(datagram)}")
    if (vector := root_vector(datagram)) != VECTOR_ROOT_DATA:
        raise E131Error(f"root vector {vector:#010x} is not VECTOR_ROOT_E131_DATA")
    _flags_length(datagram, 38, "framing")
    if (vector := _u32(datagram, 40)) != VECTOR_FRAMING_DATA:
        raise E131Error(f"framing vector {vector:#010x} is not VECTOR_E131_DATA_PACKET")
    name = _source_name(datagram[44:108])
    priority = datagram[108]
    if priority > 200:
        raise E131Error(f"priority {priority} is over 200")
    sync = _u16(datagram, 109)
    if sync > 63999:
        raise E131Error(f"synchronisation address {sync} is over 63999")
    options = datagram[112]
    if options & 0x1F:
        raise E131Error(f"reserved option bits set: {options:#04x}")
    universe = _u16(datagram, 113)
    if not 1 <= universe <= 63999:
        raise E131Error(f"universe {universe} is outside 1..63999")
    _flags_length(datagram, 115, "DMP")
    if datagram[117] != VECTOR_DMP_SET_PROPERTY:
        raise E131Error(f"DMP vector {datagram[117]:#04x} is not 0x02")
    if datagram[118] != DMP_ADDRESS_DATA_TYPE:
        raise E131Error(f"DMP address and data type {datagram[118]:#04x} is not 0xa1")
    if _u16(datagram, 119) != 0:
        raise E131Error(f"first property address {_u16(datagram, 119)} is not 0")
    if _u16(datagram, 121) != 1:
        raise E131Error(f"address increment {_u16(datagram, 121)} is not 1")
    count = _u16(datagram, 123)
    if count != len(datagram) - 125:
        raise E131Error(f"property value count {count} != {len(datagram) - 125} octets present")
    return E131Data(bytes(datagram[22:38]), name, priority, sync, datagram[111], bool(options & 0x80),
                    bool(options & 0x40), bool(options & 0x20), universe, datagram[125],
                    bytes(datagram[126:]))


def parse_discovery_packet(datagram: bytes) -> E131Discovery:
    """Decode a universe discovery packet (root vector 8, extended discovery, universe list)."""
    if not 120 <= len(datagram) <= 1144 or len(datagram) % 2:
        raise E131Error(f"a discovery packet is an even 120..1144 octets, got {len(datagram)}")
    if (vector := root_vector(datagram)) != VECTOR_ROOT_EXTENDED:
        raise E131Error(f"root vector {vector:#010x} is not VECTOR_ROOT_E131_EXTENDED")
    _flags_length(datagram, 38, "framing")
    if (vector := _u32(datagram, 40)) != VECTOR_EXTENDED_DISCOVERY:
        raise E131Error(f"framing vector {vector:#010x} is not VECTOR_E131_EXTENDED_DISCOVERY")
    name = _source_name(datagram[44:108])
    if _u32(datagram, 108) != 0:
        raise E131Error("framing reserved octets are not 0")
    _flags_length(datagram, 112, "discovery")
    if (vector := _u32(datagram, 114)) != VECTOR_DISCOVERY_LIST:
        raise E131Error(f"discovery vector {vector:#010x} is not VECTOR_UNIVERSE_DISCOVERY_UNIVERSE_LIST")
    page, last = datagram[118], datagram[119]
    if page > last:
        raise E131Error(f"page {page} is after the last page {last}")
    universes = tuple(_u16(datagram, at) for at in range(120, len(datagram), 2))
    if list(universes) != sorted(universes):
        raise E131Error(f"universe list is not sorted: {universes}")
    return E131Discovery(bytes(datagram[22:38]), name, page, last, universes)


class E131Capture(asyncio.DatagramProtocol):
    """Datagrams arriving on one loopback UDP socket, kept in order (for async tests)."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []
        self._arrived = asyncio.Event()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.datagrams.append(data)
        self._arrived.set()

    def data_packets(self) -> list[E131Data]:
        """Every data packet so far, strictly parsed (raises on any malformed one)."""
        return [parse_data_packet(d) for d in self.datagrams if root_vector(d) == VECTOR_ROOT_DATA]

    async def wait_for(self, check: Callable[[E131Data], bool], timeout: float = 10.0,
                       since: int | None = None) -> E131Data:
        """The first data packet for which ``check(packet)`` is true, among those arriving from now on
        (``since``: from that index of :attr:`datagrams` instead, 0 for all so far)."""
        seen = len(self.datagrams) if since is None else since
        async with asyncio.timeout(timeout):
            while True:
                for data in self.datagrams[seen:]:
                    seen += 1
                    if root_vector(data) == VECTOR_ROOT_DATA:
                        packet = parse_data_packet(data)
                        if check(packet):
                            return packet
                self._arrived.clear()
                await self._arrived.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
