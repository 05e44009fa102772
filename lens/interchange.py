"""Lens data in other people's conventions: OpenTrackIO, Unreal Engine, and a CSV table for people.

Distortion directions, named everywhere because they are the classic confusion:

* stagectl lens files and OpenCV: Brown-Conrady mapping **undistorted -> distorted**, on
  coordinates divided by the focal length (dimensionless k1, k2, k3, p1, p2).
* OpenTrackIO: the same direction is model ``"Brown-Conrady U-D"`` (its default, ``"... D-U"``,
  is the inverse mapping and is *not* convertible by formula). Coefficients are OpenLensIO's, on
  millimetre coordinates, with radial terms alternating numerator / denominator. camdkit's
  OpenCV_to_OpenTrackIO (2025-09-02): F = w_mm / w_px * fx (= the focal length in mm);
  l1 = k1 / F^2, l3 = k2 / F^4, l5 = k3 / F^6 (l2, l4, l6 are OpenCV's rational k4..k6: zero
  here); q1 = p1 / F^2, q2 = p2 / F^2; projection offset = w_mm / w_px * (cx - w_px / 2), y down.
* Unreal's spherical model: the same coefficients as OpenCV, ordered K1, K2, K3, P1, P2
  (OpenCV's arrays are k1, k2, p1, p2, k3); focal length and image centre normalised by the
  image size (Fx = fx / w_px, PrincipalPoint = cx / w_px).

The CSV table for a lens technician (one row per grid node, units in the column names) is
lens.table_csv's :func:`lens_to_csv` / :func:`lens_from_csv`, re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lens.lensfile import DISTORTION_FIELDS, LensFile, LensFileError, SensorSize
from lens.solve import projection_offset_mm
from lens.table_csv import CSV_COLUMNS, lens_from_csv, lens_to_csv
from stagectl.core.opentrackio.distortion import OPENTRACKIO_MODEL, brown_conrady_to_opentrackio
from stagectl.core.opentrackio.model import (
    DEFAULT_DISTORTION_MODEL,
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOStatic,
)
from stagectl.core.samples import LensValues

__all__ = ["CSV_COLUMNS", "BrownConrady", "brown_conrady_from_opentrackio",
           "from_opentrackio_lens", "from_unreal_frame", "lens_from_csv", "lens_to_csv", "node_values",
           "opencv_to_unreal", "to_opentrackio_lens", "to_opentrackio_static", "to_unreal_frame",
           "to_unreal_nodes", "unreal_to_opencv"]

BrownConrady = tuple[float, float, float, float, float]
"""(k1, k2, k3, p1, p2): OpenCV's coefficients in Unreal's order (and :attr:`LensValues.brown_conrady`'s)."""


def brown_conrady_from_opentrackio(distortion: LensDistortion, focal_length_mm: float) -> BrownConrady:
    """An OpenTrackIO distortion entry -> (k1, k2, k3, p1, p2) in OpenCV form.

    Raises :class:`LensFileError` when the entry has no such form. Only ``"Brown-Conrady U-D"``
    converts by formula; a ``"D-U"`` entry maps the other way and needs a fit. Non-zero
    denominator terms (l2, l4, l6) or terms beyond l6 / q2 have no place in OpenCV's five
    coefficients.
    """
    key = "lens.distortion"
    if distortion.model == DEFAULT_DISTORTION_MODEL:
        raise LensFileError(f"model {distortion.model!r} maps distorted -> undistorted; OpenCV's "
                            f"coefficients map the other way ({OPENTRACKIO_MODEL!r}) and converting needs a "
                            f"fit: export {OPENTRACKIO_MODEL!r} from the source", key=f"{key}.model")
    if distortion.model != OPENTRACKIO_MODEL:
        raise LensFileError(f"model {distortion.model!r} is not one stagectl converts; allowed: "
                            f"{OPENTRACKIO_MODEL!r}", key=f"{key}.model")
    if not focal_length_mm > 0.0:
        raise LensFileError(f"focal length {focal_length_mm} mm: must be > 0 to convert distortion",
                            key="lens.pinholeFocalLength")
    radial = (*distortion.radial, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)[:max(6, len(distortion.radial))]
    tangential = (*distortion.tangential, 0.0, 0.0)[:max(2, len(distortion.tangential))]
    extra = [f"radial[{i}]" for i, v in enumerate(radial) if v and (i % 2 == 1 or i >= 6)]
    extra += [f"tangential[{i}]" for i, v in enumerate(tangential) if v and i >= 2]
    if extra:
        raise LensFileError(f"{', '.join(extra)} non-zero: OpenCV's k1, k2, k3, p1, p2 cannot hold it "
                            "(denominator or higher-order terms)", key=key)
    f2 = focal_length_mm * focal_length_mm
    return (radial[0] * f2, radial[2] * f2**2, radial[4] * f2**3, tangential[0] * f2, tangential[1] * f2)


def to_opentrackio_lens(values: LensValues, sensor: SensorSize, *, raw_zoom: int | None = None,
                        raw_focus: int | None = None, raw_iris: int | None = None) -> OpenTrackIOLens:
    """Solved lens values -> OpenTrackIO's ``lens`` block.

    Distortion is converted from ``brown_conrady`` (OpenCV, U-D) when there is a focal length;
    otherwise coefficients already in OpenTrackIO form (``radial``) pass through with their model.
    The projection offset comes from the principal point and ``sensor``. A focus at infinity is
    left out (OpenTrackIO's focusDistance is a finite number; focus encoder 0 means infinity).
    """
    distortion: tuple[LensDistortion, ...] = ()
    focal = values.focal_length_mm
    if values.brown_conrady is not None and focal is not None:
        if not focal > 0.0:
            raise LensFileError(f"focal length {focal} mm: must be > 0 to convert distortion")
        distortion = (brown_conrady_to_opentrackio(values.brown_conrady, focal),)
    elif values.radial:
        distortion = (LensDistortion(values.radial, values.tangential,
                                     values.distortion_model or DEFAULT_DISTORTION_MODEL),)
    offset = values.projection_offset_mm
    if values.principal_point_px is not None:
        offset = projection_offset_mm(*values.principal_point_px, sensor)
    focus, iris, zoom = values.encoders or (None, None, None)
    distance = values.focus_distance_m
    return OpenTrackIOLens(
        pinhole_focal_length_mm=focal, focus_distance_m=None if distance == math.inf else distance,
        f_stop=values.f_stop, t_stop=values.t_stop, entrance_pupil_offset_m=values.entrance_pupil_offset_m,
        encoder_focus=focus, encoder_iris=iris, encoder_zoom=zoom,
        raw_focus=raw_focus, raw_iris=raw_iris, raw_zoom=raw_zoom,
        distortion=distortion, projection_offset_mm=offset)


def from_opentrackio_lens(lens: OpenTrackIOLens, sensor: SensorSize) -> LensValues:
    """OpenTrackIO's ``lens`` block -> lens values.

    The first distortion entry is kept as sent (``radial``, ``tangential``, ``distortion_model``);
    ``brown_conrady`` is filled when it converts (a ``"Brown-Conrady U-D"`` entry and a focal
    length), else None. The principal point comes from the projection offset and ``sensor``.
    """
    focal = lens.pinhole_focal_length_mm
    first = lens.distortion[0] if lens.distortion else None
    brown = None
    if first is not None and focal is not None:
        try:
            brown = brown_conrady_from_opentrackio(first, focal)
        except LensFileError:
            brown = None
    principal = None
    if lens.projection_offset_mm is not None:
        dx, dy = lens.projection_offset_mm
        principal = (dx * sensor.width_px / sensor.width_mm + sensor.width_px / 2.0,
                     dy * sensor.height_px / sensor.height_mm + sensor.height_px / 2.0)
    encoders = (lens.encoder_focus, lens.encoder_iris, lens.encoder_zoom)
    return LensValues(
        focal_length_mm=focal, focus_distance_m=lens.focus_distance_m, f_stop=lens.f_stop, t_stop=lens.t_stop,
        entrance_pupil_offset_m=lens.entrance_pupil_offset_m,
        encoders=None if encoders == (None, None, None) else encoders,
        distortion_model=first.model if first else None, radial=first.radial if first else (),
        tangential=first.tangential if first else (), projection_offset_mm=lens.projection_offset_mm,
        brown_conrady=brown, principal_point_px=principal)


def to_opentrackio_static(lens: LensFile) -> OpenTrackIOStatic:
    """The lens file's part of OpenTrackIO's ``static`` block: sensor, lens identity, calibration history."""
    s = lens.sensor
    history = tuple(f"{c.date}: zoom {c.zoom_raw}, focus {c.focus_raw}, {c.images_used} images, "
                    f"rms {c.rms_px:.3f} px" for c in lens.calibrations)
    return OpenTrackIOStatic(sensor_width_mm=s.width_mm, sensor_height_mm=s.height_mm,
                             sensor_width_px=s.width_px, sensor_height_px=s.height_px,
                             lens_make=lens.identity.make, lens_model=lens.identity.model,
                             lens_serial=lens.identity.serial, lens_calibration_history=history)


def node_values(lens: LensFile, zoom_index: int, focus_index: int) -> LensValues:
    """The tables' values at one grid node (no interpolation), as lens values."""
    t = lens.tables

    def at(name: str) -> float | None:
        return t[name][zoom_index][focus_index] if name in t else None

    cx, cy = at("cx_px"), at("cy_px")
    brown = tuple(t[n][zoom_index][focus_index] for n in DISTORTION_FIELDS) if "k1" in t else None
    return LensValues(
        focal_length_mm=at("focal_length_mm"), focus_distance_m=at("focus_distance_m"),
        entrance_pupil_offset_m=at("entrance_pupil_m"),
        encoders=(lens.grid_focus[focus_index], None, lens.grid_zoom[zoom_index]),
        projection_offset_mm=None if cx is None or cy is None else projection_offset_mm(cx, cy, lens.sensor),
        brown_conrady=(brown[0], brown[1], brown[2], brown[3], brown[4]) if brown else None,
        principal_point_px=None if cx is None or cy is None else (cx, cy), lens_file=lens.name)


# --- Unreal ---------------------------------------------------------------------------------------

def opencv_to_unreal(dist_coeffs: Sequence[float]) -> BrownConrady:
    """OpenCV ``distCoeffs`` (k1, k2, p1, p2[, k3[, k4, k5, k6, ...]]) -> Unreal's (K1, K2, K3, P1, P2).

    Raises :class:`LensFileError` when a rational or thin-prism term (beyond k3) is non-zero:
    Unreal's spherical model has no place for it.
    """
    if len(dist_coeffs) < 4:
        raise LensFileError("OpenCV distortion needs at least 4 coefficients (k1, k2, p1, p2), "
                            f"got {len(dist_coeffs)}")
    if any(dist_coeffs[5:]):
        raise LensFileError("OpenCV coefficients beyond k3 (rational / thin prism) are non-zero: Unreal's "
                            "spherical model (K1, K2, K3, P1, P2) cannot hold them")
    k1, k2, p1, p2 = dist_coeffs[:4]
    k3 = dist_coeffs[4] if len(dist_coeffs) > 4 else 0.0
    return (float(k1), float(k2), float(k3), float(p1), float(p2))


def unreal_to_opencv(coefficients: Sequence[float]) -> tuple[float, float, float, float, float]:
    """Unreal's (K1, K2, K3, P1, P2) -> OpenCV's ``distCoeffs`` order (k1, k2, p1, p2, k3)."""
    if len(coefficients) != 5:
        raise LensFileError(f"Unreal's spherical distortion has 5 parameters (K1, K2, K3, P1, P2), "
                            f"got {len(coefficients)}")
    k1, k2, k3, p1, p2 = (float(v) for v in coefficients)
    return (k1, k2, p1, p2, k3)


def to_unreal_frame(values: LensValues, sensor: SensorSize) -> dict[str, Any]:
    """Lens values as Unreal's lens-frame fields (names as in FLiveLinkLensFrameData).

    ``FxFy``: focal length / sensor width and height (fx / w_px with square pixels);
    ``PrincipalPoint``: (cx / w_px, cy / h_px); ``DistortionParameters``: K1, K2, K3, P1, P2.
    """
    out: dict[str, Any] = {}
    if values.focal_length_mm is not None:
        out["FocalLength"] = values.focal_length_mm
        out["FxFy"] = [values.focal_length_mm / sensor.width_mm, values.focal_length_mm / sensor.height_mm]
    if values.principal_point_px is not None:
        cx, cy = values.principal_point_px
        out["PrincipalPoint"] = [cx / sensor.width_px, cy / sensor.height_px]
    if values.brown_conrady is not None:
        out["DistortionParameters"] = list(values.brown_conrady)
    return out


def from_unreal_frame(frame: dict[str, Any], sensor: SensorSize) -> LensValues:
    """The inverse of :func:`to_unreal_frame` (focal length from Fx when ``FocalLength`` is absent)."""
    focal = frame.get("FocalLength")
    fxfy = frame.get("FxFy")
    if focal is None and fxfy is not None:
        focal = float(fxfy[0]) * sensor.width_mm
    pp = frame.get("PrincipalPoint")
    principal = None if pp is None else (float(pp[0]) * sensor.width_px, float(pp[1]) * sensor.height_px)
    params = frame.get("DistortionParameters")
    brown = None
    if params is not None:
        k1, k2, p1, p2, k3 = unreal_to_opencv(params)
        brown = (k1, k2, k3, p1, p2)
    return LensValues(focal_length_mm=None if focal is None else float(focal), brown_conrady=brown,
                      principal_point_px=principal)


def to_unreal_nodes(lens: LensFile) -> list[dict[str, Any]]:
    """One Unreal lens-frame per grid node, with its normalised ``Zoom`` and ``Focus``."""
    return [{"Zoom": z, "Focus": f, **to_unreal_frame(node_values(lens, i, j), lens.sensor)}
            for i, z in enumerate(lens.grid_zoom) for j, f in enumerate(lens.grid_focus)]

