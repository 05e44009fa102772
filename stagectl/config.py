"""The stage file: a TOML description of the stage, its cameras and their tracking sources.

:func:`load_stage` / :func:`parse_stage` turn a file into a frozen :class:`StageConfig`, or
raise :class:`ConfigErrors` listing *every* problem found, each naming the file, the line,
the dotted key, what was wrong and what is allowed.  Unknown keys are errors (a typo on a
dark stage must not silently do nothing) -- except the top-level tables later versions add
(:data:`FUTURE_TABLES`), which are kept raw in :attr:`StageConfig.extra`.

The reference of the format is ``docs/stage-file.md``; :data:`DEMO_STAGE_TOML` is an example.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagectl.config_locate import MISSING, KeyPath, TableChecker, describe, did_you_mean, syntax_position
from stagectl.errors import ConfigError
from stagectl.timecode import FrameRate

__all__ = [
    "DEMO_STAGE_TOML", "FUTURE_PROTOCOLS", "FUTURE_TABLES", "PROTOCOLS", "CameraConfig", "ConfigErrors",
    "Endpoint", "SourceConfig", "StageConfig", "default_stage", "load_stage", "parse_stage", "source_name",
]

PROTOCOLS = ("freed", "simulator")
"""Tracking protocols this version can receive."""
FUTURE_PROTOCOLS = ("opentrackio", "freed-serial", "lens-serial")
"""Protocols a later version adds; rejected with "not available in this version"."""
FUTURE_TABLES = ("outputs", "devices", "control", "takes", "lenses")
"""Top-level tables a later version reads; accepted and kept raw in :attr:`StageConfig.extra`."""
DEFAULT_LISTEN = {"freed": "127.0.0.1:40000", "simulator": "127.0.0.1:0"}
DEFAULT_RATE_HZ = 50.0

_TOP_KEYS = ("stage", "cameras", "sources")
_STAGE_KEYS = ("name", "frame_rate", "drop_frame")
_CAMERA_KEYS = ("name", "delay_ms", "lens")
_SOURCE_KEYS = ("camera", "protocol", "listen", "camera_id", "rate_hz")
_CAMERA_NAME = re.compile(r"[A-Za-z0-9 _.-]{1,32}")
_PORT = re.compile(r"[0-9]{1,5}")
_ALLOWED_RATE = 'a positive number or "num/den" (e.g. 25, 29.97 or "24000/1001")'
_ALLOWED_LISTEN = '"host:port" with an IPv4 address or localhost, or "[IPv6]:port"; port 0..65535'


class ConfigErrors(ConfigError):
    """All the problems found in one stage file, topmost first (file-level ones, without a line, first).

    ``errors`` holds the individual :class:`ConfigError` s; ``path`` is the file, ``line`` and ``key``
    are those of the first error.  With one error ``str()`` is exactly that error's text; with
    several it is ``"<file>: N errors:"`` followed by one line per error.
    """

    def __init__(self, errors: Sequence[ConfigError], *, path: str | None = None) -> None:
        self.errors: list[ConfigError] = list(errors) or [ConfigError("invalid stage file", path=path)]
        first = self.errors[0]
        if len(self.errors) == 1:
            super().__init__(first.detail, path=first.path, line=first.line, key=first.key)
        else:
            super().__init__("\n".join([f"{len(self.errors)} errors:", *map(str, self.errors)]), path=path)
            self.line, self.key = first.line, first.key


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
class CameraConfig:
    """One ``[[cameras]]`` table: a physical camera whose pose the stage tracks."""

    name: str
    delay_ms: float = 0.0
    """Delay applied to its tracking so the pose matches the picture, 0..1000 ms."""
    lens: Path | None = None
    """Lens file, resolved against the stage file's folder (not opened here)."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[[sources]]`` table: where the tracking data of one camera comes from."""

    camera: str
    protocol: str
    listen: Endpoint
    camera_id: int | None = None
    """Only accept packets carrying this FreeD camera id (0..255); None = any."""
    rate_hz: float = DEFAULT_RATE_HZ
    """Packet rate of the simulator (the default, unused, for other protocols)."""
    index: int = 0
    """Position in the file's ``[[sources]]`` array (0-based, as in ``sources[0].listen``)."""


