"""The stage's take recorder, built from ``[takes]``: where the lens and the live look come from."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lens.solve import LensSolver
from stagectl.config.model import SourceConfig, StageConfig
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.stage.folders import default_data_dir
from stagectl.stage.pipeline import CameraPipeline
from stagectl.takes.model import LensInfo
from stagectl.takes.recorder import LookLookup, Recorder, RecorderStatus
from tracking.freed.presets import PRESETS
from tracking.source import TrackingSource


def takes_folder(config: StageConfig) -> Path:
    """``[takes] dir``, else ``<data dir>/takes`` (``$STAGECTL_DATA_DIR``, XDG, ~/.local/share)."""
    return config.takes.dir or default_data_dir() / "takes"


def lens_info(solver: LensSolver | None) -> LensInfo | None:
    """The lens file and film back a camera is solved with (None: unsolved)."""
    if solver is None:
        return None
    lens = solver.lens
    return LensInfo(
        solver.lens_file_name or lens.name or "",
        lens.identity.make,
        lens.identity.model,
        lens.identity.serial,
        lens.sensor.width_mm,
        lens.sensor.height_mm,
        lens.sensor.width_px,
        lens.sensor.height_px,
    )


def source_settings(src: SourceConfig) -> dict[str, Any]:
    """What decoding a source's raw datagrams again needs (``stagectl takes raw --redecode``).

    ``protocol`` is the protocol on the wire (a simulator's simulated one); the rest is the
    stage file's decoding settings for it."""
    protocol = _wire_protocol(src)
    out: dict[str, Any] = {"protocol": protocol}
    if protocol in ("freed", "freed-serial"):
        out.update(preset=src.preset, camera_id=src.camera_id)
    if protocol == "opentrackio":
        out.update(source_number=src.source_number, group=src.group)
    if protocol == "lens-serial":
        out["lens_protocol"] = src.lens_protocol
    if src.listen is not None:
        out["listen"] = str(src.listen)
    if src.serial is not None:
        out["port"] = src.serial.port
    return out


def _wire_protocol(src: SourceConfig) -> str:
    """The protocol on the wire: a simulator's simulated one, else the source's."""
    return src.simulate if src.protocol == "simulator" else src.protocol


def tracker_vendors(config: StageConfig) -> dict[str, str]:
    """The vendor of each camera's FreeD tracker where its preset names one (the static block's
    ``tracker.make``; FreeD itself carries no identity)."""
    return {src.camera: PRESETS[src.preset].label for src in config.sources
            if src.preset != "generic" and _wire_protocol(src) in ("freed", "freed-serial")}


def capture_sources(recorder: Recorder, config: StageConfig, sources: Sequence[TrackingSource]) -> None:
    """Give every tracking source the recorder's raw capture (its datagrams go into each take of its
    cameras). A FreeD port shared by camera id is captured once, by the source owning the socket, with
    each camera id's camera in ``settings["routes"]``."""
    by_name = {s.name: (c, s) for c, s in zip(config.sources, sources, strict=True)}
    for src, source in zip(config.sources, sources, strict=True):
        names = source.capture_names
        if not names:
            continue  # another source owns this socket and captures for it
        settings = source_settings(src)
        fed = [by_name[n][0] for n in names if n in by_name]
        if len(fed) > 1:
            settings["routes"] = {str(f.camera_id): f.camera for f in fed}
        cameras = tuple(dict.fromkeys(f.camera for f in fed))
        source.capture = recorder.add_source(source.name, settings["protocol"], cameras, settings,
                                             names=names, preroll=source.preroll)


def make_recorder(
    config: StageConfig,
    clock: StageClock,
    events: EventQueue,
    cameras: Mapping[str, CameraPipeline],
    lens_solvers: Mapping[str, LensSolver],
    look_of: LookLookup,
    sources: Sequence[TrackingSource] = (),
    camera_info_of: Callable[[str], Mapping[str, Any]] | None = None,
) -> Recorder:
    """A recorder for the stage's cameras that reads lenses from the stage and the live look from
    ``look_of()`` (``StageLighting.live_look``), and captures its sources' raw datagrams;
    ``camera_info_of(camera)``: what a take keeps of a camera besides its lens file
    (``Stage.camera_info``)."""

    def lens_of(camera: str) -> LensInfo | None:
        return lens_info(lens_solvers.get(camera))

    recorder = Recorder(
        takes_folder(config),
        clock,
        events,
        cameras,
        lens_of=lens_of,
        look_of=look_of,
        camera_info_of=camera_info_of,
        timecode_from=config.takes.timecode,
        production=config.takes.production,
    )
    if sources:
        capture_sources(recorder, config, sources)
    return recorder


def takes_dict(status: RecorderStatus) -> dict[str, Any]:
    """The ``takes`` part of ``--status-json``: recording, the take, samples, lag and the slate."""
    s = status.slate
    return {
        "takes": {
            "ready": status.ready,
            "recording": status.recording,
            "take": status.take_name,
            "take_id": status.take_id,
            "tc_in": status.tc_in,
            "elapsed_s": round(status.elapsed_s, 3),
            "samples": dict(status.samples),
            "journal_pending": status.journal_pending,
            "commit_pending": status.commit_pending,
            "commit_age_s": None if status.commit_age_s is None else round(status.commit_age_s, 3),
            "errors": status.errors,
            "error": status.error,
            "last_take": status.last_take,
            "last_take_id": status.last_take_id,
            "dir": status.takes_dir,
            "slate": {
                "production": s.production,
                "scene": s.scene,
                "shot": s.shot,
                "take": s.take,
                "cameras": list(s.cameras),
                "notes": s.notes,
            },
        }
    }
