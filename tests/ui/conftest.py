"""Fixtures for window tests: a running demo stage, closed after the test."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from stagectl.config.load import default_stage
from stagectl.stage.runner import StageRunner


@pytest.fixture
def demo_runner() -> Iterator[StageRunner]:
    runner = StageRunner(default_stage())
    yield runner
    runner.close()
    # Widgets of the finished test are deleted now, not during the next test's first seconds (on a
    # 2-core machine their teardown skewed the next test's early timing figures).
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
