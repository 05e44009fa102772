"""The calibration wizard's work on a worker thread (no Qt): calibrate from photographs, save a lens file."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ui.workers import Progress


@dataclass(frozen=True)
class CalibrationJob:
    """Everything one calibration run needs (plain values: it crosses to the worker thread)."""

    images: tuple[Path, ...]
    kind: str
    inner_corners: tuple[int, int]
    square_mm: float
    marker_mm: float | None
    dictionary: str
    sensor_width_mm: float


def run_calibration(job: CalibrationJob, progress: Progress, cancel: Any) -> Any:
    """The worker: build the board and calibrate (no Qt). Returns a ``CalibrationResult``."""
    from lens import calibrate as calibration

    board = calibration.BoardSpec(job.kind, job.inner_corners, job.square_mm,  # type: ignore[arg-type]
                                  job.marker_mm, job.dictionary)
    return calibration.calibrate(list(job.images), board, job.sensor_width_mm, progress=progress,
                                 cancel=cancel)


def save_calibration(result: Any, path: Path, zoom_raw: int, focus_raw: int) -> Any:
    """Add ``result`` as a calibration point to the lens file at ``path`` and write it atomically
    (worker thread; no Qt). Returns the ``CalibrationPoint``; raises ``LensFileError`` if it does not fit."""
    from lens.lensfile import CalibrationPoint, load_lens_file, save_lens_file

    lens = load_lens_file(path)
    point = CalibrationPoint(
        zoom_raw=zoom_raw, focus_raw=focus_raw, fx_px=result.fx_px, fy_px=result.fy_px, cx_px=result.cx_px,
        cy_px=result.cy_px, k1=result.k1, k2=result.k2, p1=result.p1, p2=result.p2, k3=result.k3,
        image_width_px=result.image_width_px, image_height_px=result.image_height_px, rms_px=result.rms_px,
        images_used=result.images_used,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    lens.add_calibration(point)
    save_lens_file(lens, path)
    return point
