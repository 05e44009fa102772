"""The Stage: the object graph a stage file describes, running on the I/O loop.

Built from a :class:`~stagectl.config.load.StageConfig`; started and stopped on the I/O thread
(``async_start``/``async_stop``); read from any thread through :meth:`Stage.snapshot` and
:meth:`Stage.status`, which copy plain values and never block.

The Stage composes its parts by handing each, when it is built, what it needs: the outputs'
frustum senders and the cue engine to the device registry; the engine, the registry and
discovery to the lighting; the lighting's live look to the take recorder; the engine, the
registry and the recorder to the control-in. Nothing is wired in afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from lens.interchange import to_opentrackio_static
from lens.lensfile import load_lens_file
from lens.solve import LensSolver
from stagectl.config.load import StageConfig
from stagectl.control.actions import StageControlActions
from stagectl.control.server import ControlError, ControlServer
from stagectl.core.clock import StageClock
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.health import StreamState
from stagectl.core.opentrackio.merge import camera_static
from stagectl.core.opentrackio.static import build_static
from stagectl.core.runtime import async_cancel
from stagectl.core.samples import FilmBack, choose_film_back
from stagectl.discovery.stage import StageDiscovery
from stagectl.stage.devices import DeviceRegistry
from stagectl.stage.facility import make_facility
from stagectl.stage.lighting import StageLighting, make_cue_engine
from stagectl.stage.outputs import StageOutputs
from stagectl.stage.pipeline import CameraPipeline
from stagectl.stage.snapshot import StageSnapshot, camera_status, refreshed, source_status
from stagectl.stage.sources import make_sources
from stagectl.stage.status import control_dict, lighting_dict, status_dict, web_dict
from stagectl.stage.takes import make_recorder, takes_dict, takes_folder, tracker_vendors
from stagectl.stage.web import make_web
from tracking.source import TrackingSource

#: How often health (rate, stale, down) is re-evaluated while a source is not up; a stage whose sources
#: are all up is looked at when the first of them would go stale, at least every MONITOR_IDLE_S.
MONITOR_PERIOD_S = 0.1
MONITOR_IDLE_S = 0.5
#: What the replicator gets to finish the batch it is sending when the stage stops (it resumes next run).
FACILITY_STOP_S = 0.3


class Stage:
    """Cameras and their sources, outputs, devices, looks and cues, takes, control-in and discovery.

    Attributes:
        config: the validated stage file.
        clock: the stage timecode clock (time of day, free-running at the stage rate).
        events: discrete events for the log and the UI.
        cameras: pipelines by camera name, in stage-file order.
        sources: every tracking source.
        outputs: the outputs to Unreal (``[[outputs]]``).
        devices: every device by name (``[[devices]]`` and the frustum of each remote-control output);
            devices are added and removed here while running.
        lighting: looks, the cue engine and the lighting status (``[looks]``).
        recorder: the take recorder (``[takes]``).
        facility: replication of the takes to the facility store (``[facility]``), None without one.
        actions: what OSC control-in and the web remote drive (one object, two transports).
        control: the OSC control-in server (``[control]``), None without one.
        web: the floor's remote (``[web]``), None without one.
        discovery: zeroconf browsing and adverts (``[discovery]``).
        monitor_ticks: times the health monitor has looked at the sources.
    """

    def __init__(self, config: StageConfig, events: EventQueue | None = None) -> None:
        self.config = config
        self.events = events or EventQueue()
        self.clock = StageClock(config.frame_rate, config.drop_frame)
        self.cameras: dict[str, CameraPipeline] = {
            cam.name: CameraPipeline(cam.name, cam.delay_ms, smoothing=cam.smoothing)
            for cam in config.cameras
        }
        self.lens_solvers: dict[str, LensSolver] = {}
        """The lens solver of each solved camera (``lens.solve.LensSolver``), for the Lens panel."""
        self._lens_statics: dict[str, dict[str, Any]] = {}
        self._statics: dict[str, tuple[Any, dict[str, Any], Any, FilmBack | None, dict[str, Any]]] = {}
        for cam in config.cameras:
            if cam.lens is not None:
                self._load_lens(self.cameras[cam.name], cam.lens)
        self.sources: list[TrackingSource] = make_sources(config, self.cameras, self.clock, self.events)
        self._sensors = {cam.name: cam.sensor_mm for cam in config.cameras if cam.sensor_mm is not None}
        self._vendors = tracker_vendors(config)
        self.outputs = StageOutputs(config, self.cameras, self.events, self.static_block)
        self.frustum_senders = self.outputs.frustum_senders
        """The frustum-cue sender of each remote-control output, by output name."""
        self.discovery = StageDiscovery(config, self.events)
        engine = make_cue_engine(config, self.events)
        self.devices = DeviceRegistry(config, self.events, self.frustum_senders, engine, self.discovery)
        self.lighting = StageLighting(config, engine, self.devices, self.discovery, self.events)
        self.recorder = make_recorder(config, self.clock, self.events, self.cameras, self.lens_solvers,
                                      self.lighting.live_look, self.sources, camera_info_of=self.camera_info)
        self.facility = make_facility(config.facility, takes_folder(config), self.events)
        control = config.control
        wake = None if self.facility is None else self.facility.wake  # flags changed: replicate them
        self.actions = StageControlActions(engine, self.devices, self.recorder, events=self.events,
                                           takes_changed=wake)
        self.control = None if control is None else ControlServer(
            control.listen, self.actions, allow=control.allow,
            passcode=control.passcode, reply_port=control.reply_port, events=self.events)
        self.web = make_web(config, self.actions, self.lighting, self.recorder, self.clock, self.events)
        self._monitor: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.monitor_ticks = 0
        self.started = False

    def call_in_loop(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the I/O thread soon (from any thread; never waits).

        How the window changes live settings (delay, smoothing): the call is queued, the GUI goes
        on, and the result shows in the next snapshot. Errors are posted as events.
        """
        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:  # a bad value from a control must not kill the loop
                self.events.post(Level.ERROR, "stage", "error", f"{getattr(fn, '__name__', fn)}: {exc}")

        loop = self._loop
        if loop is None or loop.is_closed():
            run()
        else:
            loop.call_soon_threadsafe(run)

    def film_back(self, camera: str) -> FilmBack | None:
        """``camera``'s one sensor size, shared by the outputs and the takes (samples.choose_film_back):
        its lens file's, else the tracker's static block's, else the stage file's ``sensor_mm``."""
        solver = self.lens_solvers.get(camera)
        sensor = None if solver is None else (solver.lens.sensor.width_mm, solver.lens.sensor.height_mm)
        return choose_film_back(sensor, self.cameras[camera].tracker_sensor_mm, self._sensors.get(camera))

    def lens_static(self, camera: str) -> dict[str, Any] | None:
        """The lens file's part of ``camera``'s OpenTrackIO static block (None: unsolved); do not modify."""
        return self._lens_statics.get(camera)

    def camera_info(self, camera: str) -> dict[str, Any]:
        """What a take keeps of ``camera`` besides its lens file (JSON values): the stage file's
        ``sensor_mm``, the lens file's static block, a FreeD preset's tracker vendor, and its delay line
        at RECORD (samples are recorded before it; conform applies it)."""
        sensor = self._sensors.get(camera)
        return {"sensor_mm": None if sensor is None else list(sensor),
                "lens_static": self.lens_static(camera), "tracker_make": self._vendors.get(camera),
                "delay_ms": self.cameras[camera].delay_ms}

    def static_block(self, camera: str, base: Mapping[str, Any] | None, changed: dict[str, Any]
                    ) -> dict[str, Any]:
        """The OpenTrackIO static block stagectl sends for ``camera`` (stagectl.core.opentrackio.merge
        .camera_static): ``base`` (default: the tracker's newest block) with the lens file's identity and
        sensor and the camera's film back laid over it, its label and tracker vendor filled in.

        Trackers repeat their block in every sample or every few: the result is kept per camera and
        given again (the same dict: do not modify it) while the block, lens file and film back stay."""
        if base is None:
            base = self.cameras[camera].tracker_static or {}
        lens, film = self.lens_static(camera), self.film_back(camera)
        kept = self._statics.get(camera)
        if kept is not None and kept[2] is lens and kept[3] == film and (kept[0] is base or kept[0] == base):
            changed.update(kept[4])
            return kept[1]
        notes: dict[str, Any] = {}
        static = camera_static(base, notes, label=camera,
                               sensor_mm=None if film is None else (film.width_mm, film.height_mm),
                               lens_static=lens, tracker_make=self._vendors.get(camera))
        self._statics[camera] = (base, static, lens, film, notes)
        changed.update(notes)
        return static

    def _load_lens(self, camera: CameraPipeline, path: Path) -> None:
        """Solve ``camera`` with the lens file at ``path``; a bad file leaves the camera unsolved
        (raw values still flow) and says why, naming the file and field."""
        self._apply_lens(camera, path, *_read_lens(path))

    def _apply_lens(self, camera: CameraPipeline, path: Path, solver: LensSolver | None,
                    error: str | None) -> None:
        if solver is None:
            camera.set_lens(None, error=error)
            self.lens_solvers.pop(camera.name, None)
            self._lens_statics.pop(camera.name, None)
            self.events.post(Level.ERROR, camera.name, "lens",
                             f"lens file not used, camera {camera.name} is unsolved: {error}")
            return
        camera.set_lens(solver.solve, path.name)
        self.lens_solvers[camera.name] = solver
        self._lens_statics[camera.name] = build_static(to_opentrackio_static(solver.lens))
        self.events.post(Level.INFO, camera.name, "lens", f"lens solved from {path.name}")

    def use_lens_file(self, camera: str, path: str | Path | None) -> None:
        """Switch ``camera`` to the lens file at ``path`` (None: unsolved), from any thread.

        The file is read on a worker thread, then swapped in on the I/O thread: neither the GUI
        nor the tracking path waits for the disk. The outcome is an event and shows in the
        camera's ``lens_status``.
        """
        pipeline = self.cameras[camera]

        async def swap() -> None:
            if path is None:
                pipeline.set_lens(None)
                self.lens_solvers.pop(camera, None)
                self._lens_statics.pop(camera, None)
                self.events.post(Level.INFO, camera, "lens", "lens file removed: unsolved")
                return
            solver, error = await asyncio.to_thread(_read_lens, Path(path))
            self._apply_lens(pipeline, Path(path), solver, error)

        def start() -> None:
            task = asyncio.get_running_loop().create_task(swap(), name=f"lens file for {camera}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop = self._loop
        if loop is None or loop.is_closed():
            asyncio.run(swap())
        else:
            loop.call_soon_threadsafe(start)

    async def async_start(self) -> None:
        """Open every source and start the health monitor (I/O thread)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        for camera in self.cameras.values():
            camera.attach(loop)
        for source in self.sources:
            await source.async_start()
        await self.outputs.async_start()
        await self.devices.async_start()
        await self.lighting.async_start()
        await self.recorder.async_start()
        if self.facility is not None and self.recorder.ready:  # it reads the store the recorder opened
            await asyncio.to_thread(self.facility.start)
        await self._async_start_control()
        if self.web is not None:
            await self.web.async_start()  # a port taken is an event and its status: the stage runs on
        self._monitor = loop.create_task(self._async_monitor(), name="stage health monitor")
        self.started = True
        self.events.post(Level.INFO, "stage", "state",
                         f"stage '{self.config.name}' running: {len(self.cameras)} camera(s), "
                         f"{len(self.sources)} source(s), {self.config.frame_rate} fps")

    async def _async_start_control(self) -> None:
        """Listen for OSC control (the stage runs on without it when it cannot), then browse and
        announce: the emulators, and the control service where ``[control] advertise``."""
        control, settings = self.control, self.config.control
        if control is not None:
            try:
                await control.async_start()
            except (ControlError, OSError) as exc:  # the stage runs on without control-in
                self.events.post(Level.ERROR, "control", "error", f"OSC control-in not started: {exc}")
        advertised = None
        if control is not None and control.running and settings is not None and settings.advertise:
            advertised = control.address
        self.discovery.start(self.devices.emulator_adverts(), advertised,
                             passcode_required=settings is not None and settings.passcode is not None)

    async def async_stop(self) -> dict[str, float]:
        """Stop the monitor and close everything, sources last (I/O thread).

        Parts that do not wait on each other stop together: discovery (its goodbye packet), OSC
        control-in and the web remote first (nothing drives the stage after them), then the takes,
        lighting and devices in that order beside the facility's last batch, then the outputs and
        the sources. Returns how long each part took, in ms (parts that stop together overlap).
        """
        took: dict[str, float] = {}

        async def part(name: str, stop: Callable[[], Awaitable[object]]) -> None:
            started = time.perf_counter()
            try:
                await stop()
            except Exception as exc:  # keep closing the rest
                self.events.post(Level.ERROR, name, "error", f"error while stopping: {exc}")
            took[name] = (time.perf_counter() - started) * 1e3

        monitor, self._monitor = self._monitor, None
        await async_cancel(monitor)
        control, web, facility = self.control, self.web, self.facility
        await asyncio.gather(
            part("discovery", self.discovery.async_stop),
            *([part("control", control.async_stop)] if control is not None else []),
            *([part("web", web.async_stop)] if web is not None else []))

        for name, stop in (("takes", self.recorder.async_stop), ("lighting", self.lighting.async_stop),
                           ("devices", self.devices.async_stop)):
            await part(name, stop)
        # The facility after the recorder has committed its last batches; it sends what it can.
        facility_stopped = None if facility is None else asyncio.ensure_future(
            part("facility", lambda: asyncio.to_thread(facility.stop, FACILITY_STOP_S)))
        await part("outputs", self.outputs.async_stop)

        async def sources() -> None:
            for source in self.sources:
                await part(source.name, source.async_stop)

        await part("sources", sources)
        if facility_stopped is not None:
            await facility_stopped
        self.started = False
        return took

    async def _async_monitor(self) -> None:
        while True:
            now = time.monotonic_ns()
            due = now + int(MONITOR_IDLE_S * 1e9)
            for source in self.sources:
                health = source.health
                new = health.evaluate(now)
                if new is not None:
                    self._report_state(source, new)
                due = min(due, health.next_change_ns(now))
            if self.facility is not None:
                self.facility.observe(self.recorder.status())
            self.monitor_ticks += 1
            await asyncio.sleep(max(MONITOR_PERIOD_S, (due - time.monotonic_ns()) / 1e9))

    def _report_state(self, source: TrackingSource, state: StreamState) -> None:
        if state is StreamState.UP:
            self.events.post(Level.INFO, source.name, "state", f"up ({source.camera.name})")
        elif state is StreamState.STALE:
            self.events.post(Level.WARNING, source.name, "state",
                             f"stale: no sample for {source.health.stale_after_ns / 1e6:.0f} ms, "
                             "holding the last value")
        else:
            why = source.health.failed or f"no sample for {source.health.down_after_ns / 1e9:.0f} s"
            self.events.post(Level.WARNING, source.name, "state", f"down: {why}")

    # --- reading from any thread -------------------------------------------------------------

    def snapshot(self) -> StageSnapshot:
        """Copy the stage's state for display (any thread, never blocks)."""
        now = time.monotonic_ns()
        frame_s = 1.0 / float(self.config.frame_rate.rate)
        rates = {id(s.health): s.health.rate_at(now) for s in self.sources}  # once each: cameras sum them
        cameras = tuple(camera_status(cam, frame_s, self.film_back(name), now, rates)
                        for name, cam in self.cameras.items())
        sources = tuple(source_status(s, now, rates.get(id(s.health))) for s in self.sources)
        return StageSnapshot(self.config.name, str(self.clock.timecode_at(now)), str(self.config.frame_rate),
                             cameras, sources, now, self.outputs.status())

    def moved(self, snap: StageSnapshot) -> StageSnapshot:
        """``snap`` (an earlier :meth:`snapshot`) with each camera's newest sample, count and state and the
        stage clock made new (see :func:`~stagectl.stage.snapshot.refreshed`): what a view needs every frame,
        at a tenth of the cost of a whole snapshot."""
        now = time.monotonic_ns()
        return refreshed(snap, self.cameras, now, str(self.clock.timecode_at(now)))

    def set_delay(self, camera: str, *, ms: float | None = None, frames: float | None = None) -> float:
        """Change a camera's delay line live (I/O thread), in ms or in frames of the stage rate.

        Returns the new delay in ms; ValueError when outside 0..1000 ms.
        """
        if (ms is None) == (frames is None):
            raise ValueError("give the delay in ms or in frames, not both")
        delay = ms if ms is not None else (frames or 0.0) * 1000.0 / float(self.config.frame_rate.rate)
        self.cameras[camera].set_delay_ms(delay)
        self.events.post(Level.INFO, camera, "delay", f"delay line {delay:.1f} ms "
                         f"({delay / 1000.0 * float(self.config.frame_rate.rate):.2f} frames)")
        return delay

    def set_smoothing(self, camera: str, samples: int) -> None:
        """Change a camera's smoothing window live (I/O thread); 0 turns it off."""
        pipeline = self.cameras[camera]
        pipeline.set_smoothing(samples)
        if pipeline.smoothing:
            self.events.post(Level.INFO, camera, "smoothing", f"smoothing over {pipeline.smoothing} samples: "
                             f"adds {pipeline.smoothing_latency_ms:.1f} ms of latency")
        else:
            self.events.post(Level.INFO, camera, "smoothing", "smoothing off")

    def status(self, snap: StageSnapshot | None = None) -> dict[str, Any]:
        """The ``--status-json`` object (a public contract: keys are added, never removed); ``snap``: a
        :meth:`snapshot` just taken (else one is taken here)."""
        snap = self.snapshot() if snap is None else snap
        return {**status_dict(snap), **lighting_dict(self.lighting.latest),
                **takes_dict(self.recorder.status()),
                **control_dict(None if self.control is None else self.control.status()),
                **web_dict(None if self.web is None else self.web.status()),
                **({"facility": None} if self.facility is None else self.facility.status_dict())}


def _read_lens(path: Path) -> tuple[LensSolver | None, str | None]:
    """(LensSolver, None) for a good lens file, else (None, what is wrong with it)."""
    try:
        return LensSolver(load_lens_file(path), path.name), None
    except (StageError, OSError, ValueError) as exc:
        return None, str(exc)
