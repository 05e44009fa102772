"""The camera pipeline: delay line order, sinks, and a broken sink that must not stop the rest."""

from __future__ import annotations

import asyncio

import pytest

from stagectl.pipeline import CameraPipeline
from stagectl.samples import CameraSample


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
        await asyncio.sleep(0.2)
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
