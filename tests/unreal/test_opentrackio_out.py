"""OpenTrackIO output: real datagrams over loopback, decoded by our parser, checked against the schema."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from stagectl.core.coords import freed_to_internal
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import (
    OpenTrackIOStatic,
    Reassembler,
    decode_payload,
    encode_datagrams,
    parse_datagram,
    parse_sample,
)
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from stagectl.core.opentrackio.rates import snap_rate
from stagectl.core.opentrackio.static import build_static
from stagectl.core.samples import CameraSample, LensValues
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput, single_datagram
from tests.support.cli import REPO

SCHEMA = json.loads((REPO / "tests" / "data" / "opentrackio" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MS = 1_000_000
BC = (-0.08, 0.02, 0.001, 0.0005, -0.0003)
TC = Timecode.from_components(1, 2, 3, 4, FrameRate.parse("24000/1001"))


def _lens(**changes: Any) -> LensValues:
    dist = brown_conrady_to_opentrackio(BC, 35.0)
    lens = LensValues(focal_length_mm=35.0, focus_distance_m=3.2, f_stop=2.8, t_stop=2.9,
                      entrance_pupil_offset_m=0.12, encoders=(0.25, 0.5, 0.75), distortion_model=dist.model,
                      radial=dist.radial, tangential=dist.tangential, projection_offset_mm=(0.1, -0.05),
                      brown_conrady=BC)
    return lens._replace(**changes)


def _sample(arrival_ns: int = 10**12, **changes: Any) -> CameraSample:
    sample = CameraSample("A", "A/freed", arrival_ns, (1.5, -2.25, 1.725), (-12.5, -3.25, 0.5),
                          zoom_raw=1000, focus_raw=2000, iris_raw=300, sequence=7, timecode=TC, lens=_lens())
    return sample._replace(**changes)


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _output(receiver: socket.socket, **kwargs: Any) -> OpenTrackIOOutput:
    out = OpenTrackIOOutput("unreal", Endpoint("127.0.0.1", receiver.getsockname()[1]), **kwargs)
    asyncio.run(out.async_start())
    return out


def _receive(receiver: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One whole payload (reassembled), decoded and schema-checked; and its header sequences."""
    reassembler = Reassembler()
    sequences = []
    while True:
        header, segment = parse_datagram(receiver.recv(65536))
        sequences.append(header.sequence)
        payload = reassembler.feed(header, segment, time.monotonic_ns())
        if payload is not None:
            obj = decode_payload(header.encoding, payload)
            VALIDATOR.validate(obj)
            return obj, sequences


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_a_sample_arrives_with_pose_lens_timing_and_static(receiver: socket.socket, encoding: str) -> None:
    out = _output(receiver, encoding=encoding, source_numbers={"A": 3})
    out.sink_for("A")(_sample())
    obj, sequences = _receive(receiver)
    assert sequences == [0]
    parsed = parse_sample(obj)
    assert parsed.translation_m == (1.5, -2.25, 1.725)  # metres, internal = OpenTrackIO axes
    assert parsed.rotation_deg == (-12.5, -3.25, 0.5)
    lens = parsed.lens
    assert lens is not None
    assert (lens.pinhole_focal_length_mm, lens.focus_distance_m, lens.f_stop, lens.t_stop,
            lens.entrance_pupil_offset_m) == (35.0, 3.2, 2.8, 2.9, 0.12)
    assert (lens.encoder_focus, lens.encoder_iris, lens.encoder_zoom) == (0.25, 0.5, 0.75)
    assert (lens.raw_focus, lens.raw_iris, lens.raw_zoom) == (2000, 300, 1000)
    assert lens.projection_offset_mm == (0.1, -0.05)
    (dist,) = lens.distortion
    # k1 / F^2 with F = 35 mm: the OpenCV -> OpenTrackIO conversion, by hand
    assert dist.model == "Brown-Conrady U-D" and dist.radial[0] == pytest.approx(-0.08 / 35.0**2)
    assert dist.tangential == pytest.approx((0.0005 / 35.0**2, -0.0003 / 35.0**2))
    assert parsed.timecode == TC and obj["timing"]["timecode"]["frameRate"] == {"num": 24000, "denom": 1001}
    assert parsed.sequence_number == 0
    assert "sampleTimestamp" not in obj["timing"] and "mode" not in obj["timing"]  # no PTP invented
    assert "sampleRate" not in obj["timing"]  # not measured yet
    assert parsed.source_number == 3 and parsed.source_id == out.source_id("A")
    assert parsed.source_id is not None and parsed.source_id.startswith("urn:uuid:")
    assert parsed.protocol_name == "OpenTrackIO"
    assert parsed.static is not None and parsed.static.camera_label == "A"
    assert (out.sent, out.dropped, out.last_error) == (1, 0, None)


