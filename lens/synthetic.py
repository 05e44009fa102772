"""Synthetic calibration images: a board rendered through a known camera (tests and demos).

The camera is a pinhole with OpenCV's 5-coefficient Brown-Conrady distortion. Each output
pixel is mapped back through the distortion (``cv2.undistortPoints``, iterated to 1e-12) onto
the board plane, and the board is box-filtered analytically over the pixel's footprint there,
so edges are anti-aliased without supersampling and the corners are not biased. ChArUco
markers are sampled from a texture (2x2 samples per pixel); only the chessboard corners are
measured, so they need no better.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from lens.calibrate import BoardSpec

FloatArray = NDArray[np.float64]

#: Grey levels: printed paper, ink, and the studio behind the board.
PAPER, INK, BACKGROUND = 235.0, 20.0, 110.0
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-12)
_TEXELS_PER_BIT = 8


@dataclass(frozen=True)
class CameraModel:
    """A known camera: image size, intrinsics in px and OpenCV distortion (k1, k2, p1, p2, k3)."""

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    k1: float = 0.0
    k2: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    k3: float = 0.0

    def camera_matrix(self) -> FloatArray:
        """The 3x3 OpenCV camera matrix."""
        return np.array([[self.fx_px, 0.0, self.cx_px], [0.0, self.fy_px, self.cy_px], [0.0, 0.0, 1.0]])

    def dist_coeffs(self) -> FloatArray:
        """``(k1, k2, p1, p2, k3)``."""
        return np.array([self.k1, self.k2, self.p1, self.p2, self.k3])

    def scaled(self, factor: float) -> CameraModel:
        """The same lens imaged at ``factor`` times the resolution (distortion is unit-free)."""
        return replace(self, width_px=round(self.width_px * factor), height_px=round(self.height_px * factor),
                       fx_px=self.fx_px * factor, fy_px=self.fy_px * factor,
                       cx_px=(self.cx_px + 0.5) * factor - 0.5, cy_px=(self.cy_px + 0.5) * factor - 0.5)


@dataclass(frozen=True)
class BoardPose:
    """Board-to-camera pose: Rodrigues rotation vector (rad) and translation (mm), as OpenCV's."""

    rvec: tuple[float, float, float]
    tvec_mm: tuple[float, float, float]


@dataclass(frozen=True)
class _Layout:
    """Where the board's parts are, in its own frame (mm; the frame OpenCV's object points use)."""

    pattern: tuple[float, float, float, float]  # x0, y0, x1, y1 of the squares
    paper: tuple[float, float, float, float]  # the white sheet around them
    even_is_white: bool  # square (i, j) = floor(x / s), floor(y / s) is white when i + j is even


def _layout(board: BoardSpec) -> _Layout:
    cols, rows = board.inner_corners
    s = board.square_mm
    if board.kind == "checkerboard":
        # Inner corner (0, 0) is the origin; a square of quiet zone all round, as printed boards have.
        return _Layout((-s, -s, cols * s, rows * s), (-2 * s, -2 * s, (cols + 1) * s, (rows + 1) * s), False)
    marker = np.asarray(board.charuco_board().getObjPoints()[0]).reshape(-1, 3)
    centre = marker[:, :2].mean(axis=0)
    i, j = (math.floor(float(c) / s) for c in centre)
    width, height = (cols + 1) * s, (rows + 1) * s
    return _Layout((0.0, 0.0, width, height), (-s, -s, width + s, height + s), (i + j) % 2 == 0)


def board_points(board: BoardSpec) -> NDArray[np.float32]:
    """The board's corners in its own frame, (N, 3) mm, in the order detection reports them."""
    if board.kind == "checkerboard":
        return board.checkerboard_points()
    return np.asarray(board.charuco_board().getChessboardCorners(), np.float32).reshape(-1, 3)


def project_corners(board: BoardSpec, camera: CameraModel, pose: BoardPose) -> NDArray[np.float64]:
    """Where the board's corners land in the image (with distortion), (N, 2) px."""
    points, _ = cv2.projectPoints(board_points(board).astype(np.float64), np.array(pose.rvec),
                                  np.array(pose.tvec_mm), camera.camera_matrix(), camera.dist_coeffs())
    return np.asarray(points, np.float64).reshape(-1, 2)


