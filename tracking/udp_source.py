"""What every UDP tracking source shares: binding, the receive buffer, the never-raising handler."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from typing import Any

from stagectl.core.errors import DecodeError
from stagectl.core.events import Level
from stagectl.core.links import Endpoint
from tracking.source import TrackingSource

log = logging.getLogger("stagectl.tracking")

#: Size of each recvfrom. asyncio's datagram transport asks for 256 KiB, over glibc's mmap
#: threshold, so every read maps and unmaps a fresh buffer (~13 us and 2 page faults per
#: datagram, measured with bench/tracking_pipeline.py; see cpython#85451). 64 KiB still holds any
#: IPv4 UDP datagram (65507 bytes), so nothing is ever truncated.
READ_BUFFER_BYTES = 1 << 16
#: At most this many datagrams are read per wake-up, so one flooded socket cannot starve the loop.
MAX_DATAGRAMS_PER_WAKE = 64


class UdpSource(TrackingSource, asyncio.DatagramProtocol):
    """A tracking source fed by one UDP socket on the I/O loop.

    Subclasses implement :meth:`handle`; :meth:`datagram_received` stamps the arrival time,
    counts the datagram, and turns a :class:`DecodeError` into a counted rejection with its
    reason, and anything else into reason ``internal`` (logged with its traceback): nothing
    ever raises out of the socket callback.
    """

    #: SO_RCVBUF asked for (the kernel may cap it; the default still works).
    receive_buffer_bytes = 1 << 20
    #: The protocol's name in the "listening for ..." event.
    listening_for = "datagrams"
    _transport: asyncio.DatagramTransport | None = None
    _sock: socket.socket | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _bound: Endpoint | None = None

    @property
    def bound(self) -> Endpoint | None:
        """The local address actually bound (port 0 in the config becomes the real port)."""
        return self._bound

    async def async_open_udp(self, where: str, *, local: Endpoint | None = None,
                             sock: socket.socket | None = None, note: str = "") -> bool:
        """Bind ``local`` (or adopt the bound ``sock``) on the running loop; False after reporting a failure.

        ``where`` names the address in the failure message. The socket is read by
        :meth:`_drain` from the loop's reader callback: every datagram waiting is read in one
        wake-up (up to :data:`MAX_DATAGRAMS_PER_WAKE`), where asyncio's datagram transport reads
        one per trip through the selector — trackers genlocked to one frame clock send in
        bursts. On a loop without ``add_reader`` (Windows' proactor) the asyncio transport is used.
        """
        loop = asyncio.get_running_loop()
        try:
            if sock is None:
                assert local is not None
                v6 = ipaddress.ip_address(local.host).version == 6
                sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    sock.bind((local.host, local.port))
                except OSError:
                    sock.close()
                    raise
            sock.setblocking(False)
        except OSError as exc:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
            self.bind_failed(message)
            self.events.post(Level.ERROR, self.name, "error",
                             message + " (is another program using the port? change `listen`)")
            return False
        with contextlib.suppress(OSError):  # the kernel may cap it; the default still works
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer_bytes)
        try:
            loop.add_reader(sock.fileno(), self._drain)
            self._sock, self._loop = sock, loop
        except NotImplementedError:
            transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
            if hasattr(transport, "max_size"):  # asyncio's selector transport (an attribute, not API)
                transport.max_size = READ_BUFFER_BYTES
            self._transport = transport
        host, port = sock.getsockname()[:2]
        self._bound = Endpoint(host, port)
        self.events.post(Level.INFO, self.name, "state", f"listening for {self.listening_for} on "
                         f"{self._bound}{note}")
        return True

    def _drain(self) -> None:
        """Read every datagram waiting (the loop's reader callback for the socket)."""
        sock = self._sock
        if sock is None:
            return
        for _ in range(MAX_DATAGRAMS_PER_WAKE):
            try:
                data, addr = sock.recvfrom(READ_BUFFER_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket
                self.error_received(exc)
                return
            self.datagram_received(data, addr)

    def bind_failed(self, message: str) -> None:
        """Mark the source (and any source sharing its socket) down with ``message``."""
        self.health.fail(message)

    async def async_stop(self) -> None:
        """Close the socket."""
        sock, loop = self._sock, self._loop
        if sock is not None and loop is not None:
            self._sock = None
            loop.remove_reader(sock.fileno())
            sock.close()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # --- asyncio.DatagramProtocol ------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Handle one datagram; bad input is counted and reported, never raised."""
        arrival_ns = time.monotonic_ns()
        self.health.received += 1
        if self.capture is not None:
            self.captured(data, addr, arrival_ns)
        try:
            self.handle(data, addr, arrival_ns)
        except DecodeError as exc:
            self.reject(exc.reason, str(exc))
        except Exception as exc:  # the last line of defence: the socket handler never raises
            log.exception("%s: unexpected error handling a datagram", self.name)
            self.reject("internal", f"{type(exc).__name__}: {exc}")

    @abc.abstractmethod
    def handle(self, data: bytes, addr: Any, arrival_ns: int) -> None:
        """Decode and deliver one datagram (raise DecodeError for bad input)."""

    def error_received(self, exc: Exception) -> None:
        """ICMP errors and the like: counted, never fatal."""
        self.reject("socket", str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport closed; a stop is expected, anything else is reported."""
        if exc is not None:
            self.health.fail(str(exc))
            self.events.post(Level.ERROR, self.name, "error", f"socket closed: {exc}")
