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
