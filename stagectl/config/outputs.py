"""Checking ``[[outputs]]`` tables: where stagectl sends the solved camera and frustum cues.

``kind = "opentrackio" | "osc" | "remote-control"``; every problem is recorded with file, line
and key, like the rest of the stage file.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from stagectl.config.model import OutputConfig
from stagectl.core.check import Checker, KeyPath
from stagectl.core.links import Endpoint

OUTPUT_KINDS = ("opentrackio", "osc", "remote-control")
KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    "opentrackio": ("kind", "target", "cameras", "encoding", "interface", "ttl", "mtu"),
    "osc": ("kind", "target", "cameras", "bundle", "prefix", "interface", "ttl"),
    "remote-control": ("kind", "target", "websocket", "preset", "timeout_ms", "emulator"),
}
ALL_OUTPUT_KEYS = tuple(dict.fromkeys(k for keys in KEYS_BY_KIND.values() for k in keys))
DEFAULT_TARGET = {"opentrackio": "127.0.0.1:55555", "osc": "127.0.0.1:8000",
                  "remote-control": "127.0.0.1:30010"}
_ALLOWED_TARGET = '"host:port" with an IPv4 address or localhost, or "[IPv6]:port"'


class OutputTableChecker(Checker):
    """The ``[[outputs]]`` part of the stage-file checker."""

    def output(self, i: int, table: dict[str, Any], cameras: Sequence[str]) -> OutputConfig | None:
        """Check ``outputs[i]``; None when an error was recorded."""
        base, before = ("outputs", i), len(self.errors)
        kind = self.kind_and_keys(table, base, "output", OUTPUT_KINDS, KEYS_BY_KIND, ALL_OUTPUT_KEYS)
        keys = KEYS_BY_KIND.get(kind or "", ALL_OUTPUT_KEYS)
        target = self._endpoint(table, (*base, "target"), DEFAULT_TARGET.get(kind or "", "127.0.0.1:0"))
        websocket = None
        if "websocket" in table and "websocket" in keys:
            websocket = self._endpoint(table, (*base, "websocket"), "127.0.0.1:30020")
        chosen = self._cameras(table, base, cameras) if "cameras" in keys else ()
        encoding = self.word(table, (*base, "encoding"), ("json", "cbor"), "cbor")
        interface = self.typed(table, (*base, "interface"), (str,), "an interface's IPv4 address")
        if interface is not None:
            try:
                interface = str(ipaddress.IPv4Address(interface))
            except ValueError:
                self.error((*base, "interface"), f"{interface!r} is not an IPv4 address")
        multicast = target is not None and ipaddress.ip_address(target.host).is_multicast
        if multicast and interface is None:
            self.error((*base, "interface"), f"target {target} is multicast: say which interface to send "
                       'from (interface = "10.0.0.2")')
        ttl = self.ranged(table, (*base, "ttl"), 0, 255, 1, "an integer 0..255 (multicast hops)",
                          integer=True)
        bundle = self.typed(table, (*base, "bundle"), (bool,), "true or false (one OSC bundle per sample)",
                            False)
        prefix = self.typed(table, (*base, "prefix"), (str,), 'an OSC address prefix like "/stagectl"',
                            "/stagectl")
        if not prefix.startswith("/") or any(c in prefix for c in " #*,?[]{}"):
            self.error((*base, "prefix"), f"{prefix!r} is not an OSC address prefix; allowed: '/' and no "
                       "spaces or # * , ? [ ] { }")
        preset = self.typed(table, (*base, "preset"), (str,), "the Remote Control preset's name", "stagectl")
        timeout_ms = self.ranged(table, (*base, "timeout_ms"), 50, 30000, 1000.0,
                                 "a number 50..30000 (milliseconds per request)")
        emulator = self.typed(table, (*base, "emulator"), (bool,),
                              "true or false (run stagectl's Remote Control emulator on loopback)", False)
        mtu = self.ranged(table, (*base, "mtu"), 64, 65507, 1500,
                          "an integer 64..65507 (bytes a datagram may hold, header included; larger samples "
                          "are sent in segments)", integer=True)
        if len(self.errors) > before or kind is None or target is None:
            return None
        return OutputConfig(kind, target, chosen, encoding, interface, ttl, bundle, prefix, websocket, preset,
                            timeout_ms, emulator, i, mtu)

    def _endpoint(self, table: Mapping[str, Any], key: KeyPath, default: str) -> Endpoint | None:
        text = self.typed(table, key, (str,), _ALLOWED_TARGET, default)
        try:
            return Endpoint.parse(text)
        except ValueError as exc:
            self.error(key, f"invalid address {text!r}: {exc}; allowed: {_ALLOWED_TARGET}")
            return None


    def _cameras(self, table: Mapping[str, Any], base: KeyPath, cameras: Sequence[str]) -> tuple[str, ...]:
        key = (*base, "cameras")
        allowed = 'a list of camera names from [[cameras]], e.g. ["A"] (leave it out for every camera)'
        value = self.typed(table, key, (list,), allowed)
        if value is None:
            return tuple(cameras)
        for n, name in enumerate(value):
            if name not in cameras:
                defined = ", ".join(repr(c) for c in cameras) or "none defined"
                self.error((*key, n), f"camera {name!r} is not defined; allowed: a camera defined in "
                           f"[[cameras]] ({defined})")
        return tuple(value)
