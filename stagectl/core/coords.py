"""Every coordinate-convention conversion in stagectl, in one tested place.

Internal convention = OpenTrackIO's frame and signs:
    * units: metres and degrees;
    * axes: right-handed, Z up, Y forward (towards the LED wall), X right;
    * rotation: (pan, tilt, roll), intrinsic Z then X then Y, each right-handed about its axis
      (OpenTrackIO: "Pan about Z, +ve X to Y; Tilt about X, +ve Y to Z; Roll about Y, +ve Z
      to X"): pan 0 looks along +Y and positive pan turns LEFT (counter-clockwise seen from
      above), positive tilt looks UP, positive roll turns the camera clockwise seen from behind.

So :func:`camera_to_stage_matrix` is plainly ``Rz(pan) Rx(tilt) Ry(roll)``.

FreeD (Vinten free-d D1): millimetres, same axes, but positive pan turns RIGHT (clockwise seen
from above), so pan changes sign at the FreeD boundary; tilt and roll keep theirs. Unreal
Engine: centimetres, left-handed, X forward, Y right, Z up; FRotator (pitch, yaw, roll) with
yaw positive to the right, pitch positive up and roll positive clockwise looking forward, so
yaw = -pan. See docs/ARCHITECTURE.md, "Rotation signs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vec3 = tuple[float, float, float]

MM_PER_M = 1000.0
CM_PER_M = 100.0


def wrap_degrees(angle: float) -> float:
    """Wrap an angle to [-180, 180)."""
    wrapped = (angle + 180.0) % 360.0 - 180.0
    # Float % can round up to the divisor: -180.00000000000003 would give +180.0.
    return -180.0 if wrapped >= 180.0 else wrapped


# --- FreeD ---------------------------------------------------------------------------------

def freed_to_internal(x_mm: float, y_mm: float, z_mm: float, pan: float, tilt: float,
                      roll: float) -> tuple[Vec3, Vec3]:
    """FreeD position (mm) and angles (deg) -> internal (metres, (pan, tilt, roll) degrees).

    FreeD pans right-positive, OpenTrackIO left-positive: pan changes sign.
    """
    return (x_mm / MM_PER_M, y_mm / MM_PER_M, z_mm / MM_PER_M), (_negate_angle(pan), tilt, roll)


def _negate_angle(angle: float) -> float:
    return -angle


def internal_to_freed(translation_m: Vec3, rotation_deg: Vec3) -> tuple[Vec3, Vec3]:
    """Internal -> FreeD: ((x, y, z) mm, (pan, tilt, roll) degrees)."""
    x, y, z = translation_m
    pan, tilt, roll = rotation_deg
    return (x * MM_PER_M, y * MM_PER_M, z * MM_PER_M), (_negate_angle(pan), tilt, roll)


# --- Unreal Engine -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UnrealTransform:
    """A location in Unreal centimetres (X forward, Y right, Z up) and an FRotator."""

    location_cm: Vec3
    pitch: float
    yaw: float
    roll: float


def internal_to_unreal(translation_m: Vec3, rotation_deg: Vec3) -> UnrealTransform:
    """Internal -> Unreal: swap X/Y (Unreal X is forward), metres -> centimetres.

    yaw = -pan (Unreal's yaw turns right, OpenTrackIO's pan left), pitch = tilt, roll = roll;
    Unreal's yaw-pitch-roll order is the same physical sequence as pan-tilt-roll.
    """
    x, y, z = translation_m
    pan, tilt, roll = rotation_deg
    return UnrealTransform((y * CM_PER_M, x * CM_PER_M, z * CM_PER_M), tilt, _negate_angle(pan), roll)


def unreal_to_internal(transform: UnrealTransform) -> tuple[Vec3, Vec3]:
    """Unreal -> internal; the inverse of :func:`internal_to_unreal`."""
    ux, uy, uz = transform.location_cm
    return (uy / CM_PER_M, ux / CM_PER_M, uz / CM_PER_M), (_negate_angle(transform.yaw), transform.pitch,
                                                            transform.roll)


# --- Rotation matrices ---------------------------------------------------------------------

def camera_to_stage_matrix(pan: float, tilt: float, roll: float) -> npt.NDArray[np.float64]:
    """3x3 matrix whose columns are the camera's right, forward (optical axis) and up vectors
    in stage axes, for (pan, tilt, roll) in degrees.

    R = Rz(pan) @ Rx(tilt) @ Ry(roll) (intrinsic Z, X, Y; all right-handed).
    """
    p, t, r = math.radians(pan), math.radians(tilt), math.radians(roll)
    cp, sp, ct, st, cr, sr = math.cos(p), math.sin(p), math.cos(t), math.sin(t), math.cos(r), math.sin(r)
    rz = np.array([[cp, -sp, 0.0], [sp, cp, 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, ct, -st], [0.0, st, ct]])
    ry = np.array([[cr, 0.0, sr], [0.0, 1.0, 0.0], [-sr, 0.0, cr]])
    matrix: npt.NDArray[np.float64] = rz @ rx @ ry
    return matrix


def angles_from_matrix(matrix: npt.NDArray[np.float64]) -> Vec3:
    """(pan, tilt, roll) degrees from a :func:`camera_to_stage_matrix` matrix.

    At tilt = +-90 degrees pan and roll are not separable; roll is then reported as 0.
    """
    m = matrix
    tilt = math.degrees(math.asin(max(-1.0, min(1.0, float(m[2, 1])))))
    if abs(float(m[2, 1])) < 1.0 - 1e-12:
        pan = math.degrees(math.atan2(-float(m[0, 1]), float(m[1, 1])))
        roll = math.degrees(math.atan2(-float(m[2, 0]), float(m[2, 2])))
    else:
        pan = math.degrees(math.atan2(float(m[1, 0]), float(m[0, 0])))
        roll = 0.0
    return pan, tilt, roll


def forward_vector(pan: float, tilt: float) -> Vec3:
    """Unit optical-axis direction in stage axes (roll does not move it)."""
    p, t = math.radians(pan), math.radians(tilt)
    return -math.sin(p) * math.cos(t), math.cos(p) * math.cos(t), math.sin(t)


# --- Y-up camera formats (USD, Nuke) -------------------------------------------------------
#
# USD and Nuke scenes are right-handed with Y up, and a camera there looks down its local -Z
# with local +Y up and +X right (OpenGL's camera). stagectl's internal axes map onto them as
#     X right -> +X,   Y forward -> -Z,   Z up -> +Y,
# i.e. p_yup = M p_internal with M = [[1, 0, 0], [0, 0, 1], [0, -1, 0]] (det +1, no mirror), so
# a camera at pan = tilt = roll = 0 (looking along internal +Y) has the identity orientation
# there. Its orientation is R_yup = M R M^T with R = camera_to_stage_matrix: the columns of
# R_yup are the camera's local +X (right), +Y (up) and +Z (backwards: the view direction is -Z).
# Conjugating each factor of R = Rz(pan) Rx(tilt) Ry(roll) by M turns it into a rotation about
# the image of its axis: R_yup = RY(pan) RX(tilt) RZ(-roll), which is exactly Nuke's rotation
# order "ZXY" (its Matrix4 is built rotateY, rotateX, rotateZ: Z applied first) with
# rx = tilt, ry = pan, rz = -roll.

INTERNAL_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""M: internal (X right, Y forward, Z up) -> Y-up (X right, Y up, Z towards the viewer)."""


