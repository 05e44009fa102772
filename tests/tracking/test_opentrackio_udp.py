"""tracking.opentrackio_udp over real UDP sockets: unicast, multicast on lo, segments, health."""

from __future__ import annotations

import asyncio
import json
import math
import socket
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import pytest

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOStatic,
    build_sample,
    encode_datagram,
    encode_payload,
    encode_sample,
)
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.core.timecode.label import TimecodeLabel
from stagectl.stage.pipeline import CameraPipeline
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until
from tracking.opentrackio_udp import OpenTrackIOUdpSource
from tracking.udp_source import READ_BUFFER_BYTES

LOCAL = "127.0.0.1"
CLOCK = StageClock(FrameRate.parse(25))
RATE_24 = FrameRate.parse("24000/1001")
LENS = OpenTrackIOLens(pinhole_focal_length_mm=35.0, focus_distance_m=2.5, t_stop=2.8, encoder_focus=0.25,
                       encoder_zoom=0.5, raw_focus=1000, raw_zoom=2000,
                       distortion=(LensDistortion(radial=(0.01, -0.002)),))


def _sample(seq: int, pan: float = 30.0, **kw: Any) -> OpenTrackIOSample:
    return OpenTrackIOSample(translation_m=(1.0, -2.0, 1.5), rotation_deg=(pan, -5.0, 0.5), lens=LENS,
                             sequence_number=seq, sample_rate=Fraction(24000, 1001),
                             timecode=Timecode.from_components(1, 2, 3, 4, RATE_24),
                             sample_time_ns=1_700_000_000_5, source_number=1, **kw)


ANY_PORT = Endpoint(LOCAL, 0)


def _make(listen: Endpoint = ANY_PORT, **kw: Any) -> OpenTrackIOUdpSource:
    return OpenTrackIOUdpSource("A/opentrackio", CameraPipeline("A"), CLOCK, EventQueue(), listen, **kw)


def _run(source: OpenTrackIOUdpSource, body: Callable[[OpenTrackIOUdpSource], Awaitable[None]]) -> None:
    async def main() -> None:
        source.camera.attach(asyncio.get_running_loop())
        await source.async_start()
        try:
            await body(source)
        finally:
            await source.async_stop()

    run_loop(main)


def _sender(multicast: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if multicast:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOCAL))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    return sock


@pytest.mark.parametrize("encoding", [ENCODING_JSON, ENCODING_CBOR])
def test_unicast_sample_becomes_a_camera_sample(encoding: int) -> None:
    source = _make()

    async def body(src: OpenTrackIOUdpSource) -> None:
        assert src.bound is not None
        with _sender() as sock:
            for datagram in encode_sample(_sample(7), encoding, sequence=100):
                sock.sendto(datagram, (LOCAL, src.bound.port))
            await async_wait_until(lambda: src.camera.latest is not None)

    _run(source, body)
    s: CameraSample | None = source.camera.latest
    assert s is not None
    assert (s.translation_m, s.rotation_deg) == ((1.0, -2.0, 1.5), (30.0, -5.0, 0.5))  # same frame: no change
    assert (s.timecode_source, str(s.timecode)) == ("tracker", "01:02:03:04")
    assert (s.sequence, s.device_id, s.sample_time_ns) == (7, 1, 1_700_000_000_5)
    assert (s.zoom_raw, s.focus_raw) == (2000, 1000)
    assert s.lens is not None
    assert (s.lens.focal_length_mm, s.lens.focus_distance_m, s.lens.t_stop) == (35.0, 2.5, 2.8)
    assert s.lens.encoders == (0.25, None, 0.5)
    assert (s.lens.distortion_model, s.lens.radial) == ("Brown-Conrady D-U", (0.01, -0.002))
    assert source.health.accepted == 1 and source.health.rejected == 0


