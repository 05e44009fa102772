"""read_sources decides by what each SOURCE is: a media folder, an ALE, a CSV; anything else is refused."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from stagectl.takes.conform.model import ConformError
from stagectl.takes.conform.sources import read_sources
from tests.support.media import write_clip
from tests.takes.conform.sources.ale_files import write_hand, write_resolve


def test_media_ale_and_csv_together(tmp_path: Path) -> None:
    media = tmp_path / "card"
    media.mkdir()
    write_clip(media / "C003C001.mov", Fraction(25), "11:00:00:00", 3)
    (media / "broken.mxf").write_bytes(b"\x06\x0e\x2b\x34 not a whole file")
    ale = write_hand(tmp_path / "day1.ale")
    csv = tmp_path / "extra.csv"
    csv.write_text("clip,camera,start tc,end tc,fps\nD004C001,D,12:00:00:00,12:00:01:00,25\n"
                   "A001C007_0412,A,10:00:00:00,10:00:04:00,25\n")
    found = read_sources([media, ale, csv])
    assert [c.name for c in found.clips] == ["C003C001", "A001C007_0412", "B002C001_0412", "D004C001"]
    assert found.ale is not None and found.ale.path == ale
    assert len(found.warnings) == 2
    assert str(media / "broken.mxf") in found.warnings[0]
    # The CSV lists a clip the ALE gave already: the first reading stays, the repeat is reported.
    assert "'A001C007_0412' is listed again" in found.warnings[1] and f"{ale}:11" in found.warnings[1]


def test_no_ale_no_document(tmp_path: Path) -> None:
    media = tmp_path / "card"
    media.mkdir()
    write_clip(media / "A001C001.mp4", Fraction(25), "01:00:00:00", 2)
    found = read_sources([media])
    assert found.ale is None and [c.name for c in found.clips] == ["A001C001"] and found.warnings == []


def test_empty_media_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    found = read_sources([tmp_path])
    assert found.clips == [] and "no MOV, MXF or MP4" in found.warnings[0]


@pytest.mark.parametrize(("name", "words"), [("cut.edl", "not a kind stagectl reads"),
                                             ("A001C001.mov", "for one media file, give its folder"),
                                             ("missing.ale", "does not exist")])
def test_unknown_kinds_are_refused(tmp_path: Path, name: str, words: str) -> None:
    path = tmp_path / name
    if not name.startswith("missing"):
        path.write_text("x")
    with pytest.raises(ConformError, match=words):
        read_sources([path])


def test_two_ales_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConformError, match="one ALE per run"):
        read_sources([write_hand(tmp_path / "a.ale"), write_resolve(tmp_path / "b.ale")])


def test_nothing_given() -> None:
    with pytest.raises(ConformError, match="no SOURCE"):
        read_sources([])
