"""``stagectl lens solve | export | import`` through the real command line."""

from __future__ import annotations

import argparse
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from lens.lensfile import load_lens_file
from stagectl.app import main
from stagectl.commands.lens import run_lens_command
from stagectl.core.opentrackio.sample import parse_sample
from tests.support.cli import REPO, stagectl

DEMO = REPO / "lens" / "data" / "demo_zoom_24_70.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_solve_json_through_a_real_process() -> None:
    done = stagectl("lens", "solve", str(DEMO), "--zoom", "0", "--focus", "16384", "--iris", "0", "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["lens_file"] == "demo_zoom_24_70.json"
    assert result["raw"] == {"zoom": 0, "focus": 16384, "iris": 0}
    assert result["focal_length_mm"] == pytest.approx(24.09, abs=1e-4)
    assert result["focus_distance_m"] == pytest.approx(2.0, rel=1e-4)
    assert result["t_stop"] == pytest.approx(2.8)
    assert result["principal_point_px"] == pytest.approx([1919.5, 1080.38], abs=1e-3)
    assert result["brown_conrady"]["direction"] == "undistorted-to-distorted (OpenCV)"
    assert result["opentrackio_distortion"]["model"] == "Brown-Conrady U-D"
    assert result["clamped"] == []


def test_solve_json_writes_infinity_as_a_string_and_clamps(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "lens", "solve", str(DEMO), "--zoom", "70000", "--focus", "0", "--json")
    result = json.loads(out)
    assert status == 0 and result["focus_distance_m"] == "inf"
    assert result["clamped"] == ["zoom"] and result["focal_length_mm"] == 70.0
    assert result["t_stop"] is None and result["encoders_normalised"]["iris"] is None  # no iris given


def test_solve_prints_text_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "lens", "solve", str(DEMO), "--zoom", "65535", "--focus", "0",
                         "--iris", "99999")
    lines = out.splitlines()
    assert status == 0
    assert "focal length    70.000 mm" in lines and "focus distance  infinity" in lines
    assert "T-stop          T22.0" in lines
    assert lines[-1].startswith("clamped         iris (outside the calibrated range")


def test_solve_without_zoom_says_what_it_cannot_know(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "lens", "solve", str(DEMO), "--focus", "100", "--json")
    result = json.loads(out)
    assert status == 0 and result["focal_length_mm"] is None and result["brown_conrady"] is None


def test_a_bad_lens_file_exits_2_naming_file_and_field(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    data = json.loads(DEMO.read_text())
    data["tables"]["focal_length_mm"][2][1] = math.nan
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, indent=1))
    status, out, err = run(capsys, "lens", "solve", str(bad), "--zoom", "1", "--focus", "1")
    assert (status, out) == (2, "")
    assert err == f"stagectl lens solve: {bad}:84: tables.focal_length_mm[2][1]: not a finite number (nan)\n"
    status, _, err = run(capsys, "lens", "solve", str(tmp_path / "none.json"))
    assert status == 2 and "none.json: cannot read the lens file" in err


def test_export_csv_edit_and_import_back(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lens_path = tmp_path / "lens.json"
    lens_path.write_text(DEMO.read_text())
    table = tmp_path / "table.csv"
    assert run(capsys, "lens", "export", str(lens_path), "--format", "csv", "-o", str(table))[0] == 0
    lines = table.read_text().splitlines()
    lines[1] = lines[1].replace(",24.0,inf,", ",23.5,inf,")  # the technician's edit
    table.write_text("\n".join(lines) + "\n")
    status, _out, err = run(capsys, "lens", "import", str(table), "-o", str(lens_path))
    assert status == 0, err
    assert err == f"updated {lens_path}: 9 zoom x 5 focus positions from {table}\n"
    lens = load_lens_file(lens_path)
    assert lens.tables["focal_length_mm"][0][0] == 23.5 and lens.identity.serial == "DEMO-2470-0001"


def test_a_bad_table_is_refused_and_the_lens_file_kept(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    lens_path = tmp_path / "lens.json"
    lens_path.write_text(DEMO.read_text())
    table = tmp_path / "table.csv"
    status, out, _ = run(capsys, "lens", "export", str(lens_path))
    table.write_text(out.replace(",24.09,", ",x,", 1))
    status, _, err = run(capsys, "lens", "import", str(table), "-o", str(lens_path))
    assert status == 2 and err == f"stagectl lens import: {table}:3: focal_length_mm: not a number ('x')\n"
    assert lens_path.read_text() == DEMO.read_text()


def test_export_opentrackio_gives_valid_lens_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "lens", "export", str(DEMO), "--format", "opentrackio")
    data = json.loads(out)
    assert status == 0 and len(data["nodes"]) == 45
    assert data["static"]["lens"]["model"] == "Zoom 24-70 mm T2.8"
    for node in data["nodes"]:
        sample = parse_sample({"lens": node["lens"]})
        assert sample.lens is not None and sample.lens.distortion[0].model == "Brown-Conrady U-D"
    first = data["nodes"][1]["lens"]
    assert first["rawEncoders"] == {"focus": 16384, "zoom": 0} and first["focusDistance"] == 2.0


def test_export_unreal(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "lens", "export", str(DEMO), "--format", "unreal")
    data = json.loads(out)
    assert status == 0 and data["nodes"][0]["DistortionParameters"] == [-0.07, 0.02, -0.002, 0.0002, -0.0001]
    assert data["nodes"][0]["FxFy"] == pytest.approx([24.0 / 36.0, 24.0 / 20.25])



def test_solve_names_the_unsolved_values_and_the_option_that_solves_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "lens", "solve", str(DEMO), "--focus", "100")
    assert status == 0 and "focal length    -" in out
    assert ("stagectl lens solve: focal length, focus distance, entrance pupil, principal point and "
            "distortion unsolved: the tables vary along zoom; give --zoom RAW") in err.splitlines()
    assert "stagectl lens solve: T-stop unsolved: the iris table varies along iris; give --iris RAW" in err


