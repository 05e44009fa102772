"""The DIT's ALE read strictly: hand-written and Resolve-style files, and every refusal with path:line."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.conform.model import ConformError
from stagectl.takes.conform.sources.ale import read_ale
from tests.takes.conform.sources.ale_files import HAND, RESOLVE_COLUMNS, write_hand, write_resolve

R23976 = FrameRate(Fraction(24000, 1001))
R25 = FrameRate(Fraction(25))
HEAD = "Heading\nFIELD_DELIM\tTABS\nFPS\t23.976\n\nColumn\n"


def test_hand_written_ale(tmp_path: Path) -> None:
    ale = read_ale(write_hand(tmp_path / "day1.ale"))
    assert ale.rate == R25 and ale.newline == "\n"
    assert ale.heading == {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48khz",
                           "FPS": "25"}
    a, b = ale.clips
    assert (a.name, a.start, a.frames, a.reel, a.camera) == (
        "A001C007_0412", Timecode.parse("10:00:00:00", R25), 100, "A001", "A")
    # B has no Camera value: the letter of its name (B002C001...) stands in.
    assert (b.name, str(b.start), b.frames, b.reel, b.camera) == (
        "B002C001_0412", "10:00:01:12", 38, "B002", "B")
    assert a.source == f"{tmp_path / 'day1.ale'}:11" and b.source.endswith(":12")
    assert a.columns["Scene"] == "12" and a.columns["Tracks"] == "V"


def test_resolve_style_ale_bom_crlf_trailing_tabs_extra_columns(tmp_path: Path) -> None:
    ale = read_ale(write_resolve(tmp_path / "resolve.ale"))
    assert ale.rate == R23976 and ale.newline == "\r\n"
    assert list(ale.columns) == RESOLVE_COLUMNS
    a, b = ale.clips
    assert a.name == "A001C007_220101_R1AB" and a.rate.rate == Fraction(24000, 1001)
    assert str(a.start) == "13:24:51:12" and a.frames == 11 * 24 + 14
    assert (a.camera, a.reel) == ("A", "A001C007_220101_R1AB")  # Tape is the reel
    assert a.columns["Codec"] == "Apple ProRes 422 HQ" and a.columns["Reel Name"] == "A001"
    assert (str(b.start), b.frames, str(b.end)) == ("14:02:10:05", 96, "14:02:14:05")


@pytest.mark.parametrize("columns", ["End", "Duration", "End\tDuration"])
def test_a_clip_across_midnight(tmp_path: Path, columns: str) -> None:
    # 23:59:58:00 to 00:00:02:00 is 4 s at 24 labels a second. OpenTimelineIO's adapter does not wrap at
    # 24 h (End and Duration look inconsistent to it), so the reader hands it the row without End.
    given = {"End": "00:00:02:00", "Duration": "00:00:04:00"}
    row = "\t".join(given[c] for c in columns.split("\t"))
    text = f"{HEAD}Name\tStart\t{columns}\n\nData\nA\t23:59:58:00\t{row}\n"
    clip = read_ale(write_hand(tmp_path / "night.ale", text)).clips[0]
    assert (str(clip.start), clip.frames, str(clip.end)) == ("23:59:58:00", 96, "00:00:02:00")


def test_drop_frame_start_and_duration_only(tmp_path: Path) -> None:
    text = ("Heading\nFIELD_DELIM\tTABS\nFPS\t29.97\n\nColumn\nName\tStart\tDuration\n\nData\n"
            "C001C001\t00:00:59;28\t00:00:00;04\n")
    clip = read_ale(write_hand(tmp_path / "df.ale", text)).clips[0]
    assert clip.drop_frame and clip.rate.rate == Fraction(30000, 1001)
    assert (clip.start.frames, clip.frames, str(clip.end)) == (1798, 4, "00:01:00;04")


BAD = [  # (what is wrong, the text's replacement of a line of HAND, the line the error names, words in it)
    ("a row with a missing field", ("B002C001_0412\tV\t10:00:01:12\t10:00:03:00\tB002\t\t12",
                                    "B002C001_0412\tV\t10:00:01:12\t10:00:03:00\tB002\t12"), 12, "6 fields"),
    ("a row with one field too many", ("\tB002\t\t12", "\tB002\t\t12\tx"), 12, "8 fields"),
    ("a Start at the wrong rate", ("10:00:01:12\t10:00:03", "10:00:01:27\t10:00:03"), 12, "Start"),
    ("an empty name", ("B002C001_0412\tV", "\tV"), 12, "Name is empty"),
    ("an End before nothing", ("10:00:04:00\tA001", "10:00:00:00\tA001"), 11, "no frames"),
    ("no FPS", ("FPS\t25\n", ""), 1, "no FPS"),
    ("FPS not a rate", ("FPS\t25", "FPS\tfast"), 1, "not a frame rate"),
    ("commas", ("FIELD_DELIM\tTABS", "FIELD_DELIM\tCOMMA"), 1, "TABS"),
    ("no Data section", ("Data\n", "Dada\n"), 10, "'Data' section"),
    ("a repeated column", ("\tCamera\tScene", "\tCamera\tCamera"), 8, "twice"),
    ("no Start column", ("Name\tTracks\tStart", "Name\tTracks\tBegin"), 8, "Start"),
    ("a heading twice", ("FPS\t25\n", "FPS\t25\nFPS\t24\n"), 6, "given twice"),
    ("a bad heading line", ("AUDIO_FORMAT\t48khz", "AUDIO_FORMAT 48khz"), 4, "KEY<TAB>VALUE"),
]


@pytest.mark.parametrize(("what", "change", "line", "words"), BAD, ids=[b[0] for b in BAD])
def test_refusals_name_path_and_line(tmp_path: Path, what: str, change: tuple[str, str], line: int,
                                     words: str) -> None:
    assert change[0] in HAND, what
    path = write_hand(tmp_path / "bad.ale", HAND.replace(change[0], change[1], 1))
    with pytest.raises(ConformError, match=words) as caught:
        read_ale(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_clip_listed_again_keeps_its_first_row(tmp_path: Path) -> None:
    path = write_hand(tmp_path / "twice.ale", HAND.replace("B002C001_0412\tV", "A001C007_0412\tV"))
    ale = read_ale(path)
    assert [(c.name, str(c.start)) for c in ale.clips] == [("A001C007_0412", "10:00:00:00")]
    assert len(ale.rows) == 2
    assert ale.warnings == (f"{path}:12: clip 'A001C007_0412' is listed again (first at {path}:11); conform "
                            "uses the first row, the enriched ALE fills both",)


def test_end_and_duration_must_agree(tmp_path: Path) -> None:
    text = ("Heading\nFIELD_DELIM\tTABS\nFPS\t24\n\nColumn\nName\tStart\tEnd\tDuration\n\nData\n"
            "A001C001\t01:00:00:00\t01:00:01:00\t00:00:01:01\n")
    with pytest.raises(ConformError, match=r"bad\.ale:9: .*End is exclusive"):
        read_ale(write_hand(tmp_path / "bad.ale", text))


def test_windows_1252_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "ansi.ale"
    path.write_bytes(HAND.replace("\t12\n", "\tSc\xe8ne\n", 1).encode("cp1252"))
    ale = read_ale(path)
    assert ale.clips[0].columns["Scene"] == "Sc\u00e8ne"
    assert len(ale.warnings) == 1 and "not UTF-8" in ale.warnings[0] and ":11:" in ale.warnings[0]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("\t\n\r:;0123456789 ANameStrtEdFPSHdingColumData_")),
               max_size=300))
def test_hostile_text_is_refused_cleanly(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("hostile") / "x.ale"
    path.write_text(text, encoding="utf-8")
    try:
        read_ale(path)
    except ConformError as exc:
        assert str(exc).startswith(str(path))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2_000_000), st.integers(1, 5000)), min_size=1, max_size=5))
def test_rows_round_trip_at_23976(tmp_path_factory: pytest.TempPathFactory,
                                  spans: list[tuple[int, int]]) -> None:
    rows = []
    for n, (first, frames) in enumerate(spans):
        start = Timecode.from_frames(first, R23976)
        rows.append(f"C{n:03d}\t{start}\t{start + frames}")
    text = HEAD + "Name\tStart\tEnd\n\nData\n" + "\n".join(rows) + "\n"
    path = tmp_path_factory.mktemp("rt") / "rt.ale"
    path.write_text(text, encoding="utf-8")
    clips = read_ale(path).clips
    assert [(c.start.frames, c.frames) for c in clips] == [(f % 2_073_600, n) for f, n in spans]
