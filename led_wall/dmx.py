"""DMX fixtures over sACN (ANSI E1.31): :class:`SacnDevice`, kind ``sacn`` (guide: docs/dmx.md).

One device is one sACN source (one CID, one source name) sending every universe its fixtures are
patched in (:mod:`led_wall.fixtures`). Features, per fixture ``F``:

* ``F.intensity`` 0..1, fades LINEAR, follows the look value ``level`` in the fixture's group.
  Not perceptual, on purpose: consoles fade DMX levels linearly and the fixture applies its own
  dimming curve; a second curve here would bend it twice, and a log fade never reaches 0;
* ``F.cct`` kelvin within the profile's range, fades in MIRED, follows ``cct_k``;
* ``F.red`` / ``.green`` / ``.blue`` / ``.white`` 0..1 (looks leave them alone): a CCT write sets
  the whole mix from the colour temperature, a component write then changes that component
  (within one batch CCT is applied first);

and for the device ``priority`` (E1.31 0..200, every universe) and ``blackout`` (all slots 0,
levels kept for when it ends).

The PyPI ``sacn`` library builds the packets, numbers them per universe, sends a universe when
it changed (at most ``fps`` a second) and every second when not (keep-alive), universe discovery
every 10 s and three stream-terminated packets per universe on stop. Its last mile is ours
(:class:`_SacnSocket`, the library's ``socket=`` extension point): a daemon thread
``sacn-<device>``; a non-blocking socket bound to ``bind_address`` on an ephemeral port (5568
stays free for a receiver on this machine), multicast out of that interface; any destination
port; send errors counted, never ending the thread; discovery to its E1.31 group
(239.255.250.214) where the library would broadcast. A lock makes "set the data" and "send,
clear the changed flag" atomic, so a value set mid-send is not held until the next keep-alive.
The thread sleeps until a value is set (then sends within a frame, at most ``fps`` a second) or
:data:`IDLE_CHECK_S` passes (the library's keep-alive and discovery clocks are looked at then): a
rig nobody is fading wakes it five times a second, not ``fps`` times.

``fps`` defaults to 50: every step of a 50 Hz fade goes out. A DMX512 line refreshes at most
~44 times a second, so a gateway drops the odd frame (it outputs the newest); native sACN
fixtures get every step.

sACN cannot be read back: the poll returns the values last set; the link is ``up`` while the
sender thread runs and the kernel accepts its datagrams. Writes touch buffers on the loop only.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sacn  # type: ignore[import-untyped, unused-ignore]
from sacn.sending.sender_socket_base import SenderSocketBase  # type: ignore[import-untyped, unused-ignore]

from led_wall.fixtures import (
    Fixture,
    FixtureError,
    FixtureLevels,
    check_patch,
    default_cct_k,
    render,
    rgbw_from_cct,
)
from stagectl.core.device import Device
from stagectl.core.events import EventQueue
from stagectl.core.features import DeviceError, Fade, Feature, FeatureKind, Value
from stagectl.core.links import Endpoint
from stagectl.core.logutil import RateLimiter, with_suppressed

log = logging.getLogger("stagectl.led_wall")

E131_PORT = 5568
DISCOVERY_GROUP = "239.255.250.214"
"""E1.31 universe discovery: universe 64214 (0xFAD6) in the 239.255.hi.lo scheme."""
DEFAULT_FPS = 50
#: With nothing set, how often the sender thread looks at the library's keep-alive (1 s) and
#: universe discovery (10 s) clocks: keep-alives go out 1.0-1.2 s apart (receivers wait 2.5 s).
IDLE_CHECK_S = 0.2
DEFAULT_PRIORITY = 100
_COLOURS = ("red", "green", "blue", "white")


def multicast_group(universe: int) -> str:
    """The E1.31 multicast address of ``universe``: 239.255.<high byte>.<low byte>."""
    return f"239.255.{universe >> 8}.{universe & 0xFF}"


class _SacnSocket(SenderSocketBase):  # type: ignore[misc]
    """The sacn library's sender socket, ours: own thread, errors counted, any port (module docstring)."""

    def __init__(self, name: str, bind_address: str, port: int, fps: int, ttl: int) -> None:
        super().__init__(None)
        self.name = name
        self.port = port
        self.fps = fps
        self.lock = threading.Lock()
        self.sent = 0
        self.dropped = 0
        self.last_error: str | None = None
        self.failing = False
        self.unicast_host: str | None = None
        self._ttl = ttl
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None
        self._limiter = RateLimiter(5.0)
        self.wakes = 0
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((bind_address, 0))
            if bind_address != "0.0.0.0":
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(bind_address))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def attach(self, listener: Any) -> None:
        """Give the socket the library's handler to call every frame (the library's own tests wire
        their test sockets the same way: the constructor cannot, the handler is made after it)."""
        self._listener = listener

    @property
    def running(self) -> bool:
        """True while the sender thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sacn-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits at most 1 s) and close the socket; idempotent, never raises."""
        self._stop.set()
        self._changed.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)
        self._sock.close()

    def changed(self) -> None:
        """A value was set (any thread): send it within a frame."""
        self._changed.set()

    def _run(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic()
        while not self._stop.is_set():
            self.wakes += 1
            self._changed.clear()  # a value set from here on wakes the next wait at once
            try:
                with self.lock:
                    if self._listener is not None:
                        self._listener.on_periodic_callback(time.time())
            except Exception as exc:  # a library error must not end sending silently
                self._note_failure(f"sacn library: {type(exc).__name__}: {exc}")
            due += period
            now = time.monotonic()
            if due < now:
                due = now
            if self._stop.wait(due - now):  # at most fps frames a second
                break
            self._changed.wait(IDLE_CHECK_S)
            due = max(due, time.monotonic())

    # --- SenderSocketBase --------------------------------------------------------------------------

    def send_unicast(self, data: Any, destination: str) -> None:
        self._send(bytes(data.getBytes()), (destination, self.port))

    def send_multicast(self, data: Any, destination: str, ttl: int) -> None:
        if ttl != self._ttl:
            self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            self._ttl = ttl
        self._send(bytes(data.getBytes()), (destination, self.port))

    def send_broadcast(self, data: Any) -> None:
        """Universe discovery: to its multicast group, or the unicast target (never a broadcast)."""
        host = self.unicast_host if self.unicast_host is not None else DISCOVERY_GROUP
        self._send(bytes(data.getBytes()), (host, self.port))

    def _send(self, datagram: bytes, address: tuple[str, int]) -> None:
        try:
            self._sock.sendto(datagram, address)
        except BlockingIOError:
            self._note_failure("send buffer full")
            return
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            self._note_failure(f"{code}: {exc.strerror or exc}")
            return
        self.sent += 1
        self.failing = False

    def _note_failure(self, message: str) -> None:
        self.dropped += 1
        self.failing = True
        self.last_error = message
        held = self._limiter.check(message)  # the device's poll reports the outage (one warning event)
        if held is not None:
            log.debug("%s", with_suppressed(f"sacn {self.name}: {message}", held))


@dataclass(slots=True)
class _FixtureState:
    fixture: Fixture
    intensity: float
    cct_k: float | None
    mix: list[float]


class SacnDevice(Device):
    """DMX fixtures over sACN; see the module docstring.

    ``target``: None for multicast (239.255.hi.lo per universe, ``port``), else a unicast IPv4
    ``"host"`` or ``"host:port"``. ``bind_address``: the local address (and so the interface)
    to send from, ``0.0.0.0`` for the system's choice. ``ttl``: multicast hops (8, the sacn
    library's default; 0 keeps it on this machine). ``cid``: the E1.31 component id (default:
    stable per host and device name, so receivers see the same source after a restart).
    """

    kind = "sacn"

    def __init__(self, name: str, fixtures: Sequence[Fixture], *, target: str | None = None,
                 port: int = E131_PORT, priority: int = DEFAULT_PRIORITY, source_name: str = "stagectl",
                 fps: int = DEFAULT_FPS, bind_address: str = "0.0.0.0", ttl: int = 8,
                 universe_discovery: bool = True, cid: uuid.UUID | None = None, zone: str | None = None,
                 events: EventQueue | None = None, poll_s: float = 1.0, timeout_s: float = 1.0,
                 retry_initial_s: float = 0.5, retry_max_s: float = 10.0) -> None:
        if not fixtures:
            raise FixtureError(f"sACN device {name!r} has no fixtures")
        check_patch(fixtures)
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 200:
            raise ValueError(f"sACN device {name!r}: priority {priority!r} is outside 0..200")
        if not 1 <= fps <= 200:
            raise ValueError(f"sACN device {name!r}: fps {fps!r} is outside 1..200")
        if not 0 <= ttl <= 255:
            raise ValueError(f"sACN device {name!r}: ttl {ttl!r} is outside 0..255")
        if not 1 <= port <= 65535:
            raise ValueError(f"sACN device {name!r}: port {port!r} is outside 1..65535")
        if len(source_name.encode()) > 63:
            raise ValueError(f"sACN device {name!r}: source name is over 63 bytes of UTF-8")
        ipaddress.IPv4Address(bind_address)  # ValueError names it
        self._unicast: Endpoint | None = None
        universes = sorted({f.universe for f in fixtures})
        if target is None:
            shown = f"multicast {multicast_group(universes[0])}:{port}"
            if len(universes) > 1:
                shown += f" (+{len(universes) - 1} more universes)"
        else:
            self._unicast = _parse_target(target, port)
            shown = str(self._unicast)
        super().__init__(name, target=shown, zone=zone, events=events, poll_s=poll_s, timeout_s=timeout_s,
                         retry_initial_s=retry_initial_s, retry_max_s=retry_max_s)
        self.port = self._unicast.port if self._unicast else port
        self.fps = fps
        self.bind_address = bind_address
        self.ttl = ttl
        self.source_name = source_name
        self.universe_discovery = universe_discovery
        self.cid = cid or uuid.uuid5(uuid.NAMESPACE_URL, f"stagectl://{socket.gethostname()}/devices/{name}")
        self.fixtures = tuple(fixtures)
        self.universes = tuple(universes)
        self.priority = priority
        self.blackout = False
        self._state = {f.name: _FixtureState(f, 0.0, default_cct_k(f.profile), [1.0, 1.0, 1.0, 1.0])
                       for f in fixtures}
        for state in self._state.values():
            if state.cct_k is not None:
                state.mix = list(rgbw_from_cct(state.cct_k))
        self._buffers = {u: bytearray(512) for u in universes}
        for state in self._state.values():
            self._render(state)
        self._features = self._make_features()
        self._link: _SacnSocket | None = None
        self._sender: Any = None
        self._open_error: str | None = None

    @property
    def features(self) -> tuple[Feature, ...]:
        return self._features

    @property
    def sender_running(self) -> bool:
        """True while the sACN sender thread runs."""
        return self._link is not None and self._link.running

    @property
    def datagrams_sent(self) -> int:
        """Datagrams the kernel accepted since the sender last started."""
        return self._link.sent if self._link else 0

    @property
    def datagrams_dropped(self) -> int:
        """Datagrams not sent (send errors) since the sender last started."""
        return self._link.dropped if self._link else 0

    def universe_data(self, universe: int) -> bytes:
        """The 512 slots ``universe`` carries now (zeros while blacked out)."""
        return bytes(512) if self.blackout else bytes(self._buffers[universe])

    # --- features ---------------------------------------------------------------------------------

    def _make_features(self) -> tuple[Feature, ...]:
        out: list[Feature] = []
        for fx in self.fixtures:
            profile = fx.profile
            out.append(Feature(f"{fx.name}.intensity", f"{fx.name} intensity", "", minimum=0.0, maximum=1.0,
                               fade=Fade.LINEAR, zone_value="level", zone=fx.group,
                               description=f"{profile.name} at universe {fx.universe} address {fx.address}; "
                                           f"0 off, 1 full"))
            if profile.has_cct and profile.cct_range_k is not None:
                low, high = profile.cct_range_k
                out.append(Feature(f"{fx.name}.cct", f"{fx.name} colour temperature", "K", minimum=low,
                                   maximum=high, fade=Fade.MIRED, zone_value="cct_k", zone=fx.group))
            for kind in profile.colour_kinds:
                out.append(Feature(f"{fx.name}.{kind.value}", f"{fx.name} {kind.value}", "", minimum=0.0,
                                   maximum=1.0, fade=Fade.LINEAR, zone=fx.group,
                                   description=f"{kind.value} emitter, 0..1 of full"))
        out.append(Feature("priority", "sACN priority", "", minimum=0, maximum=200, integer=True,
                           fade=Fade.STEP, description="E1.31 source priority of every universe"))
        out.append(Feature("blackout", "Blackout", "", kind=FeatureKind.BOOL, fade=Fade.STEP))
        return tuple(out)

    def _current(self) -> dict[str, Value]:
        values: dict[str, Value] = {"priority": self.priority, "blackout": self.blackout}
        for name, state in self._state.items():
            profile = state.fixture.profile
            values[f"{name}.intensity"] = state.intensity
            if profile.has_cct and state.cct_k is not None:
                values[f"{name}.cct"] = state.cct_k
            for kind in profile.colour_kinds:
                values[f"{name}.{kind.value}"] = state.mix[_COLOURS.index(kind.value)]
        return values

    # --- Device hooks -----------------------------------------------------------------------------

    async def _async_open(self) -> None:
        self._open()

    async def _async_close(self) -> None:
        link, sender, self._link, self._sender = self._link, self._sender, None, None
        if link is not None:
            await asyncio.to_thread(_close_link, link, sender, self.universes)

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        touched: set[str] = set()
        ordered = sorted(values.items(), key=lambda item: not item[0].endswith(".cct"))  # CCT first
        for key, value in ordered:
            if key == "priority":
                self.priority = int(value)
                continue
            if key == "blackout":
                self.blackout = bool(value)
                continue
            fixture, _, control = key.rpartition(".")
            state = self._state[fixture]
            number = float(value)
            if control == "intensity":
                state.intensity = number
            elif control == "cct":
                state.cct_k = number
                state.mix = list(rgbw_from_cct(number))
            else:
                state.mix[_COLOURS.index(control)] = number
            touched.add(fixture)
        for fixture in touched:
            self._render(self._state[fixture])
        self._push()
        link = self._link
        if link is None or not link.running:
            raise DeviceError(f"{self.name}: sACN sender not running ({self._open_error or 'stopped'}); "
                              f"values kept for when it runs")
        if link.failing:
            raise DeviceError(f"{self.name}: sACN sends failing: {link.last_error}")

    async def _async_poll(self) -> Mapping[str, Value]:
        link = self._link
        if link is None or not link.running:
            if link is not None:
                await self._async_close()
            self._open()
            if self._link is None:
                raise DeviceError(f"could not start the sACN sender: {self._open_error}")
        elif link.failing:
            raise DeviceError(f"sACN sends failing: {link.last_error}")
        return self._current()

    # --- internals --------------------------------------------------------------------------------

    def _render(self, state: _FixtureState) -> None:
        fx = state.fixture
        mix = (state.mix[0], state.mix[1], state.mix[2], state.mix[3])
        data = render(fx.profile, FixtureLevels(state.intensity, state.cct_k, mix))
        self._buffers[fx.universe][fx.address - 1:fx.address - 1 + len(data)] = data

    def _push(self) -> None:
        """Hand every universe's data and the priority to the sender (under its lock; no I/O here)."""
        link, sender = self._link, self._sender
        if link is None or sender is None:
            return
        with link.lock:
            for universe in self.universes:
                output = sender[universe]
                output.priority = self.priority
                output.dmx_data = tuple(self.universe_data(universe))  # marks it changed: sent next frame
        link.changed()

    def _open(self) -> None:
        try:
            link = _SacnSocket(self.name, self.bind_address, self.port, self.fps, self.ttl)
        except OSError as exc:
            self._open_error = f"cannot bind {self.bind_address}: {exc.strerror or exc}"
            return
        try:
            link.unicast_host = self._unicast.host if self._unicast else None
            sender = sacn.sACNsender(bind_address=self.bind_address, source_name=self.source_name,
                                     cid=tuple(self.cid.bytes), fps=self.fps,
                                     universeDiscovery=self.universe_discovery, socket=link)
            link.attach(sender._sender_handler)  # the one private name we use (see _SacnSocket.attach)
            for universe in self.universes:
                sender.activate_output(universe)
                output = sender[universe]
                output.multicast = self._unicast is None
                output.destination = self._unicast.host if self._unicast else multicast_group(universe)
                output.ttl = self.ttl
            self._link, self._sender = link, sender
            self._push()
            link.start()
        except (ValueError, TypeError, AttributeError) as exc:  # a sacn version we do not fit
            link.stop()
            self._link = self._sender = None
            self._open_error = f"sacn library: {type(exc).__name__}: {exc}"
            return
        self._open_error = None


def _close_link(link: _SacnSocket, sender: Any, universes: Sequence[int]) -> None:
    """Send three stream-terminated packets per universe (E1.31: receivers let go at once), then stop."""
    try:
        with link.lock:
            for universe in universes:
                sender.deactivate_output(universe)
    except Exception as exc:  # closing must never raise
        log.debug("sacn %s: terminating streams failed: %s", link.name, exc)
    link.stop()


def _parse_target(text: str, default_port: int) -> Endpoint:
    """``"host"`` or ``"host:port"`` (IPv4 unicast) -> Endpoint; ValueError says why."""
    endpoint = Endpoint.parse(text if ":" in text else f"{text}:{default_port}")
    if ipaddress.ip_address(endpoint.host).is_multicast:
        raise ValueError(f"sACN target {text!r} is a multicast address: leave target out for multicast "
                         f"(each universe has its own group)")
    if ":" in endpoint.host:
        raise ValueError(f"sACN target {text!r}: IPv4 only")
    if endpoint.port == 0:
        raise ValueError(f"sACN target {text!r}: port 0")
    return endpoint
