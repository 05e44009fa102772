"""Timing helpers the micro-benchmarks share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt


def best_of(repeats: int, fn: Callable[[], None], count: int) -> float:
    """Median nanoseconds per item over ``repeats`` runs of ``fn`` (which handles ``count`` items)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - start) / count)
    return statistics.median(times)


def percentiles_us(values: npt.NDArray[np.int64]) -> dict[str, float]:
    """p50, p99, p99.9 and max in microseconds of nanosecond ``values`` (NaN for none)."""
    if not len(values):
        return {"p50": float("nan"), "p99": float("nan"), "p99_9": float("nan"), "max": float("nan")}
    p50, p99, p999 = np.percentile(values, [50, 99, 99.9]) / 1000.0
    return {"p50": round(float(p50), 1), "p99": round(float(p99), 1), "p99_9": round(float(p999), 1),
            "max": round(float(values.max()) / 1000.0, 1)}
