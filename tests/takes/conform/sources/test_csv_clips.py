"""The clip CSV: any header case, spreadsheet delimiters, drop-frame, and refusals with path:line."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.conform.model import ConformError
from stagectl.takes.conform.sources.csv_clips import read_clip_csv

CSV = """Clip,Camera,Start TC,End TC,FPS,Scene
A001C007_0412,A,10:00:00:00,10:00:02:00,23.976,12
B002C001,,00:59:59;28,01:00:00;02,29.97,12

C003C001,C,23:59:59:00,00:00:01:00,25,13
"""


def write(tmp_path: Path, text: str, name: str = "clips.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_every_field(tmp_path: Path) -> None:
    path = write(tmp_path, CSV)
    a, b, c = read_clip_csv(path)
    assert (a.name, a.camera, str(a.start), a.frames, a.rate.rate) == (
        "A001C007_0412", "A", "10:00:00:00", 48, Fraction(24000, 1001))
    assert a.columns == {"scene": "12"} and a.source == f"{path}:2"
    assert (b.camera, b.drop_frame, b.start.frames, b.frames) == ("B", True, 107_890, 4)  # name's letter
    assert (c.source, str(c.start), c.frames, str(c.end)) == (f"{path}:5", "23:59:59:00", 50, "00:00:01:00")


@pytest.mark.parametrize(("header", "delimiter"), [("clip;camera;start_tc;end_tc;fps", ";"),
                                                   ("CLIP\tCAMERA\tSTART TC\tEND TC\tFPS", "\t"),
                                                   ("\ufeffclip,  Camera ,start  tc,End_TC,fps", ",")])
def test_header_case_spacing_delimiter_and_bom(tmp_path: Path, header: str, delimiter: str) -> None:
    row = delimiter.join(["A001C001", "A", "01:00:00:00", "01:00:01:00", "25"])
    clip = read_clip_csv(write(tmp_path, f"{header}\r\n{row}\r\n"))[0]
    start = Timecode.parse("01:00:00:00", FrameRate(Fraction(25)))
    assert (clip.name, clip.start, clip.frames) == ("A001C001", start, 25)


BAD = [
    ("clip,camera,start tc,fps\n", 1, "lacks end tc"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00:00,01:00:01:00\n", 2, "4 fields"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00:00,01:00:01:00,25\n,A,01:00:00:00,01:00:01:00,25\n", 3,
     "clip name is empty"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00:25,01:00:01:00,25\n", 2, "start TC"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00:00,01:00:01:00,fast\n", 2, "not a frame rate"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00:00,01:00:00:00,25\n", 2, "no frames"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00;00,01:00:01:00,29.97\n", 2, "disagree on drop-frame"),
    ("clip,camera,start tc,end tc,fps\nA,A,01:00:00:00,01:00:01:00,25\nA,A,02:00:00:00,02:00:01:00,25\n", 3,
     "listed twice"),
    ("clip,clip,start tc,end tc,fps\n", 1, "twice"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_refusals_name_path_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConformError, match=words) as caught:
        read_clip_csv(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    text = "clip,camera,start tc,end tc,fps\nSc\xe8ne,A,01:00:00:00,01:00:01:00,25\n"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ConformError, match="save the CSV as UTF-8"):
        read_clip_csv(path)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(",;\t\n\r\"\x00:0123456789 clipamerstdfA")), max_size=200))
def test_hostile_text_is_refused_cleanly(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("hostile") / "x.csv"
    path.write_text("clip,camera,start tc,end tc,fps\n" + text, encoding="utf-8")
    try:
        read_clip_csv(path)
    except ConformError as exc:
        assert str(exc).startswith(str(path))
