"""What every tracking source has: a name, a camera, health, and start/stop on the I/O loop."""

from __future__ import annotations

import abc
import ipaddress
import logging
from collections.abc import Callable, Iterable
from typing import Any

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.health import StreamHealth
from stagectl.core.links import Endpoint
from stagectl.core.logutil import RateLimiter, with_suppressed

log = logging.getLogger("stagectl.tracking")

Capture = Callable[[bytes, Any, int], None]
"""Called with every datagram (or serial read) as it arrived, before decoding: (data, sender, arrival ns)."""


class TrackingSource(abc.ABC):
    """A stream of camera samples for one stage camera.

    Subclasses decode their protocol and call ``self.camera.push(sample)``; bad input goes
    through :meth:`reject`, which counts it per reason and reports it at most once a second
    per reason (never raising out of the transport's handler).
    """

    protocol: str = "?"
    carries_pose: bool = True
    """False for sources that only feed the lens (a lens encoder): they never make a camera "up"."""
    unit: str = "datagram"
    """What one rejected thing is called in messages ("datagram", "serial data")."""
    preset_name: str | None = None
    """The vendor preset the source reads its protocol with (FreeD), else None."""
    capture: Capture | None = None
    """Set by the stage when takes record this source's raw datagrams (the take recorder's capture)."""

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 allow: Iterable[str] = (), stale_after_s: float = 0.5) -> None:
        self.name = name
        self.camera = camera
        self.clock = clock
        self.events = events
        self.health = StreamHealth(name, stale_after_s=stale_after_s)
        camera.add_source(self.health, carries_pose=self.carries_pose)
        self._limiter = RateLimiter(1.0)
        self._warn_limiter = RateLimiter(60.0)
        self.allow: frozenset[str] = frozenset(_normalise_ip(a) for a in allow)
        """Sender addresses accepted (empty: any sender)."""

    @property
    @abc.abstractmethod
    def bound(self) -> Endpoint | None:
        """The local address actually bound (None before start or after a failure)."""

    @property
    def description(self) -> str:
        """What the source is, for people: "FreeD (sony)", "simulated OpenTrackIO (CBOR)"."""
        return f"{self.protocol} ({self.preset_name})" if self.preset_name else self.protocol

    @property
    def configured_address(self) -> str:
        """What the stage file asked for (shown until the transport is open)."""
        return ""

    @property
    def capture_names(self) -> tuple[str, ...]:
        """The sources whose datagrams arrive through this one's transport (and so its capture): itself;
        a FreeD port shared by camera id lists every source on it, the others list none."""
        return (self.name,)

    def preroll(self) -> list[tuple[bytes, Any, int]]:
        """Datagrams kept from just before now, (data, sender, arrival ns), oldest first: what a take
        that starts now needs to decode its first sample (OpenTrackIO's earlier segments)."""
        return []

    def captured(self, data: bytes, sender: Any, arrival_ns: int) -> None:
        """Hand a datagram to the capture, if any (transports call this before decoding)."""
        capture = self.capture
        if capture is not None:
            try:
                capture(data, sender, arrival_ns)
            except Exception as exc:  # recording must never stop the stream
                held = self._limiter.check("raw capture")
                if held is not None:
                    self.events.post(Level.ERROR, self.name, "error", with_suppressed(
                        f"raw capture failed, the take misses this datagram: {exc}", held))

    @abc.abstractmethod
    async def async_start(self) -> None:
        """Open the transport (I/O thread). A failure marks the source down and posts an event."""

    @abc.abstractmethod
    async def async_stop(self) -> None:
        """Close the transport (I/O thread)."""

    def sender_allowed(self, addr: Any) -> bool:
        """True when the datagram's sender is on the allow-list (or there is none).

        Anything else is counted as rejected with reason ``sender`` and never used.
        """
        if not self.allow:
            return True
        host = addr[0] if isinstance(addr, tuple) and addr else str(addr)
        if host in self.allow or _normalise_ip(str(host)) in self.allow:
            return True
        self.reject("sender", f"from {host}, which is not in allow = [{', '.join(sorted(self.allow))}]")
        return False

    def warn(self, reasons: tuple[str, ...], detail: Callable[[str], str]) -> None:
        """Count a sample kept as sent though odd (schema-valid) under each of its ``reasons``; each reason
        is reported at most once a minute (``detail(reason)`` says what, built only then): a tracker that
        always sends the same oddity must not fill the log."""
        self.health.on_warning(reasons)
        for reason in reasons:
            held = self._warn_limiter.check(reason)
            if held is not None:
                self.events.post(Level.WARNING, self.name, "warning",
                                 with_suppressed(f"kept as sent ({reason}): {detail(reason)}", held))

    def reject(self, reason: str, detail: str) -> None:
        """Count a rejected datagram and report it, rate-limited per reason."""
        self.health.on_reject(reason)
        held = self._limiter.check(reason)
        if held is not None:
            self.events.post(Level.WARNING, self.name, "rejected",
                             with_suppressed(f"rejected {self.unit} ({reason}): {detail}", held))


def _normalise_ip(text: str) -> str:
    """Canonical text of an IP address (IPv4-mapped IPv6 becomes IPv4); other text unchanged."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
