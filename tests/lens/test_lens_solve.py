"""LensSolver and the interpolators: hand-worked values, no overshoot, clamping, infinity, missing axes."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lens.interpolate import PiecewiseLinear, bilinear, locate, pchip, pchip_spans
from lens.lensfile import EncoderMap, IrisTable, LensFile, LensIdentity, SensorSize, load_lens_file
from lens.solve import LensSolver
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from tests.support.cli import REPO

DEMO = REPO / "lens" / "data" / "demo_zoom_24_70.json"
SENSOR = SensorSize(36.0, 20.25, 3840, 2160)
RAW_1000 = EncoderMap((0, 1000), (0.0, 1.0))


def lens_2x2(**changes: Any) -> LensFile:
    """Focal length 10/20 at wide (focus 0/1) and 30/50 at tele; raw 0..1000 on every axis."""
    lens = LensFile(LensIdentity("T", "Z", "1"), SENSOR, (0.0, 1.0), (0.0, 1.0),
                    {"focal_length_mm": ((10.0, 20.0), (30.0, 50.0))},
                    {"zoom": RAW_1000, "focus": RAW_1000, "iris": RAW_1000})
    for name, value in changes.items():
        setattr(lens, name, value)
    return lens


# --- interpolation primitives --------------------------------------------------------------------

def test_bilinear_by_hand() -> None:
    # (1-t)(1-u)*10 + t(1-u)*30 + (1-t)u*20 + tu*50 at t = 0.25, u = 0.5: 3.75 + 3.75 + 7.5 + 6.25
    values = LensSolver(lens_2x2()).solve(250, 500)
    assert values.focal_length_mm == pytest.approx(21.25)
    reference = bilinear((0.0, 1.0), (0.0, 1.0), ((10.0, 20.0), (30.0, 50.0)), 0.25, 0.5)
    assert reference == (pytest.approx(21.25), False)
    assert values.encoders == (0.5, None, 0.25) and values.clamped == ()


def test_pchip_by_hand() -> None:
    # knots (0,0), (1,1), (2,1): slope 0 at the flat knot; end slope ((2h0+h1)d0 - h0 d1)/(h0+h1) = 1.5
    # Hermite at s = 0.5: h10 * 1.5 + h01 * 1 = 0.125 * 1.5 + 0.5
    assert pchip([0.0, 1.0, 2.0], [0.0, 1.0, 1.0], 0.5) == (pytest.approx(0.6875), False)
    assert pchip([0.0, 1.0, 2.0], [0.0, 1.0, 1.0], 1.5) == (pytest.approx(1.0), False)  # no bump past 1
    assert pchip([0.0, 2.0], [1.0, 3.0], 0.5)[0] == pytest.approx(1.5)  # two knots: a straight line
    assert pchip([0.0, 1.0], [1.0, 3.0], 7.0) == (3.0, True)  # clamped, not extrapolated


def test_locate_and_piecewise_linear_clamp_and_say_so() -> None:
    assert locate([0.0, 0.5, 1.0], 0.75) == (1, pytest.approx(0.5), False)
    assert locate([0.0, 0.5, 1.0], -1.0) == (0, 0.0, True)
    assert locate([0.0, 0.5, 1.0], 2.0) == (1, 1.0, True)
    assert locate([0.3], 0.3) == (0, 0.0, False) and locate([0.3], 0.4)[2]
    descending = PiecewiseLinear([100.0, 0.0], [0.0, 1.0])  # an encoder counting down
    assert descending(25.0) == (0.75, False)
    assert descending(-5.0) == (1.0, True) and descending(120.0) == (0.0, True)
    assert descending.inverse(0.75) == (25.0, False)


# grid positions as a lens file holds them: normalised, at least 1e-4 apart (SNAP_NORMALISED)
ascending_knots = st.lists(st.integers(0, 10_000), min_size=2, max_size=8, unique=True).map(
    lambda ks: [k / 10_000 for k in sorted(ks)])


@given(ascending_knots, st.data())
def test_pchip_never_overshoots_a_span(xs: list[float], data: st.DataObject) -> None:
    ys = data.draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=len(xs), max_size=len(xs)))
    spans = pchip_spans(xs, ys)
    for i in range(len(xs) - 1):
        lo, hi = min(ys[i], ys[i + 1]), max(ys[i], ys[i + 1])
        tolerance = 1e-9 * (1.0 + abs(lo) + abs(hi))
        for k in range(21):
            c0, c1, c2, c3 = spans[i]
            s = k / 20
            value = c0 + s * (c1 + s * (c2 + s * c3))
            assert lo - tolerance <= value <= hi + tolerance


@given(ascending_knots, st.data())
def test_pchip_keeps_monotonic_data_monotonic(xs: list[float], data: st.DataObject) -> None:
    steps = data.draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=len(xs), max_size=len(xs)))
    ys = [sum(steps[:k + 1]) for k in range(len(xs))]
    samples = [pchip(xs, ys, xs[0] + (xs[-1] - xs[0]) * k / 200)[0] for k in range(201)]
    assert all(b >= a - 1e-9 * (1 + abs(a)) for a, b in itertools.pairwise(samples))


# --- the solver on the demo lens -----------------------------------------------------------------

@pytest.fixture(scope="module")
def demo() -> LensSolver:
    return LensSolver(load_lens_file(DEMO))


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_the_fast_path_matches_the_reference_bilinear(zoom_raw: int, focus_raw: int) -> None:
    lens = load_lens_file(DEMO)
    values = LensSolver(lens).solve(zoom_raw, focus_raw)
    z, f = zoom_raw / 65535, focus_raw / 65535
    assert values.principal_point_px is not None and values.brown_conrady is not None
    for name, got in (("focal_length_mm", values.focal_length_mm),
                      ("entrance_pupil_m", values.entrance_pupil_offset_m),
                      ("cx_px", values.principal_point_px[0]), ("k1", values.brown_conrady[0])):
        expected, clamped = bilinear(lens.grid_zoom, lens.grid_focus, lens.tables[name], z, f)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12) and not clamped


def test_focus_distance_is_interpolated_in_dioptres_through_infinity(demo: LensSolver) -> None:
    # focus 0 = infinity (0 dioptres), focus 0.25 = 2 m (0.5 dioptres): halfway is 0.25 dioptres = 4 m
    assert demo.solve(0, 0).focus_distance_m == math.inf
    assert demo.solve(0, round(0.125 * 65535)).focus_distance_m == pytest.approx(4.0, rel=1e-4)
    assert demo.solve(0, round(0.75 * 65535)).focus_distance_m == pytest.approx(0.6667, rel=1e-4)
    # metres would have given nonsense between infinity and 2 m; dioptres give the lens's own scale
    assert demo.solve(0, round(0.875 * 65535)).focus_distance_m == pytest.approx(1 / 1.75, rel=1e-3)


@pytest.mark.parametrize(("zoom", "focus", "iris", "clamped"), [
    (-50, 100, 100, ("zoom",)),
    (70000, 100, 100, ("zoom",)),
    (100, -1, 100, ("focus",)),
    (100, 65536, 100, ("focus",)),
    (100, 100, 70000, ("iris",)),
    (-1, 70000, -1, ("zoom", "focus", "iris")),
    (0, 65535, 65535, ()),  # exactly on the ends is not clamped
])
def test_raw_counts_beyond_the_encoder_map_are_clamped_and_flagged(
        demo: LensSolver, zoom: int, focus: int, iris: int, clamped: tuple[str, ...]) -> None:
    values = demo.solve(zoom, focus, iris)
    assert values.clamped == clamped
    edge = demo.solve(min(max(zoom, 0), 65535), min(max(focus, 0), 65535), min(max(iris, 0), 65535))
    assert values._replace(clamped=()) == edge  # the edge's values, never extrapolated


@pytest.mark.parametrize(("zoom_raw", "expected_focal", "clamped"), [
    (100, 15.0, ("zoom",)), (200, 15.0, ()), (500, 22.5, ()), (800, 30.0, ()), (900, 30.0, ("zoom",))])
def test_positions_beyond_the_grid_are_clamped_to_its_edge(
        zoom_raw: int, expected_focal: float, clamped: tuple[str, ...]) -> None:
    lens = lens_2x2(grid_zoom=(0.2, 0.8), tables={"focal_length_mm": ((15.0, 15.0), (30.0, 30.0))})
    values = LensSolver(lens).solve(zoom_raw, 0)
    assert values.focal_length_mm == pytest.approx(expected_focal) and values.clamped == clamped


def test_one_calibrated_axis_interpolates_monotonically_along_it() -> None:
    # a zoom calibrated at one focus: 5 nodes with a kink; PCHIP stays within each span's two values
    focal = (24.0, 28.0, 50.0, 51.0, 70.0)
    lens = lens_2x2(grid_zoom=(0.0, 0.25, 0.5, 0.75, 1.0), grid_focus=(0.4,),
                    tables={"focal_length_mm": tuple((f,) for f in focal)})
    solver = LensSolver(lens)
    previous = 0.0
    for raw in range(0, 1001, 5):
        value = solver.solve(raw, 123).focal_length_mm
        assert value is not None and value >= previous - 1e-12
        i = min(raw // 250, 3)
        assert min(focal[i], focal[i + 1]) - 1e-9 <= value <= max(focal[i], focal[i + 1]) + 1e-9
        previous = value
    assert solver.solve(250, None).focal_length_mm == pytest.approx(28.0)  # focus not needed: one position
    assert solver.solve(250, 999).clamped == ()  # focus is not an axis of these tables


def test_a_missing_axis_leaves_what_depends_on_it_empty(demo: LensSolver) -> None:
    values = demo.solve(None, 20000, 30000)
    assert values.focal_length_mm is None and values.focus_distance_m is None and values.brown_conrady is None
    assert values.t_stop is not None
    assert values.encoders == (pytest.approx(20000 / 65535), pytest.approx(30000 / 65535), None)
    assert demo.solve(30000, None).focal_length_mm is None
    nothing = demo.solve(None, None, None)
    assert nothing.encoders is None and nothing.t_stop is None and nothing.lens_file == "demo_zoom_24_70.json"


def test_t_stop_is_interpolated_in_stops() -> None:
    lens = lens_2x2(iris=IrisTable((0.0, 1.0), (2.0, 4.0)))
    assert LensSolver(lens).solve(0, 0, 500).t_stop == pytest.approx(math.sqrt(8.0))  # halfway in stops
    assert LensSolver(lens).solve(0, 0, 0).t_stop == pytest.approx(2.0)
    one = lens_2x2(iris=IrisTable((0.0,), (2.8,)), encoders={"zoom": RAW_1000, "focus": RAW_1000})
    assert LensSolver(one).solve(0, 0, None).t_stop == pytest.approx(2.8)  # one T-stop: no iris needed


def test_principal_point_gives_the_projection_offset_with_y_down(demo: LensSolver) -> None:
    values = demo.solve(65535, 0)  # tele, infinity: principal point (1926, 1076) px on 3840 x 2160
    assert values.principal_point_px == (pytest.approx(1926.0), pytest.approx(1076.0))
    # (cx - w/2) * w_mm / w_px = 6 * 36 / 3840; (cy - h/2) * h_mm / h_px = -4 * 20.25 / 2160 (above centre)
    assert values.projection_offset_mm == (pytest.approx(0.05625), pytest.approx(-0.0375))


def test_opentrackio_coefficients_ride_along_with_opencv_ones(demo: LensSolver) -> None:
    values = demo.solve(12345, 54321)
    assert values.brown_conrady is not None and values.focal_length_mm is not None
    converted = brown_conrady_to_opentrackio(values.brown_conrady, values.focal_length_mm)
    assert values.distortion_model == "Brown-Conrady U-D" == converted.model
    assert values.radial == pytest.approx(converted.radial)
    assert values.tangential == pytest.approx(converted.tangential)


def test_a_single_node_lens_is_constant() -> None:
    lens = LensFile(LensIdentity("A", "50", "1"), SENSOR, (0.0,), (0.0,), {"focal_length_mm": ((50.3,),)})
    values = LensSolver(lens, "prime.json").solve(None, None)
    assert values.focal_length_mm == 50.3 and values.lens_file == "prime.json" and values.encoders is None