def test_segmented_payload_is_reassembled_and_static_block_kept() -> None:
    static = OpenTrackIOStatic(camera_make="ARRI", camera_model="ALEXA 35", sensor_width_mm=27.99,
                               lens_make="Cooke", lens_model="S7/i")
    datagrams = encode_sample(_sample(1, static=static), ENCODING_JSON, sequence=10, mtu=200)
    assert len(datagrams) > 3
    source = _make()

    async def body(src: OpenTrackIOUdpSource) -> None:
        assert src.bound is not None
        with _sender() as sock:
            for datagram in reversed(datagrams):  # out of order on purpose
                sock.sendto(datagram, (LOCAL, src.bound.port))
            await async_wait_until(lambda: src.camera.delivered == 1)

    _run(source, body)
    assert source.static is not None and source.static.camera_model == "ALEXA 35"


def test_multicast_group_on_loopback() -> None:
    port = _free_port()
    source = _make(Endpoint(LOCAL, port), group="239.135.1.7", interface=LOCAL)

    async def body(src: OpenTrackIOUdpSource) -> None:
        assert src.bound == Endpoint("239.135.1.7", port)
        with _sender(multicast=True) as sock:
            for seq in range(3):
                for datagram in encode_sample(_sample(seq), ENCODING_CBOR, sequence=seq):
                    sock.sendto(datagram, ("239.135.1.7", port))
            await async_wait_until(lambda: src.camera.delivered == 3)

    _run(source, body)
    assert source.configured_address == f"239.135.1.7:{port}"


def test_bad_datagrams_are_counted_by_reason_and_never_raise() -> None:
    source = _make(allow=("127.0.0.1",))
    good = encode_sample(_sample(1), ENCODING_JSON, sequence=1)[0]
    bad_checksum = good[:-1] + bytes([good[-1] ^ 0xFF])
    not_json = encode_datagram(b"{nope", ENCODING_JSON, 2)
    nested = encode_datagram(b"[" * 5000 + b"]" * 5000, ENCODING_JSON, 3)
    nan = encode_datagram(b'{"transforms":[{"translation":{"x":NaN,"y":0,"z":0},'
                          b'"rotation":{"pan":0,"tilt":0,"roll":0}}]}', ENCODING_JSON, 4)
    no_pose = encode_datagram(b'{"sourceNumber":1}', ENCODING_JSON, 5)
    addr = (LOCAL, 5555)
    bad = (b"", b"OTrk", good[:20], bad_checksum, b"XTrk" + good[4:], not_json, nested, nan)
    for datagram in bad:
        source.datagram_received(datagram, addr)
    source.datagram_received(good, ("10.0.0.9", 5555))  # not on the allow-list
    source.datagram_received(b"\x00" * 70000, addr)  # cannot come over UDP; still never parsed
    source.datagram_received(no_pose, addr)  # schema-valid: kept (no pose), not rejected
    reasons = source.health.rejected_by_reason
    assert reasons.get("sender") == 1 and reasons.get("checksum") == 1
    assert {"length", "magic", "json", "too_deep", "value"} <= set(reasons)
    assert "internal" not in reasons and "no_pose" not in reasons
    assert source.health.rejected == source.health.received - 1 == 10
    assert source.health.warnings_by_reason == {"no_pose": 1}
    assert source.camera.delivered == 0


def test_a_chain_too_large_to_compose_is_kept_but_never_moves_the_camera() -> None:
    source = _make()
    taken: list[CameraSample] = []
    source.camera.add_tap(taken.append)
    huge = {"translation": {"x": 1e308, "y": 0.0, "z": 0.0},
            "rotation": {"pan": 0.0, "tilt": 0.0, "roll": 0.0}}
    payload = json.dumps({"transforms": [huge, huge], "timing": {"sequenceNumber": 1}}).encode()
    source.datagram_received(encode_datagram(payload, ENCODING_JSON, 1), (LOCAL, 5555))
    assert source.health.rejected == 0 and source.camera.delivered == 0  # schema-valid: kept, no pose
    assert source.health.warnings_by_reason == {"magnitude": 1, "no_pose": 1}
    (recorded,) = taken
    assert all(math.isnan(v) for v in (*recorded.translation_m, *recorded.rotation_deg))
    assert recorded.received is not None and recorded.received.payload["transforms"][0] == huge


