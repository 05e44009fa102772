"""Conform, frame by frame: real takes recorded on a stage over loopback (a tracker at 50, 100 and 240 Hz
sending its timecode and sub-frame), clips at 23.976, 25, 29.97 DF and 59.94; every clip frame must carry
the pose of its own exposure time (the frame's start), read back from the written USD (usd-core), .chan
(the tests' strict reader) and OpenTrackIO JSON lines (json + the OpenTrackIO schema).

The expected times are worked out here from the labels alone: a drop-frame or whole-rate label of F
frames is F / rate seconds after midnight, a non-drop 23.976 / 59.94 label F / nominal (its clock face).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import pytest
from pxr import Usd, UsdGeom

from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.takes.conform import Clip
from stagectl.takes.conform.run import conform_clips
from tests.chan_reader import read_chan
from tests.support.cli import REPO
from tests.takes.conform.recorded import FOCAL_MM, FOCAL_MM_PER_S, PAN_DEG_PER_S, record_takes, samples

SCHEMA = json.loads((REPO / "tests" / "data" / "opentrackio" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
TRACKERS = {50: "25", 100: "25", 240: "24"}  # tracker Hz -> its timecode rate
CLIP_RATES = {"23.976": ("10:00:00:12", False), "25": ("10:00:00:13", False),
              "29.97DF": ("10:00:00;15", True), "59.94": ("10:00:00:31", False)}
TAKE_S = 3.0
CLIP_FRAMES = 40  # well inside the take at every rate


def axis(tc: Timecode) -> Fraction:
    """Seconds after midnight of a label, as the module docstring says."""
    if tc.drop_frame or tc.rate.rate.denominator == 1:
        return Fraction(tc.frames) / tc.rate.rate
    return Fraction(tc.frames, tc.rate.nominal)


def frame_s(rate: FrameRate, drop: bool) -> Fraction:
    """One clip frame's length on that axis."""
    return 1 / rate.rate if drop or rate.rate.denominator == 1 else Fraction(1, rate.nominal)


def exposure_since(clip: Clip, origin: Timecode) -> npt.NDArray[np.float64]:
    """Each clip frame's exposure time (its start), seconds after ``origin``, across midnight too."""
    day = Fraction(frames_per_24h(clip.rate, clip.drop_frame)) * frame_s(clip.rate, clip.drop_frame)
    first = axis(clip.start) - axis(origin)
    first -= round(first / day) * day
    step = frame_s(clip.rate, clip.drop_frame)
    return np.array([float(first + n * step) for n in range(clip.frames)])


def make_clip(name: str, rate_text: str, start: str, frames: int = CLIP_FRAMES) -> Clip:
    rate = FrameRate.parse(rate_text.removesuffix("DF"))
    return Clip(name, Timecode.parse(start, rate), frames, rate, camera="A")


def angle_error(got: npt.ArrayLike, want: npt.ArrayLike) -> float:
    """Largest difference between two angle arrays, modulo 360."""
    diff = (np.asarray(got) - np.asarray(want) + 180.0) % 360.0 - 180.0
    return float(np.max(np.abs(diff)))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of an OpenTrackIO JSON lines file, each checked against the schema."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = [json.loads(line) for line in raw.decode("utf-8").split("\n")[:-1]]
    for line in lines:
        VALIDATOR.validate(line)
    return lines


def read_usd_x(path: Path, frames: list[int]) -> npt.NDArray[np.float64]:
    """The camera's X position (metres) at each USD time code (= clip frame)."""
    stage = Usd.Stage.Open(str(path))
    camera = UsdGeom.Camera(stage.GetDefaultPrim())
    metres = UsdGeom.GetStageMetersPerUnit(stage)
    times = camera.GetPrim().GetAttribute("xformOp:transform").GetTimeSamples()
    assert sorted(int(t) for t in times) == frames
    return np.array([camera.ComputeLocalToWorldTransform(Usd.TimeCode(f)).ExtractTranslation()[0] * metres
                     for f in frames])


@pytest.fixture(scope="module", params=sorted(TRACKERS), ids=lambda hz: f"{hz}Hz")
def tracker_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[Path, Timecode]:
    """A take of 3 s of a tracker at the parameter's rate, its timecode from 10:00:00:00."""
    hz = request.param
    origin = Timecode.parse("10:00:00:00", FrameRate.parse(TRACKERS[hz]))
    folder = tmp_path_factory.mktemp(f"t{hz}")
    return record_takes(folder, [samples(origin, TAKE_S, hz)]), origin


@pytest.mark.parametrize("clip_rate", sorted(CLIP_RATES))
def test_every_clip_frame_carries_the_pose_of_its_exposure_time(
        tracker_store: tuple[Path, Timecode], clip_rate: str, tmp_path: Path) -> None:
    store, origin = tracker_store
    start, _drop = CLIP_RATES[clip_rate]
    clip = make_clip("A001C007_0412", clip_rate, start)
    result = conform_clips([clip], store, tmp_path)
    [match], [package] = result.matches, result.packages
    assert (match.frames_covered, match.frames_missing) == (CLIP_FRAMES, 0), match.warnings
    t = exposure_since(clip, origin)
    frames = [clip.start.frames + n for n in range(clip.frames)]
    folder = tmp_path / "A001C007_0412"
    assert package.folder == folder
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"A001C007_0412.{ext}" for ext in ("usda", "chan", "csv", "jsonl", "json"))

    chan = read_chan(folder / "A001C007_0412.chan", columns=7)  # no film back: no FOV column
    assert chan.frames.tolist() == frames
    np.testing.assert_allclose(chan.values[:, 0], t, atol=1e-6)  # x = seconds since the tracker's 10:00
    assert angle_error(chan.values[:, 4], PAN_DEG_PER_S * t) < 1e-4  # pan, crossing +-180 many times

    np.testing.assert_allclose(read_usd_x(folder / "A001C007_0412.usda", frames), t, atol=1e-6)

    lines = read_jsonl(folder / "A001C007_0412.jsonl")
    assert len(lines) == clip.frames  # exactly one sample per clip frame
    rate = clip.rate.rate
    for n, line in enumerate(lines):
        label = clip.timecode_of(n)
        timecode = line["timing"]["timecode"]
        assert (timecode["hours"], timecode["minutes"], timecode["seconds"], timecode["frames"]) == \
            label.components(), n
        assert timecode["frameRate"] == {"num": rate.numerator, "denom": rate.denominator}
        assert timecode.get("dropFrame", False) == clip.drop_frame
        [transform] = line["transforms"]
        assert transform["translation"]["x"] == pytest.approx(t[n], abs=1e-6), n
        assert line["lens"]["pinholeFocalLength"] == pytest.approx(FOCAL_MM + FOCAL_MM_PER_S * t[n], abs=1e-6)

    manifest = json.loads((folder / "A001C007_0412.json").read_text())
    assert manifest["clip"]["rate"] == f"{rate.numerator}/{rate.denominator}"
    assert manifest["frames"] == {"covered": CLIP_FRAMES, "missing": 0, "missingBefore": 0,
                                  "missingBetween": 0, "missingAfter": 0}
    assert manifest["takes"][0]["clipFrames"] == [0, CLIP_FRAMES - 1]
    assert manifest["sources"] == [{"protocol": "opentrackio", "name": "A/opentrackio"}]
