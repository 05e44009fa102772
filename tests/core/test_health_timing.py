"""Stream health from sequence numbers (loss, reordering) and inter-arrival jitter."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.health import SequenceCheck, StreamHealth, percentile

MS = 1_000_000


def _feed(check: SequenceCheck, numbers: list[int], step_ns: int = 2 * MS) -> list[bool]:
    return [check.check(n, i * step_ns) for i, n in enumerate(numbers)]


def test_in_order_stream_counts_nothing() -> None:
    check = SequenceCheck(65536)
    assert all(_feed(check, list(range(100))))
    assert (check.lost, check.reordered, check.duplicates) == (0, 0, 0)


def test_gap_counts_the_missing_numbers() -> None:
    check = SequenceCheck(65536)
    assert _feed(check, [1, 2, 5, 6, 10]) == [True] * 5
    assert check.lost == 2 + 3


def test_late_sample_is_reordered_not_lost_and_not_delivered() -> None:
    check = SequenceCheck(65536)
    assert _feed(check, [1, 2, 4, 3, 5]) == [True, True, True, False, True]
    assert (check.lost, check.reordered) == (0, 1)  # 3 was missing, then came late


def test_duplicate_is_dropped() -> None:
    check = SequenceCheck(65536)
    assert _feed(check, [7, 7, 8]) == [True, False, True]
    assert check.duplicates == 1


def test_wraps_at_the_modulus() -> None:
    check = SequenceCheck(16)  # a 4-bit frame counter (Sony, Z CAM FreeD presets)
    assert all(_feed(check, [14, 15, 0, 1, 3]))
    assert (check.lost, check.reordered) == (1, 0)


def test_long_silence_resyncs_without_counting_loss() -> None:
    check = SequenceCheck(65536, resync_after_ns=1000 * MS)
    assert check.check(10, 0)
    assert check.check(30000, 2000 * MS)  # the tracker restarted: a new count, not 29989 lost
    assert check.lost == 0


@given(st.lists(st.integers(0, 65535), min_size=1, max_size=200))
def test_counts_never_go_negative_or_raise(numbers: list[int]) -> None:
    check = SequenceCheck(65536)
    _feed(check, numbers)
    assert min(check.lost, check.reordered, check.duplicates) >= 0


@given(st.permutations(list(range(50))))
def test_every_permutation_delivers_an_increasing_subsequence(order: list[int]) -> None:
    check = SequenceCheck(65536)
    delivered = [n for n, ok in zip(order, _feed(check, order), strict=True) if ok]
    assert delivered == sorted(delivered)
    assert check.reordered == len(order) - len(delivered)


def test_health_without_sequence_reports_no_loss() -> None:
    health = StreamHealth("s")
    assert not health.has_sequence
    assert health.in_order(5, 0) and health.in_order(5, 1)  # no check: everything is in order
    assert (health.lost, health.reordered) == (0, 0)


def test_jitter_of_a_steady_stream_is_zero_and_rate_is_right() -> None:
    health = StreamHealth("s")
    for i in range(100):
        health.on_accept(i * 2 * MS)
    health.evaluate(99 * 2 * MS)
    assert health.interval_ms_p50 == pytest.approx(2.0)
    assert health.jitter_ms_p50 == 0.0 and health.jitter_ms_p99 == 0.0
    assert health.rate_hz == pytest.approx(500.0)


def test_jitter_percentiles_hand_worked() -> None:
    health = StreamHealth("s")
    t = 0
    # 98 intervals of 20 ms, then one of 25 ms and one of 15 ms: median 20, deviations 0 x98, 5, 5
    intervals = [20] * 98 + [25, 15]
    health.on_accept(t)
    for ms in intervals:
        t += ms * MS
        health.on_accept(t)
    health.evaluate(t)
    assert health.interval_ms_p50 == 20.0
    assert health.jitter_ms_p50 == 0.0
    assert health.jitter_ms_p99 == 5.0


def test_a_dropout_is_not_counted_as_jitter() -> None:
    health = StreamHealth("s", stale_after_s=0.5)
    for i in range(10):
        health.on_accept(i * 10 * MS)
    health.on_accept(10 * 10 * MS + 3000 * MS)  # back after 3 s
    health.evaluate(10 * 10 * MS + 3000 * MS)
    assert health.jitter_ms_p99 == 0.0


def test_timing_is_nan_before_two_intervals() -> None:
    health = StreamHealth("s")
    health.on_accept(0)
    health.evaluate(0)
    assert math.isnan(health.jitter_ms_p50) and math.isnan(health.interval_ms_p50)


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50, 99, 100)
    assert math.isnan(percentile([], 0.5))


def test_no_timing_figure_from_a_handful_of_intervals() -> None:
    health = StreamHealth("s")
    for i in range(6):  # 5 intervals: a start-up burst says nothing about the stream's rhythm
        health.on_accept(i * MS)
    health.evaluate(5 * MS)
    assert math.isnan(health.interval_ms_p50)
    for i in range(6, 12):  # 11 intervals of 1 ms
        health.on_accept(i * MS)
    health.evaluate(11 * MS)  # recomputed at once: early figures are not held for 0.5 s
    assert health.interval_ms_p50 == 1.0