def test_solve_with_nothing_to_solve_is_a_usage_error_naming_the_options(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "lens", "solve", str(DEMO))
    assert (status, out) == (2, "")
    assert err == (f"stagectl lens solve: nothing to solve: {DEMO} needs --zoom RAW --focus RAW, raw encoder "
                   "counts (and --iris RAW for the T-stop)\n")


def test_import_into_a_new_lens_file_creates_it_and_says_with_what(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    assert run(capsys, "lens", "export", str(DEMO), "-o", str(table))[0] == 0
    lens_path = tmp_path / "new.json"
    status, _out, err = run(capsys, "lens", "import", str(table), "-o", str(lens_path))
    assert status == 0, err
    assert err.splitlines() == [
        f"created {lens_path}: make 'unknown', model 'new', serial 'unknown', sensor 36 x 20.25 mm, "
        "3840 x 2160 px; encoders zoom raw 0..65535, focus raw 0..65535 -> 0..1 (make, model, serial, "
        "sensor, encoders: defaults; edit the file to match the lens)",
        f"filled {lens_path}: 9 zoom x 5 focus positions from {table}"]
    lens, demo = load_lens_file(lens_path), load_lens_file(DEMO)
    assert lens.tables == demo.tables
    assert (lens.grid_zoom, lens.grid_focus) == (demo.grid_zoom, demo.grid_focus)
    status, out, _ = run(capsys, "lens", "solve", str(lens_path), "--zoom", "0", "--focus", "16384", "--json")
    assert status == 0 and json.loads(out)["focal_length_mm"] == pytest.approx(24.09)


def test_import_into_a_new_lens_file_takes_identity_and_sensor_from_the_options(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("zoom_normalised,focus_normalised,focal_length_mm\n0,0,32.0\n")
    lens_path = tmp_path / "prime.json"
    args = argparse.Namespace(lens_command="import", table=str(table), output=str(lens_path), make="Cooke",
                              model="S4/i 32mm", serial="CK-32-0007", sensor_mm=(24.9, 14.0),
                              sensor_px=(4096.0, 2304.0))
    err = io.StringIO()
    assert run_lens_command(args, io.StringIO(), err) == 0, err.getvalue()
    lens = load_lens_file(lens_path)
    assert (lens.identity.make, lens.identity.model, lens.identity.serial) == ("Cooke", "S4/i 32mm",
                                                                             "CK-32-0007")
    assert (lens.sensor.width_mm, lens.sensor.height_mm, lens.sensor.width_px, lens.sensor.height_px) == (
        24.9, 14.0, 4096, 2304)
    assert "(encoders: defaults; edit the file to match the lens)" in err.getvalue()


def test_the_command_line_carries_identity_and_sensor_for_a_new_lens(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("zoom_normalised,focus_normalised,focal_length_mm\n0,0,32.0\n")
    lens_path = tmp_path / "prime.json"
    status, _, err = run(capsys, "lens", "import", str(table), "-o", str(lens_path), "--make", "Cooke",
                         "--model", "S4/i 32mm", "--serial", "CK-32-0007", "--sensor-mm", "24.9x14",
                         "--sensor-px", "4096x2304")
    assert status == 0, err
    lens = load_lens_file(lens_path)
    assert (lens.identity.make, lens.identity.serial, lens.sensor.width_px) == ("Cooke", "CK-32-0007", 4096)
    with pytest.raises(SystemExit) as usage:
        main(["lens", "import", str(table), "-o", str(tmp_path / "x.json"), "--sensor-mm", "24.9by14"])
    assert usage.value.code == 2 and "is not WIDTHxHEIGHT" in capsys.readouterr().err


def test_a_bad_table_creates_no_new_lens_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("zoom_normalised,focus_normalised,focal_length_mm\n0,0,x\n")
    lens_path = tmp_path / "new.json"
    status, _, err = run(capsys, "lens", "import", str(table), "-o", str(lens_path))
    assert status == 2 and "focal_length_mm: not a number ('x')" in err
    assert not lens_path.exists()
