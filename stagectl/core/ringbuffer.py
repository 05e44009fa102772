"""A fixed-size ring of recent camera samples for the live plots.

Written on the I/O thread (one row per sample), read by the GUI thread at 30 Hz as a copy.
A lock keeps a row from being read half-written; it is held for microseconds.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from stagectl.core.samples import CameraSample

#: Column order of :meth:`SampleRing.recent`.
COLUMNS = ("t_s", "x_m", "y_m", "z_m", "pan_deg", "tilt_deg", "roll_deg", "zoom_raw", "focus_raw")


class SampleRing:
    """The last ``capacity`` samples of one camera as float64 rows (see COLUMNS).

    ``t_s`` is monotonic seconds (``arrival_ns / 1e9``); missing zoom/focus are NaN.
    """

    def __init__(self, capacity: int = 16384) -> None:
        self._data = np.full((capacity, len(COLUMNS)), np.nan)
        self._capacity = capacity
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()

    def append(self, sample: CameraSample) -> None:
        """Store one sample (I/O thread)."""
        x, y, z = sample.translation_m
        pan, tilt, roll = sample.rotation_deg
        zoom = np.nan if sample.zoom_raw is None else sample.zoom_raw
        focus = np.nan if sample.focus_raw is None else sample.focus_raw
        row = (sample.arrival_ns / 1e9, x, y, z, pan, tilt, roll, zoom, focus)
        with self._lock:
            self._data[self._next] = row
            self._next = (self._next + 1) % self._capacity
            if self._count < self._capacity:
                self._count += 1

    def recent(self, seconds: float | None = None, now_s: float | None = None) -> npt.NDArray[np.float64]:
        """A copy of the stored rows, oldest first; only the last ``seconds`` when given
        (relative to ``now_s``, default the newest row)."""
        with self._lock:
            if self._count < self._capacity:
                rows = self._data[: self._count].copy()
            else:
                rows = np.concatenate((self._data[self._next:], self._data[: self._next]))
        if seconds is not None and len(rows):
            end = rows[-1, 0] if now_s is None else now_s
            rows = rows[rows[:, 0] >= end - seconds]
        return rows

    def __len__(self) -> int:
        return self._count
