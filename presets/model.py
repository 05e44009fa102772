"""Looks and cues: the values, their limits and their JSON form (file format: docs/looks-and-cues.md).

A :class:`Look` has a name, notes and per-zone values (:class:`ZoneValues`). Zones are ``wall``,
``ceiling``, fixture groups (any ``[a-z0-9][a-z0-9-]*`` name) and ``frustum`` (the Unreal inner
frustum's grade). A value that is None is one the look does not touch. The value names are the
``Feature.zone_value`` names devices declare (stagectl/core/device.py); a CDL component is addressed
as ``cdl.slope.r`` .. ``cdl.saturation`` (stagectl.core.colour.CDL_FADES).

A :class:`Cue` recalls a look with a fade time, an easing and a delay; a :class:`CueList` keeps
cues in decimal order of their numbers ("2.5" between "2" and "3"). Everything here is frozen
and validated on construction; reading files with every problem reported is presets.store's job.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from presets.easing import DEFAULT_EASING, EasingError, check_easing
from stagectl.core.check import DocumentErrors
from stagectl.core.colour import Cdl
from stagectl.core.errors import StageError

LOOK_SCHEMA = "stagectl.look/1"
CUES_SCHEMA = "stagectl.cues/1"
FRUSTUM_ZONE = "frustum"
ZONE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
CUE_NUMBER = re.compile(r"\d{1,6}(\.\d{1,3})?")
MAX_NAME_LENGTH = 80

#: (low, high, low inclusive) of each number a zone may hold, with its unit.
NUMBER_LIMITS: Mapping[str, tuple[float, float, bool, str]] = {
    "brightness_nits": (0.0, 10000.0, False, "nits"),
    "cct_k": (1000.0, 20000.0, True, "K"),
    "tint_duv": (-0.05, 0.05, True, "Duv"),
    "level": (0.0, 1.0, True, "(0..1)"),
    "exposure_stops": (-10.0, 10.0, True, "stops"),
}
FRUSTUM_VALUES = ("exposure_stops", "cdl")
"""The only values the ``frustum`` zone takes, and the only zone that takes them."""
LIGHT_VALUES = ("brightness_nits", "cct_k", "tint_duv", "level")
"""The values every other zone (wall, ceiling, fixture groups) takes."""


class LookError(DocumentErrors):
    """A look or cue file, or a value in one, is not valid.

    ``path`` names the file, ``key`` the JSON path (``zones.wall.cct_k``), ``line`` the line of a
    JSON syntax error. ``errors`` holds every problem found (one ``ConfigError`` each).
    """


class CueError(StageError, ValueError):
    """A cue (number, fade, delay, easing) or cue-list operation that is not valid; ``field`` names the
    cue's field that is wrong, when one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def limit_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the zone number ``name`` (None if it can)."""
    low, high, low_inclusive, unit = NUMBER_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number in {unit}, got {value!r}"
    if isinstance(value, int) and abs(value) > 1e300:  # float() of a longer integer overflows
        digits = len(str(abs(value)))
        return f"a {digits}-digit number is out of range: must be within {low:g} .. {high:g} {unit}"
    if not math.isfinite(value):
        return f"not a finite number ({value})"
    if value > high or value < low or (value == low and not low_inclusive):
        low_text = f"> {low:g}" if not low_inclusive else f">= {low:g}"
        return f"{value:g} is out of range: must be {low_text} and <= {high:g} {unit}"
    return None


