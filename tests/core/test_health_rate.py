"""A stream's rate never exceeds what arrived: not after a burst read late, not after it stopped."""

from __future__ import annotations

from stagectl.core.health import NS_PER_MS, NS_PER_S, StreamHealth

PERIOD_NS = 20 * NS_PER_MS  # a 50 Hz tracker


def _steady(health: StreamHealth, start_ns: int, seconds: float) -> int:
    """Feed 50 Hz arrivals for ``seconds``; the last arrival."""
    t = start_ns
    for _ in range(int(seconds * 50)):
        health.on_accept(t)
        t += PERIOD_NS
    return t - PERIOD_NS


def test_a_burst_stamped_when_read_after_a_stall_is_not_thousands_of_hz() -> None:
    """The loop was busy for 2 s; what queued is read in one go, every stamp within 1 ms (a clock read
    at the read, where the OS gives no kernel stamp): the rate stays what can have arrived."""
    health = StreamHealth("A/opentrackio")
    last = _steady(health, NS_PER_S, 2.0)
    health.evaluate(last)
    assert 49.0 <= health.rate_hz <= 51.0
    burst_at = last + 2 * NS_PER_S
    for i in range(50):
        health.on_accept(burst_at + i * 20_000)  # 50 datagrams read 20 us apart
    health.evaluate(burst_at + NS_PER_MS)
    assert health.rate_hz <= 51.0  # before: 50 stamps in 1 ms made ~50 000 Hz


def test_a_burst_read_late_with_its_kernel_stamps_keeps_the_rate() -> None:
    health = StreamHealth("A/opentrackio")
    last = _steady(health, NS_PER_S, 2.0)  # read late, but stamped when each arrived
    health.evaluate(last + 5 * NS_PER_MS)
    assert 49.0 <= health.rate_hz <= 51.0


def test_the_rate_decays_when_the_stream_stops_instead_of_repeating_its_last_value() -> None:
    health = StreamHealth("A/opentrackio", stale_after_s=0.5)
    last = _steady(health, NS_PER_S, 2.0)
    health.evaluate(last + 600 * NS_PER_MS)
    assert health.rate_hz <= 21.0  # 0.6 s of the window has nothing in it (before: 50.0)
    assert health.state.value == "stale"
    health.evaluate(last + NS_PER_S + 1)
    assert health.rate_hz == 0.0


def test_start_up_reports_the_rate_of_the_first_samples() -> None:
    health = StreamHealth("A/opentrackio")
    last = _steady(health, NS_PER_S, 0.2)  # 10 samples so far
    health.evaluate(last)
    assert 49.0 <= health.rate_hz <= 51.0
    assert health.rate_at(last) == health.rate_hz  # the same figure, for readers on other threads
