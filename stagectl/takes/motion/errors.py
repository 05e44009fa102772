"""Why a delay measurement gives no number: each a StageError whose message says what to do."""

from __future__ import annotations

from stagectl.core.errors import StageError

__all__ = ["DelayMeasureError", "FlatPicture", "MotionMismatch", "NotEnoughMotion", "ZoomDuringCapture"]


class DelayMeasureError(StageError):
    """The measurement refused to give a delay (or could not run); the message says why and what to do."""


class NotEnoughMotion(DelayMeasureError):
    """The camera hardly moved during the capture (tracking or picture)."""


class ZoomDuringCapture(DelayMeasureError):
    """The lens zoomed during the capture: image motion is then not the camera's rotation alone."""


class FlatPicture(DelayMeasureError):
    """The picture has too little texture to see motion in (a blank wall, a lens cap, no signal)."""


class MotionMismatch(DelayMeasureError):
    """Picture and tracking motion do not line up at any lag in the search window."""
