"""Lens files: loading the demo lens, every validation error with its file and JSON path, atomic
saving, and calibrations feeding the grid."""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from lens.lensfile import (
    SCHEMA,
    CalibrationPoint,
    EncoderMap,
    LensFile,
    LensFileError,
    LensIdentity,
    SensorSize,
    dump_lens_file,
    lens_file_to_json,
    load_lens_file,
    parse_lens_json,
    parse_lens_text,
    save_lens_file,
)
from lens.lensfile_check import CALIBRATION_FIELDS, check_lens_json
from stagectl.core.errors import ConfigError, StageError
from tests.support.cli import REPO

DEMO = REPO / "lens" / "data" / "demo_zoom_24_70.json"


def demo_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text())
    return data


def small_lens(**changes: Any) -> LensFile:
    """2 zoom x 2 focus positions, raw 0..1000 on both axes, focal length only."""
    lens = LensFile(LensIdentity("Test", "Zoom 20-60", "T-1"), SensorSize(36.0, 20.25, 3840, 2160),
                    (0.0, 1.0), (0.0, 1.0), {"focal_length_mm": ((20.0, 21.0), (60.0, 62.0))},
                    {"zoom": EncoderMap((0, 1000), (0.0, 1.0)), "focus": EncoderMap((0, 1000), (0.0, 1.0))})
    for name, value in changes.items():
        setattr(lens, name, value)
    return lens


def point(**changes: Any) -> CalibrationPoint:
    values: dict[str, Any] = dict(zoom_raw=500, focus_raw=0, fx_px=1600.0, fy_px=1600.0, cx_px=965.0,
                                  cy_px=538.0, k1=-0.05, k2=0.01, p1=0.0001, p2=-0.0002, k3=0.001,
                                  image_width_px=1920, image_height_px=1080, rms_px=0.21, images_used=24,
                                  date="2026-11-21T10:00:00+00:00")
    values.update(changes)
    return CalibrationPoint(**values)


def errors_of(data: Any) -> list[str]:
    with pytest.raises(LensFileError) as info:
        parse_lens_json(data, "lens.json")
    return [str(e) for e in info.value.errors]


# --- loading -------------------------------------------------------------------------------------

def test_the_demo_lens_loads_with_its_grid_tables_and_encoders() -> None:
    lens = load_lens_file(DEMO)
    assert lens.name == "demo_zoom_24_70.json"
    assert (len(lens.grid_zoom), len(lens.grid_focus)) == (9, 5)
    assert lens.tables["focal_length_mm"][0][0] == 24.0 and lens.tables["focal_length_mm"][-1][0] == 70.0
    assert lens.tables["focus_distance_m"][3][0] == math.inf  # "inf" in the file
    assert set(lens.tables) == {"focal_length_mm", "focus_distance_m", "entrance_pupil_m", "cx_px", "cy_px",
                                "k1", "k2", "k3", "p1", "p2"}
    assert lens.encoders["zoom"].raw == (0, 65535)  # what tracking/simulator.py sends
    assert lens.iris is not None and lens.iris.t_stop[0] == 2.8


def test_save_then_load_gives_the_same_lens_and_the_same_text(tmp_path: Path) -> None:
    lens = load_lens_file(DEMO)
    path = tmp_path / "copy.json"
    save_lens_file(lens, path)
    again = load_lens_file(path)
    assert lens_file_to_json(again) == lens_file_to_json(lens)
    assert path.read_text() == DEMO.read_text()  # the demo file is exactly what save writes
    assert '"inf"' in path.read_text() and "Infinity" not in path.read_text()


def test_table_rows_are_one_line_each() -> None:
    text = dump_lens_file(load_lens_file(DEMO))
    assert '      [24.0, 24.09, 24.18, 24.27, 24.36],\n' in text


# --- validation: each error names the file and the JSON path -------------------------------------

