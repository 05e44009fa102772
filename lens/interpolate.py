"""Interpolation for lens tables: piecewise-linear maps, monotone cubic (PCHIP) lines, bilinear grids.

Pure Python on purpose: a lens is solved once per tracking sample, on the I/O thread, and the
per-call work (one ``bisect`` and a few multiplications) is cheaper than crossing into numpy for
a handful of numbers. Everything that can be precomputed is (slopes, cell coefficients), so the
hot path only locates a cell and evaluates a polynomial.

Nothing here extrapolates: a position outside the knots is clamped to the nearest end and the
caller is told (``clamped``), because an extrapolated lens is worse than a visibly clamped one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise

Cubic = tuple[float, float, float, float]
"""Coefficients (c0, c1, c2, c3) of ``c0 + s*(c1 + s*(c2 + s*c3))`` with ``s`` in 0..1 over a span."""
Bilinear = tuple[float, float, float, float]
"""Coefficients (c0, ct, cu, ctu) of ``c0 + t*ct + u*(cu + t*ctu)`` with ``t, u`` in 0..1 over a cell."""


def strictly_monotonic(values: Sequence[float]) -> bool:
    """True when ``values`` strictly increase or strictly decrease (one value counts as monotonic)."""
    pairs = list(pairwise(values))
    return all(b > a for a, b in pairs) or all(b < a for a, b in pairs)


def locate(knots: Sequence[float], x: float) -> tuple[int, float, bool]:
    """The span of ascending ``knots`` holding ``x``: (index, fraction 0..1, clamped).

    Outside the knots the position is clamped to the first or last span's end and ``clamped``
    is True; with a single knot the answer is always (0, 0.0, x != knot).
    """
    last = len(knots) - 1
    if last == 0:
        return 0, 0.0, x != knots[0]
    if x <= knots[0]:
        return 0, 0.0, x < knots[0]
    if x >= knots[last]:
        return last - 1, 1.0, x > knots[last]
    i = bisect_right(knots, x) - 1
    return i, (x - knots[i]) / (knots[i + 1] - knots[i]), False


class PiecewiseLinear:
    """A strictly monotonic piecewise-linear map (a raw encoder -> normalised mapping), clamped at its ends.

    ``xs`` must be strictly monotonic (either direction); ``ys`` the same length. Calling the map
    gives ``(y, clamped)``; :meth:`inverse` maps back when ``ys`` are strictly monotonic too.
    ``knots`` / ``values`` are the points sorted by x, and segment ``i`` is
    ``offsets[i] + slopes[i] * x`` (for callers that unroll the look-up on a hot path).
    """

    __slots__ = ("knots", "offsets", "slopes", "values", "xs", "ys")

    def __init__(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        if len(xs) != len(ys) or len(xs) < 2 or not strictly_monotonic(xs):
            raise ValueError("a piecewise-linear map needs >= 2 strictly monotonic x values and as many y")
        self.xs, self.ys = tuple(map(float, xs)), tuple(map(float, ys))
        pairs = sorted(zip(self.xs, self.ys, strict=True))
        self.knots = [x for x, _ in pairs]
        self.values = [y for _, y in pairs]
        self.slopes = [(y1 - y0) / (x1 - x0) for (x0, y0), (x1, y1) in pairwise(pairs)]
        self.offsets = [y0 - s * x0 for (x0, y0), s in zip(pairs, self.slopes, strict=False)]

    def __call__(self, x: float) -> tuple[float, bool]:
        xs = self.knots
        if x <= xs[0]:
            return self.values[0], x < xs[0]
        if x >= xs[-1]:
            return self.values[-1], x > xs[-1]
        i = bisect_right(xs, x) - 1
        return self.offsets[i] + self.slopes[i] * x, False

    def inverse(self, y: float) -> tuple[float, bool]:
        """The x that maps to ``y`` (clamped to the map's ends); needs strictly monotonic ``ys``."""
        return PiecewiseLinear(self.ys, self.xs)(y)


def pchip_slopes(xs: Sequence[float], ys: Sequence[float]) -> list[float]:
    """Fritsch-Carlson slopes for a shape-preserving cubic through ascending ``xs``.

    Interior slopes are the weighted harmonic mean of the neighbouring secants (zero where they
    differ in sign or one is flat); the ends use the three-point formula, limited so the curve
    neither overshoots nor changes direction inside a span (as SciPy's ``PchipInterpolator``).
    """
    n = len(xs)
    if n == 1:
        return [0.0]
    h = [xs[i + 1] - xs[i] for i in range(n - 1)]
    d = [(ys[i + 1] - ys[i]) / h[i] for i in range(n - 1)]
    if n == 2:
        return [d[0], d[0]]
    m = [0.0] * n
    for k in range(1, n - 1):
        if d[k - 1] * d[k] > 0.0:
            w1, w2 = 2.0 * h[k] + h[k - 1], h[k] + 2.0 * h[k - 1]
            m[k] = (w1 + w2) / (w1 / d[k - 1] + w2 / d[k])
    m[0] = _end_slope(h[0], h[1], d[0], d[1])
    m[-1] = _end_slope(h[-1], h[-2], d[-1], d[-2])
    return m


def _end_slope(h0: float, h1: float, d0: float, d1: float) -> float:
    m = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if m * d0 <= 0.0:
        return 0.0
    if d0 * d1 <= 0.0 and abs(m) > abs(3.0 * d0):
        return 3.0 * d0
    return m


def pchip_spans(xs: Sequence[float], ys: Sequence[float]) -> list[Cubic]:
    """Per-span cubic coefficients of the monotone (PCHIP) interpolant through (xs, ys).

    Span ``i`` is evaluated at ``s = (x - xs[i]) / (xs[i+1] - xs[i])``. Inside every span the
    curve stays between the span's two end values: it never overshoots the data. One knot gives
    one constant "span".
    """
    if len(xs) == 1:
        return [(float(ys[0]), 0.0, 0.0, 0.0)]
    m = pchip_slopes(xs, ys)
    spans: list[Cubic] = []
    for i in range(len(xs) - 1):
        h, y0, y1 = xs[i + 1] - xs[i], ys[i], ys[i + 1]
        a, b = h * m[i], h * m[i + 1]
        spans.append((y0, a, 3.0 * (y1 - y0) - 2.0 * a - b, 2.0 * (y0 - y1) + a + b))
    return spans


def cubic_at(c: Cubic, s: float) -> float:
    """Evaluate one span's cubic at ``s`` in 0..1."""
    return c[0] + s * (c[1] + s * (c[2] + s * c[3]))


def pchip(xs: Sequence[float], ys: Sequence[float], x: float) -> tuple[float, bool]:
    """The monotone cubic through (xs, ys) at ``x``: (value, clamped).

    Builds the spans on every call: for tools and tests, not for the per-sample path.
    """
    i, s, clamped = locate(xs, x)
    return cubic_at(pchip_spans(xs, ys)[i], s), clamped


def bilinear_cells(table: Sequence[Sequence[float]]) -> list[list[Bilinear]]:
    """Per-cell bilinear coefficients of ``table[i][j]`` (rows along t, columns along u).

    Cell (i, j) spans rows i..i+1 and columns j..j+1; ``t`` runs along rows, ``u`` along columns.
    """
    cells: list[list[Bilinear]] = []
    for i in range(len(table) - 1):
        row: list[Bilinear] = []
        for j in range(len(table[0]) - 1):
            v00, v01, v10, v11 = table[i][j], table[i][j + 1], table[i + 1][j], table[i + 1][j + 1]
            row.append((v00, v10 - v00, v01 - v00, v11 - v10 - v01 + v00))
        cells.append(row)
    return cells


def bilinear(ts: Sequence[float], us: Sequence[float], table: Sequence[Sequence[float]],
             t: float, u: float) -> tuple[float, bool]:
    """``table`` over ascending axes (ts, us) at (t, u), clamped at the edges: (value, clamped).

    The reference implementation (slow, general): an axis with one knot is constant along it.
    """
    i, a, ct = locate(ts, t)
    j, b, cu = locate(us, u)
    i1, j1 = min(i + 1, len(ts) - 1), min(j + 1, len(us) - 1)
    v00, v01, v10, v11 = table[i][j], table[i][j1], table[i1][j], table[i1][j1]
    return v00 + a * (v10 - v00) + b * (v01 - v00) + a * b * (v11 - v10 - v01 + v00), ct or cu
