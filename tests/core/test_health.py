"""Tests of stream health, the log rate limiter, the event queue and the sample ring."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from stagectl.core.events import EventQueue, Level
from stagectl.core.health import StreamHealth, StreamState
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.ringbuffer import COLUMNS, SampleRing
from stagectl.core.samples import CameraSample

MS = 1_000_000
S = 1_000_000_000
T0 = 1_000 * S  # an arbitrary monotonic starting point


class FakeClock:
    """A settable clock for RateLimiter (seconds)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- StreamHealth ------------------------------------------------------------------------------

def test_health_starts_down() -> None:
    h = StreamHealth("cam")
    assert h.state is StreamState.DOWN
    assert h.evaluate(T0) is None  # nothing received: stays down, no change to report
    assert h.state is StreamState.DOWN
    assert h.age_s(T0) is None


def test_health_up_stale_down_and_back_up() -> None:
    h = StreamHealth("cam")
    h.on_accept(T0)
    assert h.evaluate(T0 + 100 * MS) is StreamState.UP
    assert h.evaluate(T0 + 200 * MS) is None  # reported once
    assert h.state is StreamState.UP
    assert h.evaluate(T0 + 499 * MS) is None
    assert h.evaluate(T0 + 501 * MS) is StreamState.STALE
    assert h.evaluate(T0 + 4_900 * MS) is None
    assert h.state is StreamState.STALE
    assert h.age_s(T0 + 4_900 * MS) == pytest.approx(4.9)
    assert h.evaluate(T0 + 5_001 * MS) is StreamState.DOWN
    assert h.evaluate(T0 + 6_000 * MS) is None
    h.on_accept(T0 + 7 * S)
    assert h.evaluate(T0 + 7 * S + MS) is StreamState.UP
    assert h.accepted == 2


def test_health_rate_from_even_arrivals() -> None:
    h = StreamHealth("cam")
    for i in range(50):
        h.on_accept(T0 + i * 20 * MS)
    h.evaluate(T0 + 49 * 20 * MS)
    assert h.rate_hz == pytest.approx(50.0, abs=0.01)
    assert h.accepted == 50


def test_health_rate_uses_only_the_window() -> None:
    h = StreamHealth("cam")  # window 1 s
    for i in range(100):  # 10 Hz for 10 s, then 100 Hz for 1 s
        h.on_accept(T0 + i * 100 * MS)
    last = T0 + 99 * 100 * MS
    for i in range(1, 101):
        h.on_accept(last + i * 10 * MS)
    h.evaluate(last + 100 * 10 * MS)
    assert h.rate_hz == pytest.approx(100.0, abs=0.01)


def test_health_rate_decays_to_zero_when_arrivals_stop() -> None:
    h = StreamHealth("cam")
    for i in range(50):
        h.on_accept(T0 + i * 20 * MS)
    last = T0 + 49 * 20 * MS
    h.evaluate(last)
    assert h.rate_hz > 40
    h.evaluate(last + 1_100 * MS)
    assert h.rate_hz == 0.0
    assert h.state is StreamState.STALE  # the value is held, not zeroed


def test_health_fail_forces_down() -> None:
    h = StreamHealth("cam")
    h.on_accept(T0)
    assert h.evaluate(T0 + MS) is StreamState.UP
    h.fail("port taken")
    assert h.state is StreamState.DOWN
    assert h.failed == "port taken"
    h.on_accept(T0 + 2 * MS)  # fresh data does not revive a failed transport
    h.evaluate(T0 + 3 * MS)
    assert h.state is StreamState.DOWN


def test_health_rejected_by_reason() -> None:
    h = StreamHealth("cam")
    for reason in ("length", "checksum", "length", "type", "length"):
        h.on_reject(reason)
    assert h.rejected == 5
    assert h.rejected_by_reason == {"length": 3, "checksum": 1, "type": 1}
    assert h.accepted == 0


# --- RateLimiter -------------------------------------------------------------------------------

def test_rate_limiter_holds_back_and_counts() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock)
    assert limiter.check("k") == 0
    for i in range(5):
        clock.now += 0.1
        assert limiter.check("k") is None, i
    assert limiter.suppressed("k") == 5
    clock.now = 101.0  # one interval after the first message
    assert limiter.check("k") == 5
    assert limiter.suppressed("k") == 0
    assert limiter.check("k") is None


def test_rate_limiter_keys_are_independent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock)
    assert limiter.check("a") == 0
    assert limiter.check("b") == 0
    assert limiter.check("a") is None
    assert (limiter.suppressed("a"), limiter.suppressed("b")) == (1, 0)


def test_with_suppressed() -> None:
    assert with_suppressed("bad", 0) == "bad"
    assert with_suppressed("bad", 3) == "bad (3 similar suppressed)"


# --- EventQueue --------------------------------------------------------------------------------

def test_event_queue_is_bounded_and_drops_oldest() -> None:
    q = EventQueue(maxlen=3)
    for i in range(5):
        q.post(Level.INFO, "src", "info", f"m{i}")
    assert len(q) == 3
    assert (q.posted, q.dropped) == (5, 2)
    events = q.drain()
    assert [e.message for e in events] == ["m2", "m3", "m4"]
    assert len(q) == 0


