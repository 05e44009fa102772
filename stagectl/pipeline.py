"""Per camera: samples from its sources -> delay line -> sinks.

Runs on the I/O thread. The delay line lines tracking up with the video path: every sample is
held for ``delay_ms`` after its arrival (scheduled with the loop's timer, nothing waits in a
busy loop). Release times never go backwards, so shortening the delay live never lets a newer
sample overtake an older one. Sinks are plain callables; the built-in ones keep the latest
value and a ring of recent samples for the UI. Lens solving lands here with the lens issue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from stagectl.health import StreamHealth, StreamState
from stagectl.logutil import RateLimiter, with_suppressed
from stagectl.ringbuffer import SampleRing
from stagectl.samples import CameraSample

Sink = Callable[[CameraSample], None]

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

    def __init__(self, name: str, delay_ms: float = 0.0, ring_capacity: int = 16384) -> None:
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
        self.set_delay_ms(delay_ms)

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
        loop = self._loop
        if loop is None:
            self._deliver(sample)
            return
        now = loop.time()
        release = max(now + self._delay_s, self._last_release)
        self._last_release = release
        if release > now:
            loop.call_at(release, self._deliver, sample)
        else:
            self._deliver(sample)

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