def cdl_problems(cdl: Cdl) -> list[tuple[tuple[str | int, ...], str]]:
    """Why ``cdl`` is not a valid ASC CDL, each problem with where it is: ``(("slope", 1), message)``,
    ``(("saturation",), message)``; empty if it is valid."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    for name, triple in (("slope", cdl.slope), ("offset", cdl.offset), ("power", cdl.power)):
        for i, value in enumerate(triple):
            if not math.isfinite(value):
                out.append(((name, i), f"not a finite number ({value}); every CDL number must be finite"))
            elif name == "slope" and value < 0.0:
                out.append(((name, i), f"slope must be >= 0, got {value:g}"))
            elif name == "power" and value <= 0.0:
                out.append(((name, i), f"power must be > 0, got {value:g}"))
    if not math.isfinite(cdl.saturation):
        out.append((("saturation",),
                    f"not a finite number ({cdl.saturation}); every CDL number must be finite"))
    elif cdl.saturation < 0.0:
        out.append((("saturation",), f"saturation must be >= 0, got {cdl.saturation:g}"))
    return out


def cdl_problem(cdl: Cdl) -> str | None:
    """Why ``cdl`` is not a valid ASC CDL (None if it is): the first of :func:`cdl_problems`."""
    problems = cdl_problems(cdl)
    if not problems:
        return None
    (name, *index), message = problems[0]
    return f"{name}{''.join(f'[{i}]' for i in index)}: {message}"


@dataclass(frozen=True, slots=True)
class ZoneValues:
    """What a look sets in one zone; None = left alone. Units: nits, kelvin, Duv, 0..1, stops."""

    brightness_nits: float | None = None
    cct_k: float | None = None
    tint_duv: float | None = None
    level: float | None = None
    exposure_stops: float | None = None
    cdl: Cdl | None = None

    def __post_init__(self) -> None:
        for name in NUMBER_LIMITS:
            value = getattr(self, name)
            problem = None if value is None else limit_problem(name, value)
            if problem is not None:
                raise LookError(problem, key=name)
        problem = None if self.cdl is None else cdl_problem(self.cdl)
        if problem is not None:
            raise LookError(problem, key="cdl")

    def value(self, zone_value: str) -> float | None:
        """The number a feature with this ``zone_value`` follows (``cct_k``, ``cdl.power.g``), or None."""
        if zone_value.startswith("cdl."):
            if self.cdl is None:
                return None
            try:
                return self.cdl.component(zone_value)
            except KeyError:
                return None
        if zone_value in NUMBER_LIMITS:
            number: float | None = getattr(self, zone_value)
            return number
        return None

    def to_json(self) -> dict[str, Any]:
        """The look-file form (only the values that are set)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in NUMBER_LIMITS
                               if getattr(self, name) is not None}
        if self.cdl is not None:
            out["cdl"] = self.cdl.to_json()
        return out


def check_look_name(name: object) -> str:
    """``name`` if it can name a look (1..80 printable characters, no edge spaces); LookError if not."""
    if not isinstance(name, str) or not name.strip():
        raise LookError(f"a look name must be a non-empty string, got {name!r}", key="name")
    if name != name.strip():
        raise LookError(f"a look name must not start or end with spaces: {name!r}", key="name")
    if len(name) > MAX_NAME_LENGTH:
        raise LookError(f"a look name must be at most {MAX_NAME_LENGTH} characters, got {len(name)}",
                        key="name")
    if any(not ch.isprintable() for ch in name):
        raise LookError(f"a look name must not contain control characters: {name!r}", key="name")
    return name


def zone_problem(zone: str, values: ZoneValues) -> str | None:
    """Why ``values`` cannot be in ``zone`` (a bad zone name, or values of the wrong zone), or None."""
    if not ZONE_NAME.fullmatch(zone):
        return f"zone name {zone!r} must match [a-z0-9][a-z0-9-]* (wall, ceiling, a fixture group, frustum)"
    allowed = FRUSTUM_VALUES if zone == FRUSTUM_ZONE else LIGHT_VALUES
    wrong = [name for name in (*NUMBER_LIMITS, "cdl")
             if getattr(values, name) is not None and name not in allowed]
    if wrong:
        where = "only the frustum zone takes" if zone != FRUSTUM_ZONE else "the frustum zone does not take"
        return f"{where} {', '.join(wrong)}"
    return None


@dataclass(frozen=True, slots=True)
class Look:
    """A named set of zone values (see the module docstring)."""

    name: str
    zones: Mapping[str, ZoneValues] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        check_look_name(self.name)
        if not isinstance(self.notes, str):
            raise LookError(f"notes must be a string, got {self.notes!r}", key="notes")
        for zone, values in self.zones.items():
            problem = zone_problem(zone, values)
            if problem is not None:
                raise LookError(problem, key=f"zones.{zone}")
        object.__setattr__(self, "zones", dict(self.zones))

    def value(self, zone: str, zone_value: str) -> float | None:
        """The look's number for ``zone_value`` in ``zone``, or None when the look leaves it alone."""
        values = self.zones.get(zone)
        return None if values is None else values.value(zone_value)

    def renamed(self, name: str) -> Look:
        """The same look under another name."""
        return Look(name, self.zones, self.notes)

    def to_json(self) -> dict[str, Any]:
        """The look-file form."""
        return {"schema": LOOK_SCHEMA, "name": self.name, "notes": self.notes,
                "zones": {zone: values.to_json() for zone, values in self.zones.items()}}


_LONGEST_SECONDS = 10 ** 9  # an integer beyond this is no fade time (and float() overflows near 10**308)


