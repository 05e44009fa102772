"""Checking ``[[devices]]``, ``[control]``, ``[looks]`` and ``[discovery]``: the lighting side of a stage.

Every problem is recorded with file, line and key, like the rest of the stage file
(docs/stage-file.md is the reference).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stagectl.config.model import (
    ControlConfig,
    DeviceConfig,
    DiscoveryConfig,
    FixtureConfig,
    LooksConfig,
    OscFeatureConfig,
)
from stagectl.config.passcodes import MIN_PASSCODE, passcode_weakness
from stagectl.core.check import MISSING, TOML, Checker, KeyPath
from stagectl.core.links import Endpoint

DEVICE_KINDS = ("tessera", "helios", "osc", "sacn")
_COMMON = ("kind", "name", "zone", "timeout_ms", "poll_ms")
KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    "tessera": (*_COMMON, "url", "emulator", "username", "password_env"),
    "helios": (*_COMMON, "url", "emulator", "write_verb", "peak_nits", "username", "password_env"),
    "osc": (*_COMMON, "target", "features"),
    "sacn": (*_COMMON, "target", "priority", "fps", "interface", "fixtures"),
}
ALL_DEVICE_KEYS = tuple(dict.fromkeys(k for keys in KEYS_BY_KIND.values() for k in keys))
DEFAULT_URL = {"tessera": "http://127.0.0.1:8080", "helios": "http://127.0.0.1:8081"}
FIXTURE_KEYS = ("name", "profile", "universe", "address", "group")
FEATURE_KEYS = ("name", "address", "type", "unit", "min", "max", "fade", "zone_value")
CONTROL_KEYS = ("listen", "allow", "passcode", "advertise", "reply_port")
LOOKS_KEYS = ("dir", "safe", "fade_s", "rate_hz")
DISCOVERY_KEYS = ("browse", "interfaces")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
_ZONE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ALLOWED_ENV = 'the name of an environment variable holding the password, e.g. "WALL_PASSWORD"'
_ALLOWED_NAME = "1 to 32 characters from A-Z a-z 0-9 _ . - (it is part of OSC addresses)"
_ALLOWED_ZONE = 'a look zone: "wall", "ceiling", "frustum" or a fixture group of a-z 0-9 -'


PASSCODE_ADVICE = (f"allowed: at least {MIN_PASSCODE} characters, not one character repeated and not a run "
                   "like 12345678; e.g. 8 to 10 random digits (a desk that sends the passcode as a number "
                   "can send up to 10) or three random words. Wrong guesses cost about a minute each "
                   "stage-wide, so 8 random digits take decades to find; a 4-digit code takes days")
_ALLOWED_NETWORKS = 'a list of IP addresses or CIDR networks, e.g. ["127.0.0.1", "10.0.0.0/24"]'


def allow_entry_problem(entry: object) -> str | None:
    """What is wrong with one ``allow`` entry (the control server reads it with ``strict`` networks:
    host bits set is an error, not a silent widening), or None when it is an address or network."""
    if not isinstance(entry, str):
        return f"is not a string; allowed: {_ALLOWED_NETWORKS}"
    text = entry.strip()
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits" not in str(exc):
            return f"is not an address or network (names are not resolved); allowed: {_ALLOWED_NETWORKS}"
        network, address = ipaddress.ip_network(text, strict=False), text.split("/", 1)[0]
        return (f"has host bits set (the network of {address} with that prefix is {network}); "
                f"allowed: \"{network}\" for the whole network, or \"{address}\" for one address")
    return None


class DeviceTableChecker(Checker):
    """The lighting part of the stage-file checker."""

    def device(self, i: int, table: dict[str, Any]) -> DeviceConfig | None:
        """Check ``devices[i]``; None when an error was recorded."""
        base, before = ("devices", i), len(self.errors)
        inline_password = "password" in table
        if inline_password:  # before the unknown-key check: say what to use instead
            self.error((*base, "password"), "a password is not read from the stage file: use password_env "
                       f"instead; allowed: password_env = {_ALLOWED_ENV}")
            table = {k: v for k, v in table.items() if k != "password"}
        kind = self.kind_and_keys(table, base, "device", DEVICE_KINDS, KEYS_BY_KIND, ALL_DEVICE_KEYS)
        keys = KEYS_BY_KIND.get(kind or "", ALL_DEVICE_KEYS)
        name = self.typed(table, (*base, "name"), (str,), _ALLOWED_NAME, required=True)
        if name is not None and not _NAME.match(name):
            self.error((*base, "name"), f"invalid device name {name!r}; allowed: {_ALLOWED_NAME}")
        zone = self._zone(table, (*base, "zone"))
        url = self._url(table, (*base, "url"), DEFAULT_URL.get(kind or "")) if "url" in keys else None
        target = self._target(table, (*base, "target"), port=5568 if kind == "sacn" else None) \
            if "target" in keys else None
        if kind == "osc" and target is None and "target" not in table:
            self.error((*base, "target"), "missing required key 'target'; allowed: \"host:port\" of the "
                       "device")
        timeout_ms = self.ranged(table, (*base, "timeout_ms"), 50, 30000, 1000.0,
                                 "a number 50..30000 (milliseconds per request)")
        poll_ms = self.ranged(table, (*base, "poll_ms"), 100, 600000, 2000.0,
                              "a number 100..600000 (milliseconds between state reads)")
        emulator = self.typed(table, (*base, "emulator"), (bool,),
                              "true or false (run stagectl's emulator of the processor on loopback)", False)
        verb = self.typed(table, (*base, "write_verb"), (str,), '"PATCH" or "POST"', "PATCH")
        if verb not in ("PATCH", "POST"):
            self.error((*base, "write_verb"), f"{verb!r} is not a write verb; allowed: \"PATCH\" or \"POST\"")
        peak = self.ranged(table, (*base, "peak_nits"), 1, 20000, 1500.0,
                           "a number 1..20000 (the processor's brightness at 100 %, in nits)")
        priority = self.ranged(table, (*base, "priority"), 0, 200, 100, "an integer 0..200 (sACN priority)",
                               integer=True)
        fps = self.ranged(table, (*base, "fps"), 1, 100, 44.0,
                          "a number 1..100 (sACN frames per second per universe; DMX512's line maximum "
                          "is 44)")
        interface = self.typed(table, (*base, "interface"), (str,), "an interface's IPv4 address")
        if interface is not None:
            try:
                interface = str(ipaddress.IPv4Address(interface))
            except ValueError:
                self.error((*base, "interface"), f"{interface!r} is not an IPv4 address")
        username, password_env, password = self._credentials(table, base, inline_password) \
            if "username" in keys \
            else (None, None, "")
        fixtures = self._fixtures(table, base) if kind == "sacn" else ()
        features = self._features(table, base) if kind == "osc" else ()
        if len(self.errors) > before or kind is None or name is None:
            return None
        return DeviceConfig(kind, name, url, target, zone, timeout_ms, poll_ms, emulator, verb, peak,
                            priority, fps, interface, fixtures, features, i, username, password_env,
                            password)

    def device_names(self, devices: list[tuple[int, dict[str, Any]]]) -> None:
        """Device names are unique (they are OSC address parts and look targets)."""
        seen: dict[str, int] = {}
        for i, table in devices:
            name = table.get("name")
            if isinstance(name, str):
                if name in seen:
                    self.error(("devices", i, "name"), f"device '{name}' is defined twice (first in "
                               f"[[devices]] {seen[name] + 1}); allowed: a name no other device has")
                seen.setdefault(name, i)

    def control(self, data: Mapping[str, Any]) -> ControlConfig | None:
        """``[control]``; None when absent or wrong."""
        table = self.section(data, "control", "[control] with listen")
        if table is None:
            return None
        before = len(self.errors)
        self.unknown_keys(table, ("control",), "[control]", CONTROL_KEYS)
        listen = self._target(table, ("control", "listen"), "127.0.0.1:53000")
        allow = self.typed(table, ("control", "allow"), (list,), _ALLOWED_NETWORKS, [])
        for n, entry in enumerate(allow):
            problem = allow_entry_problem(entry)
            if problem is not None:
                self.error(("control", "allow", n), f"{entry!r} {problem}")
        passcode = self.typed(table, ("control", "passcode"), (str,), "a passcode string")
        if passcode == "":
            self.error(("control", "passcode"), "is empty; allowed: leave it out, or a non-empty passcode")
        elif passcode is not None and (weakness := passcode_weakness(passcode)) is not None:
            self.error(("control", "passcode"), f"is too weak: {weakness}; {PASSCODE_ADVICE}")
        advertise = self.typed(table, ("control", "advertise"), (bool,), "true or false", True)
        reply_port = self.ranged(table, ("control", "reply_port"), 1, 65535, None,
                                 "a port 1..65535 the desk listens on for replies", integer=True)
        if len(self.errors) > before or listen is None:
            return None
        return ControlConfig(listen, tuple(str(a) for a in allow), passcode, advertise, reply_port)

    def looks(self, data: Mapping[str, Any], base_dir: Path) -> LooksConfig:
        """``[looks]`` (defaults when absent)."""
        table = self.section(data, "looks", "[looks] with dir")
        if table is None:
            return LooksConfig()
        self.unknown_keys(table, ("looks",), "[looks]", LOOKS_KEYS)
        folder = self.typed(table, ("looks", "dir"), (str,), "a folder path, relative to the stage file")
        safe = self.typed(table, ("looks", "safe"), (str,), "the name of the look 'back to safe' recalls")
        fade = self.ranged(table, ("looks", "fade_s"), 0, 3600, 3.0, "a number 0..3600 (seconds)")
        rate = self.ranged(table, ("looks", "rate_hz"), 50, 240, 60.0,
                           "a number 50..240 (fade updates per second to each device)")
        return LooksConfig(None if folder is None else (base_dir / folder), safe, fade, rate)

    def discovery(self, data: Mapping[str, Any]) -> DiscoveryConfig:
        """``[discovery]``: ``browse`` (default true) and ``interfaces`` (default automatic)."""
        table = self.section(data, "discovery", "[discovery] browse")
        if table is None:
            return DiscoveryConfig()
        self.unknown_keys(table, ("discovery",), "[discovery]", DISCOVERY_KEYS)
        browse = bool(self.typed(table, ("discovery", "browse"), (bool,), "true or false", True))
        allowed = ('a list of the IPv4 addresses of the interfaces to use, e.g. ["127.0.0.1"] (this machine '
                   'only) or ["10.0.0.20"]; leave it out for automatic')
        listed = table.get("interfaces", MISSING)
        if listed is MISSING:
            return DiscoveryConfig(browse)
        if not isinstance(listed, list):
            self.error(("discovery", "interfaces"),
                       f"must be an array, not {TOML.describe(listed)}; allowed: {allowed}")
            return DiscoveryConfig(browse)
        if not listed:
            self.error(("discovery", "interfaces"), f"is empty; allowed: {allowed}")
        interfaces = []
        for n, entry in enumerate(listed):
            try:
                if not isinstance(entry, str):
                    raise TypeError(entry)
                address = ipaddress.IPv4Address(entry)
            except (TypeError, ValueError):
                self.error(("discovery", "interfaces", n),
                           f"{entry!r} is not an IPv4 address; allowed: {allowed}")
                continue
            if address.is_unspecified or address.is_multicast:
                self.error(("discovery", "interfaces", n),
                           f"{entry!r} is not an interface's address; allowed: {allowed}")
            interfaces.append(str(address))
        return DiscoveryConfig(browse, tuple(dict.fromkeys(interfaces)) or None)

    # --- parts ------------------------------------------------------------------------------------

    def _credentials(self, table: Mapping[str, Any], base: KeyPath,
                     inline_password: bool) -> tuple[str | None, str | None, str]:
        """``username`` and ``password_env`` (both or neither), and the password read from that variable
        (``inline_password``: a ``password`` key was already reported, no second error for it)."""
        username = self.typed(table, (*base, "username"), (str,), "the user name the processor asks for")
        env = self.typed(table, (*base, "password_env"), (str,), _ALLOWED_ENV)
        if username == "":
            self.error((*base, "username"), "is empty; allowed: the user name the processor asks for")
        if env is not None and not _ENV_NAME.match(env):
            self.error((*base, "password_env"), f"{env!r} is not an environment variable name; allowed: "
                       f"{_ALLOWED_ENV}")
            return username, None, ""
        if username is not None and env is None and "password_env" not in table and not inline_password:
            self.error((*base, "password_env"), f"missing: username is set; allowed: {_ALLOWED_ENV}")
        if env is not None and username is None and "username" not in table:
            self.error((*base, "username"), "missing: password_env is set; allowed: the user name the "
                       "processor asks for")
        if env is None:
            return username, None, ""
        password = os.environ.get(env)
        if password is None:
            self.error((*base, "password_env"), f"environment variable {env} is not set; allowed: set it "
                       "to the processor's password before starting stagectl")
            return username, env, ""
        return username, env, password

    def _zone(self, table: Mapping[str, Any], key: KeyPath) -> str | None:
        zone = self.typed(table, key, (str,), _ALLOWED_ZONE)
        if zone is not None and not _ZONE.match(zone):
            self.error(key, f"invalid zone {zone!r}; allowed: {_ALLOWED_ZONE}")
            return None
        return zone  # type: ignore[no-any-return]

    def _url(self, table: Mapping[str, Any], key: KeyPath, default: str | None) -> str | None:
        allowed = 'an http:// URL of the processor, e.g. "http://10.0.0.50"'
        url = self.typed(table, key, (str,), allowed, default)
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.error(key, f"{url!r} is not an http(s) URL; allowed: {allowed}")
            return None
        return url.rstrip("/")  # type: ignore[no-any-return]

    def _target(self, table: Mapping[str, Any], key: KeyPath, default: str | None = None,
                port: int | None = None) -> Endpoint | None:
        """An endpoint; with ``port``, a bare IPv4 host gets that port (sACN's 5568)."""
        allowed = '"host:port" with an IPv4 address or localhost, or "[IPv6]:port"'
        text = self.typed(table, key, (str,), allowed, default)
        if text is None:
            return None
        if port is not None and ":" not in text:
            text = f"{text}:{port}"
        try:
            return Endpoint.parse(text)
        except ValueError as exc:
            self.error(key, f"invalid address {text!r}: {exc}; allowed: {allowed}")
            return None

    def _fixtures(self, table: Mapping[str, Any], base: KeyPath) -> tuple[FixtureConfig, ...]:
        out = []
        for n, item in self.tables(table, "fixtures") if "fixtures" in table else []:
            key: KeyPath = (*base, "fixtures", n)
            before = len(self.errors)
            self.unknown_keys(item, key, "a fixture", FIXTURE_KEYS)
            name = self.typed(item, (*key, "name"), (str,), _ALLOWED_NAME, required=True)
            if name is not None and not _NAME.match(name):
                self.error((*key, "name"), f"invalid fixture name {name!r}; allowed: {_ALLOWED_NAME}")
            profile = self.typed(item, (*key, "profile"), (str,), "a fixture profile (see docs/dmx.md)",
                                 required=True)
            universe = self.ranged(item, (*key, "universe"), 1, 63999, 1, "an integer 1..63999",
                                   integer=True)
            address = self.ranged(item, (*key, "address"), 1, 512, 1, "a DMX start address 1..512",
                                  integer=True)
            group = self._zone(item, (*key, "group")) or (name or "").lower()
            if len(self.errors) == before and name is not None and profile is not None:
                out.append(FixtureConfig(name, profile, universe, address, group))
        if not out and "fixtures" not in table:
            self.error((*base, "fixtures"), "an sACN device needs fixtures; allowed: [[devices.fixtures]] "
                       "tables with name, profile, universe, address, group")
        return tuple(out)

    def _features(self, table: Mapping[str, Any], base: KeyPath) -> tuple[OscFeatureConfig, ...]:
        out = []
        for n, item in self.tables(table, "features") if "features" in table else []:
            key: KeyPath = (*base, "features", n)
            before = len(self.errors)
            self.unknown_keys(item, key, "a feature", FEATURE_KEYS)
            name = self.typed(item, (*key, "name"), (str,), _ALLOWED_NAME, required=True)
            address = self.typed(item, (*key, "address"), (str,), 'an OSC address like "/wall/level"',
                                 required=True)
            bad = address is not None and (not address.startswith("/")
                                           or any(c in address for c in " #*,?[]{}"))
            if bad:
                self.error((*key, "address"), f"{address!r} is not an OSC address")
            kind = self.typed(item, (*key, "type"), (str,), '"f", "i" or "bool"', "f")
            if kind not in ("f", "i", "bool"):
                self.error((*key, "type"), f"{kind!r} is not a type; allowed: \"f\", \"i\" or \"bool\"")
            unit = self.typed(item, (*key, "unit"), (str,), "a unit like \"%\" or \"K\"", "")
            low = self.typed(item, (*key, "min"), (int, float), "a number")
            high = self.typed(item, (*key, "max"), (int, float), "a number")
            if low is not None and high is not None and low >= high:
                self.error((*key, "max"), f"max {high} is not above min {low}")
            fade = self.typed(item, (*key, "fade"), (str,), '"linear", "log", "mired" or "step"', "linear")
            if fade not in ("linear", "log", "mired", "step"):
                self.error((*key, "fade"), f"{fade!r}; allowed: \"linear\", \"log\", \"mired\" or \"step\"")
            zone_value = self.typed(item, (*key, "zone_value"), (str,), "a look value name like \"level\"")
            if len(self.errors) == before and name is not None and address is not None:
                out.append(OscFeatureConfig(name, address, kind, unit, None if low is None else float(low),
                                            None if high is None else float(high), fade, zone_value))
        if not out and "features" not in table:
            self.error((*base, "features"), "an OSC device needs features; allowed: [[devices.features]] "
                       "tables with name and address")
        return tuple(out)
