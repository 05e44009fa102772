"""Lens calibration from photographs of a checkerboard or ChArUco board (OpenCV; no Qt).

:func:`calibrate` finds the board in each image, rejects the images it cannot use (each with
its reason), solves intrinsics and the 5-coefficient Brown-Conrady distortion (k1, k2, p1, p2,
k3; OpenCV's convention) with ``cv2.calibrateCamera`` and reports the reprojection error per
image and in total.

Threads: it runs on whatever thread calls it and touches no shared state, so a UI can run it in
a worker. ``progress`` is called on that same thread (a UI hops to its GUI thread itself);
``cancel`` is checked before every image and before the solve, so a cancel lands within one
image's detection (the solve itself cannot be interrupted; it takes well under a second).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from stagectl.core.errors import StageError

BoardKind = Literal["checkerboard", "charuco"]
Progress = Callable[[int, int, str], None]

#: Fewest usable images :func:`calibrate` accepts; a 5-coefficient fit wants more (10-20 is usual).
MIN_IMAGES = 5
#: A ChArUco view with fewer interpolated corners than this is rejected (too little to constrain a pose).
MIN_CHARUCO_CORNERS = 8
#: After a solve the worst image is left out (and the rest re-solved) while its RMS exceeds both
#: this and 3x the median, up to a third of the images.
OUTLIER_FLOOR_PX = 1.0
OUTLIER_FACTOR = 3.0
DEFAULT_DICTIONARY = "DICT_5X5_100"
#: ChArUco marker side as a fraction of the square when ``marker_mm`` is not given.
DEFAULT_MARKER_RATIO = 0.75

_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 0.001)
_SOLVE_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-12)


class CalibrationError(StageError):
    """Calibration could not run or produced nothing usable; the message says why and what to do."""


class CalibrationCancelled(CalibrationError):
    """``cancel`` was set while :func:`calibrate` was running."""


@dataclass(frozen=True)
class BoardSpec:
    """The printed board: ``inner_corners`` is (cols, rows) of inner chessboard corners.

    A ChArUco board with ``inner_corners`` (9, 6) has 10 x 7 squares; ``marker_mm`` defaults to
    ``DEFAULT_MARKER_RATIO`` of the square and ``dictionary`` names a ``cv2.aruco`` dictionary.
    """

    kind: BoardKind
    inner_corners: tuple[int, int]
    square_mm: float
    marker_mm: float | None = None
    dictionary: str = DEFAULT_DICTIONARY

    def __post_init__(self) -> None:
        if self.kind not in ("checkerboard", "charuco"):
            raise CalibrationError(f"board kind {self.kind!r}: use 'checkerboard' or 'charuco'")
        cols, rows = self.inner_corners
        if cols < 2 or rows < 2:
            raise CalibrationError(f"inner corners {cols}x{rows}: need at least 2x2")
        if not 0 < self.square_mm < float("inf"):
            raise CalibrationError(f"square size {self.square_mm} mm: must be a positive number")
        if self.kind == "charuco":
            if not 0 < self.marker_side_mm < self.square_mm:
                raise CalibrationError(f"marker size {self.marker_side_mm} mm: must be positive and "
                                       f"smaller than the square ({self.square_mm} mm)")
            if not hasattr(cv2.aruco, self.dictionary) or not self.dictionary.startswith("DICT_"):
                raise CalibrationError(f"unknown ArUco dictionary {self.dictionary!r} "
                                       "(e.g. DICT_4X4_50, DICT_5X5_100, DICT_6X6_250)")

    @property
    def marker_side_mm(self) -> float:
        """The ChArUco marker side in mm (given, or the default fraction of the square)."""
        return self.marker_mm if self.marker_mm is not None else self.square_mm * DEFAULT_MARKER_RATIO

    @property
    def corner_count(self) -> int:
        """Number of inner corners."""
        return self.inner_corners[0] * self.inner_corners[1]

    def describe(self) -> str:
        """``checkerboard 9x6, 30 mm squares`` and the like, for messages."""
        cols, rows = self.inner_corners
        text = f"{self.kind} {cols}x{rows} inner corners, {self.square_mm:g} mm squares"
        if self.kind == "charuco":
            text += f", {self.marker_side_mm:g} mm {self.dictionary} markers"
        return text

    def checkerboard_points(self) -> NDArray[np.float32]:
        """Inner corners in mm in the order ``findChessboardCorners`` returns them, (N, 3)."""
        cols, rows = self.inner_corners
        grid = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2).astype(np.float32) * np.float32(self.square_mm)
        return np.hstack([grid, np.zeros((len(grid), 1), np.float32)])

    def charuco_board(self) -> cv2.aruco.CharucoBoard:
        """The OpenCV ChArUco board (origin at the outer top-left corner, as OpenCV draws it)."""
        cols, rows = self.inner_corners
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        markers, available = ((cols + 1) * (rows + 1)) // 2, len(dictionary.bytesList)
        if markers > available:
            raise CalibrationError(f"{self.describe()}: the board needs {markers} markers, {self.dictionary} "
                                   f"has only {available}; choose a larger dictionary")
        try:
            return cv2.aruco.CharucoBoard((cols + 1, rows + 1), self.square_mm, self.marker_side_mm,
                                          dictionary)
        except cv2.error as exc:
            raise CalibrationError(f"{self.describe()}: OpenCV cannot build this board: {exc.err}") from None


@dataclass(frozen=True)
class ImageResidual:
    """One used image: its name, RMS reprojection error in px and how many corners it gave."""

    name: str
    rms_px: float
    corners: int


@dataclass(frozen=True)
class RejectedImage:
    """One image left out, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class CalibrationResult:
    """Intrinsics (px) and OpenCV 5-coefficient distortion of one zoom/focus point."""

    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    k1: float
    k2: float
    p1: float
    p2: float
    k3: float
    rms_px: float
    focal_length_mm: float
    sensor_width_mm: float
    image_width_px: int
    image_height_px: int
    images_used: int
    per_image: tuple[ImageResidual, ...]
    rejected: tuple[RejectedImage, ...]

    def camera_matrix(self) -> NDArray[np.float64]:
        """The 3x3 OpenCV camera matrix."""
        return np.array([[self.fx_px, 0.0, self.cx_px], [0.0, self.fy_px, self.cy_px], [0.0, 0.0, 1.0]])

    def dist_coeffs(self) -> NDArray[np.float64]:
        """``(k1, k2, p1, p2, k3)`` in OpenCV's order."""
        return np.array([self.k1, self.k2, self.p1, self.p2, self.k3])


