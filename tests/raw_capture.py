"""What the ``stagectl takes raw`` tests share: the stage, the datagrams a tracker sends, a reader of
the hex lines and a strict reader of the pcap files (after the libpcap file format)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction

from stagectl.core.opentrackio.codec import OpenTrackIOSample
from stagectl.core.timecode import FrameRate, Timecode
from tests.support.stagefile import StageFile
from tracking.freed.codec import FreeDPosition, encode_d1

STAGE = (StageFile("raw test", frame_rate=24)
         .source("A", "freed", camera_id=1)
         .source("B", "opentrackio")
         .takes(dir="takes")
         .text)


def freed(n: int, camera_id: int = 1) -> bytes:
    """FreeD D1 sample ``n`` of camera ``camera_id`` (pan n / 2 degrees, zoom n)."""
    return encode_d1(FreeDPosition(camera_id, pan_deg=n * 0.5, tilt_deg=-5.0, roll_deg=1.0, x_mm=1000.0 + n,
                                   y_mm=2000.0, z_mm=1500.0, zoom=n, focus=100))


def otrk_sample(n: int) -> OpenTrackIOSample:
    """OpenTrackIO sample ``n``: sequence n, timecode 01:02:03:n at 24 fps."""
    return OpenTrackIOSample(translation_m=(1.0 + n / 100, -2.0, 1.5), rotation_deg=(n * 2.0, -5.0, 0.5),
                             sequence_number=n, sample_rate=Fraction(24), source_number=1,
                             timecode=Timecode.from_components(1, 2, 3, n, FrameRate.parse(24)))


def hex_rows(text: str) -> list[list[str]]:
    """The entry rows of ``--format hex`` output, split into their seven fields."""
    rows = [line.split(" ") for line in text.splitlines() if not line.startswith("#")]
    assert all(len(row) == 7 for row in rows), rows[:3]
    return rows


def sum16(data: bytes) -> int:
    """The ones' complement sum of RFC 1071 (0xFFFF over a header whose checksum holds)."""
    data += b"\0" * (len(data) % 2)
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@dataclass
class Packet:
    """One UDP packet of a pcap file."""

    seconds: int
    nanos: int
    version: int
    src: bytes
    sport: int
    dst: bytes
    dport: int
    payload: bytes


def read_pcap(blob: bytes) -> list[Packet]:
    """Every packet of a nanosecond little-endian LINKTYPE_RAW pcap of UDP, each header checked."""
    head = struct.unpack_from("<IHHiIII", blob)
    assert head == (0xA1B23C4D, 2, 4, 0, 0, 65535, 101)
    packets, pos = [], 24
    while pos < len(blob):
        assert pos + 16 <= len(blob), "truncated record header"
        seconds, nanos, caplen, length = struct.unpack_from("<IIII", blob, pos)
        assert nanos < 1_000_000_000 and caplen == length <= 65535
        data = blob[pos + 16:pos + 16 + caplen]
        assert len(data) == caplen, "truncated packet"
        pos += 16 + caplen
        version = data[0] >> 4
        if version == 4:
            assert data[0] & 0x0F == 5 and struct.unpack_from("!H", data, 2)[0] == len(data)
            assert struct.unpack_from("!H", data, 6)[0] & 0x3FFF == 0  # not a fragment
            assert data[9] == 17 and sum16(data[:20]) == 0xFFFF  # UDP; the header checksum holds
            src, dst, udp = data[12:16], data[16:20], data[20:]
            pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
        else:
            assert version == 6 and data[6] == 17 and struct.unpack_from("!H", data, 4)[0] == len(data) - 40
            src, dst, udp = data[8:24], data[24:40], data[40:]
            pseudo = src + dst + struct.pack("!I3xB", len(udp), 17)
        sport, dport, udp_length, checksum = struct.unpack_from("!HHHH", udp)
        assert udp_length == len(udp) and (checksum != 0 or version == 4)  # IPv6 must have one
        assert checksum == 0 or sum16(pseudo + udp) == 0xFFFF, "UDP checksum"
        packets.append(Packet(seconds, nanos, version, src, sport, dst, dport, udp[8:]))
    return packets
