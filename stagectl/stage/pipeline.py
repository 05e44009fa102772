"""Per camera: samples from its sources -> delay line -> sinks.

Runs on the I/O thread. The delay line lines tracking up with the video path: every sample is
held for ``delay_ms`` after its arrival (scheduled with the loop's timer, nothing waits in a
busy loop). Release times never go backwards, so shortening the delay live never lets a newer
sample overtake an older one. Sinks are plain callables; the built-in ones keep the latest
value and a ring of recent samples for the UI.

Lens: readings from a lens encoder on its own wire (:meth:`CameraPipeline.lens_reading`) are
merged into each tracking sample by arrival time, then a lens solver (from the camera's lens
file, :meth:`CameraPipeline.set_lens`) turns raw encoder counts into focal length, focus
distance, T-stop, distortion and entrance pupil. Without a lens file raw values still flow and
``lens_status`` says "unsolved".

No smoothing by default. ``smoothing = n`` averages the last n poses (a moving average: it
adds (n - 1) / 2 sample periods of latency, reported by :attr:`CameraPipeline.smoothing_latency_ms`);
it restarts after a gap so a stream coming back never averages with a stale pose.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from stagectl.core.health import StreamHealth, StreamState
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.ringbuffer import SampleRing
from stagectl.core.samples import CameraSample, LensReading, LensValues

Sink = Callable[[CameraSample], None]
LensSolve = Callable[[int | None, int | None, int | None], LensValues]
"""(zoom_raw, focus_raw, iris_raw) -> solved lens values (e.g. ``lens.solve.LensSolver.solve``)."""

#: A lens reading older than this (before the sample) is stale: not merged.
LENS_READING_MAX_AGE_NS = 500_000_000

#: A pause longer than this restarts the smoothing window (no averaging across a dropout).
SMOOTHING_GAP_NS = 250_000_000
MAX_SMOOTHING = 50

log = logging.getLogger("stagectl.stage")


class CameraPipeline:
    """One stage camera: what its sources deliver, delayed and handed to every sink.

    Attributes:
        name: the camera's name in the stage file.
        latest: the newest delivered sample (held while the stream is stale; never zeroed).
        delivered: how many samples reached the sinks.
        ring: recent samples for the plots.
        sources: health of every source feeding this camera's pose (state and rate come from these).
        lens_sources: health of lens encoders on their own wire (merged, not counted as tracking).
    """

    def __init__(self, name: str, delay_ms: float = 0.0, ring_capacity: int = 16384,
                 smoothing: int = 0) -> None:
        self.name = name
        self.latest: CameraSample | None = None
        self.delivered = 0
        self.sink_errors = 0
        self.ring = SampleRing(ring_capacity)
        self.sources: list[StreamHealth] = []
        self.lens_sources: list[StreamHealth] = []
        self._sinks: list[Sink] = []
        self._taps: list[Sink] = []
        self._delay_s = 0.0
        self._last_release = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter = RateLimiter()
        self._window: deque[CameraSample] = deque()
        self._held = 0  # samples waiting in the delay line
        self._holding: deque[CameraSample] = deque()
        self._solve: LensSolve | None = None
        self.lens_file: str | None = None
        """The lens file solving this camera's samples (its name), None when unsolved."""
        self.lens_error: str | None = None
        """Why the camera's lens file could not be used, None when there is none or it loaded."""
        self.solve_errors = 0
        self.lens_readings = 0
        self.tracker_static: Mapping[str, Any] | None = None
        """The newest OpenTrackIO ``static`` block a source received for this camera, as sent."""
        self.tracker_sensor_mm: tuple[float, float] | None = None
        """The sensor size (width, height) in that block, None when it names none."""
        self.tracker_static_version = 0
        """Counts the changes of ``tracker_static``: what caches of it compare (a tracker repeats its
        block in every sample or every few, so the block is compared once, here)."""
        self._readings: deque[LensReading] = deque(maxlen=64)
        self._smoothing = 0
        self.set_delay_ms(delay_ms)
        self.set_smoothing(smoothing)

    def set_lens(self, solve: LensSolve | None, lens_file: str | None = None,
                 error: str | None = None) -> None:
        """Solve samples with ``solve`` (None: raw values only), from ``lens_file``; ``error`` says
        why a configured lens file is not in use (I/O thread)."""
        self._solve, self.lens_file, self.lens_error = solve, lens_file if solve else None, error

    @property
    def lens_status(self) -> str:
        """``solved (<file>)``, ``unsolved`` or ``unsolved: <why the lens file failed>``."""
        if self._solve is not None:
            return f"solved ({self.lens_file})" if self.lens_file else "solved"
        return f"unsolved: {self.lens_error}" if self.lens_error else "unsolved"

    def set_tracker_static(self, static: Mapping[str, Any], sensor_mm: tuple[float, float] | None) -> None:
        """Keep the tracker's newest ``static`` block and the sensor size it names (I/O thread)."""
        if static == self.tracker_static:
            return
        self.tracker_static, self.tracker_sensor_mm = static, sensor_mm
        self.tracker_static_version += 1

    def add_source(self, health: StreamHealth, *, carries_pose: bool) -> None:
        """A source feeding this camera: its health decides the camera's state and rate when it
        carries the pose; a lens encoder's is only shown (:attr:`lens_sources`)."""
        (self.sources if carries_pose else self.lens_sources).append(health)

    def lens_reading(self, reading: LensReading) -> None:
        """Keep a lens encoder's reading for merging into the next tracking samples (I/O thread)."""
        self._readings.append(reading)
        self.lens_readings += 1

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

    def add_tap(self, tap: Sink) -> None:
        """Hand every sample to ``tap`` as it arrives: lens solved and merged, before smoothing and
        the delay line (I/O thread). The take recorder records here: the raw pose, at arrival, so a
        crash never loses the samples the delay line was holding."""
        self._taps.append(tap)

    def add_sink(self, sink: Sink) -> None:
        """Hand every delivered sample to ``sink`` too (called on the I/O thread)."""
        self._sinks.append(sink)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the I/O loop whose timer runs the delay line."""
        self._loop = loop

    def record_only(self, sample: CameraSample) -> None:
        """Hand a sample that must not move the camera (no pose) to the taps only (I/O thread)."""
        self._tap(sample)

    def _tap(self, sample: CameraSample) -> None:
        for tap in self._taps:
            try:
                tap(sample)
            except Exception as exc:  # a broken tap must not stop the stream
                self.sink_errors += 1
                held = self._limiter.check(repr(tap))
                if held is not None:
                    log.error(with_suppressed(f"camera {self.name}: tap {tap!r} failed: {exc}", held))

    def push(self, sample: CameraSample) -> None:
        """Accept a sample from a source (I/O thread)."""
        reading = self._reading_for(sample) if self._readings else None
        if reading is not None:
            sample = sample._replace(zoom_raw=_first(reading.zoom_raw, sample.zoom_raw),
                                     focus_raw=_first(reading.focus_raw, sample.focus_raw),
                                     iris_raw=_first(reading.iris_raw, sample.iris_raw))
        if self._solve is not None:
            sample = self._solved(sample)
        if reading is not None:
            sample = sample._replace(lens=_measured(sample.lens or LensValues(), reading))
        if self._taps:
            self._tap(sample)
        if self._smoothing:
            sample = self._smooth(sample)
        loop = self._loop
        if loop is None or (self._delay_s == 0.0 and not self._held):
            self._deliver(sample)  # no delay and nothing held: no clock reading, no timer
            return
        now = loop.time()
        release = max(now + self._delay_s, self._last_release)
        self._last_release = release
        if release > now or self._held:
            # Held samples leave in arrival order: a timer releases the oldest one held, not "its" sample,
            # because the loop's timer heap does not keep the order of timers due at the same instant.
            self._held += 1
            self._holding.append(sample)
            loop.call_at(release, self._release)
        else:
            self._deliver(sample)

    def _release(self) -> None:
        self._held -= 1
        self._deliver(self._holding.popleft())

    def _reading_for(self, sample: CameraSample) -> LensReading | None:
        """The newest lens reading at or before the sample's arrival, unless it is stale."""
        for reading in reversed(self._readings):
            if reading.arrival_ns <= sample.arrival_ns:
                fresh = sample.arrival_ns - reading.arrival_ns <= LENS_READING_MAX_AGE_NS
                return reading if fresh else None
        return None

    def _solved(self, sample: CameraSample) -> CameraSample:
        """The lens file's values for the sample's raw counts; fields the file leaves empty keep
        what the tracker reported (e.g. a Sony F-number)."""
        assert self._solve is not None
        try:
            solved = self._solve(sample.zoom_raw, sample.focus_raw, sample.iris_raw)
        except Exception as exc:  # a solver bug must not stop the stream: raw values still flow
            self.solve_errors += 1
            held = self._limiter.check("solve")
            if held is not None:
                log.error(with_suppressed(f"camera {self.name}: lens solve failed: {exc}", held))
            return sample
        reported = sample.lens
        if reported is not None:
            merged: list[Any] = [theirs if mine is None or mine == () else mine
                                 for mine, theirs in zip(solved, reported, strict=True)]
            solved = LensValues(*merged)
        return sample._replace(lens=solved)

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
        for sink in self._sinks:  # the outputs first: the plot's row waits, a datagram to Unreal does not
            try:
                sink(sample)
            except Exception as exc:  # a broken sink must not stop the others or the stream
                self.sink_errors += 1
                held = self._limiter.check(repr(sink))
                if held is not None:
                    log.error(with_suppressed(f"camera {self.name}: sink {sink!r} failed: {exc}", held))
        self.ring.append(sample)

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
        """Sum of the accepted-sample rates of the camera's sources (as their monitors last set them)."""
        return sum(h.rate_hz for h in self.sources)

    def rate_at(self, now_ns: int) -> float:
        """Sum of the sources' rates of arrival in the window before ``now_ns`` (any thread)."""
        return sum(h.rate_at(now_ns) for h in self.sources)

    @property
    def rejected(self) -> int:
        """Datagrams rejected by the camera's sources."""
        return sum(h.rejected for h in self.sources)


def _angle_delta(angle: float, reference: float) -> float:
    """``angle - reference`` wrapped to [-180, 180) so averages never cross the +-180 seam badly."""
    return (angle - reference + 180.0) % 360.0 - 180.0


def _first(preferred: object, fallback: object) -> Any:
    """``preferred`` unless it is None."""
    return fallback if preferred is None else preferred


def _measured(lens: LensValues, reading: LensReading) -> LensValues:
    """``lens`` with the values the lens measured itself (Cooke /i) in place of table values."""
    return lens._replace(
        focus_distance_m=_first(reading.focus_distance_m, lens.focus_distance_m),
        t_stop=_first(reading.t_stop, lens.t_stop),
        focal_length_mm=_first(reading.focal_length_mm, lens.focal_length_mm),
        entrance_pupil_offset_m=_first(reading.entrance_pupil_offset_m, lens.entrance_pupil_offset_m))
