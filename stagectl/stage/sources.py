"""The tracking sources a stage file asks for, one per ``[[sources]]`` entry."""

from __future__ import annotations

from stagectl.config.load import SourceConfig, StageConfig, source_name
from stagectl.core.clock import StageClock
from stagectl.core.errors import ConfigError
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.stage.pipeline import CameraPipeline
from tracking.encoders.serial import LensSerialSource
from tracking.freed.presets import PRESETS
from tracking.freed.serial import FreeDSerialSource
from tracking.freed.source import Plausibility
from tracking.freed.udp import FreeDUdpSource
from tracking.opentrackio_udp import OpenTrackIOUdpSource
from tracking.simulated_source import SimulatedFreeDSource
from tracking.source import TrackingSource

__all__ = ["make_sources"]


def make_sources(config: StageConfig, cameras: dict[str, CameraPipeline], clock: StageClock,
                 events: EventQueue) -> list[TrackingSource]:
    """Build every source of ``config``, in stage-file order (closed: ``async_start`` opens them).

    FreeD sources that listen on the same address share one socket: the first owns it and hands
    each packet to the source of its camera id.
    """
    freed_ports: dict[Endpoint, FreeDUdpSource] = {}
    return [_make_source(src, cameras, clock, events, freed_ports) for src in config.sources]


def _make_source(src: SourceConfig, cameras: dict[str, CameraPipeline], clock: StageClock, events: EventQueue,
                 freed_ports: dict[Endpoint, FreeDUdpSource]) -> TrackingSource:
    camera = cameras[src.camera]
    name = source_name(src)
    stale_s = src.stale_ms / 1000.0
    preset = PRESETS[src.preset]
    limits = None if src.plausibility is None else Plausibility(*src.plausibility)
    if src.protocol == "freed" and src.listen is not None:
        source = FreeDUdpSource(name, camera, clock, events, src.listen, src.camera_id, preset,
                                src.allow, stale_s)
        source.check_plausibility(limits)
        owner = freed_ports.get(src.listen)
        if owner is None or src.listen.port == 0:
            freed_ports[src.listen] = source
        else:
            owner.share(source)  # the stage file checker guarantees distinct camera ids
        return source
    if src.protocol == "freed-serial" and src.serial is not None:
        return FreeDSerialSource(name, camera, clock, events, src.serial, src.camera_id, preset,
                                 src.start_stream, stale_s, plausibility=limits)
    if src.protocol == "lens-serial" and src.serial is not None:
        return LensSerialSource(name, camera, clock, events, src.serial, src.lens_protocol, stale_s)
    if src.protocol == "opentrackio" and src.listen is not None:
        return OpenTrackIOUdpSource(name, camera, clock, events, src.listen, group=src.group,
                                    interface=src.interface, source_number=src.source_number,
                                    allow=src.allow, stale_after_s=stale_s)
    if src.protocol == "simulator" and src.listen is not None:
        index = list(cameras).index(src.camera)
        if src.simulate == "opentrackio":
            from tracking.simulated_source import SimulatedOpenTrackIOSource

            return SimulatedOpenTrackIOSource(name, camera, clock, events, src.listen, src.rate_hz,
                                              model_index=index, encoding=src.encoding)
        return SimulatedFreeDSource(name, camera, clock, events, src.listen, src.camera_id,
                                    src.rate_hz, model_index=index, preset=preset)
    raise ConfigError(f"protocol {src.protocol!r} has no source in this version",
                      key=f"sources[{src.index}].protocol")

