"""Measured delay: how much later the picture shows a camera move than its tracking does.

The picture's global motion per frame (:mod:`.image`: phase correlation on a grid of tiles, the median
shift, so an actor moving in frame does not pull it), the tracking's rotation per frame interval at the
same times (:mod:`.tracking`), and the lag that best lines the two up (:mod:`.lag`: normalised
cross-correlation over +-300 ms, refined below a frame, with its uncertainty). :mod:`.video` reads a
picture source through OpenCV (a capture device, a stream, or a file played at its own rate as if live).
Pure numpy and OpenCV: the stage (live) and conform (a recorded clip against its take) both call it.
docs/delay.md has the maths.
"""

from stagectl.takes.motion.errors import (
    DelayMeasureError,
    FlatPicture,
    MotionMismatch,
    NotEnoughMotion,
    ZoomDuringCapture,
)
from stagectl.takes.motion.image import FrameMotion, MotionTracker
from stagectl.takes.motion.lag import DelayResult, MotionCurves, measure_lag
from stagectl.takes.motion.tracking import TrackingPath

__all__ = ["DelayMeasureError", "DelayResult", "FlatPicture", "FrameMotion", "MotionCurves", "MotionMismatch",
           "MotionTracker", "NotEnoughMotion", "TrackingPath", "ZoomDuringCapture", "measure_lag"]
