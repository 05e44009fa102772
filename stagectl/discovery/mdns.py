"""Zeroconf (mDNS / DNS-SD) on the stage: find LED processors and other stagectl instances, and
announce stagectl's own OSC control service. python-zeroconf's asyncio API, on the I/O loop.

What is browsed (:class:`Discovery`):

* ``_http._tcp.local.``, keeping only services that look like a stage device. No vendor mDNS
  service type is documented for Brompton Tessera or Megapixel HELIOS processors (UNVERIFIED:
  searched their public docs and clients, found none), so the kind is guessed from the TXT
  record: ``stagectl-kind=tessera|helios`` (what stagectl's emulators advertise), else
  ``vendor=brompton|megapixel``, else the instance name (``Tessera``, ``Brompton``,
  ``HELIOS``, ``Megapixel``). Anything else on ``_http._tcp`` (printers, NAS boxes) is ignored.
  Discovery is a convenience: devices can always be entered by address.
* ``_stagectl._udp.local.``: other stagectl instances' OSC control services (kind ``stagectl``).
* any further types given as ``service_types`` (type -> kind), for when a vendor documents one.

:class:`Advertiser` registers services (stagectl's control service; the emulators, as fake
processors). Names are made unique by zeroconf (``stagectl-2``) when another host uses them; a
record this host cached of its own earlier advert of the same service (same instance name, same
port and one of the same addresses: a restart within the records' TTL) is not another host, so it
is dropped from the cache and the name kept (:func:`stagectl.discovery.goodbye.own_earlier_advert`).

**Loopback only.** When every interface given is an IPv4 loopback address (the demo stage, tests),
no socket is bound to ``0.0.0.0`` and no packet leaves the host (:mod:`stagectl.discovery.sockets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zeroconf import BadTypeInNameException, IPVersion, NonUniqueNameException, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.logutil import swallowed
from stagectl.core.runtime import async_cancel
from stagectl.core.text import escape_untrusted
from stagectl.discovery.goodbye import async_close_zeroconf, own_earlier_advert, send_goodbyes
from stagectl.discovery.sockets import bound_addresses, host_only, loopback_zeroconf

log = logging.getLogger("stagectl.discovery")

HTTP_SERVICE = "_http._tcp.local."
STAGECTL_SERVICE = "_stagectl._udp.local."
"""stagectl's OSC control-in (UDP); TXT: ``stagectl-kind=stagectl``, ``osc=/stagectl``, ``auth``."""
KIND_KEY = "stagectl-kind"
KINDS = ("tessera", "helios")
_VENDOR_KINDS = {"brompton": "tessera", "megapixel": "helios"}
_NAME_HINTS = (("tessera", "tessera"), ("brompton", "tessera"), ("helios", "helios"), ("megapixel", "helios"))
#: How long one service's details (address, port, TXT) are waited for, milliseconds.
RESOLVE_TIMEOUT_MS = 3000
#: Devices kept; services beyond this are ignored (and logged once).
MAX_FOUND = 512
_RESOLVE_CONCURRENCY = 8


class DiscoveryError(StageError):
    """mDNS could not start, or an advertisement was refused (bad type, name, port or TXT)."""


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """One device seen on the network.

    ``name`` is the instance name (``Tessera SX40 A``); ``kind`` the guess (``tessera``,
    ``helios``, ``stagectl`` or a kind from ``service_types``); ``url`` ``http://host:port/path``
    for HTTP services and ``osc.udp://host:port/`` (liblo's form) for stagectl; ``first_seen`` /
    ``last_seen`` are wall-clock seconds (``time.time()``), for display.
    """

    name: str
    service_type: str
    kind: str
    host: str
    port: int
    url: str
    txt: Mapping[str, str]
    first_seen: float
    last_seen: float


def kind_guess(service_type: str, name: str, txt: Mapping[str, str],
               extra_types: Mapping[str, str] | None = None) -> str | None:
    """The kind of device a service is, or None when it does not look like a stage device."""
    if service_type == STAGECTL_SERVICE:
        return "stagectl"
    if extra_types and service_type in extra_types:
        return extra_types[service_type]
    declared = txt.get(KIND_KEY, "").strip().lower()
    if declared in KINDS:
        return declared
    vendor = _VENDOR_KINDS.get(txt.get("vendor", "").strip().lower())
    if vendor is not None:
        return vendor
    lowered = name.lower()
    for hint, kind in _NAME_HINTS:
        if hint in lowered:
            return kind
    return None


