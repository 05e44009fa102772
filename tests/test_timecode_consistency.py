"""Timecode through a real take at 24, 25, 23.976, 29.97 DF and 59.94 DF, and across midnight.

A stage records camera ``O`` (an OpenTrackIO tracker sending its own timecode over loopback) and
camera ``F`` (FreeD: the stage clock's timecode at arrival). For the same sample every export must
name the same timecode and frame: the CSV's ``timecode``/``frame``, the JSON lines' ``timing.timecode``,
USD's time codes and .chan's frame numbers (one sample per frame), OTIO's clip start and ALE's Start;
and the tracker's timecode comes out exactly as it was sent. A tracker at another rate than the
stage (50 fps against 23.976, the demo's camera B) lands on the take's frames by its clock face.
"""

from __future__ import annotations

import csv
import json
import socket
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]
import pytest
from pxr import Usd

from stagectl.core.opentrackio.codec import ENCODING_JSON, OpenTrackIOSample, encode_sample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.core.timecode.label import TimecodeLabel
from stagectl.takes.export.registry import export_takes
from tests.ale_reader import read_ale
from tests.chan_reader import read_chan
from tests.support.polling import wait_until
from tests.support.recording import read_take, record, running
from tests.support.stagefile import StageFile
from tests.takes.conform.recorded import wall_time_of_day
from tracking.freed.codec import FreeDPosition, encode_d1


def _record(tmp_path: Path, rate: FrameRate, drop: bool, labels: list[TimecodeLabel], *,
            clock_wall_s: float | None = None) -> dict[str, Path]:
    """Record one take: each label sent by the OpenTrackIO tracker, a FreeD packet with each; export it."""
    frame_rate = f"{rate.rate.numerator}/{rate.rate.denominator}"
    text = (StageFile("timecode", frame_rate=frame_rate, drop_frame=drop)
            .source("O", "opentrackio").source("F", "freed")
            .takes(dir="takes", timecode="O")
            .text)
    with running(text, tmp_path) as runner, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        stage = runner.stage
        # The stage clock (camera F's timecode) on the tracker's time of day unless a test sets it, as
        # house sync keeps a stage: whatever the time of day the test runs at.
        wall = clock_wall_s if clock_wall_s is not None else wall_time_of_day(str(labels[0]))
        stage.clock.jam(wall_time_s=wall)

        def send() -> None:
            for n, label in enumerate(labels):
                sample = OpenTrackIOSample(translation_m=(0.01 * n, 2.0, 1.5),
                                           rotation_deg=(n * 0.5, 0.0, 0.0), timecode_label=label,
                                           sequence_number=n)
                freed = FreeDPosition(0, n * 0.5, 0.0, 0.0, 10.0 * n, 2000.0, 1500.0, n, 100)
                for source, datagram in ((stage.sources[0], encode_sample(sample, ENCODING_JSON, n)[0]),
                                         (stage.sources[1], encode_d1(freed))):
                    assert source.bound is not None
                    sender.sendto(datagram, ("127.0.0.1", source.bound.port))
                wait_until(lambda n=n: all(c.delivered == n + 1 for c in stage.cameras.values()))

        record(runner, send, scene="tc")
    take = read_take(tmp_path / "takes")
    files = export_takes([take], ["usd", "chan", "csv", "jsonl", "otio", "ale"], tmp_path / "export")
    return {path.name.replace(take.info.name, "take"): path for path in files}


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _jsonl_labels(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line)["timing"]["timecode"] for line in path.read_text().splitlines()]


def _per_frame(rows: list[dict[str, str]]) -> list[int]:
    """The frames of a camera's samples, each once, in order (what the per-frame formats hold)."""
    frames: list[int] = []
    for row in rows:
        if not frames or int(row["frame"]) != frames[-1]:
            frames.append(int(row["frame"]))
    return frames


def _usd_frames(path: Path) -> list[int]:
    stage = Usd.Stage.Open(str(path))
    attribute = stage.GetDefaultPrim().GetAttribute("xformOp:transform")
    return [int(t) for t in attribute.GetTimeSamples()]