def _rows_of_three(values: npt.ArrayLike, what: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"{what}: expected an (N, 3) array, got shape {array.shape}")
    return array


def camera_to_stage_matrices(rotation_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """:func:`camera_to_stage_matrix` for N rows of (pan, tilt, roll) degrees at once: (N, 3, 3)."""
    angles = np.radians(_rows_of_three(rotation_deg, "rotation_deg"))
    n = angles.shape[0]
    c, s = np.cos(angles), np.sin(angles)
    rz, rx, ry = (np.zeros((n, 3, 3)) for _ in range(3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = c[:, 0], -s[:, 0], s[:, 0], c[:, 0], 1.0
    rx[:, 0, 0], rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = 1.0, c[:, 1], -s[:, 1], s[:, 1], c[:, 1]
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 1, 1], ry[:, 2, 0], ry[:, 2, 2] = c[:, 2], s[:, 2], 1.0, -s[:, 2], c[:, 2]
    matrices: npt.NDArray[np.float64] = rz @ rx @ ry
    return matrices


def internal_to_y_up(translation_m: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """(N, 3) internal positions -> Y-up positions (x, z, -y), same unit."""
    points = _rows_of_three(translation_m, "translation_m")
    converted: npt.NDArray[np.float64] = points @ INTERNAL_TO_Y_UP.T
    return converted


def y_up_camera_orientations(rotation_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """(N, 3, 3) camera orientations in Y-up axes: columns = the camera's local +X (right), +Y (up)
    and +Z (backwards; it looks down -Z), for N rows of internal (pan, tilt, roll) degrees."""
    m = INTERNAL_TO_Y_UP
    matrices: npt.NDArray[np.float64] = m @ camera_to_stage_matrices(rotation_deg) @ m.T
    return matrices


def internal_to_usd_camera_matrix(translation_m: npt.ArrayLike, rotation_deg: npt.ArrayLike,
                                  meters_per_unit: float) -> npt.NDArray[np.float64]:
    """(N, 4, 4) USD ``xformOp:transform`` values (GfMatrix4d, row-vector convention) of a Y-up
    UsdGeomCamera for N internal poses (metres, (pan, tilt, roll) degrees).

    Rows 0-2 are the camera's local +X, +Y, +Z in stage axes (USD transforms row vectors, so a
    point is ``p_local @ M``); row 3 is the position in scene units (metres / meters_per_unit).
    """
    if not meters_per_unit > 0.0:
        raise ValueError(f"meters_per_unit {meters_per_unit} must be > 0")
    position = internal_to_y_up(translation_m) / meters_per_unit
    orientation = y_up_camera_orientations(rotation_deg)
    if position.shape[0] != orientation.shape[0]:
        raise ValueError(f"{position.shape[0]} translations but {orientation.shape[0]} rotations")
    matrices = np.zeros((position.shape[0], 4, 4))
    matrices[:, :3, :3] = orientation.transpose(0, 2, 1)
    matrices[:, 3, :3] = position
    matrices[:, 3, 3] = 1.0
    return matrices


def internal_to_nuke_camera(translation_m: npt.ArrayLike, rotation_deg: npt.ArrayLike
                            ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """N internal poses -> a Nuke Camera's (translate (N, 3) metres, rotate (N, 3) degrees
    (rx, ry, rz)) for rotation order ZXY: rx = tilt, ry = pan, rz = -roll (see the section note)."""
    rotation = _rows_of_three(rotation_deg, "rotation_deg")
    angles = np.stack([rotation[:, 1], rotation[:, 0], -rotation[:, 2]], axis=1)
    return internal_to_y_up(translation_m), angles
