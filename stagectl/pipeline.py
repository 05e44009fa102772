"""Per camera: samples from its sources -> delay line -> sinks.

Runs on the I/O thread. The delay line lines tracking up with the video path: every sample is
held for ``delay_ms`` after its arrival (scheduled with the loop's timer, nothing waits in a
busy loop). Release times never go backwards, so shortening the delay live never lets a newer
sample overtake an older one. Sinks are plain callables; the built-in ones keep the latest
value and a ring of recent samples for the UI. Lens solving lands here with the lens issue.

No smoothing by default. ``smoothing = n`` averages the last n poses (a moving average: it
adds (n - 1) / 2 sample periods of latency, reported by :attr:`CameraPipeline.smoothing_latency_ms`);
it restarts after a gap so a stream coming back never averages with a stale pose.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable

from stagectl.health import StreamHealth, StreamState
from stagectl.logutil import RateLimiter, with_suppressed
from stagectl.ringbuffer import SampleRing
from stagectl.samples import CameraSample

Sink = Callable[[CameraSample], None]

#: A pause longer than this restarts the smoothing window (no averaging across a dropout).
SMOOTHING_GAP_NS = 250_000_000
MAX_SMOOTHING = 50

log = logging.getLogger("stagectl.pipeline")


class CameraPipeline:
    """One stage camera: what its sources deliver, delayed and handed to every sink.

    Attributes:
        name: the camera's name in the stage file.
        latest: the newest delivered sample (held while the stream is stale; never zeroed).
        delivered: how many samples reached the sinks.
        ring: recent samples for the plots.
        sources: health of every source feeding this camera.
    """

    def __init__(self, name: str, delay_ms: float = 0.0, ring_capacity: int = 16384,
                 smoothing: int = 0) -> None:
        self.name = name
        self.latest: CameraSample | None = None
        self.delivered = 0
        self.sink_errors = 0
        self.ring = SampleRing(ring_capacity)
        self.sources: list[StreamHealth] = []
        self._sinks: list[Sink] = []
        self._delay_s = 0.0
        self._last_release = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter = RateLimiter()
        self._window: deque[CameraSample] = deque()
        self._held = 0  # samples waiting in the delay line
        self._smoothing = 0
        self.set_delay_ms(delay_ms)
        self.set_smoothing(smoothing)

    @property
    def smoothing(self) -> int:
        """Samples in the moving average (0: off)."""
        return self._smoothing

    def set_smoothing(self, samples: int) -> None:
        """Change the moving-average window (I/O thread); 0 or 1 turns smoothing off."""
        if not 0 <= samples <= MAX_SMOOTHING:
            raise ValueError(f"smoothing = {samples} is outside 0..{MAX_SMOOTHING}")
        self._smoothing = samples if samples > 1 else 0
        self._window.clear()

    @property
    def smoothing_latency_ms(self) -> float:
        """Latency the smoothing adds: (n - 1) / 2 sample periods at the measured rate (0 when off)."""
        if not self._smoothing:
            return 0.0
        periods = [h.interval_ms_p50 for h in self.sources if math.isfinite(h.interval_ms_p50)]
        return (self._smoothing - 1) / 2 * (min(periods) if periods else math.nan)

    @property
    def delay_ms(self) -> float:
        """Current delay-line length in milliseconds."""
        return self._delay_s * 1000.0

    def set_delay_ms(self, delay_ms: float) -> None:
        """Change the delay line (I/O thread); samples already held keep their old delay."""
        if not 0.0 <= delay_ms <= 1000.0:
            raise ValueError(f"delay_ms = {delay_ms} is outside 0..1000")
        self._delay_s = delay_ms / 1000.0

    def add_sink(self, sink: Sink) -> None:
        """Hand every delivered sample to ``sink`` too (called on the I/O thread)."""
        self._sinks.append(sink)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the I/O loop whose timer runs the delay line."""
        self._loop = loop

    def push(self, sample: CameraSample) -> None:
        """Accept a sample from a source (I/O thread)."""
        if self._smoothing:
            sample = self._smooth(sample)
        loop = self._loop
        if loop is None or (self._delay_s == 0.0 and not self._held):
            self._deliver(sample)  # no delay and nothing held: no clock reading, no timer
            return
        now = loop.time()
        release = max(now + self._delay_s, self._last_release)
        self._last_release = release
        if release > now:
            self._held += 1
            loop.call_at(release, self._release, sample)
        else:
            self._deliver(sample)

    def _release(self, sample: CameraSample) -> None:
        self._held -= 1
        self._deliver(sample)

    def _smooth(self, sample: CameraSample) -> CameraSample:
        window = self._window
        if window and sample.arrival_ns - window[-1].arrival_ns > SMOOTHING_GAP_NS:
            window.clear()
        window.append(sample)
        if len(window) > self._smoothing:
            window.popleft()
        n = len(window)
        if n == 1:
            return sample
        x, y, z = (sum(s.translation_m[i] for s in window) / n for i in range(3))
        pan, tilt, roll = (
            sample.rotation_deg[i] + sum(_angle_delta(s.rotation_deg[i], sample.rotation_deg[i])
                                         for s in window) / n
            for i in range(3))
        return sample._replace(translation_m=(x, y, z), rotation_deg=(pan, tilt, roll))

    def _deliver(self, sample: CameraSample) -> None:
        self.latest = sample
        self.delivered += 1
        self.ring.append(sample)
        for sink in self._sinks:
            try:
                sink(sample)
            except Exception as exc:  # a broken sink must not stop the others or the stream
                self.sink_errors += 1
                held = self._limiter.check(repr(sink))
                if held is not None:
                    log.error(with_suppressed(f"camera {self.name}: sink {sink!r} failed: {exc}", held))

    @property
    def state(self) -> StreamState:
        """Best state among the camera's sources (up beats stale beats down)."""
        states = {h.state for h in self.sources}
        for candidate in (StreamState.UP, StreamState.STALE):
            if candidate in states:
                return candidate
        return StreamState.DOWN

    @property
    def rate_hz(self) -> float:
        """Sum of the accepted-sample rates of the camera's sources."""
        return sum(h.rate_hz for h in self.sources)

    @property
    def rejected(self) -> int:
        """Datagrams rejected by the camera's sources."""
        return sum(h.rejected for h in self.sources)


def _angle_delta(angle: float, reference: float) -> float:
    """``angle - reference`` wrapped to [-180, 180) so averages never cross the +-180 seam badly."""
    return (angle - reference + 180.0) % 360.0 - 180.0
