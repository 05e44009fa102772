"""FreeD's 8-bit checksum lets random bytes through as poses; ``plausibility`` refuses them.

Random input is measured with a seeded generator (the counts are exact for the seed); real motion is
the simulator's camera model played faster than any stage camera moves, and hand-made whip pans and
crane moves, which must never be refused.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import socket

from stagectl.core.clock import StageClock
from stagectl.core.errors import DecodeError
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until
from tracking.freed.codec import D1, FreeDPosition, checksum, decode_d1, encode_d1
from tracking.freed.source import Plausibility, PoseTrack
from tracking.freed.udp import FreeDUdpSource
from tracking.simulator import MotionModel

RATE = FrameRate.parse(25)
PERIOD_NS = 20_000_000  # 50 Hz
SEED = 20261207


def _garbage(rng: random.Random, *, valid_checksum: bool) -> bytes:
    """29 random bytes starting with 0xD1 (with the checksum made right when ``valid_checksum``)."""
    body = bytes((D1, *rng.randbytes(27)))
    return body + bytes((checksum(body) if valid_checksum else rng.randrange(256),))


def _source(plausibility: Plausibility | None) -> tuple[FreeDUdpSource, list[CameraSample]]:
    camera = CameraPipeline("A")
    got: list[CameraSample] = []
    camera.add_sink(got.append)
    source = FreeDUdpSource("A/freed", camera, StageClock(RATE), EventQueue(), Endpoint("127.0.0.1", 0))
    source.check_plausibility(plausibility)
    return source, got


def _accepted_poses(datagrams: list[bytes], plausibility: Plausibility | None) -> int:
    """How many of ``datagrams`` (one each 20 ms) a FreeD source takes as camera poses."""
    source, got = _source(plausibility)
    for n, data in enumerate(datagrams):
        try:
            pos = decode_d1(data)
        except DecodeError as exc:
            source.reject(exc.reason, str(exc))
            continue
        source.accept(pos, n * PERIOD_NS)
    return len(got)


def test_random_bytes_starting_d1_become_poses_about_7_in_10000() -> None:
    rng = random.Random(SEED)
    frames = [_garbage(rng, valid_checksum=False) for _ in range(100_000)]
    accepted = _accepted_poses(frames, None)
    # 1/256 pass the checksum; of those, pan in +-180, tilt in +-90 and roll in +-180 out of FreeD's
    # +-256 degrees: (360/512) * (180/512) * (360/512) = 0.174, so 6.8 per 10 000.
    print(f"random D1 frames accepted as poses: {accepted} in 100 000 ({accepted / 10:.1f} per 10 000)")
    assert 40 <= accepted <= 100
    assert _accepted_poses(frames, Plausibility()) == 0


def _real_stream(seconds: float, speed_up: float) -> list[bytes]:
    model = MotionModel(0)
    return [encode_d1(model.freed(n * PERIOD_NS / 1e9 * speed_up, 1)) for n in range(int(seconds * 50))]


def test_garbage_between_a_real_stream_over_udp_is_refused_only_with_plausibility() -> None:
    """A tracker at 50 Hz and, between its poses, random D1 datagrams whose checksum is right (what a
    receiver sees of random input once the checksum is passed): without the check about 17 in 100 of
    them move the camera; with it none does, and every real pose gets through."""
    rng = random.Random(SEED)
    real = _real_stream(20.0, 1.0)
    garbage = [_garbage(rng, valid_checksum=True) for _ in range(len(real))]

    def run(plausibility: Plausibility | None) -> tuple[int, dict[str, int]]:
        source, got = _source(plausibility)
        camera = source.camera
        assert isinstance(camera, CameraPipeline)

        async def main() -> None:
            camera.attach(asyncio.get_running_loop())
            await source.async_start()
            assert source.bound is not None
            target = (source.bound.host, source.bound.port)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for n, (good, bad) in enumerate(zip(real, garbage, strict=True)):
                    sender.sendto(good, target)
                    sender.sendto(bad, target)
                    if n % 20 == 0:
                        await asyncio.sleep(0.001)  # let the loop read; the socket buffer never overflows
                await async_wait_until(lambda: source.health.received >= 2 * len(real), what="every datagram")
            await source.async_stop()

        run_loop(main)
        garbage_taken = sum(1 for s in got if (s.extra or {}).get("spare") != 0)  # the tracker sends 0
        starting = 0 if plausibility is None else plausibility.confirm - 1  # the stream starts a track
        assert len(got) - garbage_taken == len(real) - starting  # every other real pose delivered
        return garbage_taken, dict(source.health.rejected_by_reason)

    taken_without, _ = run(None)
    taken_with, reasons = run(Plausibility())
    print(f"garbage poses taken: {taken_without} of {len(garbage)} without plausibility, {taken_with} with")
    assert taken_without > len(garbage) // 10
    assert taken_with == 0
    assert reasons.get("plausibility", 0) >= len(garbage) * 15 // 100


def _never_refused(poses: list[FreeDPosition], arrivals: list[int], limits: Plausibility) -> None:
    """Every pose after the ``confirm`` that start the track is taken."""
    track = PoseTrack(limits)
    problems = [track.problem(pos, arrival) for pos, arrival in zip(poses, arrivals, strict=True)]
    assert problems[limits.confirm - 1:] == [None] * (len(poses) - limits.confirm + 1), problems


def test_real_fast_moves_are_never_refused() -> None:
    limits = Plausibility()
    # The simulator's camera at 25 times its speed: a dolly at ~16 m/s, pans of hundreds of deg/s.
    model = MotionModel(0)
    fast = [model.freed(n * 0.02 * 25.0, 1) for n in range(3000)]
    steps = [math.dist((a.x_mm, a.y_mm, a.z_mm), (b.x_mm, b.y_mm, b.z_mm)) / 1000 / 0.02
             for a, b in itertools.pairwise(fast)]
    assert max(steps) > 10.0  # faster than any crane
    _never_refused(fast, [n * PERIOD_NS for n in range(len(fast))], limits)
    # The same poses read in bursts (a serial read, a late wake-up): ten share one arrival time.
    _never_refused(fast, [(n // 10) * 10 * PERIOD_NS for n in range(len(fast))], limits)
    # A whip pan at 1500 deg/s through +-180, and a 25 m/s crane swing, at 25 Hz.
    whip = [FreeDPosition(1, ((170 + 60 * n + 180) % 360) - 180, 0, 0, 0, 0, 0, 0, 0) for n in range(40)]
    _never_refused(whip, [n * 40_000_000 for n in range(40)], limits)
    crane = [FreeDPosition(1, 0, 0, 0, 1000 * n, 0, 100 * n, 0, 0) for n in range(100)]
    _never_refused(crane, [n * 40_000_000 for n in range(100)], limits)


def test_a_jump_is_refused_then_taken_when_the_camera_stays_there() -> None:
    """A tracker re-homed (or a false first pose) costs ``confirm - 1`` poses, never the stream."""
    track = PoseTrack(Plausibility())
    here = FreeDPosition(1, 10, 0, 0, 0, 0, 1500, 0, 0)
    there = here._replace(x_mm=40_000.0)
    first = track.problem(here, 0)
    assert first is not None and "waiting for 3 that agree" in first  # a stream starts a track
    assert track.problem(here, PERIOD_NS) is not None
    assert track.problem(here, 2 * PERIOD_NS) is None
    problem = track.problem(there, 3 * PERIOD_NS)
    assert problem is not None and "moved 40.00 m in 50 ms" in problem
    assert track.problem(there, 4 * PERIOD_NS) is not None
    assert track.problem(there, 5 * PERIOD_NS) is None
    assert track.problem(here, 6 * PERIOD_NS) is not None  # and now "here" is the jump
    # After a gap longer than lost_after_s the track is lost, wherever the next pose is.
    assert track.problem(there, 6 * PERIOD_NS + 2_000_000_000) is not None


def test_a_refused_pose_is_counted_and_reported_with_its_reason() -> None:
    source, got = _source(Plausibility(max_turn_deg_s=100.0))
    for n in range(3):
        source.accept(FreeDPosition(1, 10, 0, 0, 0, 0, 0, 0, 0), n * PERIOD_NS)
    source.accept(FreeDPosition(1, 40, 0, 0, 0, 0, 0, 0, 0), 3 * PERIOD_NS)
    assert len(got) == 1
    assert source.health.rejected_by_reason == {"plausibility": 3}
    messages = [e.message for e in source.events.drain()]
    assert messages == ["rejected datagram (plausibility): no pose in the last 1 s to follow; waiting for 3 "
                        "that agree"]  # then one report a second per reason: the jump is counted
    assert source.track is not None
    jump = source.track.problem(FreeDPosition(1, 40, 0, 0, 0, 0, 0, 0, 0), 4 * PERIOD_NS)
    assert jump == "pan turned 30.0 deg in 50 ms, over the 100 deg/s a head can turn"
