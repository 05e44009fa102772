"""Suite-wide guards: no test reaches beyond loopback, and the window keeps its layout in tmp.

Multicast is allowed only out of the loopback interface with TTL 0 (the datagram never leaves
the machine): OpenTrackIO's multicast path is tested that way.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

# Headless Qt with a desktop-sized virtual screen (the offscreen default is 800x800, smaller
# than the window's minimum width, which would clamp restored geometry).
_SCREEN = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "offscreen-screen.json")
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like never leave the machine
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_only_multicast(sock: socket.socket, address: Any) -> bool:
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


def _guard(name: str) -> Any:
    original = getattr(socket.socket, name)

    def guarded(self: socket.socket, *args: Any) -> Any:
        address = args[-1] if name == "sendto" else args[0]
        if name == "sendto" and _host_only_multicast(self, address):
            return original(self, *args)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise AssertionError(f"test tried to {name} to {address!r}: only 127.0.0.0/8 and ::1 allowed")
        return original(self, *args)

    return original, guarded


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Fail any test whose code connects or sends outside loopback."""
    saved = {}
    for name in ("connect", "connect_ex", "sendto"):
        original, guarded = _guard(name)
        saved[name] = original
        setattr(socket.socket, name, guarded)
    yield
    for name, original in saved.items():
        setattr(socket.socket, name, original)


@pytest.fixture(autouse=True)
def settings_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the window's layout file and stagectl's data folder (looks) at fresh folders per test."""
    path = str(tmp_path_factory.mktemp("settings"))
    monkeypatch.setenv("STAGECTL_SETTINGS_DIR", path)
    monkeypatch.setenv("STAGECTL_DATA_DIR", str(tmp_path_factory.mktemp("data")))  # looks folder
    return path
