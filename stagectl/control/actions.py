"""What the OSC control-in drives on this stage: the cue engine, the devices and the take recorder.

:class:`StageControlActions` is the stage's :class:`~stagectl.control.protocol.ControlActions`. It is
given exactly what it drives when built (no way back to the stage). Every method runs on the I/O
loop, returns at once with a short text for the ``ok`` reply, and raises
:class:`~stagectl.core.errors.StageError` (the sender gets ``error`` with the message) for an unknown
cue, look, device or feature, or a value out of a feature's range. Takes: record (with slate
fields, else the current slate) and stop drive the stage's take recorder.

The floor's remote (:mod:`stagectl.web`) drives the stage through the same object: hold, the fade
time of a recalled look, nudges of the live look with undo/redo (:class:`presets.nudge_history.NudgeHistory`),
notes into the running take, the slate, and circle / NG of stored takes (written to the take store on
the loop's default executor: the loop never waits for the disk).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping

from presets.cues import CueEngine
from presets.nudge_history import NUDGES, NudgeHistory
from stagectl.control.protocol import Setting, StateValue
from stagectl.core.device import Device
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.text import did_you_mean
from stagectl.takes.recorder import Recorder
from stagectl.takes.store import TakeStore

#: Fade of one nudge, undo or redo (seconds): quick enough to follow the finger, slow enough not to flash.
NUDGE_FADE_S = 0.3
#: Longest fade time the remote may set (seconds), as ``[looks] fade_s``.
MAX_FADE_S = 3600.0
#: Slate fields the remote may change.
SLATE_FIELDS = ("production", "scene", "shot", "take")


class StageControlActions:
    """The control-in's actions over ``engine``, ``devices`` (the stage's devices by name, the same
    ones the engine reaches: a device removed from the stage is unknown here too) and ``recorder``
    (None: a stage without takes refuses take commands). ``takes_changed`` is called (on the loop) after
    a take's flags were written (the facility replicator is woken); ``events`` gets a failed write.

    Attributes:
        nudges: the undo history of the remote's nudges of the live look.
        takes_revision: counts flag writes finished (a reader of the stored takes reads them again).
    """

    def __init__(self, engine: CueEngine, devices: Mapping[str, Device], recorder: Recorder | None, *,
                 takes_changed: Callable[[], None] | None = None, events: EventQueue | None = None) -> None:
        self.engine = engine
        self.devices = devices
        self.recorder = recorder
        self.nudges = NudgeHistory()
        self.takes_revision = 0
        self._takes_changed = takes_changed
        self._events = events
        self._writes: set[asyncio.Future[int]] = set()

    def cue_go(self) -> str:
        """GO: fire the next cue."""
        cue = self.engine.go()
        return "end of the cue list" if cue is None else f"cue {cue.number} {cue.look!r}"

    def cue_back(self) -> str:
        """BACK: fire the cue before the last one."""
        cue = self.engine.back()
        return "top of the cue list" if cue is None else f"cue {cue.number} {cue.look!r}"

    def cue_goto(self, number: str) -> str:
        """Fire cue ``number``."""
        cue = self.engine.goto(number)
        return f"cue {cue.number} {cue.look!r}"

    def look_recall(self, name: str) -> str:
        """Recall a look with the stage's default fade."""
        group = self.engine.recall(name)
        return f"look {name!r} in {group.duration_s:g} s"

    def device_set(self, device: str, feature: str, value: Setting) -> str:
        """Set one feature now (checked against its range)."""
        target = self.devices.get(device)
        if target is None:
            names = tuple(self.devices)
            raise StageError(f"no device {device!r}{did_you_mean(device, names)} "
                             f"(devices: {', '.join(names) or 'none'})")
        checked = target.set(feature, value)
        return f"{device}/{feature} = {checked}"

    def device_fade(self, device: str, feature: str, value: float, seconds: float) -> str:
        """Fade one feature over ``seconds``."""
        self.engine.fade_feature(device, feature, value, seconds)
        return f"{device}/{feature} -> {value:g} in {seconds:g} s"

    def blackout(self) -> str:
        """BLACKOUT now (the desk asked for it: no confirmation over OSC)."""
        self.engine.blackout()
        return "blackout"

    def hold(self, on: bool) -> str:
        """HOLD every running fade where it is (``on``), or let them go on."""
        self.engine.hold(bool(on))
        return "fades held" if on else "fades released"

    def fade_time(self, seconds: float) -> str:
        """The fade time of a look recalled without one (the stage's default fade), 0..3600 s."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) \
                or not 0.0 <= seconds <= MAX_FADE_S:
            raise StageError(f"fade time must be a number of seconds 0..{MAX_FADE_S:g}, got {seconds!r}")
        self.engine.default_fade_s = float(seconds)
        return f"fade time {float(seconds):g} s"

    def _follow_live(self) -> None:
        """A new live look (a GO or recall from anywhere) starts a fresh nudge history."""
        live = self.engine.status().live_look
        if live != self.nudges.applied:
            self.nudges.follow(None if live is None else self.engine.store.find(live))

    def nudge(self, kind: str, amount: float, zone: str = "") -> str:
        """Nudge the live look: ``kind`` brightness (stops), cct (mired) or tint (Duv) by ``amount`` in
        ``zone`` ("": every light zone), applied with a short fade; undoable."""
        if kind not in NUDGES:
            raise StageError(f"no nudge {kind!r}{did_you_mean(kind, tuple(NUDGES))} "
                             f"(nudges: {', '.join(NUDGES)})")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
            raise StageError(f"nudge amount must be a finite number, got {amount!r}")
        self._follow_live()
        if self.nudges.working is None:
            raise StageError("no live look to nudge: recall a look or fire a cue first")
        look = self.nudges.nudge(kind, float(amount), [zone] if zone else None)
        if look is None:
            return f"{kind} unchanged (at its limit, or not in that zone)"
        self.engine.apply(look, NUDGE_FADE_S, "linear", what="nudge")
        return f"{kind} {amount:+g} {NUDGES[kind][1]}" + (f" in {zone}" if zone else "")

    def nudge_undo(self) -> str:
        """Take back the last nudge (a run of quick presses on one button is one step)."""
        self._follow_live()
        look = self.nudges.undo()
        if look is None:
            return "nothing to undo"
        self.engine.apply(look, NUDGE_FADE_S, "linear", what="nudge undo")
        return "nudge undone"

    def nudge_redo(self) -> str:
        """Do the last undone nudge again."""
        self._follow_live()
        look = self.nudges.redo()
        if look is None:
            return "nothing to redo"
        self.engine.apply(look, NUDGE_FADE_S, "linear", what="nudge redo")
        return "nudge redone"

    def take_note(self, text: str) -> str:
        """A note into the take in progress, timestamped by the recorder (refused when not recording)."""
        note = str(text).strip()
        if not note:
            raise StageError("the note is empty: type something first")
        self._recorder().note(note)
        return "note added"

    def slate(self, fields: Mapping[str, str]) -> str:
        """Change the slate (production, scene, shot, take); refused for a bad field or take number."""
        unknown = sorted(set(fields) - set(SLATE_FIELDS))
        if unknown:
            raise StageError(f"unknown slate field(s) {', '.join(unknown)}; known: {', '.join(SLATE_FIELDS)}")
        slate = self._recorder().set_slate(**dict(fields))
        return f"slate {slate.production + ' ' if slate.production else ''}{slate.label}"

    def take_flags(self, take_id: int | None, *, circled: bool | None = None,
                   no_good: bool | None = None) -> str:
        """Circle or mark NG a stored take (``take_id`` None: the last take recorded); written to the take
        store on the loop's default executor (:meth:`pending_writes` are the writes not finished yet)."""
        recorder = self._recorder()
        if take_id is None:
            take_id = recorder.status().last_take_id
            if take_id is None:
                raise StageError("no take recorded yet on this stage: nothing to flag")
        flags = {key: bool(value) for key, value in (("circled", circled), ("no_good", no_good))
                 if value is not None}
        if not flags:
            raise StageError("say what to change: circled and/or no_good")
        if isinstance(take_id, bool) or not isinstance(take_id, int) or take_id < 1:
            raise StageError(f"take id must be a whole number >= 1, got {take_id!r}")
        folder = recorder.folder

        def write() -> int:
            with TakeStore(folder) as store:
                store.set_flags(take_id, circled=flags.get("circled"), no_good=flags.get("no_good"))
            return take_id

        future = asyncio.get_running_loop().run_in_executor(None, write)
        self._writes.add(future)
        future.add_done_callback(self._written)
        return f"take {take_id}: " + ", ".join(f"{k} {'on' if v else 'off'}" for k, v in flags.items())

    def _written(self, future: asyncio.Future[int]) -> None:
        self._writes.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            if self._events is not None:
                self._events.post(Level.ERROR, "takes", "error", f"take flags not written: {exc}")
            return
        self.takes_revision += 1
        if self._takes_changed is not None:
            self._takes_changed()

    def pending_writes(self) -> tuple[asyncio.Future[int], ...]:
        """The take-flag writes still running (a caller may await them before showing the takes)."""
        return tuple(self._writes)

    def _recorder(self) -> Recorder:
        if self.recorder is None:
            raise StageError("this stage has no take recorder")
        return self.recorder

    def take_record(self, slate: Mapping[str, str]) -> str:
        """Record a take: ``slate`` fields (scene, shot, take, production, notes) change the slate
        first; none: the current slate. Refused while recording or with a bad field."""
        recorder = self._recorder()
        name = recorder.record(**dict(slate))
        tc = recorder.status().tc_in
        return f"recording {name}" + (f" from {tc}" if tc else "")

    def take_stop(self) -> str:
        """Stop the take in progress (refused when not recording)."""
        return f"stopped {self._recorder().stop()}"

    def state(self) -> Mapping[str, StateValue]:
        """Live look and cue, next cue, blackout and hold (and the take, with a recorder): sent with
        every reply."""
        status = self.engine.status()
        state: dict[str, StateValue] = {
            "running": True, "live_look": status.live_look or "", "live_cue": status.live_cue or "",
            "next_cue": status.next_cue or "", "blackout": status.blackout, "held": status.held}
        if self.recorder is not None:
            take = self.recorder.status()
            state["recording"] = take.recording
            state["take"] = take.take_name or take.last_take
        return state
