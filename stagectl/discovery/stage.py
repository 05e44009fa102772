"""Zeroconf on a running stage: browse for devices, announce the emulators and the control service
(the pure helpers that turn a found device into a ``[[devices]]`` table are
:mod:`stagectl.discovery.devices`, re-exported here).

* **Where mDNS runs.** ``[discovery] interfaces`` when given; else loopback only
  (``127.0.0.1``) when every address the stage listens on or talks to is loopback (the demo
  stage, tests), else every IPv4 interface (:func:`discovery_interfaces`).
* **What is announced.** Each running processor emulator as ``_http._tcp.local.`` (TXT
  ``stagectl-kind``, ``vendor``, ``path=/``, ``api``), only when mDNS is loopback-only: an
  emulator listens on 127.0.0.1, so announcing it to the stage network would point other
  machines at themselves. The control service (``[control] advertise``) as
  ``_stagectl._udp.local.`` with :func:`stagectl.discovery.mdns.control_txt` at its bound address
  (every interface's address when bound to 0.0.0.0; not at all to the network when it listens
  on loopback only). After a restart the previous run's advert of the control service, still in
  the mDNS cache at the same address and port, is recognised as this stage's own and its name
  kept (no ``-2``).
* **Failure.** mDNS that cannot open (UDP 5353 busy, no permission) is an ERROR event; the stage
  runs on and devices are added by address.
* **Events.** What discovery says (its zeroconf, announcements, found and gone devices) goes to
  the UI and the log but not into takes (``for_take=False``); its errors reach takes like any
  error.

Everything that opens sockets runs on the I/O loop and in the background: probing a name takes
about a second, so :meth:`StageDiscovery.start` never delays the stage's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ifaddr  # zeroconf's own interface lister (a dependency of zeroconf)
from zeroconf.asyncio import AsyncZeroconf

from stagectl.config.model import StageConfig
from stagectl.core.events import EventQueue, Level
from stagectl.core.links import Endpoint
from stagectl.core.logutil import swallowed
from stagectl.discovery.devices import (
    check_device_config,
    device_config_for,
    device_table,
    endpoint_key,
    slug,
    stage_file_snippet,
    unique_name,
)
from stagectl.discovery.goodbye import async_close_zeroconf
from stagectl.discovery.mdns import (
    HTTP_SERVICE,
    KIND_KEY,
    STAGECTL_SERVICE,
    Advert,
    Advertiser,
    Discovery,
    DiscoveryError,
    FoundDevice,
    async_open_zeroconf,
    control_txt,
)

__all__ = [
    "API_PATHS", "EMULATOR_NAMES", "LOOPBACK", "OWN_CONTROL", "SOURCE", "VENDORS", "EmulatorAdvert",
    "StageDiscovery", "check_device_config", "device_config_for", "device_table", "discovery_interfaces",
    "emulator_txt", "endpoint_key", "loopback_only", "slug", "stage_addresses", "stage_file_snippet",
    "unique_name",
]

SOURCE = "discovery"
log = logging.getLogger("stagectl.discovery")
LOOPBACK = ("127.0.0.1",)
OWN_CONTROL = "(this stage)"
"""What :attr:`StageDiscovery.own` calls this stage's own control service (not a device name)."""
VENDORS = {"tessera": "brompton", "helios": "megapixel"}
EMULATOR_NAMES = {"tessera": "Tessera emulator", "helios": "HELIOS emulator"}
#: Where each kind's API lives under the device's base URL (informational TXT ``api``).
API_PATHS = {"tessera": "/api/", "helios": "/api/v1/public"}


def emulator_txt(kind: str) -> dict[str, str]:
    """TXT record of an emulated processor: ``stagectl-kind``, ``vendor``, ``path`` (the web root,
    DNS-SD's meaning), ``api`` (where its API lives under the device URL)."""
    return {KIND_KEY: kind, "vendor": VENDORS.get(kind, ""), "path": "/", "api": API_PATHS.get(kind, "/")}


# --- which interfaces -------------------------------------------------------------------------------


def stage_addresses(config: StageConfig) -> list[str]:
    """Every host the stage listens on or sends to (sources, outputs, devices, control), as written."""
    hosts: list[str] = []
    for src in config.sources:
        hosts += [h for h in (src.listen.host if src.listen else None, src.group, src.interface) if h]
    for out in config.outputs:
        if not out.emulator:
            hosts += [out.target.host] + ([out.websocket.host] if out.websocket else [])
        hosts += [out.interface] if out.interface else []
    for dev in config.devices:
        if dev.url and not dev.emulator:
            hosts.append(urlsplit(dev.url).hostname or dev.url)
        hosts += [h for h in (dev.target.host if dev.target else None, dev.interface) if h]
    if config.control is not None:
        hosts.append(config.control.listen.host)
    return hosts


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def discovery_interfaces(config: StageConfig) -> tuple[str, ...] | None:
    """The interfaces mDNS uses: ``[discovery] interfaces``, else loopback when every address of
    :func:`stage_addresses` is loopback (or there is none), else None (every interface)."""
    if config.discovery.interfaces is not None:
        return config.discovery.interfaces
    return LOOPBACK if all(_is_loopback(h) for h in stage_addresses(config)) else None


