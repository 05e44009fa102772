"""Tests of stagectl.core.coords: unit/axis conversions and the camera rotation matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.coords import (
    UnrealTransform,
    angles_from_matrix,
    camera_to_stage_matrix,
    forward_vector,
    freed_to_internal,
    internal_to_freed,
    internal_to_unreal,
    unreal_to_internal,
    wrap_degrees,
)

RIGHT, FORWARD, UP = 0, 1, 2  # columns of camera_to_stage_matrix

metres = st.floats(-1000.0, 1000.0, allow_nan=False, allow_infinity=False)
degrees = st.floats(-180.0, 180.0, allow_nan=False, allow_infinity=False)
tilts = st.floats(-89.0, 89.0, allow_nan=False, allow_infinity=False)


def _column(pan: float, tilt: float, roll: float, col: int) -> np.ndarray:
    return camera_to_stage_matrix(pan, tilt, roll)[:, col]


def _angle_diff(a: float, b: float) -> float:
    """Smallest absolute difference of two angles in degrees."""
    return abs(wrap_degrees(a - b))


# --- FreeD and Unreal conversions --------------------------------------------------------------

def test_freed_mm_to_metres() -> None:
    translation, rotation = freed_to_internal(1500.0, -250.0, 3000.0, 10.0, -20.0, 30.0)
    assert translation == pytest.approx((1.5, -0.25, 3.0), abs=1e-12)
    # FreeD pans right-positive, OpenTrackIO (internal) left-positive; tilt and roll agree.
    assert rotation == (-10.0, -20.0, 30.0)


def test_internal_to_freed_metres_to_mm() -> None:
    position, rotation = internal_to_freed((0.001, -2.5, 1.75), (5.0, 6.0, 7.0))
    assert position == pytest.approx((1.0, -2500.0, 1750.0), abs=1e-9)
    assert rotation == (-5.0, 6.0, 7.0)


def test_internal_to_unreal_swaps_x_y_and_scales_to_cm() -> None:
    ue = internal_to_unreal((1.0, 2.0, 3.0), (10.0, 20.0, 30.0))
    assert ue.location_cm == pytest.approx((200.0, 100.0, 300.0), abs=1e-9)
    # pitch = tilt, yaw = -pan (Unreal yaws right, OpenTrackIO pans left), roll = roll
    assert (ue.pitch, ue.yaw, ue.roll) == (20.0, -10.0, 30.0)


def test_unreal_to_internal_hand_worked() -> None:
    translation, rotation = unreal_to_internal(UnrealTransform((250.0, -50.0, 120.0), -5.0, 45.0, 2.0))
    assert translation == pytest.approx((-0.5, 2.5, 1.2), abs=1e-12)
    assert rotation == (-45.0, -5.0, 2.0)


@given(x=metres, y=metres, z=metres, pan=degrees, tilt=degrees, roll=degrees)
def test_unreal_round_trip(x: float, y: float, z: float, pan: float, tilt: float, roll: float) -> None:
    translation, rotation = unreal_to_internal(internal_to_unreal((x, y, z), (pan, tilt, roll)))
    assert translation == pytest.approx((x, y, z), rel=1e-12, abs=1e-12)
    assert rotation == (pan, tilt, roll)


@given(x=metres, y=metres, z=metres, pan=degrees, tilt=degrees, roll=degrees)
def test_freed_round_trip(x: float, y: float, z: float, pan: float, tilt: float, roll: float) -> None:
    mm, rot = internal_to_freed((x, y, z), (pan, tilt, roll))
    translation, rotation = freed_to_internal(*mm, *rot)
    assert translation == pytest.approx((x, y, z), rel=1e-12, abs=1e-12)
    assert rotation == (pan, tilt, roll)


# --- camera_to_stage_matrix: hand-worked directions --------------------------------------------

@pytest.mark.parametrize(("pan", "tilt", "roll", "col", "expected"), [
    (0.0, 0.0, 0.0, FORWARD, (0.0, 1.0, 0.0)),
    (0.0, 0.0, 0.0, RIGHT, (1.0, 0.0, 0.0)),
    (0.0, 0.0, 0.0, UP, (0.0, 0.0, 1.0)),
    (90.0, 0.0, 0.0, FORWARD, (-1.0, 0.0, 0.0)),      # positive pan turns left: looks along -X
    (90.0, 0.0, 0.0, RIGHT, (0.0, 1.0, 0.0)),         # ... so +X (right) goes to +Y: "X to Y"
    (-90.0, 0.0, 0.0, FORWARD, (1.0, 0.0, 0.0)),
    (180.0, 0.0, 0.0, FORWARD, (0.0, -1.0, 0.0)),
    (0.0, 30.0, 0.0, FORWARD, (0.0, math.cos(math.radians(30)), 0.5)),  # sin 30 up
    (0.0, 30.0, 0.0, UP, (0.0, -0.5, math.cos(math.radians(30)))),
    (0.0, 0.0, 90.0, RIGHT, (0.0, 0.0, -1.0)),        # roll clockwise: right side goes down
    (0.0, 0.0, 90.0, UP, (1.0, 0.0, 0.0)),            # ... and the top goes right
    (0.0, 0.0, 90.0, FORWARD, (0.0, 1.0, 0.0)),       # roll never moves the optical axis
    (-90.0, 45.0, 0.0, FORWARD, (math.sqrt(0.5), 0.0, math.sqrt(0.5))),
    (-90.0, 0.0, 90.0, RIGHT, (0.0, 0.0, -1.0)),
    (-90.0, 0.0, 90.0, UP, (0.0, -1.0, 0.0)),
])
def test_matrix_columns_hand_worked(pan: float, tilt: float, roll: float, col: int,
                                    expected: tuple[float, float, float]) -> None:
    assert _column(pan, tilt, roll, col) == pytest.approx(expected, abs=1e-12)


@given(pan=degrees, tilt=degrees, roll=degrees)
def test_matrix_is_a_proper_rotation(pan: float, tilt: float, roll: float) -> None:
    m = camera_to_stage_matrix(pan, tilt, roll)
    assert m.shape == (3, 3)
    np.testing.assert_allclose(m.T @ m, np.eye(3), atol=1e-12)
    assert np.linalg.det(m) == pytest.approx(1.0, abs=1e-12)
    # right x forward = up in a right-handed frame
    np.testing.assert_allclose(np.cross(m[:, RIGHT], m[:, FORWARD]), m[:, UP], atol=1e-12)


@given(pan=degrees, tilt=tilts, roll=degrees)
def test_angles_from_matrix_inverts(pan: float, tilt: float, roll: float) -> None:
    p, t, r = angles_from_matrix(camera_to_stage_matrix(pan, tilt, roll))
    assert t == pytest.approx(tilt, abs=1e-9)
    assert _angle_diff(p, pan) < 1e-9
    assert _angle_diff(r, roll) < 1e-9


@pytest.mark.parametrize("tilt", [90.0, -90.0])
@pytest.mark.parametrize(("pan", "roll"), [(30.0, 20.0), (-120.0, 45.0), (0.0, -10.0)])
def test_angles_from_matrix_at_gimbal_lock(pan: float, tilt: float, roll: float) -> None:
    m = camera_to_stage_matrix(pan, tilt, roll)
    p, t, r = angles_from_matrix(m)
    assert (t, r) == (pytest.approx(tilt, abs=1e-6), 0.0)
    # pan absorbs roll (pan + roll looking straight up, pan - roll straight down) ...
    assert _angle_diff(p, pan + roll if tilt > 0 else pan - roll) < 1e-6
    # ... and the angles rebuild the same orientation.
    np.testing.assert_allclose(camera_to_stage_matrix(p, t, r), m, atol=1e-9)


@given(pan=degrees, tilt=degrees)
def test_forward_vector_is_matrix_column_1(pan: float, tilt: float) -> None:
    np.testing.assert_allclose(forward_vector(pan, tilt), _column(pan, tilt, 0.0, FORWARD), atol=1e-12)
    np.testing.assert_allclose(forward_vector(pan, tilt), _column(pan, tilt, 77.0, FORWARD), atol=1e-12)


def test_forward_vector_hand_worked() -> None:
    assert forward_vector(0.0, 0.0) == pytest.approx((0.0, 1.0, 0.0), abs=1e-12)
    assert forward_vector(90.0, 0.0) == pytest.approx((-1.0, 0.0, 0.0), abs=1e-12)
    assert forward_vector(-90.0, 0.0) == pytest.approx((1.0, 0.0, 0.0), abs=1e-12)
    assert forward_vector(0.0, -90.0) == pytest.approx((0.0, 0.0, -1.0), abs=1e-12)


# --- independent check: Unreal's FRotationMatrix ------------------------------------------------

def _ue_rotation_rows(pitch: float, yaw: float, roll: float) -> list[tuple[float, float, float]]:
    """FRotationMatrix(FRotator(pitch, yaw, roll)) rows = forward X, right Y, up Z in UE axes,
    written out from Unreal's definition (RotationTranslationMatrix)."""
    sp, cp = math.sin(math.radians(pitch)), math.cos(math.radians(pitch))
    sy, cy = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
    sr, cr = math.sin(math.radians(roll)), math.cos(math.radians(roll))
    return [
        (cp * cy, cp * sy, sp),
        (sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp),
        (-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp),
    ]


