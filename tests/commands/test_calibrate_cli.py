"""``stagectl lens calibrate`` on PNG files rendered through a known camera."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lens.calibrate import BoardSpec
from lens.lensfile import LensFile, LensIdentity, SensorSize, load_lens_file, save_lens_file
from lens.synthetic import CameraModel, orbit_poses, render_board
from stagectl.app import main
from stagectl.cli import build_parser
from stagectl.commands.calibrate import run_lens_calibrate

CAMERA = CameraModel(1920, 1080, 1800.0, 1800.0, 975.0, 530.0, k1=-0.12, k2=0.05, p1=0.0008,
                     p2=-0.0005).scaled(0.5)
BOARD = BoardSpec("checkerboard", (9, 6), 30.0)
VIEWS = 12
SENSOR_WIDTH_MM = 36.0
TRUE_FOCAL_MM = CAMERA.fx_px * SENSOR_WIDTH_MM / CAMERA.width_px  # 33.75
BOARD_ARGS = ["--board", "checkerboard", "--inner-corners", "9x6", "--square-mm", "30"]
JSON_KEYS = {"fx_px", "fy_px", "cx_px", "cy_px", "k1", "k2", "p1", "p2", "k3", "rms_px", "focal_length_mm",
             "images_used", "images_rejected"}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of real PNGs: VIEWS board views, a blank frame and a file that is not an image."""
    folder = tmp_path_factory.mktemp("shots")
    for i, pose in enumerate(orbit_poses(BOARD, CAMERA, VIEWS)):
        assert cv2.imwrite(str(folder / f"view{i:02d}.png"), render_board(BOARD, CAMERA, pose, seed=i))
    assert cv2.imwrite(str(folder / "blank.png"), np.full((CAMERA.height_px, CAMERA.width_px), 90, np.uint8))
    (folder / "notes.png").write_text("this is not a PNG")
    return folder


def _run(*argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["lens", "calibrate", *argv])
    out, err = io.StringIO(), io.StringIO()
    status = run_lens_calibrate(args, out, err)
    return status, out.getvalue(), err.getvalue()


def _views(shots: Path) -> list[str]:
    return sorted(str(p) for p in shots.glob("view*.png"))


def test_json_has_the_intrinsics_and_recovers_the_camera(shots: Path) -> None:
    status, out, err = _run(*_views(shots), str(shots / "blank.png"), str(shots / "notes.png"), *BOARD_ARGS,
                            "--sensor-width-mm", "36", "--json")
    assert status == 0, err
    result = json.loads(out)
    assert set(result) >= JSON_KEYS
    assert result["focal_length_mm"] == pytest.approx(TRUE_FOCAL_MM, rel=0.005)
    assert result["k1"] == pytest.approx(CAMERA.k1, abs=0.02)
    assert (result["images_used"], result["images_rejected"]) == (VIEWS, 2)
    assert {r["name"]: r["reason"].split(" (")[0].split(":")[0] for r in result["rejected"]} == {
        str(shots / "blank.png"): "board not found", str(shots / "notes.png"): "unreadable"}
    assert [r["name"] for r in result["per_image"]] == _views(shots)
    assert result["lens_file"] is None


def test_human_report_lists_each_image_the_rejected_and_the_total(shots: Path) -> None:
    status, out, _ = _run(str(shots), *BOARD_ARGS, "--sensor-width-mm", "36")  # a folder: its images
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["image", "corners", "RMS", "px"]
    for view in _views(shots):
        (row,) = [line for line in lines if line.startswith(view)]
        name, corners, rms = row.split()
        assert name == view and corners == "54" and 0 < float(rms) < 0.2
    assert "rejected (2):" in lines
    blank_reason = "board not found (looked for a checkerboard with 9x6 inner corners)"
    assert f"  {shots / 'blank.png'}: {blank_reason}" in lines
    assert f"  {shots / 'notes.png'}: unreadable: not an image format OpenCV can decode" in lines
    (total,) = [line for line in lines if line.startswith("total RMS ")]
    assert total.endswith(f"px from {VIEWS} of {VIEWS + 2} images")
    (focal,) = [line for line in lines if line.startswith("focal length ")]
    assert float(focal.split()[2]) == pytest.approx(TRUE_FOCAL_MM, rel=0.005)


def _zoom_lens(path: Path) -> None:
    """A lens file with zoom encoder counts 0..1000 and focal lengths 20..60 mm at its two grid lines."""
    from lens.lensfile import EncoderMap

    lens = LensFile(identity=LensIdentity("test optics", "Zoom 20-60", "T-1"),
                    sensor=SensorSize(36.0, 20.25, 1920, 1080), grid_zoom=(0.0, 1.0), grid_focus=(0.0,),
                    tables={"focal_length_mm": ((20.0,), (60.0,))},
                    encoders={"zoom": EncoderMap((0, 1000), (0.0, 1.0))})
    save_lens_file(lens, path)