@functools.lru_cache(maxsize=4)
def pixel_rays(camera: CameraModel) -> tuple[FloatArray, FloatArray]:
    """Undistorted normalised coordinates (x/z, y/z) of every pixel centre, each (height, width)."""
    u, v = np.meshgrid(np.arange(camera.width_px, dtype=np.float64), np.arange(camera.height_px,
                                                                               dtype=np.float64))
    pixels = np.stack([u.ravel(), v.ravel()], axis=1).reshape(-1, 1, 2)
    rays = cv2.undistortPoints(pixels, camera.camera_matrix(), camera.dist_coeffs(),
                               criteria=_UNDISTORT_CRITERIA)
    rays = np.asarray(rays, np.float64).reshape(camera.height_px, camera.width_px, 2)
    x, y = np.ascontiguousarray(rays[..., 0]), np.ascontiguousarray(rays[..., 1])
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _box_interval(x: FloatArray, width: FloatArray, low: float, high: float) -> FloatArray:
    """Fraction of each footprint [x - w/2, x + w/2] inside [low, high]."""
    return (np.clip(x + width / 2, low, high) - np.clip(x - width / 2, low, high)) / width


def _box_square_wave(x: FloatArray, width: FloatArray, low: float, high: float, half_period: float
                     ) -> FloatArray:
    """The +1/-1 square wave (+1 where floor(x / half_period) is even), zero outside [low, high],
    averaged over each footprint: exact, through the wave's antiderivative (a triangle wave)."""

    def integral(t: FloatArray) -> FloatArray:
        return half_period * (1.0 - np.abs(np.mod(t / half_period, 2.0) - 1.0))

    return (integral(np.clip(x + width / 2, low, high)) - integral(np.clip(x - width / 2, low, high))) / width


def _marker_texture(board: BoardSpec) -> tuple[NDArray[np.uint8], float]:
    """The ChArUco markers (black on white) over the pattern, and its texels per mm."""
    charuco = board.charuco_board()
    dictionary = charuco.getDictionary()
    bits = int(dictionary.markerSize) + 2
    scale = bits * _TEXELS_PER_BIT / board.marker_side_mm
    cols, rows = board.inner_corners
    texture = np.full((math.ceil((rows + 1) * board.square_mm * scale),
                       math.ceil((cols + 1) * board.square_mm * scale)), 255, np.uint8)
    side = bits * _TEXELS_PER_BIT
    for corners, marker_id in zip(charuco.getObjPoints(), np.asarray(charuco.getIds()).ravel(), strict=True):
        x0, y0 = (round(float(c) * scale) for c in np.asarray(corners).reshape(-1, 3)[0, :2])
        image = cv2.aruco.generateImageMarker(dictionary, int(marker_id), side, borderBits=1)
        texture[y0:y0 + side, x0:x0 + side] = image
    return texture, scale


def _marker_layer(board: BoardSpec, bx: FloatArray, by: FloatArray, footprint: tuple[FloatArray, ...]
                  ) -> FloatArray:
    """Marker lightness (1 = paper) per pixel, averaged over 2x2 samples inside the pixel."""
    texture, scale = _marker_texture(board)
    dxu, dxv, dyu, dyv = footprint
    total = np.zeros_like(bx)
    for ou, ov in ((-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)):
        map_x = ((bx + dxu * ou + dxv * ov) * scale - 0.5).astype(np.float32)
        map_y = ((by + dyu * ou + dyv * ov) * scale - 0.5).astype(np.float32)
        sample = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=255)
        total += np.asarray(sample, np.float64)
    return total / (4 * 255.0)


