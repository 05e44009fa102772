"""What every tracking source has: a name, a camera, health, and start/stop on the I/O loop."""

from __future__ import annotations

import abc
import logging

from stagectl.config import Endpoint
from stagectl.events import EventQueue, Level
from stagectl.health import StreamHealth
from stagectl.logutil import RateLimiter, with_suppressed
from stagectl.pipeline import CameraPipeline
from stagectl.timecode import StageClock

log = logging.getLogger("tracking.source")


class TrackingSource(abc.ABC):
    """A stream of camera samples for one stage camera.

    Subclasses decode their protocol and call ``self.camera.push(sample)``; bad input goes
    through :meth:`reject`, which counts it per reason and reports it at most once a second
    per reason (never raising out of the transport's handler).
    """

    protocol: str = "?"

    def __init__(self, name: str, camera: CameraPipeline, clock: StageClock, events: EventQueue) -> None:
        self.name = name
        self.camera = camera
        self.clock = clock
        self.events = events
        self.health = StreamHealth(name)
        camera.sources.append(self.health)
        self._limiter = RateLimiter(1.0)

    @property
    @abc.abstractmethod
    def bound(self) -> Endpoint | None:
        """The local address actually bound (None before start or after a failure)."""

    @property
    def configured_address(self) -> str:
        """What the stage file asked for (shown until the transport is open)."""
        return ""

    @abc.abstractmethod
    async def async_start(self) -> None:
        """Open the transport (I/O thread). A failure marks the source down and posts an event."""

    @abc.abstractmethod
    async def async_stop(self) -> None:
        """Close the transport (I/O thread)."""

    def reject(self, reason: str, detail: str) -> None:
        """Count a rejected datagram and report it, rate-limited per reason."""
        self.health.on_reject(reason)
        held = self._limiter.check(reason)
        if held is not None:
            self.events.post(Level.WARNING, self.name, "rejected",
                             with_suppressed(f"rejected datagram ({reason}): {detail}", held))
