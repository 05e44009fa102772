"""USD camera take export, opened with usd-core (pxr) and checked against hand-worked positions,
view directions and lens values."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pxr import Gf, Usd, UsdGeom

from stagectl.core.samples import FilmBack
from stagectl.core.timecode import FrameRate
from stagectl.takes.export.usd import export_usd
from stagectl.takes.model import CameraTrack
from tests.take_factory import make_take, make_track

TC_10H_24 = 10 * 3600 * 24  # 10:00:00:00 at 24 fps = frame 864000


def _open(path: Path) -> tuple[Usd.Stage, UsdGeom.Camera]:
    stage = Usd.Stage.Open(str(path))
    assert stage is not None
    camera = UsdGeom.Camera(stage.GetDefaultPrim())
    assert camera
    return stage, camera


def _view_and_up(camera: UsdGeom.Camera, frame: int) -> tuple[Gf.Vec3d, Gf.Vec3d, Gf.Vec3d]:
    """Position, view direction (local -Z) and up (local +Y) of the camera in stage axes."""
    transform = camera.ComputeLocalToWorldTransform(Usd.TimeCode(frame))
    return (transform.ExtractTranslation(), transform.TransformDir(Gf.Vec3d(0, 0, -1)).GetNormalized(),
            transform.TransformDir(Gf.Vec3d(0, 1, 0)).GetNormalized())


def _export_one(track: CameraTrack, tmp_path: Path, **take_options: Any) -> tuple[Usd.Stage, UsdGeom.Camera]:
    take = make_take(**take_options)
    take.cameras = {track.camera: track}
    (path,) = export_usd(take, tmp_path)
    return _open(path)


def test_stage_metadata_and_lens(tmp_path: Path) -> None:
    take = make_take()
    progress: list[float] = []
    paths = export_usd(take, tmp_path, progress=progress.append)
    assert paths == [tmp_path / "12-A-T003_A.usda"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["12-A-T003_A.usda"]
    stage, camera = _open(paths[0])
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 0.01
    assert stage.GetTimeCodesPerSecond() == 24.0 and stage.GetFramesPerSecond() == 24.0
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (TC_10H_24, TC_10H_24 + 47)
    assert camera.GetPath() == "/A"
    meta = stage.GetRootLayer().customLayerData["stagectl"]
    assert meta["timecodeStart"] == "10:00:00:00" and meta["timecodeEnd"] == "10:00:01:23"
    assert (meta["rate"], meta["dropFrame"], meta["take"]) == ("24/1", False, "12-A-T003")
    assert meta["slate"]["scene"] == "12" and meta["slate"]["take"] == 3
    assert meta["lens"]["serial"] == "SP35-0001"
    assert meta["fStop"] == "f-stop (geometric)"
    for frame in (TC_10H_24, TC_10H_24 + 10, TC_10H_24 + 47):
        lens = camera.GetCamera(Usd.TimeCode(frame))
        # Tenths of a centimetre = millimetres: 35 mm on a 36 x 24 mm back, focus 3 m = 300 cm, f/2.5.
        assert lens.focalLength == pytest.approx(35.0)
        assert (lens.horizontalAperture, lens.verticalAperture) == (pytest.approx(36.0), pytest.approx(24.0))
        assert lens.focusDistance == pytest.approx(300.0)
        assert lens.fStop == pytest.approx(2.5)
        assert lens.projection == Gf.Camera.Perspective
    assert progress[-1] == 1.0


def test_positions_and_view_directions_along_the_take(tmp_path: Path) -> None:
    (path,) = export_usd(make_take(), tmp_path)
    _, camera = _open(path)
    for k in (0, 10, 47):
        # Frame k is k/24 s in: x = k/24 m, pan = 10 k/24 degrees, tilt -5, roll 1; y 2 m, z 1.5 m.
        position, view, up = _view_and_up(camera, TC_10H_24 + k)
        assert tuple(position) == pytest.approx((100 * k / 24, 150.0, -200.0))  # (x, z, -y) cm
        pan, tilt = math.radians(10 * k / 24), math.radians(-5.0)
        # Internal forward (-sin p cos t, cos p cos t, sin t) -> Y-up (x, z, -y).
        expected = (-math.sin(pan) * math.cos(tilt), math.sin(tilt), -math.cos(pan) * math.cos(tilt))
        assert tuple(view) == pytest.approx(expected, abs=1e-9)
        frustum = camera.GetCamera(Usd.TimeCode(TC_10H_24 + k)).frustum
        assert tuple(frustum.ComputeViewDirection()) == pytest.approx(expected, abs=1e-9)
        assert up[1] > 0.99  # roll 1 degree, tilt -5: nearly upright


@pytest.mark.parametrize(("angles", "view", "up"), [
    ((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),  # looks along internal +Y = USD -Z
    ((90.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),  # pan +90 turns left
    ((0.0, 90.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),  # looking straight up, top of frame backwards
    ((0.0, 0.0, 90.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)),  # roll +90: top of frame to the right
])
def test_hand_worked_poses(tmp_path: Path, angles: tuple[float, float, float], view: tuple[float, ...],
                           up: tuple[float, ...]) -> None:
    track = make_track("A", 100, 2, 1, make_take().info.rate)
    track.translation_m[:] = (1.0, 2.0, 3.0)
    track.rotation_deg[:] = angles
    _, camera = _export_one(track, tmp_path)
    position, got_view, got_up = _view_and_up(camera, 100)
    assert tuple(position) == pytest.approx((100.0, 300.0, -200.0))
    assert tuple(got_view) == pytest.approx(view, abs=1e-12)
    assert tuple(got_up) == pytest.approx(up, abs=1e-12)


def test_still_values_keep_run_edges_only(tmp_path: Path) -> None:
    track = make_track("A", 100, 6, 1, make_take().info.rate)
    track.translation_m[:] = (1.0, 2.0, 3.0)
    track.rotation_deg[:] = (0.0, 0.0, 0.0)
    track.focal_length_mm[:] = [35.0, 35.0, 35.0, 40.0, 50.0, 50.0]
    _, camera = _export_one(track, tmp_path)
    assert camera.GetFocalLengthAttr().GetTimeSamples() == [100, 102, 103, 104, 105]
    assert camera.GetPrim().GetAttribute("xformOp:transform").GetTimeSamples() == [100, 105]
    for frame, focal in zip(range(100, 106), track.focal_length_mm, strict=True):
        assert camera.GetFocalLengthAttr().Get(Usd.TimeCode(frame)) == pytest.approx(focal)


def test_unknown_lens_values_are_never_authored(tmp_path: Path) -> None:
    track = make_track("A", 100, 3, 1, make_take().info.rate, lens=False)
    stage, camera = _export_one(track, tmp_path)
    for attribute in (camera.GetFocalLengthAttr(), camera.GetFocusDistanceAttr(), camera.GetFStopAttr(),
                      camera.GetHorizontalApertureAttr()):
        assert not attribute.HasAuthoredValue()
    assert "nan" not in stage.GetRootLayer().ExportToString().lower()


def test_partly_known_values_skip_the_unknown_frames(tmp_path: Path) -> None:
    track = make_track("A", 100, 4, 1, make_take().info.rate)
    track.focal_length_mm[:] = [35.0, np.nan, 40.0, np.nan]
    track.f_stop[:] = np.nan  # the T-stop (2.8) stands in
    track.frame[:] = [100, 101, 103, 104]  # frame 102 dropped out
    stage, camera = _export_one(track, tmp_path)
    assert camera.GetFocalLengthAttr().GetTimeSamples() == [100, 103]
    assert camera.GetPrim().GetAttribute("xformOp:transform").GetTimeSamples() == [100, 101, 103, 104]
    assert camera.GetFStopAttr().Get(Usd.TimeCode(101)) == pytest.approx(2.8)
    assert "T-stop on 4 frame(s)" in stage.GetRootLayer().customLayerData["stagectl"]["fStop"]


def test_drop_frame_rate_and_prim_name(tmp_path: Path) -> None:
    track = make_track("cam-1", 107892, 2, 1, FrameRate(Fraction(30000, 1001)))
    stage, camera = _export_one(track, tmp_path, rate=FrameRate(Fraction(30000, 1001)), drop_frame=True,
                                tc_in="01:00:00;00")
    assert camera.GetPath() == "/cam_1"
    assert stage.GetTimeCodesPerSecond() == pytest.approx(30000 / 1001, abs=1e-12)
    meta = stage.GetRootLayer().customLayerData["stagectl"]
    assert (meta["timecodeStart"], meta["rate"], meta["dropFrame"]) == ("01:00:00;00", "30000/1001", True)
    assert stage.GetStartTimeCode() == 107892  # 01:00:00;00 at 29.97 DF


def test_camera_without_samples_writes_nothing(tmp_path: Path) -> None:
    take = make_take(cameras=("A", "B"))
    take.cameras["A"] = CameraTrack.empty("A")
    assert [p.name for p in export_usd(take, tmp_path)] == ["12-A-T003_B.usda"]


# --- what the USD camera carries beyond USD's own lens attributes ----------------------------------------

def test_aperture_offsets_put_the_lens_axis_on_the_principal_point(tmp_path: Path) -> None:
    track = make_track("A", 100, 2, 1, make_take().info.rate)
    track.principal_point_px[:] = (1800.0, 1200.0)  # left of and below the centre of a 3840 x 2160 image
    _, camera = _export_one(track, tmp_path)
    lens = camera.GetCamera(Usd.TimeCode(100))
    # Pixels of 36 / 3840 by 24 / 2160 mm: 120 px left = +1.125 mm, 120 px down = +1.3333 mm.
    assert (lens.horizontalApertureOffset, lens.verticalApertureOffset) == (pytest.approx(1.125),
                                                                             pytest.approx(4 / 3))
    # usd-core's own frustum: where does the lens axis (window coordinate 0, 0) land in the image?
    window = lens.frustum.GetWindow()
    u = (0.0 - window.GetMin()[0]) / (window.GetMax()[0] - window.GetMin()[0])
    v_from_top = (window.GetMax()[1] - 0.0) / (window.GetMax()[1] - window.GetMin()[1])
    assert (u * 3840, v_from_top * 2160) == (pytest.approx(1800.0), pytest.approx(1200.0))


def test_distortion_principal_point_and_ptp_time_are_double_custom_attributes(tmp_path: Path) -> None:
    track = make_track("A", 100, 3, 1, make_take().info.rate)
    track.distortion[:, 0] = [-0.123456789012345, -0.123456789012345, -0.1]
    track.sample_timestamp = np.array([[1718806554, 500000000], [1718806554, 541666666], [-1, -1]])
    stage, camera = _export_one(track, tmp_path)
    prim = camera.GetPrim()
    assert "undistorted -> distorted" in prim.GetAttribute("stagectl:lens:distortionModel").Get()
    k1 = prim.GetAttribute("stagectl:lens:k1")
    assert k1.GetTypeName() == "double" and k1.Get(Usd.TimeCode(100)) == -0.123456789012345
    assert k1.Get(Usd.TimeCode(102)) == -0.1
    assert prim.GetAttribute("stagectl:lens:p2").Get(Usd.TimeCode(101)) == -0.002
    centre = prim.GetAttribute("stagectl:lens:principalPointPx").Get(Usd.TimeCode(101))
    assert tuple(centre) == (1920.0, 1080.0)
    assert tuple(prim.GetAttribute("stagectl:lens:imageSizePx").Get()) == (3840, 2160)
    seconds = prim.GetAttribute("stagectl:sampleTimestamp:seconds")
    nanoseconds = prim.GetAttribute("stagectl:sampleTimestamp:nanoseconds")
    assert seconds.GetTypeName() == "int64" and seconds.Get(Usd.TimeCode(100)) == 1718806554
    assert (nanoseconds.Get(Usd.TimeCode(100)), nanoseconds.Get(Usd.TimeCode(101))) == (500000000, 541666666)
    assert nanoseconds.GetTimeSamples() == [100, 101]  # frame 102 sent none
    assert not re.search(r"\bnan\b", stage.GetRootLayer().ExportToString().lower())


def test_the_film_back_is_the_cameras_one_answer(tmp_path: Path) -> None:
    track = make_track("A", 100, 2, 1, make_take().info.rate)
    track.film_back = FilmBack(27.99, 19.22, "tracker")
    stage, camera = _export_one(track, tmp_path)
    lens = camera.GetCamera(Usd.TimeCode(100))
    assert (lens.horizontalAperture, lens.verticalAperture) == (pytest.approx(27.99), pytest.approx(19.22))
    assert stage.GetRootLayer().customLayerData["stagectl"]["filmBack"] == {
        "widthMm": 27.99, "heightMm": 19.22, "source": "tracker"}
    unknown = make_track("B", 100, 2, 1, make_take().info.rate, lens=False)
    stage, camera = _export_one(unknown, tmp_path)
    assert not camera.GetVerticalApertureAttr().HasAuthoredValue()
    assert stage.GetRootLayer().customLayerData["stagectl"]["filmBack"] == {"source": "unknown"}
