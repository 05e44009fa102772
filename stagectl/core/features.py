"""What one control of a device is (:class:`Feature`), the values it takes, and the device errors.

A feature names a control (name, unit, range, kind, how it fades), so the DP panel draws generic
controls, the cue engine fades it and the OSC control-in addresses ``device/feature`` without
per-vendor code. :mod:`stagectl.core.device` is the device that owns them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from stagectl.core.errors import StageError

Value = float | int | bool | str


class DeviceError(StageError):
    """A device refused a request, did not answer in time, or could not be reached."""


class DeviceRefused(DeviceError):
    """The device answered and refused values (HTTP 4xx, a NAK). Refused values are not retried.

    ``features`` names the refused features; empty means the whole batch. Features of the batch
    not named were accepted.
    """

    def __init__(self, message: str, features: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.features = frozenset(features)


class FeatureError(StageError):
    """A feature name the device does not have."""


class FeatureValueError(StageError):
    """A value outside a feature's range or of the wrong type; the message names the range."""


class LinkState(enum.Enum):
    """Connection state of one device."""

    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    RECONNECTING = "reconnecting"


class FeatureKind(enum.Enum):
    """What kind of value a feature takes."""

    NUMBER = "number"
    """A float (or an int when ``integer``) within ``minimum``..``maximum``."""
    BOOL = "bool"
    """On/off (blackout, freeze, ...)."""
    CHOICE = "choice"
    """One of ``choices`` (test pattern type, preset name)."""


class Fade(enum.Enum):
    """How a number is interpolated during a crossfade."""

    LINEAR = "linear"
    LOG = "log"
    """Perceptual brightness: interpolate log(value) (nits, or percent of a processor's peak)."""
    MIRED = "mired"
    """Colour temperature: interpolate 1e6 / kelvin."""
    STEP = "step"
    """Not faded: the new value is sent at the start of the fade (bool, choice, preset number)."""


@dataclass(frozen=True, slots=True)
class Feature:
    """One control of a device.

    ``name`` is the address segment (``brightness``, ``cct``, ``key-light.intensity``); ``unit`` is
    printed with values (``nit``, ``K``, ``%``, ``Duv``, empty for none).

    Looks: ``zone_value`` names the look value the feature follows when a look is recalled
    (``brightness_nits``, ``cct_k``, ``tint_duv``, ``level``, ...; None: looks leave it alone), in the
    look zone ``zone`` (None: the device's zone). The device value is the look value times
    ``look_scale`` (a processor whose brightness is a percentage of a 1500-nit peak: 100 / 1500).
    """

    name: str
    label: str
    unit: str
    kind: FeatureKind = FeatureKind.NUMBER
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    choices: tuple[str, ...] = ()
    fade: Fade = Fade.LINEAR
    zone_value: str | None = None
    zone: str | None = None
    look_scale: float = 1.0
    description: str = ""

    def range_text(self) -> str:
        """The allowed values, for messages and tooltips (``0..10000 nit``, ``on/off``)."""
        if self.kind is FeatureKind.BOOL:
            return "on/off"
        if self.kind is FeatureKind.CHOICE:
            return ", ".join(self.choices)
        unit = f" {self.unit}" if self.unit else ""
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"{low}..{high}{unit}"

    def check(self, value: object, owner: str = "") -> Value:
        """``value`` coerced to this feature's type; FeatureValueError (naming the range) if it is not one."""
        where = f"{owner}: " if owner else ""
        if self.kind is FeatureKind.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.lower() in ("on", "off", "true", "false"):
                return value.lower() in ("on", "true")
            raise FeatureValueError(f"{where}{self.name} = {value!r} is not on/off")
        if self.kind is FeatureKind.CHOICE:
            if isinstance(value, str) and value in self.choices:
                return value
            raise FeatureValueError(f"{where}{self.name} = {value!r} is not one of: {self.range_text()}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FeatureValueError(f"{where}{self.name} = {value!r} is not a number ({self.range_text()})")
        number = float(value)
        if not math.isfinite(number):
            raise FeatureValueError(f"{where}{self.name} = {value!r} is not finite ({self.range_text()})")
        if (self.minimum is not None and number < self.minimum) or (
                self.maximum is not None and number > self.maximum):
            raise FeatureValueError(f"{where}{self.name} = {value!r} is outside {self.range_text()}")
        if self.integer:
            if number != round(number):
                raise FeatureValueError(f"{where}{self.name} = {value!r} is not a whole number "
                                        f"({self.range_text()})")
            return round(number)
        return number


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A snapshot of one device for the UI, ``--status-json`` and control-in replies."""

    name: str
    kind: str
    zone: str | None
    target: str
    state: LinkState
    detail: str
    last_error: str | None
    writes: int
    """Batches the device accepted."""
    errors: int
    """Failed writes and polls."""
    rtt_ms: float | None
    """Round-trip time of the newest successful write or poll."""
    pending: int
    """Features with a value not yet sent."""
    values: Mapping[str, Value]
