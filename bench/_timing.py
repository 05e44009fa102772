"""Timing helpers the micro-benchmarks share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_of(repeats: int, fn: Callable[[], None], count: int) -> float:
    """Median nanoseconds per item over ``repeats`` runs of ``fn`` (which handles ``count`` items)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - start) / count)
    return statistics.median(times)
