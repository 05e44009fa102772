"""One picture of the stage for the window and any other reader: the :class:`StageView`.

:class:`StageViewPublisher` builds a :class:`StageView` on the I/O loop :data:`RATE_HZ` times a
second and swaps it into :attr:`StageViewPublisher.latest`: one reference assignment, so a reader on
any thread gets the newest whole view (never one half-built) and never waits for the loop. Everything
in a view is a copy or immutable: frozen dataclasses, tuples, read-only numpy arrays. The one object
shared with the loop is a solved camera's ``LensSolver``, built once per lens file and never changed
after (the Lens panel samples its curves on a worker).

This module and :mod:`stagectl.stage.commands` are the window's only doors into the stage: the
stage's own objects (pipelines, sources, the recorder, the lighting, the senders) are read here, on
the loop, and nowhere in ``ui/``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from presets.cues import EngineStatus
from presets.model import Cue, Look
from stagectl.config.model import DeviceConfig
from stagectl.core.events import StageEvent
from stagectl.core.features import DeviceStatus
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.ringbuffer import COLUMNS, SampleRing
from stagectl.core.runtime import async_cancel
from stagectl.discovery.mdns import FoundDevice
from stagectl.stage.assembly import Stage
from stagectl.stage.facility import FacilityView
from stagectl.stage.history import History, ViewHistories, intervals_of
from stagectl.stage.outputs import OutputStatus
from stagectl.stage.snapshot import CameraStatus, SourceStatus, StageSnapshot
from stagectl.takes.recorder import RecorderStatus
from stagectl.unreal.frustum import FrustumCues, FrustumSender, TargetAck
from stagectl.unreal.remote_control import RemoteControlClient

# The value types a view is made of are named here too, so a reader needs no import from the modules
# of the live objects they come from (the cue engine, the frustum senders, the recorder).
__all__ = [
    "FIGURES_PERIOD_S", "HISTORY_COLUMNS", "HISTORY_S", "INTERVALS_PERIOD_S", "RATE_HZ", "CameraStatus",
    "EngineStatus", "FrustumCues", "FrustumTarget", "FrustumView", "LightingView", "RecorderStatus",
    "SourceStatus", "StageView", "StageViewPublisher", "TakesView", "TargetAck", "ViewSource", "build_view",
    "frustum_view",
]

#: Views published per second.
RATE_HZ = 30.0
#: Seconds of recent samples a view carries per camera (what the plots show).
HISTORY_S = 10.0
#: Column order of :attr:`StageView.history` rows: ``t_s`` (monotonic seconds), position, rotation, raw lens.
HISTORY_COLUMNS = COLUMNS
#: Newest events a view carries (a reader that skipped views catches up from these).
MAX_EVENTS = 500
#: How often :attr:`StageView.status_json` is made again (it is read once a second).
STATUS_PERIOD_S = 0.5
#: A view's inter-arrival times are at most this old (s): the window redraws them ten times a second.
INTERVALS_PERIOD_S = 0.1
#: A published view's figures (rates, jitter, the sources' and outputs' counters) are at most this old (s):
#: the health monitor's period. Each camera's newest sample, count and state and the timecode are new in
#: every view, and anything posted to the stage's events (a state, a command) makes the figures new at once.
FIGURES_PERIOD_S = 0.1

log = logging.getLogger("stagectl.stage")


@dataclass(frozen=True, slots=True)
class LightingView:
    """Devices, looks and cues as the Lighting dock shows them."""

    devices: tuple[DeviceStatus, ...] = ()
    engine: EngineStatus | None = None
    """The cue engine (live look and cue, next cue, fades, hold, blackout); None until it runs."""
    looks: tuple[Look, ...] = ()
    cues: tuple[Cue, ...] = ()
    look_errors: tuple[str, ...] = ()
    looks_dir: str = ""
    fade_s: float = 0.0
    """The stage's default fade for a recalled look (``[looks] fade_s``)."""
    found: tuple[FoundDevice, ...] = ()
    """Devices seen on the network (zeroconf)."""
    found_added: Mapping[str, str] = field(default_factory=dict)
    """``found.url`` -> the device of this stage at that address (or this stage's own control service)."""
    discovery: str = ""
    """Zeroconf in one line: ``browsing on 127.0.0.1``, ``mDNS unavailable: ...``."""
    session_devices: tuple[DeviceConfig, ...] = ()
    """Devices added while running (gone at the next start unless their table is in the stage file)."""
    add_refusals: tuple[tuple[int, str, str], ...] = ()
    """The last refused adds: (number, counting up; device name; why), oldest first."""


