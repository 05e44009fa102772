"""The stage's floor remote (``[web]``): the web server, given the stage's actions and its state.

:func:`make_web` builds the :class:`~stagectl.web.server.WebServer` (None without ``[web]``) over the
one :class:`~stagectl.control.actions.StageControlActions` the OSC control-in drives too;
:func:`web_state` is what its pages show, read on the I/O loop from the stage's live objects (the cue
engine itself, not a copy refreshed later: a change made anywhere shows at the next tick).
"""

from __future__ import annotations

import math
from typing import Any

from stagectl.config.model import StageConfig
from stagectl.control.actions import StageControlActions
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.stage.lighting import StageLighting
from stagectl.takes.recorder import Recorder
from stagectl.web.server import WebServer

#: Digits a device value keeps on the pages.
VALUE_DIGITS = 3


def _value(value: object) -> object:
    if isinstance(value, float):
        return round(value, VALUE_DIGITS) if math.isfinite(value) else None
    return value


def web_state(lighting: StageLighting, recorder: Recorder, clock: StageClock,
              actions: StageControlActions) -> dict[str, Any]:
    """The pages' state now (JSON values; I/O loop)."""
    engine = lighting.engine
    status = engine.status()
    latest = lighting.latest
    cues = {cue.number: cue for cue in latest.cues}
    live_cue = cues.get(status.live_cue or "")
    following = cues.get(status.next_cue or "")
    fade = next((f for f in status.fades if f.look is not None), None)
    nudges = actions.nudges
    ours = nudges.applied is not None and nudges.applied == status.live_look
    taking = recorder.status()
    slate = taking.slate
    return {
        "live_look": status.live_look or "", "live_cue": status.live_cue or "",
        "live_cue_label": live_cue.label if live_cue is not None else "",
        "next_cue": status.next_cue or "",
        "next_label": f"{following.number} {following.label or following.look}" if following else "",
        "held": status.held, "blackout": status.blackout, "fade_s": round(engine.default_fade_s, 3),
        "fading": fade is not None and not fade.waiting and fade.progress < 1.0,
        "nudged": ours and nudges.nudged, "can_undo": ours and nudges.can_undo,
        "can_redo": ours and nudges.can_redo,
        "looks": [look.name for look in latest.looks],
        "zones": sorted({z for look in latest.looks for z in look.zones if z != "frustum"}),
        "devices": [{"name": d.name, "kind": d.kind, "state": d.state.value, "detail": d.detail,
                     "values": {k: _value(v) for k, v in d.values.items()}} for d in latest.devices],
        "has_recorder": taking.ready, "recording": taking.recording, "take_name": taking.take_name,
        "tc_in": taking.tc_in, "timecode": str(clock.now()) if taking.recording else "",
        "last_take": taking.last_take, "last_take_id": taking.last_take_id,
        "slate": {"production": slate.production, "scene": slate.scene, "shot": slate.shot,
                  "take": slate.take},
        "takes_revision": actions.takes_revision,
        # the store's copy of the takes changed: the running take got its row, or a stopped one was
        # committed to the end (a list read at STOP still says "recording" until then)
        "takes_stored": (taking.take_id, not taking.recording and not taking.commit_pending
                         and not taking.journal_pending),
    }


def make_web(config: StageConfig, actions: StageControlActions, lighting: StageLighting, recorder: Recorder,
             clock: StageClock, events: EventQueue) -> WebServer | None:
    """The stage's web remote (None without ``[web]``)."""
    if config.web is None:
        return None
    return WebServer(config.web, actions, lambda: web_state(lighting, recorder, clock, actions),
                     takes_folder=recorder.folder, stage_name=config.name, events=events)
