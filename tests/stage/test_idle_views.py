"""A stage nobody watches builds no views: the headless run's runner publishes none (its own counter),
the window's runner does."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.stage.runner import StageRunner
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

SAMPLES = 50
"""Samples each source accepts before the counters are read: a second of the simulator at 50 Hz,
in which a publishing runner builds about thirty views."""


@pytest.mark.parametrize("publish", [False, True])
def test_views_are_built_only_when_something_reads_them(tmp_path: Path, publish: bool) -> None:
    (tmp_path / "looks").mkdir()
    runner = StageRunner(StageFile("Idle views").source("A").looks(dir="looks").config(tmp_path),
                         publish_views=publish)
    try:
        wait_until(lambda: all(s.health.accepted >= SAMPLES for s in runner.stage.sources))
        if publish:
            wait_until(lambda: runner.views.published > 1)
        else:
            assert runner.views.published == 0
            assert runner.views.latest.sequence == 0  # the view built before the start, kept
    finally:
        runner.close()


def test_the_health_monitor_looks_when_a_source_could_go_stale_and_still_sees_it(tmp_path: Path) -> None:
    runner = StageRunner(StageFile("Idle monitor").source("A").config(tmp_path), publish_views=False)
    try:
        source = runner.stage.sources[0]
        wait_until(lambda: source.health.state.name == "UP" and source.health.accepted >= 5)
        ticks, seen = runner.stage.monitor_ticks, source.health.accepted
        wait_until(lambda: source.health.accepted >= seen + 2 * SAMPLES)  # two seconds of samples
        ticks = runner.stage.monitor_ticks - ticks
        # Every 0.1 s that would be ~20; up with a 500 ms stale limit it looks about every 0.5 s.
        assert ticks <= 10, f"{ticks} monitor ticks in two seconds of a stage that is up"
        assert source.health.rate_hz > 0
        simulator = getattr(source, "simulator", None)
        assert simulator is not None
        runner.runtime.call_sync(source.async_stop(), 5.0)  # the tracker goes quiet
        wait_until(lambda: source.health.state.name != "UP", what="the source seen stale")
    finally:
        runner.close()
