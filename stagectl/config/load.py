"""The stage file: a TOML description of the stage, its cameras and their tracking sources.

:func:`load_stage` / :func:`parse_stage` turn a file into a frozen :class:`StageConfig`, or
raise :class:`ConfigErrors` listing *every* problem found, each naming the file, the line,
the dotted key, what was wrong and what is allowed.  Unknown keys are errors (a typo on a
dark stage must not silently do nothing) -- except the top-level tables later versions add
(:data:`FUTURE_TABLES`), which are kept raw in :attr:`StageConfig.extra`.

The reference of the format is ``docs/stage-file.md``; :data:`DEMO_STAGE_TOML` is an example.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lens
from stagectl.config.devices import DeviceTableChecker
from stagectl.config.facility import FacilityTableChecker
from stagectl.config.model import (
    DEFAULT_RATE_HZ,
    FUTURE_PROTOCOLS,
    FUTURE_TABLES,
    PROTOCOLS,
    CameraConfig,
    OutputConfig,
    SourceConfig,
    StageConfig,
    source_name,
)
from stagectl.config.outputs import OutputTableChecker
from stagectl.config.sources import SourceTableChecker
from stagectl.config.takes import TakesTableChecker
from stagectl.config.web import WebTableChecker
from stagectl.core.check import DocumentErrors, KeyPath
from stagectl.core.errors import ConfigError
from stagectl.core.links import Endpoint, SerialSettings
from stagectl.core.locate import TomlLocator, syntax_position
from stagectl.core.timecode import FrameRate

__all__ = [
    "DEFAULT_RATE_HZ", "DEMO_STAGE_TOML", "FUTURE_PROTOCOLS", "FUTURE_TABLES", "PROTOCOLS", "CameraConfig",
    "ConfigErrors", "Endpoint", "OutputConfig", "SerialSettings", "SourceConfig", "StageConfig",
    "default_stage",
    "load_stage", "parse_stage", "source_name",
]

_TOP_KEYS = ("stage", "cameras", "sources", "outputs", "devices", "control", "looks", "discovery", "takes",
             "facility", "web")
_STAGE_KEYS = ("name", "frame_rate", "drop_frame")
_CAMERA_KEYS = ("name", "delay_ms", "delay_frames", "smoothing", "lens", "sensor_mm")
_CAMERA_NAME = re.compile(r"[A-Za-z0-9 _.-]{1,32}")
_ALLOWED_RATE = 'a positive number or "num/den" (e.g. 25, 29.97 or "24000/1001")'
MAX_SMOOTHING = 50


class ConfigErrors(DocumentErrors):
    """All the problems found in one stage file, topmost first (file-level ones, without a line, first).

    ``errors`` holds the individual :class:`ConfigError` s; ``path`` is the file, ``line`` and ``key``
    are those of the first error.  With one error ``str()`` is exactly that error's text; with
    several it is ``"<file>: N errors:"`` followed by one line per error.
    """

    def __init__(self, errors: Sequence[ConfigError], *, path: str | None = None) -> None:
        errors = list(errors) or [ConfigError("invalid stage file", path=path)]
        message, where = DocumentErrors.summary(errors, path)
        super().__init__(message, errors=errors, **where)
        self.line, self.key = errors[0].line, errors[0].key

    @classmethod
    def collect(cls, errors: Sequence[ConfigError], path: str | None) -> ConfigErrors:
        """One error standing for all of ``errors`` (the stage file's own constructor)."""
        return cls(errors, path=path)


DEMO_STAGE_TOML = """\
# The built-in demo stage: camera A on a simulated FreeD tracker solved with a demo lens file,
# camera B on a simulated OpenTrackIO tracker (CBOR) that sends its own lens values; both send
# real packets over loopback, genlocked to the stage as a tracker on set is: one sample a frame
# (rate_hz 23.976 is the stage's 24000/1001 exactly; a simulator also runs at 50, 100, ... 1000).
[stage]
name = "Demo stage"
frame_rate = "24000/1001"

[[cameras]]
name = "A"
lens = "demo_zoom_24_70.json"   # shipped with stagectl (lens/data/): its raw counts -> focal length, ...

[[cameras]]
name = "B"

[[sources]]
camera = "A"
protocol = "simulator"
listen = "127.0.0.1:0"
camera_id = 1
rate_hz = 23.976

[[sources]]
camera = "B"
protocol = "simulator"
simulate = "opentrackio"
encoding = "cbor"
listen = "127.0.0.1:0"
rate_hz = 23.976

# Frustum cues to stagectl's own emulator of Unreal's Remote Control API (point `target` at a
# render node to drive the real inner frustum).
[[outputs]]
kind = "remote-control"
emulator = true

# The LED wall and ceiling: stagectl's emulators of a Brompton Tessera and a Megapixel HELIOS
# processor on loopback (set `url` and drop `emulator` to drive real ones).
[[devices]]
kind = "tessera"
name = "wall"
zone = "wall"
emulator = true

[[devices]]
kind = "helios"
name = "ceiling"
zone = "ceiling"
emulator = true
peak_nits = 1500

# DMX fixtures over sACN, unicast to this machine (nothing listens: point `target` at a node).
[[devices]]
kind = "sacn"
name = "fixtures"
target = "127.0.0.1"

[[devices.fixtures]]
name = "key-light"
profile = "intensity_cct16"
universe = 1
address = 1
group = "key"

[[devices.fixtures]]
name = "house-lights"
profile = "dimmer"
universe = 1
address = 5
group = "house"

# OSC control-in for desks and Stream Decks (docs/control.md); port 0 picks a free one (see the log).
[control]
listen = "127.0.0.1:0"

# The floor's remote for phones and tablets (docs/web.md) on this machine only; the demo's passcode is
# written here for trying it out: a real stage sets its own (or STAGECTL_WEB_PASSCODE).
[web]
listen = "127.0.0.1:8080"
passcode = "demo-stage-remote"

# Zeroconf on this machine only: the emulators and the control service are announced and found on
# loopback (drop `interfaces` to browse the stage network for processors).
[discovery]
interfaces = ["127.0.0.1"]
"""


def default_stage() -> StageConfig:
    """The built-in demo stage, parsed from :data:`DEMO_STAGE_TOML` (its lens file is the demo lens
    shipped in ``lens/data/``)."""
    return parse_stage(DEMO_STAGE_TOML, base_dir=Path(lens.__file__).resolve().parent / "data")


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
    checker = _Checker(path, base_dir, TomlLocator(text))
    config = checker.check(data)
    if config is None:
        raise ConfigErrors(sorted(checker.errors, key=lambda e: e.line or 0), path=path)
    return config


class _Checker(SourceTableChecker, OutputTableChecker, DeviceTableChecker, TakesTableChecker,
               FacilityTableChecker, WebTableChecker):
    """Validates the tomllib data of one stage file, collecting every error instead of stopping at the first.

    Each builder (``stage``, ``camera``, ``source``) returns None when it recorded an error.
    """

    def __init__(self, path: str | None, base_dir: Path, locator: TomlLocator) -> None:
        super().__init__(path, locator=locator)
        self.base_dir = base_dir

    def check(self, data: dict[str, Any]) -> StageConfig | None:
        self.unknown_keys({k: v for k, v in data.items() if k not in FUTURE_TABLES}, (), "the top level",
                          (*_TOP_KEYS, *FUTURE_TABLES))
        stage = self.stage(data)
        camera_tables, source_tables = self.tables(data, "cameras"), self.tables(data, "sources")
        if data.get("cameras", []) == [] and data.get("devices", []) == []:
            self.error(("cameras",), "no camera defined and no device: a stage needs cameras to track or "
                       "devices to light; allowed: one or more [[cameras]] tables with a name (each fed by a "
                       "[[sources]] table), one or more [[devices]] tables, or both")
        cameras = [self.camera(i, t, stage[1] if stage else None) for i, t in camera_tables]
        names = [t["name"] for _, t in camera_tables if isinstance(t.get("name"), str)]
        sources = [self.source(i, t, names) for i, t in source_tables]
        fed = {t["camera"] for _, t in source_tables if isinstance(t.get("camera"), str)}
        self.camera_names(camera_tables, fed)
        self.shared_listen([s for s in sources if s is not None])
        outputs = [self.output(i, t, names) for i, t in self.tables(data, "outputs")]
        device_tables = self.tables(data, "devices")
        devices = [self.device(i, t) for i, t in device_tables]
        self.device_names(device_tables)
        control = self.control(data)
        looks = self.looks(data, self.base_dir)
        discovery = self.discovery(data)
        takes = self.takes(data, self.base_dir, names)
        facility = self.facility(data)
        web = self.web(data, self.base_dir)
        if stage is None or self.errors:
            return None
        extra = {k: v for k, v in data.items() if k in FUTURE_TABLES}
        return StageConfig(*stage, tuple(c for c in cameras if c), tuple(s for s in sources if s),
                           Path(self.path) if self.path else None, extra, tuple(o for o in outputs if o),
                           tuple(d for d in devices if d), control, looks, discovery, takes, facility, web)

    def stage(self, data: Mapping[str, Any]) -> tuple[str, FrameRate, bool] | None:
        table = self.section(data, "stage", "a [stage] table with name and frame_rate", required=True)
        if table is None:
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

    def camera(self, i: int, table: dict[str, Any], rate: FrameRate | None) -> CameraConfig | None:
        base, before = ("cameras", i), len(self.errors)
        self.unknown_keys(table, base, "[[cameras]]", _CAMERA_KEYS)
        allowed = "1 to 32 characters from A-Z a-z 0-9 space _ . -"
        name = self.typed(table, (*base, "name"), (str,), f'a camera name of {allowed}', required=True)
        if name is not None and not _CAMERA_NAME.fullmatch(name):
            self.error((*base, "name"), f"invalid camera name {name!r}; allowed: {allowed}")
        delay = self.ranged(table, (*base, "delay_ms"), 0, 1000, 0.0, "a number 0..1000 (milliseconds)")
        frames: float | None = None
        if "delay_frames" in table:
            key = (*base, "delay_frames")
            frames = self.ranged(table, key, 0, 100, None,
                                 "a number of frames 0..100 at the stage frame rate")
            if "delay_ms" in table:
                self.error(key, "delay_frames and delay_ms both given; allowed: one of them")
            elif frames is not None and rate is not None:
                delay = frames * 1000.0 / float(rate.rate)
                if delay > 1000.0:
                    self.error(key, f"{frames:g} frames at {rate} fps is {delay:.0f} ms; allowed: at most "
                               "1000 ms of delay")
        smoothing = self.ranged(table, (*base, "smoothing"), 0, MAX_SMOOTHING, 0,
                                f"an integer 0..{MAX_SMOOTHING} (samples in a moving average; 0 = off)",
                                integer=True)
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
        sensor = self._sensor(table, (*base, "sensor_mm"))
        if len(self.errors) > before:
            return None
        return CameraConfig(name, delay, lens, frames, smoothing, sensor)

    def _sensor(self, table: Mapping[str, Any], key: KeyPath) -> tuple[float, float] | None:
        """``sensor_mm = [width, height]``: the active sensor area in millimetres, both > 0."""
        allowed = "[width, height] in millimetres, e.g. [36.0, 24.0] (the active sensor area)"
        value = self.typed(table, key, (list,), allowed)
        if value is None:
            return None
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        sizes = len(value) == 2 and len(numbers) == 2
        if not sizes or not all(math.isfinite(v) and 0 < v <= 200 for v in numbers):
            self.error(key, f"{value!r} is not two sizes 0..200 mm; allowed: {allowed}")
            return None
        return float(numbers[0]), float(numbers[1])

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
