"""The suite's network: free loopback ports, and the guard that keeps every test on this machine.

Multicast is allowed only out of the loopback interface with TTL 0 (the datagram never leaves
the machine): OpenTrackIO's multicast path is tested that way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOCAL = "127.0.0.1"


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCAL, 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCAL, 0))
        return int(sock.getsockname()[1])


def is_loopback(address: Any) -> bool:
    """True for an address that cannot leave the machine (127.0.0.0/8, ::1, localhost, AF_UNIX)."""
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like never leave the machine
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_only_multicast(sock: socket.socket, address: Any) -> bool:
    """A multicast send that cannot leave the machine: out of the loopback interface with TTL 0."""
    if sock.family != socket.AF_INET or not isinstance(address, tuple):
        return False
    try:
        if not ipaddress.ip_address(address[0]).is_multicast:
            return False
        interface = socket.inet_ntoa(sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))
        ttl = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)
    except (OSError, ValueError):
        return False
    return ipaddress.ip_address(interface).is_loopback and ttl == 0


def _guard(name: str) -> tuple[Any, Any]:
    original = getattr(socket.socket, name)

    def guarded(self: socket.socket, *args: Any) -> Any:
        address = args[-1] if name == "sendto" else args[0]
        if name == "sendto" and host_only_multicast(self, address):
            return original(self, *args)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            raise AssertionError(f"test tried to {name} to {address!r}: only 127.0.0.0/8 and ::1 allowed")
        return original(self, *args)

    return original, guarded


@contextmanager
def loopback_guard() -> Iterator[None]:
    """While open, ``connect``, ``connect_ex`` and ``sendto`` beyond loopback raise AssertionError."""
    saved = {}
    for name in ("connect", "connect_ex", "sendto"):
        original, guarded = _guard(name)
        saved[name] = original
        setattr(socket.socket, name, guarded)
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(socket.socket, name, original)
