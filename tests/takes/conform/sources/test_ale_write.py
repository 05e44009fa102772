"""The enriched ALE, read back by OpenTimelineIO's ALE adapter and by the strict ALE reader of the tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]
import pytest

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.conform.model import Clip, ConformError
from stagectl.takes.conform.sources.ale import read_ale
from stagectl.takes.conform.sources.ale_write import ENRICHED_COLUMNS, write_enriched_ale
from tests.ale_reader import read_ale as read_ale_strictly
from tests.takes.conform.sources.ale_files import (
    HAND,
    RESOLVE_COLUMNS,
    RESOLVE_ROWS,
    write_hand,
    write_resolve,
)

R23976 = FrameRate(Fraction(24000, 1001))
SOP = "(1.2 1.1 1.0)(0.01 0.0 -0.02)(1.0 0.95 1.05)"


def values(take: str, sop: str = SOP, sat: str = "0.85") -> dict[str, str]:
    return {"Take": take, "Slate": "12A-3", "Lens": "ZEISS Supreme Prime 35 SP35-0001",
            "Focal range": "35", "Focus range": "1.2-3.4 m", "T-stop": "2.8", "ASC_SOP": sop, "ASC_SAT": sat,
            "Tracking coverage": "100%", "stagectl notes": "matched to take 12A-3"}


def by_name(path: Path) -> dict[str, otio.schema.Clip]:
    collection = otio.adapters.read_from_file(str(path), adapter_name="ale")
    return {clip.name: clip for clip in collection.find_clips()}


def test_hand_ale_enriched_reads_back_in_opentimelineio(tmp_path: Path) -> None:
    source = read_ale(write_hand(tmp_path / "day1.ale"))
    out = tmp_path / "out" / "day1_stagectl.ale"
    out.parent.mkdir()
    result = write_enriched_ale(source, {"A001C007_0412": values("12A-3")}, out)
    assert result.path == out and result.titles == {c: c for c in ENRICHED_COLUMNS} and result.warnings == []
    raw = out.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") and not raw.startswith(b"\xef\xbb\xbf")  # CRLF, no BOM
    clips = by_name(out)
    a, b = clips["A001C007_0412"], clips["B002C001_0412"]
    # OTIO takes ASC_SOP / ASC_SAT out of the columns into its CDL.
    sop = {key: list(numbers) for key, numbers in a.metadata["cdl"]["asc_sop"].items()}
    assert sop == {"slope": [1.2, 1.1, 1.0], "offset": [0.01, 0.0, -0.02], "power": [1.0, 0.95, 1.05]}
    assert a.metadata["cdl"]["asc_sat"] == 0.85
    ale = a.metadata["ALE"]
    for column, text in values("12A-3").items():
        if not column.startswith("ASC_"):
            assert ale[column] == text, column
    assert (ale["Tracks"], ale["Tape"], ale["Camera"], ale["Scene"]) == ("V", "A001", "A", "12")
    assert a.source_range.start_time.to_timecode() == "10:00:00:00" and a.duration().value == 100
    assert all(b.metadata["ALE"][c] == "" for c in ENRICHED_COLUMNS if not c.startswith("ASC_"))
    assert (b.metadata["ALE"]["Tape"], b.metadata["ALE"]["Scene"]) == ("B002", "12")


def test_resolve_ale_keeps_every_column_and_the_dit_grade(tmp_path: Path) -> None:
    source = read_ale(write_resolve(tmp_path / "resolve.ale"))
    given = {RESOLVE_ROWS[0][0]: values("7"), RESOLVE_ROWS[1][0]: values("8", sat="1.1")}
    out = tmp_path / "enriched.ale"
    result = write_enriched_ale(source, given, out)
    # Resolve's ALE has Take, ASC_SOP and ASC_SAT already: the DIT's stay, stagectl's go beside them.
    assert result.titles["Take"] == "Take (stagectl)" and result.titles["ASC_SOP"] == "ASC_SOP (stagectl)"
    assert result.titles["Lens"] == "Lens"
    assert sum("already has" in w for w in result.warnings) == 3
    strict = read_ale_strictly(out)  # the tests' strict reader: layout, Tracks, timecodes, 64 titles
    assert strict.newline == "\r\n" and strict.heading["FPS"] == "23.976"
    assert strict.columns == RESOLVE_COLUMNS + [result.titles[c] for c in ENRICHED_COLUMNS]
    for row, original in zip(strict.rows, RESOLVE_ROWS, strict=True):
        assert [row[c] for c in RESOLVE_COLUMNS] == original  # every original value, unchanged
        for column, text in given[original[0]].items():
            assert row[result.titles[column]] == text
    clips = by_name(out)
    first = clips[RESOLVE_ROWS[0][0]]
    assert first.metadata["ALE"]["Take (stagectl)"] == "7" and first.metadata["ALE"]["Take"] == "3"
    assert first.metadata["ALE"]["ASC_SOP (stagectl)"] == SOP
    assert first.metadata["cdl"]["asc_sat"] == 1.0  # the DIT's grade is the one the editor gets
    again = read_ale(out)  # and it is a source conform can read again
    assert [c.name for c in again.clips] == [r[0] for r in RESOLVE_ROWS]


def test_tabs_and_line_breaks_in_values_become_spaces_and_are_reported(tmp_path: Path) -> None:
    source = read_ale(write_hand(tmp_path / "day1.ale"))
    notes = {"stagectl notes": "covered 90%\tmissing 10 frames\r\nat the tail\u2028see log"}
    given = {"A001C007_0412": notes, "NOT_IN_ALE": {"Take": "1"}}
    result = write_enriched_ale(source, given, tmp_path / "o.ale")
    row = read_ale_strictly(tmp_path / "o.ale").rows[0]
    assert row["stagectl notes"] == "covered 90% missing 10 frames at the tail see log"
    assert any("'stagectl notes'" in w and "became spaces" in w for w in result.warnings)
    assert any("'NOT_IN_ALE'" in w and "no row" in w for w in result.warnings)
    clips = by_name(tmp_path / "o.ale")
    assert clips["A001C007_0412"].metadata["ALE"]["stagectl notes"] == row["stagectl notes"]


def test_a_clip_listed_twice_gets_its_values_on_both_rows(tmp_path: Path) -> None:
    text = HAND.replace("B002C001_0412\tV", "A001C007_0412\tV")
    source = read_ale(write_hand(tmp_path / "twice.ale", text))
    write_enriched_ale(source, {"A001C007_0412": {"Take": "5"}}, tmp_path / "o.ale")
    rows = read_ale_strictly(tmp_path / "o.ale").rows
    assert [(r["Name"], r["Start"], r["Take"]) for r in rows] == [("A001C007_0412", "10:00:00:00", "5"),
                                                                  ("A001C007_0412", "10:00:01:12", "5")]


def test_an_ale_without_tracks_gets_them(tmp_path: Path) -> None:
    text = ("Heading\nFIELD_DELIM\tTABS\nFPS\t25\n\nColumn\nName\tStart\tEnd\n\nData\n"
            "A001C001\t01:00:00:00\t01:00:01:00\n")
    source = read_ale(write_hand(tmp_path / "min.ale", text))
    result = write_enriched_ale(source, {"A001C001": {"Take": "4"}}, tmp_path / "o.ale")
    strict = read_ale_strictly(tmp_path / "o.ale")
    assert strict.heading["VIDEO_FORMAT"] == "1080" and strict.rows[0]["Tracks"] == "V"
    assert strict.rows[0]["Take"] == "4" and len(result.warnings) == 2


def test_built_from_media_clips(tmp_path: Path) -> None:
    clips = [Clip("A001C007_0412", Timecode.parse("00:59:59:20", R23976), 12, R23976, camera="A", reel="A001",
                  source="/media/A001C007_0412.mov"),
             Clip("B002C001", Timecode.parse("01:00:00:00", R23976), 48, R23976, camera="B")]
    result = write_enriched_ale(clips, {"B002C001": values("9"), "A001C007_0412": {"Lens": "50mm"}},
                                tmp_path / "built.ale")
    strict = read_ale_strictly(result.path)
    assert strict.heading == {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48kHz",
                              "FPS": "23.976"}
    a, b = strict.rows
    assert (a["Start"], a["End"], a["Duration"], a["Tape"], a["Camera"]) == (
        "00:59:59:20", "01:00:00:08", "00:00:00:12", "A001", "A")
    assert (a["Source File"], a["Lens"], b["Take"], b["Tracks"]) == (
        "/media/A001C007_0412.mov", "50mm", "9", "V")
    back = read_ale(result.path).clips
    assert [(c.name, c.start, c.frames) for c in back] == [(c.name, c.start, c.frames) for c in clips]
    read_back = by_name(result.path)
    assert read_back["B002C001"].metadata["cdl"]["asc_sat"] == 0.85


def test_a_clip_across_midnight_is_written_and_reported(tmp_path: Path) -> None:
    clip = Clip("A001C007", Timecode.parse("23:59:59:20", R23976), 12, R23976)
    result = write_enriched_ale([clip], {}, tmp_path / "night.ale")
    row = read_ale_strictly(result.path).rows[0]
    assert (row["Start"], row["End"], row["Duration"]) == ("23:59:59:20", "00:00:00:08", "00:00:00:12")
    assert len(result.warnings) == 1 and "across midnight" in result.warnings[0]
    back = read_ale(result.path).clips[0]
    assert (back.start, back.frames) == (clip.start, 12)


def test_clips_at_two_rates_cannot_share_an_ale(tmp_path: Path) -> None:
    r25 = FrameRate(Fraction(25))
    clips = [Clip("A", Timecode.parse("01:00:00:00", R23976), 2, R23976),
             Clip("B", Timecode.parse("01:00:00:00", r25), 2, r25)]
    with pytest.raises(ConformError, match="one FPS per file"):
        write_enriched_ale(clips, {}, tmp_path / "x.ale")
    assert not (tmp_path / "x.ale").exists()
