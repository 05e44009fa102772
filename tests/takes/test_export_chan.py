"""Nuke .chan take export, read back by the strict reader in tests/chan_reader.py and checked against
hand-worked camera directions rebuilt from (rx, ry, rz) in Nuke's ZXY order."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.samples import FilmBack
from stagectl.takes.export.chan import export_chan
from stagectl.takes.model import CameraTrack
from tests.chan_reader import Chan, ChanError, read_chan
from tests.take_factory import make_take, make_track

FOV_35_ON_24 = 37.849289  # 2 atan(12 / 35) in degrees


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def _nuke_camera(rx: float, ry: float, rz: float) -> tuple[np.ndarray, np.ndarray]:
    """View direction (local -Z) and up (local +Y) of a Nuke Camera with rotation order ZXY:
    rotate about Z, then X, then Y (R = Ry Rx Rz)."""
    matrix = _rot("y", ry) @ _rot("x", rx) @ _rot("z", rz)
    return matrix @ np.array([0.0, 0.0, -1.0]), matrix @ np.array([0.0, 1.0, 0.0])


def _export(take_cameras: dict[str, CameraTrack], tmp_path: Path, columns: int = 8) -> Chan:
    take = make_take()
    take.cameras = take_cameras
    (path,) = export_chan(take, tmp_path)
    assert path.name == f"12-A-T003_{next(iter(take_cameras))}.chan"
    return read_chan(path, columns=columns)


def test_make_take_lines(tmp_path: Path) -> None:
    take = make_take()
    progress: list[float] = []
    (path,) = export_chan(take, tmp_path, progress=progress.append)
    chan = read_chan(path)
    assert chan.frames.tolist() == list(range(864000, 864048))  # one line per frame, timecode frames
    # Frame 0: internal (0, 2, 1.5) m, pan 0, tilt -5, roll 1 -> Y-up (0, 1.5, -2); rx = -5, ry = 0, rz = -1.
    np.testing.assert_allclose(chan.values[0], [0.0, 1.5, -2.0, -5.0, 0.0, -1.0, FOV_35_ON_24], atol=1e-6)
    # Frame 10 is 10/24 s in: x = 0.416667 m, pan = 4.166667 degrees.
    np.testing.assert_allclose(chan.values[10], [10 / 24, 1.5, -2.0, -5.0, 100 / 24, -1.0, FOV_35_ON_24],
                               atol=1e-6)
    assert progress[-1] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize(("pan", "tilt", "roll", "view", "up"), [
    # pan 0 looks along internal +Y (forward) = Y-up -Z.
    (0.0, 0.0, 0.0, (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    # pan +90 turns left: internal -X.
    (90.0, 0.0, 0.0, (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    # tilt +30 looks up.
    (0.0, 30.0, 0.0, (0.0, 0.5, -math.sqrt(3) / 2), (0.0, math.sqrt(3) / 2, 0.5)),
    # roll +90, clockwise seen from behind: the top of the frame swings to the right (+X).
    (0.0, 0.0, 90.0, (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)),
    # pan -90 then tilt -45: internal forward (cos45, 0, -sin45) -> Y-up (0.707, -0.707, 0).
    (-90.0, -45.0, 0.0, (math.sqrt(0.5), -math.sqrt(0.5), 0.0), (math.sqrt(0.5), math.sqrt(0.5), 0.0)),
])
def test_view_direction_from_zxy(tmp_path: Path, pan: float, tilt: float, roll: float,
                                 view: tuple[float, float, float], up: tuple[float, float, float]) -> None:
    track = make_track("A", 100, 3, 1, make_take().info.rate)
    track.rotation_deg[:] = (pan, tilt, roll)
    chan = _export({"A": track}, tmp_path)
    rx, ry, rz = chan.values[1, 3:6]
    got_view, got_up = _nuke_camera(rx, ry, rz)
    np.testing.assert_allclose(got_view, view, atol=1e-6)
    np.testing.assert_allclose(got_up, up, atol=1e-6)


def test_an_unknown_film_back_leaves_the_fov_column_out(tmp_path: Path) -> None:
    # It used to assume Nuke's default 18.672 mm, 6 degrees away from what USD said for the same frame.
    track = make_track("A", 100, 3, 1, make_take().info.rate)
    track.lens, track.film_back = None, None
    chan = _export({"A": track}, tmp_path, columns=7)
    assert chan.values.shape == (3, 6)


def test_the_trackers_film_back_gives_the_fov(tmp_path: Path) -> None:
    track = make_track("A", 100, 3, 1, make_take().info.rate)
    track.lens, track.film_back = None, FilmBack(36.0, 20.25, "tracker")
    chan = _export({"A": track}, tmp_path)
    # 35 mm on a 20.25 mm high sensor: 2 atan(10.125 / 35) = 32.2700... degrees.
    np.testing.assert_allclose(chan.values[:, 6], 2 * math.degrees(math.atan(10.125 / 35)), atol=1e-9)


def test_unknown_focal_lengths_hold_the_nearest_known(tmp_path: Path) -> None:
    track = make_track("A", 100, 5, 1, make_take().info.rate)
    track.focal_length_mm[:] = [np.nan, 35.0, np.nan, 0.0, 50.0]
    chan = _export({"A": track}, tmp_path)
    fov_50 = 2 * math.degrees(math.atan(12 / 50))  # 26.99 degrees
    np.testing.assert_allclose(chan.values[:, 6], [FOV_35_ON_24] * 4 + [fov_50], atol=1e-6)


def test_no_focal_length_at_all_leaves_the_fov_column_out(tmp_path: Path) -> None:
    track = make_track("A", 100, 3, 1, make_take().info.rate, lens=False)
    chan = _export({"A": track}, tmp_path, columns=7)
    assert chan.values.shape == (3, 6)


def test_dropouts_and_bad_poses_are_left_out_and_pan_is_unwrapped(tmp_path: Path) -> None:
    track = make_track("A", 100, 5, 2, make_take().info.rate)
    track.frame[:] = [100, 100, 101, 101, 103, 103, 104, 104, 105, 105]  # frame 102 never arrived
    track.rotation_deg[:, 0] = [170.0, 170.0, 179.0, 179.0, -179.0, -179.0, -170.0, -170.0, 0.0, 0.0]
    track.translation_m[8, 0] = np.nan  # frame 105's first sample has no pose
    chan = _export({"A": track}, tmp_path)
    assert chan.frames.tolist() == [100, 101, 103, 104]
    np.testing.assert_allclose(chan.values[:, 4], [170.0, 179.0, 181.0, 190.0])


def test_camera_without_samples_writes_nothing(tmp_path: Path) -> None:
    take = make_take(cameras=("A", "B"))
    take.cameras["A"] = CameraTrack.empty("A")
    assert [p.name for p in export_chan(take, tmp_path)] == ["12-A-T003_B.chan"]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("1 0 0 0 0 0 0 30\n2 0 0 0 0 0 0\n", 2, "expected 8 numbers"),
    ("1 0 0 0 0 0 0 nan\n", 1, "non-finite"),
    ("1 0 0 0 0 0 0 x\n", 1, "not a number"),
    ("2 0 0 0 0 0 0 30\n2 0 0 0 0 0 0 30\n", 2, "does not follow"),
    ("1.5 0 0 0 0 0 0 30\n", 1, "whole number"),
    ("1 0 0 0 0 0 0 30\n\n", 2, "expected 8 numbers"),
    ("1 0 0 0 0 0 0 30", 1, "newline"),
])
def test_reader_is_strict(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.chan"
    path.write_text(text)
    with pytest.raises(ChanError, match=message) as caught:
        read_chan(path)
    assert caught.value.line == line
