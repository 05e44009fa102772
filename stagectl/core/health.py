"""Stream health per source: counts, rate, staleness and state.

Updated on the I/O thread only (``on_accept``/``on_reject`` from the datagram handler,
``evaluate`` from the stage's monitor task); other threads read the plain attributes, which
are always a consistent-enough picture for display (ints and floats swap atomically).

What runs on the I/O thread stays small: per sample a few integer updates and two appends, per
monitor tick the state from the time since the last sample. The figures that take work (the rate
over the window, the interval and jitter percentiles) are computed when someone reads them (the
status JSON, the window's snapshot), from copies, on the reader's thread.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence

import numpy as np

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
_NAN = float("nan")
#: Inter-arrival intervals kept for the jitter figures (at 500 Hz: the last 2 s).
JITTER_INTERVALS = 1000
#: How often the jitter figures are recomputed (on the monitor's clock): a reader that asks more often
#: gets the figures of at most this long ago.
TIMING_PERIOD_NS = 500_000_000
#: Fewer intervals than this give no figure (a start-up burst is not the stream's rhythm).
TIMING_MIN_INTERVALS = 8
#: Until this many intervals are kept, the figures are recomputed on every read.
TIMING_SETTLED = 64


class StreamState(enum.StrEnum):
    """Connection state of a stream, as shown by the state lights."""

    UP = "up"
    STALE = "stale"
    DOWN = "down"


class SequenceCheck:
    """Loss and reordering from a protocol's wrapping sequence number (RFC 3550 style).

    Each item (a sample) uses ``span`` numbers, 1 unless told: OpenTrackIO's reference sender numbers
    every *datagram*, so a sample sent in three segments uses three, and the next sample's first
    datagram is three on. An item at the number expected next is in order; ``k`` numbers ahead means
    items were lost (``k`` divided by the last item's span, rounded up); a number behind (within half
    the modulus) is late: counted as reordered, no longer counted as lost, and not delivered (a late
    pose would make the camera jump back). The last item's number again is a duplicate. After
    ``resync_after_ns`` of silence, or :meth:`restart` (a new tracker on the same port), the next
    number starts afresh and nothing is counted as lost.
    """

    def __init__(self, modulus: int, resync_after_ns: int = NS_PER_S) -> None:
        if modulus < 2:
            raise ValueError(f"sequence modulus {modulus} must be at least 2")
        self.modulus = modulus
        self.resync_after_ns = resync_after_ns
        self.lost = 0
        self.reordered = 0
        self.duplicates = 0
        self._last: int | None = None
        self._next = 0
        self._span = 1
        self._last_ns = 0

    def restart(self) -> None:
        """Forget the numbering (the counts stay): the next number is taken as it comes."""
        self._last = None

    def check(self, sequence: int, arrival_ns: int, span: int = 1) -> bool:
        """Account for ``sequence`` (an item using ``span`` numbers); True when it should be delivered."""
        modulus = self.modulus
        sequence %= modulus
        last = self._last
        if last is None or arrival_ns - self._last_ns > self.resync_after_ns:
            self._accept(sequence, span, arrival_ns)
            return True
        if sequence == last:
            self.duplicates += 1
            return False
        ahead = (sequence - self._next) % modulus
        if ahead < modulus // 2:
            self.lost += -(-ahead // self._span)
            self._accept(sequence, span, arrival_ns)
            return True
        self.reordered += 1
        if self.lost:
            self.lost -= 1
        return False

    def _accept(self, sequence: int, span: int, arrival_ns: int) -> None:
        self._last, self._span, self._last_ns = sequence, max(1, span), arrival_ns
        self._next = (sequence + self._span) % self.modulus


def _rank(count: int, fraction: float) -> int:
    """0-based nearest-rank index of the ``fraction`` percentile among ``count`` values."""
    return min(count - 1, max(0, int(fraction * count + 0.5) - 1))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (``fraction`` in 0..1); NaN when empty."""
    if not sorted_values:
        return float("nan")
    return sorted_values[_rank(len(sorted_values), fraction)]