@dataclass(frozen=True, slots=True)
class FrustumTarget:
    """One Unreal node of one remote-control output: its acknowledgement and link detail."""

    output: str
    ack: TargetAck
    detail: str


@dataclass(frozen=True, slots=True)
class FrustumView:
    """The frustum cues the stage sends to Unreal, and what each node answered."""

    cues: FrustumCues | None = None
    """The wanted cues (whoever set them: the Frustum panel, a look, OSC control-in); None without an
    Unreal remote-control output."""
    targets: tuple[FrustumTarget, ...] = ()


@dataclass(frozen=True, slots=True)
class TakesView:
    """The take recorder: its status, the cameras it records and its takes folder."""

    status: RecorderStatus = field(default_factory=RecorderStatus)
    cameras: tuple[str, ...] = ()
    folder: Path | None = None


@dataclass(frozen=True, slots=True)
class StageView:
    """Everything the window shows, copied on the I/O loop at one instant (see the module docstring)."""

    sequence: int
    """Counts the views published: a reader redraws when it changes."""
    name: str
    timecode: str
    """The stage clock when the view was made."""
    frame_rate: str
    fps: float
    monotonic_ns: int
    cameras: tuple[CameraStatus, ...]
    sources: tuple[SourceStatus, ...]
    outputs: tuple[OutputStatus, ...] = ()
    history: Mapping[str, History] = field(default_factory=dict)
    """Camera -> its samples of the last :data:`HISTORY_S` (rows in :data:`HISTORY_COLUMNS`), read-only."""
    intervals: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Source of a camera in :attr:`history` -> its recent inter-arrival times in ms, oldest first
    (read-only)."""
    lenses: Mapping[str, Any] = field(default_factory=dict)
    """Solved camera -> the ``lens.solve.LensSolver`` in use (read-only by contract)."""
    lighting: LightingView = field(default_factory=LightingView)
    frustum: FrustumView = field(default_factory=FrustumView)
    takes: TakesView = field(default_factory=TakesView)
    events: tuple[StageEvent, ...] = ()
    """The newest events, oldest first (at most :data:`MAX_EVENTS`)."""
    events_posted: int = 0
    """Events posted since the view publisher started: ``events[-1]`` is number ``events_posted``."""
    status_json: str = "{}"
    """The ``--status-json`` line (``Stage.status``), at most :data:`STATUS_PERIOD_S` old."""
    stage_file: str | None = None
    """The stage file's path (None: the built-in demo stage)."""
    facility: FacilityView | None = None
    """Replication to the facility store (None: the stage has no ``[facility]``)."""
    web: tuple[str, ...] | None = None
    """The URLs to open the floor's remote on a phone or tablet (every address of the host when it
    listens on 0.0.0.0); None: no ``[web]``, or its server is not running (a port taken)."""

    def camera(self, name: str | None) -> CameraStatus | None:
        """The camera called ``name`` (None when there is none)."""
        return next((c for c in self.cameras if c.name == name), None)

    @property
    def camera_names(self) -> tuple[str, ...]:
        """Every camera, in stage-file order."""
        return tuple(c.name for c in self.cameras)

    def sources_of(self, camera: str | None) -> tuple[SourceStatus, ...]:
        """The sources feeding ``camera``, in stage-file order."""
        return tuple(s for s in self.sources if s.camera == camera)

    @property
    def total_samples(self) -> int:
        """Samples delivered over all cameras."""
        return sum(c.samples for c in self.cameras)

    @property
    def total_rejected(self) -> int:
        """Datagrams rejected over all sources."""
        return sum(s.rejected for s in self.sources)

    def events_since(self, seen: int) -> tuple[list[StageEvent], int]:
        """(the events after number ``seen``, how many of those are no longer in the view)."""
        new = max(self.events_posted - seen, 0)
        kept = min(new, len(self.events))
        return (list(self.events[len(self.events) - kept:]) if kept else []), new - kept


class ViewSource(Protocol):
    """Where a reader gets the newest :class:`StageView` (a :class:`StageViewPublisher`).

    ``history_cameras``: the cameras whose recent samples the views carry (None: every camera); a
    reader sets it to the cameras it plots (any thread: a reference swap).
    """

    history_cameras: frozenset[str] | None

    @property
    def latest(self) -> StageView:
        """The newest view (any thread; never waits)."""
        ...