def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    target: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("grid.zoom.3", 0.2, "lens.json: grid.zoom[3]: not ascending (0.2 after 0.25)"),
    ("grid.focus.1", 1.5, "lens.json: grid.focus[1]: must be within 0..1, got 1.5"),
    ("identity.make", _DELETE, "lens.json: identity.make: missing (required)"),
    ("identity.serial", "", "lens.json: identity.serial: expected a non-empty string, got a string ('')"),
    ("sensor.width_px", True, "lens.json: sensor.width_px: expected a whole number, got a boolean (true)"),
    ("sensor.width_mm", 0, "lens.json: sensor.width_mm: must be > 0, got 0"),
    ("sensor.height_mm", "20", "lens.json: sensor.height_mm: expected a number, got a string ('20')"),
    ("tables.focal_length_mm.2.1", -31.0, "lens.json: tables.focal_length_mm[2][1]: must be > 0, got -31.0"),
    ("tables.focal_length_mm.2.1", False,
     "lens.json: tables.focal_length_mm[2][1]: expected a number, got a boolean (false)"),
    ("tables.focal_length_mm.3", [35.8, 36.0],
     "lens.json: tables.focal_length_mm[3]: expected 5 values (one per grid.focus value), got 2"),
    ("tables.entrance_pupil_m", [[0.1] * 5] * 8,
     "lens.json: tables.entrance_pupil_m: expected 9 rows (one per grid.zoom value), got 8"),
    ("tables.focal_length_mm.4.0", 30.0, "lens.json: tables.focal_length_mm[4][0]: 30 mm is not longer than "
     "the previous zoom position's 35.8545 mm: focal length must grow from wide (zoom 0) to tele (zoom 1)"),
    ("tables.focus_distance_m.0.2", 3.0, "lens.json: tables.focus_distance_m[0][2]: 3 m is not closer than "
     "the previous focus position's 2 m: focus distance must shrink from infinity (focus 0) to closest "
     "(focus 1)"),
    ("tables.focus_distance_m.0.2", "far",
     'lens.json: tables.focus_distance_m[0][2]: expected a number or "inf", got a string (\'far\')'),
    ("tables.focus_distance_m.0.1", 0.0, "lens.json: tables.focus_distance_m[0][1]: must be > 0, got 0.0"),
    ("tables.principal_point_px.1.2", [1919.75],
     "lens.json: tables.principal_point_px[1][2]: expected 2 numbers [cx, cy], got 1"),
    ("tables.distortion.direction", "distorted-to-undistorted",
     "lens.json: tables.distortion.direction: a string ('distorted-to-undistorted') is not supported; "
     "allowed: 'undistorted-to-distorted (OpenCV)'"),
    ("tables.focal_length", [[1.0]], "lens.json: tables.focal_length: unknown key; did you mean "
     "'focal_length_mm'?; allowed: focal_length_mm, focus_distance_m, entrance_pupil_m, principal_point_px, "
     "distortion"),
    ("encoders.zoom", _DELETE, "lens.json: encoders.zoom: missing: grid.zoom has 9 positions, so raw zoom "
     "counts need a mapping to them"),
    ("encoders.focus.raw", [0, 40000, 30000], "lens.json: encoders.focus.normalised: expected 3 normalised "
     "values (one per raw count), got 2"),
    ("encoders.focus.raw", [0, 0], "lens.json: encoders.focus.raw: not strictly monotonic ([0, 0]): each "
     "count must map to one position"),
    ("encoders.iris.raw.1", 1.5,
     "lens.json: encoders.iris.raw[1]: expected a whole number, got a number (1.5)"),
    ("encoders.zoom.normalised.1", 1.2,
     "lens.json: encoders.zoom.normalised[1]: must be within 0..1, got 1.2"),
    ("iris.t_stop.2", 3.5, "lens.json: iris.t_stop[2]: not ascending (3.5 after 4): the T-stop must grow as "
     "the iris closes (iris 0 = open)"),
    ("iris.t_stop.0", -2.8, "lens.json: iris.t_stop[0]: must be > 0, got -2.8"),
    ("encoders.iris", _DELETE, "lens.json: encoders.iris: missing: iris has T-stops at several positions, so "
     "raw iris counts need a mapping to them"),
    ("notes", 3, "lens.json: notes: expected a string, got a number (3)"),
])
def test_each_bad_value_is_named_by_file_and_json_path(path: str, value: Any, expected: str) -> None:
    assert errors_of(_set(demo_json(), path, value)) == [expected]