def _instance_name(full_name: str, service_type: str) -> str:
    suffix = "." + service_type
    return full_name[:-len(suffix)] if full_name.endswith(suffix) else full_name


def _url(service_type: str, host: str, port: int, txt: Mapping[str, str]) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if service_type == STAGECTL_SERVICE:
        return f"osc.udp://{where}/"
    path = txt.get("path", "/") or "/"
    return f"http://{where}{path if path.startswith('/') else '/' + path}"


def _is_loopback_only(interfaces: Sequence[str] | None) -> bool:
    if not interfaces:
        return False
    try:
        return all(ipaddress.ip_address(i).is_loopback for i in interfaces)
    except ValueError:
        return False


def _is_ipv4_loopback_only(interfaces: Sequence[str] | None) -> bool:
    return _is_loopback_only(interfaces) and all(":" not in i for i in interfaces or ())


async def async_open_zeroconf(interfaces: Sequence[str] | None = None) -> AsyncZeroconf:
    """An AsyncZeroconf on ``interfaces`` (IP addresses; None: every interface), started.

    Loopback-only interface lists get host-only sockets, none bound to ``0.0.0.0`` (see the module
    docstring). DiscoveryError when the mDNS port cannot be opened.
    """
    choice: Any = list(interfaces) if interfaces else None
    where = ", ".join(interfaces) if interfaces else "all interfaces"
    try:
        if _is_ipv4_loopback_only(interfaces):
            azc = AsyncZeroconf(zc=loopback_zeroconf(list(interfaces or ())))
        else:
            azc = AsyncZeroconf(interfaces=choice) if choice else AsyncZeroconf(ip_version=IPVersion.V4Only)
        await azc.zeroconf.async_wait_for_start()
    except (OSError, RuntimeError) as exc:
        raise DiscoveryError(f"cannot open mDNS (UDP 5353) on {where}: {exc}") from None
    if _is_loopback_only(interfaces):
        host_only(azc.zeroconf)
        wide = [f"{host}:{port}" for host, port in bound_addresses(azc.zeroconf) if host in ("0.0.0.0", "::")]
        if wide:  # IPv6 loopback, or a zeroconf that no longer builds its sockets where we replace them
            log.warning("discovery: mDNS limited to %s is bound to %s too (datagrams to port 5353 on any "
                        "interface reach it); limit it to IPv4 loopback", where, ", ".join(wide))
    return azc


