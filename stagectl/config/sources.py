"""Checking ``[[sources]]`` tables of the stage file: keys per protocol, addresses, serial settings.

Mixed into the stage-file checker of config.py; every problem is recorded (with file, line and
key) rather than raised, so one run reports them all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from stagectl.config.model import (
    DEFAULT_RATE_HZ,
    FUTURE_PROTOCOLS,
    OPENTRACKIO_PORT,
    PROTOCOLS,
    SIMULATED_PROTOCOLS,
    SourceConfig,
)
from stagectl.core.check import Checker, KeyPath
from stagectl.core.health import DEFAULT_STALE_MS
from stagectl.core.links import Endpoint, SerialSettings
from tracking.freed.presets import PRESETS
from tracking.freed.source import MAX_SPEED_M_S, MAX_TURN_DEG_S

KEYS_BY_PROTOCOL: dict[str, tuple[str, ...]] = {
    "freed": ("camera", "protocol", "listen", "camera_id", "preset", "allow", "plausibility", "stale_ms"),
    "freed-serial": ("camera", "protocol", "port", "baud", "parity", "data_bits", "stop_bits", "camera_id",
                     "preset", "start_stream", "plausibility", "stale_ms"),
    "opentrackio": ("camera", "protocol", "listen", "group", "interface", "source_number", "allow",
                    "stale_ms"),
    "lens-serial": ("camera", "protocol", "port", "lens_protocol", "baud", "parity", "data_bits", "stop_bits",
                    "stale_ms"),
    "simulator": ("camera", "protocol", "listen", "camera_id", "rate_hz", "simulate", "preset", "encoding",
                  "stale_ms"),
}
"""The keys each protocol reads, in the order the docs list them."""
ALL_SOURCE_KEYS = tuple(dict.fromkeys(k for keys in KEYS_BY_PROTOCOL.values() for k in keys))

PARITIES = ("none", "even", "odd", "mark", "space")
LENS_PROTOCOLS = ("cooke-i", "fiz-line")
STOP_BITS = (1, 1.5, 2)
_ALLOWED_PLAUSIBILITY = (f"true, false, or {{ max_speed_m_s = {MAX_SPEED_M_S:g}, max_turn_deg_s = "
                         f"{MAX_TURN_DEG_S:g} }} (the defaults when true)")
_ALLOWED_LISTEN = '"host:port" with an IPv4 address or localhost, or "[IPv6]:port"; port 0..65535'


def default_listen(protocol: str | None, preset: str) -> str:
    """Where a source listens when the stage file says nothing: loopback, never every interface."""
    if protocol == "freed" and preset in PRESETS:
        return f"127.0.0.1:{PRESETS[preset].default_port}"
    if protocol == "opentrackio":
        return f"127.0.0.1:{OPENTRACKIO_PORT}"
    return "127.0.0.1:0"


class SourceTableChecker(Checker):
    """The ``[[sources]]`` part of the stage-file checker."""

    def source(self, i: int, table: dict[str, Any], cameras: Sequence[str]) -> SourceConfig | None:
        """Check ``sources[i]``; None when an error was recorded."""
        base, before = ("sources", i), len(self.errors)
        key: KeyPath = (*base, "camera")
        camera = self.typed(table, key, (str,), "the name of a camera defined in [[cameras]]", required=True)
        if camera is not None and camera not in cameras:
            defined = ", ".join(repr(c) for c in cameras) or "none defined"
            self.error(key, f"camera '{camera}' is not defined; allowed: a camera defined in [[cameras]] "
                       f"({defined})")
        protocol = self._protocol(table, base)
        keys = KEYS_BY_PROTOCOL.get(protocol or "", ALL_SOURCE_KEYS)
        self._unknown_source_keys(table, base, protocol, keys)
        def used(name: str) -> bool:
            return name in keys

        preset = self._preset(table, base) if used("preset") else "generic"
        listen = self._listen(table, base, protocol, preset) if used("listen") else None
        allowed = "an integer 0..255 (the FreeD camera id), or leave it out for any"
        camera_id = (self.ranged(table, (*base, "camera_id"), 0, 255, None, allowed, integer=True)
                     if used("camera_id") else None)
        rate_hz = DEFAULT_RATE_HZ
        if used("rate_hz"):
            rate_hz = self.ranged(table, (*base, "rate_hz"), 1, 1000, DEFAULT_RATE_HZ,
                                  "a number 1..1000 (packets per second)")
        stale_ms = self.ranged(table, (*base, "stale_ms"), 50, 5000, DEFAULT_STALE_MS,
                               "a number 50..5000 (milliseconds without a sample before the source is stale)")
        allow = self._allow(table, base) if used("allow") else ()
        plausibility = self._plausibility(table, base) if used("plausibility") else None
        group, interface = self._multicast(table, base, listen) if used("group") else (None, None)
        allowed = "an integer 1..200 (OpenTrackIO sourceNumber), or leave it out for any"
        source_number = (self.ranged(table, (*base, "source_number"), 1, 200, None, allowed, integer=True)
                         if used("source_number") else None)
        serial = self._serial(table, base, protocol) if protocol in ("freed-serial", "lens-serial") else None
        lens_protocol = "cooke-i"
        if used("lens_protocol"):
            lens_protocol = self.word(table, (*base, "lens_protocol"), LENS_PROTOCOLS, "cooke-i")
        start_stream = used("start_stream") and bool(self.typed(
            table, (*base, "start_stream"), (bool,), 'true or false (send the D0 "start stream" command on '
            "connect)", False))
        simulate, encoding = "freed", "json"
        if used("simulate"):
            simulate = self.word(table, (*base, "simulate"), SIMULATED_PROTOCOLS, "freed")
            encoding = self.word(table, (*base, "encoding"), ("json", "cbor"), "json")
        if "encoding" in table and used("encoding") and simulate != "opentrackio":
            self.error((*base, "encoding"), 'encoding is only used with simulate = "opentrackio"; '
                       "allowed: remove it, or simulate OpenTrackIO")
        if len(self.errors) > before or protocol is None:
            return None
        return SourceConfig(camera, protocol, listen, camera_id, rate_hz, i, preset, allow, group, interface,
                            source_number, serial, start_stream, stale_ms, simulate, encoding, lens_protocol,
                            plausibility=plausibility)

    # --- single keys ----------------------------------------------------------------------------

    def _protocol(self, table: Mapping[str, Any], base: KeyPath) -> str | None:
        key = (*base, "protocol")
        available = ", ".join(PROTOCOLS)
        protocol = self.typed(table, key, (str,), available, required=True)
        if protocol in FUTURE_PROTOCOLS:
            self.error(key, f"protocol '{protocol}' is not available in this version; available: {available}")
            return None
        if protocol is None:
            return None
        return self.choice(protocol, key, "protocol", PROTOCOLS, hint_from=(*PROTOCOLS, *FUTURE_PROTOCOLS))

    def _unknown_source_keys(self, table: Mapping[str, Any], base: KeyPath, protocol: str | None,
                             keys: Sequence[str]) -> None:
        for name in table:
            if name in keys:
                continue
            if name in ALL_SOURCE_KEYS and protocol is not None:
                users = [p for p, k in KEYS_BY_PROTOCOL.items() if name in k]
                used_by = " or ".join(f"'{p}'" for p in users)
                self.error((*base, name), f"{name} is only used by protocol {used_by}; allowed keys for "
                           f"'{protocol}': {', '.join(keys)}")
            else:
                self.keys({name: table[name]}, base, keys, where="in [[sources]]", hint_from=ALL_SOURCE_KEYS)


    def _preset(self, table: Mapping[str, Any], base: KeyPath) -> str:
        names = tuple(PRESETS)
        return self.word(table, (*base, "preset"), names, "generic")

    def _listen(self, table: Mapping[str, Any], base: KeyPath, protocol: str | None,
                preset: str) -> Endpoint | None:
        key = (*base, "listen")
        text = self.typed(table, key, (str,), _ALLOWED_LISTEN, default_listen(protocol, preset))
        try:
            return Endpoint.parse(text)
        except ValueError as exc:
            self.error(key, f"invalid address {text!r}: {exc}; allowed: {_ALLOWED_LISTEN}")
            return None

    def _allow(self, table: Mapping[str, Any], base: KeyPath) -> tuple[str, ...]:
        key = (*base, "allow")
        allowed = 'a list of sender IP addresses, e.g. ["10.0.0.5"] (leave it out to accept any sender)'
        value = self.typed(table, key, (list,), allowed, [])
        addresses: list[str] = []
        for n, item in enumerate(value):
            text = "127.0.0.1" if item == "localhost" else item
            try:
                if not isinstance(text, str):
                    raise ValueError(f"{item!r} is not a string")
                addresses.append(str(ipaddress.ip_address(text)))
            except ValueError:
                self.error((*key, n), f"{item!r} is not an IP address; allowed: {allowed}")
        return tuple(addresses)

    def _plausibility(self, table: Mapping[str, Any], base: KeyPath) -> tuple[float, float] | None:
        """``plausibility``: off (false, absent), the default limits (true), or limits of one's own."""
        key = (*base, "plausibility")
        kind = dict if isinstance(table.get("plausibility"), dict) else bool  # the Checker takes bool alone
        value = self.typed(table, key, (kind,), _ALLOWED_PLAUSIBILITY, False)
        if value is False:
            return None
        if value is True:
            return MAX_SPEED_M_S, MAX_TURN_DEG_S
        self.keys(value, key, ("max_speed_m_s", "max_turn_deg_s"), where="in plausibility")
        speed = self.ranged(value, (*key, "max_speed_m_s"), 0.1, 1000, MAX_SPEED_M_S,
                            "a number 0.1..1000 (metres per second a camera may move)")
        turn = self.ranged(value, (*key, "max_turn_deg_s"), 1, 100_000, MAX_TURN_DEG_S,
                           "a number 1..100000 (degrees per second a head may turn, each of pan, tilt, roll)")
        return float(speed), float(turn)

    def _multicast(self, table: Mapping[str, Any], base: KeyPath,
                   listen: Endpoint | None) -> tuple[str | None, str | None]:
        allowed = 'an IPv4 multicast address 224.0.0.0..239.255.255.255 (OpenTrackIO: "239.135.1.<source>")'
        group = self.typed(table, (*base, "group"), (str,), allowed)
        if group is not None:
            try:
                if not ipaddress.IPv4Address(group).is_multicast:
                    raise ValueError
            except ValueError:
                self.error((*base, "group"), f"{group!r} is not a multicast address; allowed: {allowed}")
                group = None
        allowed = "the IPv4 address of the interface to join the group on, e.g. \"10.0.0.2\""
        interface = self.typed(table, (*base, "interface"), (str,), allowed)
        if interface is not None:
            try:
                interface = str(ipaddress.IPv4Address(interface))
            except ValueError:
                self.error((*base, "interface"), f"{interface!r} is not an IPv4 address; allowed: {allowed}")
                interface = None
            if group is None and "group" not in table:
                self.error((*base, "interface"), "interface is only used with group (multicast); allowed: "
                           "remove it, or add group")
        elif group is not None and listen is not None:
            host = ipaddress.ip_address(listen.host)
            if host.is_unspecified or host.is_multicast or host.version != 4:
                self.error((*base, "interface"), f"group {group} needs the interface to join it on; "
                           f"allowed: {allowed}, or a listen address on that interface")
            else:
                interface = listen.host
        return group, interface

    def _serial(self, table: Mapping[str, Any], base: KeyPath, protocol: str) -> SerialSettings | None:
        """The line settings; defaults are FreeD's 38400 8O1, or a lens encoder's 115200 8N1."""
        before = len(self.errors)
        freed = protocol == "freed-serial"
        what, default_baud, default_parity = ("FreeD", 38400, "odd") if freed else \
            ("Cooke /i", 115200, "none")
        allowed = 'the serial device, e.g. "/dev/ttyUSB0" or "COM3"'
        port = self.typed(table, (*base, "port"), (str,), allowed, required=True)
        if port is not None and (not port.strip() or "\0" in port):
            self.error((*base, "port"), f"{port!r} is not a device name; allowed: {allowed}")
        baud = self.ranged(table, (*base, "baud"), 50, 4_000_000, default_baud,
                           f"an integer 50..4000000 ({what}: {default_baud})", integer=True)
        parity = self.word(table, (*base, "parity"), PARITIES, default_parity)
        data_bits = self.ranged(table, (*base, "data_bits"), 5, 8, 8, f"an integer 5..8 ({what}: 8)",
                                integer=True)
        key = (*base, "stop_bits")
        stop_bits = self.typed(table, key, (int, float), f"1, 1.5 or 2 ({what}: 1)", 1)
        if stop_bits not in STOP_BITS:
            self.error(key, f"{stop_bits} is not 1, 1.5 or 2")
        if len(self.errors) > before:
            return None
        return SerialSettings(port, baud, parity, data_bits, float(stop_bits))

    # --- across sources -------------------------------------------------------------------------

    def shared_listen(self, sources: Sequence[SourceConfig]) -> None:
        """Two sources may share a UDP address (port > 0) only when both are FreeD with distinct
        camera ids; two serial sources never share a device."""
        bound = [s for s in sources if s.listen is not None and s.listen.port != 0]
        for n, src in enumerate(bound):
            for other in bound[:n]:
                if (other.group, other.listen) != (src.group, src.listen):
                    continue
                ids = (src.camera_id, other.camera_id)
                if src.protocol == other.protocol == "freed" and None not in ids and ids[0] != ids[1]:
                    continue
                self.error(("sources", src.index, "listen"), f"sources[{other.index}] already listens on "
                           f"{src.listen}; allowed: another port, or (FreeD only) distinct camera_id values "
                           "on both sources")
                break
        devices: dict[str, int] = {}
        for src in sources:
            if src.serial is None:
                continue
            first = devices.setdefault(src.serial.port, src.index)
            if first != src.index:
                self.error(("sources", src.index, "port"),
                           f"sources[{first}] already uses {src.serial.port}; "
                           "allowed: one source per serial device")
