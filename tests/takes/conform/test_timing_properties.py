"""Properties of sample timing over hand-made takes (hypothesis): tracker timecode with sub-frames gives
evenly spaced times at any rate, across midnight too; the stage clock's phase is recovered from arrival
times as well as the samples' phases allow."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.conform.timing import sample_times
from tests.take_factory import make_take

RATES = [("24", False), ("25", False), ("29.97", True), ("30", False), ("50", False), ("59.94", True),
         ("23.976", False)]


def _step(rate: FrameRate, drop: bool) -> Fraction:
    return 1 / rate.rate if drop or rate.rate.denominator == 1 else Fraction(1, rate.nominal)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(RATES), st.integers(1, 10), st.integers(0, 400), st.integers(20, 300))
def test_sub_frames_give_even_steps_across_midnight(rate_drop: tuple[str, bool], per_frame: int,
                                                   before_midnight: int, frames: int) -> None:
    rate, drop = FrameRate.parse(rate_drop[0]), rate_drop[1]
    per_day = frames_per_24h(rate, drop)
    first = per_day - before_midnight  # up to 400 frames before midnight
    take = make_take(frames=1)
    take.info = replace(take.info, rate=rate, drop_frame=drop, tc_in=Timecode(first % per_day, rate, drop))
    n = frames * per_frame
    label = first + np.arange(n) // per_frame  # what the recorder stores: counting on past midnight
    track = take.cameras["A"]
    track.arrival_ns = 10**12 + np.arange(n, dtype=np.int64) * 1_000_000
    track.frame = label.astype(np.int64)
    track.tracker_timecode = np.ones(n, dtype=np.bool_)
    track.timecode = np.stack(timecode_fields(label, rate, drop), axis=1).astype(np.int64)
    track.timecode_rate = np.tile([rate.rate.numerator, rate.rate.denominator], (n, 1)).astype(np.int64)
    track.timecode_drop = np.full(n, drop)
    track.sub_frame = (np.arange(n) % per_frame).astype(np.int64)
    for name in ("sequence", "translation_m", "rotation_deg", "zoom_raw", "focus_raw", "iris_raw",
                 "focal_length_mm", "focus_distance_m", "f_stop", "t_stop", "entrance_pupil_m", "distortion",
                 "principal_point_px"):
        column = getattr(track, name)
        setattr(track, name, np.resize(column, (n, *column.shape[1:])))
    times = sample_times(take, "A").times
    step = float(_step(rate, drop)) / per_frame
    np.testing.assert_allclose(np.diff(times), step, rtol=0, atol=1e-6)  # even, no day jump
    assert abs(times[0] - float(first * _step(rate, drop))) < 1e-6


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 0.0399), st.lists(st.integers(1, 30_000_000), min_size=20, max_size=200))
def test_stage_clock_phase_is_recovered_within_the_phase_gap(phase_s: float, gaps_ns: list[int]) -> None:
    take = make_take(frames=1)  # 24 fps, stage clock labels
    rate = 24
    track = take.cameras["A"]
    arrival = 10**12 + np.cumsum(np.array(gaps_ns, dtype=np.int64))
    n = arrival.size
    true_s = (arrival - arrival[0]) / 1e9 + phase_s + 36000.0  # the clock's time at each arrival
    frames = np.floor(true_s * rate).astype(np.int64)
    track.arrival_ns, track.frame = arrival, frames
    for name in ("tracker_timecode", "sequence", "translation_m", "rotation_deg", "zoom_raw", "focus_raw",
                 "iris_raw", "focal_length_mm", "focus_distance_m", "f_stop", "t_stop", "entrance_pupil_m",
                 "distortion", "principal_point_px"):
        column = getattr(track, name)
        setattr(track, name, np.resize(column, (n, *column.shape[1:])))
    track.tracker_timecode = np.zeros(n, dtype=np.bool_)
    times = sample_times(take, "A").times
    phases = true_s - frames / rate
    bound = (1 / rate - (phases.max() - phases.min())) / 2  # half the gap no sample's phase fell in
    assert np.all(times >= frames / rate - 1e-9) and np.all(times < (frames + 1) / rate)
    assert float(np.max(np.abs(times - true_s))) <= bound + 1e-6
