"""The sample ring against a plain list: rows written a batch at a time keep their order and values."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.ringbuffer import BATCH_ROWS, COLUMNS, SampleRing
from stagectl.core.samples import CameraSample


def _sample(i: int) -> CameraSample:
    return CameraSample("A", "A/test", 1_000_000_000 + i * 2_000_000, (float(i), -0.5 * i, 1.0),
                        (i * 0.1, 2.0, 3.0), zoom_raw=None if i % 3 == 0 else i, focus_raw=7)


def _expected(i: int) -> list[float]:
    zoom = math.nan if i % 3 == 0 else float(i)
    return [(1_000_000_000 + i * 2_000_000) / 1e9, float(i), -0.5 * i, 1.0, i * 0.1, 2.0, 3.0, zoom, 7.0]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 3 * BATCH_ROWS), steps=st.lists(st.integers(0, 4 * BATCH_ROWS), max_size=8))
def test_reads_between_any_appends_see_the_last_rows_in_order(capacity: int, steps: list[int]) -> None:
    ring = SampleRing(capacity)
    written = 0
    for appends in steps:
        for _ in range(appends):
            ring.append(_sample(written))
            written += 1
        rows = ring.recent()
        kept = range(max(0, written - capacity), written)
        assert len(ring) == len(kept) == rows.shape[0] and rows.shape[1] == len(COLUMNS)
        for row, i in zip(rows.tolist(), kept, strict=True):
            assert all(_same(got, want) for got, want in zip(row, _expected(i), strict=True)), (row, i)


def test_a_full_batch_is_in_the_array_before_anyone_reads() -> None:
    ring = SampleRing(4 * BATCH_ROWS)
    for i in range(BATCH_ROWS):
        ring.append(_sample(i))
    assert ring._data[BATCH_ROWS - 1, 1] == float(BATCH_ROWS - 1)  # written by the I/O thread itself
    assert not ring._pending
