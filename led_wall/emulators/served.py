"""What the processor emulators share: the served HTTP server, fault switches and the write log."""

from __future__ import annotations

from typing import Any, NamedTuple

from stagectl.core.http_server import Faults, HttpServer


class Change(NamedTuple):
    """One value written through the API: monotonic time (ns), API path, new value."""

    t_ns: int
    path: str
    value: Any


class ServedEmulator:
    """An emulator behind an :class:`HttpServer`: lifecycle, address, faults and the change log.

    Subclasses set ``self.faults``, ``self.server`` and ``self.changes`` in their constructor.
    """

    faults: Faults
    server: HttpServer
    changes: list[Change]

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        return self.server.port

    @property
    def url(self) -> str:
        """``http://host:port`` (the device's ``url``)."""
        return self.server.url

    @property
    def delay_s(self) -> float:
        """Seconds each answer is held back."""
        return self.faults.delay_s

    @delay_s.setter
    def delay_s(self, value: float) -> None:
        self.faults.delay_s = value

    @property
    def hang(self) -> bool:
        """Accept requests and never answer."""
        return self.faults.hang

    @hang.setter
    def hang(self, value: bool) -> None:
        self.faults.hang = value

    @property
    def fail_status(self) -> int | None:
        """Answer everything with this status."""
        return self.faults.fail_status

    @fail_status.setter
    def fail_status(self, value: int | None) -> None:
        self.faults.fail_status = value

    async def async_start(self) -> int:
        """Bind and serve; returns the port."""
        return await self.server.async_start()

    async def async_stop(self) -> None:
        """Close the server and every connection."""
        await self.server.async_stop()

    def changes_of(self, path: str) -> list[Change]:
        """The logged writes of one path, oldest first."""
        return [c for c in self.changes if c.path == path]
