"""The undo history of live nudges, without Qt: the floor's remote (and anything headless) undoes with it.

A :class:`NudgeHistory` follows one *working look*: the live look as recalled, changed by nudges.
Each nudge pushes a step (the look before and after); nudges of the same kind less than
:data:`MERGE_WINDOW_S` apart merge into one step, as the DP panel's QUndoStack does: a quick run of
presses on one button is one gesture, and undo takes back the gesture. A new live look (a GO or a
recall from anywhere) starts a fresh history (:meth:`NudgeHistory.follow`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from presets.model import Look
from presets.nudge import nudge_brightness, nudge_cct, nudge_tint

#: Presses of one nudge kind closer than this (seconds) are one undo step.
MERGE_WINDOW_S = 1.0
#: Undo steps kept; the oldest are forgotten beyond this.
MAX_STEPS = 100
#: What a nudge kind changes, and the unit its amount is in.
NUDGES: dict[str, tuple[Callable[[Look, float, Iterable[str] | None], Look], str]] = {
    "brightness": (nudge_brightness, "stops"),
    "cct": (nudge_cct, "mired"),
    "tint": (nudge_tint, "Duv"),
}


@dataclass(slots=True)
class NudgeStep:
    """One undo step: the working look ``before`` and ``after`` a nudge (or a merged run of them)."""

    kind: str
    before: Look
    after: Look
    at: float


class NudgeHistory:
    """Undo/redo of nudges of one working look (see the module docstring). Not thread-safe: one owner."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._done: list[NudgeStep] = []
        self._undone: list[NudgeStep] = []
        self.working: Look | None = None
        """The look as nudged now (None: no live look to nudge)."""
        self.applied: str | None = None
        """The name of the look this history follows (the live look it was started from)."""

    def follow(self, live: Look | None) -> None:
        """Start again from ``live`` (the live look as stored; None: nothing to nudge)."""
        self.working = live
        self.applied = None if live is None else live.name
        self._done.clear()
        self._undone.clear()

    @property
    def can_undo(self) -> bool:
        """True when there is a step to take back."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """True when an undone step can be done again."""
        return bool(self._undone)

    @property
    def nudged(self) -> bool:
        """True when the working look differs from the look as recalled."""
        return bool(self._done)

    def nudge(self, kind: str, amount: float, zones: Iterable[str] | None = None) -> Look | None:
        """Change the working look by ``amount`` (stops, mired or Duv) in ``zones`` (None: every light
        zone); the new working look, or None when nothing changed (no look, a value at its limit).
        KeyError for an unknown kind (see :data:`NUDGES`)."""
        change = NUDGES[kind][0]
        before = self.working
        if before is None:
            return None
        after = change(before, amount, None if zones is None else list(zones))
        if after == before:
            return None
        now = self._clock()
        last = self._done[-1] if self._done else None
        if last is not None and last.kind == kind and now - last.at <= MERGE_WINDOW_S and not self._undone:
            last.after, last.at = after, now
        else:
            self._done.append(NudgeStep(kind, before, after, now))
            del self._done[:-MAX_STEPS]
        self._undone.clear()
        self.working = after
        return after

    def undo(self) -> Look | None:
        """Take back the last step; the look to apply, or None when there is nothing to undo."""
        if not self._done:
            return None
        step = self._done.pop()
        self._undone.append(step)
        self.working = step.before
        return step.before

    def redo(self) -> Look | None:
        """Do the last undone step again; the look to apply, or None when there is nothing to redo."""
        if not self._undone:
            return None
        step = self._undone.pop()
        step.at = -MERGE_WINDOW_S * 2  # a redone step never absorbs the next press
        self._done.append(step)
        self.working = step.after
        return step.after
