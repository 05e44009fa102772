"""A picture source through OpenCV's VideoCapture: a capture device, a stream, or a file played as if live.

``SOURCE`` is what VideoCapture opens: a device index (``0``) or path (``/dev/video2``: a UVC or HDMI
grabber, a V4L2 SDI card), a stream URL, or a recorded clip. A clip plays at its own frame rate as if it
were live: frame ``n`` is due ``n / fps`` after the first and is stamped with that time (on the
monotonic clock, the clock tracking samples are stamped with), so the command can be tried and tested
without a capture card. A live frame is stamped when it arrives (the capture path's own latency is then
part of what is measured: docs/delay.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from stagectl.takes.motion.errors import DelayMeasureError

__all__ = ["Frame", "VideoSource", "open_video"]


@dataclass(frozen=True, slots=True)
class Frame:
    """A picture frame (BGR, as OpenCV gives it) and its time in monotonic seconds."""

    image: npt.NDArray[np.uint8]
    time_s: float
    index: int


class VideoSource:
    """An opened picture source; iterate :meth:`frames`. Close it (or use ``with``) when done.

    Attributes:
        name: the SOURCE as given.
        is_file: True for a recorded clip (played at its own rate).
        fps: the source's frame rate as it reports it (0 when it does not).
        size: (width, height) of its frames.
    """

    def __init__(self, name: str, capture: cv2.VideoCapture, is_file: bool) -> None:
        self.name = name
        self._capture = capture
        self.is_file = is_file
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the device or file."""
        self._capture.release()

    def frames(self, seconds: float | None, cancel: threading.Event | None = None, *,
               paced: bool = True) -> Iterator[Frame]:
        """Frames for ``seconds`` (None: to the end of a clip), until ``cancel`` is set.

        A clip is paced to its frame rate (``paced=False``: as fast as it decodes, still stamped
        ``n / fps`` apart from the start: for reading a recorded clip after the fact)."""
        cancel = cancel or threading.Event()
        if self.is_file and not self.fps > 0:
            raise DelayMeasureError(f"{self.name}: the clip does not say its frame rate; re-wrap it (e.g. as "
                                    "MOV) and measure again")
        start = time.monotonic()
        index = 0
        while not cancel.is_set():
            due = start + index / self.fps if self.is_file else time.monotonic()
            if seconds is not None and due - start >= seconds:
                return
            if self.is_file and paced:
                wait = due - time.monotonic()
                if wait > 0 and cancel.wait(wait):
                    return
            ok, image = self._capture.read()
            if not ok or image is None:
                if self.is_file or index > 0:
                    return
                raise DelayMeasureError(f"{self.name}: no picture arrived; check the cable, the input "
                                        "format and that no other program holds the device")
            stamp = due if self.is_file else time.monotonic()
            yield Frame(np.asarray(image, dtype=np.uint8), stamp, index)
            index += 1


def open_video(source: str) -> VideoSource:
    """Open ``source`` (see the module docstring); DelayMeasureError naming it and what to do."""
    text = source.strip()
    is_file = Path(text).is_file()
    target: int | str = int(text) if text.isdigit() else text
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        capture.release()
        hint = ("a capture device index (0), a device path (/dev/video0), a stream URL or a video file"
                if not is_file else "a video file OpenCV can decode (MOV, MP4, MXF)")
        raise DelayMeasureError(f"cannot open the video source {source!r}: give {hint}")
    return VideoSource(text, capture, is_file)