def render_board(board: BoardSpec, camera: CameraModel, pose: BoardPose, *, noise_sigma: float = 2.0,
                 seed: int = 0) -> NDArray[np.uint8]:
    """An 8-bit grey image of ``board`` at ``pose`` seen by ``camera``, with Gaussian noise."""
    x, y = pixel_rays(camera)
    rotation = np.asarray(cv2.Rodrigues(np.array(pose.rvec, np.float64))[0], np.float64)
    # Board plane (bx, by, 1) -> normalised image (x, y, 1) up to scale is [r1 r2 t]; invert it.
    inverse = np.linalg.inv(np.column_stack([rotation[:, 0], rotation[:, 1], np.array(pose.tvec_mm)]))
    w = inverse[2, 0] * x + inverse[2, 1] * y + inverse[2, 2]
    in_front = w > 1e-12  # rays that meet the plane in front of the camera
    w = np.where(in_front, w, 1.0)
    bx = np.where(in_front, (inverse[0, 0] * x + inverse[0, 1] * y + inverse[0, 2]) / w, -1e9)
    by = np.where(in_front, (inverse[1, 0] * x + inverse[1, 1] * y + inverse[1, 2]) / w, -1e9)
    dxv, dxu = np.gradient(bx)
    dyv, dyu = np.gradient(by)
    # The pixel's footprint on the board, as an axis-aligned box (exact for a square seen head-on).
    wx = np.clip(np.abs(dxu) + np.abs(dxv), 1e-6, 1e6)
    wy = np.clip(np.abs(dyu) + np.abs(dyv), 1e-6, 1e6)
    layout = _layout(board)
    px0, py0, px1, py1 = layout.pattern
    sx0, sy0, sx1, sy1 = layout.paper
    # Box filters of separable functions factorise, so each coverage is a product of 1-D ones.
    paper = _box_interval(bx, wx, sx0, sx1) * _box_interval(by, wy, sy0, sy1)
    pattern = _box_interval(bx, wx, px0, px1) * _box_interval(by, wy, py0, py1)
    parity = (_box_square_wave(bx, wx, px0, px1, board.square_mm)
              * _box_square_wave(by, wy, py0, py1, board.square_mm))
    ink = 0.5 * (pattern - parity if layout.even_is_white else pattern + parity)  # black squares
    if board.kind == "charuco":
        ink = ink + (1.0 - _marker_layer(board, bx, by, (dxu, dxv, dyu, dyv)))
    image = (1.0 - paper) * BACKGROUND + paper * PAPER - (PAPER - INK) * ink
    image = np.where(in_front, image, BACKGROUND)
    if noise_sigma > 0:
        image = image + np.random.default_rng(seed).normal(0.0, noise_sigma, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _rotation(ax: float, ay: float, az: float) -> FloatArray:
    """Rz(az) @ Ry(ay) @ Rx(ax), angles in degrees."""
    a, b, c = (math.radians(t) for t in (ax, ay, az))
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    rotation: FloatArray = rz @ ry @ rx
    return rotation


def _paper_corners(board: BoardSpec) -> FloatArray:
    x0, y0, x1, y1 = _layout(board).paper
    return np.array([[x0, y0, 0], [x1, y0, 0], [x1, y1, 0], [x0, y1, 0]], np.float64)


def orbit_poses(board: BoardSpec, camera: CameraModel, count: int = 14, *, seed: int = 1,
                fill: float = 0.55, max_tilt_deg: float = 40.0) -> list[BoardPose]:
    """``count`` varied poses: the board tilted up to ``max_tilt_deg`` both ways, rolled a little,
    about ``fill`` of the image width across, spread over the frame (corners included) and
    always wholly inside it (with its white border)."""
    rng = np.random.default_rng(seed)
    layout = _layout(board)
    x0, y0, x1, y1 = layout.paper
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2, 0.0])
    distance = camera.fx_px * (x1 - x0) / (fill * camera.width_px)
    outline = _paper_corners(board)
    margin = 0.02 * camera.width_px
    poses: list[BoardPose] = []
    while len(poses) < count:
        k = len(poses)
        tilt_x = (1 if k % 2 else -1) * rng.uniform(0.3, 1.0) * max_tilt_deg
        tilt_y = (1 if (k // 2) % 2 else -1) * rng.uniform(0.3, 1.0) * max_tilt_deg
        rotation = _rotation(tilt_x, tilt_y, rng.uniform(-20.0, 20.0))
        target = rng.uniform(0.15, 0.85, 2) * (camera.width_px, camera.height_px)
        ray = np.array([(target[0] - camera.cx_px) / camera.fx_px, (target[1] - camera.cy_px) / camera.fy_px,
                        1.0])
        z = distance * rng.uniform(0.8, 1.2)
        for _ in range(40):  # back off, then slide towards the centre, until the sheet fits
            tvec = ray * z - rotation @ centre
            rvec = np.asarray(cv2.Rodrigues(rotation)[0], np.float64).ravel()
            pts, _ = cv2.projectPoints(outline, rvec, tvec, camera.camera_matrix(), camera.dist_coeffs())
            pts = np.asarray(pts).reshape(-1, 2)
            inside = (np.all(pts >= margin) and np.all(pts[:, 0] <= camera.width_px - margin)
                      and np.all(pts[:, 1] <= camera.height_px - margin))
            if inside:
                poses.append(BoardPose((float(rvec[0]), float(rvec[1]), float(rvec[2])),
                                       (float(tvec[0]), float(tvec[1]), float(tvec[2]))))
                break
            z *= 1.03
            ray[:2] *= 0.95
    return poses
