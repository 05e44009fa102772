"""The take recorder: the slate, record / stop, and every sample and event of a take into the journal.

Threads: the recorder's methods run on the I/O loop. Each camera pipeline's tap hands every
sample here as it arrives (lens solved, before smoothing and the delay line); it is packed into a
256-byte record and put on the journal writer's queue — a microsecond or two, no I/O, no lock
held. Every datagram the tracking sources receive reaches the take's raw capture
(:mod:`stagectl.takes.capture`) the same way, before decoding. The journal thread writes each burst
with one ``write()`` (the record is in the kernel within about a millisecond of arrival); the
committer thread stores it in SQLite every 200 ms. Stage events (cues, looks, devices going up and
down, errors) and operator notes become log records the same way.

Timecode: each sample keeps its own timecode as the tracker sent it; its ``frame`` at the take's
rate is counted with ``Timecode.rebase``, by the clock face, never through seconds (a tracker at
50 fps and a stage at 23.976 agree that 10:00:00 is 10:00:00).

Lag is visible (:class:`RecorderStatus`): records waiting for the journal, batches waiting for the
committer, and the age of the last commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stagectl.core.camera import RecordedCamera
from stagectl.core.clock import StageClock
from stagectl.core.colour import Cdl
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.timecode import Timecode, frames_per_24h
from stagectl.takes.capture import Capture, Preroll, RawCapture
from stagectl.takes.committer import JOURNAL_DIR, Committer
from stagectl.takes.journal import (
    CAMERA,
    END,
    HEADER,
    JOURNAL_SUFFIX,
    JournalError,
    JournalWriter,
)
from stagectl.takes.model import LensInfo, Slate
from stagectl.takes.recorder_parts import SLATE_FIELDS, SOURCE, RecorderError, SlateKeeping, TakeLogging
from stagectl.takes.recorder_tap import SampleTap
from stagectl.takes.records import cdl_json, dumps, lens_json, rate_json, slate_json
from stagectl.takes.recovery import Recovery, recover
from stagectl.takes.store import TakeStore

__all__ = ["SLATE_FIELDS", "Recorder", "RecorderError", "RecorderStatus"]

log = logging.getLogger("stagectl.takes")
_NAME_CLEAN = re.compile(r"[^A-Za-z0-9._-]+")

LensLookup = Callable[[str], LensInfo | None]
LookLookup = Callable[[], tuple[str, Mapping[str, Cdl]]]
InfoLookup = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """What the record button and ``--status-json`` show (copied on the loop)."""

    recording: bool = False
    take_name: str = ""
    take_id: int | None = None
    tc_in: str = ""
    elapsed_s: float = 0.0
    samples: Mapping[str, int] = field(default_factory=dict)
    journal_pending: int = 0
    commit_pending: int = 0
    commit_age_s: float | None = None
    errors: int = 0
    error: str | None = None
    slate: Slate = field(default_factory=Slate)
    last_take: str = ""
    last_take_id: int | None = None
    takes_dir: str = ""
    ready: bool = False


class Recorder(SlateKeeping, TakeLogging, SampleTap):
    """Records takes of a stage (see the module docstring). Construct anywhere; run on the loop.

    ``lens_of(camera)`` gives a camera's lens file and film back; ``look_of()`` the live look's
    name and its CDL per zone; ``camera_info_of(camera)`` what the take keeps of a camera besides its
    lens file (JSON values: the stage file's ``sensor_mm``, the lens file's ``lens_static`` block, the
    ``tracker_make`` of a FreeD preset).
    ``timecode_from``: ``"stage"`` (tc in/out from the stage clock at record and stop) or a camera
    name (its samples' timecode). Sources are registered with :meth:`add_source`.
    """

    def __init__(
        self,
        folder: Path,
        clock: StageClock,
        events: EventQueue,
        cameras: Mapping[str, RecordedCamera],
        *,
        lens_of: LensLookup | None = None,
        look_of: LookLookup | None = None,
        camera_info_of: InfoLookup | None = None,
        timecode_from: str = "stage",
        production: str = "",
    ) -> None:
        self.folder = folder
        self.clock = clock
        self.events = events
        self.cameras = dict(cameras)
        self.lens_of = lens_of or (lambda camera: None)
        self.look_of = look_of or (lambda: ("", {}))
        self.camera_info_of = camera_info_of or (lambda camera: {})
        self.capture = RawCapture()
        self._rebased: tuple[Timecode, int] | None = None
        self._static_versions: dict[int, int] = {}  # per camera index, the tracker_static_version taken
        self.timecode_from = timecode_from
        self.slate = Slate(production=production, take=1, cameras=tuple(self.cameras))
        self._index = {name: n for n, name in enumerate(self.cameras)}
        self._numbers: dict[tuple[str, str, str], int] = {}
        self._writer: JournalWriter | None = None
        self._committer: Committer | None = None
        self._counts: dict[str, int] = {}
        self._take_name = ""
        self._journal_name = ""
        self._take_ids: dict[str, int] = {}
        self._started_ns = 0
        self._tc_in: Timecode | None = None
        self._last_take = ""
        self._last_journal = ""
        self._stopping: set[asyncio.Task[None]] = set()
        self._rate = clock.rate
        self._drop = clock.drop_frame
        self._per_day = frames_per_24h(self._rate, self._drop)
        self.errors = 0
        self.error: str | None = None
        self.recovery = Recovery()
        self.ready = False
        for name, pipeline in self.cameras.items():
            pipeline.add_tap(self._tap_for(name))

    # --- lifecycle --------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Recover interrupted takes, open the store (both on a worker thread), then accept record."""
        try:
            self.recovery = await asyncio.to_thread(self._open)
        except Exception as exc:  # no takes folder: the stage runs, recording says why
            self.error = f"take store not available: {exc}"
            self.events.post(Level.ERROR, SOURCE, "error", self.error)
            return
        for r in self.recovery.takes:
            detail = f"; {r.problem}" if r.problem else ""
            self.events.post(
                Level.WARNING,
                SOURCE,
                "take",
                f"take {r.take_id} was interrupted and is recovered from its journal "
                f"({r.samples} sample(s) replayed){detail}",
            )
        for notice in self.recovery.notices:
            self.events.post(Level.WARNING, SOURCE, "take", notice)
        self.events.subscribe(self._on_event)
        self.ready = True

    def _open(self) -> Recovery:
        journal_dir = self.folder / JOURNAL_DIR
        try:
            journal_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecorderError(f"cannot create the take journal folder {journal_dir} ({exc.strerror}): make "
                                f"{self.folder} writable by the user running stagectl, or point the stage "
                                "file's [takes] dir at a folder that is") from None
        recovered = recover(self.folder)
        with TakeStore(self.folder) as store:
            takes = store.takes()
        for info in takes:
            key = (info.slate.production, info.slate.scene, info.slate.shot)
            self._numbers[key] = max(self._numbers.get(key, 0), info.slate.take)
        if takes:  # the slate carries on where the last take left it (production, scene, shot)
            last = takes[-1].slate
            self.slate = replace(self.slate, production=self.slate.production or last.production,
                                 scene=last.scene, shot=last.shot, take=1)
        self._next_take()
        committer = Committer(self.folder, on_take=self._on_take)
        committer.start()
        self._committer = committer
        return recovered

    async def async_stop(self) -> None:
        """Stop a take in progress, then let the committer store everything and close."""
        self.events.unsubscribe(self._on_event)
        if self._writer is not None:
            with contextlib.suppress(StageError):
                await self.async_stop_take()
        for task in list(self._stopping):
            await task
        committer, self._committer = self._committer, None
        if committer is not None:
            await asyncio.to_thread(committer.stop)
        self.ready = False

    def add_source(self, name: str, protocol: str, cameras: tuple[str, ...], settings: Mapping[str, Any], *,
                   names: tuple[str, ...] = (), preroll: Preroll | None = None) -> Capture:
        """Record a tracking source's raw datagrams in every take of its cameras: returns the callable
        the source calls with each datagram as it arrives (I/O loop). See :mod:`stagectl.takes.capture`."""
        return self.capture.add_source(name, protocol, cameras, settings, names=names, preroll=preroll)

    # --- record / stop ----------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        """True between record and stop."""
        return self._writer is not None

    def record(self, **slate_fields: Any) -> str:
        """Start a take with the current slate (changed by ``slate_fields`` first); returns its name.

        RecorderError when already recording, the store is not open, or the journal cannot be created.
        """
        if self._writer is not None:
            raise RecorderError(f"already recording take {self._take_name}")
        if not self.ready or self._committer is None:
            raise RecorderError(self.error or "the take store is still opening")
        if slate_fields:
            self.set_slate(**slate_fields)
        slate = self.slate
        now_ns = time.monotonic_ns()
        started = time.time()
        name = _NAME_CLEAN.sub("_", slate.label)
        journal_name = f"{int(started * 1000)}-{name}{JOURNAL_SUFFIX}"
        committer = self._committer
        try:
            writer = JournalWriter(
                self.folder / JOURNAL_DIR / journal_name,
                lambda records, offset: committer.feed(journal_name, records, offset),
            )
        except JournalError as exc:
            raise RecorderError(str(exc)) from None
        look, cdl = self._look()
        tc_in = self.clock.timecode_at(now_ns) if self.timecode_from == "stage" else None
        header = {
            "name": name,
            "slate": slate_json(slate),
            "rate": rate_json(self._rate),
            "drop_frame": self._drop,
            "started": started,
            "started_ns": now_ns,
            "tc_in": tc_in.frames if tc_in is not None else None,
            "timecode_from": self.timecode_from,
            "look": look,
            "cdl": {zone: cdl_json(c) for zone, c in cdl.items()},
        }
        writer.put(HEADER, dumps(header))
        for camera, idx in self._index.items():
            pipeline = self.cameras[camera]
            source = pipeline.sources[0].name if pipeline.sources else ""
            writer.put(
                CAMERA,
                dumps(
                    {
                        **self.camera_info_of(camera),
                        "index": idx,
                        "camera": camera,
                        "source": source,
                        "lens": lens_json(self.lens_of(camera)),
                    }
                ),
            )
            self._static_versions[idx] = pipeline.tracker_static_version
            if pipeline.tracker_static is not None:  # the newest static block, before any arrives
                self._static(writer, idx, now_ns, pipeline.tracker_static)
        self.capture.start(writer, self._index)
        self._counts = dict.fromkeys(self.cameras, 0)
        self._take_name, self._journal_name, self._started_ns, self._tc_in = name, journal_name, now_ns, tc_in
        self._writer = writer
        self._log(now_ns, "take", "operator", f"record {name}", {"slate": slate_json(slate)})
        if look:
            self._log(now_ns, "look", "looks", f"look {look!r} live at record", {"look": look})
        self.events.post(
            Level.INFO, SOURCE, "take", f"recording {name}{f' from {tc_in}' if tc_in is not None else ''}"
        )
        return name

    def stop(self) -> str:
        """End the take (the journal is closed and the take completed in the background); its name.

        RecorderError when not recording.
        """
        writer = self._writer
        if writer is None:
            raise RecorderError("not recording")
        now_ns = time.monotonic_ns()
        tc_out = self.clock.timecode_at(now_ns) if self.timecode_from == "stage" else None
        self._log(now_ns, "take", "operator", f"stop {self._take_name}", {})
        self.capture.stop()
        writer.put(
            END,
            dumps(
                {
                    "stopped": time.time(),
                    "tc_out": tc_out.frames if tc_out is not None else None,
                    "samples": dict(self._counts),
                }
            ),
        )
        self._writer = None
        name = self._take_name
        self._last_take, self._last_journal = name, self._journal_name
        key = (self.slate.production, self.slate.scene, self.slate.shot)
        self._numbers[key] = max(self._numbers.get(key, 0), self.slate.take)
        self.slate = replace(self.slate, take=self.slate.take + 1)
        total = sum(self._counts.values())
        self.events.post(
            Level.INFO,
            SOURCE,
            "take",
            f"stopped {name}: {total} sample(s){f', out at {tc_out}' if tc_out is not None else ''}",
        )
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._close, writer), name=f"close {name}"
        )
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        return name

    async def async_stop_take(self) -> str:
        """:meth:`stop`, then wait until the journal is closed."""
        name = self.stop()
        for task in list(self._stopping):
            await task
        return name

    def _close(self, writer: JournalWriter) -> None:
        if not writer.close():
            self.errors += 1
            self.error = f"journal {writer.path.name} did not finish writing in time"
            log.error("take recorder: %s", self.error)

    def note(self, text: str) -> None:
        """An operator's note into the take in progress (RecorderError when not recording)."""
        if self._writer is None:
            raise RecorderError("not recording: notes go into a take in progress")
        self._log(time.monotonic_ns(), "note", "operator", text.strip(), {})

    # --- status ------------------------------------------------------------------------------------

    def status(self) -> RecorderStatus:
        """A snapshot for the UI and ``--status-json``."""
        writer, committer = self._writer, self._committer
        stats = committer.stats if committer is not None else None
        age = None
        if stats is not None and stats.last_commit_ns:
            age = (time.monotonic_ns() - stats.last_commit_ns) / 1e9
        error = (
            (writer.error if writer is not None else None) or (stats.error if stats else None) or self.error
        )
        return RecorderStatus(
            recording=writer is not None,
            take_name=self._take_name if writer is not None else "",
            take_id=self._take_ids.get(self._journal_name) if writer is not None else None,
            tc_in=str(self._tc_in) if writer is not None and self._tc_in is not None else "",
            elapsed_s=(time.monotonic_ns() - self._started_ns) / 1e9 if writer is not None else 0.0,
            samples=dict(self._counts),
            journal_pending=writer.pending if writer is not None else 0,
            commit_pending=committer.pending if committer is not None else 0,
            commit_age_s=age,
            errors=self.errors + (stats.errors if stats else 0) + (writer.write_errors if writer else 0),
            error=error,
            slate=self.slate,
            last_take=self._last_take,
            last_take_id=self._take_ids.get(self._last_journal),
            takes_dir=str(self.folder),
            ready=self.ready,
        )

    # --- committer callbacks (committer thread) -----------------------------------------------------

    def _on_take(self, journal_name: str, take_id: int) -> None:
        self._take_ids[journal_name] = take_id
