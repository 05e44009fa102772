"""Everything the window does to the stage, as one narrow interface: :class:`StageCommands`.

Every method returns at once with a :class:`concurrent.futures.Future`; nothing waits for the I/O
loop or the disk. Live settings (delay, smoothing, lens file, cues and looks, frustum cues, devices,
the recorder) are changed on the I/O loop; file work (take flags in the take store, exports, conform:
:mod:`stagectl.stage.conform_jobs`) runs on a thread of its own. What a change did shows in the next
:class:`~stagectl.stage.view.StageView`.

``done`` (optional on every method) is called with the finished future through the commands'
*hop*: the window's is its bridge, which runs it on the GUI thread (``future.result()`` is then
ready and never blocks). A refusal (a bad value, "already recording", the engine not running yet)
is the future's exception and an ERROR event in the log, unless the part that refused posted it
itself (the cue engine does).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from presets.cues import CueEngine
from presets.model import Cue, Look
from stagectl.config.model import DeviceConfig
from stagectl.core.errors import RuntimeNotRunning, StageError
from stagectl.core.events import Level
from stagectl.core.runtime import Runtime
from stagectl.stage.assembly import Stage
from stagectl.stage.export_jobs import ExportResult, Progress, run_export
from stagectl.stage.pipeline import MAX_SMOOTHING
from stagectl.takes.model import Slate
from stagectl.takes.store import TakeStore

if TYPE_CHECKING:
    from stagectl.stage.conform_jobs import ConformOutcome, ConformPlan, ConformRequest
    from stagectl.stage.delay_jobs import DelayProgress
    from stagectl.takes.motion.lag import DelayResult

__all__ = ["MAX_DELAY_MS", "MAX_SMOOTHING", "Done", "ExportResult", "Hop", "Progress", "StageCommands",
           "run_export"]

T = TypeVar("T")
A = TypeVar("A")
#: Runs a callback where its caller wants it (the window: on the GUI thread, soon).
Hop = Callable[[Callable[[], None]], None]
#: Called with the finished future (through the hop).
Done = Callable[[Future[Any]], None]

#: Longest delay line a camera accepts (ms).
MAX_DELAY_MS = 1000.0


def _inline(callback: Callable[[], None]) -> None:
    callback()


def _write_flags(folder: Path, take_id: int, flags: Mapping[str, Any],
                 changed: Callable[[], None] | None = None) -> int:
    """Write a take's flags; then ``changed()`` (the facility replicator is woken to send them)."""
    with TakeStore(folder) as store:
        store.set_flags(take_id, **flags)
    if changed is not None:
        changed()
    return take_id