def test_fast_cbor_encoding_is_the_same_map_as_build(receiver: socket.socket) -> None:
    import cbor2

    out = _output(receiver, static_for=lambda _camera, _base, _changed: build_static(
        OpenTrackIOStatic(lens_make="Cooke")))
    stream = out._stream("A")
    for sample in (_sample(), _sample(10**12 + 5 * MS, lens=None, timecode=None, sample_time_ns=5)):
        stream.last_static_ns = None
        expected = out.build(stream, sample)
        stream.count -= 1
        stream.last_static_ns = None
        fast = out.encode_cbor(stream, sample)
        assert fast is not None and expected is not None
        decoded = cbor2.loads(fast)
        VALIDATOR.validate(decoded)
        assert decoded.pop("sampleId") == expected.pop("sampleId")
        assert decoded == expected and list(decoded) == list(expected)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 700, 32767])
def test_single_datagram_matches_the_codec(size: int) -> None:
    payload = bytes((i * 7 + 3) % 256 for i in range(size))
    assert single_datagram(payload, 2, 65535) == encode_datagrams(payload, 2, 65535, 40000)[0]


def test_freed_pan_right_arrives_as_negative_pan(receiver: socket.socket) -> None:
    # Hand-worked: FreeD pan +30 (turned right), x = 1500 mm -> OpenTrackIO pan -30, x = 1.5 m.
    translation, rotation = freed_to_internal(1500.0, 2000.0, 1600.0, 30.0, 5.0, -2.0)
    out = _output(receiver)
    out.sink_for("A")(_sample(translation_m=translation, rotation_deg=rotation, lens=None))
    obj, _ = _receive(receiver)
    (transform,) = obj["transforms"]
    assert transform["translation"] == {"x": 1.5, "y": 2.0, "z": 1.6}
    assert transform["rotation"] == {"pan": -30.0, "tilt": 5.0, "roll": -2.0}
    assert obj["lens"] == {"rawEncoders": {"focus": 2000, "iris": 300, "zoom": 1000}}


def test_static_every_two_seconds_and_sequences(receiver: socket.socket) -> None:
    static = OpenTrackIOStatic(sensor_width_mm=36.0, sensor_height_mm=20.25, sensor_width_px=3840,
                               sensor_height_px=2160, lens_make="Cooke", lens_model="S7i 32mm")
    out = _output(receiver, static_for=lambda camera, _base, _changed: build_static(static) if camera == "A"
                  else None)
    sink = out.sink_for("A")
    assert out.sink_for("A") is sink
    t0 = 10**12
    carried = []
    for i, t in enumerate((0, 20, 1990, 2000, 2020)):
        sink(_sample(t0 + t * MS))
        obj, _ = _receive(receiver)
        assert obj["timing"]["sequenceNumber"] == i
        carried.append("static" in obj)
        if "static" in obj:
            assert obj["static"]["camera"]["label"] == "A"
            dimensions = obj["static"]["camera"]["activeSensorPhysicalDimensions"]
            assert dimensions == {"width": 36.0, "height": 20.25}
            assert obj["static"]["lens"]["model"] == "S7i 32mm"
    assert carried == [True, False, False, True, False]
    out.sink_for("B")(_sample(t0, camera="B"))  # static_for says None for B
    obj, _ = _receive(receiver)
    assert "static" not in obj and obj["sourceNumber"] == 2 and obj["sourceId"] != out.source_id("A")


