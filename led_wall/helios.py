"""Megapixel HELIOS LED processors over their public JSON API (``/api/v1``).

``GET /api/v1/public`` answers the state tree (``sys``, ``dev.display``, ``dev.ingest``,
``dev.groups``); a query string of dotted paths (``?dev.display&dev.ingest.testPattern``) narrows
it. A write sends a nested fragment, ``{"dev": {"display": {"brightness": 50}}}``, to the same URL.
Which verb the firmware prefers is UNVERIFIED: public clients used PATCH (2022-2024) and POST
(since 2024, firmware 24.07): ``write_verb`` chooses, PATCH by default.

Presets are recalled by name: ``POST /api/v1/presets/apply {"presetName": ...}``. The ``preset``
feature is a CHOICE whose choices are the processor's preset names, read from
``GET /api/v1/presets/list`` (firmware 24.03+; ``GET /api/v1/presets`` on older firmware) on the
first successful poll and again every ``preset_refresh_s``. Until then it has no choices and
refuses every value. The processor does not report which preset is active, so ``preset`` is only
ever a value we set.

One batch is at most two requests: the preset first (it changes the rest), then one fragment with
every other feature of the batch. Brightness is a percentage of the processor's peak
(``peak_nits``): a look's nits reach the device times ``100 / peak_nits``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from led_wall.http_client import HttpProcessorDevice, PolledValues
from stagectl.core.events import EventQueue
from stagectl.core.features import DeviceError, DeviceRefused, Fade, Feature, FeatureKind, Value
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.text import escape_untrusted

log = logging.getLogger("stagectl.led_wall")

TEST_PATTERN_TYPES = (
    "black", "red", "green", "blue", "white", "customColor", "aspectRatioTest", "colorBars", "diagonal",
    "diagonalColorBars", "diagonalGradient", "grid", "horizontalGradient", "horizontalGraySteps",
    "smallGrid", "verticalGradient", "verticalGraySteps",
)
"""``dev.ingest.testPattern.type`` values public clients send (Companion module, helios_controller)."""
WRITE_VERBS = ("PATCH", "POST")
PUBLIC = "/api/v1/public"
PRESET_LISTS = ("/api/v1/presets/list", "/api/v1/presets")


@dataclass(frozen=True, slots=True)
class _Binding:
    feature: Feature
    path: tuple[str, ...]
    """Keys from the root of the public tree (group indices as strings)."""
    integer: bool = False
    """Rounded to a whole number on the wire."""


def _bindings(peak_nits: float, groups: Sequence[int]) -> tuple[_Binding, ...]:
    number, flag, choice = FeatureKind.NUMBER, FeatureKind.BOOL, FeatureKind.CHOICE
    display, pattern = ("dev", "display"), ("dev", "ingest", "testPattern")
    out = [
        _Binding(Feature("brightness", "Brightness", "%", number, 0, 100, fade=Fade.LOG,
                         zone_value="brightness_nits", look_scale=100.0 / peak_nits,
                         description=f"Percent of the processor's peak ({peak_nits:g} nits = 100 %)"),
                 (*display, "brightness")),
        _Binding(Feature("cct", "Colour temperature", "K", number, 1667, 10000, fade=Fade.MIRED,
                         zone_value="cct_k", description="Display colour temperature in kelvin"),
                 (*display, "cct"), integer=True),
        _Binding(Feature("tint", "Tint", "Duv", number, -0.01, 0.01, zone_value="tint_duv",
                         description="Distance from the Planckian locus (Duv); + green, - magenta"),
                 (*display, "cctDuv")),
        _Binding(Feature("gamma", "Gamma", "", number, 1.0, 4.0, description="Display gamma"),
                 (*display, "gamma")),
        _Binding(Feature("blackout", "Blackout", "", flag, fade=Fade.STEP), (*display, "blackout")),
        _Binding(Feature("freeze", "Freeze", "", flag, fade=Fade.STEP), (*display, "freeze")),
        _Binding(Feature("test_pattern", "Test pattern", "", flag, fade=Fade.STEP), (*pattern, "enabled")),
        _Binding(Feature("test_pattern_type", "Test pattern type", "", choice, choices=TEST_PATTERN_TYPES,
                         fade=Fade.STEP), (*pattern, "type")),
        _Binding(Feature("test_pattern_motion", "Moving test pattern", "", flag, fade=Fade.STEP),
                 (*pattern, "motion")),
    ]
    for group in groups:
        key = ("dev", "groups", str(group))
        out.append(_Binding(Feature(f"group-{group}.blackout", f"Group {group} blackout", "", flag,
                                    fade=Fade.STEP), (*key, "blackout")))
        out.append(_Binding(Feature(f"group-{group}.intensity", f"Group {group} intensity gain", "", number,
                                    0, 2, description=f"Intensity gain of group {group} (1 = unity)"),
                            (*key, "gains", "i")))
    return tuple(out)


def fragment(items: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """Nested dict from key paths: ``{("dev", "display", "brightness"): 50}`` -> ``{"dev": {...}}``."""
    root: dict[str, Any] = {}
    for path, value in items.items():
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return root


def _find(tree: Any, path: Sequence[str]) -> tuple[bool, Any]:
    for key in path:
        if isinstance(tree, list) and key.isdigit() and int(key) < len(tree):
            tree = tree[int(key)]
        elif isinstance(tree, dict) and key in tree:
            tree = tree[key]
        else:
            return False, None
    return True, tree


def _preset_names(answer: Any) -> tuple[str, ...]:
    items = answer.get("presets") if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise DeviceError(f"preset list is not a list: {str(answer)[:200]}")
    names = []
    for item in items:
        name = item.get("presetName") if isinstance(item, dict) else item
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return tuple(names)


class HeliosDevice(HttpProcessorDevice):
    """One Megapixel HELIOS processor. See the module docstring for what goes over the wire.

    ``groups`` adds ``group-<i>.blackout`` and ``group-<i>.intensity`` per group index.
    ``username`` / ``password`` answer the processor's HTTP authentication (Basic or Digest).
    ``preset_names`` is the newest preset list read (``preset_errors`` counts failed reads);
    ``polled.rejected`` counts bad polled values.
    """

    kind = "helios"

    def __init__(self, name: str, url: str = "http://127.0.0.1:8081", *, write_verb: str = "PATCH",
                 peak_nits: float = 1500.0, zone: str | None = None, events: EventQueue | None = None,
                 timeout_s: float = 1.0, poll_s: float = 2.0, groups: Sequence[int] = (),
                 preset_refresh_s: float = 30.0, username: str | None = None, password: str = "") -> None:
        verb = write_verb.upper()
        if verb not in WRITE_VERBS:
            raise ValueError(f"{name}: write_verb must be PATCH or POST, not {write_verb!r}")
        if not peak_nits > 0:
            raise ValueError(f"{name}: peak_nits must be > 0 nits, not {peak_nits!r}")
        super().__init__(name, url, zone=zone, events=events, timeout_s=timeout_s, poll_s=poll_s,
                         username=username, password=password)
        self.write_verb = verb
        self.peak_nits = float(peak_nits)
        self.preset_refresh_s = preset_refresh_s
        self.polled = PolledValues(name)
        self.preset_names: tuple[str, ...] = ()
        self.preset_errors = 0
        self._preset_limiter = RateLimiter(1.0)
        self._presets_read_at = float("-inf")
        self._preset_list_url = PRESET_LISTS[0]
        self._bindings = _bindings(self.peak_nits, groups)
        self._by_feature = {b.feature.name: b for b in self._bindings}
        self._static = tuple(b.feature for b in self._bindings)
        self._features = (*self._static, self._preset_feature())
        roots = {".".join(b.path[:3]) if b.path[1] != "groups" else "dev.groups" for b in self._bindings}
        self._query = "&".join(sorted(roots))

    @property
    def features(self) -> tuple[Feature, ...]:
        """Display colour and overrides, test pattern, group controls, and ``preset`` (by name)."""
        return self._features

    def feature(self, name: str) -> Feature:
        """As Device.feature, but ``preset`` always carries the newest preset list."""
        if name == "preset":
            return self._features[-1]
        return super().feature(name)

    def _preset_feature(self) -> Feature:
        return Feature("preset", "Preset", "", FeatureKind.CHOICE, choices=self.preset_names, fade=Fade.STEP,
                       description="Recall a processor preset by name (list read from the processor)")

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        refusals: list[str] = []
        refused: list[str] = []
        if "preset" in values:
            try:
                await self.http.async_request("POST", "/api/v1/presets/apply",
                                        json_body={"presetName": values["preset"]}, features=("preset",))
            except DeviceRefused as exc:
                refusals.append(str(exc))
                refused.append("preset")
        items = {}
        for binding in self._bindings:
            name = binding.feature.name
            if name in values:
                value = values[name]
                items[binding.path] = round(float(value)) if binding.integer else value
        if items:
            names = [name for name in values if name != "preset"]
            try:
                await self.http.async_request(self.write_verb, PUBLIC, json_body=fragment(items),
                                              features=names)
            except DeviceRefused as exc:
                text = str(exc)
                if " -> 405:" in text:
                    other = WRITE_VERBS[1 - WRITE_VERBS.index(self.write_verb)]
                    text += f" (this processor does not take {self.write_verb}: try write_verb = {other})"
                refusals.append(text)
                refused.extend(names)
        if refused:
            raise DeviceRefused("; ".join(refusals), refused)

    async def _async_poll(self) -> Mapping[str, Value]:
        tree = await self.http.async_request("GET", f"{PUBLIC}?{self._query}")
        if not isinstance(tree, dict):
            raise DeviceError(f"GET {PUBLIC}: answer is not a JSON object: {str(tree)[:200]}")
        out: dict[str, Value] = {}
        for binding in self._bindings:
            found, raw = _find(tree, binding.path)
            if found:
                self.polled.accept(binding.feature, raw, out)
        if not self.preset_names or time.monotonic() - self._presets_read_at >= self.preset_refresh_s:
            await self._read_presets()
        return out

    async def _read_presets(self) -> None:
        """Refresh the preset list; a failure keeps the old list and never fails the poll."""
        self._presets_read_at = time.monotonic()
        try:
            try:
                answer = await self.http.async_request("GET", self._preset_list_url)
            except DeviceRefused:  # other firmware generation: try the other URL
                self._preset_list_url = PRESET_LISTS[1] if self._preset_list_url == PRESET_LISTS[0] \
                    else PRESET_LISTS[0]
                answer = await self.http.async_request("GET", self._preset_list_url)
            names = _preset_names(answer)
        except DeviceError as exc:
            self.preset_errors += 1
            held_back = self._preset_limiter.check("presets")
            if held_back is not None:
                message = f"{self.name}: cannot read the preset list: {escape_untrusted(exc)}"
                log.warning("%s", with_suppressed(message, held_back))
            return
        if names != self.preset_names:
            self.preset_names = names
            self._features = (*self._static, self._preset_feature())
