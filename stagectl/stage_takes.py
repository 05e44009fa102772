"""The stage's take recorder, built from ``[takes]``: where the lens and the live look come from."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lens.solve import LensSolver
from presets.colour import Cdl
from stagectl.config_model import StageConfig
from stagectl.events import EventQueue
from stagectl.pipeline import CameraPipeline
from stagectl.stage_lighting import StageLighting, default_data_dir
from stagectl.takes.model import LensInfo
from stagectl.takes.recorder import Recorder, RecorderStatus
from stagectl.timecode import StageClock


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


def make_recorder(
    config: StageConfig,
    clock: StageClock,
    events: EventQueue,
    cameras: Mapping[str, CameraPipeline],
    lens_solvers: Mapping[str, LensSolver],
    lighting: StageLighting,
) -> Recorder:
    """A recorder for the stage's cameras that reads lenses and the live look from the stage."""

    def lens_of(camera: str) -> LensInfo | None:
        return lens_info(lens_solvers.get(camera))

    def look_of() -> tuple[str, Mapping[str, Cdl]]:
        engine = lighting.engine
        name = engine.status().live_look if engine is not None else None
        if not name:
            return "", {}
        look = next((x for x in lighting.latest.looks if x.name == name), None)
        if look is None:
            return name, {}
        return name, {zone: v.cdl for zone, v in look.zones.items() if v.cdl is not None}

    return Recorder(
        takes_folder(config),
        clock,
        events,
        cameras,
        lens_of=lens_of,
        look_of=look_of,
        timecode_from=config.takes.timecode,
        production=config.takes.production,
    )


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