@dataclass
class _View:
    name: str
    size: tuple[int, int]  # (width, height)
    object_points: NDArray[np.float32]  # (N, 1, 3) mm
    image_points: NDArray[np.float32]  # (N, 1, 2) px


ImageSource = Path | NDArray[np.generic]


def _image_name(source: ImageSource, index: int) -> str:
    return str(source) if isinstance(source, Path | str) else f"image {index + 1}"


def _load_gray(source: ImageSource) -> NDArray[np.uint8]:
    """8-bit grey pixels of a file or array; ValueError with the reason if there are none."""
    if isinstance(source, Path | str):
        source = Path(source)
        if not source.is_file():
            raise ValueError("file not found")
        try:
            data = np.fromfile(source, dtype=np.uint8)  # not imread: it fails on non-ASCII paths on Windows
        except OSError as exc:
            raise ValueError(f"cannot read the file: {exc.strerror}") from None
        decoded = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
        if decoded is None:
            raise ValueError("unreadable: not an image format OpenCV can decode")
        return np.asarray(decoded, dtype=np.uint8)
    raw = np.asarray(source)
    if raw.dtype == np.uint16:
        array: NDArray[np.uint8] = (raw.astype(np.uint16) >> 8).astype(np.uint8)
    elif raw.dtype == np.uint8:
        array = raw.astype(np.uint8, copy=False)
    else:
        raise ValueError(f"pixel type {raw.dtype} is not supported (want 8- or 16-bit)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    elif array.ndim == 3 and array.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if array.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        array = np.asarray(cv2.cvtColor(array, code), dtype=np.uint8)
    if array.ndim != 2 or min(array.shape) < 16:
        raise ValueError(f"array of shape {array.shape} is not an image")
    return np.ascontiguousarray(array)


def _subpix_half_window(corners: NDArray[np.float32], cols: int) -> int:
    """Half-size of the cornerSubPix window: up to 11 px, but under half the corner spacing
    (a window reaching the next corner pulls the estimate towards it)."""
    grid = corners.reshape(-1, cols, 2)
    spacing = min(float(np.min(np.linalg.norm(np.diff(grid, axis=1), axis=2))),
                  float(np.min(np.linalg.norm(np.diff(grid, axis=0), axis=2))) if grid.shape[0] > 1 else 1e9)
    return int(max(2, min(11, spacing * 0.4)))


def _detect_checkerboard(gray: NDArray[np.uint8], board: BoardSpec) -> tuple[NDArray[np.float32],
                                                                              NDArray[np.float32]]:
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
    found, corners = cv2.findChessboardCorners(gray, board.inner_corners, flags=flags)
    if not found or corners is None:
        cols, rows = board.inner_corners
        raise ValueError(f"board not found (looked for a checkerboard with {cols}x{rows} inner corners)")
    found_corners = np.asarray(corners, dtype=np.float32)
    half = _subpix_half_window(found_corners, board.inner_corners[0])
    refined = cv2.cornerSubPix(gray, found_corners, (half, half), (-1, -1), _SUBPIX_CRITERIA)
    return board.checkerboard_points().reshape(-1, 1, 3), np.asarray(refined, np.float32).reshape(-1, 1, 2)


def _detect_charuco(gray: NDArray[np.uint8], detector: cv2.aruco.CharucoDetector,
                    charuco: cv2.aruco.CharucoBoard) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    corners, ids, _marker_corners, marker_ids = detector.detectBoard(gray)
    if marker_ids is None or len(marker_ids) == 0:
        raise ValueError("board not found (no ArUco markers of this dictionary)")
    count = 0 if ids is None else len(ids)
    if count < MIN_CHARUCO_CORNERS:
        raise ValueError(f"too few corners: {count} ChArUco corners found, need {MIN_CHARUCO_CORNERS}")
    board_corners = np.asarray(charuco.getChessboardCorners(), np.float32).reshape(-1, 3)
    obj = board_corners[np.asarray(ids).ravel()].reshape(-1, 1, 3)
    spread = np.linalg.svd(obj[:, 0, :2] - obj[:, 0, :2].mean(axis=0), compute_uv=False)
    if spread[1] < 1e-3 * spread[0]:
        raise ValueError(f"the {count} corners found lie on one line; show more of the board")
    return obj, np.asarray(corners, np.float32).reshape(-1, 1, 2)


def _detect_all(images: Sequence[ImageSource], board: BoardSpec, progress: Progress | None,
                cancel: threading.Event | None, total: int) -> tuple[list[_View], list[RejectedImage]]:
    views: list[_View] = []
    rejected: list[RejectedImage] = []
    charuco = board.charuco_board() if board.kind == "charuco" else None
    detector = cv2.aruco.CharucoDetector(charuco) if charuco is not None else None
    for index, source in enumerate(images):
        if cancel is not None and cancel.is_set():
            raise CalibrationCancelled(f"calibration cancelled after {index} of {len(images)} images")
        name = _image_name(source, index)
        try:
            gray = _load_gray(source)
            if detector is not None and charuco is not None:
                obj, img = _detect_charuco(gray, detector, charuco)
            else:
                obj, img = _detect_checkerboard(gray, board)
        except (ValueError, cv2.error) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else f"OpenCV failed on it: {exc.err}"
            rejected.append(RejectedImage(name, reason))
            message = f"{name}: rejected: {reason}"
        else:
            views.append(_View(name, (gray.shape[1], gray.shape[0]), obj, img))
            message = f"{name}: {len(obj)} corners"
        if progress is not None:
            progress(index + 1, total, message)
    return views, rejected


def _keep_one_size(views: list[_View], rejected: list[RejectedImage]) -> list[_View]:
    """Intrinsics belong to one image size: keep the most common one (the first seen on a tie)."""
    counts = Counter(view.size for view in views)
    if len(counts) <= 1:
        return views
    size = max(counts, key=counts.__getitem__)  # Counter keeps first-seen order; max keeps the first
    for view in views:
        if view.size != size:
            rejected.append(RejectedImage(view.name, f"different image size: {view.size[0]}x{view.size[1]}, "
                                                     f"the others are {size[0]}x{size[1]}"))
    return [view for view in views if view.size == size]


def _solve(views: list[_View]) -> tuple[NDArray[np.float64], NDArray[np.float64], list[float]]:
    """Camera matrix, (k1, k2, p1, p2, k3) and each view's RMS reprojection error in px."""
    width, height = views[0].size
    try:
        _rms, matrix, dist, rvecs, tvecs = cv2.calibrateCamera(
            [v.object_points for v in views], [v.image_points for v in views], (width, height),
            None, None, flags=0, criteria=_SOLVE_CRITERIA)
    except cv2.error as exc:
        raise CalibrationError(f"OpenCV could not calibrate from {len(views)} images: {exc.err}; "
                               "use views with the board tilted in different directions") from None
    camera = np.asarray(matrix, np.float64)
    coefficients = np.asarray(dist, np.float64).ravel()[:5]
    errors = []
    for view, rvec, tvec in zip(views, rvecs, tvecs, strict=True):
        projected, _ = cv2.projectPoints(view.object_points, rvec, tvec, camera, coefficients)
        residual = np.asarray(projected).reshape(-1, 2) - view.image_points.reshape(-1, 2)
        errors.append(float(np.sqrt(np.mean(np.sum(residual ** 2, axis=1)))))
    if not np.all(np.isfinite(camera)) or not np.all(np.isfinite(coefficients)) or not np.all(
            np.isfinite(errors)):
        raise CalibrationError("the calibration did not converge (non-finite result); "
                               "use sharper images with the board in more varied poses")
    return camera, coefficients, errors


def _total_rms(views: list[_View], errors: list[float]) -> float:
    counts = np.array([len(v.object_points) for v in views], dtype=np.float64)
    return float(np.sqrt(np.sum(counts * np.square(errors)) / np.sum(counts)))


def _too_few(used: int, rejected: list[RejectedImage], min_images: int) -> CalibrationError:
    reasons = "".join(f"\n  {r.name}: {r.reason}" for r in rejected)
    return CalibrationError(f"need at least {min_images} usable images, got {used}"
                            + (f"; rejected:{reasons}" if rejected else ""))


def calibrate(images: Sequence[Path | NDArray[np.generic]], board: BoardSpec, sensor_width_mm: float, *,
              progress: Progress | None = None, cancel: threading.Event | None = None,
              min_images: int = MIN_IMAGES) -> CalibrationResult:
    """Calibrate one lens setting from ``images`` (files or grey/BGR arrays) of ``board``.

    ``progress(done, total, message)`` is called after each image (``total`` is the number of
    images plus one for the solve) and once more before and after the solve. Raises
    :class:`CalibrationCancelled` if ``cancel`` is set, :class:`CalibrationError` if fewer than
    ``min_images`` images are usable (the message lists every rejection) or the solve fails.
    """
    if not 0 < sensor_width_mm < float("inf"):
        raise CalibrationError(f"sensor width {sensor_width_mm} mm: must be a positive number")
    total = len(images) + 1
    views, rejected = _detect_all(images, board, progress, cancel, total)
    views = _keep_one_size(views, rejected)
    if len(views) < min_images:
        raise _too_few(len(views), rejected, min_images)
    if cancel is not None and cancel.is_set():
        raise CalibrationCancelled("calibration cancelled before the solve")
    if progress is not None:
        progress(len(images), total, f"solving from {len(views)} images")
    matrix, dist, errors = _solve(views)
    # One bad view drags the solve and inflates its neighbours' errors too: drop the worst, re-solve, repeat.
    for _ in range(len(views) // 3):
        worst = int(np.argmax(errors))
        median = float(np.median(errors))
        if errors[worst] <= max(OUTLIER_FLOOR_PX, OUTLIER_FACTOR * median) or len(views) <= min_images:
            break
        rejected.append(RejectedImage(views[worst].name, f"reprojection error {errors[worst]:.2f} px is over "
                                                         f"{OUTLIER_FACTOR:g}x the median ({median:.2f} px)"))
        views = views[:worst] + views[worst + 1:]
        if cancel is not None and cancel.is_set():
            raise CalibrationCancelled("calibration cancelled while leaving out a poor image")
        matrix, dist, errors = _solve(views)
    width, height = views[0].size
    rms = _total_rms(views, errors)
    if progress is not None:
        progress(total, total, f"calibrated from {len(views)} images, RMS {rms:.3f} px")
    fx = float(matrix[0, 0])
    return CalibrationResult(
        fx_px=fx, fy_px=float(matrix[1, 1]), cx_px=float(matrix[0, 2]), cy_px=float(matrix[1, 2]),
        k1=float(dist[0]), k2=float(dist[1]), p1=float(dist[2]), p2=float(dist[3]), k3=float(dist[4]),
        rms_px=rms, focal_length_mm=fx * sensor_width_mm / width, sensor_width_mm=sensor_width_mm,
        image_width_px=width, image_height_px=height, images_used=len(views),
        per_image=tuple(ImageResidual(v.name, e, len(v.object_points)) for v, e in zip(views, errors,
                                                                                       strict=True)),
        rejected=tuple(rejected))
