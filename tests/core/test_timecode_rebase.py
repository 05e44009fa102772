"""Tests of Timecode.rebase (clock-face counting between bases) and TimecodeLabel (as sent)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.core.timecode.label import TimecodeLabel

R2997 = FrameRate(Fraction(30000, 1001))
R5994 = FrameRate(Fraction(60000, 1001))
R23976 = FrameRate(Fraction(24000, 1001))
R24 = FrameRate(Fraction(24))
R25 = FrameRate(Fraction(25))
R30 = FrameRate(Fraction(30))
R50 = FrameRate(Fraction(50))


def test_same_base_is_the_same_object() -> None:
    tc = Timecode.parse("06:47:50:17", R23976)
    assert tc.rebase(R23976) is tc


def test_ntsc_and_integer_rates_share_the_label() -> None:
    # The demo's bug: through real seconds 06:47:50:17 at 23.976 moved ~24 s at 24.
    tc = Timecode.parse("06:47:50:17", R23976)
    assert str(tc.rebase(R24)) == "06:47:50:17"
    assert tc.rebase(R24).frames == tc.frames
    assert str(Timecode.parse("06:47:50:17", R24).rebase(R23976)) == "06:47:50:17"


def test_frames_scale_between_nominal_rates_rounding_down() -> None:
    assert str(Timecode.parse("06:47:50:37", R50).rebase(R23976)) == "06:47:50:17"
    assert str(Timecode.parse("06:47:50:17", R24).rebase(R50)) == "06:47:50:35"
    assert str(Timecode.parse("23:59:59:49", R50).rebase(R25)) == "23:59:59:24"


def test_drop_frame_labels_keep_their_clock_face() -> None:
    df = Timecode.parse("00:01:00;02", R2997)
    assert df.frames == 1800
    ndf = df.rebase(R2997, drop_frame=False)
    assert str(ndf) == "00:01:00:02" and ndf.frames == 1802
    assert ndf.rebase(R2997, drop_frame=True) == df
    assert str(df.rebase(R30)) == "00:01:00:02"


def test_a_label_the_new_base_skips_becomes_the_next_one() -> None:
    assert str(Timecode.parse("00:01:00:00", R30).rebase(R2997, True)) == "00:01:00;02"
    assert str(Timecode.parse("00:01:00;04", R5994).rebase(R2997, True)) == "00:01:00;02"
    assert str(Timecode.parse("00:10:00:00", R30).rebase(R2997, True)) == "00:10:00;00"


@given(st.integers(0, Timecode.parse("23:59:59:23", R24).frames))
def test_equal_nominal_rates_round_trip(frames: int) -> None:
    tc = Timecode(frames, R24)
    there = tc.rebase(R23976)
    assert there.components() == tc.components()
    assert there.rebase(R24) == tc


@given(st.integers(0, Timecode.parse("23:59:59:49", R50).frames))
def test_rebase_never_moves_hours_minutes_or_seconds(frames: int) -> None:
    tc = Timecode(frames, R50)
    for rate, drop in ((R24, False), (R23976, False), (R25, False), (R2997, True), (R5994, True)):
        h, m, s, f = tc.rebase(rate, drop).components()
        assert (h, m, s) == tc.components()[:3]
        assert f < rate.nominal


def test_label_as_sent_plain() -> None:
    label = TimecodeLabel(1, 2, 3, 4, R24)
    assert label.oddities() == ()
    assert label.timecode() == Timecode.from_components(1, 2, 3, 4, R24)
    assert str(label) == "01:02:03:04"
    assert TimecodeLabel.of(Timecode.parse("01:00:00;00", R2997)) == TimecodeLabel(1, 0, 0, 0, R2997, True)


def test_drop_frame_flag_at_23976_is_kept_and_counted_as_non_drop() -> None:
    # camdkit's complete example generator: 01:02:03:04 at 24000/1001 with dropFrame true.
    label = TimecodeLabel(1, 2, 3, 4, R23976, drop_frame=True, sub_frame=1)
    assert label.oddities() == ("drop_frame",)
    assert str(label) == "01:02:03;04"
    tc = label.timecode()
    assert not tc.drop_frame and str(tc) == "01:02:03:04"
    assert label.sub_frame == 1


def test_frames_beyond_the_rate_carry_into_the_next_second() -> None:
    label = TimecodeLabel(10, 0, 0, 30, R25)
    assert label.oddities() == ("frames",)
    assert str(label) == "10:00:00:30"
    assert str(label.timecode()) == "10:00:01:05"
    assert str(TimecodeLabel(23, 59, 59, 119, R25).timecode()) == "00:00:03:19"


def test_a_skipped_drop_frame_label_counts_as_the_next() -> None:
    label = TimecodeLabel(0, 1, 0, 0, R2997, drop_frame=True)
    assert label.oddities() == ("skipped",)
    assert label.timecode() == Timecode.parse("00:01:00;02", R2997)
    assert TimecodeLabel(0, 10, 0, 0, R2997, True).oddities() == ()
