"""Conform at the edges, on real takes: across midnight, a clip joined from two takes, a clip that starts
before recording and runs past it, the camera's delay line applied once (and said when unknown), a
cut's event with handles, cancelling, and the enriched ALE values."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.stage.runner import StageRunner
from stagectl.takes.conform import Clip, ConformError, CutEvent
from stagectl.takes.conform.enrich import COLUMNS
from stagectl.takes.conform.match import resolve_camera
from stagectl.takes.conform.run import conform_clips, conform_cut, plan
from tests.chan_reader import read_chan
from tests.takes.conform.recorded import FOCAL_MM, FOCAL_MM_PER_S, Sent, record_takes, samples
from tests.takes.conform.test_conform_frames import exposure_since, make_clip, read_jsonl

R25 = FrameRate.parse(25)
TEN = Timecode.parse("10:00:00:00", R25)


@pytest.fixture(scope="module")
def two_takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Take 1 from 10:00:00:00 and take 2 from 10:00:02:00, 2 s each at 100 Hz; one tracker clock."""
    first, second = samples(TEN, 2.0, 100), samples(TEN + 50, 2.0, 100)
    second = [Sent(s.t + 2.0, s.label, s.sub_frame) for s in second]
    return record_takes(tmp_path_factory.mktemp("two"), [first, second])


def _x(folder: Path, name: str) -> tuple[list[int], np.ndarray]:
    chan = read_chan(folder / name / f"{name}.chan", columns=7)
    return chan.frames.tolist(), chan.values[:, 0]


def test_a_clip_across_midnight_keeps_counting(tmp_path: Path) -> None:
    origin = Timecode.parse("23:59:58:00", R25)
    store = record_takes(tmp_path / "store", [samples(origin, 4.0, 100)])
    clips = [make_clip("A002C001", "25", "23:59:59:10", 50),
             make_clip("A002C002", "29.97DF", "23:59:59;15", 60),
             make_clip("A002C003", "23.976", "23:59:59:12", 48)]
    result = conform_clips(clips, store, tmp_path / "out")
    for clip, match in zip(clips, result.matches, strict=True):
        assert match.frames_covered == clip.frames, (clip.name, match.warnings)
        frames, x = _x(tmp_path / "out", clip.name)
        assert frames == [clip.start.frames + n for n in range(clip.frames)]  # past midnight: still growing
        np.testing.assert_allclose(x, exposure_since(clip, origin), atol=1e-6)
        labels = [line["timing"]["timecode"] for line in read_jsonl(tmp_path / "out" / clip.name /
                                                                   f"{clip.name}.jsonl")]
        after = [n for n in range(clip.frames) if clip.timecode_of(n).hours == 0]
        assert after and all(labels[n]["hours"] == 0 for n in after)  # labels wrap as SMPTE says
        assert labels[after[0]]["minutes"] == labels[after[0]]["seconds"] == 0


def test_a_clip_over_two_takes_is_joined(two_takes: Path, tmp_path: Path) -> None:
    clip = make_clip("A003C001", "23.976", "10:00:01:00", 48)  # 10:00:01 to 10:00:03
    result = conform_clips([clip], two_takes, tmp_path)
    [match] = result.matches
    assert [(s.take_id, s.first, s.stop) for s in match.segments] == [(1, 0, 24), (2, 24, 48)]
    assert match.frames_missing == 0
    frames, x = _x(tmp_path, "A003C001")
    assert frames == [clip.start.frames + n for n in range(48)]
    np.testing.assert_allclose(x, exposure_since(clip, TEN), atol=1e-6)
    manifest = json.loads((tmp_path / "A003C001" / "A003C001.json").read_text())
    assert [(t["name"], t["clipFrames"]) for t in manifest["takes"]] == [
        ("conform-1-T001", [0, 23]), ("conform-2-T001", [24, 47])]


def test_frames_before_and_after_recording_are_missing_and_counted(two_takes: Path, tmp_path: Path) -> None:
    # 09:59:59:00 for 6 s: one second before take 1, takes 1 and 2 (10:00:00 to 10:00:03.99), 1 s after.
    clip = make_clip("A004C001", "25", "09:59:59:00", 150)
    result = conform_clips([clip], two_takes, tmp_path)
    [match] = result.matches
    assert (match.missing_before, match.missing_between, match.missing_after) == (25, 0, 25)
    assert match.frames_covered == 100
    frames, x = _x(tmp_path, "A004C001")
    assert frames == [clip.start.frames + n for n in range(25, 125)]  # left out, not invented
    np.testing.assert_allclose(x, exposure_since(clip, TEN)[25:125], atol=1e-6)
    assert len(read_jsonl(tmp_path / "A004C001" / "A004C001.jsonl")) == 100
    manifest = json.loads((tmp_path / "A004C001" / "A004C001.json").read_text())
    assert manifest["frames"] == {"covered": 100, "missing": 50, "missingBefore": 25, "missingBetween": 0,
                                  "missingAfter": 25}
    assert any("50 of 150 frames have no tracking" in w for w in manifest["warnings"])


def test_the_delay_line_is_applied_once(tmp_path: Path) -> None:
    def delay(runner: StageRunner) -> None:
        async def set_delay() -> float:
            return runner.stage.set_delay("A", ms=40.0)

        runner.runtime.call_sync(set_delay(), 5.0)

    store = record_takes(tmp_path / "store", [samples(TEN, 2.0, 100)], before=delay)
    clip = make_clip("A005C001", "25", "10:00:00:10", 25)
    conform_clips([clip], store, tmp_path / "out")
    _frames, x = _x(tmp_path / "out", "A005C001")
    # The picture sees each sample 40 ms after it was taken: frame n shows the pose of 40 ms earlier.
    np.testing.assert_allclose(x, exposure_since(clip, TEN) - 0.040, atol=1e-6)
    manifest = json.loads((tmp_path / "out" / "A005C001" / "A005C001.json").read_text())
    assert manifest["delayAppliedMs"] == [40.0]
    assert not any("delay line" in w for w in manifest["warnings"])