class StreamHealth:
    """Health of one incoming stream.

    * ``up``: a sample arrived within ``stale_after_s``;
    * ``stale``: none for ``stale_after_s`` (the last value is held, never zeroed);
    * ``down``: nothing received yet, or none for ``down_after_s``, or the socket failed.

    ``rate_hz`` is the rate at the monitor's last :meth:`evaluate` (see :meth:`rate_at`). Timing
    figures (refreshed on the monitor's ticks, every :data:`TIMING_PERIOD_NS`, but computed when someone
    reads them, not on the I/O thread's tick nor per sample): ``interval_ms_p50`` is the median
    inter-arrival interval over the last :data:`JITTER_INTERVALS` samples, and ``jitter_ms_p50`` /
    ``jitter_ms_p99`` the percentiles of each interval's absolute deviation from that median.
    ``lost``, ``reordered`` and ``duplicates`` come from the protocol's sequence numbers
    (:meth:`use_sequence`); they stay 0 for protocols without them (``has_sequence`` is then False).
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
        self.warned = 0
        """Samples accepted as sent though something in them is odd (a schema-valid oddity)."""
        self.warnings_by_reason: dict[str, int] = {}
        self.last_arrival_ns: int | None = None
        self.state = StreamState.DOWN
        self.failed: str | None = None
        self.detail: str | None = None
        """A transport's own state line (e.g. "reconnecting in 4 s"), shown beside the state."""
        self.sequence: SequenceCheck | None = None
        self._arrivals: deque[int] = deque()
        self._intervals: deque[int] = deque(maxlen=JITTER_INTERVALS)
        self._figures: tuple[float, float, float] = (_NAN, _NAN, _NAN)
        self._figures_at: int | None = None  # the monitor's tick (its now) the figures are as of
        self._evaluated_ns: int | None = None
        self._run_start_ns = 0

    def use_sequence(self, modulus: int) -> SequenceCheck:
        """Track loss and reordering from sequence numbers counting modulo ``modulus``."""
        self.sequence = SequenceCheck(modulus, self.stale_after_ns * 2)
        return self.sequence

    @property
    def has_sequence(self) -> bool:
        """Whether loss/reorder figures are measured (the protocol has sequence numbers)."""
        return self.sequence is not None

    @property
    def lost(self) -> int:
        """Samples missing from the sequence (0 without sequence numbers)."""
        return self.sequence.lost if self.sequence is not None else 0

    @property
    def reordered(self) -> int:
        """Samples that arrived after a newer one (dropped, not delivered)."""
        return self.sequence.reordered if self.sequence is not None else 0

    @property
    def duplicates(self) -> int:
        """Samples whose sequence number repeated the last one (dropped)."""
        return self.sequence.duplicates if self.sequence is not None else 0

    def in_order(self, sequence: int, arrival_ns: int) -> bool:
        """Check ``sequence`` (I/O thread); False for a late or duplicate sample, not to deliver."""
        check = self.sequence
        return True if check is None else check.check(sequence, arrival_ns)

    def on_accept(self, arrival_ns: int) -> None:
        """Count an accepted sample (I/O thread)."""
        self.accepted += 1
        last = self.last_arrival_ns
        if last is not None and arrival_ns - last < self.stale_after_ns:  # a gap is not jitter
            self._intervals.append(arrival_ns - last)
        if last is None or arrival_ns - last > self.down_after_ns:
            self._run_start_ns = arrival_ns  # the stream (re)starts: the rate counts from here
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

    def on_warning(self, reasons: tuple[str, ...]) -> None:
        """Count a sample kept as sent though odd, once, and under each of its ``reasons`` (I/O thread)."""
        self.warned += 1
        for reason in reasons:
            self.warnings_by_reason[reason] = self.warnings_by_reason.get(reason, 0) + 1

    def fail(self, message: str) -> None:
        """Mark the stream down because its transport failed (e.g. the port is taken)."""
        self.failed = message
        self.state = StreamState.DOWN

    def evaluate(self, now_ns: int) -> StreamState | None:
        """The state at ``now_ns`` (from the time since the last sample: no figure is computed here);
        returns the new state when it changed. ``rate_hz`` is then the rate at ``now_ns``."""
        self._evaluated_ns = now_ns
        last = self.last_arrival_ns
        if self.failed is not None or last is None:
            new = StreamState.DOWN
        else:
            age = now_ns - last
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

    def next_change_ns(self, now_ns: int) -> int:
        """When :meth:`evaluate` could next find a change with no sample arriving: the stale deadline of
        a stream that is up; ``now_ns`` for one that is not (a sample would bring it up: look soon)."""
        last = self.last_arrival_ns
        if self.state is not StreamState.UP or last is None or self.failed is not None:
            return now_ns
        return last + self.stale_after_ns + 1

    @property
    def rate_hz(self) -> float:
        """Samples per second at the monitor's last :meth:`evaluate` (0 before it ran; any thread)."""
        evaluated = self._evaluated_ns
        return 0.0 if evaluated is None else self.rate_at(evaluated)

    def rate_at(self, now_ns: int) -> float:
        """Samples per second arriving in the window before ``now_ns`` (any thread: reads a copy).

        The rate between the first and last arrival in the window, but never more than what
        arrived: at most the arrivals in the window over the time they can have arrived in (the
        window, or less since the stream started: its first sample, or the first after it was down).
        Arrival times are each datagram's, taken before
        parsing (the kernel's receive stamp where the OS has one), so a burst read late after the
        loop was busy counts at the times it arrived; and when only read times are known, such a
        burst still counts as no more than its datagrams in one window (never thousands of Hz).
        A stream that stops decays to 0 over the window instead of holding its last rate.
        """
        # Ascending: a source's stamps never go back (DatagramReader keeps them monotonic; a serial
        # reader stamps in read order; a segmented sample carries its last datagram's stamp).
        arrivals = tuple(self._arrivals)
        start = bisect_left(arrivals, now_ns - self.window_ns)
        end = bisect_right(arrivals, now_ns)
        count = end - start
        if count < 2:
            return 0.0
        first, last = arrivals[start], arrivals[end - 1]
        if last <= first:
            return 0.0
        between = (count - 1) * NS_PER_S / (last - first)
        could_arrive_in = min(self.window_ns, max(now_ns - self._run_start_ns, last - first))
        return min(between, count * NS_PER_S / could_arrive_in)

    @property
    def interval_ms_p50(self) -> float:
        """Median inter-arrival interval in ms (NaN with fewer than :data:`TIMING_MIN_INTERVALS`)."""
        return self._timing()[0]

    @property
    def jitter_ms_p50(self) -> float:
        """Median of the intervals' absolute deviations from their median, in ms (NaN as above)."""
        return self._timing()[1]

    @property
    def jitter_ms_p99(self) -> float:
        """99th percentile of those deviations, in ms (NaN as above)."""
        return self._timing()[2]

    def _timing(self) -> tuple[float, float, float]:
        """(median interval, jitter p50, jitter p99) in ms, refreshed at most once per monitor tick
        (:meth:`evaluate`): recomputed on the first read after a tick when :data:`TIMING_PERIOD_NS`
        passed since the figures were made, or while fewer than :data:`TIMING_SETTLED` intervals are
        kept; NaN before the first tick. Between two ticks every read gets the same figures (a
        snapshot's camera and source rows agree). Any thread: works on a copy of the intervals and
        replaces the figures at once."""
        evaluated, made_at = self._evaluated_ns, self._figures_at
        if evaluated is None or evaluated == made_at or (
                made_at is not None and evaluated - made_at < TIMING_PERIOD_NS
                and len(self._intervals) >= TIMING_SETTLED):
            return self._figures
        kept = tuple(self._intervals)
        count = len(kept)
        if count < TIMING_MIN_INTERVALS:
            figures = (_NAN, _NAN, _NAN)
        else:  # numpy partial sorts: ~20 us for 1000 intervals
            intervals = np.array(kept, dtype=np.int64)
            mid, p99 = _rank(count, 0.5), _rank(count, 0.99)
            median = int(np.partition(intervals, mid)[mid])
            deviations = np.partition(np.abs(intervals - median), (mid, p99))
            figures = (median / NS_PER_MS, int(deviations[mid]) / NS_PER_MS, int(deviations[p99]) / NS_PER_MS)
        self._figures, self._figures_at = figures, evaluated
        return figures

    def recent_intervals_ns(self) -> tuple[int, ...]:
        """The kept inter-arrival intervals in nanoseconds, oldest first (any thread: a copy)."""
        return tuple(self._intervals)

    def age_s(self, now_ns: int) -> float | None:
        """Seconds since the last accepted sample, or None."""
        if self.last_arrival_ns is None:
            return None
        return (now_ns - self.last_arrival_ns) / NS_PER_S


DEFAULT_STALE_MS = 500.0