@pytest.mark.parametrize(("schema", "expected"), [
    ("stagectl.lens/2", "lens.json: schema: a string ('stagectl.lens/2') is not supported: this stagectl "
                        "reads 'stagectl.lens/1' lens files"),
    (_DELETE, "lens.json: schema: missing: this stagectl reads 'stagectl.lens/1' lens files"),
])
def test_a_wrong_schema_version_is_the_only_error_reported(schema: Any, expected: str) -> None:
    data = _set(demo_json(), "schema", schema)
    data["grid"] = "nonsense"  # another version's file: its other keys are not judged
    assert errors_of(data) == [expected]


def test_nan_and_infinity_tokens_are_caught_with_their_path_and_line() -> None:
    text = DEMO.read_text().replace("[27.4361, 27.539,", "[27.4361, NaN,", 1)
    text = text.replace('["inf", 2.0, 1.0, 0.6667, 0.5]', '[Infinity, 2.0, 1.0, 0.6667, 0.5]', 1)
    with pytest.raises(LensFileError) as info:
        parse_lens_text(text, "lens.json")
    assert [str(e) for e in info.value.errors] == [
        "lens.json:35: tables.focal_length_mm[1][1]: not a finite number (nan)",
        'lens.json:45: tables.focus_distance_m[0][0]: not a finite number (inf) (write "inf" for a focus at '
        'infinity)',
    ]
    assert str(info.value).startswith("lens.json: 2 errors:\nlens.json:35: tables.focal_length_mm[1][1]")
    assert info.value.key == "tables.focal_length_mm[1][1]" and info.value.path == "lens.json"


def test_with_lines_each_problem_names_its_line_in_the_file() -> None:
    text = DEMO.read_text().replace("[27.4361, 27.539,", "[27.4361, NaN,", 1)
    text = text.replace('"make":', '"maker":', 1)
    with pytest.raises(LensFileError) as info:
        parse_lens_text(text, "lens.json", lines=True)
    lines = text.splitlines()
    got = {e.key: e.line or 0 for e in info.value.errors}
    assert set(got) == {"identity.maker", "identity.make", "tables.focal_length_mm[1][1]"}
    assert all(line > 0 for line in got.values())
    assert '"maker"' in lines[got["identity.maker"] - 1]
    assert lines[got["identity.make"] - 1].strip() == '"identity": {'  # missing: where its object is
    assert "27.4361, NaN," in lines[got["tables.focal_length_mm[1][1]"] - 1]
    assert str(info.value).splitlines()[1] == (f"lens.json:{got['identity.maker']}: identity.maker: unknown "
                                               "key; did you mean 'make'?; allowed: make, model, serial")


def test_the_checker_knows_the_format_not_the_model() -> None:
    parts = check_lens_json(demo_json(), "lens.json")
    assert parts.identity == demo_json()["identity"] and parts.encoders["zoom"][0] == (0, 65535)
    assert tuple(f.name for f in fields(CalibrationPoint)) == CALIBRATION_FIELDS
    lens = parse_lens_json(demo_json())
    assert (lens.tables, lens.grid_zoom) == (parts.tables, parts.grid_zoom)
    assert lens.encoders["zoom"].raw == (0, 65535)


def test_every_problem_is_reported_at_once() -> None:
    data = _set(_set(_set(demo_json(), "grid.zoom.3", 0.2), "sensor.width_px", 0), "identity.make", _DELETE)
    assert errors_of(data) == ["lens.json: identity.make: missing (required)",
                               "lens.json: sensor.width_px: must be >= 1, got 0",
                               "lens.json: grid.zoom[3]: not ascending (0.2 after 0.25)"]


