"""Sample records -> :class:`CameraTrack`: columns, frames unwrapped across midnight, the film back.

What the store's readers share (``TakeStore.read`` / ``summary``); no SQL here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stagectl.core.samples import FilmBack, choose_film_back
from stagectl.core.timecode import FrameRate, frames_per_24h
from stagectl.takes.model import CameraTrack, LensInfo
from stagectl.takes.records import (
    FLAG_SOLVED,
    FLAG_TC_DROP,
    FLAG_TC_SUB_FRAME,
    FLAG_TRACKER_TIMECODE,
)


def unwrap_frames(frames: np.ndarray, reference: int, rate: FrameRate, drop_frame: bool) -> np.ndarray:
    """Frame counts (0 <= f < one day) as offsets from ``reference`` kept within half a day, added
    back to it: a take that runs through midnight keeps counting (23:59:59:23 then 2073600 at 24)
    instead of jumping back to 0. Labels are these modulo a day."""
    per_day = frames_per_24h(rate, drop_frame)
    offset = (frames.astype(np.int64) - reference) % per_day
    offset[offset > per_day // 2] -= per_day
    unwrapped: np.ndarray = reference + offset
    return unwrapped


def sequence_gaps(sequence: np.ndarray) -> int:
    """Samples missing from a tracker's numbering (steps larger than one, ignoring -1 = no number and
    backward steps, which are wraps or restarts)."""
    seq = sequence[sequence >= 0]
    if seq.size < 2:
        return 0
    steps = np.diff(seq)
    return int(np.sum(steps[steps > 1] - 1))


def tracker_sensor(statics: Sequence[tuple[int, Mapping[str, Any]]]) -> tuple[float, float] | None:
    """The first sensor size (width, height) mm a tracker's static blocks name, if any."""
    for _ns, static in statics:
        camera = static.get("camera")
        dims = camera.get("activeSensorPhysicalDimensions") if isinstance(camera, Mapping) else None
        if isinstance(dims, Mapping):
            width, height = dims.get("width"), dims.get("height")
            if isinstance(width, int | float) and isinstance(height, int | float) and min(width, height) > 0:
                return float(width), float(height)
    return None


def film_back(lens: LensInfo | None, statics: Sequence[tuple[int, Mapping[str, Any]]],
              stage_sensor_mm: Sequence[float] | None) -> FilmBack | None:
    """A camera's one film back, chosen as on the stage (``samples.choose_film_back``): the lens file's
    sensor, else the first its tracker's static blocks name, else the stage file's ``sensor_mm``."""
    stage = None
    if stage_sensor_mm is not None and len(stage_sensor_mm) == 2:
        stage = (float(stage_sensor_mm[0]), float(stage_sensor_mm[1]))
    return choose_film_back(None if lens is None else (lens.sensor_width_mm, lens.sensor_height_mm),
                            tracker_sensor(statics), stage)


def track_of(camera: str, source: str, r: np.ndarray, lens: LensInfo | None, *, reference: int | None,
             rate: FrameRate, drop_frame: bool, statics: Sequence[tuple[int, Mapping[str, Any]]] = (),
             info: Mapping[str, Any] | None = None, captured: bool = True) -> CameraTrack:
    """Layout-2 sample records (arrival order) as a :class:`CameraTrack` (copies: the columns outlive
    the blob). Frames are unwrapped around ``reference`` (the take's tc in, else the first sample);
    ``info``: the camera's ``sensor_mm``, ``lens_static``, ``tracker_make`` and ``delay_ms`` as recorded;
    ``captured`` False: the take has no raw capture (``raw_index`` None)."""
    info = info or {}

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(r[name], dtype=np.float64)

    def ints(name: str) -> np.ndarray:
        return r[name].astype(np.int64)

    def stack(*names: str) -> np.ndarray:
        if not r.size:
            return np.zeros((0, len(names)))
        return np.stack([col(n) for n in names], axis=1)

    frames = ints("frame")
    if frames.size:
        frames = unwrap_frames(frames, int(frames[0]) if reference is None else reference, rate, drop_frame)
    flags = r["flags"]
    sub = np.where((flags & FLAG_TC_SUB_FRAME) != 0, ints("tc_sub_frame"), -1)
    return CameraTrack(
        camera=camera,
        source=source,
        arrival_ns=ints("arrival_ns"),
        frame=frames,
        tracker_timecode=(flags & FLAG_TRACKER_TIMECODE) != 0,
        sequence=ints("sequence"),
        translation_m=stack("x", "y", "z"),
        rotation_deg=stack("pan", "tilt", "roll"),
        zoom_raw=col("zoom_raw"),
        focus_raw=col("focus_raw"),
        iris_raw=col("iris_raw"),
        focal_length_mm=col("focal_length_mm"),
        focus_distance_m=col("focus_distance_m"),
        f_stop=col("f_stop"),
        t_stop=col("t_stop"),
        entrance_pupil_m=col("entrance_pupil_m"),
        distortion=stack("k1", "k2", "k3", "p1", "p2"),
        principal_point_px=stack("cx", "cy"),
        lens=lens,
        film_back=film_back(lens, statics, info.get("sensor_mm")),
        raw_index=ints("raw_index") if captured else None,
        sample_timestamp=np.stack([ints("ptp_seconds"), ints("ptp_nanoseconds")], axis=1)
        if r.size else np.zeros((0, 2), dtype=np.int64),
        device_id=ints("device_id"),
        spare=ints("spare"),
        timecode=np.stack([ints(n) for n in ("tc_hours", "tc_minutes", "tc_seconds", "tc_frames")], axis=1)
        if r.size else np.zeros((0, 4), dtype=np.int64),
        timecode_rate=np.stack([ints("tc_rate_num"), ints("tc_rate_den")], axis=1)
        if r.size else np.zeros((0, 2), dtype=np.int64),
        timecode_drop=(flags & FLAG_TC_DROP) != 0,
        sub_frame=sub.astype(np.int64),
        source_index=ints("source"),
        solved=(flags & FLAG_SOLVED) != 0,
        statics=list(statics),
        lens_static=info.get("lens_static"),
        tracker_make=info.get("tracker_make"),
        delay_ms=_delay_ms(info.get("delay_ms")),
    )


def _delay_ms(value: Any) -> float | None:
    """The camera's delay line at RECORD as the take kept it (None: a take made without it)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
