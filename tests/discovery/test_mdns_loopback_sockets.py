"""mDNS limited to loopback binds nothing to 0.0.0.0: read from the process's own socket table."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from stagectl.discovery.mdns import Advertiser, Discovery, async_open_zeroconf
from stagectl.discovery.sockets import MDNS_GROUP, bound_addresses
from tests.support.loop import run_loop

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/net/udp")


def _udp_sockets() -> set[tuple[str, int, str]]:
    """(host, port, inode) of every IPv4 and IPv6 UDP socket this process holds, from the kernel's table."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, family in (("udp", socket.AF_INET), ("udp6", socket.AF_INET6)):
        path = Path("/proc/self/net") / table
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            if fields[9] not in inodes:
                continue
            host_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(host_hex)
            # the kernel prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((socket.inet_ntop(family, words), int(port_hex, 16), fields[9]))
    return found


def test_loopback_only_mdns_binds_no_wildcard_address() -> None:
    async def main() -> set[tuple[str, int]]:
        before = _udp_sockets()
        azc = await async_open_zeroconf(["127.0.0.1"])
        try:
            opened = {(host, port) for host, port, _ in _udp_sockets() - before}
            assert set(bound_addresses(azc.zeroconf)) == opened
            return opened
        finally:
            await azc.async_close()

    opened = run_loop(main)
    assert opened == {(MDNS_GROUP, 5353), ("127.0.0.1", 5353)}
    assert not any(host in ("0.0.0.0", "::") for host, _ in opened)


def test_loopback_only_mdns_still_finds_what_is_advertised() -> None:
    async def main() -> bool:
        discovery = Discovery(interfaces=["127.0.0.1"])
        advertiser = Advertiser(interfaces=["127.0.0.1"])
        await discovery.async_start()
        try:
            await advertiser.async_advertise("_http._tcp.local.", "Tessera loopback bind", 8080,
                                             {"stagectl-kind": "tessera"})
            return await discovery.async_wait(
                lambda found: any(d.name == "Tessera loopback bind" for d in found), 10.0)
        finally:
            await advertiser.async_stop()
            await discovery.async_stop()

    assert run_loop(main)
