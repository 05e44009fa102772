"""Stream health per source: counts, rate, staleness and state.

Updated on the I/O thread only (``on_accept``/``on_reject`` from the datagram handler,
``evaluate`` from the stage's monitor task); other threads read the plain attributes, which
are always a consistent-enough picture for display (ints and floats swap atomically).
"""

from __future__ import annotations

import enum
from collections import deque

NS_PER_S = 1_000_000_000


class StreamState(enum.StrEnum):
    """Connection state of a stream, as shown by the state lights."""

    UP = "up"
    STALE = "stale"
    DOWN = "down"


class StreamHealth:
    """Health of one incoming stream.

    * ``up``: a sample arrived within ``stale_after_s``;
    * ``stale``: none for ``stale_after_s`` (the last value is held, never zeroed);
    * ``down``: nothing received yet, or none for ``down_after_s``, or the socket failed.
    """

    def __init__(self, name: str, *, stale_after_s: float = 0.5, down_after_s: float = 5.0,
                 window_s: float = 1.0) -> None:
        self.name = name
        self.stale_after_ns = int(stale_after_s * NS_PER_S)
        self.down_after_ns = int(down_after_s * NS_PER_S)
        self.window_ns = int(window_s * NS_PER_S)
        self.received = 0
        self.accepted = 0
        self.rejected = 0
        self.rejected_by_reason: dict[str, int] = {}
        self.last_arrival_ns: int | None = None
        self.rate_hz = 0.0
        self.state = StreamState.DOWN
        self.failed: str | None = None
        self._arrivals: deque[int] = deque()

    def on_accept(self, arrival_ns: int) -> None:
        """Count an accepted sample (I/O thread)."""
        self.accepted += 1
        self.last_arrival_ns = arrival_ns
        arrivals = self._arrivals
        arrivals.append(arrival_ns)
        horizon = arrival_ns - self.window_ns
        while arrivals[0] < horizon:
            arrivals.popleft()

    def on_reject(self, reason: str) -> None:
        """Count a rejected datagram under ``reason`` (I/O thread)."""
        self.rejected += 1
        self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + 1

    def fail(self, message: str) -> None:
        """Mark the stream down because its transport failed (e.g. the port is taken)."""
        self.failed = message
        self.state = StreamState.DOWN

    def evaluate(self, now_ns: int) -> StreamState | None:
        """Recompute rate and state at ``now_ns``; returns the new state when it changed."""
        arrivals = self._arrivals
        horizon = now_ns - self.window_ns
        while arrivals and arrivals[0] < horizon:
            arrivals.popleft()
        if len(arrivals) >= 2 and arrivals[-1] > arrivals[0]:
            self.rate_hz = (len(arrivals) - 1) * NS_PER_S / (arrivals[-1] - arrivals[0])
        else:
            self.rate_hz = 0.0
        if self.failed is not None or self.last_arrival_ns is None:
            new = StreamState.DOWN
        else:
            age = now_ns - self.last_arrival_ns
            if age > self.down_after_ns:
                new = StreamState.DOWN
            elif age > self.stale_after_ns:
                new = StreamState.STALE
            else:
                new = StreamState.UP
        if new is self.state:
            return None
        self.state = new
        return new

    def age_s(self, now_ns: int) -> float | None:
        """Seconds since the last accepted sample, or None."""
        if self.last_arrival_ns is None:
            return None
        return (now_ns - self.last_arrival_ns) / NS_PER_S
