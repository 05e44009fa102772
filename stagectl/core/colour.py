"""Colour and fade maths: mired, log-nits, the ASC CDL value and how each value crossfades.

How a value moves from ``start`` to ``target`` as the eased fraction ``f`` goes 0 -> 1
(:func:`interpolate`, chosen by a feature's :class:`stagectl.core.device.Fade`):

* ``LOG`` (brightness in nits, or percent of a processor's peak): ``log(value)`` moves linearly,
  so every equal slice of the fade is the same number of stops -- what the eye sees as an even
  fade. Zero cannot be a logarithm: when an end is 0 (a level faded out), ``log(value + c)``
  moves linearly instead, with ``c`` 1 % of the larger end (:data:`LOG_ZERO_OFFSET`), which is
  continuous, monotonic and exact at both ends.
* ``MIRED`` (colour temperature in kelvin): ``1e6 / kelvin`` moves linearly. Equal mired steps
  are roughly equal visible shifts; kelvin are not (2000 -> 3000 K is a far bigger shift than
  9000 -> 10000 K), so a kelvin-linear fade would rush through the warm end.
* ``LINEAR`` (tint in Duv, fixture level 0..1, exposure in stops -- already logarithmic -- and
  CDL offset and saturation): the value moves linearly.
* ``STEP``: the target, from the start.

The ASC CDL (slope, offset, power per channel, then saturation; v1.2, as in OpenColorIO's
CDLTransform: ``out = clamp(in * slope + offset) ** power``, saturation around Rec. 709 luma)
fades per component: slope is a gain, so it moves in log space like brightness (0.5 -> 2.0
passes through 1.0 at the midpoint: equal stops down and up); power is an exponent whose
opposite corrections are ``p`` and ``1 / p``, so it moves in log space too (0.5 -> 2.0 passes
through the identity 1.0 at the midpoint, linear would give 1.25); offset is added, so it moves
linearly; saturation mixes linearly between luma and colour, so it moves linearly (and may be 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from stagectl.core.features import Fade

LOG_ZERO_OFFSET = 0.01
"""A LOG fade with an end at 0 moves ``log(value + c)``, ``c`` = this fraction of the larger end."""

CHANNELS = ("r", "g", "b")

CDL_FADES: Mapping[str, Fade] = {
    **{f"cdl.slope.{c}": Fade.LOG for c in CHANNELS},
    **{f"cdl.offset.{c}": Fade.LINEAR for c in CHANNELS},
    **{f"cdl.power.{c}": Fade.LOG for c in CHANNELS},
    "cdl.saturation": Fade.LINEAR,
}
"""The ``zone_value`` names of CDL components (for a frustum device's features) and how each fades."""


def kelvin_to_mired(kelvin: float) -> float:
    """Colour temperature in kelvin -> micro reciprocal degrees (``1e6 / K``); kelvin must be > 0."""
    if not kelvin > 0.0:
        raise ValueError(f"colour temperature must be > 0 K, got {kelvin!r}")
    return 1e6 / kelvin


def mired_to_kelvin(mired: float) -> float:
    """Mired -> kelvin (``1e6 / mired``); mired must be > 0."""
    if not mired > 0.0:
        raise ValueError(f"mired must be > 0, got {mired!r}")
    return 1e6 / mired


def lerp(start: float, target: float, f: float) -> float:
    """Linear interpolation; exact at ``f`` = 0 and 1."""
    if f <= 0.0:
        return start
    if f >= 1.0:
        return target
    return start + (target - start) * f


def lerp_log(start: float, target: float, f: float) -> float:
    """Interpolate in log space (brightness in nits, a gain); see the module docstring for 0.

    Negative ends (never a brightness) fall back to linear.
    """
    if f <= 0.0:
        return start
    if f >= 1.0:
        return target
    if start < 0.0 or target < 0.0:
        return lerp(start, target, f)
    if start > 0.0 and target > 0.0:
        return math.exp(lerp(math.log(start), math.log(target), f))
    offset = LOG_ZERO_OFFSET * max(start, target)
    if offset <= 0.0:
        return 0.0
    return math.exp(lerp(math.log(start + offset), math.log(target + offset), f)) - offset


def lerp_mired(start_k: float, target_k: float, f: float) -> float:
    """Interpolate two colour temperatures (kelvin) in mired; returns kelvin. Linear if an end is <= 0."""
    if f <= 0.0:
        return start_k
    if f >= 1.0:
        return target_k
    if start_k <= 0.0 or target_k <= 0.0:
        return lerp(start_k, target_k, f)
    return 1e6 / lerp(1e6 / start_k, 1e6 / target_k, f)


def interpolate(fade: Fade, start: float, target: float, f: float) -> float:
    """The value ``f`` (eased, 0..1) of the way from ``start`` to ``target`` under ``fade``."""
    if fade is Fade.STEP:
        return target
    if fade is Fade.LOG:
        return lerp_log(start, target, f)
    if fade is Fade.MIRED:
        return lerp_mired(start, target, f)
    return lerp(start, target, f)


RGB = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Cdl:
    """An ASC CDL grade: per-channel (r, g, b) slope >= 0, offset, power > 0, then saturation >= 0.

    The identity is slope 1, offset 0, power 1, saturation 1 (the defaults).
    """

    slope: RGB = (1.0, 1.0, 1.0)
    offset: RGB = (0.0, 0.0, 0.0)
    power: RGB = (1.0, 1.0, 1.0)
    saturation: float = 1.0

    def component(self, name: str) -> float:
        """One component by its zone-value name (``cdl.slope.r``, ``cdl.saturation``); KeyError if none."""
        if name == "cdl.saturation":
            return self.saturation
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "cdl" or parts[2] not in CHANNELS:
            raise KeyError(name)
        triple: RGB
        if parts[1] == "slope":
            triple = self.slope
        elif parts[1] == "offset":
            triple = self.offset
        elif parts[1] == "power":
            triple = self.power
        else:
            raise KeyError(name)
        return triple[CHANNELS.index(parts[2])]

    def to_json(self) -> dict[str, object]:
        """The look-file form: ``{"slope": [r, g, b], "offset": [...], "power": [...], "saturation": s}``."""
        return {"slope": list(self.slope), "offset": list(self.offset), "power": list(self.power),
                "saturation": self.saturation}


def _triple(start: RGB, target: RGB, f: float, fade: Fade) -> RGB:
    r, g, b = (interpolate(fade, s, t, f) for s, t in zip(start, target, strict=True))
    return r, g, b


def lerp_cdl(start: Cdl, target: Cdl, f: float) -> Cdl:
    """A CDL ``f`` of the way between two: slope and power in log space, offset and saturation linearly."""
    if f >= 1.0:
        return target
    if f <= 0.0:
        return start
    return Cdl(_triple(start.slope, target.slope, f, Fade.LOG),
               _triple(start.offset, target.offset, f, Fade.LINEAR),
               _triple(start.power, target.power, f, Fade.LOG),
               lerp(start.saturation, target.saturation, f))