@dataclass(frozen=True, slots=True)
class StageConfig:
    """A validated stage file."""

    name: str
    frame_rate: FrameRate
    drop_frame: bool
    cameras: tuple[CameraConfig, ...]
    sources: tuple[SourceConfig, ...]
    path: Path | None = None
    """The file it came from (the ``path`` given to :func:`parse_stage`), None for bare text."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Raw top-level tables of later versions (:data:`FUTURE_TABLES`), as tomllib returned them."""

    def sources_for(self, camera: str) -> tuple[SourceConfig, ...]:
        """The sources feeding ``camera``, in file order."""
        return tuple(s for s in self.sources if s.camera == camera)


def source_name(src: SourceConfig) -> str:
    """A stable human name: ``A/freed@127.0.0.1:40000``, ``A/freed@127.0.0.1:40000#3``, ``A/simulator#1``.

    The address is left out when the port is 0 (any free port); ``#n`` is the camera id filter.
    It does not depend on the order of the file.
    """
    name = f"{src.camera}/{src.protocol}"
    if src.listen.port != 0:
        name += f"@{src.listen}"
    if src.camera_id is not None:
        name += f"#{src.camera_id}"
    return name


DEMO_STAGE_TOML = """\
# The built-in demo stage: two cameras, each driven by a simulated FreeD tracker.
[stage]
name = "Demo stage"
frame_rate = "24000/1001"

[[cameras]]
name = "A"

[[cameras]]
name = "B"

[[sources]]
camera = "A"
protocol = "simulator"
listen = "127.0.0.1:0"
camera_id = 1
rate_hz = 50.0

[[sources]]
camera = "B"
protocol = "simulator"
listen = "127.0.0.1:0"
camera_id = 2
rate_hz = 50.0
"""


def default_stage() -> StageConfig:
    """The built-in demo stage, parsed from :data:`DEMO_STAGE_TOML`."""
    return parse_stage(DEMO_STAGE_TOML, base_dir=Path.cwd())


