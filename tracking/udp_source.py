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
from stagectl.core.platform import DatagramReader
from tracking.source import TrackingSource

log = logging.getLogger("stagectl.tracking")

#: Size of each recvfrom. asyncio's datagram transport asks for 256 KiB, over glibc's mmap
#: threshold, so every read maps and unmaps a fresh buffer (~13 us and 2 page faults per
#: datagram, measured with bench/tracking_pipeline.py; see cpython#85451). 64 KiB still holds any
#: IPv4 UDP datagram (65507 bytes), so nothing is ever truncated.
READ_BUFFER_BYTES = 1 << 16
#: A wake-up of the socket's reader (one trip through the loop) reads and handles datagrams until
#: one of these is spent, then returns to the loop, so every other source, output, fade and device
#: poll runs before it reads again; what is left waits in the socket's queue (each datagram keeps
#: its kernel arrival stamp there) and is read on the next trip, microseconds later. Every parser
#: bounds its own work per datagram (the OpenTrackIO payload check: bytes, items, depth), so a
#: wake-up overruns WAKE_BUDGET_NS by at most one datagram's bounded cost.
MAX_DATAGRAMS_PER_WAKE = 64
#: Datagram bytes read per wake-up (at least one datagram is always read).
WAKE_BUDGET_BYTES = 64 * 1024
#: Time spent per wake-up, checked after each datagram.
WAKE_BUDGET_NS = 2_000_000
#: After a wake-up that spent its whole budget the socket is not watched for this long: a socket that
#: is never empty (a flood) gets at most about half of the loop's time, not all of it, and the rest
#: of the stage keeps its share of a CPU that a stage PC shares with the flood's own cost in the
#: kernel. A real source never spends a budget (8 cameras x 500 Hz of FreeD is ~2 % of a core).
WAKE_PAUSE_S = 0.002


class UdpSource(TrackingSource, asyncio.DatagramProtocol):
    """A tracking source fed by one UDP socket on the I/O loop.

    Subclasses implement :meth:`handle`; :meth:`on_datagram` counts the datagram (stamped with its
    arrival time before anything parses it) and turns a :class:`DecodeError` into a counted
    rejection with its reason, and anything else into reason ``internal`` (logged with its
    traceback): nothing ever raises out of the socket callback.

    Attributes:
        wakeups: times the socket's reader ran (:meth:`_drain`).
        budget_yields: wake-ups that returned to the loop because their budget was spent
            (WAKE_BUDGET_BYTES, WAKE_BUDGET_NS or MAX_DATAGRAMS_PER_WAKE), not because the queue
            was empty.
        kernel_stamps: whether arrival times come from the kernel (Linux) or the read.
    """

    #: SO_RCVBUF asked for (the kernel may cap it; the default still works).
    receive_buffer_bytes = 1 << 20
    #: The protocol's name in the "listening for ..." event.
    listening_for = "datagrams"
    _transport: asyncio.DatagramTransport | None = None
    _sock: socket.socket | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _bound: Endpoint | None = None
    _reader: DatagramReader | None = None
    _paused: asyncio.TimerHandle | None = None
    wakeups = 0
    budget_yields = 0
    kernel_stamps = False

    @property
    def bound(self) -> Endpoint | None:
        """The local address actually bound (port 0 in the config becomes the real port)."""
        return self._bound

    async def async_open_udp(self, where: str, *, local: Endpoint | None = None,
                             sock: socket.socket | None = None, note: str = "") -> bool:
        """Bind ``local`` (or adopt the bound ``sock``) on the running loop; False after reporting a failure.

        ``where`` names the address in the failure message. The socket is read by
        :meth:`_drain` from the loop's reader callback: the datagrams waiting are read in one
        wake-up within its budget (see :data:`WAKE_BUDGET_NS`), where asyncio's datagram transport
        reads one per trip through the selector — trackers genlocked to one frame clock send in
        bursts. On a loop without ``add_reader`` (Windows' proactor) the asyncio transport is used
        (one datagram per trip; arrival stamped at the read).
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
            self._reader = DatagramReader(sock, READ_BUFFER_BYTES)
            self.kernel_stamps = self._reader.kernel_stamps
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
        """Read the datagrams waiting, within one wake-up's budget (the loop's reader callback)."""
        reader = self._reader
        if reader is None or self._sock is None:
            return
        self.wakeups += 1
        started = time.monotonic_ns()
        read_bytes = 0
        for _ in range(MAX_DATAGRAMS_PER_WAKE):
            try:
                data, addr, arrival_ns = reader.read()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket
                self.error_received(exc)
                return
            self.on_datagram(data, addr, arrival_ns)
            read_bytes += len(data)
            if read_bytes >= WAKE_BUDGET_BYTES or time.monotonic_ns() - started >= WAKE_BUDGET_NS:
                break
        self.budget_yields += 1  # more may be waiting: read again after a pause
        loop = self._loop
        if loop is not None and self._paused is None:
            loop.remove_reader(self._sock.fileno())
            self._paused = loop.call_later(WAKE_PAUSE_S, self._resume)

    def _resume(self) -> None:
        """Watch the socket again after a pause (see :data:`WAKE_PAUSE_S`)."""
        self._paused = None
        if self._sock is not None and self._loop is not None:
            self._loop.add_reader(self._sock.fileno(), self._drain)

    def bind_failed(self, message: str) -> None:
        """Mark the source (and any source sharing its socket) down with ``message``."""
        self.health.fail(message)

    async def async_stop(self) -> None:
        """Close the socket."""
        sock, loop = self._sock, self._loop
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        if sock is not None and loop is not None:
            self._sock = self._reader = None
            loop.remove_reader(sock.fileno())
            sock.close()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # --- asyncio.DatagramProtocol ------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Handle one datagram from an asyncio transport, stamped now; never raises."""
        self.on_datagram(data, addr, time.monotonic_ns())

    def on_datagram(self, data: bytes, addr: Any, arrival_ns: int) -> None:
        """Handle one datagram that arrived at ``arrival_ns`` (monotonic); bad input is counted and
        reported, never raised."""
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
