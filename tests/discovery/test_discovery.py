"""Zeroconf discovery and advertising over real mDNS on the loopback interface.

mDNS on ``lo`` is shared by every process on this machine, so each test uses unique names and
only looks for its own. The suite's network guard (tests/conftest.py) fails any multicast that
is not TTL 0 out of loopback: these tests pass only because loopback-only zeroconf is host-only
(a transport the guard killed is a loop error, which fails the test through ``run_loop``).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from zeroconf.asyncio import AsyncServiceInfo

import stagectl.discovery.mdns
from stagectl.core.events import EventQueue
from stagectl.discovery.mdns import (
    HTTP_SERVICE,
    KIND_KEY,
    STAGECTL_SERVICE,
    Advertiser,
    Discovery,
    DiscoveryError,
    FoundDevice,
    control_txt,
    kind_guess,
)
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

LO = ["127.0.0.1"]
FOUND_TIMEOUT_S = 10.0
"""mDNS on loopback finds an announced service within a second; the bound is for a loaded machine."""


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def _named(name: str) -> Callable[[list[FoundDevice]], bool]:
    return lambda found: any(d.name == name for d in found)


def _get(discovery: Discovery, name: str) -> FoundDevice:
    [device] = [d for d in discovery.found() if d.name == name]
    return device


def test_a_fake_tessera_is_found_then_gone_when_withdrawn() -> None:
    name = _unique("Fake Tessera")
    events = EventQueue()

    async def body() -> None:
        advertiser = Advertiser(interfaces=LO)
        discovery = Discovery(interfaces=LO, events=events)
        try:
            await discovery.async_start()
            advert = await advertiser.async_advertise(HTTP_SERVICE, name, 18080,
                                                      {KIND_KEY: "tessera", "vendor": "brompton",
                                                       "model": "SX40", "path": "/api/"})
            assert advert.name == name
            assert await discovery.async_wait(_named(name), FOUND_TIMEOUT_S), discovery.found()
            device = _get(discovery, name)
            assert (device.kind, device.host, device.port) == ("tessera", "127.0.0.1", 18080)
            assert device.service_type == HTTP_SERVICE
            assert device.url == "http://127.0.0.1:18080/api/"
            assert device.txt == {KIND_KEY: "tessera", "vendor": "brompton", "model": "SX40", "path": "/api/"}
            assert 0 < device.first_seen <= device.last_seen
            await advertiser.async_withdraw(advert)
            assert await discovery.async_wait(lambda found: not _named(name)(found), FOUND_TIMEOUT_S)
        finally:
            await advertiser.async_stop()
            await discovery.async_stop()

    run_loop(body)
    messages = [e.message for e in events.drain()]
    assert f"found tessera {name!r} at http://127.0.0.1:18080/api/" in messages
    assert f"tessera {name!r} at http://127.0.0.1:18080/api/ gone" in messages


def test_control_service_and_name_only_helios_found_and_a_printer_ignored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    control, helios, printer = _unique("stagectl on stage-pc"), _unique("HELIOS B"), _unique("Office printer")
    judged: dict[str, str | None] = {}  # instance name -> the kind discovery gave it

    def judging(service_type: str, name: str, txt: dict[str, str], extra: dict[str, str]) -> str | None:
        judged[name] = kind = kind_guess(service_type, name, txt, extra)
        return kind

    monkeypatch.setattr(stagectl.discovery.mdns, "kind_guess", judging)

    async def body() -> None:
        advertiser = Advertiser(interfaces=LO)
        discovery = Discovery(interfaces=LO)
        try:
            await discovery.async_start()
            await asyncio.gather(
                advertiser.async_advertise(HTTP_SERVICE, printer, 631, {"rp": "ipp/print"}),
                advertiser.async_advertise(STAGECTL_SERVICE, control, 53000,
                                           control_txt(passcode_required=True)),
                advertiser.async_advertise(HTTP_SERVICE, helios, 18081, {}))
            assert await discovery.async_wait(lambda f: _named(control)(f) and _named(helios)(f),
                                              FOUND_TIMEOUT_S), discovery.found()
            device = _get(discovery, control)
            assert (device.kind, device.url) == ("stagectl", "osc.udp://127.0.0.1:53000/")
            assert device.txt == {KIND_KEY: "stagectl", "osc": "/stagectl", "auth": "passcode"}
            assert _get(discovery, helios).kind == "helios"
            # The printer was resolved and judged, and is not among the devices found.
            await async_wait_until(lambda: printer in judged, timeout_s=FOUND_TIMEOUT_S)
            assert judged[printer] is None
            assert not _named(printer)(discovery.found())
        finally:
            await advertiser.async_stop()
            await discovery.async_stop()

    run_loop(body)


def test_one_shared_zeroconf_finds_its_own_adverts_and_is_host_only() -> None:
    name = _unique("Tessera shared")

    async def body() -> None:
        discovery = Discovery(interfaces=LO)
        await discovery.async_start()
        assert discovery.zeroconf is not None
        advertiser = Advertiser(zeroconf=discovery.zeroconf)
        try:
            engine = discovery.zeroconf.zeroconf.engine
            ttls = [s.sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) for s in engine.senders]
            assert ttls and all(ttl == 0 for ttl in ttls)
            if sys.platform.startswith("linux"):  # IP_MULTICAST_ALL (49) off: no LAN mDNS delivered to us
                assert all(r.sock.getsockopt(socket.IPPROTO_IP, 49) == 0 for r in engine.readers)
            await advertiser.async_advertise(HTTP_SERVICE, name, 18082, {KIND_KEY: "tessera"})
            assert await discovery.async_wait(_named(name), FOUND_TIMEOUT_S)
        finally:
            await advertiser.async_stop()  # withdraws, leaves the shared zeroconf open
            assert discovery.zeroconf is not None
            await discovery.async_stop()
        assert discovery.found() == [] and discovery.zeroconf is None

    run_loop(body)


@pytest.mark.parametrize(("port", "address", "renamed"), [
    (18083, "127.0.0.1", False),  # this host's own earlier advert of the service: the name is kept
    (18084, "127.0.0.1", True),  # the name held at another port: another service, the rename stands
    (18083, "10.9.8.7", True),  # ... at another address
])
def test_a_cached_earlier_advert_of_our_own_keeps_the_name(port: int, address: str, renamed: bool) -> None:
    """A restart within the records' TTL finds its previous run's advert in the mDNS cache (stands in
    for it here: the records as that run announced them, put in the cache of the new run's zeroconf)."""
    name = _unique("stagectl Stage A on pc")

    async def body() -> str:
        discovery = Discovery(interfaces=LO)
        await discovery.async_start()
        assert discovery.zeroconf is not None
        advertiser = Advertiser(zeroconf=discovery.zeroconf)
        earlier = AsyncServiceInfo(STAGECTL_SERVICE, f"{name}.{STAGECTL_SERVICE}", port=port,
                                   properties=control_txt(False), server=f"earlier-{port}.local.",
                                   addresses=[socket.inet_aton(address)])
        cache = discovery.zeroconf.zeroconf.cache
        cache.async_add_records([earlier.dns_pointer(), earlier.dns_service(), earlier.dns_text(),
                                 *earlier.dns_addresses()])
        try:
            advert = await advertiser.async_advertise(STAGECTL_SERVICE, name, 18083, control_txt(False))
            assert await discovery.async_wait(
                lambda found: any(d.name == advert.name and d.port == 18083 for d in found), FOUND_TIMEOUT_S)
            return advert.name
        finally:
            await advertiser.async_stop()
            await discovery.async_stop()

    assert run_loop(body) == (f"{name}-2" if renamed else name)


@pytest.mark.parametrize(("service_type", "name", "txt", "kind"), [
    (HTTP_SERVICE, "anything", {KIND_KEY: "helios"}, "helios"),
    (HTTP_SERVICE, "anything", {KIND_KEY: "TESSERA "}, "tessera"),
    (HTTP_SERVICE, "anything", {"vendor": "Megapixel"}, "helios"),
    (HTTP_SERVICE, "Brompton SX40 (stage left)", {}, "tessera"),
    (HTTP_SERVICE, "Office printer", {"vendor": "hp"}, None),
    (HTTP_SERVICE, "anything", {KIND_KEY: "novastar"}, None),
    (STAGECTL_SERVICE, "stagectl on pc", {}, "stagectl"),
    ("_vendorx._tcp.local.", "unit 1", {}, "tessera"),
])
def test_kind_guess(service_type: str, name: str, txt: dict[str, str], kind: str | None) -> None:
    assert kind_guess(service_type, name, txt, {"_vendorx._tcp.local.": "tessera"}) == kind


@pytest.mark.parametrize(("args", "message"), [
    ((HTTP_SERVICE, "", 80, {}), "must be 1..63 bytes"),
    ((HTTP_SERVICE, "x" * 64, 80, {}), "must be 1..63 bytes"),
    ((HTTP_SERVICE, "ok", 0, {}), "port must be 1..65535"),
    ((HTTP_SERVICE, "ok", 80, {"a=b": "c"}), "TXT entry"),
    ((HTTP_SERVICE, "ok", 80, {"k": "v" * 300}), "at most 255 bytes"),
    (("_http._tcp.example.", "ok", 80, {}), "cannot advertise 'ok'"),
])
def test_bad_adverts_are_refused_with_the_reason(args: tuple[Any, ...], message: str) -> None:
    async def body() -> None:
        advertiser = Advertiser(interfaces=LO)
        try:
            with pytest.raises(DiscoveryError, match=message):
                await advertiser.async_advertise(*args)
            with pytest.raises(DiscoveryError, match="not an IP address"):
                await advertiser.async_advertise(HTTP_SERVICE, "ok", 80, {}, host="stage-pc.local")
            with pytest.raises(DiscoveryError, match="no address"):
                await advertiser.async_advertise(HTTP_SERVICE, "ok", 80, {}, host=[])
        finally:
            await advertiser.async_stop()

    run_loop(body)
