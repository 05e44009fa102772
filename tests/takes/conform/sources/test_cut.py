"""The editor's cut through OpenTimelineIO: a CMX 3600 EDL, an OTIO file written with its API, an FCP XML."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]
import pytest

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.conform.model import ConformError
from stagectl.takes.conform.sources.cut import names_vfx, read_cut

R23976 = FrameRate(Fraction(24000, 1001))
R2997 = FrameRate(Fraction(30000, 1001))

EDL = """TITLE: VFX PULL
FCM: NON-DROP FRAME

001  A001C007 V     C        10:00:01:00 10:00:03:00 01:00:00:00 01:00:02:00
* FROM CLIP NAME: A001C007_0412
* LOC: 01:00:00:12 YELLOW  VFX_010 TRACKING

002  BL       V     C        00:00:00:00 00:00:01:00 01:00:02:00 01:00:03:00

003  B002C001 V     C        11:00:00:00 11:00:01:12 01:00:03:00 01:00:04:12
* FROM CLIP NAME: B002C001_0100
* VFX SET EXTENSION

004  A001C008 V     C        10:10:00:00 10:10:00:00 01:00:04:12 01:00:04:12
004  C003C002 V     D    012 12:00:00:00 12:00:01:00 01:00:04:12 01:00:05:12
* FROM CLIP NAME: A001C008
* TO CLIP NAME: C003C002
* NOVFX PLATE

