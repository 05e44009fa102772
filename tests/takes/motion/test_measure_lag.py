"""Measured delay on rendered video: a textured scene through a turning pinhole camera, written as a real
H.264 file, read back through cv2.VideoCapture, against tracking samples of the same path.

The picture lags the tracking by a known delay; grain, motion blur (180 degree shutter) and an actor who
walks about on their own are in every moving clip. The measurement must land within 3 ms of the truth,
and refuse (with what to do) a camera that does not move, a flat picture, a zoom, and a picture that is
not the tracked camera's.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stagectl.takes.motion import (
    FlatPicture,
    FrameMotion,
    MotionMismatch,
    MotionTracker,
    NotEnoughMotion,
    TrackingPath,
    ZoomDuringCapture,
    measure_lag,
)
from stagectl.takes.motion.video import open_video
from tests.support.motion_scene import moving, render_clip, still, tracking_samples

SECONDS = 6.0


def motions_of(clip: Path) -> list[FrameMotion]:
    """Every frame's motion, the clip read through the product's reader (not paced: as fast as it decodes)."""
    tracker, out = MotionTracker(), []
    with open_video(str(clip)) as video:
        for frame in video.frames(None, paced=False):
            motion = tracker.push(frame.image, frame.index / video.fps)  # frame times from the clip's start
            if motion is not None:
                out.append(motion)
    return out


def path_of(pose: object = moving, **kwargs: float) -> TrackingPath:
    times, rotation = tracking_samples(SECONDS + 2.0, pose=pose, **kwargs)  # type: ignore[arg-type]
    return TrackingPath.of(times, rotation)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, float]]:
    """The rendered clips by name: (file, focal length in px)."""
    folder = tmp_path_factory.mktemp("delay_clips")
    made = {}
    for name, fps, delay, kwargs in (
        ("50p", Fraction(50), 0.037, {}),
        ("23.976p", Fraction(24000, 1001), 0.083, {}),
        ("still", Fraction(25), 0.040, {"pose": still, "seconds": 3.0}),
        ("flat", Fraction(25), 0.040, {"flat": True, "seconds": 3.0}),
        ("zoom", Fraction(25), 0.040, {"zoom_to_hfov_deg": 45.0, "seconds": 4.0}),
    ):
        path = folder / f"{name}.mov"
        seconds = float(kwargs.pop("seconds", SECONDS))  # type: ignore[arg-type]
        made[name] = (path, render_clip(path, fps, seconds, delay, **kwargs))  # type: ignore[arg-type]
    return made


@pytest.mark.parametrize(("name", "fps", "truth_ms"), [("50p", 50.0, 37.0), ("23.976p", 24000 / 1001, 83.0)])
def test_delay_within_3_ms(clips: dict[str, tuple[Path, float]], name: str, fps: float, truth_ms: float
                           ) -> None:
    clip, focal = clips[name]
    motions = motions_of(clip)
    assert len(motions) == round(SECONDS * fps) - 1
    result = measure_lag(motions, path_of(), rate_fps=fps)
    assert result.offset_ms == pytest.approx(truth_ms, abs=3.0), result.as_json()
    assert result.offset_frames == pytest.approx(truth_ms / 1000 * fps, abs=3.0 / 1000 * fps)
    assert result.confidence > 0.9
    assert 0 < result.uncertainty_ms < 3.0
    assert result.focal_from == "picture" and result.focal_px == pytest.approx(focal, rel=0.15)
    # The curves line up after the shift and not before.
    c = result.curves
    assert np.corrcoef(c.picture, c.tracking_after)[0, 1] > np.corrcoef(c.picture, c.tracking_before)[0, 1]


def test_solved_focal_length_is_used(clips: dict[str, tuple[Path, float]]) -> None:
    clip, focal = clips["50p"]
    result = measure_lag(motions_of(clip), path_of(), rate_fps=50.0, focal_px=focal)
    assert result.focal_from == "lens" and result.focal_px == focal
    assert result.offset_ms == pytest.approx(37.0, abs=3.0)
    assert not result.warnings


def test_a_camera_that_does_not_move_is_refused(clips: dict[str, tuple[Path, float]]) -> None:
    clip, _ = clips["still"]
    with pytest.raises(NotEnoughMotion, match="pan and tilt the camera briskly"):
        measure_lag(motions_of(clip), path_of(still), rate_fps=25.0)


def test_a_flat_picture_is_refused(clips: dict[str, tuple[Path, float]]) -> None:
    clip, _ = clips["flat"]
    with pytest.raises(FlatPicture, match="detailed, lit scene"):
        measure_lag(motions_of(clip), path_of(), rate_fps=25.0)


def test_a_zoom_seen_in_the_picture_is_refused(clips: dict[str, tuple[Path, float]]) -> None:
    clip, _ = clips["zoom"]
    with pytest.raises(ZoomDuringCapture, match="keep the zoom still"):
        measure_lag(motions_of(clip), path_of(), rate_fps=25.0)


def test_a_zoom_the_lens_solve_reports_is_refused(clips: dict[str, tuple[Path, float]]) -> None:
    clip, _ = clips["50p"]
    times, rotation = tracking_samples(SECONDS + 2.0)
    focal_mm = np.linspace(24.0, 30.0, times.size)  # the tracker's solved lens zooms 25 %
    with pytest.raises(ZoomDuringCapture, match="solved focal length"):
        measure_lag(motions_of(clip), TrackingPath.of(times, rotation, focal_mm), rate_fps=50.0)


def test_tracking_of_another_camera_is_refused(clips: dict[str, tuple[Path, float]]) -> None:
    clip, _ = clips["50p"]

    def other(t: np.ndarray) -> np.ndarray:  # a different operator's moves
        return moving(7.3 - t * 1.13)  # type: ignore[arg-type]

    with pytest.raises(MotionMismatch, match="do not match"):
        measure_lag(motions_of(clip), path_of(other), rate_fps=50.0)


def test_an_actor_alone_does_not_make_motion(clips: dict[str, tuple[Path, float]]) -> None:
    """The still clip has the actor walking through it: the median of the tiles stays on the background."""
    clip, _ = clips["still"]
    shifts = np.array([(m.dx_px, m.dy_px) for m in motions_of(clip) if m.valid])
    assert len(shifts) > 50
    assert float(np.sqrt(np.mean(shifts ** 2))) < 0.2
