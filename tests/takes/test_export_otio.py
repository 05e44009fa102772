"""OpenTimelineIO export, read back with opentimelineio itself and checked against hand-worked values."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]
import pytest

from stagectl.core.errors import StageError
from stagectl.core.timecode import FrameRate
from stagectl.takes.export.otio import export_otio, export_otio_many
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import CameraTrack
from tests.take_factory import GRADE, make_take, make_track

R2997 = FrameRate(Fraction(30000, 1001))
R23976 = FrameRate(Fraction(24000, 1001))
R25 = FrameRate(Fraction(25))
TEN_HOURS_AT_24 = 10 * 3600 * 24  # 864000: the frame count of 10:00:00:00 at 24 fps


def read(path: Path) -> Any:
    return otio.adapters.read_from_file(str(path))


def items(track: Any) -> list[tuple[str, str, int]]:
    return [(type(item).__name__, item.name, int(item.duration().value)) for item in track]


def test_one_take_one_clip_with_the_take_range(tmp_path: Path) -> None:
    paths = export_otio(make_take(), tmp_path)
    assert paths == [tmp_path / "12-A-T003.otio"]
    timeline = read(paths[0])
    assert timeline.name == "12-A-T003"
    assert [(t.name, t.kind) for t in timeline.tracks] == [("A", otio.schema.TrackKind.Video)]
    (clip,) = timeline.tracks[0]
    assert clip.name == "12-A-T003"
    source = clip.source_range
    assert (source.start_time.value, source.start_time.rate) == (TEN_HOURS_AT_24, 24.0)
    assert (source.duration.value, source.duration.rate) == (48, 24.0)
    assert otio.opentime.to_timecode(source.start_time, 24.0, False) == "10:00:00:00"
    assert otio.opentime.to_timecode(source.end_time_inclusive(), 24.0, False) == "10:00:01:23"
    assert isinstance(clip.media_reference, otio.schema.MissingReference)
    assert clip.media_reference.available_range == source
    assert timeline.global_start_time.value == TEN_HOURS_AT_24


def test_cdl_metadata_in_otio_convention(tmp_path: Path) -> None:
    timeline = read(export_otio(make_take(), tmp_path)[0])  # keep it: metadata lives in its C++ objects
    (clip,) = timeline.tracks[0]
    cdl = clip.metadata["cdl"]
    assert set(cdl.keys()) == {"asc_sop", "asc_sat"}
    assert set(cdl["asc_sop"].keys()) == {"slope", "offset", "power"}
    assert list(cdl["asc_sop"]["slope"]) == [1.1, 1.0, 0.9]
    assert list(cdl["asc_sop"]["offset"]) == [0.01, 0.0, -0.02]
    assert list(cdl["asc_sop"]["power"]) == [1.0, 1.05, 0.95]
    assert cdl["asc_sat"] == 0.9
    assert tuple(cdl["asc_sop"]["slope"]) == GRADE.slope


def test_stagectl_metadata(tmp_path: Path) -> None:
    timeline = read(export_otio(make_take(), tmp_path)[0])
    (clip,) = timeline.tracks[0]
    meta = clip.metadata["stagectl"]
    assert dict(meta["slate"]) | {"cameras": list(meta["slate"]["cameras"])} == {
        "production": "Night Drive", "scene": "12", "shot": "A", "take": 3, "cameras": ["A"],
        "notes": "rain on glass"}
    assert (meta["take_id"], meta["take_name"], meta["state"]) == (7, "12-A-T003", "complete")
    assert (meta["circled"], meta["no_good"], meta["notes"]) == (True, False, "good one")
    assert (meta["tc_in"], meta["tc_out"], meta["drop_frame"], meta["rate"]) == \
        ("10:00:00:00", "10:00:01:23", False, "24")
    assert (meta["camera"], meta["samples"], meta["tracking_source"]) == ("A", 480, "A-freed")
    assert (meta["look_at_start"], meta["cdl_zone"]) == ("dusk", "frustum")
    assert list(meta["cdl_at_start"]["wall"]["asc_sop"]["slope"]) == [0.8, 0.8, 0.8]
    lens = meta["lens"]
    assert (lens["make"], lens["model"], lens["serial"], lens["file"]) == \
        ("ZEISS", "Supreme Prime 35", "SP35-0001", "zeiss-35.json")
    assert (lens["sensor_width_mm"], lens["sensor_height_mm"]) == (36.0, 24.0)
    assert (lens["focal_length_mm"]["min"], lens["focal_length_mm"]["max"]) == (35.0, 35.0)
    at_start = (lens["focus_distance_m_at_start"], lens["t_stop_at_start"], lens["f_stop_at_start"])
    assert at_start == (3.0, 2.8, 2.5)
    assert [(e["timecode"], e["kind"], e["text"]) for e in meta["log"]] == [
        ("10:00:00:00", "look", "look dusk live"), ("10:00:00:12", "cue", "GO cue 2 (night)")]


def test_zoom_gives_the_focal_length_range_and_unknown_lens_values_are_null(tmp_path: Path) -> None:
    take = make_take()
    track = take.cameras["A"]
    track.focal_length_mm[:] = 24.0 + 46.0 * (track.frame - track.frame[0]) / 47.0  # 24 -> 70 mm zoom
    track.focal_length_mm[:3] = float("nan")
    track.t_stop[:] = float("nan")
    path = export_otio(take, tmp_path)[0]
    timeline = read(path)
    lens = timeline.tracks[0][0].metadata["stagectl"]["lens"]
    assert (lens["focal_length_mm"]["min"], lens["focal_length_mm"]["max"]) == (24.0, 70.0)
    assert lens["t_stop_at_start"] is None
    assert "NaN" not in path.read_text(encoding="utf-8")


def test_camera_without_lens_file_or_lens_values(tmp_path: Path) -> None:
    take = make_take()
    take.cameras["A"] = make_track("A", TEN_HOURS_AT_24, 48, 10, take.info.rate, lens=False)
    path = export_otio(take, tmp_path)[0]
    timeline = read(path)
    lens = timeline.tracks[0][0].metadata["stagectl"]["lens"]
    assert lens["focal_length_mm"]["min"] is None and "make" not in lens
    assert "NaN" not in path.read_text(encoding="utf-8")


def test_23976_rate_is_the_exact_float_and_labels_count_at_24(tmp_path: Path) -> None:
    timeline = read(export_otio(make_take(rate=R23976), tmp_path)[0])
    (clip,) = timeline.tracks[0]
    rate = clip.source_range.start_time.rate
    assert rate == 24000 / 1001
    assert clip.source_range.start_time.value == TEN_HOURS_AT_24  # NDF labels count at the nominal 24
    assert otio.opentime.to_timecode(clip.source_range.start_time, rate, False) == "10:00:00:00"


def test_opentime_reads_2997_drop_frame_like_smpte() -> None:
    rate = float(R2997.rate)
    # 01:00:00;00 at 29.97 DF = 108000 - 2 * (60 - 6) = 107892 frames (SMPTE 12M check value).
    assert otio.opentime.from_timecode("01:00:00;00", rate).value == 107892
    assert otio.opentime.to_timecode(otio.opentime.RationalTime(107892, rate), rate, True) == "01:00:00;00"


def test_drop_frame_take_round_trips_through_opentime(tmp_path: Path) -> None:
    take = make_take(rate=R2997, drop_frame=True, tc_in="01:00:00;00", frames=48)
    timeline = read(export_otio(take, tmp_path)[0])
    (clip,) = timeline.tracks[0]
    source = clip.source_range
    rate = float(R2997.rate)
    assert source.start_time.value == 107892
    assert otio.opentime.to_timecode(source.start_time, rate, True) == "01:00:00;00"
    # +47 frames: minute 60 is divisible by 10, so no label is skipped: 1 s 17 frames later.
    assert otio.opentime.to_timecode(source.end_time_inclusive(), rate, True) == "01:00:01;17"
    assert clip.metadata["stagectl"]["tc_out"] == "01:00:01;17"


def test_non_drop_2997_labels(tmp_path: Path) -> None:
    take = make_take(rate=R2997, tc_in="01:00:00:00", frames=30)
    timeline = read(export_otio(take, tmp_path)[0])
    (clip,) = timeline.tracks[0]
    rate = float(R2997.rate)
    assert clip.source_range.start_time.value == 108000  # 3600 s x 30 labels
    assert otio.opentime.to_timecode(clip.source_range.start_time, rate, False) == "01:00:00:00"


def test_many_takes_play_one_after_another(tmp_path: Path) -> None:
    first = make_take()
    second = make_take(cameras=("A", "B"), tc_in="11:00:00:00", frames=24, take_id=8)
    second.info = dataclasses.replace(second.info, name="12-A-T004")
    paths = export_otio_many([first, second], tmp_path, "day1")
    assert paths == [tmp_path / "day1.otio"]
    timeline = read(paths[0])
    assert timeline.name == "day1"
    tracks = {t.name: t for t in timeline.tracks}
    assert items(tracks["A"]) == [("Clip", "12-A-T003", 48), ("Clip", "12-A-T004_A", 24)]
    assert items(tracks["B"]) == [("Gap", "", 48), ("Clip", "12-A-T004_B", 24)]
    assert tracks["A"].range_of_child_at_index(1).start_time.value == 48
    assert tracks["B"][1].source_range.start_time.value == 11 * 3600 * 24


def test_cameras_stay_in_sync_within_a_take(tmp_path: Path) -> None:
    take = make_take(cameras=("A", "B"))
    take.cameras["B"] = make_track("B", TEN_HOURS_AT_24 + 5, 40, 10, take.info.rate)  # rolls 5 frames late
    timeline = read(export_otio(take, tmp_path)[0])
    tracks = {t.name: t for t in timeline.tracks}
    assert items(tracks["A"]) == [("Clip", "12-A-T003_A", 48)]
    # 5 frames of gap, 40 frames of clip, 3 frames of gap to the end of A's 48.
    assert items(tracks["B"]) == [("Gap", "", 5), ("Clip", "12-A-T003_B", 40), ("Gap", "", 3)]
    assert otio.opentime.to_timecode(tracks["B"][1].source_range.start_time, 24.0, False) == "10:00:00:05"


def test_camera_without_samples_gets_the_take_range(tmp_path: Path) -> None:
    take = make_take()
    take.cameras["A"] = CameraTrack.empty("A")
    timeline = read(export_otio(take, tmp_path)[0])
    (clip,) = timeline.tracks[0]
    assert (clip.source_range.start_time.value, clip.source_range.duration.value) == (TEN_HOURS_AT_24, 48)
    meta = clip.metadata["stagectl"]
    assert (meta["samples"], meta["lens"]["focal_length_mm"]["min"]) == (0, None)


def test_take_with_no_range_writes_nothing(tmp_path: Path) -> None:
    take = make_take()
    take.cameras = {}
    take.info = dataclasses.replace(take.info, tc_in=None, tc_out=None)
    assert export_otio(take, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_takes_at_different_rates_cannot_share_a_timeline(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot share a timeline") as err:
        export_otio_many([make_take(), make_take(rate=R25)], tmp_path, "mixed")
    assert isinstance(err.value, StageError)
    with pytest.raises(ExportError, match="no takes"):
        export_otio_many([], tmp_path, "none")
    with pytest.raises(ExportError, match="not allowed"):
        export_otio_many([make_take()], tmp_path, "../up")
    assert list(tmp_path.iterdir()) == []


def test_progress_runs_to_one_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    seen: list[float] = []
    export_otio_many([make_take(take_id=i) for i in range(1, 4)], tmp_path, "three", progress=seen.append)
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["three.otio"]
