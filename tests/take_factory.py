"""Hand-made takes for exporter and browser tests (no recorder involved).

``make_take`` builds a :class:`TakeData` whose numbers a test can work out by hand: camera ``A``
moves along +X at 1 m/s with pan growing 10 deg/s, at ``samples_per_frame`` samples per frame,
from timecode ``tc_in``; lens 35 mm, focus 3 m, T2.8 (f/2.5) on a 36 x 24 mm film back.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from stagectl.core.colour import Cdl
from stagectl.core.samples import FilmBack
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.model import CameraTrack, LensInfo, LogEntry, Slate, TakeData, TakeInfo

SENSOR_W_MM, SENSOR_H_MM = 36.0, 24.0
GRADE = Cdl(slope=(1.1, 1.0, 0.9), offset=(0.01, 0.0, -0.02), power=(1.0, 1.05, 0.95), saturation=0.9)
WALL_GRADE = Cdl(slope=(0.8, 0.8, 0.8))


def make_track(
    camera: str, first_frame: int, frames: int, samples_per_frame: int, rate: FrameRate, *, lens: bool = True
) -> CameraTrack:
    """A camera moving +X at 1 m/s, pan +10 deg/s, tilt -5, roll 1, z 1.5 m."""
    n = frames * samples_per_frame
    t = np.arange(n) / (float(rate.rate) * samples_per_frame)
    frame = first_frame + np.arange(n) // samples_per_frame
    translation = np.stack([t * 1.0, np.full(n, 2.0), np.full(n, 1.5)], axis=1)
    rotation = np.stack([t * 10.0, np.full(n, -5.0), np.full(n, 1.0)], axis=1)
    nan = np.full(n, np.nan)
    return CameraTrack(
        camera=camera,
        source=f"{camera}-freed",
        arrival_ns=(1_000_000_000 + t * 1e9).astype(np.int64),
        frame=frame.astype(np.int64),
        tracker_timecode=np.zeros(n, dtype=np.bool_),
        sequence=np.arange(n, dtype=np.int64),
        translation_m=translation,
        rotation_deg=rotation,
        zoom_raw=np.full(n, 1000.0),
        focus_raw=np.full(n, 2000.0),
        iris_raw=np.full(n, 300.0),
        focal_length_mm=np.full(n, 35.0) if lens else nan.copy(),
        focus_distance_m=np.full(n, 3.0) if lens else nan.copy(),
        f_stop=np.full(n, 2.5) if lens else nan.copy(),
        t_stop=np.full(n, 2.8) if lens else nan.copy(),
        entrance_pupil_m=np.full(n, 0.1) if lens else nan.copy(),
        distortion=np.tile([-0.1, 0.02, 0.0, 0.001, -0.002], (n, 1)) if lens else np.full((n, 5), np.nan),
        principal_point_px=np.tile([1920.0, 1080.0], (n, 1)) if lens else np.full((n, 2), np.nan),
        lens=LensInfo(
            "zeiss-35.json", "ZEISS", "Supreme Prime 35", "SP35-0001", SENSOR_W_MM, SENSOR_H_MM, 3840, 2160
        )
        if lens
        else None,
        film_back=FilmBack(SENSOR_W_MM, SENSOR_H_MM, "lens file") if lens else None,
    )


def make_take(
    *,
    rate: FrameRate | None = None,
    drop_frame: bool = False,
    tc_in: str = "10:00:00:00",
    frames: int = 48,
    samples_per_frame: int = 10,
    cameras: tuple[str, ...] = ("A",),
    take_id: int = 7,
) -> TakeData:
    """A complete take of ``frames`` frames per camera from ``tc_in``."""
    rate = rate or FrameRate(Fraction(24))
    start = Timecode.parse(tc_in, rate, drop_frame)
    tracks = {cam: make_track(cam, start.frames, frames, samples_per_frame, rate) for cam in cameras}
    slate = Slate(
        production="Night Drive", scene="12", shot="A", take=3, cameras=cameras, notes="rain on glass"
    )
    info = TakeInfo(
        take_id=take_id,
        name=slate.label,
        slate=slate,
        rate=rate,
        drop_frame=drop_frame,
        tc_in=start,
        tc_out=start + (frames - 1),
        started_unix_s=1_790_000_000.0,
        stopped_unix_s=1_790_000_002.0,
        state="complete",
        circled=True,
        notes="good one",
        look_at_start="dusk",
    )
    log = [
        LogEntry(1_000_000_000, start, "look", "cues", "look dusk live", {"look": "dusk"}),
        LogEntry(1_500_000_000, start + 12, "cue", "cues", "GO cue 2 (night)", {"cue": "2", "look": "night"}),
    ]
    return TakeData(info, tracks, {"frustum": GRADE, "wall": WALL_GRADE}, log, {cam: 0 for cam in cameras})
