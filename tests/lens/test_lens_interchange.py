"""Interchange: OpenTrackIO coefficients (camdkit's OpenCV_to_OpenTrackIO), Unreal's order, the CSV table."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lens.interchange import (
    CSV_COLUMNS,
    brown_conrady_from_opentrackio,
    from_opentrackio_lens,
    from_unreal_frame,
    lens_from_csv,
    lens_to_csv,
    opencv_to_unreal,
    to_opentrackio_lens,
    to_opentrackio_static,
    to_unreal_frame,
    to_unreal_nodes,
    unreal_to_opencv,
)
from lens.lensfile import (
    CalibrationPoint,
    EncoderMap,
    LensFile,
    LensFileError,
    LensIdentity,
    SensorSize,
    lens_file_to_json,
    load_lens_file,
)
from lens.solve import LensSolver
from stagectl.core.opentrackio.build import build_sample
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from stagectl.core.opentrackio.model import LensDistortion, OpenTrackIOSample
from stagectl.core.opentrackio.sample import parse_sample
from stagectl.core.samples import LensValues
from tests.support.cli import REPO

DEMO = REPO / "lens" / "data" / "demo_zoom_24_70.json"
SENSOR = SensorSize(36.0, 20.25, 3840, 2160)
coefficient = st.floats(-0.5, 0.5, allow_nan=False)


# --- OpenTrackIO ---------------------------------------------------------------------------------

def test_opencv_to_opentrackio_by_hand() -> None:
    # F = 50 mm: l1 = k1/F^2, l3 = k2/F^4, l5 = k3/F^6, q = p/F^2; l2, l4, l6 (denominator) zero
    entry = brown_conrady_to_opentrackio((-0.1, 0.02, 0.001, 0.0005, -0.0002), 50.0)
    assert entry.model == "Brown-Conrady U-D"  # OpenCV's direction: undistorted -> distorted
    assert entry.radial == pytest.approx((-4e-5, 0.0, 3.2e-9, 0.0, 6.4e-14, 0.0), rel=1e-12)
    assert entry.tangential == pytest.approx((2e-7, -8e-8), rel=1e-12)


def test_focal_length_in_mm_is_fx_times_sensor_width_over_image_width() -> None:
    # camdkit: F = w / w_px * fx. A calibration at 1920 px wide with fx = 2666.67 px on a 36 mm sensor: 50 mm
    lens = LensFile(LensIdentity("A", "B", "C"), SENSOR, (0.0,), (0.0,), {"focal_length_mm": ((49.0,),)})
    lens.add_calibration(CalibrationPoint(0, 0, 8000 / 3, 8000 / 3, 960.0, 540.0, -0.1, 0.02, 0.0005, -0.0002,
                                          0.001, 1920, 1080, 0.2, 20, "2026-11-21"))
    values = LensSolver(lens).solve(None, None)
    assert values.focal_length_mm == pytest.approx(50.0)
    assert values.brown_conrady == (-0.1, 0.02, 0.001, 0.0005, -0.0002)  # OpenCV's k1,k2,p1,p2,k3 reordered
    assert values.radial == pytest.approx((-4e-5, 0.0, 3.2e-9, 0.0, 6.4e-14, 0.0), rel=1e-9)


def test_projection_offset_by_hand() -> None:
    values = LensValues(focal_length_mm=50.0, principal_point_px=(1940.0, 1070.0))
    lens = to_opentrackio_lens(values, SENSOR)
    # dPx = 36/3840 * (1940 - 1920) = 0.1875; dPy = 20.25/2160 * (1070 - 1080) = -0.09375 (y down)
    assert lens.projection_offset_mm == (pytest.approx(0.1875), pytest.approx(-0.09375))


@pytest.mark.parametrize(("entry", "message"), [
    (LensDistortion((1e-5,)), "model 'Brown-Conrady D-U' maps distorted -> undistorted"),
    (LensDistortion((1e-5,), model="Kannala-Brandt"), "model 'Kannala-Brandt' is not one stagectl converts"),
    (LensDistortion((1e-5, 2e-6), model="Brown-Conrady U-D"), "radial[1] non-zero"),
    (LensDistortion((1e-5, 0, 0, 0, 0, 0, 1e-20), model="Brown-Conrady U-D"), "radial[6] non-zero"),
    (LensDistortion((1e-5,), (1e-7, 1e-7, 1e-9), "Brown-Conrady U-D"), "tangential[2] non-zero"),
])
def test_coefficients_without_an_opencv_form_are_refused(entry: LensDistortion, message: str) -> None:
    with pytest.raises(LensFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        brown_conrady_from_opentrackio(entry, 35.0)


def test_short_radial_lists_mean_zeros() -> None:
    entry = LensDistortion((-4e-5,), model="Brown-Conrady U-D")
    assert brown_conrady_from_opentrackio(entry, 50.0) == pytest.approx((-0.1, 0.0, 0.0, 0.0, 0.0))


@given(st.floats(5.0, 300.0), coefficient, coefficient, coefficient, coefficient, coefficient,
       st.floats(0.0, 3840.0), st.floats(0.0, 2160.0), st.floats(0.0, 1.0), st.floats(0.3, 1e4),
       st.floats(1.0, 32.0), st.floats(-1.0, 1.0))
def test_opentrackio_round_trip(focal: float, k1: float, k2: float, k3: float, p1: float, p2: float,
                                cx: float, cy: float, encoder: float, distance: float, t_stop: float,
                                pupil: float) -> None:
    values = LensValues(focal_length_mm=focal, focus_distance_m=distance, t_stop=t_stop,
                        entrance_pupil_offset_m=pupil, encoders=(encoder, None, 1.0 - encoder),
                        brown_conrady=(k1, k2, k3, p1, p2), principal_point_px=(cx, cy))
    lens = to_opentrackio_lens(values, SENSOR, raw_zoom=7, raw_focus=8)
    parse_sample(build_sample(OpenTrackIOSample(lens=lens), check=False))  # what a receiver accepts
    back = from_opentrackio_lens(lens, SENSOR)
    assert back.brown_conrady == pytest.approx(values.brown_conrady, rel=1e-9, abs=1e-15)
    assert back.principal_point_px == pytest.approx(values.principal_point_px, rel=1e-9, abs=1e-9)
    assert (back.focal_length_mm, back.focus_distance_m, back.t_stop, back.entrance_pupil_offset_m) == (
        focal, distance, t_stop, pupil)
    assert back.encoders == values.encoders and back.distortion_model == "Brown-Conrady U-D"


def test_every_demo_solve_makes_a_valid_opentrackio_lens_block() -> None:
    lens = load_lens_file(DEMO)
    solver = LensSolver(lens)
    for raw in range(0, 65536, 4096):
        values = solver.solve(raw, 65535 - raw, raw)
        block = build_sample(OpenTrackIOSample(lens=to_opentrackio_lens(values, lens.sensor)))["lens"]
        assert block["distortion"][0]["model"] == "Brown-Conrady U-D"
        assert ("focusDistance" in block) == (raw != 65535)  # infinity is left out, not sent as a number


def test_static_block_carries_sensor_identity_and_calibration_history() -> None:
    lens = load_lens_file(DEMO)
    static = to_opentrackio_static(lens)
    assert (static.sensor_width_mm, static.sensor_width_px) == (36.0, 3840)
    assert static.lens_model == "Zoom 24-70 mm T2.8"
    assert static.lens_calibration_history == ()


# --- Unreal --------------------------------------------------------------------------------------

def test_unreal_order_by_hand() -> None:
    # OpenCV distCoeffs: k1, k2, p1, p2, k3; Unreal spherical: K1, K2, K3, P1, P2
    assert opencv_to_unreal([0.1, 0.2, 0.3, 0.4, 0.5]) == (0.1, 0.2, 0.5, 0.3, 0.4)
    assert unreal_to_opencv([0.1, 0.2, 0.5, 0.3, 0.4]) == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert opencv_to_unreal([0.1, 0.2, 0.3, 0.4]) == (0.1, 0.2, 0.0, 0.3, 0.4)  # 4 coefficients: k3 = 0
    assert opencv_to_unreal([0.1, 0.2, 0.3, 0.4, 0.5, 0.0, 0.0, 0.0]) == (0.1, 0.2, 0.5, 0.3, 0.4)
    with pytest.raises(LensFileError, match="rational / thin prism"):
        opencv_to_unreal([0.1, 0.2, 0.3, 0.4, 0.5, 0.01, 0.0, 0.0])
    with pytest.raises(LensFileError, match="5 parameters"):
        unreal_to_opencv([0.1, 0.2])


@given(st.lists(coefficient, min_size=5, max_size=5))
def test_unreal_order_round_trip(opencv: list[float]) -> None:
    assert unreal_to_opencv(opencv_to_unreal(opencv)) == tuple(opencv)


def test_unreal_frame_by_hand_and_back() -> None:
    values = LensValues(focal_length_mm=50.0, principal_point_px=(1920.0, 1080.0),
                        brown_conrady=(-0.1, 0.02, 0.001, 0.0005, -0.0002))
    frame = to_unreal_frame(values, SENSOR)
    assert frame["FxFy"] == pytest.approx([50.0 / 36.0, 50.0 / 20.25])  # fx / w_px = F / w_mm
    assert frame["PrincipalPoint"] == [0.5, 0.5]
    assert frame["DistortionParameters"] == [-0.1, 0.02, 0.001, 0.0005, -0.0002]  # K1, K2, K3, P1, P2
    back = from_unreal_frame({k: v for k, v in frame.items() if k != "FocalLength"}, SENSOR)
    assert back.focal_length_mm == pytest.approx(50.0)
    assert (back.principal_point_px, back.brown_conrady) == (values.principal_point_px, values.brown_conrady)


def test_unreal_nodes_cover_the_grid() -> None:
    lens = load_lens_file(DEMO)
    nodes = to_unreal_nodes(lens)
    assert len(nodes) == 45 and (nodes[0]["Zoom"], nodes[0]["Focus"], nodes[1]["Focus"]) == (0.0, 0.0, 0.25)
    assert nodes[-1]["DistortionParameters"] == [0.014, 0.008, 0.0, 0.0, -0.0001]


# --- CSV -----------------------------------------------------------------------------------------

def test_csv_round_trip_of_the_demo_lens() -> None:
    lens = load_lens_file(DEMO)
    text = lens_to_csv(lens)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert text.splitlines()[1] == "0,0,0.0,0.0,24.0,inf,0.12,1920.0,1080.0,-0.07,0.02,-0.002,0.0002,-0.0001"
    assert len(text.splitlines()) == 1 + 45
    back = lens_from_csv(text, lens, "t.csv")
    assert lens_file_to_json(back) == lens_file_to_json(lens)


finite = st.floats(-1e3, 1e3, allow_nan=False)


@st.composite
def small_lenses(draw: st.DrawFn) -> LensFile:
    zooms = sorted(draw(st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True)))
    focuses = sorted(draw(st.lists(st.integers(0, 100), min_size=1, max_size=3, unique=True)))
    rows, cols = len(zooms), len(focuses)
    steps = draw(st.lists(st.floats(0.01, 50.0), min_size=rows * cols, max_size=rows * cols))
    focal = tuple(tuple(10.0 + sum(steps[k * cols + j] for k in range(i + 1)) for j in range(cols))
                  for i in range(rows))
    tables: dict[str, Any] = {"focal_length_mm": focal}
    if draw(st.booleans()):
        tables["k1"], tables["k2"], tables["k3"], tables["p1"], tables["p2"] = (
            tuple(tuple(draw(finite) for _ in range(cols)) for _ in range(rows)) for _ in range(5))
    if draw(st.booleans()):
        tables["focus_distance_m"] = tuple((math.inf, *(10.0 / (j + 1) for j in range(cols - 1)))
                                           for _ in range(rows))
    return LensFile(LensIdentity("A", "B", "C"), SENSOR, tuple(z / 100 for z in zooms),
                    tuple(f / 100 for f in focuses), tables,
                    {"zoom": EncoderMap((0, 65535), (0.0, 1.0)), "focus": EncoderMap((65535, 0), (0.0, 1.0))})


@given(small_lenses())
def test_csv_round_trip(lens: LensFile) -> None:
    back = lens_from_csv(lens_to_csv(lens), lens)
    assert (back.grid_zoom, back.grid_focus, back.tables) == (lens.grid_zoom, lens.grid_focus, lens.tables)


def _demo_csv() -> tuple[LensFile, list[str]]:
    lens = load_lens_file(DEMO)
    return lens, lens_to_csv(lens).splitlines()


def _import(lines: list[str], lens: LensFile | None = None) -> list[str]:
    with pytest.raises(LensFileError) as info:
        lens_from_csv("\n".join(lines) + "\n", lens or load_lens_file(DEMO), "table.csv")
    return [str(e) for e in info.value.errors]


def _edit(lines: list[str], line: int, column: str, value: str) -> list[str]:
    out = list(lines)
    cells = out[line - 1].split(",")
    cells[CSV_COLUMNS.index(column)] = value
    out[line - 1] = ",".join(cells)
    return out


@pytest.mark.parametrize(("line", "column", "value", "expected"), [
    (4, "focal_length_mm", "24,2", "table.csv:4: 15 cells, but the header names 14 columns"),  # decimal comma
    (4, "focal_length_mm", "abc", "table.csv:4: focal_length_mm: not a number ('abc')"),
    (5, "k2", "nan", "table.csv:5: k2: not a finite number (nan)"),
    (6, "focal_length_mm", "-3", "table.csv:6: focal_length_mm: must be > 0, got -3"),
    (3, "zoom_normalised", "1.5", "table.csv:3: zoom_normalised: must be within 0..1, got 1.5"),
    (3, "focus_raw", "12.5", "table.csv:3: focus_raw: not a whole number of counts (12.5)"),
    (3, "focus_raw", "40000", "table.csv:3: focus_raw: 40000 disagrees with focus_normalised 0.25 "
                              "(raw 16384): edit one and clear the other"),
    (7, "cy_px", "", "table.csv:7: cy_px: blank, but other cells of this table are filled: fill it or clear "
                     "them all"),
    (8, "focal_length_mm", "20.0", "table.csv:8: focal_length_mm: 20 mm is not longer than the previous "
                                   "zoom position's 24.09 mm: focal length must grow from wide (zoom 0) to "
                                   "tele (zoom 1)"),
    (4, "focus_distance_m", "3.0", "table.csv:4: focus_distance_m: 3 m is not closer than the previous focus "
                                   "position's 2 m: focus distance must shrink from infinity (focus 0) to "
                                   "closest (focus 1)"),
    (2, "focus_distance_m", "Infinity", None),  # inf, infinity, ∞ all mean a focus at infinity
])
def test_each_bad_cell_is_named_by_line_and_column(line: int, column: str, value: str,
                                                   expected: str | None) -> None:
    lens, lines = _demo_csv()
    edited = _edit(lines, line, column, value)
    if expected is None:
        lens_from_csv("\n".join(edited), lens, "table.csv")
        return
    errors = _import(edited, lens)
    assert errors[0] == expected and (len(errors) == 1 or "," in value)


def test_structural_problems_are_reported() -> None:
    lens, lines = _demo_csv()
    assert _import([lines[0], *lines[1:-1]]) == [
        "table.csv: no row for zoom 1.0, focus 1.0: every zoom needs every focus (a full grid)"]
    assert _import([*lines, lines[5]]) == ["table.csv:47: zoom 0.0, focus 1.0 again (first on line 6)"]
    header = lines[0].replace("focal_length_mm", "focal_length")
    assert _import([header, *lines[1:]])[0].startswith(
        "table.csv:1: focal_length: unknown column; did you mean 'focal_length_mm'?")
    assert _import([lines[0] + ",k1", *lines[1:]])[0] == "table.csv:1: k1: column given twice"
    assert _import([lines[0], lines[1] + ",7"]) == ["table.csv:2: 15 cells, but the header names 14 columns"]
    no_norm = [",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in lines]
    no_encoder = copy.deepcopy(lens)
    del no_encoder.encoders["zoom"]
    assert _import(no_norm[:3], no_encoder)[0] == (
        "table.csv:2: zoom_raw: the lens file has no encoders.zoom mapping: give zoom_normalised")


def test_raw_counts_alone_place_a_row_and_rows_may_come_in_any_order() -> None:
    lens, lines = _demo_csv()
    cleared = [lines[0]] + [_edit([line], 1, "zoom_normalised", "")[0] for line in reversed(lines[1:])]
    back = lens_from_csv("\n".join(cleared), lens)
    assert back.grid_zoom[1] == pytest.approx(8192 / 65535)  # raw 8192 -> normalised, via encoders.zoom
    assert back.tables["focal_length_mm"] == lens.tables["focal_length_mm"]


def test_spreadsheet_flavours_are_read() -> None:
    lens, lines = _demo_csv()
    european = "\ufeff" + "\n".join(line.replace(",", ";").replace(".", ",") for line in lines)
    assert lens_file_to_json(lens_from_csv(european, lens)) == lens_file_to_json(lens)
    tabs = "\r\n".join(line.replace(",", "\t") for line in lines) + "\r\n\r\n"
    assert lens_file_to_json(lens_from_csv(tabs, lens)) == lens_file_to_json(lens)


def test_clearing_a_whole_table_removes_it() -> None:
    lens, lines = _demo_csv()
    cleared = [lines[0]] + [_edit(_edit([line], 1, "cx_px", ""), 1, "cy_px", "")[0] for line in lines[1:]]
    back = lens_from_csv("\n".join(cleared), lens)
    assert "cx_px" not in back.tables and "cy_px" not in back.tables and "k1" in back.tables


def test_the_opentrackio_simulator_sends_opencv_distortion_that_converts_back() -> None:
    from tracking.opentrackio_sim import simulated_lens
    from tracking.simulator import MotionModel

    pose = MotionModel(0).pose(3.0)
    lens = simulated_lens(pose)
    assert lens.pinhole_focal_length_mm is not None
    zoom = pose.zoom_raw / 0xFFFF  # tracking.simulator.RAW_RANGE
    k1, k2, k3, p1, p2 = brown_conrady_from_opentrackio(lens.distortion[0], lens.pinhole_focal_length_mm)
    assert (k1, k2) == pytest.approx((-0.08 * (1.0 - zoom) + 0.01, 0.02), rel=1e-9)
    assert (k3, p1, p2) == (0.0, 0.0, 0.0)