class _EventLog:
    """The newest events, kept as they are posted (on any thread; the lock is held for an append)."""

    def __init__(self, maxlen: int) -> None:
        self._lock = threading.Lock()
        self._recent: deque[StageEvent] = deque(maxlen=maxlen)
        self.posted = 0

    def __call__(self, event: StageEvent) -> None:
        with self._lock:
            self._recent.append(event)
            self.posted += 1

    def copy(self) -> tuple[tuple[StageEvent, ...], int]:
        with self._lock:
            return tuple(self._recent), self.posted


def frustum_view(senders: Mapping[str, FrustumSender], clients: Mapping[str, RemoteControlClient]
                 ) -> FrustumView:
    """The cues of the first sender and every target's acknowledgement (plain copies; any thread)."""
    if not senders:
        return FrustumView()
    targets = tuple(FrustumTarget(output, ack, _link_detail(ack, clients))
                    for output, sender in senders.items() for ack in sender.status())
    return FrustumView(next(iter(senders.values())).cues, targets)


def _link_detail(ack: TargetAck, clients: Mapping[str, RemoteControlClient]) -> str:
    """``TargetAck.detail`` when the sender reports it, else the ``detail`` of the client of that name."""
    if ack.detail:
        return ack.detail
    return next((client.detail for client in clients.values() if client.name == ack.target), "")


def _lighting_view(stage: Stage) -> LightingView:
    latest = stage.lighting.latest
    return LightingView(
        devices=latest.devices, engine=latest.engine, looks=latest.looks, cues=latest.cues,
        look_errors=latest.look_errors, looks_dir=latest.looks_dir, fade_s=stage.config.looks.fade_s,
        found=latest.found, found_added=latest.found_added, discovery=latest.discovery,
        session_devices=latest.session_devices, add_refusals=latest.add_refusals)


def _rings(stage: Stage) -> dict[str, SampleRing]:
    return {name: pipeline.ring for name, pipeline in stage.cameras.items()}


def build_view(stage: Stage, *, sequence: int = 0, history_cameras: Iterable[str] | None = None,
               history_s: float = HISTORY_S, lighting: LightingView | None = None,
               events: tuple[tuple[StageEvent, ...], int] = ((), 0), status_json: str = "{}",
               intervals: Mapping[str, npt.NDArray[np.float64]] | None = None,
               snapshot: StageSnapshot | None = None,
               history: Mapping[str, History] | None = None) -> StageView:
    """A :class:`StageView` of ``stage`` now (on the I/O loop, or before the stage starts).

    ``history_cameras``: the cameras whose recent samples to copy (None: every camera).
    ``intervals``: their sources' inter-arrival times when already made (else made here).
    ``snapshot``: the cameras, sources and outputs when already copied (else copied here).
    ``history``: the cameras' recent samples when already made (else copied here).
    """
    snap = stage.snapshot() if snapshot is None else snapshot
    now_s = snap.monotonic_ns / 1e9
    names = stage.cameras if history_cameras is None else history_cameras
    recorder, path = stage.recorder, stage.config.path
    return StageView(
        sequence=sequence, name=snap.name, timecode=snap.timecode, frame_rate=snap.frame_rate,
        fps=float(stage.config.frame_rate.rate), monotonic_ns=snap.monotonic_ns, cameras=snap.cameras,
        sources=snap.sources, outputs=snap.outputs,
        history=ViewHistories(history_s).windows(_rings(stage), names, now_s) if history is None else history,
        intervals=intervals_of(stage.sources, names) if intervals is None else intervals,
        lenses=dict(stage.lens_solvers), lighting=lighting if lighting is not None else _lighting_view(stage),
        frustum=frustum_view(stage.frustum_senders, stage.outputs.clients),
        takes=TakesView(recorder.status(), tuple(recorder.cameras), recorder.folder),
        events=events[0], events_posted=events[1], status_json=status_json,
        stage_file=None if path is None else str(path),
        facility=None if stage.facility is None else stage.facility.view(),
        web=stage.web.urls if stage.web is not None and stage.web.running else None)