class Discovery:
    """Browses for stage devices (see the module docstring). Construct anywhere, run on the I/O loop.

    ``interfaces``: IP addresses of the interfaces to use (None: all; ``["127.0.0.1"]``: this
    host only). ``service_types``: further DNS-SD types to browse, each with the kind to report.
    """

    def __init__(self, *, interfaces: Sequence[str] | None = None, events: EventQueue | None = None,
                 service_types: Mapping[str, str] | None = None) -> None:
        self.interfaces = tuple(interfaces) if interfaces else None
        self.events = events if events is not None else EventQueue()
        self.extra_types = dict(service_types or {})
        self.types = (HTTP_SERVICE, STAGECTL_SERVICE, *self.extra_types)
        self._azc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._found: dict[str, FoundDevice] = {}
        self._resolves: dict[str, asyncio.Task[None]] = {}
        self._resolving = asyncio.Semaphore(_RESOLVE_CONCURRENCY)
        self._changed: asyncio.Event | None = None
        self._full_warned = False

    @property
    def zeroconf(self) -> AsyncZeroconf | None:
        """The running AsyncZeroconf (share it with an :class:`Advertiser`); None when stopped."""
        return self._azc

    async def async_start(self) -> None:
        """Open mDNS and start browsing; DiscoveryError when mDNS cannot open."""
        self._changed = asyncio.Event()
        self._resolving = asyncio.Semaphore(_RESOLVE_CONCURRENCY)
        self._azc = await async_open_zeroconf(self.interfaces)
        self._browser = AsyncServiceBrowser(self._azc.zeroconf, list(self.types), handlers=[self._on_change])

    async def async_stop(self) -> int:
        """Stop browsing and close mDNS (idempotent): the adverts registered on it (an
        :class:`Advertiser` sharing it) are withdrawn in one goodbye packet (stagectl.discovery.goodbye).
        ``found()`` is emptied. Returns how many adverts were withdrawn."""
        browser, self._browser = self._browser, None
        azc, self._azc = self._azc, None
        if browser is not None:
            await browser.async_cancel()
        tasks, self._resolves = list(self._resolves.values()), {}
        await async_cancel(*tasks)
        withdrawn = 0 if azc is None else await async_close_zeroconf(azc)
        self._found.clear()
        return withdrawn

    def found(self) -> list[FoundDevice]:
        """The devices seen and not gone, by kind then name (a copy)."""
        return sorted(self._found.values(), key=lambda d: (d.kind, d.name.lower()))

    async def async_wait(self, predicate: Callable[[list[FoundDevice]], bool], timeout_s: float) -> bool:
        """Wait until ``predicate(found())`` holds (True) or ``timeout_s`` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while not predicate(self.found()):
            changed = self._changed
            remaining = deadline - time.monotonic()
            if changed is None or remaining <= 0:
                return False
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        return True

    # --- zeroconf callbacks (on the loop) ---------------------------------------------------------

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str,
                   state_change: ServiceStateChange) -> None:
        pending = self._resolves.pop(name, None)
        if pending is not None:  # newer news about this service: the older resolve is moot
            pending.cancel()
        if state_change is ServiceStateChange.Removed:
            gone = self._found.pop(name, None)
            if gone is not None:
                self.events.post(Level.INFO, "discovery", "state",
                                 f"{gone.kind} {gone.name!r} at {gone.url} gone", for_take=False)
                self._notify()
            return
        task = asyncio.create_task(self._resolve(zeroconf, service_type, name), name=f"resolve {name}")
        self._resolves[name] = task
        task.add_done_callback(lambda done: self._resolved(name, done))

    def _resolved(self, name: str, task: asyncio.Task[None]) -> None:
        if self._resolves.get(name) is task:
            del self._resolves[name]

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        try:
            async with self._resolving:
                resolved = await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS)
        except Exception as exc:  # a bad record from the network must not kill the task group
            log.debug("discovery: resolving %s failed: %s", escape_untrusted(name), escape_untrusted(exc))
            return
        if not resolved or info.port is None:
            log.debug("discovery: %s did not resolve within %d ms", escape_untrusted(name),
                      RESOLVE_TIMEOUT_MS)
            return
        txt = {key: (value or "") for key, value in info.decoded_properties.items()}
        instance = _instance_name(name, service_type)
        kind = kind_guess(service_type, instance, txt, self.extra_types)
        addresses = info.parsed_addresses(IPVersion.V4Only) or info.parsed_addresses()
        if kind is None or not addresses:
            return
        self._store(name, service_type, instance, kind, addresses[0], info.port, txt)

    def _store(self, key: str, service_type: str, instance: str, kind: str, host: str, port: int,
               txt: dict[str, str]) -> None:
        now = time.time()
        previous = self._found.get(key)
        if previous is None and len(self._found) >= MAX_FOUND:
            if not self._full_warned:
                self._full_warned = True
                log.warning("discovery: more than %d devices; ignoring the rest", MAX_FOUND)
            return
        device = FoundDevice(instance, service_type, kind, host, port, _url(service_type, host, port, txt),
                             txt, previous.first_seen if previous else now, now)
        self._found[key] = device
        if previous is None or (previous.host, previous.port, previous.txt) != (host, port, txt):
            self.events.post(Level.INFO, "discovery", "state", f"found {kind} {instance!r} at {device.url}",
                             for_take=False)
        self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()


@dataclass(frozen=True, slots=True)
class Advert:
    """A registered service (what :meth:`Advertiser.advertise` returns); ``name`` is the final
    instance name (zeroconf may have appended ``-2``)."""

    service_type: str
    name: str
    port: int
    info: AsyncServiceInfo


class Advertiser:
    """Registers services over mDNS. Uses ``zeroconf`` when given (a running Discovery's), else
    opens its own on ``interfaces`` at the first advertisement."""

    def __init__(self, *, interfaces: Sequence[str] | None = None,
                 zeroconf: AsyncZeroconf | None = None) -> None:
        self.interfaces = tuple(interfaces) if interfaces else None
        self._shared = zeroconf
        self._own: AsyncZeroconf | None = None
        self._adverts: list[Advert] = []

    async def _zeroconf(self) -> AsyncZeroconf:
        if self._shared is not None:
            return self._shared
        if self._own is None:
            self._own = await async_open_zeroconf(self.interfaces)
        return self._own

    async def async_advertise(self, service_type: str, name: str, port: int, txt: Mapping[str, str],
                        host: str | Sequence[str] = "127.0.0.1") -> Advert:
        """Register ``name`` (an instance name, <= 63 bytes) of ``service_type`` at ``host:port``.

        ``host``: the IP address to announce, or several (a server bound to 0.0.0.0 announces
        each interface's address). Returns once probing is done (about 1 s) and the announcement
        is on its way. DiscoveryError for a bad type, name, port, TXT entry or host.
        """
        if not name or len(name.encode()) > 63:
            raise DiscoveryError(f"service name {name!r} must be 1..63 bytes")
        if not 1 <= port <= 65535:
            raise DiscoveryError(f"service port must be 1..65535, got {port}")
        hosts = [host] if isinstance(host, str) else list(host)
        try:
            addresses = [ipaddress.ip_address(h).packed for h in hosts]
        except ValueError:
            raise DiscoveryError(f"advertised host {host!r} is not an IP address") from None
        if not addresses:
            raise DiscoveryError(f"no address to advertise {name!r} at")
        for key, value in txt.items():
            if not key or "=" in key or len(key.encode()) + 1 + len(value.encode()) > 255:
                raise DiscoveryError(f"TXT entry {key!r}={value!r}: key must be non-empty without '=', "
                                     "and key=value at most 255 bytes")
        label = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")[:40] or "stagectl"
        try:
            info = AsyncServiceInfo(service_type, f"{name}.{service_type}", port=port, properties=dict(txt),
                                    server=f"{label}-{port}.local.", addresses=addresses)
            zc = await self._zeroconf()
            stale = own_earlier_advert(zc.zeroconf.cache, info.type, info.name, port, addresses)
            if stale:
                log.debug("discovery: %r was this host's own earlier advert; keeping the name", name)
                zc.zeroconf.cache.async_remove_records(stale)
            announced = await zc.async_register_service(info, allow_name_change=True)
            await announced
        except (BadTypeInNameException, NonUniqueNameException, ValueError) as exc:
            raise DiscoveryError(f"cannot advertise {name!r} as {service_type}: {type(exc).__name__} {exc}") \
                from None
        advert = Advert(service_type, _instance_name(info.name, service_type), port, info)
        self._adverts.append(advert)
        return advert

    async def async_withdraw(self, handle: Advert) -> None:
        """Unregister (sends goodbye packets, so browsers drop it at once). Unknown handles are ignored."""
        if handle not in self._adverts:
            return
        self._adverts.remove(handle)
        zc = self._shared if self._shared is not None else self._own
        if zc is None:
            return
        goodbye = await zc.async_unregister_service(handle.info)
        await goodbye

    async def async_stop(self) -> None:
        """Withdraw everything in one goodbye packet (stagectl.discovery.goodbye, no repeats waited
        for); close the zeroconf this advertiser opened (not a shared one)."""
        adverts, self._adverts = self._adverts, []
        own, self._own = self._own, None
        with swallowed(log, "a goodbye packet while stopping mDNS"):
            if own is not None:
                await async_close_zeroconf(own)
            elif self._shared is not None:
                send_goodbyes(self._shared.zeroconf, [advert.info for advert in adverts])


def control_txt(passcode_required: bool) -> dict[str, str]:
    """TXT record of stagectl's control service (``_stagectl._udp``)."""
    return {KIND_KEY: "stagectl", "osc": "/stagectl", "auth": "passcode" if passcode_required else "none"}
