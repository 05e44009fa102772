"""A take's raw capture as text or as a packet capture: what ``stagectl takes raw`` writes.

**Hex lines** (``--format hex``, the default): UTF-8 text, one line per raw entry after a header of
``#`` comment lines::

    # stagectl takes raw: take 3 12-A-T001
    # format: hex 1: number arrival_ns wall_clock_utc source peer flags data_hex
    # source 0 A/freed#1 freed cameras=A {"camera_id": 1, "listen": "127.0.0.1:40000", ...}
    # source 1 B/otrk opentrackio cameras=B {"group": null, "listen": "127.0.0.1:55555", ...}
    0 812345678901 2026-12-07T11:26:31.649665526Z 1 127.0.0.1:50123 P 4f54726b0001...
    1 812346012345 2026-12-07T11:26:31.649999170Z 0 127.0.0.1:50124 - d1010000...

Each ``# source`` line gives the source's index, name, protocol, the cameras it fed (comma
separated) and its decoding settings as one JSON object (keys sorted). Each entry line has seven
fields separated by one space:

1. ``number``: the entry's place in the take's raw capture (arrival order over all sources, from 0;
   with ``--camera`` the numbers of the other sources' entries are missing);
2. ``arrival_ns``: ``time.monotonic_ns()`` at arrival (the clock the samples' ``arrival_ns`` use);
3. the wall clock at arrival, ISO 8601 UTC with nanoseconds (``2026-12-07T11:26:31.649665526Z``);
4. the take source index (a ``# source`` line);
5. the sender: ``host:port``, ``[v6 address]:port``, or a serial port's name (a space or ``%`` in
   it is written ``%20`` / ``%25``; ``-`` when unknown);
6. flags: ``P`` for a pre-roll entry (arrived just before RECORD), ``-`` otherwise;
7. the bytes as lowercase hex, no separators (``-`` for an empty datagram).

Lines end in ``\\n``. A reader splits each non-comment line on single spaces into exactly seven
fields.

**pcap** (``--format pcap``): a classic libpcap file that Wireshark and tshark open: little-endian,
nanosecond-resolution magic ``0xa1b23c4d``, version 2.4, snaplen 65535, link type
``LINKTYPE_RAW`` (101: each packet starts with its IP header). Each entry becomes one synthesized
IPv4 (IPv6 when the sender is an IPv6 address) + UDP packet: source address and port = the sender,
destination = the source's ``listen`` setting (``0.0.0.0:0`` / ``[::]:0`` when unknown; a v4 listen
address seen by a v6 sender as ``::ffff:a.b.c.d``; the unspecified address, with the listen port, when
the families differ otherwise), timestamp = the wall clock
at arrival, TTL / hop limit 64, IPv4 identification = the entry number (mod 65536), correct IPv4
header checksum and UDP checksum (both families), the UDP payload exactly the captured bytes. A
sender that is not an IP address (a serial port) cannot become a packet: serial sources are not
written (see :func:`is_serial`; the command leaves them out with a warning, or refuses when nothing
else is left).
"""

from __future__ import annotations

import ipaddress
import json
import struct
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from stagectl.takes.model import RawEntry as Entry
from stagectl.takes.model import TakeSource
from stagectl.takes.records import RAW_PREROLL

HEX_FORMAT_VERSION = 1
PCAP_MAGIC_NS = 0xA1B23C4D
PCAP_SNAPLEN = 65535
LINKTYPE_RAW = 101
TTL = 64
#: Largest UDP payload an IPv4 packet can carry (65535 - 20 - 8); IPv6: 65535 - 8 in its payload length.
MAX_UDP_V4 = 65507
MAX_UDP_V6 = 65527
SERIAL_PROTOCOLS = ("freed-serial", "lens-serial")
_NS = 1_000_000_000
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_UDP_PROTOCOL = 17

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- hex lines ---------------------------------------------------------------------------------------

def iso_utc(wall_ns: int) -> str:
    """Wall-clock ns since the Unix epoch as ISO 8601 UTC with nanoseconds (``...T11:26:31.649665526Z``)."""
    seconds, nanos = divmod(wall_ns, _NS)
    return f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def _peer_field(peer: str) -> str:
    return peer.replace("%", "%25").replace(" ", "%20") if peer else "-"


def hex_header(take_id: int, take_name: str, sources: Iterable[TakeSource]) -> Iterator[str]:
    """The ``#`` comment lines that open a hex dump (each ends in a newline)."""
    yield f"# stagectl takes raw: take {take_id} {take_name}\n"
    yield (f"# format: hex {HEX_FORMAT_VERSION}: number arrival_ns wall_clock_utc source peer flags "
           "data_hex\n")
    for s in sources:
        settings = json.dumps(dict(s.settings), sort_keys=True, default=str)
        yield f"# source {s.index} {s.name} {s.protocol} cameras={','.join(s.cameras)} {settings}\n"


def hex_line(entry: Entry) -> str:
    """One entry as its hex line (see the module docstring)."""
    flags = "P" if entry.flags & RAW_PREROLL else "-"
    return (f"{entry.number} {entry.arrival_ns} {iso_utc(entry.wall_ns)} {entry.source} "
            f"{_peer_field(entry.peer)} {flags} {entry.data.hex() or '-'}\n")


