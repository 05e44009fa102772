"""Property: any valid OpenTrackIOSample survives build -> encode -> decode -> parse, schema-valid."""

from __future__ import annotations

import dataclasses
import json
import uuid
from fractions import Fraction
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOTransform,
    build_sample,
    compose_transforms,
    decode_sample,
    encode_payload,
)
from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.core.timecode.label import TimecodeLabel
from tests.support.cli import REPO

SCHEMA = json.loads((REPO / "tests" / "data" / "opentrackio" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _finite(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


_vec = st.tuples(_finite(-1e5, 1e5), _finite(-1e5, 1e5), _finite(-1e5, 1e5))
_angles = st.tuples(_finite(-720, 720), _finite(-720, 720), _finite(-720, 720))
_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
_urn = st.uuids().map(lambda u: f"urn:uuid:{u}")
_u32 = st.integers(0, 2**32 - 1)
_rational = st.builds(Fraction, st.integers(1, 2**31 - 1), st.integers(1, 2**32 - 1)).filter(
    lambda f: f.numerator < 2**31 and f.denominator < 2**32)

_transform = st.builds(OpenTrackIOTransform, _vec, _angles, _optional(_vec), _optional(_text))
_distortion = st.builds(LensDistortion, st.lists(_finite(-1, 1), min_size=1, max_size=6).map(tuple),
                        st.lists(_finite(-1, 1), max_size=3).map(tuple),
                        st.sampled_from(["Brown-Conrady D-U", "Brown-Conrady U-D"]), _optional(_finite(1, 2)))
_lens = st.builds(
    OpenTrackIOLens,
    pinhole_focal_length_mm=_optional(_finite(0.1, 2000)), focus_distance_m=_optional(_finite(0.01, 1e4)),
    f_stop=_optional(_finite(0.5, 64)), t_stop=_optional(_finite(0.5, 64)),
    entrance_pupil_offset_m=_optional(_finite(-1, 1)), encoder_focus=_optional(_finite(0, 1)),
    encoder_iris=_optional(_finite(0, 1)), encoder_zoom=_optional(_finite(0, 1)), raw_focus=_optional(_u32),
    raw_iris=_optional(_u32), raw_zoom=_optional(_u32),
    distortion=st.lists(_distortion, max_size=2).map(tuple),
    projection_offset_mm=_optional(st.tuples(_finite(-5, 5), _finite(-5, 5))),
    distortion_offset_mm=_optional(st.tuples(_finite(-5, 5), _finite(-5, 5))))


@st.composite
def _timecodes(draw: st.DrawFn) -> Timecode:
    rate, drop = draw(st.sampled_from([(Fraction(25), False), (Fraction(24000, 1001), False),
                                       (Fraction(30000, 1001), True), (Fraction(60000, 1001), True),
                                       (Fraction(120), False)]))
    frame_rate = FrameRate(rate)
    return Timecode(draw(st.integers(0, frames_per_24h(frame_rate, drop) - 1)), frame_rate, drop)


@st.composite
def _labels(draw: st.DrawFn) -> TimecodeLabel:
    """Any label the schema allows, SMPTE-valid or not (drop-frame at any rate, frames up to 119)."""
    if draw(st.booleans()):
        return TimecodeLabel.of(draw(_timecodes()), draw(_optional(_u32)))
    rate = FrameRate(draw(st.sampled_from([Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001)])))
    return TimecodeLabel(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59)),
                         draw(st.integers(0, 119)), rate, draw(st.booleans()), draw(_optional(_u32)))


def _stamps() -> st.SearchStrategy[tuple[int, int] | None]:
    return _optional(st.tuples(st.integers(0, 2**48 - 1), _u32))


@st.composite
def _samples(draw: st.DrawFn) -> OpenTrackIOSample:
    transforms = tuple(draw(st.lists(_transform, max_size=3)))
    translation, rotation = compose_transforms(transforms) if transforms else (None, None)
    label = draw(_optional(_labels()))
    stamp, recorded = draw(_stamps()), draw(_stamps())
    return OpenTrackIOSample(
        translation_m=translation, rotation_deg=rotation, transforms=transforms, lens=draw(_optional(_lens)),
        timing_mode=draw(_optional(st.sampled_from(["internal", "external"]))),
        sample_rate=draw(_optional(_rational)),
        sample_time_ns=None if stamp is None else stamp[0] * 10**9 + stamp[1], sample_timestamp=stamp,
        recorded_time_ns=None if recorded is None else recorded[0] * 10**9 + recorded[1],
        recorded_timestamp=recorded,
        sequence_number=draw(_optional(_u32)), timecode=None if label is None else label.timecode(),
        timecode_label=label, sub_frame=None if label is None else label.sub_frame,
        source_id=draw(_optional(_urn)), sample_id=draw(_optional(_urn)), source_number=draw(_optional(_u32)),
        related_sample_ids=tuple(draw(st.lists(_urn, max_size=2))),
        protocol_name=draw(_optional(st.just("OpenTrackIO"))),
        tracker_status=draw(_optional(_text)), tracker_recording=draw(_optional(st.booleans())),
    )


@given(_samples(), st.sampled_from([ENCODING_JSON, ENCODING_CBOR]))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_samples_round_trip(sample: OpenTrackIOSample, encoding: int) -> None:
    obj = build_sample(sample)
    assert list(VALIDATOR.iter_errors(obj)) == []
    back = decode_sample(encoding, encode_payload(obj, encoding))
    if sample.protocol_name is not None:  # a name alone gets the current version on the way out
        sample = dataclasses.replace(sample, protocol_version=back.protocol_version)
    label = sample.timecode_label
    assert {f"timecode_{odd}" for odd in (label.oddities() if label else ())} <= set(back.warnings)
    assert back == dataclasses.replace(sample, warnings=back.warnings)


def test_uuid_case_is_normalised() -> None:
    upper = f"urn:uuid:{str(uuid.uuid4()).upper()}"
    assert decode_sample(ENCODING_JSON, json.dumps({"sourceId": upper}).encode()).source_id == upper.replace(
        "URN:UUID", "urn:uuid").lower()
