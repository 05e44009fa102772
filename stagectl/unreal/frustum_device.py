"""The Unreal inner frustum as a lighting :class:`stagectl.core.device.Device`: looks and cues grade it too.

A :class:`FrustumDevice` wraps the stage's :class:`FrustumSender` (coalesced, rate-limited
Remote Control sends to every Unreal node) and exposes its fields as Features in look zone
``frustum``: exposure offset in stops, the ASC CDL (slope, offset and power per channel, and
saturation), and the frustum switches (inner frustum, overscan, soft edge, chroma key). A fade
sets it like any device; the sender already sends at most 60 times a second with one request in
flight per node, so this device only hands values over (no network I/O of its own).

The link state is the Unreal nodes': down (with the nodes' detail) when every node's Remote
Control link is down or reconnecting, else up (a node still making its first connection is not
an outage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stagectl.core.colour import CDL_FADES
from stagectl.core.device import Device
from stagectl.core.events import EventQueue
from stagectl.core.features import DeviceError, DeviceRefused, Fade, Feature, FeatureKind, Value
from stagectl.unreal.frustum import CueError, FrustumCues, FrustumSender

ZONE = "frustum"
_CHANNELS = ("r", "g", "b")
_CDL_RANGES = {"slope": (0.0, 8.0), "offset": (-1.0, 1.0), "power": (0.1, 8.0)}


def _features() -> tuple[Feature, ...]:
    out = [
        Feature("exposure", "Frustum exposure", "stops", minimum=-15.0, maximum=15.0,
                zone_value="exposure_stops", zone=ZONE, description="Exposure offset of the inner frustum"),
        Feature("inner_frustum", "Inner frustum", "", FeatureKind.BOOL, fade=Fade.STEP),
        Feature("overscan", "Overscan", "x", minimum=0.05, maximum=5.0,
                description="nDisplay field-of-view multiplier of the inner frustum"),
        Feature("soft_edge", "Soft edge", "", minimum=0.0, maximum=1.0),
        Feature("chroma_key", "Chroma key", "", FeatureKind.BOOL, fade=Fade.STEP),
    ]
    for part, (low, high) in _CDL_RANGES.items():
        for channel in _CHANNELS:
            zone_value = f"cdl.{part}.{channel}"
            out.append(Feature(f"cdl_{part}_{channel}", f"CDL {part} {channel.upper()}", "", minimum=low,
                               maximum=high, fade=CDL_FADES[zone_value], zone_value=zone_value, zone=ZONE))
    out.append(Feature("cdl_saturation", "CDL saturation", "", minimum=0.0, maximum=4.0,
                       fade=CDL_FADES["cdl.saturation"], zone_value="cdl.saturation", zone=ZONE))
    return tuple(out)


FEATURES = _features()


def cues_values(cues: FrustumCues) -> dict[str, Value]:
    """Every feature's value in ``cues``."""
    values: dict[str, Value] = {"exposure": cues.exposure_stops, "inner_frustum": cues.inner_frustum,
                                "overscan": cues.overscan, "soft_edge": cues.soft_edge,
                                "chroma_key": cues.chroma_key, "cdl_saturation": cues.cdl_saturation}
    for part in _CDL_RANGES:
        triple = getattr(cues, f"cdl_{part}")
        for channel, value in zip(_CHANNELS, triple, strict=True):
            values[f"cdl_{part}_{channel}"] = value
    return values


def cue_changes(cues: FrustumCues, values: Mapping[str, Value]) -> dict[str, Any]:
    """``values`` (feature -> value) as FrustumSender.set keyword arguments, starting from ``cues``."""
    changes: dict[str, Any] = {}
    scalars = {"exposure": "exposure_stops", "inner_frustum": "inner_frustum", "overscan": "overscan",
               "soft_edge": "soft_edge", "chroma_key": "chroma_key", "cdl_saturation": "cdl_saturation"}
    for name, value in values.items():
        if name in scalars:
            changes[scalars[name]] = value
            continue
        _, part, channel = name.split("_")
        field = f"cdl_{part}"
        triple = list(changes.get(field, getattr(cues, field)))
        triple[_CHANNELS.index(channel)] = value
        changes[field] = tuple(triple)
    return changes


class FrustumDevice(Device):
    """The inner frustum of every Unreal node the stage drives (see the module docstring)."""

    kind = "unreal-frustum"

    def __init__(self, sender: FrustumSender, name: str = "frustum", *, events: EventQueue | None = None,
                 poll_s: float = 0.5) -> None:
        super().__init__(name, target="Remote Control", zone=ZONE, events=events, poll_s=poll_s)
        self.sender = sender

    @property
    def features(self) -> tuple[Feature, ...]:
        """Exposure, CDL and the frustum switches."""
        return FEATURES

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        try:
            self.sender.set(**cue_changes(self.sender.cues, values))
        except (CueError, RuntimeError) as exc:
            raise DeviceRefused(str(exc)) from exc

    async def _async_poll(self) -> Mapping[str, Value]:
        statuses = self.sender.status()
        if statuses and all(s.link in ("down", "reconnecting") for s in statuses):
            details = "; ".join(f"{s.target}: {s.link} {s.detail}".strip() for s in statuses)
            raise DeviceError(f"no Unreal node is up ({details})")
        return cues_values(self.sender.cues)
