"""OpenTrackIO JSON lines take export: every line read with json, validated against the OpenTrackIO
schema (jsonschema) and parsed by tracking's parse_sample, checked against hand-worked values."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import numpy as np
import pytest

from lens.lensfile import SensorSize
from lens.solve import projection_offset_mm
from stagectl.core.opentrackio.codec import parse_sample
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from stagectl.core.timecode import FrameRate
from stagectl.takes.export.jsonl import export_jsonl, opentrackio_distortion, projection_offsets_mm
from stagectl.takes.model import CameraTrack
from tests.support.cli import REPO
from tests.take_factory import make_take, make_track

SCHEMA = json.loads((REPO / "tests" / "data" / "opentrackio" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _read(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    samples = []
    for line in raw.decode("utf-8").split("\n")[:-1]:
        sample = json.loads(line)  # one JSON object per line, nothing else on it
        VALIDATOR.validate(sample)
        parse_sample(sample)  # the repo's receiving side accepts it too
        samples.append(sample)
    return samples


def _export(track: CameraTrack, tmp_path: Path, **take_options: Any) -> list[dict[str, Any]]:
    take = make_take(**take_options)
    take.cameras = {track.camera: track}
    (path,) = export_jsonl(take, tmp_path)
    return _read(path)


def test_every_sample_is_a_valid_line(tmp_path: Path) -> None:
    take = make_take()
    progress: list[float] = []
    (path,) = export_jsonl(take, tmp_path, progress=progress.append)
    assert path.name == "12-A-T003_A.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    samples = _read(path)
    assert len(samples) == 480  # every sample, not every frame
    assert progress[-1] == 1.0
    # Sample 10 is 1/24 s in (10 samples per frame at 24 fps): x = 1 m/s * 1/24 s, pan = 10 deg/s * 1/24 s.
    tenth = samples[10]
    (transform,) = tenth["transforms"]
    assert transform["id"] == "Camera"
    assert transform["translation"] == {"x": pytest.approx(1 / 24, abs=1e-6), "y": 2, "z": 1.5}
    assert transform["rotation"] == {"pan": pytest.approx(10 / 24, abs=1e-6), "tilt": -5, "roll": 1}
    assert tenth["timing"]["timecode"] == {"hours": 10, "minutes": 0, "seconds": 0, "frames": 1,
                                           "frameRate": {"num": 24, "denom": 1}}
    assert tenth["timing"]["sequenceNumber"] == 10
    # 10 samples a frame at 24 fps = 240 Hz.
    assert tenth["timing"]["sampleRate"] == {"num": 240, "denom": 1}
    last = samples[-1]["timing"]["timecode"]
    assert (last["seconds"], last["frames"]) == (1, 23)
    ids = [s["sampleId"] for s in samples]
    assert len(set(ids)) == 480 and all(URN.match(i) for i in ids)
    assert {s["sourceId"] for s in samples} == {samples[0]["sourceId"]}
    assert {s["sourceNumber"] for s in samples} == {1}


def test_lens_block_hand_worked(tmp_path: Path) -> None:
    track = make_track("A", 864000, 2, 1, make_take().info.rate)
    track.principal_point_px[:] = (2000.0, 1000.0)
    lens = _export(track, tmp_path)[1]["lens"]
    assert [lens[k] for k in ("pinholeFocalLength", "focusDistance", "fStop", "tStop")] == [35, 3, 2.5, 2.8]
    assert lens["entrancePupilOffset"] == 0.1
    assert lens["rawEncoders"] == {"focus": 2000, "iris": 300, "zoom": 1000}
    # OpenCV (k1, k2, k3, p1, p2) = (-0.1, 0.02, 0, 0.001, -0.002) at F = 35 mm (F^2 = 1225):
    # l1 = k1/F^2 = -8.163265e-5, l3 = k2/F^4 = 1.332778e-8, l5 = k3/F^6 = 0; q = p/F^2.
    (distortion,) = lens["distortion"]
    assert distortion["model"] == "Brown-Conrady U-D"
    assert distortion["radial"] == pytest.approx([-8.163265306e-5, 0, 1.332778009e-8, 0, 0, 0], rel=1e-9)
    assert distortion["tangential"] == pytest.approx([8.163265306e-7, -1.632653061e-6], rel=1e-9)
    # Principal point (2000, 1000) px on 3840 x 2160 px = 36 x 24 mm: (80 * 36/3840, -80 * 24/2160) mm.
    assert lens["projectionOffset"] == {"x": 0.75, "y": pytest.approx(-0.888889, abs=1e-6)}


def test_first_line_carries_static_and_tracker(tmp_path: Path) -> None:
    first, second = _export(make_track("A", 864000, 2, 1, make_take().info.rate), tmp_path)[:2]
    static = first["static"]
    assert static["camera"]["label"] == "A"
    assert static["camera"]["captureFrameRate"] == {"num": 24, "denom": 1}
    assert static["camera"]["activeSensorPhysicalDimensions"] == {"width": 36.0, "height": 24.0}
    assert static["lens"]["serialNumber"] == "SP35-0001"
    assert static["duration"] == {"num": 2, "denom": 1}  # make_take's 48 frames at 24 fps
    assert first["tracker"] == {"slate": "12-A-T003", "recording": True}
    assert "static" not in second and "tracker" not in second


def test_unknowns_are_left_out(tmp_path: Path) -> None:
    track = make_track("A", 864000, 3, 1, make_take().info.rate, lens=False)
    track.zoom_raw[:] = track.focus_raw[:] = track.iris_raw[:] = np.nan
    track.sequence[:] = -1
    track.rotation_deg[1, 0] = np.nan
    samples = _export(track, tmp_path)
    assert all("lens" not in s and "sequenceNumber" not in s["timing"] for s in samples)
    assert "transforms" not in samples[1] and "transforms" in samples[2]


def test_partial_lens_and_encoders(tmp_path: Path) -> None:
    track = make_track("A", 864000, 3, 1, make_take().info.rate)
    track.focal_length_mm[:] = [35.0, np.nan, 0.0]  # without a focal length distortion cannot convert
    track.focus_distance_m[:] = [np.inf, 3.0, 3.0]  # focus at infinity: left out
    track.iris_raw[:] = [300.0, -1.0, 2.0**32]  # outside u32: left out
    lenses = [s["lens"] for s in _export(track, tmp_path)]
    assert "focusDistance" not in lenses[0] and lenses[1]["focusDistance"] == 3
    assert "pinholeFocalLength" in lenses[0] and "pinholeFocalLength" not in lenses[1]
    assert "distortion" in lenses[0] and "distortion" not in lenses[1] and "distortion" not in lenses[2]
    assert [lens["rawEncoders"].get("iris") for lens in lenses] == [300, None, None]


def test_drop_frame_timecode(tmp_path: Path) -> None:
    rate = FrameRate(Fraction(30000, 1001))
    samples = _export(make_track("A", 1799, 2, 1, rate), tmp_path, rate=rate, drop_frame=True,
                      tc_in="00:00:59;29")
    # Frame 1800 at 29.97 DF is 00:01:00;02.
    assert samples[1]["timing"]["timecode"] == {"hours": 0, "minutes": 1, "seconds": 0, "frames": 2,
                                                "frameRate": {"num": 30000, "denom": 1001}, "dropFrame": True}


def test_stable_ids_and_empty_camera(tmp_path: Path) -> None:
    take = make_take(cameras=("A", "B"))
    take.cameras["A"] = CameraTrack.empty("A")
    (tmp_path / "one").mkdir()
    (path,) = export_jsonl(take, tmp_path / "one")
    assert path.name == "12-A-T003_B.jsonl"
    (again,) = export_jsonl(take, tmp_path)
    first, second = _read(path)[0], _read(again)[0]
    assert (first["sourceId"], first["sampleId"]) == (second["sourceId"], second["sampleId"])
    assert first["sourceNumber"] == 2  # B is the take's second camera


def test_vectorised_lens_conversions_equal_the_lens_package() -> None:
    rng = np.random.default_rng(7)
    coefficients = rng.normal(0.0, 0.05, (20, 5))
    focal = rng.uniform(12.0, 300.0, 20)
    converted = opentrackio_distortion(coefficients, focal)
    for row, f, got in zip(coefficients, focal, converted, strict=True):
        entry = brown_conrady_to_opentrackio(tuple(row), float(f))
        np.testing.assert_allclose(got, [*entry.radial, *entry.tangential], rtol=1e-12, atol=0)
    assert np.isnan(opentrackio_distortion(coefficients[:2], np.array([0.0, np.nan]))).all()
    lens = make_track("A", 0, 1, 1, make_take().info.rate).lens
    assert lens is not None
    sensor = SensorSize(lens.sensor_width_mm, lens.sensor_height_mm, lens.image_width_px,
                        lens.image_height_px)
    points = rng.uniform(0.0, 3840.0, (20, 2))
    for point, got in zip(points, projection_offsets_mm(points, lens), strict=True):
        np.testing.assert_allclose(got, projection_offset_mm(point[0], point[1], sensor), rtol=1e-12)
