"""DMX fixture profiles as data, fixtures patched into universes, and rendering levels into slots.

A :class:`Profile` is a name and a channel layout: one :class:`Channel` per control, 8-bit (one
slot) or 16-bit (two slots, coarse then fine: big-endian, as DMX512 fixtures read them). A
:class:`Fixture` is a profile patched at a universe and start address (1..512) and following a
look zone (``group``). :func:`check_patch` refuses fixtures that overlap or share a name.

Rendering (:func:`render`) turns :class:`FixtureLevels` (intensity 0..1, colour temperature in
kelvin, or an explicit R/G/B/W mix 0..1) into the fixture's slot bytes:

* intensity and colour channels: ``round(value * 255)`` (8-bit) or ``round(value * 65535)``
  split into coarse and fine (16-bit), rounding half up;
* a CCT channel maps its profile's range linearly **in kelvin**: the low end of ``cct_range_k``
  is 0, the high end full (the mapping most fixture manuals print; check the fixture's own
  manual and give a custom profile where it differs);
* colour channels of a profile **without** an intensity channel carry the intensity (the mix
  is scaled by it); with an intensity channel they carry the mix and the fixture dims;
* RGBW from a colour temperature uses Tanner Helland's curve fit of blackbody colour to sRGB
  (2012, "How to Convert Temperature (K) to RGB"; valid 1000..40000 K, a few percent off the
  Planckian locus, meant for pictures rather than colorimetry); white is extracted as the
  smallest of R, G, B (which assumes the W emitter is about the white of full R+G+B, ~6500 K),
  and the mix is normalised so its largest emitter is at full. An approximation: a fixture with
  a native CCT mode should be patched with an ``intensity_cct`` profile instead.
* ``fixed`` channels always carry their configured raw value (mode, strobe-open, ...).
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stagectl.core.errors import StageError

SLOTS_PER_UNIVERSE = 512
MIN_UNIVERSE, MAX_UNIVERSE = 1, 63999
#: Colour temperature range offered for profiles that mix a CCT from R, G, B (Helland's fit is
#: valid 1000..40000 K; outside 2000..10000 K an RGB fixture no longer looks like white light).
RGB_CCT_RANGE_K = (2000.0, 10000.0)
DEFAULT_CCT_K = 5600.0
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_ZONE = re.compile(r"[a-z0-9][a-z0-9-]*")  # a look zone's name, as presets.model.ZONE_NAME


class FixtureError(StageError):
    """A profile, fixture or patch that cannot work (the message names the fixture(s) and why)."""


class ChannelKind(enum.Enum):
    """What one channel of a profile carries."""

    INTENSITY = "intensity"
    CCT = "cct"
    RED = "red"
    GREEN = "green"
    BLUE = "blue"
    WHITE = "white"
    FIXED = "fixed"


COLOUR_KINDS = (ChannelKind.RED, ChannelKind.GREEN, ChannelKind.BLUE, ChannelKind.WHITE)


@dataclass(frozen=True, slots=True)
class Channel:
    """One control: its kind, 8 or 16 bits, and for ``FIXED`` the raw value it always sends."""

    kind: ChannelKind
    bits: int = 8
    fixed: int = 0

    def __post_init__(self) -> None:
        if self.bits not in (8, 16):
            raise FixtureError(f"channel {self.kind.value}: {self.bits} bits (8 or 16 only)")
        top = (1 << self.bits) - 1
        if not 0 <= self.fixed <= top:
            raise FixtureError(f"fixed channel value {self.fixed} is outside 0..{top}")

    @property
    def slots(self) -> int:
        """Slots the channel takes: 1 (8-bit) or 2 (16-bit, coarse then fine)."""
        return self.bits // 8

    def __str__(self) -> str:
        bits = "16" if self.bits == 16 else ""
        return f"fixed{bits}:{self.fixed}" if self.kind is ChannelKind.FIXED else f"{self.kind.value}{bits}"


@dataclass(frozen=True, slots=True)
class Profile:
    """A fixture type's DMX layout. ``cct_range_k`` (low, high kelvin): what a CCT channel spans,
    or for R/G/B profiles the colour temperatures offered; None when the profile has neither."""

    name: str
    channels: tuple[Channel, ...]
    cct_range_k: tuple[float, float] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.channels:
            raise FixtureError(f"profile {self.name!r} has no channels")
        kinds = [c.kind for c in self.channels if c.kind is not ChannelKind.FIXED]
        doubled = sorted({k.value for k in kinds if kinds.count(k) > 1})
        if doubled:
            raise FixtureError(f"profile {self.name!r} has more than one {', '.join(doubled)} channel")
        if self.footprint > SLOTS_PER_UNIVERSE:
            raise FixtureError(f"profile {self.name!r} needs {self.footprint} slots (a universe has 512)")
        if self.has_cct:
            if self.cct_range_k is None:
                raise FixtureError(f"profile {self.name!r}: give cct_range_k (low, high kelvin)")
            low, high = self.cct_range_k
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
                raise FixtureError(f"profile {self.name!r}: cct_range_k {self.cct_range_k} is not "
                                   f"low < high kelvin")

    @property
    def footprint(self) -> int:
        """Slots the fixture takes."""
        return sum(c.slots for c in self.channels)

    def has(self, kind: ChannelKind) -> bool:
        """True when the profile has a channel of ``kind``."""
        return any(c.kind is kind for c in self.channels)

    @property
    def has_cct(self) -> bool:
        """True when a colour temperature can be set: a CCT channel, or R, G and B to mix one."""
        return self.has(ChannelKind.CCT) or all(self.has(k) for k in COLOUR_KINDS[:3])

    @property
    def colour_kinds(self) -> tuple[ChannelKind, ...]:
        """The R/G/B/W channels the profile has, in that order."""
        return tuple(k for k in COLOUR_KINDS if self.has(k))

    def layout_text(self) -> str:
        """The channels, e.g. ``intensity16 cct16`` (for docs and messages)."""
        return " ".join(str(c) for c in self.channels)


def parse_channel(text: str) -> Channel:
    """A channel from its text: ``intensity``, ``cct16``, ``red``, ..., ``fixed:128``, ``fixed16:32768``."""
    word, _, value = text.strip().partition(":")
    bits = 16 if word.endswith("16") else 8
    word = word.removesuffix("16")
    try:
        kind = ChannelKind(word)
    except ValueError:
        kinds = ", ".join(k.value for k in ChannelKind)
        raise FixtureError(f"channel {text!r}: unknown kind {word!r} (one of: {kinds}; "
                           f"'16' after it for 16-bit)") from None
    if kind is ChannelKind.FIXED:
        if not value.isdigit():
            raise FixtureError(f"channel {text!r}: write fixed:<raw value>, e.g. fixed:0")
        return Channel(kind, bits, int(value))
    if value:
        raise FixtureError(f"channel {text!r}: only fixed channels take a value")
    return Channel(kind, bits)


def _profile(name: str, channels: str, cct: tuple[float, float] | None, description: str) -> Profile:
    return Profile(name, tuple(parse_channel(t) for t in channels.split()), cct, description)


PROFILES: Mapping[str, Profile] = {p.name: p for p in (
    _profile("dimmer", "intensity", None, "one 8-bit intensity channel"),
    _profile("dimmer16", "intensity16", None, "16-bit intensity (coarse, fine)"),
    _profile("intensity_cct", "intensity cct", (2700.0, 6500.0), "8-bit intensity, 8-bit CCT 2700..6500 K"),
    _profile("intensity_cct16", "intensity16 cct16", (2700.0, 6500.0),
             "16-bit intensity, 16-bit CCT 2700..6500 K"),
    _profile("rgbw", "red green blue white", RGB_CCT_RANGE_K, "8-bit R, G, B, W; intensity scales the mix"),
    _profile("rgbw16", "red16 green16 blue16 white16", RGB_CCT_RANGE_K,
             "16-bit R, G, B, W; intensity scales the mix"),
    _profile("intensity_rgbw", "intensity red green blue white", RGB_CCT_RANGE_K,
             "8-bit intensity, then R, G, B, W (the fixture dims the mix)"),
)}
"""The built-in profiles by name."""


def custom_profile(name: str, channels: Sequence[str], cct_range_k: Sequence[float] | None = None,
                   description: str = "") -> Profile:
    """A profile from a stage file: ``channels`` as :func:`parse_channel` texts, in slot order."""
    if not _NAME.fullmatch(name):
        raise FixtureError(f"profile name {name!r}: use letters, digits, '-' and '_'")
    cct: tuple[float, float] | None = None
    if cct_range_k is not None:
        if len(cct_range_k) != 2:
            raise FixtureError(f"profile {name!r}: cct_range_k must be [low, high] kelvin")
        cct = (float(cct_range_k[0]), float(cct_range_k[1]))
    return Profile(name, tuple(parse_channel(t) for t in channels), cct, description)


def find_profile(name: str, extra: Mapping[str, Profile] | None = None) -> Profile:
    """The profile called ``name`` in ``extra`` (custom ones) or the built-ins; FixtureError lists them."""
    found = (extra or {}).get(name) or PROFILES.get(name)
    if found is None:
        known = ", ".join(sorted({*PROFILES, *(extra or {})}))
        raise FixtureError(f"unknown fixture profile {name!r} (known: {known})")
    return found


@dataclass(frozen=True, slots=True)
class Fixture:
    """A profile patched at ``universe`` (1..63999), start ``address`` (1..512), following look zone
    ``group`` (None: the device's zone)."""

    name: str
    profile: Profile
    universe: int
    address: int
    group: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise FixtureError(f"fixture name {self.name!r}: use letters, digits, '-' and '_' "
                               f"(it becomes part of feature names)")
        if self.group is not None and not _ZONE.fullmatch(self.group):
            raise FixtureError(f"fixture {self.name!r}: group {self.group!r} is not a look zone name "
                               f"(lower-case letters, digits and '-')")
        if isinstance(self.universe, bool) or not isinstance(self.universe, int) or not (
                MIN_UNIVERSE <= self.universe <= MAX_UNIVERSE):
            raise FixtureError(f"fixture {self.name!r}: universe {self.universe!r} is outside "
                               f"{MIN_UNIVERSE}..{MAX_UNIVERSE}")
        if isinstance(self.address, bool) or not isinstance(self.address, int) or not (
                1 <= self.address <= SLOTS_PER_UNIVERSE):
            raise FixtureError(f"fixture {self.name!r}: address {self.address!r} is outside 1..512")
        if self.last_address > SLOTS_PER_UNIVERSE:
            raise FixtureError(f"fixture {self.name!r} ({self.profile.name}, {self.profile.footprint} slots) "
                               f"at address {self.address} would end at slot {self.last_address}: "
                               f"beyond 512; start it at {SLOTS_PER_UNIVERSE - self.profile.footprint + 1} "
                               f"or lower")

    @property
    def last_address(self) -> int:
        """The last slot (1-based) the fixture takes."""
        return self.address + self.profile.footprint - 1

    def where(self) -> str:
        """``universe 1, slots 1-4`` (for messages)."""
        return f"universe {self.universe}, slots {self.address}-{self.last_address}"


def check_patch(fixtures: Iterable[Fixture]) -> None:
    """FixtureError when two fixtures share a name or a slot (naming both and their slots)."""
    seen: dict[str, Fixture] = {}
    by_universe: dict[int, list[Fixture]] = {}
    for fixture in fixtures:
        other = seen.get(fixture.name)
        if other is not None:
            raise FixtureError(f"two fixtures are called {fixture.name!r} ({other.where()} and "
                               f"{fixture.where()})")
        seen[fixture.name] = fixture
        by_universe.setdefault(fixture.universe, []).append(fixture)
    for patched in by_universe.values():
        patched.sort(key=lambda f: f.address)
        for before, after in itertools.pairwise(patched):
            if after.address <= before.last_address:
                raise FixtureError(f"fixtures {before.name!r} ({before.where()}) and {after.name!r} "
                                   f"({after.where()}) overlap")


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FixtureLevels:
    """What a fixture is asked to show: ``intensity`` 0..1, ``cct_k`` kelvin (None: the profile's
    default), ``mix`` an explicit (R, G, B, W) 0..1 (None: mixed from ``cct_k``)."""

    intensity: float = 0.0
    cct_k: float | None = None
    mix: tuple[float, float, float, float] | None = None


def kelvin_to_rgb(cct_k: float) -> tuple[float, float, float]:
    """Tanner Helland's approximation of a blackbody's colour as sRGB 0..1 (clamped to 1000..40000 K)."""
    if not math.isfinite(cct_k):
        raise FixtureError(f"colour temperature {cct_k!r} K is not finite")
    t = min(max(cct_k, 1000.0), 40000.0) / 100.0
    if t <= 66.0:
        red = 255.0
        green = 99.4708025861 * math.log(t) - 161.1195681661
    else:
        red = 329.698727446 * (t - 60.0) ** -0.1332047592
        green = 288.1221695283 * (t - 60.0) ** -0.0755148492
    if t >= 66.0:
        blue = 255.0
    elif t <= 19.0:
        blue = 0.0
    else:
        blue = 138.5177312231 * math.log(t - 10.0) - 305.0447927307
    return (_unit(red / 255.0), _unit(green / 255.0), _unit(blue / 255.0))


def rgbw_from_cct(cct_k: float) -> tuple[float, float, float, float]:
    """An R, G, B, W mix 0..1 for ``cct_k``: Helland's RGB, white extracted, largest emitter at full."""
    red, green, blue = kelvin_to_rgb(cct_k)
    white = min(red, green, blue)
    mix = (red - white, green - white, blue - white, white)
    top = max(mix)
    return (mix[0] / top, mix[1] / top, mix[2] / top, mix[3] / top)


def default_cct_k(profile: Profile) -> float | None:
    """5600 K clamped into the profile's CCT range (None when it has no CCT)."""
    if not profile.has_cct or profile.cct_range_k is None:
        return None
    low, high = profile.cct_range_k
    return min(max(DEFAULT_CCT_K, low), high)


def level_bytes(value: float, bits: int) -> bytes:
    """``value`` 0..1 as one slot (8-bit) or coarse + fine slots (16-bit, big-endian), rounded half up."""
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise FixtureError(f"level {value!r} is outside 0..1")
    if bits == 8:
        return bytes((int(value * 255.0 + 0.5),))
    raw = int(value * 65535.0 + 0.5)
    return bytes((raw >> 8, raw & 0xFF))


def render(profile: Profile, levels: FixtureLevels) -> bytes:
    """The fixture's ``profile.footprint`` slot bytes for ``levels`` (see the module docstring).

    FixtureError for an intensity or mix component outside 0..1, or a CCT outside the profile's range.
    """
    intensity = levels.intensity
    if not (math.isfinite(intensity) and 0.0 <= intensity <= 1.0):
        raise FixtureError(f"{profile.name}: intensity {intensity!r} is outside 0..1")
    cct_k = levels.cct_k if levels.cct_k is not None else default_cct_k(profile)
    cct_fraction = 0.0
    if profile.has_cct and profile.cct_range_k is not None and cct_k is not None:
        low, high = profile.cct_range_k
        if not (math.isfinite(cct_k) and low <= cct_k <= high):
            raise FixtureError(f"{profile.name}: colour temperature {cct_k!r} K is outside "
                               f"{low:g}..{high:g} K")
        cct_fraction = (cct_k - low) / (high - low)
    mix = levels.mix
    if mix is None:
        mix = rgbw_from_cct(cct_k) if (cct_k is not None and profile.colour_kinds) else (1.0, 1.0, 1.0, 1.0)
    scale = 1.0 if profile.has(ChannelKind.INTENSITY) else intensity
    out = bytearray()
    for channel in profile.channels:
        kind = channel.kind
        if kind is ChannelKind.INTENSITY:
            out += level_bytes(intensity, channel.bits)
        elif kind is ChannelKind.CCT:
            out += level_bytes(cct_fraction, channel.bits)
        elif kind is ChannelKind.FIXED:
            out += channel.fixed.to_bytes(channel.slots, "big")
        else:
            component = mix[COLOUR_KINDS.index(kind)]
            if not (math.isfinite(component) and 0.0 <= component <= 1.0):
                raise FixtureError(f"{profile.name}: {kind.value} {component!r} is outside 0..1")
            out += level_bytes(component * scale, channel.bits)
    return bytes(out)


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)
