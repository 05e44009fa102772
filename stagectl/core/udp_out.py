"""The shared non-blocking UDP sender of stagectl's outputs (OpenTrackIO, OSC).

Rules, because outputs run on the I/O thread inside the tracking hot path:

* The target is resolved once, when the socket opens: unicast targets are ``connect``-ed (the
  kernel keeps the route, each send is a plain ``send``, and a receiver that is not there comes
  back as ``ECONNREFUSED`` on a later send); multicast targets keep a resolved ``(group, port)``
  tuple and get ``IP_MULTICAST_IF`` (the interface's address), ``IP_MULTICAST_TTL`` and
  ``IP_MULTICAST_LOOP`` set once (IPv4; IPv6 multicast uses the hop limit and the default
  interface).
* The socket is non-blocking and a send is tried exactly once. A full buffer
  (``BlockingIOError``: reason ``buffer_full``), ``ENOBUFS`` (``no_buffers``), a refused or
  unreachable receiver (``refused``, ``unreachable``) or any other ``OSError`` (``error``) is
  counted as a drop of that datagram, per reason, with the text in :attr:`UdpSender.last_error`;
  nothing is retried, queued, logged per datagram or raised to the caller.
* Sends before :meth:`open` or after :meth:`close` are drops too (``closed``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from stagectl.core.links import Endpoint

REASON_BUFFER_FULL = "buffer_full"
REASON_NO_BUFFERS = "no_buffers"
REASON_REFUSED = "refused"
REASON_UNREACHABLE = "unreachable"
REASON_ERROR = "error"
REASON_CLOSED = "closed"
_UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN})


def is_multicast(host: str) -> bool:
    """True for an IPv4 or IPv6 multicast address literal."""
    try:
        return ipaddress.ip_address(host).is_multicast
    except ValueError:
        return False


class UdpSender:
    """One socket to one target; counts what it sent and what it dropped, by reason.

    Attributes:
        target: where datagrams go. interface / ttl: multicast options.
        sent: datagrams the kernel accepted. dropped: datagrams not sent.
        dropped_by_reason: ``dropped`` split by reason (see the module docstring).
        last_error: text of the newest send error, None while there was none.
    """

    def __init__(self, target: Endpoint, *, interface: str | None = None, ttl: int = 1) -> None:
        if not 0 <= ttl <= 255:
            raise ValueError(f"TTL {ttl} is outside 0..255")
        if interface is not None:
            ipaddress.IPv4Address(interface)  # ValueError names it
        self.target = target
        self.interface = interface
        self.ttl = ttl
        self.multicast = is_multicast(target.host)
        self.sent = 0
        self.dropped = 0
        self.dropped_by_reason: dict[str, int] = {}
        self.last_error: str | None = None
        self._sock: socket.socket | None = None
        self._destination: tuple[str, int] = (target.host, target.port)

    @property
    def sock(self) -> socket.socket | None:
        """The open socket, None before :meth:`open` and after :meth:`close`."""
        return self._sock

    def open(self, sock: socket.socket | None = None) -> None:
        """Open (or adopt ``sock``, already set up, e.g. a socket pair in tests) and resolve the target.

        An adopted socket is made non-blocking and sent to with ``send`` (it must be connected).
        OSError from socket setup propagates (a configuration error to report at start).
        """
        self.close()
        if sock is not None:
            sock.setblocking(False)
            self._sock = sock
            self._destination = ("", 0)
            self.multicast = False
            return
        host, port = self.target.host, self.target.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        new = socket.socket(family, socket.SOCK_DGRAM)
        try:
            new.setblocking(False)
            if self.multicast:
                if family == socket.AF_INET:
                    if self.interface is not None:
                        new.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                       socket.inet_aton(self.interface))
                    new.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
                    new.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
                else:
                    new.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, self.ttl)
                self._destination = (host, port)  # an address literal: nothing to look up
            else:
                new.connect((host, port))
        except BaseException:
            new.close()
            raise
        self._sock = new

    def close(self) -> None:
        """Close the socket (idempotent)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def send(self, data: bytes) -> bool:
        """Try once to send ``data``; True when the kernel took it, else counted as dropped."""
        sock = self._sock
        try:
            if sock is None:
                raise _Closed
            if self.multicast:
                sock.sendto(data, self._destination)
            else:
                sock.send(data)
        except BlockingIOError:
            self._drop(REASON_BUFFER_FULL, "send buffer full")
            return False
        except _Closed:
            self._drop(REASON_CLOSED, "output not started")
            return False
        except OSError as exc:
            self._drop(_reason(exc), f"{type(exc).__name__}: {exc}")
            return False
        self.sent += 1
        return True

    def count_drop(self, reason: str, message: str) -> None:
        """Count a datagram (or message) dropped before it reached the socket."""
        self._drop(reason, message)

    def _drop(self, reason: str, message: str) -> None:
        self.dropped += 1
        by = self.dropped_by_reason
        by[reason] = by.get(reason, 0) + 1
        self.last_error = message


class UdpOutput:
    """What the camera outputs share: their :class:`UdpSender` and its counters, and closing it.

    Subclasses set ``self._udp`` in their constructor and open it in ``async_start``.
    """

    _udp: UdpSender

    @property
    def sent(self) -> int:
        """Datagrams handed to the kernel."""
        return self._udp.sent

    @property
    def dropped(self) -> int:
        """Datagrams (or samples never encoded) dropped, over all reasons."""
        return self._udp.dropped

    @property
    def dropped_by_reason(self) -> dict[str, int]:
        """Drops by reason (``buffer_full``, ``refused``, ``non_finite``, ...)."""
        return self._udp.dropped_by_reason

    @property
    def last_error(self) -> str | None:
        """The last send error's text, None when there was none."""
        return self._udp.last_error

    async def async_stop(self) -> None:
        """Close the socket; later sends count as dropped (``closed``)."""
        self._udp.close()


class _Closed(Exception):
    pass


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOBUFS:
        return REASON_NO_BUFFERS
    if exc.errno == errno.ECONNREFUSED:
        return REASON_REFUSED
    if exc.errno in _UNREACHABLE:
        return REASON_UNREACHABLE
    return REASON_ERROR
