"""ASC CDL export (.cc / .cdl / .ccc), read back by OpenColorIO and ElementTree, checked by hand."""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import PyOpenColorIO as OCIO  # type: ignore[import-untyped, unused-ignore]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.colour import Cdl
from stagectl.core.errors import StageError
from stagectl.takes.export.cdl import export_cdl, format_cdl_number
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import TakeData
from tests.take_factory import GRADE, WALL_GRADE, make_take

NS = "{urn:ASC:CDL:v1.01}"


def paths_by_ext(paths: list[Path]) -> dict[str, Path]:
    return {p.suffix: p for p in paths}


def assert_grade(cdl: OCIO.CDLTransform, grade: Cdl) -> None:
    # Exact: "1.1" parses to the same double as the literal 1.1 in GRADE.
    assert tuple(cdl.getSlope()) == grade.slope
    assert tuple(cdl.getOffset()) == grade.offset
    assert tuple(cdl.getPower()) == grade.power
    assert cdl.getSat() == grade.saturation


def test_writes_three_files_named_after_the_take(tmp_path: Path) -> None:
    paths = export_cdl(make_take(), tmp_path)
    assert paths == [tmp_path / "12-A-T003.cc", tmp_path / "12-A-T003.cdl", tmp_path / "12-A-T003.ccc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temp files left


def test_cc_read_by_opencolorio_is_the_primary_grade(tmp_path: Path) -> None:
    cc = paths_by_ext(export_cdl(make_take(), tmp_path))[".cc"]
    cdl = OCIO.CDLTransform.CreateFromFile(str(cc), "")
    assert cdl.getID() == "12-A-T003_frustum"
    assert_grade(cdl, GRADE)


def test_cdl_holds_each_zone_by_id(tmp_path: Path) -> None:
    path = str(paths_by_ext(export_cdl(make_take(), tmp_path))[".cdl"])
    assert_grade(OCIO.CDLTransform.CreateFromFile(path, "12-A-T003_frustum"), GRADE)
    assert_grade(OCIO.CDLTransform.CreateFromFile(path, "12-A-T003_wall"), WALL_GRADE)


@pytest.mark.parametrize("ext", [".cdl", ".ccc"])
def test_group_read_lists_every_zone_primary_first(tmp_path: Path, ext: str) -> None:
    path = str(paths_by_ext(export_cdl(make_take(), tmp_path))[ext])
    group = list(OCIO.CDLTransform.CreateGroupFromFile(path))
    assert [t.getID() for t in group] == ["12-A-T003_frustum", "12-A-T003_wall"]
    assert_grade(group[0], GRADE)
    assert_grade(group[1], WALL_GRADE)


def test_zone_order_primary_then_by_name(tmp_path: Path) -> None:
    take = make_take()
    ceiling = Cdl(slope=(1.2, 1.2, 1.2))
    take.cdl_at_start = {"wall": WALL_GRADE, "frustum": GRADE, "ceiling": ceiling}
    group = list(OCIO.CDLTransform.CreateGroupFromFile(str(paths_by_ext(export_cdl(take, tmp_path))[".ccc"])))
    assert [t.getID() for t in group] == ["12-A-T003_frustum", "12-A-T003_ceiling", "12-A-T003_wall"]


def test_without_a_frustum_zone_the_wall_is_primary(tmp_path: Path) -> None:
    take = make_take()
    take.cdl_at_start = {"wall": WALL_GRADE}
    cc = OCIO.CDLTransform.CreateFromFile(str(paths_by_ext(export_cdl(take, tmp_path))[".cc"]), "")
    assert cc.getID() == "12-A-T003_wall"
    assert_grade(cc, WALL_GRADE)


def children(element: ET.Element) -> list[str]:
    return [child.tag.removeprefix(NS) for child in element]


def test_xml_namespace_element_order_and_text(tmp_path: Path) -> None:
    paths = paths_by_ext(export_cdl(make_take(), tmp_path))
    cc = ET.parse(paths[".cc"]).getroot()
    assert cc.tag == f"{NS}ColorCorrection"
    assert cc.get("id") == "12-A-T003_frustum"
    assert children(cc) == ["Description", "SOPNode", "SatNode"]
    sop = cc.find(f"{NS}SOPNode")
    assert sop is not None
    assert children(sop) == ["Slope", "Offset", "Power"]
    assert [e.text for e in sop] == ["1.1 1.0 0.9", "0.01 0.0 -0.02", "1.0 1.05 0.95"]
    assert cc.findtext(f"{NS}SatNode/{NS}Saturation") == "0.9"
    description = cc.findtext(f"{NS}Description") or ""
    assert "look dusk" in description and "12-A-T003" in description and "frustum" in description

    cdl = ET.parse(paths[".cdl"]).getroot()
    assert cdl.tag == f"{NS}ColorDecisionList"
    assert children(cdl) == ["Description", "ColorDecision", "ColorDecision"]
    assert [children(d) for d in cdl.findall(f"{NS}ColorDecision")] == [["ColorCorrection"]] * 2

    ccc = ET.parse(paths[".ccc"]).getroot()
    assert ccc.tag == f"{NS}ColorCorrectionCollection"
    assert children(ccc) == ["Description", "ColorCorrection", "ColorCorrection"]
    assert paths[".cc"].read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>\n')


def test_look_names_are_escaped(tmp_path: Path) -> None:
    take = make_take()
    take.info = dataclasses.replace(take.info, look_at_start='dusk & "rain" <2>')
    paths = paths_by_ext(export_cdl(take, tmp_path))
    description = ET.parse(paths[".cc"]).getroot().findtext(f"{NS}Description") or ""
    assert 'look dusk & "rain" <2>,' in description
    assert_grade(OCIO.CDLTransform.CreateFromFile(str(paths[".cc"]), ""), GRADE)


def test_a_pixel_through_opencolorio_matches_the_asc_cdl_worked_by_hand(tmp_path: Path) -> None:
    # in = (0.5, 0.4, 0.3); GRADE: slope (1.1, 1.0, 0.9), offset (0.01, 0, -0.02),
    #   power (1, 1.05, 0.95), saturation 0.9
    #   r: 0.5 * 1.1 + 0.01 = 0.56,   0.56 ** 1.0  = 0.560000
    #   g: 0.4 * 1.0 + 0.0  = 0.40,   0.40 ** 1.05 = exp(1.05 * ln 0.4) = exp(-0.962105) = 0.382088
    #   b: 0.3 * 0.9 - 0.02 = 0.25,   0.25 ** 0.95 = exp(0.95 * ln 0.25) = exp(-1.316980) = 0.267943
    #   luma = 0.2126 * 0.56 + 0.7152 * 0.382088 + 0.0722 * 0.267943
    #        = 0.119056 + 0.273269 + 0.019345 = 0.411671
    #   out = luma + 0.9 * (c - luma): r 0.545167, g 0.385046, b 0.282316
    expected = (0.545167, 0.385046, 0.282316)
    paths = paths_by_ext(export_cdl(make_take(), tmp_path))
    config = OCIO.Config.CreateRaw()
    transforms = [OCIO.CDLTransform.CreateFromFile(str(paths[".cc"]), ""),
                  OCIO.FileTransform(src=str(paths[".cdl"]), cccId="12-A-T003_frustum")]
    for transform in transforms:
        out = config.getProcessor(transform).getDefaultCPUProcessor().applyRGB([0.5, 0.4, 0.3])
        assert out == pytest.approx(expected, abs=5e-6)  # 6-decimal working, float32 maths in OCIO


def test_digits_round_trip_through_opencolorio(tmp_path: Path) -> None:
    take = make_take()
    grade = Cdl(slope=(1.234567, 0.000123, 12.5), offset=(-0.333333, 0.5, -1e-06),
                power=(0.987654, 2.0, 1.000001), saturation=1.123456)
    take.cdl_at_start = {"frustum": grade}
    cc = paths_by_ext(export_cdl(take, tmp_path))[".cc"]
    assert_grade(OCIO.CDLTransform.CreateFromFile(str(cc), ""), grade)


@given(st.floats(min_value=-1000.0, max_value=1000.0, allow_nan=False))
def test_number_format_keeps_six_decimals_and_never_an_exponent(value: float) -> None:
    text = format_cdl_number(value)
    assert re.fullmatch(r"-?\d+\.\d{1,6}", text), text
    assert text != "-0.0"
    assert abs(float(text) - value) <= 5e-7 + 1e-12 * abs(value)


def test_take_without_cdl_writes_nothing(tmp_path: Path) -> None:
    take = make_take()
    take.cdl_at_start = {}
    seen: list[float] = []
    assert export_cdl(take, tmp_path, progress=seen.append) == []
    assert list(tmp_path.iterdir()) == []
    assert seen == [1.0]


@pytest.mark.parametrize(("grade", "field"), [
    (Cdl(slope=(math.nan, 1.0, 1.0)), "slope.r"),
    (Cdl(power=(1.0, 0.0, 1.0)), "power.g"),
    (Cdl(offset=(0.0, 0.0, math.inf)), "offset.b"),
    (Cdl(saturation=-0.5), "saturation"),
])
def test_values_the_asc_cdl_cannot_hold_are_refused_and_nothing_is_written(
        tmp_path: Path, grade: Cdl, field: str) -> None:
    take: TakeData = make_take()
    take.cdl_at_start = {"frustum": GRADE, "wall": grade}
    with pytest.raises(ExportError, match=rf"zone 'wall': CDL {re.escape(field)} ") as err:
        export_cdl(take, tmp_path)
    assert isinstance(err.value, StageError)
    assert list(tmp_path.iterdir()) == []


def test_progress_runs_from_zero_to_one(tmp_path: Path) -> None:
    seen: list[float] = []
    export_cdl(make_take(), tmp_path, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