def test_event_queue_drain_limit() -> None:
    q = EventQueue()
    for i in range(5):
        q.post(Level.WARNING, "src", "rejected", f"m{i}")
    assert [e.message for e in q.drain(2)] == ["m0", "m1"]
    assert [e.message for e in q.drain(10)] == ["m2", "m3", "m4"]
    assert q.drain() == []


def test_event_fields() -> None:
    q = EventQueue()
    event = q.post(Level.ERROR, "A/freed", "error", "cannot listen")
    assert (event.level, event.source, event.kind, event.message) == (Level.ERROR, "A/freed", "error",
                                                                       "cannot listen")
    assert "ERROR" in event.format() and "A/freed: cannot listen" in event.format()


def test_event_queue_thread_safety_smoke() -> None:
    q = EventQueue(maxlen=100_000)

    def producer(n: int) -> None:
        for i in range(1000):
            q.post(Level.DEBUG, f"t{n}", "info", str(i))

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert q.posted == 4000
    events = q.drain()
    assert len(events) == 4000 and q.dropped == 0
    for n in range(4):  # each producer's events stay in its own order
        assert [int(e.message) for e in events if e.source == f"t{n}"] == list(range(1000))


# --- SampleRing --------------------------------------------------------------------------------

def _sample(i: int, t_s: float, zoom: int | None = 100, focus: int | None = 200) -> CameraSample:
    return CameraSample("A", "A/test", round(t_s * 1e9), (float(i), 2.0 * i, 0.5), (i * 1.5, -1.0, 0.25),
                        zoom_raw=zoom, focus_raw=focus)


def test_ring_order_after_wrap_around() -> None:
    ring = SampleRing(capacity=8)
    for i in range(20):
        ring.append(_sample(i, 10.0 + i * 0.02))
    rows = ring.recent()
    assert len(ring) == 8 and rows.shape == (8, len(COLUMNS))
    assert rows[:, COLUMNS.index("x_m")].tolist() == [float(i) for i in range(12, 20)]
    assert rows[:, COLUMNS.index("pan_deg")].tolist() == [i * 1.5 for i in range(12, 20)]
    assert np.all(np.diff(rows[:, 0]) > 0)


def test_ring_before_wrap_keeps_everything() -> None:
    ring = SampleRing(capacity=8)
    for i in range(3):
        ring.append(_sample(i, 1.0 + i))
    rows = ring.recent()
    assert rows[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert rows[:, COLUMNS.index("y_m")].tolist() == [0.0, 2.0, 4.0]


def test_ring_recent_seconds_cuts_by_time() -> None:
    ring = SampleRing(capacity=64)
    for i in range(20):  # t = 10.0 .. 10.95 s in 50 ms steps
        ring.append(_sample(i, 10.0 + i * 0.05))
    rows = ring.recent(0.2)  # last row at 10.95: keep t >= 10.75 -> i = 15..19
    assert rows[:, COLUMNS.index("x_m")].tolist() == [15.0, 16.0, 17.0, 18.0, 19.0]
    rows = ring.recent(0.2, now_s=10.5)  # t >= 10.3 -> i = 6..19
    assert rows[0, COLUMNS.index("x_m")] == 6.0 and len(rows) == 14
    assert len(ring.recent(1.0, now_s=100.0)) == 0


def test_ring_recent_seconds_after_wrap_matches_a_cut_by_time() -> None:
    """Every cut, before and after the ring wrapped, either side of its seam: the rows with t >= end - s."""
    for appended in (5, 8, 11, 16, 19):
        ring = SampleRing(capacity=8)
        for i in range(appended):
            ring.append(_sample(i, 10.0 + i * 0.05))
        everything = ring.recent()
        for seconds in (0.0, 0.04, 0.05, 0.12, 0.2, 0.33, 0.35, 1.0):
            for now_s in (None, 10.3, 10.0 + (appended - 1) * 0.05, 99.0):
                end = everything[-1, 0] if now_s is None else now_s
                want = everything[everything[:, 0] >= end - seconds]
                got = ring.recent(seconds, now_s=now_s)
                assert np.array_equal(got, want), (appended, seconds, now_s)
                assert got.flags.owndata or got.base is not ring._data  # a copy, never the ring itself


def test_ring_nan_for_missing_zoom_and_focus() -> None:
    ring = SampleRing(capacity=4)
    ring.append(_sample(0, 1.0, zoom=None, focus=7))
    ring.append(_sample(1, 2.0, zoom=5, focus=None))
    rows = ring.recent()
    zoom, focus = COLUMNS.index("zoom_raw"), COLUMNS.index("focus_raw")
    assert math.isnan(rows[0, zoom]) and rows[0, focus] == 7.0
    assert rows[1, zoom] == 5.0 and math.isnan(rows[1, focus])


def test_ring_recent_is_a_copy() -> None:
    ring = SampleRing(capacity=4)
    ring.append(_sample(0, 1.0))
    rows = ring.recent()
    rows[0, 1] = 999.0
    assert ring.recent()[0, 1] == 0.0
