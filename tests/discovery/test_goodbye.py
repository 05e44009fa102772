"""Withdrawing adverts when mDNS closes: one goodbye packet holding every advert (TTL 0), sent
GOODBYE_SENDS times, seen by a listener of our own on the mDNS group over loopback."""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid

import pytest
from zeroconf._protocol.incoming import DNSIncoming

from stagectl.discovery.goodbye import GOODBYE_SENDS, async_close_zeroconf
from stagectl.discovery.mdns import HTTP_SERVICE, Advertiser, async_open_zeroconf
from stagectl.discovery.sockets import MDNS_GROUP
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="IP_MULTICAST_ALL is Linux's")

_IP_MULTICAST_ALL = 49


def group_listener() -> socket.socket:
    """A socket receiving what is sent to the mDNS group on loopback (beside zeroconf's own)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((MDNS_GROUP, 5353))
    membership = socket.inet_aton(MDNS_GROUP) + socket.inet_aton("127.0.0.1")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
    sock.setblocking(False)
    return sock


def goodbyes_for(sock: socket.socket, names: set[str], packets: list[set[str]] | None = None
                 ) -> list[set[str]]:
    """Per packet read from ``sock``: which of ``names`` (instance names) it withdraws (a TTL-0 PTR),
    appended to ``packets``; returns them."""
    packets = [] if packets is None else packets
    while True:
        try:
            data = sock.recv(9000)
        except BlockingIOError:
            return packets
        withdrawn = {name for record in DNSIncoming(data).answers() if record.ttl == 0
                     for name in names if getattr(record, "alias", "").startswith(name + ".")}
        if withdrawn:
            packets.append(withdrawn)


def test_closing_mdns_withdraws_every_advert_in_one_packet_sent_goodbye_sends_times() -> None:
    tag = uuid.uuid4().hex[:6]
    names = {f"Goodbye test {tag} {i}" for i in range(3)}
    listener = group_listener()

    async def scenario() -> tuple[int, list[set[str]]]:
        azc = await async_open_zeroconf(["127.0.0.1"])
        advertiser = Advertiser(zeroconf=azc)
        await asyncio.gather(*(advertiser.async_advertise(HTTP_SERVICE, name, port, {"path": "/"})
                               for port, name in enumerate(sorted(names), start=18_500)))
        goodbyes_for(listener, names)  # drop the announcements
        withdrawn = await async_close_zeroconf(azc)
        seen: list[set[str]] = []
        await async_wait_until(lambda: len(goodbyes_for(listener, names, seen)) >= GOODBYE_SENDS)
        return withdrawn, goodbyes_for(listener, names, seen)

    try:
        withdrawn, packets = run_loop(scenario)
    finally:
        listener.close()
    assert withdrawn == 3
    assert packets == [names] * GOODBYE_SENDS


def test_an_advertiser_on_a_shared_zeroconf_withdraws_only_its_own_adverts() -> None:
    tag = uuid.uuid4().hex[:6]
    mine, other = f"Goodbye mine {tag}", f"Goodbye other {tag}"
    listener = group_listener()

    async def scenario() -> tuple[list[set[str]], int]:
        azc = await async_open_zeroconf(["127.0.0.1"])
        ours, theirs = Advertiser(zeroconf=azc), Advertiser(zeroconf=azc)
        await ours.async_advertise(HTTP_SERVICE, mine, 18_510, {})
        await theirs.async_advertise(HTTP_SERVICE, other, 18_511, {})
        goodbyes_for(listener, {mine, other})
        await ours.async_stop()
        seen: list[set[str]] = []
        await async_wait_until(lambda: len(goodbyes_for(listener, {mine, other}, seen)) >= GOODBYE_SENDS)
        still = len(azc.zeroconf.registry.async_get_service_infos())
        await async_close_zeroconf(azc)
        return seen, still

    try:
        seen, still = run_loop(scenario)
    finally:
        listener.close()
    assert seen == [{mine}] * GOODBYE_SENDS
    assert still == 1  # the other advertiser's service is still announced