def test_large_payloads_are_segmented_and_reassemble(receiver: socket.socket) -> None:
    out = _output(receiver, encoding="json", mtu=200)
    sink = out.sink_for("A")
    sink(_sample())
    obj, sequences = _receive(receiver)
    assert len(sequences) > 3 and sequences == list(range(len(sequences)))  # one number per datagram
    assert parse_sample(obj).lens is not None
    sink(_sample(10**12 + 20 * MS))
    _, more = _receive(receiver)
    assert more[0] == sequences[-1] + 1
    assert out.sent == len(sequences) + len(more)


def test_sample_rate_is_measured_and_snapped(receiver: socket.socket) -> None:
    out = _output(receiver)
    sink = out.sink_for("A")
    period_ns = 1001 * 10**9 // 24000
    rates = []
    for i in range(60):
        sink(_sample(10**12 + i * period_ns))
        obj, _ = _receive(receiver)
        rates.append(obj["timing"].get("sampleRate"))
    assert rates[0] is None and rates[-1] == {"num": 24000, "denom": 1001}
    sink(_sample(10**12 + 80 * period_ns))  # after a pause the rate is measured again
    obj, _ = _receive(receiver)
    assert "sampleRate" not in obj["timing"]
    assert snap_rate(500.1) == 500 and snap_rate(59.94) == FrameRate.parse("60000/1001").rate
    assert snap_rate(24.005) == 24 and snap_rate(23.98) == FrameRate.parse("24000/1001").rate
    assert snap_rate(333.3333) == pytest.approx(333.333)


def test_sample_time_becomes_the_sample_timestamp(receiver: socket.socket) -> None:
    out = _output(receiver)
    out.sink_for("A")(_sample(sample_time_ns=1_700_000_000_123_456_789))
    obj, _ = _receive(receiver)
    assert obj["timing"]["sampleTimestamp"] == {"seconds": 1_700_000_000, "nanoseconds": 123_456_789}
    assert obj["timing"]["mode"] == "internal"


def test_values_a_receiver_would_reject_are_left_out(receiver: socket.socket) -> None:
    out = _output(receiver)
    bad = _lens(focus_distance_m=float("inf"), f_stop=0.0, t_stop=float("nan"),
                encoders=(1.2, None, 0.5), radial=(float("nan"),), brown_conrady=None)
    out.sink_for("A")(_sample(lens=bad))
    obj, _ = _receive(receiver)
    lens = obj["lens"]
    assert "focusDistance" not in lens and "fStop" not in lens and "tStop" not in lens
    assert lens["encoders"] == {"zoom": 0.5} and "distortion" not in lens


def test_brown_conrady_only_is_converted(receiver: socket.socket) -> None:
    out = _output(receiver)
    out.sink_for("A")(_sample(lens=_lens(radial=(), tangential=(), distortion_model=None)))
    obj, _ = _receive(receiver)
    (entry,) = obj["lens"]["distortion"]
    assert entry["model"] == "Brown-Conrady U-D" and entry["radial"][2] == pytest.approx(0.02 / 35.0**4)


def test_non_finite_pose_is_counted_not_sent(receiver: socket.socket) -> None:
    out = _output(receiver)
    out.sink_for("A")(_sample(translation_m=(float("nan"), 0.0, 0.0)))
    assert (out.sent, out.dropped, out.dropped_by_reason) == (0, 1, {"non_finite": 1})
    assert out.last_error is not None and "non-finite" in out.last_error


def test_before_start_and_after_stop_samples_count_as_closed(receiver: socket.socket) -> None:
    out = OpenTrackIOOutput("x", Endpoint("127.0.0.1", receiver.getsockname()[1]))
    out.sink_for("A")(_sample())
    asyncio.run(out.async_start())
    out.sink_for("A")(_sample())
    asyncio.run(out.async_stop())
    out.sink_for("A")(_sample())
    assert (out.sent, out.dropped_by_reason) == (1, {"closed": 2})


def test_bad_settings_are_refused() -> None:
    target = Endpoint("127.0.0.1", 55555)
    with pytest.raises(ValueError, match="encoding"):
        OpenTrackIOOutput("x", target, encoding="xml")
    with pytest.raises(ValueError, match="MTU"):
        OpenTrackIOOutput("x", target, mtu=16)
    with pytest.raises(ValueError, match="TTL"):
        OpenTrackIOOutput("x", target, ttl=300)
