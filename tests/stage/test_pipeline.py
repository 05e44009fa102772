"""The camera pipeline: delay line order, sinks, and a broken sink that must not stop the rest."""

from __future__ import annotations

import asyncio

import pytest

from stagectl.core.samples import CameraSample
from stagectl.stage.pipeline import CameraPipeline


def _sample(seq: int) -> CameraSample:
    return CameraSample("A", "test", seq, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), sequence=seq)


def test_shortening_the_delay_never_reorders_samples() -> None:
    async def scenario() -> list[int]:
        camera = CameraPipeline("A", delay_ms=80.0)
        camera.attach(asyncio.get_running_loop())
        order: list[int] = []
        camera.add_sink(lambda s: order.append(s.sequence or 0))
        camera.push(_sample(1))
        camera.set_delay_ms(0.0)
        camera.push(_sample(2))
        assert order == []  # 2 waits behind 1 instead of overtaking it
        await asyncio.sleep(0.2)  # the loop runs timers in time order: both releases (80 ms) come first
        return order

    assert asyncio.run(scenario()) == [1, 2]


def test_shortening_the_delay_never_reorders_samples_while_other_timers_run() -> None:
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.005, lambda: None)  # any other timer of a running stage, due before the release
        camera = CameraPipeline("A", delay_ms=80.0)
        camera.attach(loop)
        order: list[int] = []
        camera.add_sink(lambda s: order.append(s.sequence or 0))
        camera.push(_sample(1))
        camera.set_delay_ms(0.0)
        camera.push(_sample(2))
        await asyncio.sleep(0.2)  # the loop runs timers in time order: both releases (80 ms) come first
        return order

    assert asyncio.run(scenario()) == [1, 2]


def test_a_failing_sink_is_counted_and_the_others_still_run() -> None:
    camera = CameraPipeline("A")
    seen: list[int] = []

    def broken(_sample: CameraSample) -> None:
        raise RuntimeError("disk full")

    camera.add_sink(broken)
    camera.add_sink(lambda s: seen.append(s.sequence or 0))
    for seq in range(3):
        camera.push(_sample(seq))
    assert seen == [0, 1, 2]
    assert camera.sink_errors == 3
    assert camera.delivered == 3
    assert camera.latest is not None and camera.latest.sequence == 2
    assert len(camera.ring) == 3


@pytest.mark.parametrize("delay", [-1.0, 1000.5, float("nan")])
def test_delay_outside_range_is_refused(delay: float) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.1000"):
        CameraPipeline("A", delay_ms=delay)


# --- smoothing --------------------------------------------------------------------------------------

MS = 1_000_000


def _pose(t_ms: int, x: float, pan: float) -> CameraSample:
    return CameraSample("A", "test", t_ms * MS, (x, 0.0, 0.0), (pan, 0.0, 0.0))


def test_no_smoothing_by_default_passes_samples_through_unchanged() -> None:
    camera = CameraPipeline("A")
    out: list[CameraSample] = []
    camera.add_sink(out.append)
    samples = [_pose(i * 20, float(i), 0.0) for i in range(5)]
    for s in samples:
        camera.push(s)
    assert out == samples and camera.smoothing == 0 and camera.smoothing_latency_ms == 0.0


def test_moving_average_over_n_samples() -> None:
    camera = CameraPipeline("A", smoothing=3)
    out: list[CameraSample] = []
    camera.add_sink(out.append)
    for i, x in enumerate((0.0, 3.0, 6.0, 9.0)):
        camera.push(_pose(i * 20, x, 0.0))
    assert [s.translation_m[0] for s in out] == pytest.approx([0.0, 1.5, 3.0, 6.0])


def test_smoothing_averages_angles_across_the_seam() -> None:
    camera = CameraPipeline("A", smoothing=2)
    out: list[CameraSample] = []
    camera.add_sink(out.append)
    camera.push(_pose(0, 0.0, 179.0))
    camera.push(_pose(20, 0.0, -179.0))  # 2 degrees apart across +-180, not 358
    assert abs(out[-1].rotation_deg[0]) == pytest.approx(180.0)


def test_smoothing_restarts_after_a_gap() -> None:
    camera = CameraPipeline("A", smoothing=5)
    out: list[CameraSample] = []
    camera.add_sink(out.append)
    camera.push(_pose(0, 10.0, 0.0))
    camera.push(_pose(20, 10.0, 0.0))
    camera.push(_pose(2000, 0.0, 0.0))  # back after a dropout: no averaging with the stale pose
    assert out[-1].translation_m[0] == 0.0


def test_smoothing_names_its_latency_from_the_measured_rate() -> None:
    from stagectl.core.health import StreamHealth

    camera = CameraPipeline("A", smoothing=5)
    health = StreamHealth("s")
    camera.sources.append(health)
    for i in range(50):
        health.on_accept(i * 20 * MS)  # 50 Hz
    health.evaluate(49 * 20 * MS)
    assert camera.smoothing_latency_ms == pytest.approx(40.0)  # (5 - 1) / 2 periods of 20 ms
    with pytest.raises(ValueError, match=r"outside 0\.\.50"):
        camera.set_smoothing(51)