def test_source_number_filter() -> None:
    source = _make(source_number=2)
    source.datagram_received(encode_sample(_sample(1), ENCODING_JSON, sequence=1)[0], (LOCAL, 1))
    assert source.health.rejected_by_reason == {"source_number": 1}


def test_loss_and_reordering_from_sample_sequence_numbers() -> None:
    source = _make()
    for header_seq, sample_seq in enumerate((1, 2, 5, 4, 6, 6)):
        datagram = encode_sample(_sample(sample_seq), ENCODING_JSON, header_seq)[0]
        source.datagram_received(datagram, (LOCAL, 1))
    h = source.health
    assert h.has_sequence
    assert (h.lost, h.reordered, h.duplicates) == (1, 1, 1)  # 3 never came, 4 came late, 6 twice
    assert source.camera.latest is not None and source.camera.latest.sequence == 6
    assert source.camera.delivered == 4


def test_no_tracker_timecode_means_stage_clock() -> None:
    source = _make()
    sample = OpenTrackIOSample(translation_m=(0.0, 0.0, 0.0), rotation_deg=(0.0, 0.0, 0.0))
    source.datagram_received(encode_sample(sample, ENCODING_JSON, 1)[0], (LOCAL, 1))
    latest = source.camera.latest
    assert latest is not None and latest.timecode_source == "stage" and latest.timecode is not None


def test_port_in_use_marks_the_source_down_with_the_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOCAL, 0))
        source = _make(Endpoint(LOCAL, taken.getsockname()[1]))

        async def body(src: OpenTrackIOUdpSource) -> None:
            assert src.bound is None

        _run(source, body)
    assert source.health.failed is not None and "cannot listen on" in source.health.failed


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCAL, 0))
        return int(sock.getsockname()[1])


def test_largest_udp_datagram_arrives_whole_and_is_rejected_by_length() -> None:
    """Reads are 64 KiB (not asyncio's 256 KiB): still room for any datagram."""
    source = _make()

    async def body(src: OpenTrackIOUdpSource) -> None:
        assert src.bound is not None
        assert READ_BUFFER_BYTES == 1 << 16 and src._sock is not None  # read by UdpSource._drain
        good = encode_sample(_sample(1), ENCODING_JSON, sequence=1)[0]
        with _sender() as sock:
            sock.sendto(good + bytes(65507 - len(good)), (LOCAL, src.bound.port))  # trailing bytes
            sock.sendto(good, (LOCAL, src.bound.port))
            await async_wait_until(lambda: src.health.received == 2)

    _run(source, body)
    assert source.health.rejected_by_reason == {"length": 1}  # the header's length disagrees
    assert source.camera.delivered == 1


# --- schema-valid odd values and senders the sequence check once misread, kept as regression tests ----

