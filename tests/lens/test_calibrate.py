"""lens.calibrate against boards rendered through a known camera (lens.synthetic)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from lens.calibrate import (
    MIN_IMAGES,
    BoardSpec,
    CalibrationCancelled,
    CalibrationError,
    CalibrationResult,
    calibrate,
)
from lens.synthetic import CameraModel, orbit_poses, pixel_rays, project_corners, render_board

SENSOR_WIDTH_MM = 36.0
#: A reference camera (1920x1080, fx = fy = 1800 px, principal point a little off centre) rendered
#: at half size for speed: distortion coefficients are unit-free, so they carry over unchanged.
FULL_HD = CameraModel(1920, 1080, 1800.0, 1800.0, 975.0, 530.0, k1=-0.12, k2=0.05, p1=0.0008, p2=-0.0005)
CAMERA = FULL_HD.scaled(0.5)
CHECKERBOARD = BoardSpec("checkerboard", (9, 6), 30.0)
CHARUCO = BoardSpec("charuco", (9, 6), 30.0, 22.0, "DICT_5X5_100")
VIEWS = 14

Images = list[NDArray[np.uint8]]


def _render(board: BoardSpec, camera: CameraModel = CAMERA, count: int = VIEWS) -> Images:
    poses = orbit_poses(board, camera, count)
    return [render_board(board, camera, pose, seed=i) for i, pose in enumerate(poses)]


@pytest.fixture(scope="module")
def checkerboard_images() -> Images:
    return _render(CHECKERBOARD)


def _assert_recovers(result: CalibrationResult, camera: CameraModel) -> None:
    true_focal_mm = camera.fx_px * SENSOR_WIDTH_MM / camera.width_px
    assert result.focal_length_mm == pytest.approx(true_focal_mm, rel=0.005)
    assert result.k1 == pytest.approx(camera.k1, abs=0.02)
    assert result.fy_px == pytest.approx(camera.fy_px, rel=0.005)
    assert (result.cx_px, result.cy_px) == pytest.approx((camera.cx_px, camera.cy_px), abs=3.0)
    assert (result.image_width_px, result.image_height_px) == (camera.width_px, camera.height_px)


def test_the_renderer_puts_the_corners_where_the_camera_model_says(checkerboard_images: Images) -> None:
    x, y = pixel_rays(CAMERA)  # inverse distortion, checked by projecting forward again
    rays = np.stack([x.ravel()[::97], y.ravel()[::97], np.ones(x.size)[::97]], axis=1)
    back, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), CAMERA.camera_matrix(), CAMERA.dist_coeffs())
    u, v = np.meshgrid(np.arange(CAMERA.width_px), np.arange(CAMERA.height_px))
    expected = np.stack([u.ravel()[::97], v.ravel()[::97]], axis=1)
    assert np.max(np.abs(back.reshape(-1, 2) - expected)) < 1e-6
    pose = orbit_poses(CHECKERBOARD, CAMERA, VIEWS)[3]
    found, corners = cv2.findChessboardCorners(checkerboard_images[3], CHECKERBOARD.inner_corners)
    assert found
    refined = cv2.cornerSubPix(checkerboard_images[3], corners, (5, 5), (-1, -1),
                               (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 0.001))
    error = np.linalg.norm(refined.reshape(-1, 2) - project_corners(CHECKERBOARD, CAMERA, pose), axis=1)
    assert np.mean(error) < 0.15


def test_checkerboard_recovers_the_known_camera(checkerboard_images: Images) -> None:
    result = calibrate(checkerboard_images, CHECKERBOARD, SENSOR_WIDTH_MM)
    _assert_recovers(result, CAMERA)
    assert result.images_used == VIEWS and result.rejected == ()
    assert [row.name for row in result.per_image] == [f"image {i + 1}" for i in range(VIEWS)]
    assert all(row.corners == 54 and 0 < row.rms_px < 0.2 for row in result.per_image)
    assert 0 < result.rms_px < 0.2
    assert result.rms_px == pytest.approx(np.sqrt(np.mean([r.rms_px ** 2 for r in result.per_image])))


def test_charuco_recovers_the_known_camera() -> None:
    result = calibrate(_render(CHARUCO), CHARUCO, SENSOR_WIDTH_MM)
    _assert_recovers(result, CAMERA)
    assert result.images_used == VIEWS and result.rejected == ()
    assert result.rms_px < 0.3


def test_unusable_images_are_listed_with_their_reasons(checkerboard_images: Images, tmp_path: Path) -> None:
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a PNG")
    blank = np.full((CAMERA.height_px, CAMERA.width_px), 128, np.uint8)
    half = CAMERA.scaled(0.5)
    small = render_board(CHECKERBOARD, half, orbit_poses(CHECKERBOARD, half, 1)[0])
    missing = tmp_path / "missing.png"
    images: list[Path | NDArray[np.generic]] = [*checkerboard_images[:6], blank, not_an_image, missing, small,
                                                np.zeros((540, 960), np.float32)]
    result = calibrate(images, CHECKERBOARD, SENSOR_WIDTH_MM)
    reasons = {r.name: r.reason for r in result.rejected}
    assert set(reasons) == {"image 7", str(not_an_image), str(missing), "image 10", "image 11"}
    assert reasons["image 7"].startswith("board not found")
    assert reasons[str(not_an_image)].startswith("unreadable")
    assert reasons[str(missing)] == "file not found"
    assert reasons["image 10"].startswith("different image size: 480x270")
    assert "float32" in reasons["image 11"]
    assert result.images_used == 6


def test_too_few_usable_images_is_an_error_naming_each_rejection(checkerboard_images: Images) -> None:
    blank = np.zeros((CAMERA.height_px, CAMERA.width_px), np.uint8)
    with pytest.raises(CalibrationError, match=f"need at least {MIN_IMAGES} usable images, got 2") as caught:
        calibrate([*checkerboard_images[:2], blank], CHECKERBOARD, SENSOR_WIDTH_MM)
    assert "image 3: board not found" in str(caught.value)


def test_an_image_of_another_lens_is_left_out_after_the_first_solve(checkerboard_images: Images) -> None:
    other = CameraModel(960, 540, 700.0, 700.0, 480.0, 270.0, k1=0.25)  # strong pincushion
    stray = render_board(CHECKERBOARD, other, orbit_poses(CHECKERBOARD, other, 2)[1])
    result = calibrate([*checkerboard_images[:8], stray], CHECKERBOARD, SENSOR_WIDTH_MM)
    ((name, reason),) = [(r.name, r.reason) for r in result.rejected]
    assert name == "image 9" and "over 3x the median" in reason
    assert result.images_used == 8
    _assert_recovers(result, CAMERA)


def test_progress_is_reported_per_image_then_for_the_solve(checkerboard_images: Images) -> None:
    calls: list[tuple[int, int, str]] = []
    images = [*checkerboard_images[:6], np.zeros((CAMERA.height_px, CAMERA.width_px), np.uint8)]
    calibrate(images, CHECKERBOARD, SENSOR_WIDTH_MM, progress=lambda *call: calls.append(call))
    total = len(images) + 1
    assert [(done, t) for done, t, _ in calls] == [(i, total) for i in range(1, total)] + [(7, 8), (8, 8)]
    assert calls[0][2] == "image 1: 54 corners"
    assert calls[6][2].startswith("image 7: rejected: board not found")
    assert calls[-2][2] == "solving from 6 images"
    assert calls[-1][2].startswith("calibrated from 6 images, RMS ")


def test_cancel_stops_before_the_next_image(checkerboard_images: Images) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int, message: str) -> None:
        seen.append(done)
        if done == 2:
            cancel.set()

    with pytest.raises(CalibrationCancelled, match="after 2 of 14 images"):
        calibrate(checkerboard_images, CHECKERBOARD, SENSOR_WIDTH_MM, progress=progress, cancel=cancel)
    assert seen == [1, 2]


def test_a_worker_thread_can_be_cancelled_promptly(checkerboard_images: Images) -> None:
    images = checkerboard_images * 40  # over a second of detection if it ran to the end
    cancel, started = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            calibrate(images, CHECKERBOARD, SENSOR_WIDTH_MM, progress=lambda *_: started.set(), cancel=cancel)
        except CalibrationError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work, name="calibration-test")
    worker.start()
    assert started.wait(10.0)
    cancelled_at = time.monotonic()
    cancel.set()
    worker.join(5.0)
    assert not worker.is_alive()
    assert time.monotonic() - cancelled_at < 2.0  # one image's work, not the rest (room for a busy machine)
    assert len(outcome) == 1 and isinstance(outcome[0], CalibrationCancelled)


def test_colour_and_16_bit_images_are_used_as_grey(checkerboard_images: Images) -> None:
    grey = checkerboard_images[:MIN_IMAGES]
    colour = cv2.cvtColor(grey[0], cv2.COLOR_GRAY2BGR)
    deep = grey[1].astype(np.uint16) * 257
    images: list[Path | NDArray[np.generic]] = [colour, deep, grey[2][:, :, None], *grey[3:]]
    result = calibrate(images, CHECKERBOARD, SENSOR_WIDTH_MM)
    assert result.images_used == MIN_IMAGES and result.rejected == ()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "square"}, "board kind 'square'"),
    ({"inner_corners": (1, 6)}, "at least 2x2"),
    ({"square_mm": 0.0}, "square size 0.0 mm"),
    ({"kind": "charuco", "marker_mm": 30.0}, "smaller than the square"),
    ({"kind": "charuco", "dictionary": "DICT_9X9_1"}, "unknown ArUco dictionary 'DICT_9X9_1'"),
])
def test_a_bad_board_says_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    spec: dict[str, object] = {"kind": "checkerboard", "inner_corners": (9, 6), "square_mm": 30.0, **kwargs}
    with pytest.raises(CalibrationError, match=message):
        BoardSpec(**spec)  # type: ignore[arg-type]


def test_a_dictionary_too_small_for_the_board_is_reported() -> None:
    with pytest.raises(CalibrationError, match="needs 220 markers, DICT_4X4_50 has only 50"):
        BoardSpec("charuco", (20, 20), 10.0, dictionary="DICT_4X4_50").charuco_board()


def test_a_bad_sensor_width_is_refused(checkerboard_images: Images) -> None:
    with pytest.raises(CalibrationError, match="sensor width"):
        calibrate(checkerboard_images, CHECKERBOARD, 0.0)
