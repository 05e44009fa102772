"""An absolute send schedule for the simulators: tick n is due at start + n / rate, no drift."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable


async def async_paced_ticks(rate_hz: float, duration_s: float | None, max_lag_s: float,
                      on_skip: Callable[[int], None]) -> AsyncIterator[int]:
    """Yield tick numbers 0, 1, 2 ... each at its due time (I/O loop) until ``duration_s``.

    If the loop falls behind by more than ``max_lag_s`` the schedule skips ahead (``on_skip``
    gets the number of ticks skipped) instead of sending a burst of stale samples.
    """
    period = 1.0 / rate_hz
    start = time.monotonic()
    tick = 0
    while duration_s is None or tick * period < duration_s:
        due = start + tick * period
        now = time.monotonic()
        if now - due > max_lag_s:
            missed = int((now - due) / period)
            tick += missed
            on_skip(missed)
            continue
        if due > now:
            await asyncio.sleep(due - now)
        yield tick
        tick += 1