def cue_number_key(number: str) -> Decimal:
    """The decimal a cue number sorts by; CueError if ``number`` is not like "1", "2.5", "10.125"."""
    if not isinstance(number, str) or not CUE_NUMBER.fullmatch(number):
        raise CueError(f"cue number {number!r} must be a decimal written as a string, like \"1\" or \"2.5\"",
                       "number")
    return Decimal(number)


@dataclass(frozen=True, slots=True)
class Cue:
    """Recall ``look`` in ``fade_s`` seconds with ``easing``, ``delay_s`` seconds after GO."""

    number: str
    look: str
    fade_s: float = 3.0
    easing: str = DEFAULT_EASING
    delay_s: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        cue_number_key(self.number)
        try:
            check_look_name(self.look)
        except LookError as exc:
            raise CueError(f"cue {self.number}: {exc.detail}", "look") from None
        for name in ("fade_s", "delay_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
                    or (isinstance(value, int) and value > _LONGEST_SECONDS) or not math.isfinite(value):
                shown = f"a {len(str(value))}-digit number" if isinstance(value, int) and value > 10 ** 20 \
                    else repr(value)
                raise CueError(f"cue {self.number}: {name} must be a finite number of seconds >= 0, "
                               f"got {shown}", name)
        try:
            check_easing(self.easing)
        except EasingError as exc:
            raise CueError(f"cue {self.number}: {exc}", "easing") from None
        if not isinstance(self.label, str):
            raise CueError(f"cue {self.number}: label must be a string, got {self.label!r}", "label")

    @property
    def key(self) -> Decimal:
        """The decimal this cue sorts by."""
        return Decimal(self.number)

    def to_json(self) -> dict[str, Any]:
        """The cue-file form."""
        return {"number": self.number, "look": self.look, "fade_s": self.fade_s, "easing": self.easing,
                "delay_s": self.delay_s, "label": self.label}


@dataclass(frozen=True, slots=True)
class CueList:
    """Cues in decimal order of their numbers; numbers are unique by value ("2.50" is "2.5")."""

    cues: tuple[Cue, ...] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.cues, key=lambda cue: cue.key))
        for before, after in itertools.pairwise(ordered):
            if before.key == after.key:
                raise CueError(f"cue number {after.number!r} is used twice (as {before.number!r} too)")
        object.__setattr__(self, "cues", ordered)

    @classmethod
    def of(cls, cues: Iterable[Cue]) -> CueList:
        """A cue list of ``cues`` in any order."""
        return cls(tuple(cues))

    def __len__(self) -> int:
        return len(self.cues)

    def __iter__(self) -> Iterator[Cue]:
        return iter(self.cues)

    def find(self, number: str) -> Cue | None:
        """The cue numbered ``number`` (compared as decimals), or None."""
        key = cue_number_key(number)
        return next((cue for cue in self.cues if cue.key == key), None)

    def get(self, number: str) -> Cue:
        """The cue numbered ``number``; CueError listing the cues if there is none."""
        cue = self.find(number)
        if cue is None:
            have = ", ".join(c.number for c in self.cues) or "none"
            raise CueError(f"no cue {number} (cues: {have})")
        return cue

    def after(self, number: str | None) -> Cue | None:
        """The first cue after ``number`` (the first cue when ``number`` is None), or None at the end."""
        if number is None:
            return self.cues[0] if self.cues else None
        key = cue_number_key(number)
        return next((cue for cue in self.cues if cue.key > key), None)

    def before(self, number: str | None) -> Cue | None:
        """The last cue before ``number``, or None at the top (or when ``number`` is None)."""
        if number is None:
            return None
        key = cue_number_key(number)
        return next((cue for cue in reversed(self.cues) if cue.key < key), None)

    def with_cue(self, cue: Cue) -> CueList:
        """This list with ``cue`` added, replacing a cue of the same number."""
        return CueList((*(c for c in self.cues if c.key != cue.key), cue))

    def without(self, number: str) -> CueList:
        """This list without cue ``number`` (CueError if there is none)."""
        gone = self.get(number)
        return CueList(tuple(c for c in self.cues if c is not gone))

    def with_look_renamed(self, old: str, new: str) -> CueList:
        """Every cue that recalled ``old`` recalls ``new`` instead."""
        return CueList(tuple(dataclasses.replace(c, look=new) if c.look == old else c for c in self.cues))

    def to_json(self) -> dict[str, Any]:
        """The cue-file form."""
        return {"schema": CUES_SCHEMA, "cues": [cue.to_json() for cue in self.cues]}
