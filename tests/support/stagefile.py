"""Stage files for tests, built from Python values: a test states only what matters to it.

    text = (StageFile(frame_rate=24)
            .source("A", "freed", camera_id=1)
            .output("opentrackio", target=f"127.0.0.1:{port}")
            .takes(dir="takes")
            .text)

A source names its camera, which is added on first mention (``camera()`` adds keys such as
``lens``); ``freed`` and ``opentrackio`` sources listen on ``127.0.0.1:0`` unless told otherwise
(a test binds loopback and any free port). ``write()`` puts the file in a folder (a test's
``tmp_path``); ``config()`` parses it as the stage would (``docs/stage-file.md`` is the format).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from stagectl.config.load import StageConfig, parse_stage

LOOPBACK_ANY_PORT = "127.0.0.1:0"
_UDP_PROTOCOLS = ("freed", "opentrackio")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class StageFile:
    """A stage file being built: ``[stage]``, cameras, sources, outputs, devices and the single tables.

    Every adder returns the builder, so calls chain. Values are Python values (str, int, float,
    bool, Path, lists, dicts); a list of dicts under a device (``fixtures``, ``features``) becomes
    its ``[[devices.fixtures]]`` tables.
    """

    def __init__(self, name: str = "test stage", frame_rate: int | float | str = 25, **stage: Any) -> None:
        self.stage: dict[str, Any] = {"name": name, "frame_rate": frame_rate, **stage}
        self.cameras: list[dict[str, Any]] = []
        self.sources: list[dict[str, Any]] = []
        self.outputs: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.tables: dict[str, dict[str, Any]] = {}
        self.extra: list[str] = []

    # --- the arrays of tables -------------------------------------------------------------------
    def camera(self, name: str, **keys: Any) -> StageFile:
        """Add camera ``name`` (or add ``keys`` to it when a source already named it)."""
        for camera in self.cameras:
            if camera["name"] == name:
                camera.update(keys)
                return self
        self.cameras.append({"name": name, **keys})
        return self

    def source(self, camera: str, protocol: str = "simulator", **keys: Any) -> StageFile:
        """Add a source feeding ``camera`` (added when new); UDP sources default to loopback, any port."""
        self.camera(camera)
        if protocol in _UDP_PROTOCOLS:
            keys.setdefault("listen", LOOPBACK_ANY_PORT)
        self.sources.append({"camera": camera, "protocol": protocol, **keys})
        return self

    def output(self, kind: str, **keys: Any) -> StageFile:
        """Add an ``[[outputs]]`` table of ``kind`` (opentrackio, osc, remote-control)."""
        self.outputs.append({"kind": kind, **keys})
        return self

    def device(self, kind: str, name: str, **keys: Any) -> StageFile:
        """Add a ``[[devices]]`` table (tessera, helios, osc, sacn); ``fixtures=[{...}]`` and
        ``features=[{...}]`` become its sub-tables."""
        self.devices.append({"kind": kind, "name": name, **keys})
        return self

    # --- the single tables ----------------------------------------------------------------------
    def takes(self, **keys: Any) -> StageFile:
        """Set keys of ``[takes]`` (``dir`` relative to the stage file's folder, ``timecode``, ...)."""
        return self._table("takes", keys)

    def control(self, **keys: Any) -> StageFile:
        """Set keys of ``[control]`` (OSC control-in); ``listen`` defaults to loopback, any port."""
        keys.setdefault("listen", self.tables.get("control", {}).get("listen", LOOPBACK_ANY_PORT))
        return self._table("control", keys)

    def looks(self, **keys: Any) -> StageFile:
        """Set keys of ``[looks]`` (``dir``, ``safe``, ``fade_s``, ``rate_hz``)."""
        return self._table("looks", keys)

    def discovery(self, **keys: Any) -> StageFile:
        """Set keys of ``[discovery]`` (``browse``, ``interfaces``)."""
        return self._table("discovery", keys)

    def append(self, toml: str) -> StageFile:
        """Add raw TOML at the end (a table this builder has no adder for, or a deliberate mistake)."""
        self.extra.append(toml)
        return self

    def _table(self, name: str, keys: Mapping[str, Any]) -> StageFile:
        self.tables.setdefault(name, {}).update(keys)
        return self

    # --- the file ---------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The stage file as TOML text."""
        parts = [_table("stage", self.stage)]
        for header, rows in (("cameras", self.cameras), ("sources", self.sources),
                             ("outputs", self.outputs), ("devices", self.devices)):
            parts.extend(_array_table(header, row) for row in rows)
        parts.extend(_table(name, keys) for name, keys in self.tables.items())
        parts.extend(self.extra)
        return "\n".join(parts)

    def write(self, folder: Path, filename: str = "stage.toml") -> Path:
        """Write the file into ``folder`` (created); returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / filename
        path.write_text(self.text, encoding="utf-8")
        return path

    def config(self, base_dir: Path | None = None) -> StageConfig:
        """The parsed stage (relative paths against ``base_dir``); ``ConfigErrors`` as the stage raises."""
        return parse_stage(self.text, base_dir=base_dir)


def _table(name: str, keys: Mapping[str, Any]) -> str:
    return "\n".join([f"[{name}]", *_assignments(keys)]) + "\n"


def _array_table(header: str, row: Mapping[str, Any]) -> str:
    scalars = {k: v for k, v in row.items() if not _is_tables(v)}
    lines = [f"[[{header}]]", *_assignments(scalars)]
    for key, tables in row.items():
        if _is_tables(tables):
            for sub in tables:
                lines.append(_array_table(f"{header}.{_key(key)}", sub).rstrip("\n"))
    return "\n".join(lines) + "\n"


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _assignments(keys: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {toml_value(v)}" for k, v in keys.items() if v is not None]


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """One TOML value from a Python one (str, Path, bool, int, float, list, tuple, dict)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (str, PurePath)):
        # JSON's escapes are TOML's basic-string escapes; TOML also wants DEL escaped.
        return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML value for {value!r}")
