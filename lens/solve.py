"""Raw lens encoder counts -> lens values, per tracking sample, in a few microseconds.

:class:`LensSolver` precomputes everything from a :class:`lens.lensfile.LensFile` once; each
:meth:`LensSolver.solve` is three encoder look-ups (bisect + multiply), one grid-cell look-up
and one polynomial per table. Interpolation:

* both grid axes calibrated: bilinear over the (zoom, focus) cell;
* one axis calibrated (the other has one grid value): monotone cubic (Fritsch-Carlson PCHIP)
  along it, which never overshoots the table between two nodes;
* focus distance is interpolated in dioptres (1 / m), so a node at infinity (0 dioptres) works
  and the distance between two nodes follows the lens's focus scale;
* T-stop is interpolated (PCHIP) in stops (log T) over normalised iris.

Nothing is extrapolated: a raw count beyond its encoder mapping, or a normalised position beyond
the grid, is clamped to the edge and the axis is named in ``LensValues.clamped``. An axis whose
raw count is None (the tracker did not send it) leaves the values that depend on it None; the
solver keeps no state between calls (the caller may hold a last-known count if it wants).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import pairwise

from lens.interpolate import PiecewiseLinear, bilinear_cells, pchip_spans
from lens.lensfile import TABLE_FIELDS, EncoderMap, LensFile, SensorSize
from stagectl.core.opentrackio.distortion import OPENTRACKIO_MODEL
from stagectl.core.samples import LensValues

#: Dioptres below this are infinity (1e9 m): rounding in the interpolation must not give 1e17 m.
_MIN_DIOPTRES = 1e-9
#: ``clamped`` for each (zoom, focus, iris) combination of flags, built once.
_CLAMPED = {(z, f, i): tuple(n for n, flag in (("zoom", z), ("focus", f), ("iris", i)) if flag)
            for z in (False, True) for f in (False, True) for i in (False, True)}
Flat = tuple[float, ...]


def projection_offset_mm(cx_px: float, cy_px: float, sensor: SensorSize) -> tuple[float, float]:
    """Principal point (pixels of the sensor image) -> OpenTrackIO projection offset (mm from centre).

    OpenLensIO's image frame: x to the right, **y downwards** (as pixel rows), origin at the
    sensor centre; camdkit's OpenCV_to_OpenTrackIO: dPx = w/w_px * (cx - w_px/2), likewise y.
    """
    return ((cx_px - sensor.width_px / 2.0) * sensor.width_mm / sensor.width_px,
            (cy_px - sensor.height_px / 2.0) * sensor.height_mm / sensor.height_px)


def _inverse_spans(knots: list[float]) -> list[float]:
    return [1.0 / (b - a) for a, b in pairwise(knots)]


class _Encoder:
    """A raw -> normalised map unrolled for the hot path (see PiecewiseLinear)."""

    __slots__ = ("hi", "lo", "offsets", "slopes", "xs", "y_hi", "y_lo")

    def __init__(self, mapping: EncoderMap) -> None:
        line = PiecewiseLinear(mapping.raw, mapping.normalised)
        self.xs, self.slopes, self.offsets = line.knots, line.slopes, line.offsets
        self.lo, self.hi = line.knots[0], line.knots[-1]
        self.y_lo, self.y_hi = line.values[0], line.values[-1]


class LensSolver:
    """Solves one lens file. Immutable after construction and safe to share between threads.

    ``lens_file_name`` is what solved values carry in ``lens_file`` (the file's name by default).
    """

    def __init__(self, lens: LensFile, lens_file_name: str | None = None) -> None:
        self.lens = lens
        self.lens_file_name = lens_file_name if lens_file_name is not None else lens.name
        self._zoom_enc, self._focus_enc, self._iris_enc = (
            _Encoder(lens.encoders[a]) if a in lens.encoders else None for a in ("zoom", "focus", "iris"))
        self._has = {name: name in lens.tables for name in TABLE_FIELDS}
        self._zoom_knots, self._focus_knots = list(lens.grid_zoom), list(lens.grid_focus)
        self._zoom_multi, self._focus_multi = len(self._zoom_knots) > 1, len(self._focus_knots) > 1
        self._zoom_inv = _inverse_spans(self._zoom_knots)
        self._focus_inv = _inverse_spans(self._focus_knots)
        self._cells = self._grid_cells(lens)
        s = lens.sensor
        self._sx, self._ox = s.width_mm / s.width_px, s.width_mm / 2.0
        self._sy, self._oy = s.height_mm / s.height_px, s.height_mm / 2.0
        iris = lens.iris
        self._iris_knots = list(iris.normalised) if iris else []
        self._iris_inv = _inverse_spans(self._iris_knots)
        self._iris_spans = pchip_spans(iris.normalised, [math.log(t) for t in iris.t_stop]) if iris else []

    def _grid_cells(self, lens: LensFile) -> list[list[Flat]]:
        """Per-cell coefficients (4 per table, :data:`TABLE_FIELDS` order) of ``c0 + t*a + u*(b + t*d)``.

        2-D cells are bilinear in (t, u); along one axis the monotone cubic is the same form with
        t = s and u = s*s. Absent tables are zeros (their values are reported as None).
        """
        rows, cols = len(lens.grid_zoom), len(lens.grid_focus)
        tables = []
        for name in TABLE_FIELDS:
            table = lens.tables.get(name)
            if table is None:
                table = tuple((0.0,) * cols for _ in range(rows))
            elif name == "focus_distance_m":  # dioptres
                table = tuple(tuple(0.0 if d == math.inf else 1.0 / d for d in row) for row in table)
            tables.append(table)
        if self._zoom_multi and self._focus_multi:
            per_table = [bilinear_cells(t) for t in tables]
            return [[sum((per[i][j] for per in per_table), ()) for j in range(cols - 1)]
                    for i in range(rows - 1)]
        if self._focus_multi:  # one zoom value: a line along focus
            spans = [pchip_spans(lens.grid_focus, t[0]) for t in tables]
        else:  # along zoom (or a single node: one constant span)
            spans = [pchip_spans(lens.grid_zoom, [row[0] for row in t]) for t in tables]
        return [[sum((s[k] for s in spans), ())] for k in range(len(spans[0]))]

    def solve(self, zoom_raw: float | None, focus_raw: float | None,
              iris_raw: float | None = None) -> LensValues:
        """Lens values for raw encoder counts (None: the tracker did not send that axis)."""
        zc = fc = ic = False
        zn = fn = irn = None
        enc = self._zoom_enc
        if zoom_raw is not None and enc is not None:
            if zoom_raw <= enc.lo:
                zn, zc = enc.y_lo, zoom_raw < enc.lo
            elif zoom_raw >= enc.hi:
                zn, zc = enc.y_hi, zoom_raw > enc.hi
            else:
                k = bisect_right(enc.xs, zoom_raw) - 1
                zn = enc.offsets[k] + enc.slopes[k] * zoom_raw
        enc = self._focus_enc
        if focus_raw is not None and enc is not None:
            if focus_raw <= enc.lo:
                fn, fc = enc.y_lo, focus_raw < enc.lo
            elif focus_raw >= enc.hi:
                fn, fc = enc.y_hi, focus_raw > enc.hi
            else:
                k = bisect_right(enc.xs, focus_raw) - 1
                fn = enc.offsets[k] + enc.slopes[k] * focus_raw
        t_stop = None
        enc = self._iris_enc
        if iris_raw is not None and enc is not None:
            if iris_raw <= enc.lo:
                irn, ic = enc.y_lo, iris_raw < enc.lo
            elif iris_raw >= enc.hi:
                irn, ic = enc.y_hi, iris_raw > enc.hi
            else:
                k = bisect_right(enc.xs, iris_raw) - 1
                irn = enc.offsets[k] + enc.slopes[k] * iris_raw
            t_stop, beyond = self._t_stop(irn)
            ic = ic or beyond
        elif len(self._iris_spans) == 1 and len(self._iris_knots) == 1:
            t_stop = math.exp(self._iris_spans[0][0])  # one T-stop: the lens has no iris axis to read
        encoders = None if zn is None and fn is None and irn is None else (fn, irn, zn)

        # locate the grid cell: (cell, t, u) with the cell's polynomial c0 + t*a + u*(b + t*d)
        if self._zoom_multi:
            if zn is None:
                return self._partial(t_stop, encoders, zc, fc, ic)
            knots = self._zoom_knots
            if zn <= knots[0]:
                i, t, zc = 0, 0.0, zc or zn < knots[0]
            elif zn >= knots[-1]:
                i, t, zc = len(knots) - 2, 1.0, zc or zn > knots[-1]
            else:
                i = bisect_right(knots, zn) - 1
                t = (zn - knots[i]) * self._zoom_inv[i]
        else:
            i, t = 0, 0.0
        if self._focus_multi:
            if fn is None:
                return self._partial(t_stop, encoders, zc, fc, ic)
            knots = self._focus_knots
            if fn <= knots[0]:
                j, u, fc = 0, 0.0, fc or fn < knots[0]
            elif fn >= knots[-1]:
                j, u, fc = len(knots) - 2, 1.0, fc or fn > knots[-1]
            else:
                j = bisect_right(knots, fn) - 1
                u = (fn - knots[j]) * self._focus_inv[j]
        else:
            j, u = 0, 0.0
        if self._zoom_multi and self._focus_multi:
            cell = self._cells[i][j]
        elif self._focus_multi:
            cell, t, u = self._cells[j][0], u, u * u
        else:
            cell, u = self._cells[i][0], t * t

        (f0, f1, f2, f3, d0, d1, d2, d3, e0, e1, e2, e3, x0, x1, x2, x3, y0, y1, y2, y3,
         a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, p0, p1, p2, p3, q0, q1, q2, q3) = cell
        focal = f0 + t * f1 + u * (f2 + t * f3)
        has = self._has
        dioptres = d0 + t * d1 + u * (d2 + t * d3)
        distance = None
        if has["focus_distance_m"]:
            distance = 1.0 / dioptres if dioptres > _MIN_DIOPTRES else math.inf
        pupil = e0 + t * e1 + u * (e2 + t * e3) if has["entrance_pupil_m"] else None
        principal = offset = None
        if has["cx_px"]:
            cx, cy = x0 + t * x1 + u * (x2 + t * x3), y0 + t * y1 + u * (y2 + t * y3)
            principal, offset = (cx, cy), (cx * self._sx - self._ox, cy * self._sy - self._oy)
        brown = model = None
        radial: tuple[float, ...] = ()
        tangential: tuple[float, ...] = ()
        if has["k1"]:
            k1, k2 = a0 + t * a1 + u * (a2 + t * a3), b0 + t * b1 + u * (b2 + t * b3)
            k3 = c0 + t * c1 + u * (c2 + t * c3)
            tp1, tp2 = p0 + t * p1 + u * (p2 + t * p3), q0 + t * q1 + u * (q2 + t * q3)
            brown, model = (k1, k2, k3, tp1, tp2), OPENTRACKIO_MODEL
            f2_ = focal * focal
            f4_ = f2_ * f2_
            radial = (k1 / f2_, 0.0, k2 / f4_, 0.0, k3 / (f4_ * f2_), 0.0)
            tangential = (tp1 / f2_, tp2 / f2_)
        return LensValues(focal, distance, None, t_stop, pupil, encoders, model, radial, tangential, offset,
                          brown, principal, self.lens_file_name, _CLAMPED[zc, fc, ic])

    def _partial(self, t_stop: float | None, encoders: tuple[float | None, float | None, float | None] | None,
                 zc: bool, fc: bool, ic: bool) -> LensValues:
        """Values when an axis the grid depends on was not sent: no table value can be given."""
        return LensValues(t_stop=t_stop, encoders=encoders, lens_file=self.lens_file_name,
                          clamped=_CLAMPED[zc, fc, ic])

    def _t_stop(self, iris: float) -> tuple[float | None, bool]:
        knots = self._iris_knots
        if not knots:
            return None, False
        if len(knots) == 1:
            return math.exp(self._iris_spans[0][0]), False
        if iris <= knots[0]:
            k, s, clamped = 0, 0.0, iris < knots[0]
        elif iris >= knots[-1]:
            k, s, clamped = len(knots) - 2, 1.0, iris > knots[-1]
        else:
            k = bisect_right(knots, iris) - 1
            s, clamped = (iris - knots[k]) * self._iris_inv[k], False
        c = self._iris_spans[k]
        return math.exp(c[0] + s * (c[1] + s * (c[2] + s * c[3]))), clamped