class StageViewPublisher:
    """Builds a :class:`StageView` on the I/O loop :data:`RATE_HZ` times a second (see the module docstring).

    Construct it before the stage starts (it keeps every event posted from then on); ``async_start``
    and ``async_stop`` run on the I/O loop.

    Attributes:
        latest: the newest view (any thread; a reference swap, never half-built).
        history_cameras: the cameras whose recent samples each view copies (None: every camera); a
            window showing one camera's plots sets it to that camera.
        published: views published so far.
    """

    def __init__(self, stage: Stage, rate_hz: float = RATE_HZ, history_s: float = HISTORY_S,
                 figures_s: float = FIGURES_PERIOD_S) -> None:
        self._stage = stage
        self._figures_s = figures_s
        self._period_s = 1.0 / RATE_HZ
        self.rate_hz = rate_hz
        self._history_s = history_s
        self._events = _EventLog(MAX_EVENTS)
        stage.events.subscribe(self._events)
        self.history_cameras: frozenset[str] | None = None
        self._lighting_of: object = None
        self._lighting = LightingView()
        self._status_json = "{}"
        self._status_at = -STATUS_PERIOD_S
        self._intervals: tuple[float, frozenset[str] | None, Mapping[str, npt.NDArray[np.float64]]] = (
            -INTERVALS_PERIOD_S, None, {})
        self._snapshot: tuple[float, int, StageSnapshot] | None = None  # (made at, events posted then, it)
        self._histories = ViewHistories(history_s)
        self._task: asyncio.Task[None] | None = None
        self._limiter = RateLimiter()
        self.published = 0
        self.latest: StageView = self._build()

    def _build(self, *, whole: bool = True) -> StageView:
        stage = self._stage
        latest = stage.lighting.latest
        if latest is not self._lighting_of:  # the lighting refreshes at 20 Hz: rebuilt only then
            self._lighting_of, self._lighting = latest, _lighting_view(stage)
        now = time.monotonic()
        cameras = self.history_cameras
        wanted = stage.cameras if cameras is None else cameras
        made_at, made_for, intervals = self._intervals
        if now - made_at >= INTERVALS_PERIOD_S or made_for != cameras:
            intervals = intervals_of(stage.sources, wanted)
            self._intervals = (now, cameras, intervals)
        events = self._events.copy()
        kept = self._snapshot
        status_due = now - self._status_at >= STATUS_PERIOD_S
        if whole or status_due or kept is None or now - kept[0] >= self._figures_s or kept[1] != events[1]:
            snap = stage.snapshot()
            self._snapshot = (now, events[1], snap)
        else:
            snap = stage.moved(kept[2])
        if status_due:  # from the same copy as this view: one snapshot, not two
            self._status_at, self._status_json = now, json.dumps(stage.status(snap))
        history = self._histories.windows(_rings(stage), wanted, snap.monotonic_ns / 1e9)
        return build_view(stage, sequence=self.published, history_cameras=cameras,
                          history_s=self._history_s, lighting=self._lighting, events=events,
                          status_json=self._status_json, intervals=intervals, snapshot=snap, history=history)

    def publish(self, *, whole: bool = True) -> StageView:
        """Build a view now and make it :attr:`latest` (I/O loop); returns it.

        ``whole``: every figure copied now; else the figures of a view of the last ``figures_s`` (default
        :data:`FIGURES_PERIOD_S`) are kept, the same objects, unless an event was posted since; each camera's
        newest sample, count and state and the timecode are new (what the timed views do: a tenth of the
        cost at 8 cameras).
        """
        self.published += 1
        view = self._build(whole=whole)
        self.latest = view
        return view

    @property
    def rate_hz(self) -> float:
        """Views a second (the window's refresh rate asks for 30 or 60; any thread, from the next view)."""
        return 1.0 / self._period_s

    @rate_hz.setter
    def rate_hz(self, hz: float) -> None:
        if not 1.0 <= hz <= 120.0:
            raise ValueError(f"views are published 1 to 120 times a second, not {hz:g}")
        self._period_s = 1.0 / hz

    async def async_start(self) -> None:
        """Publish a view now, then :data:`RATE_HZ` times a second (I/O loop)."""
        self.publish()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._async_run(), name="stage view")

    async def async_stop(self) -> None:
        """Stop publishing (I/O loop); :attr:`latest` stays the last view."""
        task, self._task = self._task, None
        await async_cancel(task)
        self._stage.events.unsubscribe(self._events)

    async def _async_run(self) -> None:
        while True:
            await asyncio.sleep(self._period_s)
            try:
                self.publish(whole=False)
            except Exception as exc:  # a view that cannot be made must not stop the next ones
                held = self._limiter.check("publish")
                if held is not None:
                    log.error(with_suppressed(f"stage view not made: {exc!r}", held))