def _ue_to_internal_axes(v: tuple[float, float, float]) -> tuple[float, float, float]:
    return v[1], v[0], v[2]  # UE (X forward, Y right) -> internal (X right, Y forward)


def test_unreal_rotation_matrix_hand_case() -> None:
    forward, right, up = _ue_rotation_rows(0.0, 90.0, 0.0)  # yaw right 90: UE forward is +Y (right)
    assert forward == pytest.approx((0.0, 1.0, 0.0), abs=1e-12)
    assert right == pytest.approx((-1.0, 0.0, 0.0), abs=1e-12)  # right now points backwards
    assert up == pytest.approx((0.0, 0.0, 1.0), abs=1e-12)
    assert _ue_to_internal_axes(forward) == pytest.approx((1.0, 0.0, 0.0), abs=1e-12)
    assert _ue_to_internal_axes(right) == pytest.approx((0.0, -1.0, 0.0), abs=1e-12)


@given(pan=degrees, tilt=degrees, roll=degrees)
def test_matrix_agrees_with_unreal_frotationmatrix(pan: float, tilt: float, roll: float) -> None:
    ue = internal_to_unreal((0.0, 0.0, 0.0), (pan, tilt, roll))
    forward, right, up = (_ue_to_internal_axes(row) for row in _ue_rotation_rows(ue.pitch, ue.yaw, ue.roll))
    m = camera_to_stage_matrix(pan, tilt, roll)
    np.testing.assert_allclose(m[:, FORWARD], forward, atol=1e-12)
    np.testing.assert_allclose(m[:, RIGHT], right, atol=1e-12)
    np.testing.assert_allclose(m[:, UP], up, atol=1e-12)


# --- wrap_degrees ------------------------------------------------------------------------------

@pytest.mark.parametrize(("angle", "expected"), [
    (180.0, -180.0), (-180.0, -180.0), (540.0, -180.0), (359.0, -1.0), (0.0, 0.0), (-181.0, 179.0),
    (720.5, 0.5), (-359.0, 1.0), (179.5, 179.5),
    (-180.00000000000003, -180.0),  # float % rounds up to 360 here: must not come out as +180
])
def test_wrap_degrees_cases(angle: float, expected: float) -> None:
    assert wrap_degrees(angle) == pytest.approx(expected, abs=1e-9)


@given(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
def test_wrap_degrees_range_and_congruence(angle: float) -> None:
    wrapped = wrap_degrees(angle)
    assert -180.0 <= wrapped < 180.0
    turns = (angle - wrapped) / 360.0
    assert turns == pytest.approx(round(turns), abs=1e-9)
