"""A camera's recent samples thinned to what a time plot can show: per bin of time, the lowest and the
highest value of each channel (a spike stays in sight), in bins fixed to the clock.

Bins fixed to the clock (bin ``k`` holds the samples with ``k * width <= t < (k + 1) * width``) stay the
same from one view to the next: a new view adds the samples new since the last, which fill the bin in
progress or start new ones, and every bin already complete is kept as it was binned. Bins counted from the
newest sample instead move with every sample, so each view bins all ten seconds again, and a noisy
channel's envelope shimmers as its bins' edges slide.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stagectl.stage.view import HISTORY_S

Floats = npt.NDArray[np.float64]


def bin_rows(rows: Floats, columns: list[int], width: float) -> tuple[Floats, Floats, Floats, Floats]:
    """The bins of ``width`` seconds (fixed to the clock) that ``rows`` (time in column 0, ascending) fall
    in: (first sample time, last sample time, lowest, highest) per bin, the last two a row per column."""
    t = rows[:, 0]
    ids = np.floor(t / width)
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.zeros(len(change) + 1, dtype=np.intp)
    starts[1:] = change
    ends = np.full(len(starts), len(t) - 1, dtype=np.intp)
    ends[:-1] = change - 1
    values = rows[:, columns].T
    return (t[starts], t[ends], np.minimum.reduceat(values, starts, axis=1),
            np.maximum.reduceat(values, starts, axis=1))


class PeakBins:
    """Thins successive windows of one camera's samples for the plots, binning only the samples new since
    the last window (see the module docstring).

    A window that does not continue the last one (another camera, a history that started again), other
    columns or another number of bins start the binning afresh.

    Args:
        seconds: the time a plot's width shows; a bin is ``seconds / bins`` long.

    Attributes:
        rebinned: how many windows were binned from their first sample (not continued).
    """

    def __init__(self, seconds: float = HISTORY_S) -> None:
        self.seconds = seconds
        self.rebinned = 0
        self._key: tuple[tuple[int, ...], int] | None = None
        self._first: Floats = np.empty(0)
        self._last: Floats = np.empty(0)
        self._lows: Floats = np.empty((0, 0))
        self._highs: Floats = np.empty((0, 0))
        self._open_t = np.nan  # time of the first sample of the bin in progress (not kept: it may grow)
        self._before_open = np.nan  # time of the sample before it (the last of the bins kept)

    def __call__(self, rows: Floats, columns: list[int], bins: int) -> tuple[Floats, Floats]:
        """The times and ``columns`` of ``rows`` (oldest first; time in column 0) in bins of
        ``seconds / bins``: (times, values with one row per column), two points per bin. With fewer than two
        rows a bin, the rows as they are."""
        if len(rows) < 2 * max(1, bins):
            self._key = None
            return rows[:, 0], np.ascontiguousarray(rows[:, columns].T)
        t = rows[:, 0]
        key = (tuple(columns), bins)
        start = int(np.searchsorted(t, self._open_t)) if key == self._key else 0
        continues = (0 < start < len(t) and t[start] == self._open_t and t[start - 1] == self._before_open)
        if not continues:
            self._reset(key, len(columns))
            start = 0
        first, last, lows, highs = bin_rows(rows[start:], columns, self.seconds / bins)
        if len(first) > 1:  # all but the bin in progress are complete: kept from now on
            self._first = np.concatenate((self._first, first[:-1]))
            self._last = np.concatenate((self._last, last[:-1]))
            self._lows = np.concatenate((self._lows, lows[:, :-1]), axis=1)
            self._highs = np.concatenate((self._highs, highs[:, :-1]), axis=1)
            self._before_open = last[-2]
        self._open_t = first[-1]
        self._cut(rows, columns)
        kept = 2 * len(self._first)  # the bins kept, then the bin in progress
        times, values = np.empty(kept + 2), np.empty((len(columns), kept + 2))
        times[0:kept:2], times[1:kept:2] = self._first, self._last
        times[kept], times[kept + 1] = first[-1], last[-1]
        values[:, 0:kept:2], values[:, 1:kept:2] = self._lows, self._highs
        values[:, kept], values[:, kept + 1] = lows[:, -1], highs[:, -1]
        return times, values

    def _cut(self, rows: Floats, columns: list[int]) -> None:
        """Keep the window's part of the bins kept: those that ended before its first sample go, and the one
        it begins in is binned again from its samples in the window (one bin: a few samples)."""
        t0 = rows[0, 0]
        gone = int(np.searchsorted(self._last, t0))
        if gone:
            self._first, self._last = self._first[gone:], self._last[gone:]
            self._lows, self._highs = self._lows[:, gone:], self._highs[:, gone:]
        if len(self._first) and self._first[0] <= t0:  # (<=: samples at one instant may have gone before it)
            inside = rows[:int(np.searchsorted(rows[:, 0], self._last[0], side="right")), columns]
            self._first[0] = t0
            self._lows[:, 0], self._highs[:, 0] = inside.min(axis=0), inside.max(axis=0)

    def _reset(self, key: tuple[tuple[int, ...], int], channels: int) -> None:
        self.rebinned += 1
        self._key = key
        self._first, self._last = np.empty(0), np.empty(0)
        self._lows, self._highs = np.empty((channels, 0)), np.empty((channels, 0))
        self._open_t = self._before_open = np.nan