005  D004C009 V     C        14:00:00:00 14:00:00:10 01:00:05:12 01:00:05:22
"""


def shown(events: list[Any]) -> list[tuple[str, str, int, bool, str | None]]:
    return [(e.name, str(e.clip.start), e.clip.frames, e.vfx, str(e.record_in) if e.record_in else None)
            for e in events]


def test_edl_events_names_vfx_black_and_dissolve(tmp_path: Path) -> None:
    path = tmp_path / "pull.edl"
    path.write_text(EDL.replace("\n", "\r\n"), encoding="utf-8")
    events = read_cut(path, rate=R23976)
    assert shown(events) == [
        ("001_A001C007_0412", "10:00:01:00", 48, True, "01:00:00:00"),  # a locator names VFX
        ("003_B002C001_0100", "11:00:00:00", 36, True, "01:00:03:00"),  # a comment names VFX
        ("004_C003C002", "12:00:00:00", 24, False, "01:00:04:12"),  # the incoming side of the dissolve
        ("005_D004C009", "14:00:00:00", 10, False, "01:00:05:12"),  # no clip name: the reel
    ]  # 002 is black: no camera behind it
    first = events[0]
    assert first.clip.rate == R23976 and first.clip.start == Timecode.parse("10:00:01:00", R23976)
    assert (first.clip.reel, first.clip.camera, first.source) == ("A001C007", "A", f"{path}:4")
    assert events[2].source == f"{path}:15"


def test_audio_events_do_not_take_the_picture_event_number(tmp_path: Path) -> None:
    path = tmp_path / "av.edl"
    path.write_text("TITLE: AV\nFCM: NON-DROP FRAME\n\n"
                    "001  A001C007 A     C        10:00:01:00 10:00:03:00 01:00:00:00 01:00:02:00\n"
                    "002  A001C007 V     C        10:00:01:00 10:00:03:00 01:00:00:00 01:00:02:00\n"
                    "* FROM CLIP NAME: A001C007_0412\n"
                    "003  B002C001 B     C        11:00:00:00 11:00:01:00 01:00:02:00 01:00:03:00\n")
    assert [e.name for e in read_cut(path, rate=R23976)] == ["002_A001C007_0412", "003_B002C001"]


def test_drop_frame_edl_needs_no_rate(tmp_path: Path) -> None:
    path = tmp_path / "df.edl"
    path.write_text("TITLE: DF\nFCM: DROP FRAME\n\n"
                    "010  A001C001 V     C        00:59:59;28 01:00:00;04 01:00:00;00 01:00:00;06\n")
    (event,) = read_cut(path)
    assert event.clip.rate == R2997 and event.clip.drop_frame
    assert (event.name, event.clip.start.frames, event.clip.frames) == ("010_A001C001", 107_890, 6)
    assert str(event.clip.end) == "01:00:00;04"


def test_an_edl_without_a_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pull.edl"
    path.write_text(EDL)
    with pytest.raises(ConformError, match="does not say its frame rate"):
        read_cut(path)


def _tc(label: str) -> Any:
    return otio.opentime.from_timecode(label, 24000 / 1001)


def _frames(count: int) -> Any:
    return otio.opentime.RationalTime(count, 24000 / 1001)


def _clip(name: str, start: str, frames: int, **kwargs: Any) -> Any:
    available = otio.opentime.TimeRange(_tc(start) - _frames(240), _frames(2000))
    reference = otio.schema.ExternalReference(target_url=f"/media/{name}.mov", available_range=available)
    return otio.schema.Clip(name=name, media_reference=reference,
                            source_range=otio.opentime.TimeRange(_tc(start), _frames(frames)), **kwargs)


def _timeline() -> Any:
    timeline = otio.schema.Timeline(name="pull", global_start_time=_tc("01:00:00:00"))
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    a = _clip("A001C007_0412", "10:00:01:00", 48)
    a.markers.append(otio.schema.Marker(name="VFX_010 tracking",
                                        marked_range=otio.opentime.TimeRange(_tc("10:00:01:12"), _frames(1))))
    v1.append(a)
    v1.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=_frames(24))))
    v1.append(_clip("B002C001_0100", "11:00:00:00", 36, metadata={"vfx": True}))
    v1.append(_clip("A001C008", "10:10:00:00", 24, metadata={"vfx": "no", "studio": {"vfx": {}}}))
    timeline.tracks.append(v1)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.append(_clip("SOUND_01", "10:00:00:00", 200))
    timeline.tracks.append(audio)
    return timeline


EXPECTED = [("001_A001C007_0412", "10:00:01:00", 48, True, "01:00:00:00"),
            ("002_B002C001_0100", "11:00:00:00", 36, True, "01:00:03:00"),  # after 24 frames of gap
            ("003_A001C008", "10:10:00:00", 24, False, "01:00:04:12")]


def test_otio_file_written_with_otio_api(tmp_path: Path) -> None:
    path = tmp_path / "pull.otio"
    otio.adapters.write_to_file(_timeline(), str(path))
    events = read_cut(path)
    assert shown(events) == EXPECTED
    assert all(e.clip.rate == R23976 and not e.clip.drop_frame for e in events)
    assert events[0].source == f"{path}: event 1"


def test_fcp_xml(tmp_path: Path) -> None:
    path = tmp_path / "pull.xml"
    otio.adapters.write_to_file(_timeline(), str(path), adapter_name="fcp_xml")
    assert "<xmeml" in path.read_text() and "<marker>" in path.read_text()
    # FCP XML has no place for OTIO's metadata: only the marker marks VFX there.
    expected = [EXPECTED[0], (*EXPECTED[1][:3], False, EXPECTED[1][4]), EXPECTED[2]]
    assert shown(read_cut(path)) == expected


def test_transitions_and_empty_clips_skipped_nested_sequences_refused(tmp_path: Path) -> None:
    timeline = _timeline()
    track = timeline.tracks[0]
    track.insert(3, otio.schema.Transition(in_offset=_frames(6), out_offset=_frames(6)))
    track.insert(1, _clip("E005C001", "15:00:00:00", 0))  # no frames: no picture
    path = tmp_path / "dissolve.otio"
    otio.adapters.write_to_file(timeline, str(path))
    assert [e.name for e in read_cut(path)] == [e[0] for e in EXPECTED]
    nested = otio.schema.Stack(name="precomp")
    track.append(nested)
    otio.adapters.write_to_file(timeline, str(path))
    with pytest.raises(ConformError, match="nested sequence \\(precomp\\)"):
        read_cut(path)


@pytest.mark.parametrize(("path", "words"), [("cut.aaf", "not a cut"), ("missing.otio", "cannot read")])
def test_unknown_or_missing_cut(tmp_path: Path, path: str, words: str) -> None:
    with pytest.raises(ConformError, match=words):
        read_cut(tmp_path / path)


def test_broken_cut_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<xmeml version='4'><sequence>")
    with pytest.raises(ConformError, match=f"{path}: OpenTimelineIO cannot read this cut"):
        read_cut(path)


def test_handles_are_checked_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "pull.otio"
    otio.adapters.write_to_file(_timeline(), str(path))
    assert shown(read_cut(path, handles=8)) == EXPECTED
    with pytest.raises(ConformError, match="handles"):
        read_cut(path, handles=-1)


@pytest.mark.parametrize(("text", "vfx"), [("VFX", True), ("vfx_010", True), ("* VFX SET EXT", True),
                                           ("SH010 vfx", True), ("NOVFX", False), ("VFXY", False),
                                           ("", False)])
def test_what_names_vfx(text: str, vfx: bool) -> None:
    assert names_vfx(text) is vfx
