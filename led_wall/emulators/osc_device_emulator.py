"""An OSC receiver on loopback that keeps the newest arguments per address, for the demo stage and tests.

It stands in for whatever an :class:`led_wall.osc_device.OscDevice` drives (a media server, a
desk, an Unreal Blueprint): a real UDP socket, every datagram decoded by python-osc (a decoder
independent of stagectl's encoder), bundles opened (an empty bundle, the device's link probe,
is counted and changes nothing). A datagram python-osc cannot decode is counted by reason and
logged at most once a second; it never raises out of the protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket, ParseError

from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.text import escape_untrusted

log = logging.getLogger("stagectl.led_wall")

MAX_DATAGRAM = 8192
"""Larger datagrams are refused before decoding (the devices stagectl drives send tens of bytes)."""


class OscDeviceEmulator(asyncio.DatagramProtocol):
    """Receives OSC on ``host:port`` (0: any free port) and keeps what arrived.

    Attributes:
        values: address -> the newest message's arguments. messages: messages decoded.
        bundles: bundles received (probes included). rejected: datagrams refused, by reason
            (``size``, ``decode``). history: (address, arguments) of every message, oldest first
            (the newest 10 000).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.values: dict[str, list[Any]] = {}
        self.history: list[tuple[str, list[Any]]] = []
        self.messages = 0
        self.bundles = 0
        self.rejected: dict[str, int] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._limiter = RateLimiter(1.0)
        self._changed = asyncio.Event()

    async def async_start(self) -> int:
        """Bind and start receiving (I/O loop); returns the bound port."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, self.port))
        self._transport = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        return self.port

    async def async_stop(self) -> None:
        """Close the socket (a sender to it then sees ECONNREFUSED on loopback)."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    async def async_wait(self, address: str, check: Callable[[list[Any]], bool] | None = None,
                         timeout: float = 3.0) -> list[Any]:
        """Wait until ``address``'s newest arguments exist and pass ``check``; returns them."""
        async with asyncio.timeout(timeout):
            while True:
                got = self.values.get(address)
                if got is not None and (check is None or check(got)):
                    return got
                self._changed.clear()
                await self._changed.wait()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            if len(data) > MAX_DATAGRAM:
                self._reject("size", f"{len(data)} bytes from {addr[0]}")
                return
            self._take(OscPacket(data).messages)
            if OscBundle.dgram_is_bundle(data):
                self.bundles += 1
        except ParseError as exc:
            self._reject("decode", f"from {addr[0]}: {exc}")
        except Exception as exc:  # python-osc raises more than ParseError on hostile input
            self._reject("decode", f"from {addr[0]}: {type(exc).__name__}: {exc}")

    def _take(self, timed: list[Any]) -> None:
        for item in timed:
            message: OscMessage = item.message
            arguments = list(message.params)
            self.values[message.address] = arguments
            self.history.append((message.address, arguments))
            self.messages += 1
        if len(self.history) > 10_000:
            del self.history[:-10_000]
        if timed:
            self._changed.set()

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        held = self._limiter.check(reason)
        if held is not None:
            message = f"OSC emulator {self.host}:{self.port}: {reason}: {escape_untrusted(detail)}"
            log.warning("%s", with_suppressed(message, held))
