"""Stream health's figures are computed when read, and every read between two monitor ticks agrees."""

from __future__ import annotations

import math

from stagectl.core.health import TIMING_PERIOD_NS, TIMING_SETTLED, StreamHealth

MS = 1_000_000


def _steady(health: StreamHealth, start: int, count: int, period: int) -> int:
    t = start
    for _ in range(count):
        t += period
        health.on_accept(t)
    return t


def test_reads_between_two_ticks_agree_and_the_period_refreshes_them() -> None:
    health = StreamHealth("A/freed", stale_after_s=0.5)
    t = _steady(health, 0, TIMING_SETTLED + 100, 2 * MS)
    health.evaluate(t)
    first = (health.interval_ms_p50, health.jitter_ms_p50, health.jitter_ms_p99)
    assert first == (2.0, 0.0, 0.0)
    t = _steady(health, t, 2000, 4 * MS)  # the rhythm changes after the tick: not seen until the next one
    assert (health.interval_ms_p50, health.jitter_ms_p50, health.jitter_ms_p99) == first
    health.evaluate(t - 7900 * MS)  # a tick, but less than the period after the figures were made
    assert health.interval_ms_p50 == 2.0
    health.evaluate(t - 7900 * MS + TIMING_PERIOD_NS)
    assert health.interval_ms_p50 == 4.0


def test_no_figure_before_the_monitor_ran_and_rate_zero() -> None:
    health = StreamHealth("A/freed")
    _steady(health, 0, 100, 2 * MS)
    assert math.isnan(health.interval_ms_p50) and health.rate_hz == 0.0
    assert health.state.value == "down"  # nothing evaluated yet: as before any monitor tick


def test_a_tick_changes_only_the_state() -> None:
    health = StreamHealth("A/freed", stale_after_s=0.5)
    t = _steady(health, 0, 600, 2 * MS)
    assert health.evaluate(t) is not None and health.state.value == "up"
    assert 499.0 <= health.rate_hz <= 501.0
    assert health.rate_at(t) == health.rate_hz  # the same figure for a reader with its own clock