def _check_camera(files: dict[str, Path], camera: str, rate: FrameRate, drop: bool,
                  sent: list[TimecodeLabel] | None) -> list[dict[str, str]]:
    rows = _csv(files[f"take_{camera}.csv"])
    for row in rows:  # the take's label is its frame's, the frame only grows
        assert row["timecode"] == str(Timecode.from_frames(int(row["frame"]), rate, drop))
    frames = _per_frame(rows)
    assert frames == sorted(frames)
    # Every pose here changes each sample, so USD keeps a time sample on every frame.
    assert _usd_frames(files[f"take_{camera}.usda"]) == frames
    chan = read_chan(files[f"take_{camera}.chan"], columns=7)  # no focal length: no field of view
    assert chan.frames.tolist() == frames
    jsonl = _jsonl_labels(files[f"take_{camera}.jsonl"])
    for row, tc in zip(rows, jsonl, strict=True):
        sep = ";" if tc.get("dropFrame") else ":"
        text = f"{tc['hours']:02d}:{tc['minutes']:02d}:{tc['seconds']:02d}{sep}{tc['frames']:02d}"
        assert text == row["source_timecode"]
        assert f"{tc['frameRate']['num']}/{tc['frameRate']['denom']}" == row["source_timecode_rate"]
    if sent is not None:  # the tracker's timecode exactly as it was sent
        assert [row["source_timecode"] for row in rows] == [str(label) for label in sent]
        assert [TimecodeLabel(t["hours"], t["minutes"], t["seconds"], t["frames"],
                              FrameRate(Fraction(t["frameRate"]["num"], t["frameRate"]["denom"])),
                              t.get("dropFrame", False), t.get("subFrame")) for t in jsonl] == sent
    timeline = otio.adapters.read_from_file(str(files["take.otio"]))
    (clip,) = [c for track in timeline.tracks for c in track.find_clips()
               if c.metadata["stagectl"]["camera"] == camera]
    assert clip.source_range.start_time.value == frames[0] % (2**62)
    (ale_row,) = [r for r in read_ale(files["take.ale"]).rows if r["Camera"] == camera]
    assert ale_row["Start"] == rows[0]["timecode"]
    assert clip.source_range.duration.value == frames[-1] - frames[0] + 1
    return rows


RATES = [(FrameRate(Fraction(24)), False), (FrameRate(Fraction(25)), False),
         (FrameRate(Fraction(24000, 1001)), False), (FrameRate(Fraction(30000, 1001)), True),
         (FrameRate(Fraction(60000, 1001)), True)]


@pytest.mark.parametrize(("rate", "drop"), RATES, ids=["24", "25", "23.976", "29.97DF", "59.94DF"])
def test_every_export_names_the_same_timecode_for_each_sample(tmp_path: Path, rate: FrameRate,
                                                              drop: bool) -> None:
    # Across a minute boundary: where drop-frame skips labels (10:00:59 -> 10:01:00;02).
    start = Timecode.parse("10:00:59:00", rate, drop) + (rate.nominal - 3)
    sent = [TimecodeLabel.of(start + n // 2) for n in range(12)]  # two samples a frame
    files = _record(tmp_path, rate, drop, sent)
    rows = _check_camera(files, "O", rate, drop, sent)
    assert [row["tracker_timecode"] for row in rows] == ["true"] * 12
    assert [int(row["frame"]) for row in rows] == [(start + n // 2).frames for n in range(12)]
    stage_rows = _check_camera(files, "F", rate, drop, None)
    assert {row["tracker_timecode"] for row in stage_rows} == {"false"}


def test_a_tracker_at_50_fps_lands_on_the_23976_takes_frames_by_its_clock_face(tmp_path: Path) -> None:
    # The demo's camera B: once recorded ~24 s away from the stage clock at 06:47.
    rate = FrameRate(Fraction(24000, 1001))
    sent = [TimecodeLabel.of(Timecode.parse("06:47:50:30", FrameRate(Fraction(50))) + n) for n in range(12)]
    files = _record(tmp_path, rate, False, sent)
    rows = _csv(files["take_O.csv"])
    assert [row["source_timecode"] for row in rows] == [str(label) for label in sent]
    # Frame f at 50 starts inside frame f * 24 // 50 at 23.976: 30, 31 -> 14; 32, 33 -> 15.
    assert [row["timecode"] for row in rows][:4] == ["06:47:50:14", "06:47:50:14", "06:47:50:15",
                                                     "06:47:50:15"]
    assert read_ale(files["take.ale"]).rows[0]["Start"] == "06:47:50:14"


def test_a_take_across_midnight_keeps_its_frame_order_everywhere(tmp_path: Path) -> None:
    rate = FrameRate(Fraction(25))
    start = Timecode.parse("23:59:59:20", rate)
    sent = [TimecodeLabel.of(start + n) for n in range(12)]  # 23:59:59:20 .. 00:00:00:06
    midnight = time.mktime((2026, 12, 7, 23, 59, 59, 0, 0, -1)) + 0.8  # the stage clock at 23:59:59:20
    files = _record(tmp_path, rate, False, sent, clock_wall_s=midnight)
    for camera in ("O", "F"):
        rows = _check_camera(files, camera, rate, False, sent if camera == "O" else None)
        frames = [int(row["frame"]) for row in rows]
        assert frames == sorted(frames) and frames[-1] - frames[0] < 50
    rows = _csv(files["take_O.csv"])
    assert rows[0]["timecode"] == "23:59:59:20" and rows[-1]["timecode"] == "00:00:00:06"
    assert int(rows[-1]["frame"]) == 24 * 3600 * 25 + 6  # counts on past midnight, labels wrap
    ale_row = read_ale(files["take.ale"]).rows[0]
    assert (ale_row["Start"], ale_row["End"], ale_row["Duration"]) == ("23:59:59:20", "00:00:00:07",
                                                                      "00:00:00:12")
