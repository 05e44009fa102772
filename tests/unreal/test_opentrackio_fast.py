"""The OpenTrackIO output's hot path writes the same bytes as the encoder it replaced.

The oracle is the previous CBOR encoder, kept here verbatim (``_previous_encode_cbor``: the timing and
lens maps built as dicts and encoded by cbor2, the transform packed by the same template), run on a
twin output fed the same samples; every payload must also be ``cbor2.dumps`` of ``build``'s map and
pass the strict receiver written from the spec.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
from collections.abc import Iterator
from typing import Any

import cbor2
import pytest

from stagectl.core.clock import StageClock
from stagectl.core.coords import freed_to_internal
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import OpenTrackIOStatic, encode_datagrams, fletcher16
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from stagectl.core.opentrackio.static import build_static
from stagectl.core.samples import CameraSample, LensValues
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.unreal.opentrackio_fast import cbor_uint, fletcher_sums, single_datagram
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput
from stagectl.unreal.opentrackio_parts import (
    CBOR_LENS_KEY,
    CBOR_MAP_HEADS,
    CBOR_STATIC_KEY,
    CBOR_T,
    CBOR_TIMING_KEY,
    CBOR_TRANSFORMS,
    Stream,
    cbor_text,
    lens_block,
)
from tests.opentrackio_strict import StrictReceiver
from tracking.freed.codec import FreeDPosition, decode_d1, decode_d1_datagram, encode_d1
from tracking.freed.presets import PRESETS, freed_sample

MS = 1_000_000
BC = (-0.08, 0.02, 0.001, 0.0005, -0.0003)


def _previous_encode_cbor(out: OpenTrackIOOutput, stream: Stream, sample: CameraSample) -> bytes | None:
    """The CBOR encoder before the hot path was rewritten, as it was."""
    (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
    if not math.isfinite(x + y + z + pan + tilt + roll):
        return None
    lens = lens_block(sample.lens, (sample.focus_raw, sample.iris_raw, sample.zoom_raw))
    static = out._cached_static(stream) if out._static_due(stream, sample.arrival_ns) else None
    parts = [CBOR_MAP_HEADS[6 + bool(lens) + bool(static)], stream.cbor_head,
             cbor_text(stream.next_sample_id()), stream.cbor_source,
             CBOR_TIMING_KEY, cbor2.dumps(out._timing(stream, sample)),
             CBOR_TRANSFORMS(CBOR_T[0], x, CBOR_T[1], y, CBOR_T[2], z, CBOR_T[3], pan, CBOR_T[4], tilt,
                              CBOR_T[5], roll, CBOR_T[6])]
    if lens:
        parts += (CBOR_LENS_KEY, cbor2.dumps(lens))
    if static:
        if stream.static_cbor is None:
            stream.static_cbor = CBOR_STATIC_KEY + cbor2.dumps(static)
        parts.append(stream.static_cbor)
    return b"".join(parts)


def _solved() -> LensValues:
    dist = brown_conrady_to_opentrackio(BC, 35.0)
    return LensValues(focal_length_mm=35.0, focus_distance_m=3.2, f_stop=2.8, t_stop=2.9,
                      entrance_pupil_offset_m=0.12, encoders=(0.25, 0.5, 0.75), distortion_model=dist.model,
                      radial=dist.radial, tangential=dist.tangential, projection_offset_mm=(0.1, -0.05),
                      brown_conrady=BC)


LENSES: list[LensValues | None] = [
    None, _solved(), LensValues(), LensValues(encoders=(0.5, None, 0.25)),
    LensValues(encoders=(1.0, None, 1e-9)),
    LensValues(encoders=(0.5, None, 0.25), clamped=("zoom",), lens_file="x.json"),
    LensValues(f_stop=2.8, encoders=(0.0, None, 1.0)), LensValues(f_stop=0.0), LensValues(f_stop=math.inf),
    LensValues(f_stop=4, encoders=(1, None, 0)),  # ints: encoded as cbor2 encodes ints
    LensValues(encoders=(-0.0, -5e-7, 1.0000005)), LensValues(encoders=(-0.1, 1.2, math.nan)),
    LensValues(focal_length_mm=50.0), LensValues(focus_distance_m=math.inf, t_stop=2.0),
    LensValues(encoders=(None, None, None)),
]
RAWS: list[tuple[Any, Any, Any]] = [
    (None, None, None), (0, None, 23), (24, 255, 256), (65535, 65536, 0xFFFFFF), (2**32 - 1, 2**32, -1),
    (True, None, 5), (300, None, 70000), (2**32 - 1, None, 2**32), (0x123456, None, 0), (0, None, 0),
]
SEQUENCES = [0, 22, 23, 24, 255, 256, 65535, 65536, 2**32 - 2, 2**32 - 1, 2**48 - 1]


def _samples(seed: int, count: int) -> Iterator[CameraSample]:
    rng = random.Random(seed)
    rates = [FrameRate.parse(r) for r in ("24000/1001", "25", "30000/1001", "50", "60")]
    t = 10**12
    for _ in range(count):
        # 50 Hz with now and then a pause (the rate starts again), a long gap or a step back
        t += 20 * MS if rng.random() < 0.996 else rng.choice([600 * MS, 2_100 * MS, -5 * MS])
        rate = rng.choice(rates)
        frame = rng.randrange(0, 24 * 3600 * 24)
        drop = rate.rate.denominator == 1001 and rate.rate.numerator == 30000 and rng.random() < 0.5
        tc = rng.choice([None, Timecode.from_frames(frame % (24 * 3600 * 29), rate, drop)])
        focus, iris, zoom = rng.choice(RAWS)
        yield CameraSample("A", "A/freed", t,
                           (rng.uniform(-10, 10), rng.uniform(-10, 10), rng.choice([0.0, 1.5])),
                           (rng.uniform(-180, 180), rng.uniform(-90, 90), rng.choice([0.0, -0.0, 3.25])),
                           zoom_raw=zoom, focus_raw=focus, iris_raw=iris, sequence=1, timecode=tc,
                           lens=rng.choice(LENSES),
                           sample_time_ns=rng.choice([None, 0, 1_700_000_000 * 10**9 + 123, -1_500_000_001]))


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _static(camera: str, _base: Any, _changed: dict[str, Any]) -> dict[str, Any]:
    return build_static(OpenTrackIOStatic(lens_make="Cooke", camera_label=camera))


def _twins() -> tuple[OpenTrackIOOutput, Stream, OpenTrackIOOutput, Stream]:
    new = OpenTrackIOOutput("unreal", Endpoint("127.0.0.1", 9), static_for=_static, static_every_s=0.5)
    old = OpenTrackIOOutput("unreal", Endpoint("127.0.0.1", 9), static_for=_static, static_every_s=0.5)
    a, b = new._stream("A"), old._stream("A")
    b.id_prefix, b.cbor_head = a.id_prefix, a.cbor_head
    assert a.id_head.startswith(a.cbor_head) and a.source_id == b.source_id
    return new, a, old, b


@pytest.mark.parametrize("seed", range(6))
def test_the_hot_path_writes_the_previous_encoders_bytes(seed: int) -> None:
    new, a, old, b = _twins()
    rated = 0
    for checked, sample in enumerate(_samples(seed, 400)):
        if checked % 37 == 0:  # jump the counters over the CBOR integer widths
            a.count = b.count = random.Random(seed + checked).choice(SEQUENCES)
        got, want = new.encode_cbor(a, sample), _previous_encode_cbor(old, b, sample)
        assert got == want, sample
        assert (a.count, a.rate, a.last_static_ns) == (b.count, b.rate, b.last_static_ns)
        rated += a.rate is not None
    assert rated  # the measured rate was in some of them


STATE = ("count", "last_static_ns", "rate", "window_start_ns", "window_count", "last_arrival_ns")


def test_the_hot_path_is_builds_map_in_cbor() -> None:
    new, a, old, b = _twins()
    for sample in _samples(99, 300):
        for name in STATE:
            setattr(b, name, getattr(a, name))
        got = new.encode_cbor(a, sample)
        assert got == cbor2.dumps(old.build(b, sample))


def test_a_non_finite_pose_is_not_encoded_and_counts_nothing() -> None:
    new, a, _old, _b = _twins()
    sample = next(_samples(1, 1))._replace(translation_m=(math.nan, 0.0, 0.0))
    assert new.encode_cbor(a, sample) is None and a.count == 0


def test_cbor_uint_is_cbor2s_shortest_form() -> None:
    for n in [*range(0, 300), 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]:
        assert cbor_uint(n) == cbor2.dumps(n)


@pytest.mark.parametrize("size", [0, 1, 13, 14, 255, 256, 257, 361, 362, 480, 510, 511, 512, 1022, 1023,
                                  1484, 4000, 32767 + 16])
def test_fletcher_sums_from_adler32_are_exact(size: int) -> None:
    rng = random.Random(size)
    for data in (bytes(rng.randrange(256) for _ in range(size)), b"\xff" * size, bytes(size)):
        s1, s2 = fletcher_sums(data)
        assert ((s2 & 0xFF) << 8) | (s1 & 0xFF) == fletcher16(data)
        assert s1 == sum(data) and s2 == sum((size - j) * b for j, b in enumerate(data))


@pytest.mark.parametrize("size", [0, 1, 63, 64, 255, 700, 32767])
def test_single_datagram_matches_the_codec(size: int) -> None:
    payload = bytes((i * 7 + 3) % 256 for i in range(size))
    for sequence in (0, 1, 65535):
        assert single_datagram(payload, 2, sequence) == encode_datagrams(payload, 2, sequence, 40000)[0]


def test_what_the_output_sends_passes_the_strict_receiver(receiver: socket.socket) -> None:
    out = OpenTrackIOOutput("unreal", Endpoint("127.0.0.1", receiver.getsockname()[1]), static_for=_static)
    asyncio.run(out.async_start())
    sink = out.sink_for("A")
    samples = [s for s in _samples(7, 400)  # what the schema allows: no negative time, integer counts
               if (s.sample_time_ns or 0) >= 0 and True not in (s.focus_raw, s.iris_raw, s.zoom_raw)][:120]
    for sample in samples:
        sink(sample)
    datagrams = [receiver.recv(65536) for _ in range(out.sent)]
    asyncio.run(out.async_stop())
    strict = StrictReceiver()
    payloads = [p for p in map(strict.feed, datagrams) if p is not None]
    assert out.dropped == 0 and len(payloads) == len(samples) == out.samples
    for sample, payload in zip(samples, payloads, strict=True):
        pose = payload["transforms"][0]
        assert (pose["translation"]["x"], pose["rotation"]["pan"]) == (sample.translation_m[0],
                                                                      sample.rotation_deg[0])


def test_the_freed_fast_decode_is_decode_d1() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        pos = FreeDPosition(rng.randrange(256), rng.uniform(-180, 180), rng.uniform(-90, 90),
                            rng.uniform(-180, 180), rng.uniform(-1e5, 1e5), rng.uniform(-1e5, 1e5),
                            rng.uniform(-1e5, 1e5), rng.randrange(1 << 24), rng.randrange(1 << 24),
                            rng.randrange(1 << 16))
        data = encode_d1(pos)
        assert decode_d1_datagram(data) == decode_d1(data)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_freed_sample_keeps_every_field(preset: str) -> None:
    clock = StageClock(FrameRate.parse("25"))
    pos = FreeDPosition(3, 10.5, -4.25, 1.0, 1500.0, -250.5, 1800.0, 0x1234, 0x5678, 0x3123)
    sample = freed_sample(pos, PRESETS[preset], "A", "A/freed", 10**12, clock, 9)
    meaning = PRESETS[preset].read_spare(pos.spare)
    expected = freed_to_internal(pos.x_mm, pos.y_mm, pos.z_mm, pos.pan_deg, pos.tilt_deg, pos.roll_deg)
    assert (sample.translation_m, sample.rotation_deg) == expected
    assert sample.translation_m == (1.5, -0.2505, 1.8) and sample.rotation_deg == (-10.5, -4.25, 1.0)
    assert (sample.zoom_raw, sample.focus_raw, sample.iris_raw) == (0x1234, 0x5678, meaning.iris_raw)
    assert (sample.sequence, sample.device_id, sample.extra) == (9, 3, meaning.extra)
    assert sample.timecode == clock.timecode_at(10**12) and sample.lens is not None
    assert sample.lens.f_stop == meaning.f_stop