def load_stage(path: str | Path) -> StageConfig:
    """Read and validate the stage file at ``path`` (UTF-8); raises :class:`ConfigErrors`."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        error = ConfigError(f"cannot read the stage file: {exc.strerror or exc}", path=str(path))
        raise ConfigErrors([error]) from exc
    except UnicodeDecodeError as exc:
        error = ConfigError(f"not UTF-8 text (bad byte at offset {exc.start}); allowed: a UTF-8 encoded "
                            "TOML file", path=str(path))
        raise ConfigErrors([error]) from exc
    return parse_stage(text, path=str(path), base_dir=Path(path).parent)


def parse_stage(text: str, path: str | None = None, base_dir: Path | None = None) -> StageConfig:
    """Validate stage-file ``text``.

    ``path`` names the file in errors (and becomes :attr:`StageConfig.path`); relative lens paths
    resolve against ``base_dir`` (default: the folder of ``path``, else the working directory).
    Raises :class:`ConfigErrors` (a :class:`ConfigError`) with every problem found.
    """
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        line, message = syntax_position(str(exc), text)
        error = ConfigError(f"invalid TOML: {message}; allowed: TOML 1.0 syntax (see docs/stage-file.md)",
                            path=path, line=line)
        raise ConfigErrors([error], path=path) from None
    except RecursionError:
        error = ConfigError("invalid TOML: nested too deeply; allowed: a few levels of nesting", path=path)
        raise ConfigErrors([error], path=path) from None
    if base_dir is None:
        base_dir = Path(path).parent if path else Path.cwd()
    checker = _Checker(text, path, base_dir)
    config = checker.check(data)
    if config is None:
        raise ConfigErrors(sorted(checker.errors, key=lambda e: e.line or 0), path=path)
    return config


class _Checker(TableChecker):
    """Validates the tomllib data of one stage file, collecting every error instead of stopping at the first.

    Each builder (``stage``, ``camera``, ``source``) returns None when it recorded an error.
    """

    def __init__(self, text: str, path: str | None, base_dir: Path) -> None:
        super().__init__(text, path)
        self.base_dir = base_dir

    def check(self, data: dict[str, Any]) -> StageConfig | None:
        self.unknown_keys({k: v for k, v in data.items() if k not in FUTURE_TABLES}, (), "the top level",
                          (*_TOP_KEYS, *FUTURE_TABLES))
        stage = self.stage(data)
        camera_tables, source_tables = self.tables(data, "cameras"), self.tables(data, "sources")
        if data.get("cameras", []) == []:
            self.error(("cameras",), "no camera defined; allowed: one or more [[cameras]] tables with a name")
        cameras = [self.camera(i, t) for i, t in camera_tables]
        names = [t["name"] for _, t in camera_tables if isinstance(t.get("name"), str)]
        sources = [self.source(i, t, names) for i, t in source_tables]
        fed = {t["camera"] for _, t in source_tables if isinstance(t.get("camera"), str)}
        self.camera_names(camera_tables, fed)
        self.shared_listen([s for s in sources if s is not None])
        if stage is None or self.errors:
            return None
        extra = {k: v for k, v in data.items() if k in FUTURE_TABLES}
        return StageConfig(*stage, tuple(c for c in cameras if c), tuple(s for s in sources if s),
                           Path(self.path) if self.path else None, extra)

    def stage(self, data: Mapping[str, Any]) -> tuple[str, FrameRate, bool] | None:
        table = data.get("stage", MISSING)
        if not isinstance(table, dict):
            what = "missing [stage] table" if table is MISSING else f"must be a table, not {describe(table)}"
            self.error(("stage",), f"{what}; allowed: a [stage] table with name and frame_rate")
            return None
        before = len(self.errors)
        self.unknown_keys(table, ("stage",), "[stage]", _STAGE_KEYS)
        allowed = "a non-empty string naming the stage"
        name = self.typed(table, ("stage", "name"), (str,), allowed, required=True)
        if name is not None and not name.strip():
            self.error(("stage", "name"), f"is empty; allowed: {allowed}")
        rate: FrameRate | None = None
        value = self.typed(table, ("stage", "frame_rate"), (str, int, float), _ALLOWED_RATE, required=True)
        if value is not None:
            try:
                rate = FrameRate.parse(value)
            except (ValueError, ArithmeticError, TypeError) as exc:
                self.error(("stage", "frame_rate"), f"{exc}; allowed: {_ALLOWED_RATE}")
        key = ("stage", "drop_frame")
        drop = self.typed(table, key, (bool,), "true or false (true only at 30000/1001 or 60000/1001)", False)
        if drop and rate is not None and not rate.supports_drop_frame:
            self.error(key, f"drop_frame = true but frame_rate is {rate}; allowed: drop_frame = true only "
                       "with frame_rate 30000/1001 or 60000/1001")
        if len(self.errors) > before or rate is None:
            return None
        return name, rate, drop

    def camera(self, i: int, table: dict[str, Any]) -> CameraConfig | None:
        base, before = ("cameras", i), len(self.errors)
        self.unknown_keys(table, base, "[[cameras]]", _CAMERA_KEYS)
        allowed = "1 to 32 characters from A-Z a-z 0-9 space _ . -"
        name = self.typed(table, (*base, "name"), (str,), f'a camera name of {allowed}', required=True)
        if name is not None and not _CAMERA_NAME.fullmatch(name):
            self.error((*base, "name"), f"invalid camera name {name!r}; allowed: {allowed}")
        delay = self.ranged(table, (*base, "delay_ms"), 0, 1000, 0.0, "a number 0..1000 (milliseconds)")
        allowed = "a lens file path, relative to the stage file"
        lens_text = self.typed(table, (*base, "lens"), (str,), allowed)
        lens: Path | None = None
        if lens_text is not None:
            try:
                if not lens_text or "\0" in lens_text:
                    raise ValueError("empty or contains a NUL character")
                lens = (self.base_dir / lens_text).resolve()
            except (OSError, ValueError, RuntimeError) as exc:
                self.error((*base, "lens"), f"invalid path {lens_text!r} ({exc}); allowed: {allowed}")
        return None if len(self.errors) > before else CameraConfig(name, delay, lens)

    def camera_names(self, tables: Sequence[tuple[int, dict[str, Any]]], fed: set[str]) -> None:
        """Camera names are unique and every camera has a source."""
        first: dict[str, int] = {}
        for i, table in tables:
            name = table.get("name")
            if not isinstance(name, str):
                continue
            if name in first:
                line = self.locator.line_of(("cameras", first[name], "name"))
                self.error(("cameras", i, "name"), f"duplicate camera name '{name}' (also cameras["
                           f"{first[name]}]{f' on line {line}' if line else ''}); allowed: a name no other "
                           "camera uses")
                continue
            first[name] = i
            if name not in fed:
                self.error(("cameras", i, "name"), f"camera '{name}' has no source; allowed: add a "
                           f'[[sources]] table with camera = "{name}", or remove the camera')

    def source(self, i: int, table: dict[str, Any], cameras: Sequence[str]) -> SourceConfig | None:
        base, before = ("sources", i), len(self.errors)
        self.unknown_keys(table, base, "[[sources]]", _SOURCE_KEYS)
        key: KeyPath = (*base, "camera")
        camera = self.typed(table, key, (str,), "the name of a camera defined in [[cameras]]", required=True)
        if camera is not None and camera not in cameras:
            defined = ", ".join(repr(c) for c in cameras) or "none defined"
            self.error(key, f"camera '{camera}' is not defined; allowed: a camera defined in [[cameras]] "
                       f"({defined})")
        key = (*base, "protocol")
        available = ", ".join(PROTOCOLS)
        protocol = self.typed(table, key, (str,), available, required=True)
        if protocol in FUTURE_PROTOCOLS:
            self.error(key, f"protocol '{protocol}' is not available in this version; available: {available}")
        elif protocol is not None and protocol not in PROTOCOLS:
            hint = did_you_mean(protocol, (*PROTOCOLS, *FUTURE_PROTOCOLS))
            self.error(key, f"unknown protocol '{protocol}'{hint} (allowed: {available})")
        key = (*base, "listen")
        default = DEFAULT_LISTEN.get(protocol, "127.0.0.1:0")
        listen_text = self.typed(table, key, (str,), _ALLOWED_LISTEN, default)
        try:
            listen = Endpoint.parse(listen_text)
        except ValueError as exc:
            self.error(key, f"invalid address {listen_text!r}: {exc}; allowed: {_ALLOWED_LISTEN}")
        allowed = "an integer 0..255 (the FreeD camera id), or leave it out for any"
        camera_id = self.ranged(table, (*base, "camera_id"), 0, 255, None, allowed, integer=True)
        key, rate_hz = (*base, "rate_hz"), DEFAULT_RATE_HZ
        if protocol == "simulator":
            allowed = "a number 1..1000 (packets per second)"
            rate_hz = self.ranged(table, key, 1, 1000, DEFAULT_RATE_HZ, allowed)
        elif protocol in PROTOCOLS and "rate_hz" in table:
            others = ", ".join(k for k in _SOURCE_KEYS if k != "rate_hz")
            self.error(key, f"rate_hz is only used by protocol 'simulator'; allowed keys for '{protocol}': "
                       f"{others}")
        if len(self.errors) > before:
            return None
        return SourceConfig(camera, protocol, listen, camera_id, rate_hz, i)

    def shared_listen(self, sources: Sequence[SourceConfig]) -> None:
        """Two freed sources may share an address (port > 0) only when both filter on distinct camera ids."""
        freed = [s for s in sources if s.protocol == "freed" and s.listen.port != 0]
        for n, src in enumerate(freed):
            for other in freed[:n]:
                ids = (src.camera_id, other.camera_id)
                if other.listen != src.listen or (None not in ids and ids[0] != ids[1]):
                    continue
                self.error(("sources", src.index, "listen"), f"sources[{other.index}] already listens on "
                           f"{src.listen}; allowed: another port, or distinct camera_id values on both "
                           "sources")
                break
