"""The recent samples and inter-arrival times a :class:`~stagectl.stage.view.StageView` carries for the
cameras the window plots.

A view carries a camera's last seconds of samples (a few thousand rows at 500 Hz) and is made up to sixty
times a second. Copied whole into every view, those rows were a fifth of the cost of making one. Here each
camera's rows go into an append-only buffer as they arrive, and a view's history is a read-only window onto
it: a row inside a window handed out is never written again (new rows go after it; a full buffer is
replaced by a new one, and windows already handed out keep the old one), so every view still holds
an immutable copy of its moment while only the rows new since the last view are copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from stagectl.core.ringbuffer import COLUMNS, SampleRing
from tracking.source import TrackingSource

__all__ = ["History", "ViewHistories", "ViewHistory", "intervals_of"]

History = npt.NDArray[np.float64]
#: Rows a new buffer has room for at least (it grows to twice the rows it starts with).
MIN_BUFFER_ROWS = 4096


class ViewHistory:
    """One camera's recent rows for the views (see the module docstring); used on the I/O loop.

    Args:
        ring: the camera's sample ring (its rows in ``COLUMNS`` order).
        seconds: how far back a window reaches.
    """

    def __init__(self, ring: SampleRing, seconds: float) -> None:
        self._ring = ring
        self._seconds = seconds
        self._seen = 0
        self._buffer: History = np.empty((0, len(COLUMNS)))
        self._start = 0
        self._end = 0

    def window(self, now_s: float) -> History:
        """The rows of the last ``seconds`` before ``now_s`` (monotonic seconds, never less than the last
        call's), oldest first; read-only. The rows ``ring.recent(seconds, now_s=now_s)`` copies, while the
        ring holds that long."""
        rows, self._seen = self._ring.rows_since(self._seen)
        if len(rows):
            self._append(rows)
        kept = self._buffer[self._start:self._end]
        first = self._start + int(np.searchsorted(kept[:, 0], now_s - self._seconds))
        self._start = first
        out = self._buffer[first:self._end]
        out.flags.writeable = False
        return out

    def _append(self, rows: History) -> None:
        end = self._end + len(rows)
        if end > len(self._buffer):  # full: the rows still wanted and the new ones into a new buffer
            kept = self._buffer[self._start:self._end]
            buffer = np.empty((max(MIN_BUFFER_ROWS, 2 * (len(kept) + len(rows))), len(COLUMNS)))
            buffer[:len(kept)] = kept
            self._buffer, self._start, self._end = buffer, 0, len(kept)
            end = self._end + len(rows)
        self._buffer[self._end:end] = rows
        self._end = end


class ViewHistories:
    """The :class:`ViewHistory` of each camera the window plots (made when first asked for; dropped when a
    view no longer asks for that camera)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._cameras: dict[str, ViewHistory] = {}

    def windows(self, rings: Mapping[str, SampleRing], cameras: Iterable[str], now_s: float
                ) -> dict[str, History]:
        """Camera -> its window at ``now_s`` for each of ``cameras`` that has a ring."""
        out: dict[str, History] = {}
        kept: dict[str, ViewHistory] = {}
        for name in cameras:
            ring = rings.get(name)
            if ring is None:
                continue
            history = self._cameras.get(name) or ViewHistory(ring, self._seconds)
            kept[name] = history
            out[name] = history.window(now_s)
        self._cameras = kept
        return out


def intervals_of(sources: Iterable[TrackingSource], cameras: Iterable[str]
                 ) -> dict[str, npt.NDArray[np.float64]]:
    """The inter-arrival times (ms) of the sources of ``cameras``: what the window plots, no more."""
    wanted = set(cameras)
    out: dict[str, npt.NDArray[np.float64]] = {}
    for source in sources:
        if source.camera.name in wanted:
            ms = np.array(source.health.recent_intervals_ns(), dtype=np.float64) / 1e6
            ms.flags.writeable = False
            out[source.name] = ms
    return out
