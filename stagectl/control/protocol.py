"""What the OSC control-in drives: the :class:`ControlActions` protocol routes call and the server runs.

Its own module so that :mod:`stagectl.control.routes` (what an address means) and
:mod:`stagectl.control.server` (the socket) both name it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

Setting = float | int | bool | str
"""A value for ``device_set``."""

StateValue = float | int | str | bool
"""One ``/stagectl/state/<key>`` value."""


class ControlActions(Protocol):
    """What the control server drives; :class:`stagectl.control.actions.StageControlActions` is the
    stage's.

    Called on the I/O loop: return quickly (start fades and writes as tasks, never wait for a
    device). Each returns a short text for the ``ok`` reply (``"cue 3 'Golden hour' running"``);
    raise :class:`~stagectl.core.errors.StageError` with a message for the sender to refuse.
    """

    def cue_go(self) -> str:
        """Fire the next cue."""
        ...

    def cue_back(self) -> str:
        """Go back one cue."""
        ...

    def cue_goto(self, number: str) -> str:
        """Fire cue ``number`` (as written in the cue list: ``"3"``, ``"3.5"``)."""
        ...

    def look_recall(self, name: str) -> str:
        """Recall the look called ``name``."""
        ...

    def device_set(self, device: str, feature: str, value: Setting) -> str:
        """Set one feature of one device now (value checked by the device's Feature)."""
        ...

    def device_fade(self, device: str, feature: str, value: float, seconds: float) -> str:
        """Fade one feature to ``value`` over ``seconds`` (0..3600)."""
        ...

    def blackout(self) -> str:
        """Black out the wall."""
        ...

    def take_record(self, slate: Mapping[str, str]) -> str:
        """Start recording a take with these slate fields (may be empty)."""
        ...

    def take_stop(self) -> str:
        """Stop recording."""
        ...

    def hold(self, on: bool) -> str:
        """HOLD every running fade (``on``) or let them go on."""
        ...

    def fade_time(self, seconds: float) -> str:
        """Set the fade time of a look recalled without one (0..3600 s)."""
        ...

    def nudge(self, kind: str, amount: float, zone: str = "") -> str:
        """Nudge the live look (``brightness`` stops, ``cct`` mired, ``tint`` Duv) in ``zone`` ("": all)."""
        ...

    def nudge_undo(self) -> str:
        """Take back the last nudge."""
        ...

    def nudge_redo(self) -> str:
        """Do the last undone nudge again."""
        ...

    def take_note(self, text: str) -> str:
        """A note into the take in progress (timestamped by the recorder)."""
        ...

    def slate(self, fields: Mapping[str, str]) -> str:
        """Change the slate (production, scene, shot, take)."""
        ...

    def take_flags(self, take_id: int | None, *, circled: bool | None = None,
                   no_good: bool | None = None) -> str:
        """Circle or mark NG a stored take, None: the last one recorded (written off the loop)."""
        ...

    def state(self) -> Mapping[str, StateValue]:
        """What replies report as ``/stagectl/state/<key>``: live look, cue, blackout, take, ..."""
        ...
