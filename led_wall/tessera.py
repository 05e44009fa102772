"""Brompton Tessera LED processors over the Tessera IP Control API (v3.1 and later).

The API is a tree of paths under ``http://<processor>/api/`` (docs/led-processors.md). We set a
value with ``PUT /api/<path>`` and body ``{"data": value}`` and read with ``GET /api/<path>``,
whose answer is ``{"<last path segment>": value}`` (``GET /api/`` answers ``{"api": tree}``).
IP control must be enabled in the processor's Live Control tile.

Writes: one batch is the PUTs of its features, sent one after another over one keep-alive
connection, the preset first (recalling a preset changes the other values, which must then
land on top of it). A PUT the processor refuses (400/404/...) does not stop the others; the
refused features are reported in one :class:`~stagectl.core.device.DeviceRefused` with the
processor's answers verbatim. Brightness and colour temperature are integers on the wire: the
fade's floats are rounded there.

Polls: a few GETs of the subtrees and leaves the features live in (not ``GET /api/``, whose
answer also carries LUT and marker data); every value is checked against its feature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from led_wall.http_client import HttpProcessorDevice, PolledValues
from stagectl.core.events import EventQueue
from stagectl.core.features import DeviceError, DeviceRefused, Fade, Feature, FeatureKind, Value

TEST_PATTERN_TYPES = (
    "brompton", "red", "green", "blue", "cyan", "magenta", "yellow", "white", "black", "grid",
    "scrolling-grid", "checkerboard", "scrolling-checkerboard", "colour-bars", "scrolling-colour-bars",
    "gradient", "scrolling-gradient", "strobe", "smpte-bars", "scrolling-smpte-bars", "custom-colour",
    "custom", "forty-five-degree-grid", "scrolling-forty-five-degree-grid", "custom-gradient",
    "scrolling-custom-gradient",
)
"""Test pattern titles a Tessera 3.5.2 lists (its ``?help=1`` schema); frame-store numbers 1..50 too."""
TEST_PATTERN_FORMATS = ("from-input", "standard-dynamic-range", "perceptual-quantiser", "hybrid-log-gamma")


def _to_int(value: Value) -> Any:
    return round(float(value))


def _same(value: Value) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _Binding:
    """Where a feature lives: its API path, the GET that reads it, its wire conversion."""

    feature: Feature
    path: str
    poll: str
    to_wire: Callable[[Value], Any] = _same


def _bindings(groups: Sequence[int]) -> tuple[_Binding, ...]:
    colour, override = "output/global-colour", "override"
    number, flag, choice = FeatureKind.NUMBER, FeatureKind.BOOL, FeatureKind.CHOICE
    out = [
        _Binding(Feature("preset", "Preset", "", number, 1, 128, integer=True, fade=Fade.STEP,
                         description="Recall processor preset 1..128"),
                 "presets/active/number", "presets/active"),
        _Binding(Feature("brightness", "Brightness", "nit", number, 0, 10000, fade=Fade.LOG,
                         zone_value="brightness_nits", description="Output brightness in nits"),
                 f"{colour}/brightness", colour, _to_int),
        _Binding(Feature("cct", "Colour temperature", "K", number, 2000, 11000, fade=Fade.MIRED,
                         zone_value="cct_k", description="Output colour temperature in kelvin"),
                 f"{colour}/colour-temperature", colour, _to_int),
        _Binding(Feature("gamma", "Gamma", "", number, 0.2, 4.0, description="Output gamma"),
                 f"{colour}/gamma", colour),
        _Binding(Feature("blackout", "Blackout", "", flag, fade=Fade.STEP), f"{override}/blackout/enabled",
                 override),
        _Binding(Feature("blackout_fade_s", "Blackout fade", "s", number, 0, 10,
                         description="Seconds the processor takes to fade to black"),
                 f"{override}/blackout/fade-time", override),
        _Binding(Feature("freeze", "Freeze", "", flag, fade=Fade.STEP), f"{override}/freeze/enabled",
                 override),
        _Binding(Feature("test_pattern", "Test pattern", "", flag, fade=Fade.STEP),
                 f"{override}/test-pattern/enabled", override),
        _Binding(Feature("test_pattern_type", "Test pattern type", "", choice, choices=TEST_PATTERN_TYPES,
                         fade=Fade.STEP), f"{override}/test-pattern/type", override),
        _Binding(Feature("test_pattern_format", "Test pattern format", "", choice,
                         choices=TEST_PATTERN_FORMATS, fade=Fade.STEP),
                 f"{override}/test-pattern/format", override),
        _Binding(Feature("frame_remapping", "Frame remapping", "", flag, fade=Fade.STEP),
                 "output/network/frame-remapping/enabled", "output/network/frame-remapping/enabled"),
        _Binding(Feature("lut", "3D LUT", "", flag, fade=Fade.STEP), "processing/3d-lut/enabled",
                 "processing/3d-lut/enabled"),
        _Binding(Feature("lut_strength", "3D LUT strength", "%", number, 0, 100,
                         description="Intensity/opacity of the 3D LUT in percent"),
                 "processing/3d-lut/strength", "processing/3d-lut/strength"),
    ]
    for group in groups:
        path = f"groups/items/{group}/brightness"
        out.append(_Binding(Feature(f"group-{group}.brightness", f"Group {group} brightness", "nit", number,
                                    0, 10000, fade=Fade.LOG, description=f"Brightness of group {group}"),
                            path, path, _to_int))
    return tuple(out)


def _unwrap(poll_path: str, answer: Any) -> Any:
    """``{"<last segment>": value}`` -> value (a bare value is taken as it is)."""
    key = poll_path.rsplit("/", 1)[-1]
    if isinstance(answer, dict) and len(answer) == 1 and key in answer:
        return answer[key]
    if isinstance(answer, dict) and "response-code" in answer:
        raise DeviceError(f"GET /api/{poll_path}: {answer} (is IP control enabled in the Live Control tile?)")
    return answer


def _find(tree: Any, parts: Sequence[str]) -> tuple[bool, Any]:
    for part in parts:
        if not isinstance(tree, dict) or part not in tree:
            return False, None
        tree = tree[part]
    return True, tree


class TesseraDevice(HttpProcessorDevice):
    """One Brompton Tessera processor (SX40, S8, M2, T1...) with IP control enabled.

    ``groups`` adds a ``group-<n>.brightness`` feature (nits) per processor group number.
    ``username`` / ``password`` answer the processor's HTTP authentication (Basic or Digest).
    ``polled`` counts polled values that failed their feature's check (``polled.rejected``).
    """

    kind = "tessera"

    def __init__(self, name: str, url: str = "http://127.0.0.1:8080", *, zone: str | None = None,
                 events: EventQueue | None = None, timeout_s: float = 1.0, poll_s: float = 2.0,
                 groups: Sequence[int] = (), username: str | None = None, password: str = "") -> None:
        super().__init__(name, url, zone=zone, events=events, timeout_s=timeout_s, poll_s=poll_s,
                         username=username, password=password)
        self.polled = PolledValues(name)
        self._bindings = _bindings(groups)
        self._by_feature = {b.feature.name: b for b in self._bindings}
        self._features = tuple(b.feature for b in self._bindings)
        polls: dict[str, list[_Binding]] = {}
        for binding in self._bindings:
            polls.setdefault(binding.poll, []).append(binding)
        self._polls = polls

    @property
    def features(self) -> tuple[Feature, ...]:
        """Preset, output colour, overrides, frame remapping, 3D LUT, and any group brightness."""
        return self._features

    def api_path(self, feature: str) -> str:
        """The API path (under ``/api/``) a feature is written to."""
        return self._by_feature[self.feature(feature).name].path

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        refusals: list[str] = []
        refused: list[str] = []
        ordered = [b for b in self._bindings if b.feature.name in values]
        for binding in ordered:
            name = binding.feature.name
            try:
                answer = await self.http.async_request("PUT", f"/api/{binding.path}",
                                                 json_body={"data": binding.to_wire(values[name])},
                                                 features=(name,))
            except DeviceRefused as exc:
                refusals.append(str(exc))
                refused.append(name)
                continue
            if isinstance(answer, dict) and "response-code" in answer:  # IP control off answers 200
                raise DeviceError(f"PUT /api/{binding.path}: {answer} (is IP control enabled?)")
        if refused:
            raise DeviceRefused("; ".join(refusals), refused)

    async def _async_poll(self) -> Mapping[str, Value]:
        out: dict[str, Value] = {}
        for poll_path, bindings in self._polls.items():
            subtree = _unwrap(poll_path, await self.http.async_request("GET", f"/api/{poll_path}"))
            base = len(poll_path.split("/"))
            for binding in bindings:
                found, raw = _find(subtree, binding.path.split("/")[base:])
                if not found:
                    continue
                if binding.feature.name == "test_pattern_type" and not isinstance(raw, str):
                    continue  # a frame-store number: not one of our choices, not an error
                self.polled.accept(binding.feature, raw, out)
        return out
