"""Fixtures for window tests: a running demo stage, closed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stagectl.app import StageRunner
from stagectl.config import default_stage


@pytest.fixture
def demo_runner() -> Iterator[StageRunner]:
    runner = StageRunner(default_stage())
    yield runner
    runner.close()