def _interface_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (what a 0.0.0.0-bound server is reached at)."""
    return [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
            if isinstance(ip.ip, str) and not _is_loopback(ip.ip)]


def loopback_only(interfaces: Sequence[str] | None) -> bool:
    """True when ``interfaces`` names loopback addresses only (mDNS that never leaves this host)."""
    return bool(interfaces) and all(_is_loopback(i) for i in interfaces or ())


async def _uncancelled(coro: Any) -> None:
    """Await ``coro``; when cancelled meanwhile, let it finish first (so what it opened is known to
    :meth:`StageDiscovery.async_stop` and gets closed), then re-raise the cancellation."""
    task = asyncio.ensure_future(coro)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with swallowed(log, "a shielded mDNS step finishing after a cancel"):
            await task
        raise


# --- the running part -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmulatorAdvert:
    """What announcing one emulator needs: the device it stands in for, its kind and bound port."""

    device: str
    kind: str
    port: int


class StageDiscovery:
    """Browsing and advertising for one stage (see the module docstring); run on the I/O loop.

    Attributes:
        interfaces: where mDNS runs (None: every interface).
        note: one line for the window (``browsing on 127.0.0.1``, ``mDNS unavailable: ...``, ``off``).
        own: this stage's adverts by ``(service type, final instance name)``: the device an
            emulator stands in for, or :data:`OWN_CONTROL`.
        withdrawn: adverts withdrawn with a goodbye packet when mDNS last closed.
    """

    def __init__(self, config: StageConfig, events: EventQueue) -> None:
        self.config = config
        self.events = events
        self.interfaces = discovery_interfaces(config)
        self.browse = config.discovery.browse
        self.note = "starting" if self.browse else "off ([discovery] browse = false)"
        self.own: dict[tuple[str, str], str] = {}
        self._adverts: dict[str, list[Advert]] = {}
        self._discovery: Discovery | None = None
        self._zeroconf: AsyncZeroconf | None = None
        self._advertiser: Advertiser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: asyncio.Future[Advertiser | None] | None = None
        self.withdrawn = 0

    @property
    def where(self) -> str:
        """``127.0.0.1`` or ``all interfaces``."""
        return ", ".join(self.interfaces) if self.interfaces else "all interfaces"

    def found(self) -> tuple[FoundDevice, ...]:
        """The devices seen now (empty when not browsing)."""
        return tuple(self._discovery.found()) if self._discovery is not None else ()

    def added(self, found: Sequence[FoundDevice], processors: Mapping[str, str]) -> dict[str, str]:
        """``found.url`` -> what of this stage it is: the device an own advert stands for (or
        :data:`OWN_CONTROL`), else the processor (``processors``: name -> base URL) at its host:port."""
        if not found:
            return {}
        at = {endpoint_key(url): name for name, url in processors.items()}
        at.pop(None, None)
        out = {}
        for device in found:
            label = self.own.get((device.service_type, device.name)) or at.get(endpoint_key(device.url) or "")
            if label is not None:
                out[device.url] = label
        return out

    def start(self, emulators: Sequence[EmulatorAdvert], control: Endpoint | None,
              passcode_required: bool = False) -> None:
        """Open mDNS, browse and announce, in the background (call on the loop).

        ``control``: the control server's bound address when it runs and ``[control] advertise``.
        """
        if not self.browse and control is None:
            return
        loop = asyncio.get_running_loop()
        self._open = loop.create_future()
        self._spawn(self._async_run(emulators, control, passcode_required))

    def advertise_emulator(self, emulator: EmulatorAdvert) -> None:
        """Announce one more emulator (a device added at runtime), in the background (on the loop)."""
        if self._open is not None:
            self._spawn(self._async_emulators([emulator]))

    def withdraw_emulator(self, device: str) -> None:
        """Stop announcing the emulator of ``device`` (removed at runtime), in the background (on the loop):
        goodbye packets go out, and what is found at its address is no longer marked as this stage's."""
        adverts = self._adverts.pop(device, [])
        for advert in adverts:
            self.own.pop((advert.service_type, advert.name), None)
        if adverts and self._advertiser is not None:
            self._spawn(self._async_withdraw(self._advertiser, adverts))

    async def _async_withdraw(self, advertiser: Advertiser, adverts: Sequence[Advert]) -> None:
        for advert in adverts:
            try:
                await advertiser.async_withdraw(advert)
            except Exception as exc:  # zeroconf closing under us: the goodbye is best effort
                self.events.post(Level.WARNING, SOURCE, "error", f"could not withdraw {advert.name!r}: {exc}",
                                 for_take=False)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="stage discovery")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _async_run(self, emulators: Sequence[EmulatorAdvert], control: Endpoint | None,
                         passcode_required: bool) -> None:
        assert self._open is not None
        try:
            await _uncancelled(self._async_open())
        except Exception as exc:  # DiscoveryError, or zeroconf refusing the interface list
            self._discovery = None
            self.note = f"mDNS unavailable: {exc}"
            self.events.post(Level.ERROR, SOURCE, "error", f"{exc}; discovery is off, add devices by address "
                             "(Add device… in the Lighting panel)")
            self._open.set_result(None)
            return
        self._advertiser = Advertiser(zeroconf=self._zeroconf)
        self._open.set_result(self._advertiser)
        self.note = f"browsing on {self.where}" if self.browse \
            else f"announcing on {self.where} (not browsing)"
        self.events.post(Level.INFO, SOURCE, "state", f"zeroconf on {self.where}" +
                         ("" if self.browse else " (advertising only: [discovery] browse = false)"),
                         for_take=False)
        jobs = [self._async_emulators(emulators)]
        if control is not None:
            jobs.append(self._async_control(control, passcode_required))
        try:
            await asyncio.gather(*jobs)
        except Exception as exc:  # an advert the network refused: browsing goes on
            self.events.post(Level.ERROR, SOURCE, "error", f"announcing failed: {type(exc).__name__} {exc}")

    async def _async_open(self) -> None:
        if self.browse:
            discovery = Discovery(interfaces=self.interfaces, events=self.events)
            self._discovery = discovery
            await discovery.async_start()
            self._zeroconf = discovery.zeroconf
        else:
            self._zeroconf = await async_open_zeroconf(self.interfaces)

    async def _advertiser_ready(self) -> Advertiser | None:
        return None if self._open is None else await asyncio.shield(self._open)

    async def _async_emulators(self, emulators: Sequence[EmulatorAdvert]) -> None:
        advertiser = await self._advertiser_ready()
        if advertiser is None or not emulators:
            return
        if not loopback_only(self.interfaces):
            self.events.post(Level.INFO, SOURCE, "info", "emulators are not announced: they listen on "
                             f"127.0.0.1 and mDNS runs on {self.where}", for_take=False)
            return
        await asyncio.gather(*(self._announce(
            advertiser, HTTP_SERVICE, f"{EMULATOR_NAMES.get(e.kind, e.kind)} ({e.device})", e.port,
            emulator_txt(e.kind), "127.0.0.1", e.device) for e in emulators))

    async def _async_control(self, bound: Endpoint, passcode_required: bool) -> None:
        advertiser = await self._advertiser_ready()
        if advertiser is None:
            return
        address = ipaddress.ip_address(bound.host)
        hosts: list[str]
        if loopback_only(self.interfaces):
            hosts = ["127.0.0.1"] if address.is_loopback or address.is_unspecified else [bound.host]
        elif address.is_loopback:
            self.events.post(Level.INFO, SOURCE, "info", f"OSC control is not announced on the network: it "
                             f"listens on {bound} (set [control] listen to an interface's address)",
                             for_take=False)
            return
        elif address.is_unspecified:
            hosts = _interface_addresses()
        else:
            hosts = [bound.host]
        name = f"stagectl {self.config.name} on {socket.gethostname()}"
        name = name.encode()[:63].decode(errors="ignore").strip() or "stagectl"
        await self._announce(advertiser, STAGECTL_SERVICE, name, bound.port, control_txt(passcode_required),
                             hosts, OWN_CONTROL)

    async def _announce(self, advertiser: Advertiser, service_type: str, name: str, port: int,
                        txt: Mapping[str, str], host: str | list[str], label: str) -> Advert | None:
        try:
            advert = await advertiser.async_advertise(service_type, name, port, txt, host)
        except DiscoveryError as exc:
            self.events.post(Level.ERROR, SOURCE, "error", f"could not announce {name!r}: {exc}")
            return None
        self.own[(service_type, advert.name)] = label
        self._adverts.setdefault(label, []).append(advert)
        self.events.post(Level.INFO, SOURCE, "state",
                         f"announced {advert.name!r} ({service_type}) on port {port}", for_take=False)
        return advert

    async def async_stop(self) -> None:
        """Stop announcing (one goodbye packet for every advert, stagectl.discovery.goodbye) and
        browsing; close mDNS."""
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError), swallowed(log, "a discovery task, stopping"):
                await task
        discovery, self._discovery = self._discovery, None
        zeroconf, self._zeroconf = self._zeroconf, None
        self._advertiser, self._open = None, None
        self.own.clear()
        self._adverts.clear()
        try:
            if discovery is not None:
                self.withdrawn = await discovery.async_stop()  # closes its zeroconf, adverts included
            elif zeroconf is not None:
                self.withdrawn = await async_close_zeroconf(zeroconf)
        except Exception as exc:  # a stop must finish
            self.events.post(Level.ERROR, SOURCE, "error", f"error while stopping zeroconf: {exc}")
        if self.browse:
            self.note = "stopped"
