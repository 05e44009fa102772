"""Live nudges of a look: the DP's "a third of a stop brighter, a touch warmer" without leaving the look.

Each function returns a new :class:`Look` (looks are frozen) with one value changed in the chosen
zones, in the unit the eye works in:

* brightness in **stops** (nits x 2^stops, so +1/3 stop is x1.26 whatever the level);
* colour temperature in **mired** (1e6 / K: equal mired steps look like equal colour shifts, so
  -10 mired is +180 K at 3200 K and +330 K at 5600 K);
* tint in **Duv** (green positive).

Values are clamped to the look model's limits (``presets.model.NUMBER_LIMITS``) and to the
fixtures' 0..1 level; a zone that does not hold the value is left alone (a nudge never invents a
brightness for a zone the look leaves untouched).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from presets.model import FRUSTUM_ZONE, NUMBER_LIMITS, Look, ZoneValues
from stagectl.core.colour import kelvin_to_mired, mired_to_kelvin

#: Steps the DP panel's buttons use.
BRIGHTNESS_STEP_STOPS = 1.0 / 3.0
CCT_STEP_MIRED = 10.0
TINT_STEP_DUV = 0.001


def _clamp(name: str, value: float) -> float:
    low, high, low_inclusive, _unit = NUMBER_LIMITS[name]
    if not low_inclusive and value <= low:
        value = low + 1e-6 * (high - low)
    return min(max(value, low), high)


def _zones(look: Look, zones: Iterable[str] | None) -> list[str]:
    chosen = list(look.zones) if zones is None else [z for z in zones if z in look.zones]
    return [z for z in chosen if z != FRUSTUM_ZONE]


def _replace(look: Look, zones: Iterable[str] | None, name: str, change: float,
             apply: str) -> Look:
    new = dict(look.zones)
    for zone in _zones(look, zones):
        values = new[zone]
        current = getattr(values, name)
        if current is None:
            continue
        if apply == "stops":
            value = current * 2.0 ** change
        elif apply == "mired":  # clamped to 50..1000 mired (20000..1000 K) before converting back
            value = mired_to_kelvin(min(max(kelvin_to_mired(current) + change, 50.0), 1000.0))
        else:
            value = current + change
        changes: dict[str, object] = {name: _clamp(name, value)}
        new[zone] = dataclasses.replace(values, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(look, zones=new)


def nudge_brightness(look: Look, stops: float, zones: Iterable[str] | None = None) -> Look:
    """Brightness (nits) and fixture level x 2^``stops`` in ``zones`` (None: every light zone)."""
    brighter = _replace(look, zones, "brightness_nits", stops, "stops")
    return _replace(brighter, zones, "level", stops, "stops")


def nudge_cct(look: Look, mired: float, zones: Iterable[str] | None = None) -> Look:
    """Colour temperature +``mired`` (negative: bluer/higher K) in ``zones``."""
    return _replace(look, zones, "cct_k", mired, "mired")


def nudge_tint(look: Look, duv: float, zones: Iterable[str] | None = None) -> Look:
    """Tint +``duv`` (green) in ``zones``."""
    return _replace(look, zones, "tint_duv", duv, "linear")


def zone_summary(values: ZoneValues) -> str:
    """One short line for a zone (``1200 nit · 5600 K · +0.002 Duv``, ``level 80 % · 3200 K``)."""
    parts = []
    if values.brightness_nits is not None:
        parts.append(f"{values.brightness_nits:.0f} nit")
    if values.level is not None:
        parts.append(f"level {values.level * 100:.0f} %")
    if values.cct_k is not None:
        parts.append(f"{values.cct_k:.0f} K")
    if values.tint_duv:
        parts.append(f"{values.tint_duv:+.3f} Duv")
    if values.exposure_stops is not None:
        parts.append(f"{values.exposure_stops:+.1f} EV")
    if values.cdl is not None:
        s = values.cdl.slope
        parts.append(f"CDL s({s[0]:.2f} {s[1]:.2f} {s[2]:.2f}) sat {values.cdl.saturation:.2f}")
    return " · ".join(parts) or "—"
