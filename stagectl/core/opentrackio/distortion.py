"""OpenTrackIO's lens distortion entry from OpenCV's Brown-Conrady coefficients (what every sender needs)."""

from __future__ import annotations

from collections.abc import Sequence

from stagectl.core.opentrackio.model import LensDistortion

#: The model :attr:`LensValues.radial` / ``tangential`` belong to: OpenCV's direction (undistorted ->
#: distorted) in OpenTrackIO's (OpenLensIO) normalisation, alternating numerator / denominator terms.
OPENTRACKIO_MODEL = "Brown-Conrady U-D"


def brown_conrady_to_opentrackio(brown_conrady: Sequence[float], focal_length_mm: float) -> LensDistortion:
    """(k1, k2, k3, p1, p2) in OpenCV form -> an OpenTrackIO ``"Brown-Conrady U-D"`` distortion entry.

    Raises ValueError when the focal length is not positive (the coefficients scale with it).
    """
    if not focal_length_mm > 0.0:
        raise ValueError(f"focal length {focal_length_mm} mm: must be > 0 to convert distortion")
    k1, k2, k3, p1, p2 = brown_conrady
    f2 = focal_length_mm * focal_length_mm
    radial = (k1 / f2, 0.0, k2 / f2**2, 0.0, k3 / f2**3, 0.0)
    return LensDistortion(radial, (p1 / f2, p2 / f2), OPENTRACKIO_MODEL)
