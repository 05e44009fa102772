"""What the OSC control-in drives on this stage: the cue engine, the devices and the take recorder.

:class:`StageControlActions` is the stage's :class:`~stagectl.control.protocol.ControlActions`. It is
given exactly what it drives when built (no way back to the stage). Every method runs on the I/O
loop, returns at once with a short text for the ``ok`` reply, and raises
:class:`~stagectl.core.errors.StageError` (the sender gets ``error`` with the message) for an unknown
cue, look, device or feature, or a value out of a feature's range. Takes: record (with slate
fields, else the current slate) and stop drive the stage's take recorder.
"""

from __future__ import annotations

from collections.abc import Mapping

from presets.cues import CueEngine
from stagectl.control.protocol import Setting, StateValue
from stagectl.core.device import Device
from stagectl.core.errors import StageError
from stagectl.core.text import did_you_mean
from stagectl.takes.recorder import Recorder


class StageControlActions:
    """The control-in's actions over ``engine``, ``devices`` (the stage's devices by name, the same
    ones the engine reaches: a device removed from the stage is unknown here too) and ``recorder``
    (None: a stage without takes refuses take commands)."""

    def __init__(self, engine: CueEngine, devices: Mapping[str, Device], recorder: Recorder | None) -> None:
        self.engine = engine
        self.devices = devices
        self.recorder = recorder

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
