"""A time plot's bins: fixed to the clock, the samples new since the last view binned on their own, and
every window's bins exactly those of binning that window afresh."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from ui.peaks import PeakBins, bin_rows

COLUMNS = [1, 3, 2]
SECONDS = 1.0


def _afresh(rows: npt.NDArray[np.float64], bins: int) -> tuple[npt.NDArray[np.float64], ...]:
    """The window binned on its own: a bin's lowest at its first sample's time, its highest at its last's."""
    if len(rows) < 2 * bins:
        return rows[:, 0], rows[:, COLUMNS].T
    first, last, lows, highs = bin_rows(rows, COLUMNS, SECONDS / bins)
    times = np.ravel(np.column_stack((first, last)))
    values = np.stack((lows, highs), axis=2).reshape(len(COLUMNS), -1)
    return times, values


def _series(gaps: list[int], seed: int, start: float) -> npt.NDArray[np.float64]:
    """Rows with times from ``gaps`` (ms, 0 for two samples at one instant) and random values, some NaN."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(len(gaps), 4)) * 10.0
    rows[rng.random(rows.shape) < 0.01] = np.nan
    rows[:, 0] = start + np.cumsum(gaps) / 1000.0
    return rows


@settings(max_examples=150, deadline=None)
@given(gaps=st.lists(st.integers(0, 9), min_size=40, max_size=600), seed=st.integers(0, 2**16),
       start=st.floats(0.0, 1e5), bins=st.integers(1, 40),
       cuts=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 80)), min_size=1, max_size=25))
def test_every_window_is_binned_as_if_afresh(gaps: list[int], seed: int, start: float, bins: int,
                                             cuts: list[tuple[int, int]]) -> None:
    rows = _series(gaps, seed, start)
    peaks = PeakBins(SECONDS)
    first, end = 0, 0
    for drop, grow in cuts:  # windows that move on: the oldest rows drop out, new ones arrive
        end = min(len(rows), end + grow)
        first = min(end - 1, first + drop)
        window = rows[first:end]
        got_t, got_v = peaks(window, COLUMNS, bins)
        want_t, want_v = _afresh(window, bins)
        np.testing.assert_array_equal(got_t, want_t)
        np.testing.assert_array_equal(got_v, want_v)


def test_a_view_bins_only_what_is_new_and_starts_again_for_another_camera() -> None:
    a, b = _series([2] * 5000, 1, 100.0), _series([2] * 5000, 2, 300.0)  # 500 Hz, 10 s each
    peaks = PeakBins(10.0)
    for end in range(1000, 5000, 8):  # 8 new samples a view, the window 2 s long
        peaks(a[max(0, end - 1000):end], COLUMNS, 100)
    assert peaks.rebinned == 1  # binned from its first sample once; every later view continued
    peaks(b[:1000], COLUMNS, 100)
    assert peaks.rebinned == 2
    peaks(b[:1008], COLUMNS, 50)  # another width: other bins
    assert peaks.rebinned == 3


def test_bins_stay_put_as_samples_arrive() -> None:
    """A complete bin is drawn the same in every later view (bins counted back from the newest sample
    would slide with every sample and draw a noisy channel differently each time)."""
    rows = _series([2] * 3000, 3, 50.0)
    peaks = PeakBins(6.0)
    t1, v1 = peaks(rows[:2000], COLUMNS, 300)
    t2, v2 = peaks(rows[:2003], COLUMNS, 300)
    np.testing.assert_array_equal(t1[:-2], t2[:len(t1) - 2])
    np.testing.assert_array_equal(v1[:, :-2], v2[:, :len(t1) - 2])
    assert v1.shape == (3, len(t1)) and 2 * 199 <= len(t1) <= 2 * 202  # 4 s of samples in 20 ms bins


def test_another_camera_on_the_same_clock_is_binned_afresh() -> None:
    """Two cameras sampled over the same seconds: switching between them never continues the other's bins."""
    a = _series([2] * 3000, 4, 100.0)
    b = _series([2] * 3000, 5, 100.0005)
    peaks = PeakBins(SECONDS)
    for end in range(1500, 3000, 250):
        for rows in (a, b):
            window = rows[end - 1500:end]
            got_t, got_v = peaks(window, COLUMNS, 200)
            want_t, want_v = _afresh(window, 200)
            np.testing.assert_array_equal(got_t, want_t)
            np.testing.assert_array_equal(got_v, want_v)
