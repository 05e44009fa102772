"""A view's history: a read-only window onto an append-only buffer, equal to a copy from the ring, and never
changed after it was handed out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.ringbuffer import SampleRing
from stagectl.core.samples import CameraSample
from stagectl.stage import history as history_module
from stagectl.stage.history import ViewHistories, ViewHistory

STEP_NS = 2_000_000  # 500 Hz


def _sample(i: int) -> CameraSample:
    return CameraSample("A", "A/test", 1_000_000_000 + i * STEP_NS, (float(i), -0.5 * i, 1.0),
                        (i * 0.1, 2.0, 3.0), zoom_raw=None if i % 3 == 0 else i, focus_raw=7)


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 200), steps=st.lists(st.integers(0, 300), max_size=10))
def test_rows_since_are_the_rows_appended_after_a_count(capacity: int, steps: list[int]) -> None:
    ring = SampleRing(capacity)
    seen, written = 0, 0
    for appends in steps:
        for _ in range(appends):
            ring.append(_sample(written))
            written += 1
        rows, seen_now = ring.rows_since(seen)
        assert seen_now == written == ring.appended
        kept = list(range(max(seen, written - capacity), written))  # what the ring still holds of them
        assert rows[:, 1].tolist() == [float(i) for i in kept]
        seen = seen_now


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 120), st.integers(0, 40)), min_size=1, max_size=25),
       seconds_rows=st.integers(1, 60))
def test_windows_equal_the_rings_copy_and_never_change_once_handed_out(
        steps: list[tuple[int, int]], seconds_rows: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history_module, "MIN_BUFFER_ROWS", 8)  # new buffers often
        ring = SampleRing(4096)
        seconds = seconds_rows * STEP_NS / 1e9
        history = ViewHistory(ring, seconds)
        handed: list[tuple[np.ndarray, np.ndarray]] = []
        written, now_s = 0, 0.0
        for appends, later in steps:
            for _ in range(appends):
                ring.append(_sample(written))
                written += 1
            # the view is made a little after the last row (its clock never goes back)
            now_s = max(now_s, (1_000_000_000 + (written + later) * STEP_NS) / 1e9)
            window = history.window(now_s)
            expected = ring.recent(seconds, now_s=now_s)
            assert np.array_equal(window, expected, equal_nan=True)
            assert not window.flags.writeable
            handed.append((window, expected))
        for window, copy in handed:  # every earlier view still shows its own moment
            assert np.array_equal(window, copy, equal_nan=True)


def test_histories_follow_the_cameras_asked_for() -> None:
    rings = {"A": SampleRing(64), "B": SampleRing(64)}
    for i in range(10):
        rings["A"].append(_sample(i))
        rings["B"].append(_sample(i))
    histories = ViewHistories(1.0)
    now_s = (1_000_000_000 + 10 * STEP_NS) / 1e9
    assert set(histories.windows(rings, ["A", "C"], now_s)) == {"A"}  # no ring for C
    both = histories.windows(rings, ["A", "B"], now_s)
    assert set(both) == {"A", "B"} and all(len(rows) == 10 for rows in both.values())
    assert set(histories.windows(rings, ["B"], now_s)) == {"B"}
    again = histories.windows(rings, ["A"], now_s)  # A asked for again: whole from its ring
    assert len(again["A"]) == 10
