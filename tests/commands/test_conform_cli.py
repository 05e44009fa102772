"""``stagectl conform clips | cut`` run as a user runs it (a subprocess) on a real recorded take.

The take is recorded by ``stagectl takes record`` on a stage of two simulated FreeD cameras at 100 Hz,
25 fps. Clips are then written as a user gets them: a CSV, the DIT's ALE (CRLF, tab-delimited), a
folder of camera media written with PyAV, and a CMX 3600 EDL, all at the take's timecode. The
packages are read back with independent readers (json, the strict .chan reader, the strict ALE reader
and otio-ale-adapter)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import otio_ale_adapter.ale as otio_ale  # type: ignore[import-untyped, unused-ignore]
import pytest

from stagectl.core.timecode import Timecode
from stagectl.takes.store import TakeStore
from tests.ale_reader import read_ale
from tests.chan_reader import read_chan
from tests.support.cli import stagectl
from tests.support.media import write_clip
from tests.support.stagefile import StageFile


@dataclass(frozen=True)
class Day:
    """The stage file, its takes folder and the recorded take's first and last frame."""

    stage: Path
    folder: Path
    tc_in: Timecode
    tc_out: Timecode
    first_b: int
    """Frame count of camera B's first sample (B may start a frame or two after the take's first frame)."""


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    root = tmp_path_factory.mktemp("conform-day")
    stage = (StageFile("Conform test", frame_rate=25).source("A", rate_hz=100).source("B", rate_hz=100)
             .takes(dir="takes").write(root))
    done = stagectl("takes", "record", "--duration", "3", "--scene", "7", "--shot", "A", "--config",
                    str(stage), timeout=60)
    assert done.returncode == 0, done.stderr
    with TakeStore(root / "takes", readonly=True) as store:
        (info,) = store.takes()
        first_b = next(cam.first_frame for cam in store.summary(info.take_id).cameras if cam.camera == "B")
    assert first_b is not None
    assert info.tc_in is not None and info.tc_out is not None and info.tc_out - info.tc_in >= 60
    yield Day(stage, root / "takes", info.tc_in, info.tc_out, first_b)


def _csv(path: Path, rows: list[tuple[str, str, Timecode, int]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "camera", "start TC", "end TC", "fps"])
        for name, camera, start, frames in rows:
            writer.writerow([name, camera, str(start), str(start + frames), "25"])
    return path


