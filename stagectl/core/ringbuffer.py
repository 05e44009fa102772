"""A fixed-size ring of recent camera samples for the live plots.

Written on the I/O thread (one row per sample), read by the GUI thread at 30 Hz as a copy.
A row is a plain tuple kept in a short list; rows enter the numpy array a batch at a time (one
slice assignment per :data:`BATCH_ROWS` rows, or when a reader asks), because one numpy call per
row cost more than everything else the ring does. A lock keeps a batch from being read
half-written; it is held for microseconds.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from stagectl.core.samples import CameraSample

#: Column order of :meth:`SampleRing.recent`.
COLUMNS = ("t_s", "x_m", "y_m", "z_m", "pan_deg", "tilt_deg", "roll_deg", "zoom_raw", "focus_raw")
#: Rows collected before they are written into the array in one call (a reader's copy writes them sooner).
BATCH_ROWS = 64
_NAN = float("nan")


class SampleRing:
    """The last ``capacity`` samples of one camera as float64 rows (see COLUMNS).

    ``t_s`` is monotonic seconds (``arrival_ns / 1e9``); missing zoom/focus are NaN.
    """

    def __init__(self, capacity: int = 16384) -> None:
        self._data = np.full((capacity, len(COLUMNS)), np.nan)
        self._capacity = capacity
        self._next = 0
        self._count = 0
        self.appended = 0
        """Rows appended since the ring was made (see :meth:`rows_since`)."""
        self._pending: list[tuple[float, ...]] = []
        self._lock = threading.Lock()

    def append(self, sample: CameraSample) -> None:
        """Store one sample (I/O thread)."""
        x, y, z = sample.translation_m
        pan, tilt, roll = sample.rotation_deg
        zoom, focus = sample.zoom_raw, sample.focus_raw
        row = (sample.arrival_ns / 1e9, x, y, z, pan, tilt, roll, _NAN if zoom is None else zoom,
               _NAN if focus is None else focus)
        with self._lock:
            pending = self._pending
            pending.append(row)
            self.appended += 1
            if len(pending) >= BATCH_ROWS:
                self._flush()
            if self._count < self._capacity:
                self._count += 1

    def _flush(self) -> None:
        """Write the pending rows into the array (the lock is held)."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        capacity, start = self._capacity, self._next
        if len(pending) > capacity:
            pending = pending[-capacity:]
        end = start + len(pending)
        if end <= capacity:
            self._data[start:end] = pending
        else:
            split = capacity - start
            self._data[start:] = pending[:split]
            self._data[:end - capacity] = pending[split:]
        self._next = end % capacity

    def recent(self, seconds: float | None = None, now_s: float | None = None) -> npt.NDArray[np.float64]:
        """A copy of the stored rows, oldest first; only the last ``seconds`` when given
        (relative to ``now_s``, default the newest row).

        Rows are stored in arrival order, so the first row kept is found by bisection and only the rows
        returned are copied (a 10 s window of a 500 Hz camera is a third of the ring).
        """
        with self._lock:
            self._flush()
            data, count, start = self._data, self._count, self._next
            if count < self._capacity:
                older, newer = data[:0], data[:count]
            else:
                older, newer = data[start:], data[:start]
            if seconds is not None and count:
                end = (newer[-1, 0] if len(newer) else older[-1, 0]) if now_s is None else now_s
                first = end - seconds
                if not len(newer) or newer[0, 0] >= first:  # the window reaches into the older part
                    older = older[int(np.searchsorted(older[:, 0], first)):]
                else:
                    older = data[:0]
                    newer = newer[int(np.searchsorted(newer[:, 0], first)):]
            return np.concatenate((older, newer)) if len(older) else newer.copy()

    def rows_since(self, appended: int) -> tuple[npt.NDArray[np.float64], int]:
        """(a copy of the rows appended after the first ``appended``, oldest first; :attr:`appended` now).

        Only the rows still kept: after more than the ring's capacity, its last ``capacity`` rows.
        """
        with self._lock:
            self._flush()
            total = self.appended
            new = min(total - appended, self._count)
            if new <= 0:
                return self._data[:0].copy(), total
            end, start = self._next, self._next - new
            if start >= 0:
                return self._data[start:end].copy(), total
            return np.concatenate((self._data[start:], self._data[:end])), total

    def __len__(self) -> int:
        return self._count