def _segments_like_the_reference_sender(payload: bytes, first: int, segments: int) -> list[bytes]:
    """camdkit's sender with --num-segments N: ceil(len / N) bytes a segment, a number per datagram."""
    size = -(-len(payload) // segments)
    return [encode_datagram(payload[o:o + size], ENCODING_JSON, (first + i) % 65536, o,
                            o + size >= len(payload))
            for i, o in enumerate(range(0, len(payload), size))]


def test_per_datagram_numbering_without_sample_numbers_is_not_loss() -> None:
    # 60 samples of 3 segments, no timing.sequenceNumber: the old check counted lost = 118.
    source = _make()
    sequence = 0
    for n in range(60):
        obj = build_sample(_sample(0, pan=float(n)))
        del obj["timing"]["sequenceNumber"]
        for datagram in _segments_like_the_reference_sender(encode_payload(obj, ENCODING_JSON), sequence, 3):
            source.datagram_received(datagram, (LOCAL, 1))
            sequence += 1
    h = source.health
    assert source.camera.delivered == 60 and source.reassembler.completed_segments == 3
    assert (h.lost, h.reordered, h.duplicates) == (0, 0, 0)


def test_a_lost_segmented_sample_counts_as_one() -> None:
    source = _make()
    sequence = 0
    for n in range(10):
        obj = build_sample(_sample(0, pan=float(n)))
        del obj["timing"]["sequenceNumber"]
        datagrams = _segments_like_the_reference_sender(encode_payload(obj, ENCODING_JSON), sequence, 3)
        sequence += len(datagrams)
        if n != 4:  # sample 4 never arrives
            for datagram in datagrams:
                source.datagram_received(datagram, (LOCAL, 1))
    assert source.camera.delivered == 9 and source.health.lost == 1


def test_a_new_source_id_starts_the_numbers_afresh() -> None:
    # A second tracker within a second of the first: its low numbers are not "reordered".
    source = _make()
    old = "urn:uuid:fc9bc480-02bd-4bd0-96c7-bce47197f720"
    new = "urn:uuid:5210332e-0292-4f8e-a606-a23ebe2ae18e"
    for source_id, numbers in ((old, range(1000, 1010)), (new, range(10))):
        for seq in numbers:
            datagram = encode_sample(_sample(seq, source_id=source_id), ENCODING_JSON, seq)[0]
            source.datagram_received(datagram, (LOCAL, 1))
    h = source.health
    assert source.camera.delivered == 20
    assert (h.lost, h.reordered, h.duplicates) == (0, 0, 0)


def test_schema_valid_odd_timecode_is_delivered_as_sent_and_counted() -> None:
    label = TimecodeLabel(1, 2, 3, 4, RATE_24, drop_frame=True, sub_frame=1)  # camdkit's complete example
    source = _make()
    source.datagram_received(encode_sample(_sample(1, timecode_label=label), ENCODING_CBOR, 1)[0], (LOCAL, 1))
    latest = source.camera.latest
    assert latest is not None and latest.tracker_timecode == label
    assert str(latest.timecode) == "01:02:03:04" and not latest.timecode.drop_frame
    assert latest.received is not None and latest.received.payload["timing"]["timecode"]["dropFrame"] is True
    assert source.health.warnings_by_reason == {"timecode_drop_frame": 1}
    assert source.health.rejected == 0
    twice_odd = TimecodeLabel(1, 2, 3, 30, RATE_24, drop_frame=True)  # drop-frame and frame 30 at 23.976
    datagram = encode_sample(_sample(2, timecode_label=twice_odd), ENCODING_CBOR, 2)[0]
    source.datagram_received(datagram, (LOCAL, 1))
    assert source.health.warned == 2  # samples, each counted once
    assert source.health.warnings_by_reason == {"timecode_drop_frame": 2, "timecode_frames": 1}
    [event] = [e for e in source.events.drain() if e.kind == "warning" and "timecode_frames" in e.message]
    assert event.message.endswith("01:02:03;30 at 24000/1001 fps counts as 01:02:04:06")


def test_a_sample_without_transforms_feeds_the_lens_and_the_taps_not_the_pose() -> None:
    source = _make()
    tapped: list[CameraSample] = []
    source.camera.add_tap(tapped.append)
    lens_only = OpenTrackIOSample(lens=OpenTrackIOLens(pinhole_focal_length_mm=50.0, raw_zoom=1234),
                                  sequence_number=1)
    source.datagram_received(encode_sample(lens_only, ENCODING_JSON, 1)[0], (LOCAL, 1))
    assert source.camera.delivered == 0 and source.camera.lens_readings == 1
    assert len(tapped) == 1 and tapped[0].received is not None
    assert all(v != v for v in tapped[0].translation_m)  # NaN: the pose is unknown
    source.datagram_received(encode_sample(_sample(2), ENCODING_JSON, 2)[0], (LOCAL, 1))
    latest = source.camera.latest
    assert latest is not None and latest.zoom_raw == 1234  # the lens-only sample's reading was merged
