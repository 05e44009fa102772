"""Tests of tracking.simulator: plausible motion and real FreeD packets over loopback."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from stagectl.core.coords import forward_vector
from stagectl.core.links import Endpoint
from tests.support.polling import async_wait_until
from tracking.freed.codec import FreeDPosition, decode_d1
from tracking.simulator import RAW_RANGE, FreeDSimulator, MotionModel, SimulatedPose

STEP = 1.0 / 50.0
TIMES = [i * STEP for i in range(1000)]  # 20 s at 50 Hz
MODELS = [0, 1, 2, 3]
# FreeD resolution: 1/64 mm and 1/32768 degree, rounded to nearest (half a unit of error).
POS_TOL_M = 0.5 / 64 / 1000 + 1e-12
ANGLE_TOL = 0.5 / 32768 + 1e-12


def _poses(index: int) -> list[SimulatedPose]:
    model = MotionModel(index)
    return [model.pose(t) for t in TIMES]


def _values(pose: SimulatedPose) -> tuple[float, ...]:
    return (*pose.translation_m, *pose.rotation_deg)


# --- MotionModel -------------------------------------------------------------------------------

@pytest.mark.parametrize("index", MODELS)
def test_poses_are_finite_and_inside_the_stage(index: int) -> None:
    for t, pose in zip(TIMES, _poses(index), strict=True):
        assert all(math.isfinite(v) for v in _values(pose)), t
        x, y, z = pose.translation_m
        assert abs(x) < 5.0 and -4.0 < y < 1.0 and 0.5 < z < 3.0, (t, pose)
        pan, tilt, roll = pose.rotation_deg
        assert -180.0 <= pan < 180.0 and abs(tilt) < 90.0 and abs(roll) < 10.0, (t, pose)
        assert 0 <= pose.zoom_raw <= RAW_RANGE and 0 <= pose.focus_raw <= RAW_RANGE, (t, pose)
        assert isinstance(pose.zoom_raw, int) and isinstance(pose.focus_raw, int)


@pytest.mark.parametrize("index", MODELS)
def test_motion_is_continuous(index: int) -> None:
    poses = _poses(index)
    for t, a, b in zip(TIMES, poses, poses[1:], strict=False):
        moved = math.dist(a.translation_m, b.translation_m)
        turned = max(abs(p - q) for p, q in zip(a.rotation_deg, b.rotation_deg, strict=True))
        assert moved < 0.2 and turned < 5.0, (t, a, b)
        assert abs(a.zoom_raw - b.zoom_raw) < 0.02 * RAW_RANGE, (t, a, b)
        assert abs(a.focus_raw - b.focus_raw) < 0.02 * RAW_RANGE, (t, a, b)


@pytest.mark.parametrize("index", MODELS)
def test_camera_keeps_the_target_in_frame(index: int) -> None:
    model = MotionModel(index)
    for t in (0.0, 1.3, 4.7, 9.9, 12.0, 17.5):
        pose = model.pose(t)
        pan, tilt, _ = pose.rotation_deg
        to_target = [tv - pv for tv, pv in zip(MotionModel.TARGET, pose.translation_m, strict=True)]
        norm = math.hypot(*to_target)
        dot = sum(f * d / norm for f, d in zip(forward_vector(pan, tilt), to_target, strict=True))
        assert dot > 0.9, (t, pose)


@pytest.mark.parametrize("index", MODELS)
def test_zoom_and_focus_pull_over_20_s(index: int) -> None:
    poses = _poses(index)
    for field in ("zoom_raw", "focus_raw"):
        values = [getattr(p, field) for p in poses]
        assert max(values) - min(values) > 0.3 * RAW_RANGE, field


def test_models_differ_and_are_deterministic() -> None:
    assert MotionModel(0).pose(3.0) == MotionModel(0).pose(3.0)
    assert MotionModel(0).pose(3.0).translation_m != MotionModel(1).pose(3.0).translation_m


# --- FreeDSimulator ----------------------------------------------------------------------------

def _assert_matches(pos: FreeDPosition, pose: SimulatedPose) -> None:
    assert tuple(v / 1000 for v in (pos.x_mm, pos.y_mm, pos.z_mm)) == pytest.approx(
        pose.translation_m, abs=POS_TOL_M)
    pan, tilt, roll = pose.rotation_deg
    assert (pos.pan_deg, pos.tilt_deg, pos.roll_deg) == pytest.approx((-pan, tilt, roll), abs=ANGLE_TOL)
    assert (pos.zoom, pos.focus) == (pose.zoom_raw, pose.focus_raw)


@pytest.mark.parametrize("t", [0.0, 0.02, 3.3, 11.71, 59.99])
def test_packets_at_decode_to_the_model_pose(t: float) -> None:
    sim = FreeDSimulator(Endpoint("127.0.0.1", 9), rate_hz=50, cameras=3, first_id=10, first_model=1)
    packets = sim.packets_at(t)
    assert len(packets) == 3
    for n, packet in enumerate(packets):
        pos = decode_d1(packet)
        assert pos.camera_id == 10 + n
        _assert_matches(pos, MotionModel(1 + n).pose(t))


@pytest.mark.parametrize("kwargs", [
    {"rate_hz": 0}, {"rate_hz": -5}, {"rate_hz": 20_000}, {"cameras": 0}, {"cameras": 300},
    {"first_id": 255, "cameras": 2}, {"first_id": -1}, {"first_id": 256},
], ids=repr)
def test_simulator_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FreeDSimulator(Endpoint("127.0.0.1", 9), **kwargs)


def test_simulator_accepts_the_edges() -> None:
    sim = FreeDSimulator(Endpoint("127.0.0.1", 9), rate_hz=10_000, cameras=2, first_id=254)
    assert [decode_d1(p).camera_id for p in sim.packets_at(0.0)] == [254, 255]


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets.append(data)


def test_loopback_run_delivers_both_cameras() -> None:
    async def main() -> tuple[FreeDSimulator, list[bytes]]:
        loop = asyncio.get_running_loop()
        transport, collector = await loop.create_datagram_endpoint(_Collector, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        sim = FreeDSimulator(Endpoint("127.0.0.1", port), rate_hz=100, cameras=2)
        try:
            await asyncio.wait_for(sim.async_run(0.5), timeout=30.0)
            # loopback loses nothing: every packet the simulator counts as sent arrives
            await async_wait_until(lambda: len(collector.packets) >= sim.sent,
                                   detail=lambda: len(collector.packets))
        finally:
            transport.close()
        return sim, collector.packets

    sim, packets = asyncio.run(main())
    # 50 ticks x 2 cameras: each tick sent, or skipped when a loaded machine made the loop lag
    assert 0 < sim.sent <= 100 and sim.send_errors == 0
    assert sim.sent + 2 * sim.skipped_ticks >= 100
    assert len(packets) == sim.sent
    decoded = [decode_d1(p) for p in packets]
    assert {p.camera_id for p in decoded} == {1, 2}
    # every packet is the model's pose at one of the 10 ms ticks
    expected = {p for k in range(60) for p in sim.packets_at(k / 100)}
    assert set(packets) <= expected
