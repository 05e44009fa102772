"""An absolute send schedule for the simulators: tick n is due at start + n / rate, no drift.

Every schedule of one rate runs on the same grid of the monotonic clock (``start`` is the next
multiple of the period), so the simulators of a stage send in the same wake-up of the I/O loop
rather than each waking it on its own: half the wake-ups for the demo's two cameras. A rate within
400 ppm of a video rate is that rate exactly (23.976 is 24000/1001: a tracker genlocked to the
stage sends one sample a frame, with no drift against the stage's timecode).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable

from stagectl.core.opentrackio.rates import snap_rate


async def async_paced_ticks(rate_hz: float, duration_s: float | None, max_lag_s: float,
                      on_skip: Callable[[int], None]) -> AsyncIterator[int]:
    """Yield tick numbers 0, 1, 2 ... each at its due time (I/O loop) until ``duration_s``.

    If the loop falls behind by more than ``max_lag_s`` the schedule skips ahead (``on_skip``
    gets the number of ticks skipped) instead of sending a burst of stale samples.
    """
    period = 1.0 / float(snap_rate(rate_hz))
    start = math.ceil(time.monotonic() / period) * period
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
