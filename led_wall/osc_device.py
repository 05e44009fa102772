"""A generic OSC device: one OSC address per feature, described as data (:class:`OscFeatureSpec`).

For anything a look should drive that listens to OSC (a media server's exposure, a lighting
desk's submaster, an Unreal Blueprint variable): each feature sends one message to its address
with one argument, ``f`` float32, ``i`` int32, ``T``/``F`` (bools travel as the argument-less
tags) or ``s`` (one of ``choices``). Messages are encoded by :mod:`stagectl.core.osc`
(address and type tags encoded once per feature) and sent by
:class:`stagectl.core.udp_out.UdpSender` (non-blocking, target resolved once, tried once).
Values outside the range, NaN and infinity never reach the wire: :meth:`Feature.check` refuses
them, and a float feature without a range is bounded by float32's.

OSC has no replies, so the link is judged by the socket. The unicast socket is connected: a
receiver that is not there answers (on loopback at once, on a LAN one round trip later) with an
ICMP "port unreachable" the kernel hands back as ``ECONNREFUSED`` (read with ``SO_ERROR``).
Writes check it right after sending; after a refusal, the device stays down until a send was
followed by ``confirm_s`` (50 ms) of silence, so a dead receiver on a LAN never flaps the
state up and down. The poll (every ``poll_s``) sends an empty bundle (``#bundle``, timetag
"immediately", no elements: receivers act on nothing; ``probe = False`` turns it off for a
receiver that logs it) and applies the same check. "Up" therefore means "sending, and nobody
refused"; a host that drops datagrams silently (a firewall) looks up. The poll returns the
values last sent: OSC cannot read back.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from stagectl.core.device import Device
from stagectl.core.events import EventQueue
from stagectl.core.features import DeviceError, Fade, Feature, FeatureKind, Value
from stagectl.core.links import Endpoint
from stagectl.core.osc import (
    IMMEDIATELY,
    MessageBuilder,
    check_address,
    encode_bundle,
    encode_message,
)
from stagectl.core.udp_out import UdpSender

FLOAT32_MAX = 3.4028234663852886e38
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
OSC_TYPES = ("f", "i", "bool", "s")
"""Argument types: float32, int32, bool (sent as T/F), string (one of the feature's choices)."""
_TYPE_ALIASES = {"T/F": "bool", "TF": "bool", "T": "bool", "F": "bool"}
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_PROBE = encode_bundle(IMMEDIATELY, [])


@dataclass(frozen=True, slots=True)
class OscFeatureSpec:
    """One feature of an :class:`OscDevice`: its name, OSC address, argument type and range.

    ``type``: ``"f"``, ``"i"``, ``"bool"`` (alias ``"T/F"``) or ``"s"``. ``minimum``/``maximum`` in
    ``unit`` (numbers only; a float feature without them is bounded by float32). ``fade``: how
    cues interpolate it (numbers; ``i`` defaults to STEP, bools and strings are always STEP).
    ``zone_value``/``zone``/``look_scale``: which look value it follows (see
    :class:`stagectl.core.device.Feature`). ``choices``: the strings an ``s`` feature takes.
    """

    name: str
    address: str
    type: str = "f"
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    fade: Fade | None = None
    zone_value: str | None = None
    zone: str | None = None
    look_scale: float = 1.0
    label: str = ""
    choices: tuple[str, ...] = ()
    description: str = ""

    def to_feature(self) -> Feature:
        """The :class:`Feature` this spec describes; ValueError (naming the feature) when it cannot work."""
        where = f"OSC feature {self.name!r}"
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"{where}: use letters, digits, '.', '-' and '_' in the name")
        try:
            check_address(self.address)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        kind = _TYPE_ALIASES.get(self.type, self.type)
        if kind not in OSC_TYPES:
            raise ValueError(f"{where}: type {self.type!r} is not one of f, i, bool (T/F), s")
        if not math.isfinite(self.look_scale):
            raise ValueError(f"{where}: look_scale {self.look_scale!r} is not finite")
        base = Feature(self.name, self.label or self.name, self.unit, zone_value=self.zone_value,
                       zone=self.zone, look_scale=self.look_scale,
                       description=self.description or f"OSC {self.address} ({kind})")
        if kind == "bool":
            return replace(base, kind=FeatureKind.BOOL, fade=Fade.STEP)
        if kind == "s":
            if not self.choices or any(not isinstance(c, str) or "\x00" in c for c in self.choices):
                raise ValueError(f"{where}: an 's' feature needs choices (strings without NUL)")
            return replace(base, kind=FeatureKind.CHOICE, choices=tuple(self.choices), fade=Fade.STEP)
        low_limit, high_limit = (-FLOAT32_MAX, FLOAT32_MAX) if kind == "f" else (INT32_MIN, INT32_MAX)
        low = low_limit if self.minimum is None else self.minimum
        high = high_limit if self.maximum is None else self.maximum
        for bound in (low, high):
            if not (math.isfinite(bound) and low_limit <= bound <= high_limit):
                raise ValueError(f"{where}: bound {bound!r} does not fit an OSC {kind}")
        if low > high:
            raise ValueError(f"{where}: minimum {low:g} is above maximum {high:g}")
        fade = self.fade if self.fade is not None else (Fade.LINEAR if kind == "f" else Fade.STEP)
        return replace(base, minimum=low, maximum=high, integer=kind == "i", fade=fade)