# --- pcap --------------------------------------------------------------------------------------------

def is_serial(protocol: str, settings: Mapping[str, Any]) -> bool:
    """Whether a source reads a serial port (its entries have no IP sender and cannot become packets)."""
    return protocol in SERIAL_PROTOCOLS or ("port" in settings and "listen" not in settings)


def parse_address(text: str | None) -> tuple[Address, int] | None:
    """``host:port`` / ``[v6]:port`` (a raw entry's peer, a ``listen`` setting) as (address, port); None
    when it is not an IP address and port (a serial port name, ``localhost``, nothing)."""
    if not text:
        return None
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]), int(port)  # a v6 scope (%eth0) is dropped
    except ValueError:
        return None


def destination(listen: str | None, sender: Address) -> tuple[Address, int]:
    """Where the packet of ``sender`` went: the ``listen`` setting, in the sender's address family."""
    parsed = parse_address(listen)
    unspecified: Address = (ipaddress.IPv4Address(0) if sender.version == 4 else ipaddress.IPv6Address(0))
    if parsed is None:
        return unspecified, 0
    address, port = parsed
    if address.version == sender.version:
        return address, port
    if isinstance(address, ipaddress.IPv4Address):  # a v4 listen address seen by a v6 (mapped) sender
        return ipaddress.IPv6Address(f"::ffff:{address}"), port
    mapped = address.ipv4_mapped
    return (mapped if mapped is not None else unspecified), port


def internet_checksum(*parts: bytes) -> int:
    """The ones' complement sum of RFC 1071 over ``parts`` joined (an odd length is padded with 0)."""
    data = b"".join(parts)
    if len(data) % 2:
        data += b"\0"
    total = sum(memoryview(data).cast("H"))  # native order: the sum is byte-order independent (RFC 1071)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    if sys.byteorder == "little":
        total = ((total & 0xFF) << 8) | (total >> 8)
    return ~total & 0xFFFF


def udp_packet(src: Address, sport: int, dst: Address, dport: int, payload: bytes, ident: int = 0) -> bytes:
    """An IPv4 or IPv6 packet (``src``'s family; ``dst`` must match it) carrying one UDP datagram."""
    length = _UDP.size + len(payload)
    if src.version == 4:
        if len(payload) > MAX_UDP_V4:
            raise ValueError(f"{len(payload)} bytes is over the IPv4 UDP maximum {MAX_UDP_V4}")
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, _UDP_PROTOCOL, length)
        total = 20 + length
        head = _IPV4.pack(0x45, 0, total, ident & 0xFFFF, 0, TTL, _UDP_PROTOCOL, 0, src.packed, dst.packed)
        head = head[:10] + internet_checksum(head).to_bytes(2, "big") + head[12:]
    else:
        if len(payload) > MAX_UDP_V6:
            raise ValueError(f"{len(payload)} bytes is over the IPv6 UDP maximum {MAX_UDP_V6}")
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", length, _UDP_PROTOCOL)
        head = struct.pack("!IHBB", 0x60000000, length, _UDP_PROTOCOL, TTL) + src.packed + dst.packed
    udp = _UDP.pack(sport, dport, length, 0)
    checksum = internet_checksum(pseudo, udp, payload) or 0xFFFF  # 0 means "none": sent as all ones
    return head + _UDP.pack(sport, dport, length, checksum) + payload


def pcap_header() -> bytes:
    """The pcap global header: nanosecond magic, 2.4, snaplen 65535, LINKTYPE_RAW."""
    return _GLOBAL.pack(PCAP_MAGIC_NS, 2, 4, 0, 0, PCAP_SNAPLEN, LINKTYPE_RAW)


def pcap_record(wall_ns: int, packet: bytes) -> bytes:
    """One packet record: its wall-clock timestamp (seconds, nanoseconds), lengths, the packet."""
    seconds, nanos = divmod(max(0, wall_ns), _NS)
    caplen = min(len(packet), PCAP_SNAPLEN)
    return _RECORD.pack(seconds & 0xFFFFFFFF, nanos, caplen, len(packet)) + packet[:caplen]


def entry_packet(entry: Entry, listen: str | None) -> bytes | None:
    """The IP + UDP packet of a raw entry (destination: the source's ``listen`` setting); None when its
    sender is not an IP address and port, or the datagram is too large for the family."""
    sender = parse_address(entry.peer)
    if sender is None:
        return None
    src, sport = sender
    dst, dport = destination(listen, src)
    try:
        return udp_packet(src, sport, dst, dport, entry.data, entry.number)
    except ValueError:
        return None


def write_pcap(out: BinaryIO, entries: Iterable[Entry], listen: Mapping[int, str | None]) -> tuple[int, int]:
    """Write the pcap header and one packet per entry (``listen``: each source's listen setting);
    returns (packets written, entries left out because their sender is not an IP address and port)."""
    out.write(pcap_header())
    written = skipped = 0
    for entry in entries:
        packet = entry_packet(entry, listen.get(entry.source))
        if packet is None:
            skipped += 1
            continue
        out.write(pcap_record(entry.wall_ns, packet))
        written += 1
    return written, skipped
