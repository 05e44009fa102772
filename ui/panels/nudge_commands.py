"""Undoable look changes for the DP panel: each nudge or A/B switch is a QUndoCommand.

A command holds the working look before and after and, on redo/undo, asks the panel to apply one
of them (the panel sends it to the cue engine with a short fade). Nudges of the same kind less
than :data:`MERGE_WINDOW_S` apart merge into one undo step (Qt's ``mergeWith``): a quick run of
clicks on one button is one gesture, and "undo" takes back the gesture, not one click of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from presets.model import Look

#: Command ids for merging (Qt: -1 never merges).
MERGE_IDS = {"brightness": 1, "cct": 2, "tint": 3}
MERGE_WINDOW_S = 1.0


class LookChange(QUndoCommand):
    """Working look ``before`` -> ``after``; ``apply`` sends a look (on redo: after, on undo: before)."""

    def __init__(self, text: str, kind: str, before: Look, after: Look,
                 apply: Callable[[Look], None]) -> None:
        super().__init__(text)
        self.kind = kind
        self.before = before
        self.after = after
        self._apply = apply
        self.at = time.monotonic()

    def id(self) -> int:
        """Nudges of one kind merge; A/B switches and other changes never do."""
        return MERGE_IDS.get(self.kind, -1)

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb the next nudge of the same kind (its ``after`` becomes ours)."""
        if not isinstance(other, LookChange) or other.kind != self.kind:
            return False
        if other.at - self.at > MERGE_WINDOW_S:
            return False
        self.after = other.after
        self.at = other.at
        return True

    def redo(self) -> None:
        """Apply ``after``."""
        self._apply(self.after)

    def undo(self) -> None:
        """Apply ``before``."""
        self._apply(self.before)
