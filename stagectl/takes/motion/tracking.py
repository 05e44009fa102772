"""A camera's tracked rotation over time, and its rotation across any interval in the camera's own axes.

Angles are stagectl's internal ones (``R = Rz(pan) Rx(tilt) Ry(roll)``; columns: the camera's right,
forward and up in stage axes). The rotation between two instants, seen from the camera, is
``R(t0)^T R(t1)``; its small-angle components about the camera's up and right axes are what the
picture shows as horizontal and vertical motion (``dx = f * w_up``, ``dy = f * w_right``, ``f`` the focal
length in pixels): a pan left (positive) moves the scene right, a tilt up moves it down. Working in the
camera's axes keeps this right when the camera looks steeply up or down or is rolled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TrackingPath", "rotation_matrices"]

FloatArray = npt.NDArray[np.float64]


def rotation_matrices(pan_deg: FloatArray, tilt_deg: FloatArray, roll_deg: FloatArray) -> FloatArray:
    """``Rz(pan) Rx(tilt) Ry(roll)`` for every row: shape (n, 3, 3)."""
    a, b, g = (np.radians(v) for v in (pan_deg, tilt_deg, roll_deg))
    ca, sa, cb, sb, cg, sg = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(g), np.sin(g)
    out = np.empty((a.size, 3, 3))
    out[:, 0, 0] = ca * cg - sa * sb * sg
    out[:, 0, 1] = -sa * cb
    out[:, 0, 2] = ca * sg + sa * sb * cg
    out[:, 1, 0] = sa * cg + ca * sb * sg
    out[:, 1, 1] = ca * cb
    out[:, 1, 2] = sa * sg - ca * sb * cg
    out[:, 2, 0] = -cb * sg
    out[:, 2, 1] = sb
    out[:, 2, 2] = cb * cg
    return out


@dataclass(frozen=True, slots=True)
class TrackingPath:
    """Tracked samples of one camera in time order.

    Attributes:
        times_s: when each sample happened (seconds; the same clock as the picture's frame times).
        rotation_deg: (n, 3) pan, tilt, roll as sent (pan may wrap at +-180: unwrapped here).
        focal_length_mm: (n,) the solved focal length per sample, NaN where unknown.
        zoom_raw: (n,) the raw zoom encoder count per sample, NaN where none.
    """

    times_s: FloatArray
    rotation_deg: FloatArray
    focal_length_mm: FloatArray
    zoom_raw: FloatArray

    @classmethod
    def of(cls, times_s: npt.ArrayLike, rotation_deg: npt.ArrayLike,
           focal_length_mm: npt.ArrayLike | None = None, zoom_raw: npt.ArrayLike | None = None
           ) -> TrackingPath:
        """A path from columns in any order (sorted by time here; repeated times keep the first)."""
        t = np.asarray(times_s, dtype=np.float64)
        rot = np.asarray(rotation_deg, dtype=np.float64).reshape(-1, 3)
        n = t.size
        focal = np.full(n, np.nan) if focal_length_mm is None else np.asarray(focal_length_mm, np.float64)
        zoom = np.full(n, np.nan) if zoom_raw is None else np.asarray(zoom_raw, np.float64)
        keep = np.isfinite(t) & np.isfinite(rot).all(axis=1)
        t, rot, focal, zoom = t[keep], rot[keep], focal[keep], zoom[keep]
        order = np.argsort(t, kind="stable")
        t, rot, focal, zoom = t[order], rot[order], focal[order], zoom[order]
        first = np.concatenate([[True], np.diff(t) > 0]) if t.size else np.zeros(0, dtype=bool)
        t, rot, focal, zoom = t[first], rot[first], focal[first], zoom[first]
        rot = np.degrees(np.unwrap(np.radians(rot), axis=0)) if t.size else rot
        return cls(t, rot, focal, zoom)

    def __len__(self) -> int:
        return int(self.times_s.size)

    @property
    def span_s(self) -> tuple[float, float]:
        """First and last sample time (NaN, NaN when empty)."""
        if not len(self):
            return float("nan"), float("nan")
        return float(self.times_s[0]), float(self.times_s[-1])

    def angles_at(self, when: FloatArray) -> FloatArray:
        """(n, 3) pan, tilt, roll interpolated linearly at ``when`` (held at the ends)."""
        return np.stack([np.interp(when, self.times_s, self.rotation_deg[:, k]) for k in range(3)], axis=1)

    def steps(self, starts: FloatArray, ends: FloatArray) -> FloatArray:
        """(n, 2) the rotation from each start to its end about the camera's (up, right) axes, in degrees:
        the picture's (dx, dy) divided by the focal length in pixels per degree."""
        r0 = rotation_matrices(*self.angles_at(starts).T)
        r1 = rotation_matrices(*self.angles_at(ends).T)
        rel = np.einsum("nji,njk->nik", r0, r1)  # R0^T R1
        w_up = (rel[:, 1, 0] - rel[:, 0, 1]) / 2.0
        w_right = (rel[:, 2, 1] - rel[:, 1, 2]) / 2.0
        out: FloatArray = np.degrees(np.arcsin(np.clip(np.stack([w_up, w_right], axis=1), -1.0, 1.0)))
        return out

    def focal_change(self, start: float, end: float) -> float:
        """Largest / smallest solved focal length within [start, end], minus 1 (NaN when unknown)."""
        inside = (self.times_s >= start) & (self.times_s <= end) & np.isfinite(self.focal_length_mm)
        focal = self.focal_length_mm[inside]
        if focal.size < 2 or np.min(focal) <= 0:
            return float("nan")
        return float(np.max(focal) / np.min(focal) - 1.0)

    def median_focal_mm(self, start: float, end: float) -> float:
        """The median solved focal length within [start, end] (NaN when unknown)."""
        inside = (self.times_s >= start) & (self.times_s <= end) & np.isfinite(self.focal_length_mm)
        return float(np.median(self.focal_length_mm[inside])) if inside.any() else float("nan")
