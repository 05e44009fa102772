"""What the stage's cameras and sources look like at one instant: plain frozen values, copied on the I/O
thread (``Stage.snapshot``) and read by any other. ``--status-json`` renders them
(:mod:`stagectl.stage.status`); the window gets them inside a :class:`~stagectl.stage.view.StageView`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from stagectl.core.health import StreamState
from stagectl.core.samples import CameraSample, FilmBack

if TYPE_CHECKING:
    from stagectl.stage.pipeline import CameraPipeline
    from tracking.source import TrackingSource

__all__ = ["CameraStatus", "SourceStatus", "StageSnapshot", "camera_status", "refreshed", "source_status"]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source as the Stage dock shows it."""

    name: str
    camera: str
    protocol: str
    listen: str
    state: str
    rate_hz: float
    received: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    age_s: float | None
    error: str | None
    detail: str | None = None
    """The transport's own state line (e.g. "reconnecting in 4 s")."""
    interval_ms_p50: float = math.nan
    jitter_ms_p50: float = math.nan
    jitter_ms_p99: float = math.nan
    has_sequence: bool = False
    lost: int = 0
    reordered: int = 0
    duplicates: int = 0
    preset: str | None = None
    allow: tuple[str, ...] = ()
    description: str = ""
    """What the source is, for people: "FreeD (sony)", "simulated OpenTrackIO (CBOR)"."""
    warned: int = 0
    warnings_by_reason: dict[str, int] = field(default_factory=dict)
    """Samples kept as sent though odd (a drop-frame flag at 23.976, no transforms, ...), by reason."""


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """A camera as the docks and ``--status-json`` show it."""

    name: str
    state: str
    rate_hz: float
    samples: int
    rejected: int
    delay_ms: float
    latest: CameraSample | None
    delay_frames: float = 0.0
    smoothing: int = 0
    smoothing_latency_ms: float = 0.0
    jitter_ms_p50: float = math.nan
    jitter_ms_p99: float = math.nan
    lost: int = 0
    reordered: int = 0
    lens_status: str = "unsolved"
    """"solved (<file>)", "unsolved", or "unsolved: <why the lens file was not used>"."""
    film_back: FilmBack | None = None
    """The camera's sensor size for every output and export, and where it comes from (None: unknown)."""


@dataclass(frozen=True, slots=True)
class StageSnapshot:
    """The cameras, sources and outputs at one instant (what ``--status-json`` and a view are made from)."""

    name: str
    timecode: str
    frame_rate: str
    cameras: tuple[CameraStatus, ...]
    sources: tuple[SourceStatus, ...]
    monotonic_ns: int
    outputs: tuple[Any, ...] = ()
    """``stagectl.stage.outputs.OutputStatus`` of every ``[[outputs]]``."""

    @property
    def total_samples(self) -> int:
        """Samples delivered over all cameras."""
        return sum(c.samples for c in self.cameras)

    @property
    def total_rejected(self) -> int:
        """Datagrams rejected over all sources."""
        return sum(s.rejected for s in self.sources)


def camera_status(cam: CameraPipeline, frame_s: float, film_back: FilmBack | None, now: int,
                  rates: Mapping[int, float] | None = None) -> CameraStatus:
    """A camera's pipeline, copied for display (any thread). ``rates``: its sources' rates at ``now``
    already worked out, by ``id`` of their health (the others are worked out here)."""
    rate = cam.rate_at(now) if rates is None else sum(
        rates[id(h)] if id(h) in rates else h.rate_at(now) for h in cam.sources)
    feeding = next((h for h in cam.sources if h.state is StreamState.UP), cam.sources[0] if cam.sources
                   else None)
    return CameraStatus(
        cam.name, cam.state.value, rate, cam.delivered, cam.rejected, cam.delay_ms,
        cam.latest,
        delay_frames=cam.delay_ms / 1000.0 / frame_s, smoothing=cam.smoothing,
        smoothing_latency_ms=cam.smoothing_latency_ms,
        jitter_ms_p50=feeding.jitter_ms_p50 if feeding else math.nan,
        jitter_ms_p99=feeding.jitter_ms_p99 if feeding else math.nan,
        lost=sum(h.lost for h in cam.sources), reordered=sum(h.reordered for h in cam.sources),
        lens_status=cam.lens_status, film_back=film_back)


def source_status(s: TrackingSource, now: int, rate_hz: float | None = None) -> SourceStatus:
    """A tracking source's health, copied for display (any thread); ``rate_hz`` its rate at ``now`` when
    already worked out."""
    return SourceStatus(
        name=s.name, camera=s.camera.name, protocol=s.protocol,
        listen=str(s.bound or s.configured_address), state=s.health.state.value,
        rate_hz=s.health.rate_at(now) if rate_hz is None else rate_hz,
        received=s.health.received, accepted=s.health.accepted,
        rejected=s.health.rejected, rejected_by_reason=dict(s.health.rejected_by_reason),
        age_s=s.health.age_s(now), error=s.health.failed, detail=s.health.detail,
        interval_ms_p50=s.health.interval_ms_p50, jitter_ms_p50=s.health.jitter_ms_p50,
        jitter_ms_p99=s.health.jitter_ms_p99, has_sequence=s.health.has_sequence,
        lost=s.health.lost, reordered=s.health.reordered, duplicates=s.health.duplicates,
        preset=s.preset_name,
        allow=tuple(sorted(s.allow)), description=s.description, warned=s.health.warned,
        warnings_by_reason=dict(s.health.warnings_by_reason),
    )


_CAMERA_FIELDS = tuple(f.name for f in fields(CameraStatus))
_camera_values = attrgetter(*_CAMERA_FIELDS)
_STATE, _SAMPLES, _REJECTED, _LATEST = (_CAMERA_FIELDS.index(name)
                                        for name in ("state", "samples", "rejected", "latest"))


def refreshed(snap: StageSnapshot, pipelines: Mapping[str, CameraPipeline], now: int,
              timecode: str) -> StageSnapshot:
    """``snap`` with what moves every frame made new (any thread): each camera's newest sample, its count, its
    rejections and its state, the stage clock's timecode and the instant. The rest (rates, jitter, the
    sources' counters, the outputs) stays as ``snap`` has it, the same objects: a reader can tell by
    identity that it has not changed."""
    cameras = []
    for status in snap.cameras:
        cam = pipelines.get(status.name)
        if cam is not None:  # positionally: dataclasses.replace costs 5 times as much
            values = list(_camera_values(status))
            values[_STATE], values[_SAMPLES] = cam.state.value, cam.delivered
            values[_REJECTED], values[_LATEST] = cam.rejected, cam.latest
            status = CameraStatus(*values)
        cameras.append(status)
    return replace(snap, cameras=tuple(cameras), timecode=timecode, monotonic_ns=now)
