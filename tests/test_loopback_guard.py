"""The suite's network guard (tests/support/network.py) itself: loopback only, host-only multicast."""

from __future__ import annotations

import socket

import pytest


def _udp() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def test_unicast_beyond_loopback_fails_the_test() -> None:
    with _udp() as sock, pytest.raises(AssertionError, match=r"only 127\.0\.0\.0/8"):
        sock.sendto(b"x", ("192.0.2.1", 9))


def test_multicast_on_loopback_with_ttl_0_is_allowed_and_ttl_1_is_not() -> None:
    with _udp() as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
        assert sock.sendto(b"x", ("239.135.1.200", 9)) == 1
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # could reach the network
        with pytest.raises(AssertionError, match=r"only 127\.0\.0\.0/8"):
            sock.sendto(b"x", ("239.135.1.200", 9))


def test_multicast_out_of_another_interface_fails() -> None:
    with _udp() as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)  # default interface, not lo
        with pytest.raises(AssertionError, match=r"only 127\.0\.0\.0/8"):
            sock.sendto(b"x", ("239.135.1.200", 9))
