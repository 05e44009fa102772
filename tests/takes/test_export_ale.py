"""Avid ALE export, read back by the strict reader in tests/ale_reader.py against hand-worked values."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from pathlib import Path

import pytest

from stagectl.core.errors import StageError
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.export.ale import export_ale, export_ale_many
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import CameraTrack, TakeData
from tests.ale_reader import AleFormatError, parse_ale, read_ale
from tests.take_factory import GRADE, make_take, make_track

R2997 = FrameRate(Fraction(30000, 1001))
R23976 = FrameRate(Fraction(24000, 1001))
R25 = FrameRate(Fraction(25))


def only_row(path: Path) -> dict[str, str]:
    ale = read_ale(path)
    assert len(ale.rows) == 1
    return ale.rows[0]


def with_notes(take: TakeData, slate_notes: str, notes: str) -> TakeData:
    slate = dataclasses.replace(take.info.slate, notes=slate_notes)
    take.info = dataclasses.replace(take.info, slate=slate, notes=notes)
    return take


def test_one_take_heading_and_row_hand_worked(tmp_path: Path) -> None:
    paths = export_ale(make_take(), tmp_path)
    assert paths == [tmp_path / "12-A-T003.ale"]
    ale = read_ale(paths[0])
    assert ale.newline == "\r\n"
    assert ale.heading == {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48kHz",
                           "FPS": "24"}
    row = ale.rows[0]
    # 48 frames at 24 fps from 10:00:00:00: last frame 10:00:01:23; End is exclusive (Start + Duration).
    assert (row["Start"], row["End"], row["Duration"]) == ("10:00:00:00", "10:00:02:00", "00:00:02:00")
    assert row["Name"] == "12-A-T003"
    assert row["Tracks"] == "V"
    assert (row["Scene"], row["Shot"], row["Take"], row["Camera"]) == ("12", "A", "3", "A")
    assert row["Production"] == "Night Drive"
    assert row["Lens"] == "ZEISS Supreme Prime 35 SP35-0001 35mm"
    assert (row["Focal Length (mm)"], row["T-Stop"], row["Focus Distance (m)"]) == ("35", "2.8", "3")
    assert (row["Circled"], row["No Good"]) == ("Yes", "")
    assert (row["Comments"], row["Slate Notes"], row["Look"]) == ("good one", "rain on glass", "dusk")
    assert (row["Take ID"], row["Take State"]) == ("7", "complete")
    assert (row["Tape"], row["Source File"]) == ("12-A-T003", "12-A-T003_A.jsonl")


def test_asc_sop_and_sat_parse_back_to_the_grade(tmp_path: Path) -> None:
    row = only_row(export_ale(make_take(), tmp_path)[0])
    assert row["ASC_SOP"] == "(1.1 1.0 0.9)(0.01 0.0 -0.02)(1.0 1.05 0.95)"
    groups = re.fullmatch(r"\(([^)]*)\)\(([^)]*)\)\(([^)]*)\)", row["ASC_SOP"])
    assert groups is not None
    slope, offset, power = (tuple(float(v) for v in g.split(" ")) for g in groups.groups())
    assert (slope, offset, power) == (GRADE.slope, GRADE.offset, GRADE.power)
    assert float(row["ASC_SAT"]) == GRADE.saturation


def test_two_takes_give_two_rows_in_order(tmp_path: Path) -> None:
    first = make_take()
    second = make_take(tc_in="11:00:00:00", frames=24, take_id=8)
    second.info = dataclasses.replace(second.info, name="12-A-T004", circled=False)
    paths = export_ale_many([first, second], tmp_path, "day1")
    assert paths == [tmp_path / "day1.ale"]
    rows = read_ale(paths[0]).rows
    assert [r["Name"] for r in rows] == ["12-A-T003", "12-A-T004"]
    assert [r["Take ID"] for r in rows] == ["7", "8"]
    # 24 frames from 11:00:00:00 end (exclusive) at 11:00:01:00.
    assert (rows[1]["Start"], rows[1]["End"], rows[1]["Duration"]) == \
        ("11:00:00:00", "11:00:01:00", "00:00:01:00")
    assert (rows[0]["Circled"], rows[1]["Circled"]) == ("Yes", "")


def test_drop_frame_row_across_the_skipped_labels(tmp_path: Path) -> None:
    take = make_take(rate=R2997, drop_frame=True, tc_in="00:00:59;28", frames=4)
    ale = read_ale(export_ale(take, tmp_path)[0])
    assert ale.heading["FPS"] == "29.97"
    # Labels: 00:00:59;28, 59;29, then 00:01:00;00 and ;01 are skipped: 00:01:00;02, 00:01:00;03.
    # The frame after the last is 00:01:00;04.
    row = ale.rows[0]
    assert (row["Start"], row["End"], row["Duration"]) == ("00:00:59;28", "00:01:00;04", "00:00:00;04")


def test_non_drop_2997_and_23976_fps_headings(tmp_path: Path) -> None:
    ndf = read_ale(export_ale(make_take(rate=R2997, tc_in="01:00:00:00", frames=30), tmp_path)[0])
    assert ndf.heading["FPS"] == "29.97"
    assert (ndf.rows[0]["Start"], ndf.rows[0]["End"]) == ("01:00:00:00", "01:00:01:00")
    (tmp_path / "b").mkdir()
    film = read_ale(export_ale(make_take(rate=R23976, frames=24), tmp_path / "b")[0])
    assert film.heading["FPS"] == "23.976"
    assert (film.rows[0]["Start"], film.rows[0]["End"]) == ("10:00:00:00", "10:00:01:00")


def test_tabs_and_line_breaks_in_notes_do_not_break_the_row(tmp_path: Path) -> None:
    take = with_notes(make_take(), "rain\ton\nglass\u2028again", "keep\r\nthis\x0bone")
    row = only_row(export_ale(take, tmp_path)[0])
    assert row["Slate Notes"] == "rain on glass again"
    assert row["Comments"] == "keep this one"  # a run of breaks is one space
    assert row["ASC_SAT"] == "0.9"  # the fields after the notes are still in their columns


def test_non_ascii_notes_are_utf8(tmp_path: Path) -> None:
    take = with_notes(make_take(), "Noël — pluie", "")
    assert only_row(export_ale(take, tmp_path)[0])["Slate Notes"] == "Noël — pluie"


def test_unknown_lens_values_are_empty_never_nan(tmp_path: Path) -> None:
    take = make_take()
    take.cameras["A"] = make_track("A", take.info.tc_in.frames if take.info.tc_in else 0, 48, 10,
                                   take.info.rate, lens=False)
    path = export_ale(take, tmp_path)[0]
    row = only_row(path)
    lens = (row["Lens"], row["Focal Length (mm)"], row["T-Stop"], row["Focus Distance (m)"])
    assert lens == ("", "", "", "")
    assert "nan" not in path.read_text(encoding="utf-8").lower()


def test_camera_without_samples_gets_the_take_range(tmp_path: Path) -> None:
    take = make_take()
    take.cameras["A"] = CameraTrack.empty("A")
    row = only_row(export_ale(take, tmp_path)[0])
    assert (row["Start"], row["End"], row["Duration"], row["Camera"]) == \
        ("10:00:00:00", "10:00:02:00", "00:00:02:00", "A")
    assert row["Lens"] == ""


def test_two_cameras_give_a_row_each(tmp_path: Path) -> None:
    rows = read_ale(export_ale(make_take(cameras=("A", "B")), tmp_path)[0]).rows
    assert [(r["Name"], r["Camera"]) for r in rows] == [("12-A-T003_A", "A"), ("12-A-T003_B", "B")]


def test_take_across_midnight(tmp_path: Path) -> None:
    take = make_take(tc_in="23:59:59:12", frames=48)
    per_day = 24 * 3600 * 24
    take.cameras["A"].frame %= per_day  # the recorder labels frames within the day
    row = only_row(export_ale(take, tmp_path)[0])
    # 12 frames to midnight, 36 after: the frame after the last is 00:00:01:12.
    assert (row["Start"], row["End"], row["Duration"]) == ("23:59:59:12", "00:00:01:12", "00:00:02:00")


def test_take_with_no_range_writes_nothing(tmp_path: Path) -> None:
    take = make_take()
    take.cameras = {}
    take.info = dataclasses.replace(take.info, tc_in=None, tc_out=None)
    assert export_ale(take, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_takes_at_different_rates_cannot_share_a_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="25 fps") as err:
        export_ale_many([make_take(), make_take(rate=R25)], tmp_path, "mixed")
    assert isinstance(err.value, StageError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "two words"])
def test_bad_file_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ExportError, match="not allowed"):
        export_ale_many([make_take()], tmp_path, name)


def test_progress_runs_to_one_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    seen: list[float] = []
    export_ale_many([make_take(take_id=i) for i in range(1, 4)], tmp_path, "three", progress=seen.append)
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["three.ale"]


def test_row_timecodes_agree_with_opentimelineio(tmp_path: Path) -> None:
    import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]

    take = make_take(rate=R2997, drop_frame=True, tc_in="00:09:59;20", frames=300)
    row = only_row(export_ale(take, tmp_path)[0])
    rate = float(R2997.rate)
    start = otio.opentime.from_timecode(row["Start"], rate)
    end = otio.opentime.from_timecode(row["End"], rate)
    assert (end - start).value == 300
    assert start.value == Timecode.parse("00:09:59;20", R2997).frames


# --- the reader itself must be able to fail ---------------------------------------------------

GOOD = ("Heading\nFIELD_DELIM\tTABS\nVIDEO_FORMAT\t1080\nFPS\t24\n\nColumn\nName\tTracks\tStart\tEnd\n\n"
        "Data\na\tV\t01:00:00:00\t01:00:01:00\n")


def test_reader_accepts_a_minimal_file() -> None:
    ale = parse_ale(GOOD)
    assert ale.rows == [{"Name": "a", "Tracks": "V", "Start": "01:00:00:00", "End": "01:00:01:00"}]


@pytest.mark.parametrize(("text", "line"), [
    (GOOD.replace("TABS", "COMMAS"), 2),
    (GOOD.replace("01:00:01:00\n", "01:00:01:00\textra\n"), 10),
    (GOOD.replace("\tV\t", "\t\t"), 10),
    (GOOD.replace("Data\n", "Data\r\n"), 9),
    (GOOD.replace("\n\nColumn", "\nColumn"), 5),
    (GOOD.replace("FPS\t24\n", ""), 4),
    (GOOD[:-1], 10),
    (GOOD.replace("01:00:00:00", "1:00:00:00"), 10),
])
def test_reader_rejects_broken_files(text: str, line: int) -> None:
    with pytest.raises(AleFormatError) as err:
        parse_ale(text)
    assert err.value.line == line
