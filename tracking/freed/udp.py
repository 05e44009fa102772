"""FreeD over UDP: a datagram source on the I/O loop."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.errors import DecodeError
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from tracking.freed.codec import OTHER_MESSAGE_LENGTHS, decode_d1_datagram
from tracking.freed.presets import DEFAULT_PRESET, FreeDPreset
from tracking.freed.source import FreeDSource
from tracking.udp_source import UdpSource

log = logging.getLogger("stagectl.tracking")

RECEIVE_BUFFER_BYTES = UdpSource.receive_buffer_bytes
__all__ = ["OTHER_MESSAGE_LENGTHS", "RECEIVE_BUFFER_BYTES", "FreeDUdpSource"]


class FreeDUdpSource(FreeDSource, UdpSource):
    """Receives FreeD D1 datagrams on ``listen`` and pushes samples to its camera.

    ``camera_id`` (optional) accepts only that FreeD camera id; other ids are rejected with
    reason ``camera_id``. The socket binds to exactly the configured address. ``preset`` says
    how to read the lens counts and spare bits (tracking.freed.presets); ``allow`` lists the
    sender addresses accepted (others are rejected with reason ``sender``).

    Several cameras may share one port (trackers told apart by camera id): the first source on
    the port owns the socket and :meth:`share` hands it the others; each datagram is decoded
    once and routed to the source whose ``camera_id`` it carries. Datagrams nobody takes are
    counted on the owner.
    """

    protocol = "freed"
    listening_for = "FreeD"

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 listen: Endpoint, camera_id: int | None = None, preset: FreeDPreset = DEFAULT_PRESET,
                 allow: Iterable[str] = (), stale_after_s: float = 0.5) -> None:
        super().__init__(name, camera, clock, events, camera_id, preset, allow, stale_after_s)
        self.listen = listen
        self._owner: FreeDUdpSource | None = None  # set when another source owns the socket
        self._routes: dict[int, FreeDUdpSource] = {} if camera_id is None else {camera_id: self}

    def share(self, other: FreeDUdpSource) -> None:
        """Let ``other`` (same listen address, a distinct camera id) receive on this socket."""
        if other.camera_id is None or self.camera_id is None or other.camera_id in self._routes:
            raise ValueError(f"{other.name}: sharing {self.listen} needs distinct camera ids on every source")
        other._owner = self
        self._routes[other.camera_id] = other

    @property
    def capture_names(self) -> tuple[str, ...]:
        """The owner of a shared port captures for every source on it; the others capture nothing."""
        if self._owner is not None:
            return ()
        return tuple(dict.fromkeys([self.name, *(s.name for s in self._routes.values())]))

    @property
    def bound(self) -> Endpoint | None:
        """The local address actually bound (port 0 in the config becomes the real port)."""
        return self._owner.bound if self._owner is not None else self._bound

    @property
    def configured_address(self) -> str:
        """The ``listen`` address from the stage file."""
        return str(self.listen)

    async def async_start(self) -> None:
        """Bind the socket on the I/O loop; on failure the source is down and says why."""
        if self._owner is not None:  # the owner binds (and marks us down if it cannot)
            return
        await self.async_open_udp(str(self.listen), local=self.listen)

    def bind_failed(self, message: str) -> None:
        """Every source sharing this port is down with the owner's reason."""
        for source in {self, *self._routes.values()}:
            source.health.fail(message)

    def handle(self, data: bytes, addr: Any, arrival_ns: int) -> None:
        """Size check, decode, route by camera id, sender check, accept."""
        try:
            pos = decode_d1_datagram(data)  # the size is checked before anything is parsed
        except DecodeError as exc:
            self.reject(exc.reason, str(exc))
            return
        if self.camera_id is None:
            target = self
        else:
            found = self._routes.get(pos.camera_id)
            if found is None:
                ids = ", ".join(str(i) for i in sorted(self._routes))
                self.reject("camera_id", f"camera id {pos.camera_id}; this port takes {ids}")
                return
            target = found
            if target is not self:  # count each datagram once, on the source that took it
                self.health.received -= 1
                target.health.received += 1
        if not target.allow or target.sender_allowed(addr):  # no allow-list: no call
            target.accept(pos, arrival_ns)