class StageCommands:
    """Every action the window takes on one stage (see the module docstring).

    Args:
        stage: the stage acted on.
        runtime: the I/O runtime the stage runs on.
        hop: how ``done`` and progress callbacks reach their caller (default: called on the thread
            that finished the work).
    """

    def __init__(self, stage: Stage, runtime: Runtime, hop: Hop | None = None) -> None:
        self._stage = stage
        self._runtime = runtime
        self._hop: Hop = hop or _inline
        self._jobs: set[threading.Event] = set()
        self._jobs_lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def with_hop(self, hop: Hop) -> StageCommands:
        """The same commands, with callbacks handed to ``hop`` (the window: its GUI-thread bridge)."""
        other = StageCommands(self._stage, self._runtime, hop)
        other._jobs, other._jobs_lock, other._tasks = self._jobs, self._jobs_lock, self._tasks
        return other

    # --- how work is handed over -----------------------------------------------------------------

    def _finish(self, future: Future[T], done: Done | None) -> Future[T]:
        if done is not None:
            hop = self._hop
            future.add_done_callback(lambda f: hop(lambda: done(f)))
        return future

    def _on_loop(self, source: str, what: str, fn: Callable[[], T], done: Done | None = None,
                 *, posted: type[Exception] | None = None) -> Future[T]:
        """Run ``fn()`` on the I/O loop soon; its exception is posted as an ERROR event (unless it is
        a ``posted`` one: the part that raised it has said so)."""
        future: Future[T] = Future()
        events = self._stage.events

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn()
            except Exception as exc:  # a refusal or a bad value: reported, never up the loop
                if posted is None or not isinstance(exc, posted):
                    events.post(Level.ERROR, source, "error", f"{what}: {exc}")
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._finish(future, done)
        try:
            self._runtime.call_soon(run)
        except (RuntimeNotRunning, RuntimeError) as exc:  # the stage has stopped (the window closing)
            future.set_exception(StageError(f"{what}: the stage is not running ({exc})"))
        return future

    def _on_thread(self, what: str, fn: Callable[[threading.Event], T], done: Done | None,
                   cancel: threading.Event | None = None, *, source: str = "takes",
                   refusals: tuple[type[Exception], ...] = ()) -> Future[T]:
        """Run ``fn(cancel)`` on a thread of its own (file work: never on the loop, never on the GUI).
        A failure is an ERROR event from ``source``; one of ``refusals`` (the job said why it would not give
        an answer, e.g. too little motion) a WARNING."""
        future: Future[T] = Future()
        flag = cancel or threading.Event()
        with self._jobs_lock:
            self._jobs.add(flag)

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(fn(flag))
            except Exception as exc:  # the caller gets it as the future's outcome
                refused = isinstance(exc, refusals)
                self._stage.events.post(Level.WARNING if refused else Level.ERROR, source,
                                        "refused" if refused else "error", f"{what}: {exc}")
                future.set_exception(exc)
            finally:
                with self._jobs_lock:
                    self._jobs.discard(flag)

        self._finish(future, done)
        threading.Thread(target=run, name=what, daemon=False).start()
        return future

    def close(self) -> None:
        """Ask every running file job (exports) to stop at its next step (the stage is closing)."""
        with self._jobs_lock:
            for flag in self._jobs:
                flag.set()

    # --- cameras ---------------------------------------------------------------------------------

    def set_delay(self, camera: str, *, ms: float | None = None, frames: float | None = None,
                  done: Done | None = None) -> Future[float]:
        """Change ``camera``'s delay line, in ms or in frames of the stage rate; the result is the new
        delay in ms (ValueError outside 0..:data:`MAX_DELAY_MS`)."""
        stage = self._stage
        return self._on_loop(camera, "delay", lambda: stage.set_delay(camera, ms=ms, frames=frames), done)

    def set_smoothing(self, camera: str, samples: int, done: Done | None = None) -> Future[None]:
        """Change ``camera``'s smoothing window (0: off; at most :data:`MAX_SMOOTHING`)."""
        stage = self._stage
        return self._on_loop(camera, "smoothing", lambda: stage.set_smoothing(camera, samples), done)

    def use_lens_file(self, camera: str, path: str | Path | None, done: Done | None = None) -> Future[None]:
        """Solve ``camera`` with the lens file at ``path`` (None: unsolved). The file is read off the
        loop; the outcome shows in the camera's ``lens_status`` and as an event."""
        stage = self._stage
        return self._on_loop(camera, "lens file", lambda: stage.use_lens_file(camera, path), done)

    # --- looks and cues --------------------------------------------------------------------------

    def _cue(self, what: str, action: Callable[[CueEngine], T], done: Done | None) -> Future[T]:
        # The cue engine posts every refusal it raises (a StageError) itself.
        engine = self._stage.lighting.engine
        return self._on_loop("looks", what, lambda: action(engine), done, posted=StageError)

    def cue_go(self, done: Done | None = None) -> Future[Cue | None]:
        """GO: fire the next cue (None at the end of the list)."""
        return self._cue("GO", lambda e: e.go(), done)

    def cue_back(self, done: Done | None = None) -> Future[Cue | None]:
        """BACK: fire the cue before the last one."""
        return self._cue("BACK", lambda e: e.back(), done)

    def cue_goto(self, number: str, done: Done | None = None) -> Future[Cue]:
        """Fire cue ``number``."""
        return self._cue(f"cue {number}", lambda e: e.goto(number), done)

    def hold(self, on: bool, done: Done | None = None) -> Future[None]:
        """HOLD every running fade where it is (``on``), or let them go on."""
        return self._cue("HOLD", lambda e: e.hold(on), done)

    def back_to_safe(self, done: Done | None = None) -> Future[Any]:
        """Recall the last look that was fully reached."""
        return self._cue("back to safe", lambda e: e.back_to_safe(), done)

    def blackout(self, done: Done | None = None) -> Future[None]:
        """BLACKOUT every processor and dim every fixture now."""
        return self._cue("BLACKOUT", lambda e: e.blackout(), done)

    def recall_look(self, name: str, fade_s: float | None = None, easing: str | None = None,
                    done: Done | None = None) -> Future[Any]:
        """Fade to look ``name`` (the stage's default fade and easing where None)."""
        return self._cue(f"look {name!r}", lambda e: e.recall(name, fade_s, easing), done)

    def apply_look(self, look: Look, fade_s: float, easing: str = "linear", what: str = "nudge",
                   done: Done | None = None) -> Future[Any]:
        """Fade to ``look`` as given (a nudged working look, one side of an A/B)."""
        return self._cue(what, lambda e: e.apply(look, fade_s, easing, what=what), done)

    def save_look(self, look: Look, name: str, done: Done | None = None) -> Future[None]:
        """Write ``look`` to the looks folder as ``name`` (the file is written off the loop; the
        outcome is an event and the looks list)."""
        lighting, tasks = self._stage.lighting, self._tasks

        def start() -> None:
            task = asyncio.get_running_loop().create_task(lighting.async_save_look(look, name),
                                                          name=f"save look {name}")
            tasks.add(task)  # kept until done: the loop holds only a weak reference to a task
            task.add_done_callback(tasks.discard)

        return self._on_loop("looks", f"save look {name!r}", start, done)

    # --- devices and the frustum -----------------------------------------------------------------

    def add_device(self, config: DeviceConfig, done: Done | None = None) -> Future[None]:
        """Add a device for this session (checked and started on the loop; a refusal is an event and
        a line in ``LightingView.add_refusals``)."""
        devices = self._stage.devices
        return self._on_loop("devices", f"add device {config.name!r}",
                             lambda: devices.add_device_soon(config), done)

    def remove_device(self, name: str, done: Done | None = None) -> Future[None]:
        """Take a device off the stage for this session (stopped on the loop; the outcome is an event)."""
        devices = self._stage.devices
        return self._on_loop("devices", f"remove device {name!r}", lambda: devices.remove_device_soon(name),
                             done)

    def set_frustum_cues(self, changes: Mapping[str, Any], done: Done | None = None) -> Future[int]:
        """Change frustum cue fields (``overscan``, ``inner_frustum``, ...) on every Unreal node; the
        senders coalesce (latest wins). The result is how many senders took them."""
        stage, fields = self._stage, dict(changes)

        def run() -> int:
            senders = stage.frustum_senders
            for sender in senders.values():
                sender.set(**fields)
            return len(senders)

        return self._on_loop("frustum", "frustum cue", run, done)

    # --- takes -----------------------------------------------------------------------------------

    def record(self, done: Done | None = None, **slate: Any) -> Future[str]:
        """Record a take (``slate`` fields change the slate first); the result is the take's name."""
        recorder = self._stage.recorder
        return self._on_loop("takes", "record", lambda: recorder.record(**slate), done)

    def stop_take(self, done: Done | None = None) -> Future[str]:
        """Stop the take in progress; the result is its name."""
        recorder = self._stage.recorder
        return self._on_loop("takes", "stop", recorder.stop, done)

    def set_slate(self, done: Done | None = None, **fields: Any) -> Future[Slate]:
        """Change the slate (production, scene, shot, take, notes, cameras)."""
        recorder = self._stage.recorder
        return self._on_loop("takes", "slate", lambda: recorder.set_slate(**fields), done)

    def add_note(self, text: str, done: Done | None = None) -> Future[None]:
        """An operator's note into the take in progress, at the current timecode."""
        recorder = self._stage.recorder
        return self._on_loop("takes", "note", lambda: recorder.note(text), done)

    def set_take_flags(self, take_id: int, *, circled: bool | None = None, no_good: bool | None = None,
                       notes: str | None = None, done: Done | None = None) -> Future[int]:
        """Circle, mark NG or annotate a stored take (written to the take store on a thread); the
        result is the take id."""
        folder, facility = self._stage.recorder.folder, self._stage.facility
        given = (("circled", circled), ("no_good", no_good), ("notes", notes))
        flags = {key: value for key, value in given if value is not None}
        changed = None if facility is None else facility.wake
        return self._on_thread(f"take {take_id} flags",
                               lambda _cancel: _write_flags(folder, take_id, flags, changed), done)

    def export_takes(self, take_ids: Sequence[int], formats: Sequence[str], out_dir: Path, *,
                     progress: Progress | None = None, cancel: threading.Event | None = None,
                     done: Done | None = None) -> Future[ExportResult]:
        """Export stored takes into ``out_dir`` on a thread (see :func:`run_export`); ``progress`` is
        called through the hop, the newest figures only."""
        folder = self._stage.recorder.folder
        report = self._coalesced(progress)
        ids, names = list(take_ids), list(formats)

        def work(flag: threading.Event) -> ExportResult:
            return run_export(folder, ids, names, out_dir, report, flag)

        return self._on_thread("export takes", work, done, cancel)

    def conform_plan(self, request: ConformRequest, done: Done | None = None) -> Future[ConformPlan]:
        """Read the clips or cut of ``request`` and match them to the stored takes, on a thread; nothing is
        written (:func:`stagectl.stage.conform_jobs.plan_conform`)."""
        from stagectl.stage.conform_jobs import plan_conform  # conform's readers load on first use

        folder = self._stage.recorder.folder
        return self._on_thread("conform plan", lambda _flag: plan_conform(folder, request), done)

    def conform(self, request: ConformRequest, formats: Sequence[str], out_dir: Path, *,
                progress: Progress | None = None, cancel: threading.Event | None = None,
                done: Done | None = None) -> Future[ConformOutcome]:
        """Write a package per clip or cut event of ``request`` into ``out_dir`` on a thread
        (:func:`stagectl.stage.conform_jobs.run_conform`); ``progress`` through the hop, newest only."""
        from stagectl.stage.conform_jobs import run_conform

        folder = self._stage.recorder.folder
        report, names = self._coalesced(progress), list(formats)

        def work(flag: threading.Event) -> ConformOutcome:
            return run_conform(folder, request, names, out_dir, report, flag)

        return self._on_thread("conform", work, done, cancel)

    def _newest(self, deliver_to: Callable[[A], None] | None) -> Callable[[A], None]:
        """``deliver_to`` through the hop, at most one call waiting at a time (the newest value wins)."""
        if deliver_to is None:
            return lambda _value: None
        hop, lock = self._hop, threading.Lock()
        waiting: list[A] = []

        def deliver() -> None:
            with lock:
                value = waiting.pop()
                waiting.clear()
            deliver_to(value)

        def report(value: A) -> None:
            with lock:
                first = not waiting
                waiting.append(value)
            if first:
                hop(deliver)

        return report

    def _coalesced(self, progress: Progress | None) -> Progress:
        """``progress`` (done, total, what) through the hop, the newest figures only."""
        if progress is None:
            return lambda _done, _total, _what: None
        given = progress

        def figures(value: tuple[int, int, str]) -> None:
            given(*value)

        newest = self._newest(figures)
        return lambda done, total, what: newest((done, total, what))

    # --- measured delay --------------------------------------------------------------------------

    def measure_delay(self, camera: str, source: str, seconds: float, *,
                      progress: Callable[[DelayProgress], None] | None = None,
                      cancel: threading.Event | None = None, done: Done | None = None) -> Future[DelayResult]:
        """Capture ``seconds`` of the picture ``source`` and ``camera``'s tracking, and measure the delay
        between them on a thread (:func:`stagectl.stage.delay_jobs.measure_delay`); ``progress`` through
        the hop, the newest only. Apply the result with :meth:`set_delay`."""
        from stagectl.stage.delay_jobs import measure_delay  # OpenCV loads on first use
        from stagectl.takes.motion.errors import DelayMeasureError

        stage, runtime, report = self._stage, self._runtime, self._newest(progress)

        def work(flag: threading.Event) -> DelayResult:
            return measure_delay(stage, runtime, camera, source, seconds=seconds, progress=report,
                                 cancel=flag)

        return self._on_thread(f"measure delay {camera}", work, done, cancel, source="delay",
                               refusals=(DelayMeasureError,))