def test_output_adds_the_point_to_the_lens_file(shots: Path, tmp_path: Path) -> None:
    lens_path = tmp_path / "zoom.json"
    _zoom_lens(lens_path)
    status, out, err = _run(*_views(shots), *BOARD_ARGS, "--zoom", "500", "-o", str(lens_path), "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["lens_file"] == str(lens_path) and result["sensor_width_mm"] == 36.0
    lens = load_lens_file(lens_path)
    (point,) = lens.calibrations
    assert (point.zoom_raw, point.focus_raw) == (500, 0)  # focus: the file has no focus encoder
    assert (point.fx_px, point.k1, point.rms_px) == (result["fx_px"], result["k1"], result["rms_px"])
    assert (point.image_width_px, point.image_height_px, point.images_used) == (960, 540, VIEWS)
    assert lens.grid_zoom == (0.0, 0.5, 1.0)
    assert lens.tables["focal_length_mm"][1][0] == pytest.approx(result["focal_length_mm"])


@pytest.mark.parametrize(("extra", "message"), [
    ([], "-o needs --zoom RAW"),
    (["--zoom", "500", "--sensor-width-mm", "24"], "--sensor-width-mm 24 differs from the sensor width"),
])
def test_output_refuses_a_point_it_cannot_place(shots: Path, tmp_path: Path, extra: list[str],
                                                message: str) -> None:
    lens_path = tmp_path / "zoom.json"
    _zoom_lens(lens_path)
    before = lens_path.read_text()
    status, out, err = _run(*_views(shots), *BOARD_ARGS, "-o", str(lens_path), *extra)
    assert (status, out) == (2, "")
    assert message in err
    assert lens_path.read_text() == before


def test_too_few_usable_images_exits_1_with_the_reasons(shots: Path) -> None:
    status, out, err = _run(*_views(shots)[:2], str(shots / "blank.png"), *BOARD_ARGS,
                            "--sensor-width-mm", "36")
    assert (status, out) == (1, "")
    assert "need at least 5 usable images, got 2" in err and "blank.png: board not found" in err


def test_sensor_width_is_needed_without_a_lens_file(shots: Path) -> None:
    status, _, err = _run(*_views(shots), *BOARD_ARGS)
    assert status == 2 and "--sensor-width-mm is required" in err


@pytest.mark.parametrize("corners", ["9by6", "9x", "1x6", "x6"])
def test_inner_corners_must_be_cols_x_rows(corners: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["lens", "calibrate", "a.png", "--board", "checkerboard", "--inner-corners",
                                   corners, "--square-mm", "30"])
    assert exit_info.value.code == 2
    assert "--inner-corners" in capsys.readouterr().err


def test_a_charuco_board_with_a_bad_dictionary_is_a_usage_error(shots: Path) -> None:
    status, _, err = _run(*_views(shots), "--board", "charuco", "--inner-corners", "9x6", "--square-mm", "30",
                          "--dictionary", "DICT_NOPE", "--sensor-width-mm", "36")
    assert status == 2 and "unknown ArUco dictionary 'DICT_NOPE'" in err


def test_the_stagectl_entry_point_runs_it(shots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lens", "calibrate", *_views(shots), *BOARD_ARGS, "--sensor-width-mm", "36", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images_used"] == VIEWS


def test_output_creates_a_lens_file_that_does_not_exist_yet(shots: Path, tmp_path: Path) -> None:
    lens_path = tmp_path / "new lens.json"
    status, out, err = _run(*_views(shots), *BOARD_ARGS, "--sensor-width-mm", "36", "--zoom", "500",
                            "-o", str(lens_path), "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["lens_file"] == str(lens_path)
    assert (f"stagectl lens calibrate: created {lens_path}: make 'unknown', model 'new lens', serial "
            "'unknown', sensor 36 x 20.25 mm, 960 x 540 px; encoders zoom raw 0..65535 -> 0..1 (make, "
            "model, serial, encoders: defaults; edit the file to match the lens)") in err.splitlines()
    lens = load_lens_file(lens_path)
    (point,) = lens.calibrations
    assert (point.zoom_raw, point.focus_raw) == (500, 0)
    assert set(lens.encoders) == {"zoom"} and lens.grid_zoom == (500 / 65535,) and lens.grid_focus == (0.0,)
    assert lens.tables["focal_length_mm"] == ((pytest.approx(result["focal_length_mm"]),),)
    assert lens.tables["k1"] == ((result["k1"],),)


def test_a_new_lens_file_takes_its_identity_from_the_options(shots: Path, tmp_path: Path) -> None:
    lens_path = tmp_path / "prime.json"
    args = build_parser().parse_args(["lens", "calibrate", *_views(shots), *BOARD_ARGS, "--sensor-width-mm",
                                      "36", "-o", str(lens_path)])
    args.make, args.model, args.serial = "Cooke", "S4/i 32mm", "CK-32-0007"
    out, err = io.StringIO(), io.StringIO()
    assert run_lens_calibrate(args, out, err) == 0, err.getvalue()
    lens = load_lens_file(lens_path)
    assert lens.identity == LensIdentity("Cooke", "S4/i 32mm", "CK-32-0007") and lens.encoders == {}
    assert "created" in err.getvalue() and "defaults" not in err.getvalue()
    assert f"added to {lens_path} at raw zoom 0, focus 0" in out.getvalue()


def test_a_new_lens_file_needs_the_sensor_width_and_is_not_created_without(shots: Path,
                                                                           tmp_path: Path) -> None:
    lens_path = tmp_path / "new.json"
    status, out, err = _run(*_views(shots), *BOARD_ARGS, "-o", str(lens_path))
    assert (status, out) == (2, "")
    assert f"--sensor-width-mm is required: {lens_path} does not exist yet" in err
    assert not lens_path.exists()
