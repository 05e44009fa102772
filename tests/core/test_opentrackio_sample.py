"""OpenTrackIO samples: published examples, the transform chain, schema-valid output, bad values."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from fractions import Fraction
from typing import Any

import cbor2
import jsonschema
import numpy as np
import pytest

from stagectl.core.coords import camera_to_stage_matrix
from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOStatic,
    OpenTrackIOTransform,
    Synchronization,
    build_sample,
    decode_payload,
    decode_sample,
    encode_payload,
    parse_sample,
)
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.core.timecode.label import TimecodeLabel
from tests.support.cli import REPO

DATA = REPO / "tests" / "data" / "opentrackio"
EXAMPLES = sorted(p.stem for p in (DATA / "examples").glob("*.json"))
VALIDATOR = jsonschema.Draft202012Validator(json.loads((DATA / "schema.json").read_text()))
ENCODINGS = [ENCODING_JSON, ENCODING_CBOR]


def _example(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / "examples" / f"{name}.json").read_text())
    return result


def _assert_schema_valid(obj: dict[str, Any]) -> None:
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(obj)]
    assert errors == []


def _rz(deg: float) -> np.ndarray[Any, Any]:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rx(deg: float) -> np.ndarray[Any, Any]:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(deg: float) -> np.ndarray[Any, Any]:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _homogeneous(entry: dict[str, Any]) -> np.ndarray[Any, Any]:
    """The 4x4 matrix T * R * S of one transform entry, written out independently of stagectl."""
    r = entry["rotation"]
    scale = entry.get("scale", {"x": 1.0, "y": 1.0, "z": 1.0})
    m = np.eye(4)
    rotation = _rz(r["pan"]) @ _rx(r["tilt"]) @ _ry(r["roll"])
    m[:3, :3] = rotation @ np.diag([scale["x"], scale["y"], scale["z"]])
    m[:3, 3] = [entry["translation"]["x"], entry["translation"]["y"], entry["translation"]["z"]]
    return m


# --- the published examples ---------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_published_example_parses(name: str, encoding: int) -> None:
    example = _example(name)
    _assert_schema_valid(example)
    sample = decode_sample(encoding, encode_payload(example, encoding))
    assert sample.protocol_name == "OpenTrackIO" and sample.protocol_version == (0, 9, 3)
    assert sample.source_number == 1 and sample.source_id is not None
    assert sample.timecode == Timecode.from_components(1, 2, 3, 4, FrameRate(Fraction(24000, 1001)))
    assert sample.lens is not None and sample.lens.pinhole_focal_length_mm == 24.305
    assert (sample.static is not None) == ("static" in name)


def test_recommended_dynamic_example_in_internal_units() -> None:
    sample = parse_sample(_example("recommended_dynamic_example"))
    assert sample.translation_m == (1.0, 2.0, 3.0)
    assert sample.rotation_deg == (180.0, 90.0, 45.0)  # one transform: exactly as sent
    assert sample.transforms == (OpenTrackIOTransform((1.0, 2.0, 3.0), (180.0, 90.0, 45.0), None, "Camera"),)
    assert sample.lens == OpenTrackIOLens(
        pinhole_focal_length_mm=24.305, focus_distance_m=10.0, f_stop=4.0, entrance_pupil_offset_m=0.123,
        encoder_focus=0.1, encoder_iris=0.2, encoder_zoom=0.3,
        distortion=(LensDistortion((1.0, 2.0, 3.0), (1.0, 2.0), "Brown-Conrady D-U", 3.1),),
        projection_offset_mm=(0.1, 0.2))
    assert (sample.timing_mode, sample.sample_rate) == ("external", Fraction(24000, 1001))
    assert sample.sample_time_ns is None and sample.static is None
    assert (sample.tracker_slate, sample.tracker_status, sample.tracker_recording) == (
        "A101_A_4", "Optical Good", False)


def test_complete_static_example_in_internal_units() -> None:
    sample = parse_sample(_example("complete_static_example"))
    assert sample.sample_time_ns == 1_718_806_554_500_000_000
    assert sample.recorded_time_ns == 1_718_806_000_500_000_000
    assert sample.sequence_number == 0
    assert sample.synchronization == Synchronization(
        locked=True, source="ptp", frequency=Fraction(24000, 1001), present=True,
        ptp_profile="SMPTE ST2059-2:2021", ptp_domain=1, ptp_leader_identity="00:11:22:33:44:55",
        ptp_leader_priorities=(128, 128), ptp_leader_accuracy_s=5e-08, ptp_leader_time_source="GNSS",
        ptp_mean_path_delay_s=0.000123, ptp_vlan=100)
    assert sample.lens is not None
    assert (sample.lens.raw_focus, sample.lens.raw_iris, sample.lens.raw_zoom) == (1000, 2000, 3000)
    assert sample.lens.t_stop == 4.1 and sample.lens.distortion_offset_mm == (1.0, 2.0)
    assert [d.model for d in sample.lens.distortion] == ["Brown-Conrady U-D", "Brown-Conrady D-U"]
    static = sample.static
    assert static is not None
    assert (static.camera_make, static.camera_model, static.camera_serial) == ("CameraMaker", "Model20",
                                                                               "1234567890A")
    assert (static.sensor_width_mm, static.sensor_height_mm) == (36.0, 24.0)
    assert (static.sensor_width_px, static.sensor_height_px) == (3840, 2160)
    assert (static.lens_make, static.lens_model) == ("LensMaker", "Model15")
    assert static.lens_nominal_focal_length_mm == 14.0
    assert static.lens_calibration_history == ("LensMaker 123", "TrackerMaker 123")
    assert (static.tracker_make, static.tracker_model) == ("TrackerMaker", "Tracker")
    assert static.duration_s == Fraction(1, 25) and static.capture_frame_rate == Fraction(24000, 1001)
    assert static.shutter_angle_deg == 45.0 and static.iso_speed == 4000


# --- the transform chain ----------------------------------------------------------------------------

def test_chain_by_hand() -> None:
    # A dolly 1 m right of the origin, panned 90 deg (left: its +Y now points along stage -X),
    # carries the camera 2 m ahead of it and tilted up 10 deg.
    sample = parse_sample({"transforms": [
        {"translation": {"x": 1.0, "y": 0.0, "z": 0.0}, "rotation": {"pan": 90.0, "tilt": 0.0, "roll": 0.0}},
        {"translation": {"x": 0.0, "y": 2.0, "z": 0.5}, "rotation": {"pan": 0.0, "tilt": 10.0, "roll": 0.0}},
    ]})
    assert sample.translation_m == pytest.approx((-1.0, 0.0, 0.5), abs=1e-12)
    assert sample.rotation_deg == pytest.approx((90.0, 10.0, 0.0), abs=1e-9)


def test_chain_scale_moves_the_children() -> None:
    sample = parse_sample({"transforms": [
        {"translation": {"x": 0.0, "y": 0.0, "z": 0.0}, "rotation": {},
         "scale": {"x": 2.0, "y": 2.0, "z": 2.0}},
        {"translation": {"x": 1.0, "y": 1.0, "z": 0.0}, "rotation": {"pan": 30.0}},
    ]})
    assert sample.translation_m == pytest.approx((2.0, 2.0, 0.0))
    assert sample.rotation_deg == pytest.approx((30.0, 0.0, 0.0))


@pytest.mark.parametrize("name", ["complete_dynamic_example", "complete_static_example"])
def test_chain_of_the_complete_examples_matches_homogeneous_matrices(name: str) -> None:
    example = _example(name)
    total = np.eye(4)
    for entry in example["transforms"]:
        total = total @ _homogeneous(entry)
    rotation_only = np.eye(3)
    for entry in example["transforms"]:
        r = entry["rotation"]
        rotation_only = rotation_only @ _rz(r["pan"]) @ _rx(r["tilt"]) @ _ry(r["roll"])
    sample = parse_sample(example)
    assert len(sample.transforms) == 3
    assert sample.translation_m == pytest.approx(tuple(total[:3, 3]), abs=1e-9)
    assert sample.rotation_deg is not None
    assert camera_to_stage_matrix(*sample.rotation_deg) == pytest.approx(rotation_only, abs=1e-9)


# --- building samples: schema-valid in both encodings -------------------------------------------------

FULL = OpenTrackIOSample(
    transforms=(OpenTrackIOTransform((0.5, -1.0, 0.0), (10.0, 0.0, 0.0), (1.0, 1.0, 1.0), "Dolly"),
                OpenTrackIOTransform((0.0, 0.2, 1.4), (-3.0, 5.0, 0.5), None, "Camera")),
    lens=OpenTrackIOLens(pinhole_focal_length_mm=35.2, focus_distance_m=3.5, f_stop=2.8, t_stop=3.0,
                         entrance_pupil_offset_m=0.11, encoder_focus=0.3, encoder_iris=0.0, encoder_zoom=1.0,
                         raw_focus=0, raw_iris=4_294_967_295, raw_zoom=77,
                         distortion=(LensDistortion((1e-4, -2e-8), (1e-6, 2e-6), "Brown-Conrady U-D", 1.05),),
                         projection_offset_mm=(0.01, -0.02), distortion_offset_mm=(0.0, 0.03)),
    timing_mode="internal", sample_rate=Fraction(60000, 1001), sample_time_ns=1_718_806_554_000_000_123,
    recorded_time_ns=5, sequence_number=4_294_967_295,
    timecode=Timecode.parse("10:00:00;02", FrameRate(Fraction(30000, 1001))), sub_frame=1,
    synchronization=Synchronization(True, "ptp", None, True, 0.001, 0.002, -0.003, "IEEE Std 1588-2019", 127,
                                    "aa-bb-cc-dd-ee-ff", (1, 255), 1e-9, "Atomic clock", 1e-6, 4094),
    source_id="urn:uuid:889eec71-62ca-4c7f-b1ef-4c2b16f4eacf",
    sample_id="urn:uuid:e3f34dae-b68c-47d9-99af-e0bfc277723c", source_number=200,
    related_sample_ids=("urn:uuid:b545b989-34b2-452a-9630-cf952d021a3f",),
    protocol_name="OpenTrackIO", protocol_version=(1, 0, 1), tracker_status="OK", tracker_slate="1A",
    tracker_notes="n", tracker_recording=True,
    static=OpenTrackIOStatic(duration_s=Fraction(10), camera_make="A", camera_model="B", camera_serial="C",
                             camera_firmware="D", camera_label="A cam", capture_frame_rate=Fraction(24),
                             sensor_width_mm=24.89, sensor_height_mm=18.66, sensor_width_px=4096,
                             sensor_height_px=3072, anamorphic_squeeze=Fraction(2), iso_speed=800,
                             shutter_angle_deg=172.8,
                             fdl_link="urn:uuid:62ea03ac-ce56-43c6-ab8d-a9ec8a9ee7b3",
                             lens_make="L", lens_model="M", lens_serial="N", lens_firmware="O",
                             lens_nominal_focal_length_mm=35.0, lens_distortion_overscan_max=1.1,
                             lens_undistortion_overscan_max=1.2, lens_calibration_history=("x", "y"),
                             tracker_make="T", tracker_model="U", tracker_serial="V", tracker_firmware="W"),
)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_full_sample_round_trips_and_validates(encoding: int) -> None:
    obj = build_sample(FULL)
    decoded = decode_payload(encoding, encode_payload(obj, encoding))
    _assert_schema_valid(decoded)
    parsed = parse_sample(decoded)
    assert parsed.translation_m is not None and parsed.rotation_deg is not None
    assert FULL.timecode is not None and FULL.sample_time_ns is not None and FULL.recorded_time_ns is not None
    assert parsed.timecode_label == TimecodeLabel.of(FULL.timecode, FULL.sub_frame)
    assert parsed.sample_timestamp == divmod(FULL.sample_time_ns, 10**9)
    assert parsed.recorded_timestamp == divmod(FULL.recorded_time_ns, 10**9)
    assert parsed == dataclasses.replace(FULL, translation_m=parsed.translation_m,
                                         rotation_deg=parsed.rotation_deg,
                                         timecode_label=parsed.timecode_label,
                                         sample_timestamp=parsed.sample_timestamp,
                                         recorded_timestamp=parsed.recorded_timestamp)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_rebuilt_examples_validate(name: str, encoding: int) -> None:
    sample = parse_sample(_example(name))
    decoded = decode_payload(encoding, encode_payload(build_sample(sample), encoding))
    _assert_schema_valid(decoded)
    assert parse_sample(decoded) == sample


def test_pose_only_sample_becomes_one_camera_transform() -> None:
    obj = build_sample(OpenTrackIOSample(translation_m=(1.0, 2.0, 3.0), rotation_deg=(4.0, 5.0, 6.0)))
    _assert_schema_valid(obj)
    assert obj == {"transforms": [{"translation": {"x": 1.0, "y": 2.0, "z": 3.0},
                                   "rotation": {"pan": 4.0, "tilt": 5.0, "roll": 6.0}, "id": "Camera"}]}


def test_build_refuses_what_a_receiver_would_reject() -> None:
    bad = OpenTrackIOSample(lens=OpenTrackIOLens(encoder_zoom=1.2))
    with pytest.raises(DecodeError) as info:
        build_sample(bad)
    assert info.value.reason == "value" and "lens.encoders.zoom" in str(info.value)
    with pytest.raises(DecodeError):
        build_sample(OpenTrackIOSample(translation_m=(math.nan, 0.0, 0.0)))


# --- bad values ------------------------------------------------------------------------------------------

def test_empty_and_unknown_fields() -> None:
    assert parse_sample({}) == OpenTrackIOSample()
    stage = {"E": 1.0, "N": 2.0, "U": 3.0, "lat0": 4.0, "lon0": 5.0, "h0": 6.0}
    sample = parse_sample({"custom": {"pot1": 1}, "future": [1, {"x": None}], "globalStage": stage,
                           "sourceNumber": 3.0, "lens": {"custom": [1.0], "fStop": 2}})
    assert sample.source_number == 3 and sample.lens is not None and sample.lens.f_stop == 2.0
    assert sample.custom == {"pot1": 1} and sample.lens.custom == (1.0,)
    assert sample.global_stage == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target: Any = out
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return out


BAD_VALUES = [
    ("lens.fStop", math.nan, "lens.fStop: must be a finite number"),
    ("lens.focusDistance", math.inf, "lens.focusDistance: must be a finite number"),
    ("transforms.0.rotation.pan", -math.inf, "transforms[0].rotation.pan: must be a finite"),
    ("lens.fStop", True, "lens.fStop: must be a number, got a boolean"),
    ("lens.fStop", 0.0, "lens.fStop: 0 must be greater than 0"),
    ("lens.tStop", -1.0, "lens.tStop"),
    ("lens.focusDistance", -2.0, "lens.focusDistance: -2 must be greater than 0"),
    ("lens.pinholeFocalLength", "35", "lens.pinholeFocalLength: must be a number, got a string"),
    ("lens.encoders.focus", 1.5, "lens.encoders.focus: 1.5 is above the maximum 1"),
    ("lens.encoders.iris", -0.01, "lens.encoders.iris: -0.01 is below the minimum 0"),
    ("lens.rawEncoders.zoom", 2**32, "lens.rawEncoders.zoom: 4294967296 is outside 0..4294967295"),
    ("lens.rawEncoders.focus", 1.5, "lens.rawEncoders.focus: must be an integer"),
    ("lens.distortion.0.radial", [], "lens.distortion[0].radial: has 0 items"),
    ("lens.distortion.0.radial", [1.0, None], "lens.distortion[0].radial[1]: must be a number, got null"),
    ("lens.distortion.1", {"tangential": [1.0]}, "lens.distortion[1].radial: is required"),
    ("lens.distortion.0.overscan", 0.5, "overscan: 0.5 is below the minimum 1"),
    ("lens.projectionOffset", {"x": 1.0}, "lens.projectionOffset.y: is required"),
    ("transforms.2", {"rotation": {}}, "transforms[2].translation: is required"),
    ("transforms", [], "transforms: has 0 items"),
    ("transforms", {}, "transforms: must be a list, got a map"),
    ("transforms.0.id", "x" * 1024, "transforms[0].id: has 1024 characters"),
    ("transforms.0.id", "", "transforms[0].id: has 0 characters"),
    ("timing", [], "timing: must be a map, got a list"),
    ("timing.timecode.hours", 24, "timing.timecode.hours: 24 is outside 0..23"),
    ("timing.timecode.frames", 120, "timing.timecode.frames: 120 is outside 0..119"),
    ("timing.sampleTimestamp.nanoseconds", 2**32, "sampleTimestamp.nanoseconds: 4294967296 is outside"),
    ("globalStage", {"E": 1.0}, "globalStage.N: is required"),
    ("lens.exposureFalloff", {"a2": 1.0}, "lens.exposureFalloff.a1: is required"),
    ("lens.custom", [1.0, "x"], "lens.custom[1]: must be a number"),
    ("timing.timecode.frameRate", {"num": 0, "denom": 1}, "timing.timecode.frameRate.num: 0 is outside"),
    ("timing.timecode.subFrame", -1, "timing.timecode.subFrame: -1 is outside"),
    ("timing.sampleTimestamp.seconds", 2**48, "sampleTimestamp.seconds"),
    ("timing.sampleRate", {"num": 24}, "timing.sampleRate.denom: is required"),
    ("timing.mode", "auto", "timing.mode: 'auto' is not one of internal, external"),
    ("timing.sequenceNumber", -1, "timing.sequenceNumber: -1 is outside 0..4294967295"),
    ("timing.synchronization.source", "gps", "timing.synchronization.source: 'gps' is not one of"),
    ("timing.synchronization.ptp.leaderIdentity", "00:11:22", "leaderIdentity: '00:11:22' does not match"),
    ("timing.synchronization.ptp.domain", 128, "timing.synchronization.ptp.domain: 128 is outside 0..127"),
    ("sampleId", "cd5677eb-b18d-4746-9dc3-2890c0711d52", "sampleId: 'cd5677eb"),
    ("sourceNumber", "1", "sourceNumber: must be an integer, got a string"),
    ("sourceNumber", False, "sourceNumber: must be an integer, got a boolean"),
    ("protocol.version", [1, 0], "protocol.version: has 2 items, allowed 3..3"),
    ("protocol.version", [1, 0, 10], "protocol.version[2]: 10 is outside 0..9"),
    ("static.camera.activeSensorPhysicalDimensions.width", -36.0, "width: -36 is below the minimum 0"),
    ("static.camera.shutterAngle", 361.0, "static.camera.shutterAngle: 361 is above the maximum 360"),
    ("static.camera.make", 5, "static.camera.make: must be a string, got an integer"),
    ("static.lens.calibrationHistory", ["ok", ""], "static.lens.calibrationHistory[1]: has 0 characters"),
    ("tracker.recording", "no", "tracker.recording: must be true or false, got a string"),
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("path", "value", "words"), BAD_VALUES,
                         ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD_VALUES])
def test_bad_values_are_rejected_with_their_path(path: str, value: Any, words: str, encoding: int) -> None:
    bad = _set(_example("complete_static_example"), path, value)
    # json.dumps writes NaN and Infinity as the (non-standard) literals some producers send.
    payload = cbor2.dumps(bad) if encoding == ENCODING_CBOR else json.dumps(bad).encode()
    with pytest.raises(DecodeError) as info:
        decode_sample(encoding, payload)
    assert info.value.reason == "value"
    assert words in str(info.value)


def test_json_nan_and_huge_literals() -> None:
    for literal in (b"NaN", b"-Infinity", b"1e999"):
        text = b'{"lens": {"fStop": ' + literal + b"}}"
        with pytest.raises(DecodeError) as info:
            decode_sample(ENCODING_JSON, text)
        assert info.value.reason == "value" and "lens.fStop" in str(info.value)
    with pytest.raises(DecodeError) as info:
        decode_sample(ENCODING_JSON, b'{"lens": {"fStop": ' + b"9" * 400 + b"}}")
    assert info.value.reason == "value"


def test_drop_frame_timecode() -> None:
    obj = {"timing": {"timecode": {"hours": 0, "minutes": 10, "seconds": 0, "frames": 0, "dropFrame": True,
                                   "frameRate": {"num": 30000, "denom": 1001}}}}
    sample = parse_sample(obj)
    assert sample.timecode is not None and sample.timecode.frames == 17982
    assert str(sample.timecode) == "00:10:00;00"
    skipped = parse_sample(_set(obj, "timing.timecode.minutes", 1))
    assert skipped.warnings == ("timecode_skipped",)
    assert str(skipped.timecode_label) == "00:01:00;00" and str(skipped.timecode) == "00:01:00;02"


# Schema-valid but odd: accepted, kept exactly as sent, named in warnings.
ODD_VALUES = [
    ("timing.timecode.dropFrame", True, "timecode_drop_frame"),      # camdkit's example at 24000/1001
    ("timing.timecode.frames", 30, "timecode_frames"),
    ("timing.sampleTimestamp.nanoseconds", 4294967295, "nanoseconds"),
    ("timing.recordedTimestamp.nanoseconds", 10**9, "nanoseconds"),
    ("transforms.0.rotation.tilt", 1e7, "magnitude"),
    ("transforms.0.translation.x", 2e6, "magnitude"),
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("path", "value", "warning"), ODD_VALUES,
                         ids=[f"{p}={v!r}" for p, v, _ in ODD_VALUES])
def test_schema_valid_odd_values_are_kept_and_flagged(path: str, value: Any, warning: str,
                                                     encoding: int) -> None:
    odd = _set(_example("complete_static_example"), path, value)
    _assert_schema_valid(odd)
    sample = decode_sample(encoding, encode_payload(odd, encoding))
    assert warning in sample.warnings
    rebuilt = build_sample(sample)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    if keys[0] != "transforms":  # the chain is rebuilt entry by entry; the rest must come back as sent
        found: Any = rebuilt
        for key in keys:
            found = found[key]
        assert found == value


def test_drop_frame_at_25_and_frames_beyond_the_rate_count_sensibly() -> None:
    tc = {"hours": 10, "minutes": 0, "seconds": 0, "frames": 30, "dropFrame": True,
          "frameRate": {"num": 25, "denom": 1}}
    sample = parse_sample({"timing": {"timecode": tc}})
    assert sample.warnings == ("timecode_drop_frame", "timecode_frames")
    assert str(sample.timecode_label) == "10:00:00;30"
    assert str(sample.timecode) == "10:00:01:05" and not sample.timecode.drop_frame
    assert build_sample(sample)["timing"]["timecode"] == tc


def test_over_long_lists_are_a_resource_limit() -> None:
    with pytest.raises(DecodeError) as info:
        parse_sample({"relatedSampleIds": ["urn:uuid:b545b989-34b2-452a-9630-cf952d021a3f"] * 1025})
    assert info.value.reason == "too_large"
