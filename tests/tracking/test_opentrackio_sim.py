"""tracking.opentrackio_sim: plausible samples, static every ~2 s, real datagrams over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import jsonschema
import pytest

from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.build import build_sample
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    OpenTrackIOSample,
    Reassembler,
    decode_payload,
    parse_datagram,
    parse_sample,
)
from stagectl.core.opentrackio.fields import URN_UUID
from tests.support.cli import REPO
from tests.support.network import free_udp_port
from tests.support.polling import wait_until
from tracking.opentrackio_sim import OpenTrackIOSimulator, simulated_lens
from tracking.simulator import RAW_RANGE, MotionModel, SimulatedPose

LOCAL = "127.0.0.1"
GROUP = "239.135.1.77"
VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((REPO / "tests" / "data" / "opentrackio" / "schema.json").read_text()))


def _decode_all(simulator: OpenTrackIOSimulator,
                ticks: range) -> list[tuple[dict[str, Any], OpenTrackIOSample]]:
    reassembler = Reassembler()
    out = []
    for tick in ticks:
        for datagram in simulator.packets_at(tick):
            header, segment = parse_datagram(datagram)
            payload = reassembler.feed(header, segment, 0)
            if payload is not None:
                obj = decode_payload(header.encoding, payload)
                out.append((obj, parse_sample(obj)))
    return out


# --- samples -----------------------------------------------------------------------------------------

def test_pose_is_the_motion_model_unchanged() -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 9), rate_hz=50.0, model_index=2)
    model = MotionModel(2)
    for tick in (0, 17, 333):
        sample = simulator.sample_at(tick)
        pose = model.pose(tick / 50.0)
        assert sample.translation_m == pose.translation_m and sample.rotation_deg == pose.rotation_deg
        assert sample.sequence_number == tick


def test_lens_mapping_end_points() -> None:
    wide_far = simulated_lens(SimulatedPose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0, 0))
    tele_near = simulated_lens(SimulatedPose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), RAW_RANGE, RAW_RANGE))
    assert wide_far.pinhole_focal_length_mm == pytest.approx(24.0)
    assert wide_far.focus_distance_m is None  # focus encoder 0 = infinity: no distance sent
    assert (wide_far.encoder_zoom, wide_far.encoder_focus) == (0.0, 0.0)
    assert tele_near.pinhole_focal_length_mm == pytest.approx(70.0)
    assert tele_near.focus_distance_m == pytest.approx(0.5)
    assert (tele_near.raw_zoom, tele_near.raw_focus) == (RAW_RANGE, RAW_RANGE)


def test_lens_stays_plausible_over_a_minute() -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 9), rate_hz=10.0)
    for tick in range(600):
        lens = simulator.sample_at(tick).lens
        assert lens is not None and lens.pinhole_focal_length_mm is not None
        assert 24.0 <= lens.pinhole_focal_length_mm <= 70.0
        assert lens.focus_distance_m is not None and 0.5 <= lens.focus_distance_m < 10.0


@pytest.mark.parametrize(("rate_hz", "sample_rate", "timecode_rate"), [
    (23.976, Fraction(24000, 1001), Fraction(24000, 1001)),
    (50.0, Fraction(50), Fraction(50)),
    (59.94, Fraction(60000, 1001), Fraction(60000, 1001)),
    (37.5, Fraction(75, 2), Fraction(25)),   # not a video rate: 25 fps timecode
    (200.0, Fraction(200), Fraction(25)),
])
def test_rates(rate_hz: float, sample_rate: Fraction, timecode_rate: Fraction) -> None:
    sample = OpenTrackIOSimulator(Endpoint(LOCAL, 9), rate_hz=rate_hz).sample_at(0)
    assert sample.sample_rate == sample_rate
    assert sample.timecode is not None and sample.timecode.rate.rate == timecode_rate


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_static_block_about_every_two_seconds(encoding: Any) -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 9), rate_hz=50.0, encoding=encoding)
    decoded = _decode_all(simulator, range(501))  # 10 s
    assert len(decoded) == 501
    with_static = [i for i, (_, sample) in enumerate(decoded) if sample.static is not None]
    assert with_static == [0, 100, 200, 300, 400, 500]
    for obj, sample in decoded[:3] + decoded[99:101]:
        assert list(VALIDATOR.iter_errors(obj)) == []
        assert sample.protocol_name == "OpenTrackIO" and sample.protocol_version == (1, 0, 1)
        assert sample.source_id == simulator.source_id and sample.source_number == 1
    static = decoded[0][1].static
    assert static is not None and (static.sensor_width_mm, static.sensor_height_mm) == (36.0, 20.25)
    assert static.camera_make and static.lens_model and static.tracker_model
    assert len({s.sample_id for _, s in decoded}) == 501  # a fresh id per sample


@pytest.mark.parametrize(("rate_hz", "model_index"), [(23.976, 0), (50.0, 1), (100.0, 2)])
def test_the_sent_map_is_the_built_sample_of_the_same_instant(rate_hz: float, model_index: int) -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 9), rate_hz=rate_hz, model_index=model_index)
    wall, mono = 1_790_000_000_000_000_000, 5_000_000_000
    for tick in range(0, 3000, 7):  # a minute at 50 Hz: every zoom and focus, static blocks included
        when = (wall + tick * 20_000_000, mono + tick * 20_000_000)
        sent = simulator.sample_map_at(tick, *when)
        built = build_sample(simulator.sample_at(tick, *when), check=False)
        assert URN_UUID.fullmatch(sent.pop("sampleId")) and built.pop("sampleId")
        assert sent == built, tick
        assert list(sent) == list(built) and list(sent["lens"]) == list(built["lens"])  # the same key order
    assert list(VALIDATOR.iter_errors(simulator.sample_map_at(0))) == []


def test_sample_ids_are_version_4_uuids() -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 9))
    ids = {simulator.sample_map_at(0)["sampleId"] for _ in range(2000)}
    assert len(ids) == 2000
    for urn in list(ids)[:200]:
        value = uuid.UUID(urn.removeprefix("urn:uuid:"))
        assert value.version == 4 and value.variant == uuid.RFC_4122 and f"urn:uuid:{value}" == urn


def test_header_sequence_counts_datagrams_and_wraps() -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 9), rate_hz=50.0, mtu=400)  # every sample segmented
    simulator.next_sequence = 65530
    sequences = [parse_datagram(d)[0].sequence for tick in range(3) for d in simulator.packets_at(tick)]
    assert len(sequences) > 6
    assert sequences == [(65530 + i) % 65536 for i in range(len(sequences))]


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"rate_hz": 0.0}, "rate"), ({"rate_hz": 5000.0}, "rate"), ({"encoding": "xml"}, "encoding"),
    ({"source_number": 0}, "1..200"), ({"source_number": 201}, "1..200"), ({"ttl": 256}, "TTL"),
    ({"group": "10.0.0.1"}, "not an IPv4 multicast"), ({"group": "ff02::1"}, "not an IPv4 multicast"),
])
def test_bad_settings(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        OpenTrackIOSimulator(Endpoint(LOCAL, 9), **kwargs)


# --- over real sockets -------------------------------------------------------------------------------

@contextmanager
def _receiver(port: int, group: str | None = None) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if group is None:
            sock.bind((LOCAL, port))
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((group, port))
            membership = socket.inet_aton(group) + socket.inet_aton(LOCAL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
        yield sock
    finally:
        sock.close()


def _drain(sock: socket.socket, simulator: OpenTrackIOSimulator) -> list[bytes]:
    """Every datagram the simulator says it sent, read from ``sock`` (multicast loops back a moment later)."""
    received: list[bytes] = []

    def all_arrived() -> bool:
        with contextlib.suppress(BlockingIOError):
            while True:
                received.append(sock.recv(65535))
        return len(received) >= simulator.sent

    wait_until(all_arrived, what=f"the {simulator.sent} datagrams sent", detail=lambda: len(received))
    return received


def _whole_schedule(samples: list[OpenTrackIOSample], simulator: OpenTrackIOSimulator, ticks: int) -> None:
    """Each of the schedule's ``ticks`` was sent or counted as skipped (a loaded machine skips ticks
    rather than bursting); never more samples than ticks."""
    assert len(samples) <= ticks
    assert len(samples) + simulator.skipped_ticks >= ticks, (len(samples), simulator.skipped_ticks)


def _check_stream(datagrams: list[bytes], simulator: OpenTrackIOSimulator) -> list[OpenTrackIOSample]:
    assert len(datagrams) == simulator.sent > 0
    headers = [parse_datagram(d)[0] for d in datagrams]
    assert [h.sequence for h in headers] == list(range(len(headers)))  # one number per datagram, in order
    assert {h.encoding for h in headers} == {simulator.encoding}
    reassembler = Reassembler()
    samples = []
    for datagram in datagrams:
        header, segment = parse_datagram(datagram)
        payload = reassembler.feed(header, segment, time.monotonic_ns())
        if payload is not None:
            obj = decode_payload(header.encoding, payload)
            assert list(VALIDATOR.iter_errors(obj)) == []
            samples.append(parse_sample(obj))
    assert reassembler.discarded == 0
    numbers = [s.sequence_number for s in samples]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    times = [s.sample_time_ns or 0 for s in samples]
    assert all(times) and times == sorted(times)
    return samples


@pytest.mark.parametrize(("encoding", "mtu"), [("json", 1500), ("cbor", 1500), ("json", 500)])
def test_unicast_datagrams_decode(encoding: Any, mtu: int) -> None:
    port = free_udp_port()
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, port), rate_hz=100.0, encoding=encoding, mtu=mtu)
    with _receiver(port) as sock:
        asyncio.run(simulator.async_run(0.3))
        samples = _check_stream(_drain(sock, simulator), simulator)
    _whole_schedule(samples, simulator, 30)  # 0.3 s at 100 Hz
    assert samples[0].static is not None
    assert simulator.send_errors == 0


def test_multicast_on_loopback_with_ttl_0() -> None:
    port = free_udp_port()
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, port), rate_hz=100.0, encoding="cbor", group=GROUP,
                                     ttl=0, source_number=77)
    assert simulator.destination == (GROUP, port)
    with _receiver(port, GROUP) as sock:
        asyncio.run(simulator.async_run(0.2))
        samples = _check_stream(_drain(sock, simulator), simulator)
    _whole_schedule(samples, simulator, 20)  # 0.2 s at 100 Hz
    assert {s.source_number for s in samples} == {77}


def test_multicast_socket_options() -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, 55555), group=GROUP, ttl=3)
    with simulator.open_socket() as sock:
        interface = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        assert socket.inet_ntoa(interface) == LOCAL
        assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 3
        assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 1


def test_nobody_listening_is_counted_not_fatal() -> None:
    simulator = OpenTrackIOSimulator(Endpoint(LOCAL, free_udp_port()), rate_hz=200.0, encoding="json")
    asyncio.run(simulator.async_run(0.1))
    # the whole schedule ran: 0.1 s at 200 Hz, each tick sent or (on a loaded machine) skipped
    assert simulator.sent <= 20 and simulator.sent + simulator.skipped_ticks >= 20
    assert simulator.send_errors >= 1  # ICMP "port unreachable" came back and was counted


@pytest.mark.parametrize(("encoding", "byte"), [("json", ENCODING_JSON), ("cbor", ENCODING_CBOR)])
def test_encodings_on_the_wire(encoding: Any, byte: int) -> None:
    assert OpenTrackIOSimulator(Endpoint(LOCAL, 9), encoding=encoding).packets_at(1)[0][5] == byte