def _conform(day: Day, *args: str) -> tuple[int, str, str]:
    done = stagectl("conform", *args, "--config", str(day.stage), timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def _jsonl_timecodes(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        tc = json.loads(line)["timing"]["timecode"]
        out.append(f"{tc['hours']:02d}:{tc['minutes']:02d}:{tc['seconds']:02d}:{tc['frames']:02d}")
    return out


def _clip_frames(labels: list[str], start: Timecode, frames: int) -> bool:
    """True when ``labels`` are timecodes of the clip's frames from ``start``, each once, in order."""
    expected = [str(start + n) for n in range(frames)]
    return labels == [label for label in expected if label in set(labels)]


def test_clips_from_a_csv_one_package_per_clip_and_every_problem_said(day: Day, tmp_path: Path) -> None:
    inside = day.tc_in + 10
    clips = _csv(tmp_path / "day1.csv", [
        ("A001C001_0001", "A", inside, 25),           # covered
        ("B001C001_0001", "B", day.tc_in - 10, 30),   # starts 10 frames before recording
        ("C001C001_0001", "C", inside, 10),           # a camera the stage does not have
        ("A001C002_0002", "A", inside - 90_000, 25),  # an hour earlier: no take
    ])
    out = tmp_path / "out"
    code, stdout, stderr = _conform(day, "clips", str(clips), "--out", str(out))
    assert code == 0, stderr
    table = stdout.splitlines()
    assert table[0].split()[:2] == ["clip", "camera"]
    assert table[1].split()[:3] == ["A001C001_0001", "A", str(inside)]
    assert "7-A-T001" in table[1]
    assert "(partly)" in table[2] and "(refused)" in table[3] and "(no tracking)" in table[4]
    # every warning said, naming its clip
    # (B's first frame is covered only when its first sample came early in that frame)
    late = day.first_b - (day.tc_in.frames - 10)
    said = re.search(r"B001C001_0001: (\d+) of 30 frames have no tracking \(before recording (\d+),", stderr)
    assert said and int(said[2]) in (late, late + 1), stderr
    assert "C001C001_0001: clip C001C001_0001" in stderr and "says camera 'C'" in stderr
    assert "A001C002_0002: no take was recorded between" in stderr
    assert "stagectl conform: 100%" in stderr  # progress on stderr

    package = out / "A001C001_0001"
    manifest = json.loads((package / "A001C001_0001.json").read_text(encoding="utf-8"))
    covered = manifest["frames"]["covered"]
    # every frame, unless a loaded machine held the simulator's datagrams back longer than is bridged
    assert covered >= 23 and manifest["frames"]["missing"] == 25 - covered
    assert f"package {package}  ({covered} of 25 frames with tracking)" in stdout
    for suffix in (".usda", ".chan", ".csv", ".jsonl", ".json"):
        assert f"  {package / ('A001C001_0001' + suffix)}" in stdout
    labels = _jsonl_timecodes(package / "A001C001_0001.jsonl")
    assert len(labels) == covered and _clip_frames(labels, inside, 25)
    chan = read_chan(package / "A001C001_0001.chan", columns=7)
    assert chan.frames.tolist() == [Timecode.parse(label, inside.rate).frames for label in labels]
    assert manifest["clip"]["name"] == "A001C001_0001" and manifest["camera"] == "A"
    assert [t["name"] for t in manifest["takes"]] == ["7-A-T001"]
    partial = json.loads((out / "B001C001_0001" / "B001C001_0001.json").read_text(encoding="utf-8"))
    missing = partial["frames"]["missingBefore"]
    assert missing == int(said[2]) and partial["frames"]["covered"] == 30 - missing
    covered = _jsonl_timecodes(out / "B001C001_0001" / "B001C001_0001.jsonl")
    assert covered == [str(day.tc_in - 10 + n) for n in range(missing, 30)]
    assert not list((out / "C001C001_0001").glob("*.jsonl"))  # refused: the manifest only, saying why


def test_json_and_a_camera_map(day: Day, tmp_path: Path) -> None:
    clips = _csv(tmp_path / "clips.csv", [("X001C004_0001", "X", day.tc_in + 20, 12)])
    code, stdout, stderr = _conform(day, "clips", str(clips), "--out", str(tmp_path / "out"), "--camera-map",
                                    "X=B", "--formats", "chan,jsonl", "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    (row,) = result["matches"]
    assert row["name"] == "X001C004_0001" and row["camera"] == "B" and row["takes"] == ["7-A-T001"]
    assert row["frames"] == 12 and row["frames_covered"] >= 10
    (package,) = result["packages"]
    assert sorted(Path(f).name for f in package["files"]) == [
        "X001C004_0001.chan", "X001C004_0001.json", "X001C004_0001.jsonl"]
    assert result["enriched_ale"] is None


def _ale(path: Path, rows: list[tuple[str, Timecode, int, str]]) -> Path:
    lines = ["Heading", "FIELD_DELIM\tTABS", "VIDEO_FORMAT\t1080", "AUDIO_FORMAT\t48khz", "FPS\t25", "",
             "Column", "Name\tTracks\tStart\tEnd\tTape\tCamera\tScene", "", "Data"]
    lines += [f"{name}\tV\t{start}\t{start + frames}\t{name[:4]}\t{camera}\t7" for name, start, frames, camera
              in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def test_an_ale_source_also_writes_the_enriched_ale(day: Day, tmp_path: Path) -> None:
    ale = _ale(tmp_path / "day1.ale", [("A001C005_0003", day.tc_in + 15, 20, "A"),
                                        ("B001C005_0003", day.tc_in - 5, 20, "B")])
    out = tmp_path / "out"
    code, stdout, stderr = _conform(day, "clips", str(ale), "--out", str(out), "--formats", "csv")
    assert code == 0, stderr
    enriched = out / "day1_stagectl.ale"
    assert f"enriched ALE {enriched}" in stdout
    strict = read_ale(enriched)  # the spec's layout, checked by a reader of our own tests
    assert strict.newline == "\r\n"
    assert strict.columns[:7] == ["Name", "Tracks", "Start", "End", "Tape", "Camera", "Scene"]
    rows = {row["Name"]: row for row in strict.rows}
    assert rows["A001C005_0003"]["Tracking coverage"].endswith("%")
    assert rows["A001C005_0003"]["Take"] == "7-A-T001" and rows["A001C005_0003"]["Scene"] == "7"
    assert float(rows["B001C005_0003"]["Tracking coverage"][:-1]) <= 75.0  # 5 frames before the take
    collection = otio_ale.read_from_string(enriched.read_text(encoding="utf-8"))
    names = [clip.name for clip in collection]
    assert names == ["A001C005_0003", "B001C005_0003"]
    assert collection[0].metadata["ALE"]["Tracking coverage"] == rows["A001C005_0003"]["Tracking coverage"]


def test_a_media_folder(day: Day, tmp_path: Path) -> None:
    media = tmp_path / "card"
    media.mkdir()
    start = day.tc_in + 12
    write_clip(media / "A001C006_0004.mov", Fraction(25), str(start), frames=8)
    code, stdout, stderr = _conform(day, "clips", str(media), "--out", str(tmp_path / "out"), "--formats",
                                    "jsonl")
    assert code == 0, stderr
    assert stdout.splitlines()[1].split()[:3] == ["A001C006_0004", "A", str(start)]
    jsonl = tmp_path / "out" / "A001C006_0004" / "A001C006_0004.jsonl"
    labels = _jsonl_timecodes(jsonl)
    assert len(labels) >= 7 and _clip_frames(labels, start, 8)
    assert not list((tmp_path / "out").glob("*.ale"))  # no ALE given: none written


def _edl(path: Path, day: Day) -> Path:
    a, b = day.tc_in + 20, day.tc_in + 30
    rec = Timecode.parse("01:00:00:00", day.tc_in.rate)
    path.write_text("\n".join([
        "TITLE: VFX PULL", "FCM: NON-DROP FRAME", "",
        f"001  A001C001 V     C        {a} {a + 10} {rec} {rec + 10}",
        "* FROM CLIP NAME: A001C001_0001", "* VFX SET EXTENSION", "",
        f"002  B001C001 V     C        {b} {b + 8} {rec + 10} {rec + 18}",
        "* FROM CLIP NAME: B001C001_0001", ""]), encoding="utf-8")
    return path


def test_a_cut_gives_a_package_per_vfx_event_with_handles(day: Day, tmp_path: Path) -> None:
    cut = _edl(tmp_path / "reel1.edl", day)
    out = tmp_path / "out"
    code, stdout, stderr = _conform(day, "cut", str(cut), "--out", str(out), "--handles", "4", "--formats",
                                    "jsonl")
    assert code == 0, stderr
    assert "the cut marks 1 of 2 events VFX; only those are conformed" in stderr
    assert [p.name for p in out.iterdir()] == ["001_A001C001_0001"]
    first = day.tc_in + 20 - 4
    jsonl = out / "001_A001C001_0001" / "001_A001C001_0001.jsonl"
    labels = _jsonl_timecodes(jsonl)
    assert len(labels) >= 16 and _clip_frames(labels, first, 10 + 2 * 4)
    assert stdout.splitlines()[0].split()[0] == "event"

    code, stdout, stderr = _conform(day, "cut", str(cut), "--out", str(out), "--all-events", "--dry-run")
    assert code == 0, stderr
    assert [line.split()[0] for line in stdout.splitlines()[1:]] == ["001_A001C001_0001", "002_B001C001_0001"]
    assert sorted(p.name for p in out.iterdir()) == ["001_A001C001_0001"]  # a dry run writes nothing


def test_nothing_matched_is_exit_1_and_usage_errors_exit_2(day: Day, tmp_path: Path) -> None:
    clips = _csv(tmp_path / "night.csv", [("A001C009_0009", "A", day.tc_in - 200_000, 25)])
    code, _stdout, stderr = _conform(day, "clips", str(clips), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "no clip matches a take" in stderr and "A001C009_0009: no take was recorded" in stderr
    elsewhere = str(tmp_path / "o")
    code, _stdout, stderr = _conform(day, "clips", str(clips), "--out", elsewhere, "--formats", "gif")
    assert code == 2
    assert "unknown format(s) gif; known: usd, chan, csv, jsonl, cdl or all (in --formats)" in stderr
    code, _stdout, stderr = _conform(day, "clips", str(clips), "--out", elsewhere, "--camera-map", "A")
    assert code == 2 and "'A' is not CLIP=STAGE" in stderr
    code, _stdout, stderr = _conform(day, "clips", str(tmp_path / "missing.ale"), "--out", elsewhere)
    assert code == 1 and f"SOURCE {tmp_path / 'missing.ale'} does not exist" in stderr
    assert not (tmp_path / "o").exists()
