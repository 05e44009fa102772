"""The sockets of mDNS limited to this host (python-zeroconf has no option for it).

python-zeroconf always binds its shared listening socket to ``0.0.0.0:5353``
(``zeroconf._utils.net.new_listen_socket``), whatever ``interfaces`` says, which takes unicast
datagrams to port 5353 on every interface of the host. For an IPv4 loopback-only list its socket
factory is replaced for that one construction (:func:`loopback_zeroconf`):

* Linux, macOS: the listening socket binds the mDNS group address ``224.0.0.251:5353`` (only
  datagrams sent to the group reach it) and joins the group on the loopback addresses only; each
  address's answering socket binds ``127.0.0.1:5353``, as zeroconf's own does.
* Windows, which delivers multicast to a socket bound to an interface address and refuses a bind to
  a group address: one socket bound to ``127.0.0.1:5353`` listens and answers.

After start (:func:`host_only`) the sockets get multicast TTL 0 and, on Linux, ``IP_MULTICAST_ALL``
off: packets stay on this host, and mDNS traffic another process joined on a real interface is not
delivered to us. :func:`bound_addresses` says what a Zeroconf's sockets are bound to.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from zeroconf import IPVersion, Zeroconf
from zeroconf import _core as zeroconf_core  # its socket factory, replaced for one construction
from zeroconf._utils.net import add_multicast_member, new_respond_socket, new_socket

log = logging.getLogger("stagectl.discovery")

MDNS_GROUP = "224.0.0.251"
_IP_MULTICAST_ALL = 49  # Linux <linux/in.h>; Python's socket module does not name it


def loopback_zeroconf(interfaces: list[str]) -> Zeroconf:
    """A Zeroconf whose sockets are :func:`_loopback_sockets` (zeroconf has no option for it)."""
    core: Any = zeroconf_core
    original = core.create_sockets
    core.create_sockets = _loopback_sockets
    try:
        return Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    finally:
        core.create_sockets = original


def _loopback_sockets(interfaces: Any, unicast: bool = False, ip_version: IPVersion = IPVersion.V4Only,
                      apple_p2p: bool = False) -> tuple[socket.socket | None, list[socket.socket]]:
    """zeroconf's ``create_sockets`` for IPv4 loopback addresses: (listening socket, answering sockets),
    none bound to ``0.0.0.0``. OSError when the sockets cannot be opened."""
    addresses = [str(i) for i in interfaces]
    if sys.platform == "win32":  # one socket on the interface address listens and answers
        both = new_respond_socket(addresses[0])
        if both is None:
            raise OSError(f"cannot bind {addresses[0]}:5353")
        for address in addresses:
            add_multicast_member(both, address)
        return both, [both]
    listen = new_socket((MDNS_GROUP,), ip_version=IPVersion.V4Only)
    if listen is None:
        raise OSError(f"cannot bind {MDNS_GROUP}:5353")
    answering: list[socket.socket] = []
    try:
        for address in addresses:
            if add_multicast_member(listen, address):
                answer = new_respond_socket(address)
                if answer is not None:
                    answering.append(answer)
    except OSError:
        for sock in (listen, *answering):
            sock.close()
        raise
    return listen, answering


def bound_addresses(zc: Zeroconf) -> list[tuple[str, int]]:
    """The (host, port) every mDNS socket of ``zc`` is bound to, listening and answering."""
    engine = zc.engine
    transports = [*engine.readers, *(s for s in engine.senders if s not in engine.readers)]
    return sorted({tuple(t.sock.getsockname()[:2]) for t in transports})


def host_only(zc: Zeroconf) -> None:
    """Multicast TTL 0 on every answering socket, ``IP_MULTICAST_ALL`` off on every listening one (Linux)."""
    try:
        for sender in zc.engine.senders:
            sender.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
        if sys.platform.startswith("linux"):
            for reader in zc.engine.readers:
                reader.sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
    except (AttributeError, OSError) as exc:  # zeroconf internals moved: lo still never leaves the host
        log.warning("discovery: could not make mDNS sockets host-only (%s); continuing", exc)