def test_the_error_is_a_config_error_with_path_and_key(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(_set(demo_json(), "grid.zoom.3", 0.2)))
    with pytest.raises(LensFileError) as info:
        load_lens_file(path)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, StageError)
    assert (info.value.path, info.value.key) == (str(path), "grid.zoom[3]")


def test_unreadable_and_malformed_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(LensFileError, match=r"missing\.json: cannot read the lens file: No such file"):
        load_lens_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "schema": "stagectl.lens/1",\n  "grid": [1, 2,,]\n}\n')
    with pytest.raises(LensFileError) as info:
        load_lens_file(bad)
    assert info.value.line == 3 and str(info.value).startswith(f"{bad}:3: not valid JSON")


def test_a_lens_file_needs_only_identity_sensor_grid_and_focal_length() -> None:
    lens = parse_lens_json({"schema": SCHEMA, "identity": {"make": "A", "model": "50 mm", "serial": "1"},
                            "sensor": {"width_mm": 36, "height_mm": 24, "width_px": 6000, "height_px": 4000},
                            "grid": {"zoom": [0.0], "focus": [0.0]}, "tables": {"focal_length_mm": [[50.2]]}})
    assert lens.tables == {"focal_length_mm": ((50.2,),)} and lens.encoders == {}


# --- saving --------------------------------------------------------------------------------------

