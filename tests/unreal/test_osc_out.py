"""OSC output: decoded by liblo's ``oscdump`` (an implementation independent of ours and of
python-osc), plus byte-exact checks of the codec and python-osc decoding of bundles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from stagectl.core.links import Endpoint
from stagectl.core.osc import MessageBuilder, encode_bundle, encode_message, ntp_timetag
from stagectl.core.samples import CameraSample, LensValues
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.unreal.osc_out import OscOutput
from tests.support.network import free_udp_port
from tests.support.oscdump import OSCDUMP, OscDump

TC = Timecode.from_components(1, 2, 3, 4, FrameRate.parse(25))
LENS = LensValues(focal_length_mm=35.0, focus_distance_m=3.25, f_stop=2.8, t_stop=2.9,
                  entrance_pupil_offset_m=0.125, encoders=(0.25, None, 0.75),
                  projection_offset_mm=(0.5, -0.25), brown_conrady=(-0.0625, 0.015625, 0.0, 0.001, -0.002))


def _sample(**changes: Any) -> CameraSample:
    # Internal: x 1 m right, y 2 m forward, z 1.5 m up; pan 10 (left), tilt -3, roll 0.5.
    sample = CameraSample("A", "A/freed", time.monotonic_ns(), (1.0, 2.0, 1.5), (10.0, -3.0, 0.5),
                          timecode=TC, lens=LENS)
    return sample._replace(**changes)


@pytest.fixture
def oscdump() -> Iterator[OscDump]:
    if OSCDUMP is None:
        pytest.skip("liblo's oscdump is not installed (apt-get install liblo-tools): the independent "
                    "OSC decoder this test relies on")
    dump = OscDump()
    yield dump
    dump.close()


def _output(port: int, **kwargs: Any) -> OscOutput:
    out = OscOutput("unreal", Endpoint("127.0.0.1", port), **kwargs)
    asyncio.run(out.async_start())
    return out


def _floats(values: list[str]) -> list[float]:
    return [float(v) for v in values]


def test_a_sample_as_separate_messages(oscdump: OscDump) -> None:
    out = _output(oscdump.port)
    out.sink_for("A")(_sample())
    lines = {line[1]: line[2:] for line in oscdump.take(10)}
    base = "/stagectl/camera/A"
    # Hand-worked Unreal transform: X forward = y * 100, Y right = x * 100, Z up; yaw = -pan.
    types, *values = lines[f"{base}/transform"]
    assert types == "ffffff"
    assert _floats(values) == pytest.approx([200.0, 100.0, 150.0, -3.0, -10.0, 0.5], abs=1e-5)
    assert lines[f"{base}/lens/focal_length"] == ["f", "35.000000"]
    assert lines[f"{base}/lens/focus_distance"] == ["f", "325.000000"]  # cm
    f_stop = lines[f"{base}/lens/f_stop"]
    assert f_stop[0] == "f" and float(f_stop[1]) == pytest.approx(2.8)
    assert float(lines[f"{base}/lens/t_stop"][1]) == pytest.approx(2.9)
    assert lines[f"{base}/lens/entrance_pupil"] == ["f", "12.500000"]  # cm
    assert lines[f"{base}/lens/encoders"] == ["fff", "0.250000", "-1.000000", "0.750000"]  # iris not reported
    types, *values = lines[f"{base}/lens/distortion"]
    assert types == "fffff" and _floats(values) == pytest.approx([-0.0625, 0.015625, 0.0, 0.001, -0.002])
    assert lines[f"{base}/lens/projection_offset"] == ["ff", "0.500000", "-0.250000"]
    assert lines[f"{base}/timecode"] == ["iiii", "1", "2", "3", "4"]
    assert (out.sent, out.dropped, out.samples) == (10, 0, 1)


def test_a_sample_as_one_bundle_with_its_timetag(oscdump: OscDump) -> None:
    out = _output(oscdump.port, bundle=True, prefix="/stage/")
    sample = _sample(lens=None, camera="cam 1")
    before = time.time_ns() - time.monotonic_ns() + sample.arrival_ns
    out.sink_for("cam 1")(sample)
    lines = oscdump.take(2)
    assert [line[1] for line in lines] == ["/stage/camera/cam_1/transform", "/stage/camera/cam_1/timecode"]
    assert out.sent == 1
    seconds, fraction = (int(part, 16) for part in lines[0][0].split("."))
    sent_ns = ((seconds - 2_208_988_800) * 10**9 + (fraction * 10**9 >> 32))
    assert abs(sent_ns - before) < 5_000_000  # the sample's arrival on the wall clock
    assert lines[0][0] == lines[1][0]


def test_non_finite_values_are_skipped_and_counted(oscdump: OscDump) -> None:
    out = _output(oscdump.port)
    lens = LensValues(focal_length_mm=float("nan"), focus_distance_m=float("inf"), t_stop=1e39)
    out.sink_for("A")(_sample(rotation_deg=(float("nan"), 0.0, 0.0), lens=lens, timecode=None))
    out.send_cue("camera/A/frustum/overscan", float("inf"))
    out.send_cue("camera/A/frustum/enable", True)
    (line,) = oscdump.take(1)
    assert line[1:] == ["/stagectl/camera/A/frustum/enable", "T", "#T"]
    assert out.dropped_by_reason == {"non_finite": 5} and out.sent == 1
    assert oscdump.lines.empty()


def test_cues_carry_any_osc_type(oscdump: OscDump) -> None:
    out = _output(oscdump.port)
    assert out.send_cue("/camera/A/frustum/soft_edge", 0.25, 0.5, 0.125)
    assert out.send_cue("camera/A/frustum/enable", False)
    assert out.send_cue("camera/A/look", "warm key", 3)
    lines = [line[1:] for line in oscdump.take(3)]
    assert lines[0] == ["/stagectl/camera/A/frustum/soft_edge", "fff", "0.250000", "0.500000", "0.125000"]
    assert lines[1] == ["/stagectl/camera/A/frustum/enable", "F", "#F"]
    assert lines[2][:3] == ["/stagectl/camera/A/look", "si", '"warm'] and lines[2][-1] == "3"
    assert out.cues == 3


def test_codec_bytes_match_the_spec_and_python_osc() -> None:
    assert encode_message("/foo", 1).hex() == "2f666f6f000000002c69000000000001"  # OSC 1.0 vector
    msg = MessageBuilder("/a/b", "fi").encode(1.5, -7)
    assert msg == encode_message("/a/b", 1.5, -7)
    decoded = OscMessage(msg)
    assert decoded.address == "/a/b" and decoded.params == [1.5, -7]
    bundle = encode_bundle(ntp_timetag(1_700_000_000 * 10**9 + 500_000_000), [msg, encode_message("/c", "x")])
    parsed = OscBundle(bundle)
    assert parsed.num_contents == 2 and parsed.timestamp == pytest.approx(1_700_000_000.5, abs=1e-6)
    assert [m.address for m in parsed] == ["/a/b", "/c"]
    with pytest.raises(ValueError, match="start with"):
        MessageBuilder("a", "f")
    with pytest.raises(ValueError, match="int32"):
        encode_message("/x", 1 << 40)


def test_dead_receiver_is_counted_as_refused() -> None:
    port = free_udp_port()  # nobody listens: ICMP port unreachable comes back to the connected socket
    out = _output(port)
    sink = out.sink_for("A")
    for _ in range(20):
        sink(_sample(lens=None, timecode=None))
        time.sleep(0.001)
    assert out.dropped_by_reason.get("refused", 0) > 0
    assert out.sent + out.dropped == 20
    assert out.last_error is not None and "refused" in out.last_error.lower()
