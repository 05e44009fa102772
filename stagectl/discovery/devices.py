"""A found device as a ``[[devices]]`` table: its name, its URL key, the table, its check and the
stage-file snippet that keeps it.

A device added while the stage runs (discovery's "add device", or typed by address) is checked
from plain data -- :func:`device_table`, exactly what ``tomllib`` would give for the table -- by the
stage file's own ``[[devices]]`` checker (:class:`stagectl.config.devices.DeviceTableChecker`), so
it is refused for the same reasons and in the same words as in a stage file. The snippet the
window offers to paste is that same table written out as TOML.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from stagectl.config.devices import FIXTURE_KEYS, KEYS_BY_KIND, DeviceTableChecker
from stagectl.config.model import DeviceConfig, OscFeatureConfig
from stagectl.core.errors import ConfigError, StageError
from stagectl.discovery.mdns import KINDS, FoundDevice

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NOT_NAME = re.compile(r"[^a-z0-9_.\-]+")
_NAME_LIMIT = 32
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?", re.IGNORECASE)
_DEFAULTS = DeviceConfig("tessera", "x")
_KEY_ORDER = ("kind", "name", "url", "emulator", "username", "password_env", "target", "interface", "zone",
              "write_verb", "peak_nits", "priority", "fps", "timeout_ms", "poll_ms")


def endpoint_key(url: str) -> str | None:
    """``scheme://host:port`` of a URL (``localhost`` as 127.0.0.1, the scheme's port filled in), to
    compare a found service with a configured device; None when it is not a URL with a host."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not host or not scheme:
        return None
    host = "127.0.0.1" if host == "localhost" else host.lower()
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    if port is None:
        return None
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def slug(text: str, fallback: str = "device") -> str:
    """A device name from free text: lower case, runs of other characters as ``-``, at most 32."""
    name = _NOT_NAME.sub("-", text.lower()).strip("-._")[:_NAME_LIMIT].strip("-._")
    return name or fallback


def unique_name(text: str, taken: Iterable[str], fallback: str = "device") -> str:
    """:func:`slug` of ``text``, with ``-2``, ``-3``... when a device already has that name."""
    used = set(taken)
    base = slug(text, fallback)
    name, n = base, 1
    while name in used:
        n += 1
        suffix = f"-{n}"
        name = base[:_NAME_LIMIT - len(suffix)].rstrip("-._") + suffix
    return name


def device_config_for(found: FoundDevice, name: str, zone: str | None = None) -> DeviceConfig:
    """The ``[[devices]]`` table of a found Tessera or HELIOS under ``name`` in ``zone``.

    The device's URL is ``http://host:port`` (the processor's API paths are fixed by its kind; the
    advertised ``path`` is where a browser would go). ConfigError when ``name`` or ``zone`` are not
    allowed; StageError for a kind stagectl does not drive.
    """
    if found.kind not in KINDS:
        raise StageError(f"{found.kind} {found.name!r} at {found.url} is not an LED processor stagectl "
                         f"drives; allowed: {' or '.join(KINDS)}")
    host = f"[{found.host}]" if ":" in found.host else found.host
    return check_device_config(DeviceConfig(found.kind, name, url=f"http://{host}:{found.port}", zone=zone))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # ASCII with \\uXXXX escapes: a valid TOML basic string


def device_table(config: DeviceConfig) -> dict[str, Any]:
    """The ``[[devices]]`` table of ``config`` as plain data (what ``tomllib`` would give for it).

    Keys at their default are left out, and so is an emulator's URL (chosen at start); OSC features
    and sACN fixtures are lists of tables. StageError for a kind stagectl does not know.
    """
    keys = KEYS_BY_KIND.get(config.kind)
    if keys is None:
        raise StageError(f"unknown device kind {config.kind!r}; allowed: {', '.join(KEYS_BY_KIND)}")
    values: dict[str, Any] = {
        "kind": config.kind, "name": config.name, "url": None if config.emulator else config.url,
        "target": None if config.target is None else str(config.target), "zone": config.zone,
        "emulator": config.emulator or None, "interface": config.interface,
        "username": config.username, "password_env": config.password_env,  # the name, never the password
    }
    for key in ("timeout_ms", "poll_ms", "write_verb", "peak_nits", "priority", "fps"):
        if getattr(config, key) != getattr(_DEFAULTS, key):
            values[key] = getattr(config, key)
    table = {key: values[key] for key in _KEY_ORDER if key in keys and values.get(key) is not None}
    if config.kind == "osc" and config.features:
        table["features"] = [_feature_table(feature) for feature in config.features]
    if config.kind == "sacn" and config.fixtures:
        table["fixtures"] = [{key: getattr(fixture, key) for key in FIXTURE_KEYS}
                             for fixture in config.fixtures]
    return table


def _feature_table(feature: OscFeatureConfig) -> dict[str, Any]:
    extra = {"type": None if feature.type == "f" else feature.type, "unit": feature.unit or None,
             "min": feature.minimum, "max": feature.maximum,
             "fade": None if feature.fade == "linear" else feature.fade, "zone_value": feature.zone_value}
    return {"name": feature.name, "address": feature.address,
            **{key: value for key, value in extra.items() if value is not None}}


def stage_file_snippet(config: DeviceConfig) -> str:
    """The ``[[devices]]`` table (TOML text) that makes ``config`` part of the stage file
    (:func:`device_table` written out; sub-tables as ``[[devices.features]]``/``[[devices.fixtures]]``)."""
    lines = ["[[devices]]"]
    for key, value in device_table(config).items():
        if isinstance(value, list):
            for sub in value:
                lines += ["", f"[[devices.{key}]]", *(f"{k} = {_toml(v)}" for k, v in sub.items())]
        else:
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _url_problem(url: str) -> str | None:
    """What the stage-file checker lets through but no processor URL can be: a bad host or port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.fullmatch(host):
            return f"{url!r}: {host!r} is not a host name or IP address; allowed: e.g. http://10.0.0.50"
    try:
        port = parts.port  # ValueError for a port that is not a number 0..65535
    except ValueError:
        port = 0
    return f"{url!r} has no valid port; allowed: a port 1..65535" if port == 0 else None


def check_device_config(config: DeviceConfig) -> DeviceConfig:
    """``config`` checked exactly as the stage file's ``[[devices]]`` checker would (its
    :func:`device_table`, the table a stage file would hold), with ``index`` kept. ConfigError
    (``key`` the device key, e.g. ``url``) for the first problem."""
    checker = DeviceTableChecker()
    checked = checker.device(0, device_table(config))
    url = checked.url if checked is not None else None
    if url is not None and not config.emulator:
        problem = _url_problem(url)
        if problem is not None:
            checker.error(("devices", 0, "url"), problem)
    if checker.errors or checked is None:
        first = checker.errors[0] if checker.errors else ConfigError("invalid device")
        key = (first.key or "").removeprefix("devices[0]").lstrip(".") or None
        raise ConfigError(first.detail, key=key)
    return replace(checked, index=config.index)
