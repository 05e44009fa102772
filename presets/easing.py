"""Easing curves for crossfades: fade time fraction (0..1) -> how far the values have moved (0..1).

Every curve starts at 0, ends at 1 and never leaves 0..1, so an eased value stays between the
fade's start and target. Names are the ones cue files and the control-in use:

* ``linear``: ``t``;
* ``ease-in``: quadratic, ``t**2`` (starts slowly, arrives at full speed);
* ``ease-out``: quadratic, ``1 - (1 - t)**2`` (leaves at full speed, settles gently);
* ``ease-in-out``: smoothstep, ``3 t**2 - 2 t**3`` (zero speed at both ends; a cosine would be
  within 1 % of it and costs a ``cos`` per tick).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from stagectl.core.check import choice_problem
from stagectl.core.errors import StageError

Easing = Callable[[float], float]


class EasingError(StageError, ValueError):
    """An easing name that does not exist (the message lists the ones that do)."""


def linear(t: float) -> float:
    """No easing: constant speed."""
    return t


def ease_in(t: float) -> float:
    """Quadratic ease-in: ``t**2``."""
    return t * t


def ease_out(t: float) -> float:
    """Quadratic ease-out: ``1 - (1 - t)**2``."""
    u = 1.0 - t
    return 1.0 - u * u


def ease_in_out(t: float) -> float:
    """Smoothstep: ``3 t**2 - 2 t**3``, zero speed at both ends, symmetric about t = 0.5."""
    return t * t * (3.0 - 2.0 * t)


EASINGS: Mapping[str, Easing] = {
    "linear": linear,
    "ease-in-out": ease_in_out,
    "ease-in": ease_in,
    "ease-out": ease_out,
}
"""Every easing by its name in cue files."""

DEFAULT_EASING = "ease-in-out"


def check_easing(name: object) -> str:
    """``name`` if it is an easing; EasingError listing the easings (with a did-you-mean) if not."""
    problem = choice_problem("easing", name, tuple(EASINGS))
    if problem is not None:
        raise EasingError(problem)
    return name  # type: ignore[return-value]


def easing(name: str) -> Easing:
    """The curve called ``name``; EasingError if there is none."""
    return EASINGS[check_easing(name)]


def ease(name: str, t: float) -> float:
    """``name``'s curve at time fraction ``t``, with ``t`` clamped to 0..1 (NaN counts as 0)."""
    return easing(name)(clamp_fraction(t))


def clamp_fraction(t: float) -> float:
    """``t`` limited to 0..1; NaN -> 0 (a fade that cannot say where it is has not moved)."""
    if math.isnan(t) or t <= 0.0:
        return 0.0
    return 1.0 if t >= 1.0 else t
