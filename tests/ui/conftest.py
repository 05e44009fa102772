"""Fixtures for window tests: a running demo stage, closed after the test; feeds for panels on their own."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from stagectl.config.load import default_stage
from stagectl.stage.runner import StageRunner
from tests.ui.feed import Feed, MakeFeed


@pytest.fixture
def demo_runner() -> Iterator[StageRunner]:
    runner = StageRunner(default_stage())
    yield runner
    runner.close()
    # Widgets of the finished test are deleted now, not during the next test's first seconds (on a
    # 2-core machine their teardown skewed the next test's early timing figures).
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def feed() -> Iterator[MakeFeed]:
    """Makes a :class:`Feed` of a runner for a panel tested outside the window; stopped after the test."""
    made: list[Feed] = []

    def make(runner: StageRunner) -> Feed:
        made.append(Feed(runner))
        return made[-1]

    yield make
    for one in made:
        one.stop()
