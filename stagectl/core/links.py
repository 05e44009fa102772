"""Where a stream or a device is: UDP endpoints and serial port settings (plain frozen values)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A UDP address: ``host`` is an IP address literal (IPv6 without brackets), ``port`` 0..65535."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Parse ``"host:port"`` (IPv4 or ``localhost``) or ``"[IPv6]:port"``; ValueError says why.

        ``localhost`` becomes ``127.0.0.1``; port 0 means "any free port".  Names are not resolved.
        """
        if text.startswith("["):
            host, sep, port = text[1:].partition("]:")
            if not sep:
                raise ValueError("an IPv6 address must be written as [address]:port")
            try:
                host = str(ipaddress.IPv6Address(host))
            except ValueError:
                raise ValueError(f"{host!r} is not an IPv6 address") from None
        else:
            host, sep, port = text.rpartition(":")
            if not sep:
                raise ValueError("no port (write host:port)")
            if ":" in host:
                raise ValueError("an IPv6 address must be in brackets: [address]:port")
            try:
                host = "127.0.0.1" if host == "localhost" else str(ipaddress.IPv4Address(host))
            except ValueError:
                raise ValueError(f"host {host!r} is not an IPv4 address or 'localhost'") from None
        if not _PORT.fullmatch(port) or int(port) > 65535:
            raise ValueError(f"port {port!r} is not a number 0..65535")
        return cls(host, int(port))


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """How a serial source opens its port (pyserial names)."""

    port: str
    baud: int = 38400
    parity: str = "odd"
    """none, even, odd, mark or space."""
    data_bits: int = 8
    stop_bits: float = 1.0