def test_a_failed_save_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lens.json"
    save_lens_file(small_lens(), path)
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    changed = small_lens(notes="changed")
    with pytest.raises(OSError, match="No space left"):
        save_lens_file(changed, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lens.json"]  # no temporary file left behind


def test_a_failed_fsync_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lens.json"
    save_lens_file(small_lens(), path)
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        save_lens_file(small_lens(notes="changed"), path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_an_invalid_lens_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "lens.json"
    save_lens_file(small_lens(), path)
    before = path.read_bytes()
    bad = small_lens(tables={"focal_length_mm": ((20.0, 21.0), (10.0, 62.0))})  # shorter at tele
    with pytest.raises(LensFileError, match=r"focal_length_mm\[1\]\[0\]: 10 mm is not longer"):
        save_lens_file(bad, path)
    assert path.read_bytes() == before


def test_save_keeps_the_old_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "lens.json"
    save_lens_file(small_lens(), path)
    path.chmod(0o640)
    save_lens_file(small_lens(notes="again"), path)
    assert path.stat().st_mode & 0o777 == 0o640


# --- calibrations --------------------------------------------------------------------------------

def test_a_calibration_between_grid_lines_inserts_one_and_leaves_the_rest() -> None:
    lens = small_lens()
    lens.add_calibration(point(zoom_raw=500, focus_raw=0))  # zoom 0.5 is new, focus 0 exists
    assert lens.grid_zoom == (0.0, 0.5, 1.0) and lens.grid_focus == (0.0, 1.0)
    focal = lens.tables["focal_length_mm"]
    assert focal[1][0] == pytest.approx(1600.0 * 36.0 / 1920)  # fx * sensor width mm / image width px = 30
    assert focal[1][1] == pytest.approx(41.5)  # the new line's other node: interpolated from 21 and 62
    assert (focal[0], focal[2]) == ((20.0, 21.0), (60.0, 62.0))
    assert lens.tables["cx_px"][1][0] == pytest.approx(965.0 * 3840 / 1920)  # scaled to the sensor's pixels
    assert lens.tables["cy_px"][1][0] == pytest.approx(538.0 * 2160 / 1080)
    # tables the file did not have start as this calibration's values at every node
    assert lens.tables["k1"] == ((-0.05, -0.05), (-0.05, -0.05), (-0.05, -0.05))
    assert lens.tables["k3"][0][0] == 0.001 and lens.tables["p2"][2][1] == -0.0002
    assert lens.calibrations == [point(zoom_raw=500, focus_raw=0)]


def test_a_calibration_on_a_grid_node_overrides_it(tmp_path: Path) -> None:
    lens = small_lens()
    lens.add_calibration(point(zoom_raw=1000, focus_raw=1000, fx_px=3500.0, k1=0.02))
    lens.add_calibration(point(zoom_raw=0, focus_raw=0, fx_px=1100.0, k1=-0.1))
    assert lens.grid_zoom == (0.0, 1.0)  # the nodes existed: nothing inserted
    assert lens.tables["focal_length_mm"] == ((1100.0 * 36 / 1920, 21.0), (60.0, 3500.0 * 36 / 1920))
    assert lens.tables["k1"] == ((-0.1, 0.02), (0.02, 0.02))
    path = tmp_path / "lens.json"
    save_lens_file(lens, path)
    again = load_lens_file(path)
    assert again.calibrations == lens.calibrations and again.tables == lens.tables


def test_a_calibration_near_a_grid_line_snaps_to_it() -> None:
    lens = small_lens(encoders={"zoom": EncoderMap((0, 100000), (0.0, 1.0)),
                                "focus": EncoderMap((0, 1000), (0.0, 1.0))})
    lens.add_calibration(point(zoom_raw=99995, focus_raw=0, fx_px=3300.0))  # 0.99995: within 1e-4 of 1
    assert lens.grid_zoom == (0.0, 1.0)


def test_a_calibration_beyond_a_one_axis_grid_extends_it() -> None:
    lens = small_lens(grid_zoom=(0.0, 0.5), grid_focus=(0.0,), tables={"focal_length_mm": ((20.0,), (40.0,))},
                      encoders={"zoom": EncoderMap((0, 1000), (0.0, 1.0))})
    lens.add_calibration(point(zoom_raw=1000, focus_raw=0, fx_px=4000.0))
    assert lens.grid_zoom == (0.0, 0.5, 1.0)
    assert lens.tables["focal_length_mm"] == ((20.0,), (40.0,), (75.0,))


def test_a_calibration_beyond_a_2d_grid_is_refused_rather_than_extrapolated() -> None:
    lens = small_lens(grid_zoom=(0.0, 0.5))
    with pytest.raises(LensFileError) as info:
        lens.add_calibration(point(zoom_raw=1000, focus_raw=0, fx_px=4000.0))
    assert info.value.key == "calibration.zoom_raw"
    assert "zoom 1.0000 lies outside the grid's zoom range 0..0.5" in str(info.value)
    assert lens.grid_zoom == (0.0, 0.5) and lens.calibrations == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"fx_px": 0.0}, "calibration.fx_px: must be > 0, got 0.0"),
    ({"k1": math.nan}, "calibration.k1: not a finite number (nan)"),
    ({"images_used": True}, "calibration.images_used: expected a whole number, got a boolean (true)"),
    ({"date": "yesterday"}, "calibration.date: not an ISO 8601 date or date-time ('yesterday')"),
    ({"image_width_px": 1920, "image_height_px": 1200}, "calibration.image_width_px: calibration images of "
     "1920 x 1200 px are not the shape of the sensor's 3840 x 2160 px"),
    ({"cx_px": 2000.0}, "calibration.cx_px: 2000.0 lies outside the image (0..1920)"),
    ({"fx_px": 9000.0}, "calibration: the calibration at raw zoom 500, focus 0 does not fit the lens file: "
     "tables.focal_length_mm[2][0]: 60 mm is not longer than the previous zoom position's 168.75 mm"),
])
def test_a_bad_calibration_is_refused_and_changes_nothing(changes: dict[str, Any], expected: str) -> None:
    lens = small_lens()
    before = lens_file_to_json(lens)
    with pytest.raises(LensFileError) as info:
        lens.add_calibration(point(**changes))
    assert expected in str(info.value)
    assert lens_file_to_json(lens) == before