class OscDevice(Device):
    """A generic OSC device (see the module docstring). ``target`` ``"host:port"`` (unicast or a
    multicast group; ``interface``/``ttl`` for multicast)."""

    kind = "osc"

    def __init__(self, name: str, target: str, features: Sequence[OscFeatureSpec], *, zone: str | None = None,
                 events: EventQueue | None = None, interface: str | None = None, ttl: int = 1,
                 probe: bool = True, confirm_s: float = 0.05, poll_s: float = 2.0, timeout_s: float = 1.0,
                 retry_initial_s: float = 0.5, retry_max_s: float = 10.0) -> None:
        endpoint = Endpoint.parse(target)
        if endpoint.port == 0:
            raise ValueError(f"OSC device {name!r}: target {target!r} has port 0")
        if not features:
            raise ValueError(f"OSC device {name!r} has no features")
        built = [spec.to_feature() for spec in features]
        for field in ("name", "address"):
            values = [getattr(spec, field) for spec in features]
            doubled = sorted({v for v in values if values.count(v) > 1})
            if doubled:
                raise ValueError(f"OSC device {name!r}: more than one feature with {field} "
                                 f"{', '.join(doubled)}")
        if not 0.0 <= confirm_s <= timeout_s / 2:
            raise ValueError(f"OSC device {name!r}: confirm_s {confirm_s!r} is outside 0..timeout_s/2")
        super().__init__(name, target=str(endpoint), zone=zone, events=events, timeout_s=timeout_s,
                         poll_s=poll_s, retry_initial_s=retry_initial_s, retry_max_s=retry_max_s)
        self.endpoint = endpoint
        self.probe = probe
        self.confirm_s = confirm_s
        self.specs = tuple(features)
        self._features = tuple(built)
        self._encoders = {s.name: _encoder(s) for s in features}
        self._udp = UdpSender(endpoint, interface=interface, ttl=ttl)
        self._sent: dict[str, Value] = {}
        self._suspect = False
        self._io = asyncio.Lock()  # a write and a probe never interleave: each reads the other's refusal

    @property
    def features(self) -> tuple[Feature, ...]:
        return self._features

    @property
    def datagrams_sent(self) -> int:
        """Datagrams the kernel accepted (probes included)."""
        return self._udp.sent

    @property
    def dropped_by_reason(self) -> dict[str, int]:
        """Datagrams not sent, by reason (``refused``, ``buffer_full``, ``closed``, ...)."""
        return self._udp.dropped_by_reason

    async def _async_open(self) -> None:
        self._io = asyncio.Lock()  # bound to this loop (a device may be started again on another)
        with contextlib.suppress(OSError):  # e.g. no route yet: the first write or poll retries and reports
            self._udp.open()

    async def _async_close(self) -> None:
        self._udp.close()

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        async with self._io:
            self._ensure_open()
            for name, value in values.items():
                self._send(self._encoders[name](value))
            await self._confirm()
        self._sent.update(values)

    async def _async_poll(self) -> Mapping[str, Value]:
        if self.probe:
            async with self._io:
                self._ensure_open()
                self._send(_PROBE)
                await self._confirm(wait=True)
        return dict(self._sent)

    def _send(self, datagram: bytes) -> None:
        refused = self._udp.dropped_by_reason.get("refused", 0)
        if not self._udp.send(datagram):
            if self._udp.dropped_by_reason.get("refused", 0) > refused:
                self._suspect = True
            raise DeviceError(f"{self.target}: {self._udp.last_error}")

    def _ensure_open(self) -> None:
        if self._udp.sock is None:
            self._udp.open()  # OSError: counted by the base, retried with backoff

    async def _confirm(self, wait: bool = False) -> None:
        """DeviceError when the receiver refused what was sent (ICMP port unreachable)."""
        if wait or self._suspect:
            await asyncio.sleep(self.confirm_s)
        sock = self._udp.sock
        if sock is None:
            raise DeviceError(f"{self.target}: socket closed")
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._suspect = True
            self._udp.count_drop("refused" if code == errno.ECONNREFUSED else "error", os.strerror(code))
            hint = " (is anything listening there?)" if code == errno.ECONNREFUSED else ""
            name = errno.errorcode.get(code, str(code))
            raise DeviceError(f"{self.target}: {name}: {os.strerror(code)}{hint}")
        self._suspect = False


def _encoder(spec: OscFeatureSpec) -> Callable[[Value], bytes]:
    kind = _TYPE_ALIASES.get(spec.type, spec.type)
    if kind in ("f", "i"):
        builder = MessageBuilder(spec.address, kind)
        convert = float if kind == "f" else int
        return lambda value: builder.encode(convert(value))
    return lambda value: encode_message(spec.address, value)
