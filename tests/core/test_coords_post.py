"""The Y-up camera conversions in stagectl.core.coords (USD and Nuke exports) against hand-worked poses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.coords import (
    camera_to_stage_matrices,
    camera_to_stage_matrix,
    internal_to_nuke_camera,
    internal_to_usd_camera_matrix,
    internal_to_y_up,
    y_up_camera_orientations,
)

S45 = math.sqrt(0.5)
degrees = st.floats(-180.0, 180.0, allow_nan=False, allow_infinity=False)


def _rot(axis: str, deg: float) -> np.ndarray:
    """A right-handed rotation about one axis, written out here (not taken from coords)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


# (pan, tilt, roll) -> the camera's view direction and up direction in Y-up axes (X right, Y up,
# Z towards the viewer), worked out by hand: internal forward +Y is Y-up -Z, internal up +Z is +Y.
CASES = [
    ((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    # pan +90 turns left: looks along internal -X = Y-up -X.
    ((90.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    # pan -90 turns right.
    ((-90.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    # tilt +30 looks up: (0, sin 30, -cos 30); up leans back towards +Z.
    ((0.0, 30.0, 0.0), (0.0, 0.5, -math.sqrt(3) / 2), (0.0, math.sqrt(3) / 2, 0.5)),
    # roll +90 is clockwise seen from behind: the camera's top swings to the right (+X).
    ((0.0, 0.0, 90.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)),
    # pan 90 then tilt 45: internal forward (-cos45, 0, sin45) -> Y-up (-0.707, 0.707, 0).
    ((90.0, 45.0, 0.0), (-S45, S45, 0.0), (S45, S45, 0.0)),
]


@pytest.mark.parametrize(("angles", "view", "up"), CASES)
def test_y_up_orientation_hand_worked(angles: tuple[float, float, float], view: tuple[float, float, float],
                                      up: tuple[float, float, float]) -> None:
    matrix = y_up_camera_orientations([angles])[0]
    np.testing.assert_allclose(-matrix[:, 2], view, atol=1e-12)
    np.testing.assert_allclose(matrix[:, 1], up, atol=1e-12)
    assert np.linalg.det(matrix) == pytest.approx(1.0)


def test_y_up_translation() -> None:
    # internal (1, 2, 3): 1 right, 2 forward, 3 up -> Y-up (1, 3, -2).
    np.testing.assert_allclose(internal_to_y_up([[1.0, 2.0, 3.0]]), [[1.0, 3.0, -2.0]])


@pytest.mark.parametrize(("angles", "view", "up"), CASES)
def test_usd_matrix_position_and_axes(angles: tuple[float, float, float], view: tuple[float, float, float],
                                      up: tuple[float, float, float]) -> None:
    matrix = internal_to_usd_camera_matrix([[1.0, 2.0, 3.0]], [angles], 0.01)[0]
    # Row vectors: the origin maps to row 3 (centimetres), local -Z to -row 2, local +Y to row 1.
    origin = np.array([0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(origin @ matrix, [100.0, 300.0, -200.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(np.array([0.0, 0.0, -1.0, 0.0]) @ matrix, [*view, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.array([0.0, 1.0, 0.0, 0.0]) @ matrix, [*up, 0.0], atol=1e-12)
    np.testing.assert_allclose(matrix[:, 3], [0.0, 0.0, 0.0, 1.0])


def test_usd_matrix_metres() -> None:
    matrix = internal_to_usd_camera_matrix([[1.0, 2.0, 3.0]], [[0.0, 0.0, 0.0]], 1.0)[0]
    np.testing.assert_allclose(matrix[3, :3], [1.0, 3.0, -2.0])


@pytest.mark.parametrize(("angles", "nuke"), [
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((90.0, 0.0, 0.0), (0.0, 90.0, 0.0)),
    ((10.0, -5.0, 1.0), (-5.0, 10.0, -1.0)),
])
def test_nuke_angles_hand_worked(angles: tuple[float, float, float],
                                 nuke: tuple[float, float, float]) -> None:
    translate, rotate = internal_to_nuke_camera([[1.0, 2.0, 3.0]], [angles])
    np.testing.assert_allclose(translate, [[1.0, 3.0, -2.0]])
    np.testing.assert_allclose(rotate, [nuke], atol=1e-12)


@given(degrees, st.floats(-89.0, 89.0), degrees)
def test_nuke_zxy_rebuilds_the_orientation(pan: float, tilt: float, roll: float) -> None:
    _, ((rx, ry, rz),) = internal_to_nuke_camera([[0.0, 0.0, 0.0]], [[pan, tilt, roll]])
    # Nuke's ZXY: rotate about Z first, then X, then Y (world axes): R = Ry @ Rx @ Rz.
    nuke = _rot("y", ry) @ _rot("x", rx) @ _rot("z", rz)
    np.testing.assert_allclose(nuke, y_up_camera_orientations([[pan, tilt, roll]])[0], atol=1e-12)


@given(degrees, degrees, degrees)
def test_vectorised_matches_scalar(pan: float, tilt: float, roll: float) -> None:
    np.testing.assert_allclose(camera_to_stage_matrices([[pan, tilt, roll]])[0],
                               camera_to_stage_matrix(pan, tilt, roll), atol=1e-12)


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        internal_to_y_up([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="rotations"):
        internal_to_usd_camera_matrix([[0.0, 0.0, 0.0]], np.zeros((2, 3)), 0.01)
    with pytest.raises(ValueError, match="meters_per_unit"):
        internal_to_usd_camera_matrix([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], 0.0)