def test_a_take_keeps_the_delay_line_live_at_record(two_takes: Path, tmp_path: Path) -> None:
    """A take records each camera's delay line at RECORD (0 ms here), so nothing is assumed."""
    conform_clips([make_clip("A006C001", "25", "10:00:00:10", 10)], two_takes, tmp_path)
    manifest = json.loads((tmp_path / "A006C001" / "A006C001.json").read_text())
    assert manifest["delayAppliedMs"] == [0.0]
    assert not any("delay line" in w for w in manifest["warnings"])
    # No look was live: said of the clip (the writers' "take N" would name a take that does not exist).
    said = "cdl: clip A006C001 has no look (none was live at its start): no CDL written"
    assert said in manifest["warnings"]


def test_a_cut_event_gets_its_handles_and_its_name(two_takes: Path, tmp_path: Path) -> None:
    clip = make_clip("A001C007_0412", "25", "10:00:01:00", 20)
    event = CutEvent("010_A001C007_0412", clip, vfx=True, source="cut.edl:12")
    progress: list[tuple[float, str]] = []
    result = conform_cut([event], two_takes, tmp_path, handles=8,
                         progress=lambda f, what: progress.append((f, what)))
    [package] = result.packages
    assert package.folder == tmp_path / "010_A001C007_0412"
    frames, _x_m = _x(tmp_path, "010_A001C007_0412")
    assert frames == [clip.start.frames - 8 + n for n in range(36)]
    manifest = json.loads((package.folder / "010_A001C007_0412.json").read_text())
    assert (manifest["clip"]["start"], manifest["clip"]["frames"]) == ("10:00:00:17", 36)
    assert progress[-1] == (1.0, "010_A001C007_0412")
    assert [f for f, _ in progress] == sorted(f for f, _ in progress)


def test_enriched_ale_values(two_takes: Path, tmp_path: Path) -> None:
    clip = make_clip("A007C001", "25", "09:59:59:00", 100)  # 1 s before take 1, 3 s in takes 1 and 2
    result = conform_clips([clip], two_takes, tmp_path, formats=["chan"])
    values = result.ale_values["A007C001"]
    assert list(values) == list(COLUMNS)
    assert values["Take"] == "conform-1-T001, conform-2-T001"
    assert values["Tracking coverage"] == "75.0%"
    low, high = FOCAL_MM, FOCAL_MM + FOCAL_MM_PER_S * 2.96
    assert values["Focal range"] == f"{low:.1f}-{high:.1f} mm"
    assert "25 of 100 frames have no tracking" in values["stagectl notes"]
    assert all("\t" not in v and "\n" not in v for v in values.values())


def test_cancel_stops_before_the_next_clip(two_takes: Path, tmp_path: Path) -> None:
    cancel = threading.Event()
    clips = [make_clip(f"A008C00{n}", "25", "10:00:00:10", 10) for n in range(3)]

    def progress(fraction: float, what: str) -> None:
        if what == "A008C000" and fraction >= 1 / 3:  # the first of three clips is done
            cancel.set()

    result = conform_clips(clips, two_takes, tmp_path, progress=progress, cancel=cancel)
    assert result.cancelled
    assert [p.clip.name for p in result.packages] == ["A008C000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A008C000"]


def test_cameras_and_refusals(two_takes: Path) -> None:
    clip = make_clip("B001C001", "25", "10:00:00:10", 10)
    assert plan([clip], two_takes)[0].camera == "A"  # the takes' only camera
    assert resolve_camera(clip, ["A", "B"], {"B": "B"}) == "B"
    assert resolve_camera(clip, ["A", "CamB"], {"B001": "CamB"}) == "CamB"  # by the clip name's start
    with pytest.raises(ValueError, match=r"clip B001C001 .*none of the stage cameras .*\(A, C\)"):
        resolve_camera(Clip("B001C001", clip.start, 10, clip.rate, camera="B"), ["A", "C"], None)
    with pytest.raises(ValueError, match="camera map sends 'B' to 'X'"):
        resolve_camera(Clip("B001C001", clip.start, 10, clip.rate, camera="B"), ["A", "C"], {"B": "X"})
    refused = plan([clip], two_takes, camera_map={"B": "X"})[0]
    assert refused.refused and not refused.segments


def test_no_take_at_the_clips_timecode(two_takes: Path, tmp_path: Path) -> None:
    clip = make_clip("C001C001", "25", "14:00:00:00", 10)
    result = conform_clips([clip], two_takes, tmp_path)
    [match] = result.matches
    assert match.frames_covered == 0 and "no take was recorded" in match.warnings[0]
    assert sorted(p.name for p in (tmp_path / "C001C001").iterdir()) == ["C001C001.json"]
    with pytest.raises(ConformError, match="does not exist"):
        conform_clips([clip], tmp_path / "nowhere", tmp_path)


def test_clips_of_one_name_get_packages_of_their_own(two_takes: Path, tmp_path: Path) -> None:
    clips = [make_clip("A009/C001", "25", "10:00:00:10", 5), make_clip("A009/C001", "25", "10:00:01:10", 5)]
    result = conform_clips(clips, two_takes, tmp_path, formats=["chan"])
    assert [p.folder.name for p in result.packages] == ["A009_C001", "A009_C001-2"]
    second = sorted(p.name for p in (tmp_path / "A009_C001-2").iterdir())
    assert second == ["A009_C001-2.chan", "A009_C001-2.json"]
    assert any("its package is A009_C001-2" in w for w in result.warnings)
