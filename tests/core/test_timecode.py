"""Tests of stagectl.core.timecode: SMPTE 12M check values, round trips, parsing, StageClock."""

from __future__ import annotations

import datetime
import math
import re
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.clock import StageClock
from stagectl.core.errors import StageError
from stagectl.core.timecode import FrameRate, Timecode, TimecodeError, frames_per_24h

R2997 = FrameRate(Fraction(30000, 1001))
R5994 = FrameRate(Fraction(60000, 1001))
R23976 = FrameRate(Fraction(24000, 1001))
R24 = FrameRate(Fraction(24))
R25 = FrameRate(Fraction(25))
R50 = FrameRate(Fraction(50))


# --- SMPTE 12M check values: one test each ------------------------------------------------------

def test_check_00_01_00_02_is_frame_1800() -> None:
    assert Timecode.parse("00:01:00;02", R2997).frames == 1800
    assert str(Timecode(1800, R2997, drop_frame=True)) == "00:01:00;02"


def test_check_frame_1799_is_00_00_59_29() -> None:
    assert str(Timecode(1799, R2997, drop_frame=True)) == "00:00:59;29"
    assert Timecode.from_components(0, 0, 59, 29, R2997, drop_frame=True).frames == 1799


def test_check_00_10_00_00_is_frame_17982() -> None:
    assert Timecode.parse("00:10:00;00", R2997).frames == 17982
    assert str(Timecode(17982, R2997, drop_frame=True)) == "00:10:00;00"


def test_check_01_00_00_00_is_frame_107892() -> None:
    assert Timecode.parse("01:00:00;00", R2997).frames == 107892
    assert str(Timecode(107892, R2997, drop_frame=True)) == "01:00:00;00"


def test_check_10_00_00_00_is_frame_1078920() -> None:
    assert Timecode.parse("10:00:00;00", R2997).frames == 1078920
    assert str(Timecode(1078920, R2997, drop_frame=True)) == "10:00:00;00"


def test_check_10_00_00_00_at_5994_df_is_frame_2157840() -> None:
    assert Timecode.parse("10:00:00;00", R5994).frames == 2157840
    assert str(Timecode(2157840, R5994, drop_frame=True)) == "10:00:00;00"


def test_5994_df_skips_four_labels() -> None:
    assert str(Timecode(3599, R5994, drop_frame=True)) == "00:00:59;59"
    assert str(Timecode(3600, R5994, drop_frame=True)) == "00:01:00;04"


def test_frames_per_24h() -> None:
    assert frames_per_24h(R2997, True) == 2589408
    assert frames_per_24h(R5994, True) == 5178816
    assert frames_per_24h(R2997, False) == 30 * 86400
    assert frames_per_24h(R23976) == 24 * 86400
    assert frames_per_24h(R25) == 25 * 86400
    with pytest.raises(TimecodeError, match="drop-frame"):
        frames_per_24h(R25, True)


# --- round trips -------------------------------------------------------------------------------

def test_every_frame_of_first_11_minutes_round_trips_at_2997_df() -> None:
    end = Timecode.parse("00:11:00;02", R2997).frames
    assert end == 17982 + 1800  # minute 10 drops nothing
    previous = None
    for frames in range(end):
        tc = Timecode(frames, R2997, drop_frame=True)
        assert Timecode.from_components(*tc.components(), R2997, drop_frame=True).frames == frames
        assert Timecode.parse(str(tc), R2997) == tc
        if previous is not None:
            assert previous < tc.components()  # labels strictly increase
        previous = tc.components()


def test_first_11_minutes_of_df_labels_exist_exactly_once_per_frame() -> None:
    existing = []
    for m in range(11):
        for s in range(60):
            for f in range(30):
                try:
                    existing.append(Timecode.from_components(0, m, s, f, R2997, drop_frame=True).frames)
                except TimecodeError:
                    assert s == 0 and f < 2 and m % 10 != 0
    assert existing == list(range(11 * 60 * 30 - 9 * 2))  # minutes 1-9 drop two labels each


ROUND_TRIP_CASES = [(R2997, True), (R5994, True), (R24, False), (R25, False), (R23976, False), (R50, False)]


@pytest.mark.parametrize(("rate", "drop"), ROUND_TRIP_CASES,
                         ids=["2997DF", "5994DF", "24", "25", "23976", "50"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_frames_label_frames_round_trip(rate: FrameRate, drop: bool, data: st.DataObject) -> None:
    frames = data.draw(st.integers(0, frames_per_24h(rate, drop) - 1))
    tc = Timecode(frames, rate, drop)
    h, m, s, f = tc.components()
    assert (tc.hours, tc.minutes, tc.seconds, tc.frame) == (h, m, s, f)
    assert 0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60 and 0 <= f < rate.nominal
    assert Timecode.from_components(h, m, s, f, rate, drop) == tc
    assert Timecode.parse(str(tc), rate) == tc
    assert Timecode.from_seconds(tc.to_seconds(), rate, drop) == tc


def test_last_frame_of_day_and_wrap() -> None:
    last = Timecode(frames_per_24h(R2997, True) - 1, R2997, True)
    assert str(last) == "23:59:59;29"
    assert (last + 1).frames == 0
    assert str(Timecode.from_frames(-1, R2997, True)) == "23:59:59;29"
    assert Timecode.from_frames(frames_per_24h(R25) + 3, R25).frames == 3
    assert str(Timecode(0, R25) - 1) == "23:59:59:24"


# --- construction, formatting, arithmetic ------------------------------------------------------

def test_constructor_validates() -> None:
    with pytest.raises(TimecodeError, match="drop-frame is not defined at 25"):
        Timecode(0, R25, drop_frame=True)
    with pytest.raises(TimecodeError, match="frame count -1"):
        Timecode(-1, R25)
    with pytest.raises(TimecodeError, match="from_frames"):
        Timecode(25 * 86400, R25)


def test_str_formats() -> None:
    assert str(Timecode.from_components(1, 2, 3, 4, R25)) == "01:02:03:04"
    assert str(Timecode.from_components(1, 2, 3, 4, R2997, True)) == "01:02:03;04"
    assert str(Timecode.from_components(1, 2, 3, 4, R2997)) == "01:02:03:04"
    assert str(Timecode.from_components(0, 0, 0, 99, FrameRate.parse(100))) == "00:00:00:99"
    r11988 = FrameRate.parse("119.88")
    assert r11988.nominal == 120
    assert str(Timecode.from_components(0, 0, 0, 119, r11988)) == "00:00:00:119"
    assert Timecode.parse("00:00:00:119", r11988).frame == 119
    assert "01:02:03:04" in repr(Timecode.from_components(1, 2, 3, 4, R25))


def test_parse_separators() -> None:
    assert Timecode.parse("00:01:00.02", R2997).drop_frame
    assert Timecode.parse("00:01:00,02", R2997).frames == 1800
    assert Timecode.parse("00;01;00;02", R2997).frames == 1800
    assert not Timecode.parse("00:01:00:02", R2997).drop_frame
    assert Timecode.parse(" 01:00:00:00 ", R2997).frames == 108000


def test_parse_explicit_drop_frame_wins_over_separator() -> None:
    assert Timecode.parse("00:01:00:02", R2997, drop_frame=True).frames == 1800
    assert Timecode.parse("01:00:00;00", R2997, drop_frame=False).frames == 108000


@pytest.mark.parametrize(("text", "rate", "match"), [
    ("", R25, "expected 4 fields"),
    ("garbage", R25, "expected 4 fields"),
    ("00:00:00", R25, "got 3"),
    ("00:00:00:00:00", R25, "got 5"),
    ("0a:00:00:00", R25, "hours '0a'"),
    ("00:0:00:00", R25, "minutes '0'"),
    ("00:00:00:x1", R25, "frame 'x1'"),
    ("00:00:00:-1", R25, "frame '-1'"),
    ("00.00:00:00", R25, "separator '.'"),
    ("24:00:00:00", R25, "hours 24 is out of range; allowed 0-23"),
    ("00:60:00:00", R25, "minutes 60 is out of range; allowed 0-59"),
    ("00:00:60:00", R25, "seconds 60 is out of range; allowed 0-59"),
    ("00:00:00:25", R25, "frame 25 is out of range; allowed 0-24"),
    ("00:00:00:24", R23976, "frame 24 is out of range; allowed 0-23"),
    ("00:00:00;30", R2997, "frame 30 is out of range; allowed 0-29"),
    ("00:00:00;00", R25, "';' before the frames marks drop-frame"),
    ("00:01:00;00", R2997, "'00:01:00;00' does not exist in drop-frame"),
    ("00:01:00;01", R2997, "next label is 00:01:00;02"),
    ("23:59:00;01", R2997, "does not exist"),
    ("00:01:00;03", R5994, "frames 00-03 are skipped"),
])
def test_parse_errors_name_the_bad_part(text: str, rate: FrameRate, match: str) -> None:
    with pytest.raises(TimecodeError, match=re.escape(match)) as info:
        Timecode.parse(text, rate)
    assert isinstance(info.value, StageError) and isinstance(info.value, ValueError)


def test_df_labels_at_ten_minute_marks_exist() -> None:
    assert Timecode.parse("00:20:00;00", R2997).frames == 2 * 17982
    assert Timecode.parse("00:20:00;01", R2997).frames == 2 * 17982 + 1


@pytest.mark.parametrize(("components", "match"), [
    ((24, 0, 0, 0), "hours 24"),
    ((-1, 0, 0, 0), "hours -1"),
    ((0, 60, 0, 0), "minutes 60"),
    ((0, 0, 60, 0), "seconds 60"),
    ((0, 0, 0, 30), "frame 30"),
    ((0, 1, 0, 0), "00:01:00;00 does not exist"),
])
def test_from_components_errors(components: tuple[int, int, int, int], match: str) -> None:
    with pytest.raises(TimecodeError, match=re.escape(match)):
        Timecode.from_components(*components, R2997, drop_frame=True)


def test_arithmetic_and_ordering() -> None:
    a = Timecode.parse("00:00:59;29", R2997)
    b = a + 1
    assert str(b) == "00:01:00;02"
    assert 1 + a == b
    assert b - 1 == a
    assert b - a == 1 and a - b == -1
    assert a < b <= b and b > a >= a
    ndf = Timecode(a.frames, R2997)
    assert ndf != a and not ndf < a and ndf <= a  # same instant, different label style
    other = Timecode(0, R25)
    with pytest.raises(TimecodeError, match="different rates"):
        _ = a - other
    with pytest.raises(TimecodeError, match="different rates"):
        _ = a < other


def test_seconds_conversions() -> None:
    hour = Timecode.parse("01:00:00;00", R2997)
    assert hour.to_seconds() == Fraction(107892 * 1001, 30000)
    assert Timecode.from_seconds(3600, R2997, True) == hour
    assert Timecode.from_seconds(1.0, R25).frames == 25
    assert str(Timecode.from_seconds(3600, R23976)) == "00:59:56:09"  # 23.976 labels run slow


# --- FrameRate -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (24, Fraction(24)),
    (25.0, Fraction(25)),
    ("24000/1001", Fraction(24000, 1001)),
    ("30000/1001", Fraction(30000, 1001)),
    (" 30000 / 1001 ", Fraction(30000, 1001)),
    ("23.976", Fraction(24000, 1001)),
    ("29.97", Fraction(30000, 1001)),
    ("59.94", Fraction(60000, 1001)),
    ("47.952", Fraction(48000, 1001)),
    ("119.88", Fraction(120000, 1001)),
    (23.976, Fraction(24000, 1001)),
    (29.97, Fraction(30000, 1001)),
    ("23.98", Fraction(24000, 1001)),
    (12.5, Fraction(25, 2)),
    ("12.5", Fraction(25, 2)),
    ("29.9", Fraction(299, 10)),
    (5.0, Fraction(5)),  # within 0.01 of 5000/1001 but a whole rate: not snapped
    ("5.004", Fraction(5004, 1000)),
    ("4.995", Fraction(5000, 1001)),
    (Fraction(30000, 1001), Fraction(30000, 1001)),
    ("25", Fraction(25)),
])
def test_frame_rate_parse(value: str | int | float | Fraction, expected: Fraction) -> None:
    assert FrameRate.parse(value).rate == expected


@pytest.mark.parametrize(("value", "match"), [
    (0, "greater than 0"),
    (-24, "greater than 0"),
    (0.0, "greater than 0"),
    ("0", "greater than 0"),
    ("-25", "greater than 0"),
    ("0/1001", "greater than 0"),
    (Fraction(-1, 2), "greater than 0"),
    (math.nan, "finite"),
    (math.inf, "finite"),
    (-math.inf, "finite"),
    ("nan", "not a number"),
    ("inf", "not a number"),
    ("", "not a number"),
    ("fast", "not a number"),
    ("24fps", "not a number"),
    ("1.2.3", "not a number"),
    ("24000/1001/1", "not a number"),
    ("24/0", "denominator is 0"),
    (True, "not allowed"),
])
def test_frame_rate_parse_rejects(value: str | int | float | Fraction, match: str) -> None:
    with pytest.raises(TimecodeError, match=re.escape(match)):
        FrameRate.parse(value)


def test_frame_rate_constructor_rejects_floats_and_zero() -> None:
    with pytest.raises(TimecodeError, match=r"FrameRate\.parse"):
        FrameRate(29.97)  # type: ignore[arg-type]
    with pytest.raises(TimecodeError, match="greater than 0"):
        FrameRate(Fraction(0))


def test_frame_rate_properties() -> None:
    assert R23976.nominal == 24 and R2997.nominal == 30 and R5994.nominal == 60 and R25.nominal == 25
    assert FrameRate.parse("0.5").nominal == 1
    assert R23976.fps == pytest.approx(23.976, abs=1e-3)
    assert R23976.is_ntsc and not R25.is_ntsc
    assert R2997.supports_drop_frame and R5994.supports_drop_frame
    assert not R23976.supports_drop_frame and not R25.supports_drop_frame
    assert not FrameRate.parse("119.88").supports_drop_frame
    assert R25.frame_duration_ns == 40_000_000
    assert R23976.frame_duration_ns == 41_708_333
    assert str(R23976) == "24000/1001" and str(R25) == "25" and str(FrameRate.parse(12.5)) == "25/2"
    assert FrameRate.parse("29.97") == R2997 and hash(FrameRate.parse(29.97)) == hash(R2997)


def test_frames_at_and_seconds_of() -> None:
    assert R25.frames_at(1.0) == 25
    assert FrameRate.parse(10).frames_at(0.3) == 3  # 0.3 is 0.2999... as a float
    assert R23976.frames_at(1.001) == 24
    assert R23976.frames_at(Fraction(1001, 1000)) == 24
    assert R23976.frames_at(Fraction(1001, 1000) - Fraction(1, 10**9)) == 23
    assert R25.frames_at(-0.01) == -1
    assert R23976.seconds_of(24) == Fraction(1001, 1000)
    with pytest.raises(TimecodeError, match="finite"):
        R25.frames_at(math.nan)


# --- StageClock ----------------------------------------------------------------------------------

def local_wall(h: int, m: int, s: int) -> float:
    """Epoch seconds of today's h:m:s local time."""
    today = datetime.date.today()
    return time.mktime((today.year, today.month, today.day, h, m, s, 0, 0, -1))


NS0 = 5_000_000_000_000


def test_clock_jams_to_local_time_of_day_at_25() -> None:
    clock = StageClock(R25, wall_time_s=local_wall(10, 0, 0), monotonic_ns=NS0)
    assert str(clock.timecode_at(NS0)) == "10:00:00:00"
    assert clock.frame_at(NS0 + 10**9) - clock.frame_at(NS0) == 25
    assert str(clock.timecode_at(NS0 + 10**9)) == "10:00:01:00"
    assert str(clock.timecode_at(NS0 + 40_000_000 - 1)) == "10:00:00:00"
    assert str(clock.timecode_at(NS0 + 40_000_000)) == "10:00:00:01"


def test_clock_at_23976_counts_true_rate() -> None:
    clock = StageClock(R23976, wall_time_s=local_wall(10, 0, 0), monotonic_ns=NS0)
    assert str(clock.timecode_at(NS0)) == "10:00:00:00"
    assert str(clock.timecode_at(NS0 + 1001 * 10**6)) == "10:00:01:00"  # 24 frames = 1.001 s
    assert str(clock.timecode_at(NS0 + 41_708_333)) == "10:00:00:00"  # 1001/24000 s is 41708333.3 ns
    assert str(clock.timecode_at(NS0 + 41_708_334)) == "10:00:00:01"
    # Free-run at 23.976 falls 3.6 s/h behind the wall clock until the next jam.
    assert str(clock.timecode_at(NS0 + 3600 * 10**9)) == "10:59:56:09"


def test_clock_drop_frame_crosses_minute() -> None:
    clock = StageClock(R2997, drop_frame=True, wall_time_s=local_wall(10, 0, 59), monotonic_ns=NS0)
    assert str(clock.timecode_at(NS0)) == "10:00:59;00"
    assert str(clock.timecode_at(NS0 + 1001 * 10**6)) == "10:01:00;02"  # 30 frames later


def test_clock_jam_into_missing_df_label_uses_next_label() -> None:
    clock = StageClock(R2997, drop_frame=True, wall_time_s=local_wall(10, 1, 0), monotonic_ns=NS0)
    assert str(clock.timecode_at(NS0)) == "10:01:00;02"
    assert str(clock.timecode_at(NS0 + 1001 * 10**6 // 30 + 1)) == "10:01:00;03"


def test_clock_jam_mid_second_keeps_frame_phase() -> None:
    clock = StageClock(R25, wall_time_s=local_wall(10, 0, 0) + 0.5, monotonic_ns=NS0)
    assert str(clock.timecode_at(NS0)) == "10:00:00:12"  # 12.5 frames into the second
    assert str(clock.timecode_at(NS0 + 20_000_000 - 1)) == "10:00:00:12"
    assert str(clock.timecode_at(NS0 + 20_000_000)) == "10:00:00:13"


def test_clock_wraps_after_24h() -> None:
    clock = StageClock(R25, wall_time_s=local_wall(23, 59, 59), monotonic_ns=NS0)
    assert str(clock.timecode_at(NS0 + 10**9)) == "00:00:00:00"
    assert str(clock.timecode_at(NS0 + 2 * 10**9)) == "00:00:01:00"
    day = 86400 * 10**9
    assert str(clock.timecode_at(NS0 + day)) == "23:59:59:00"
    assert clock.frame_at(NS0 + day) - clock.frame_at(NS0) == 25 * 86400  # not wrapped
    assert str(clock.timecode_at(NS0 - 86399 * 10**9)) == "00:00:00:00"  # before the jam


def test_clock_ignores_wall_clock_after_jam(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = StageClock(R25, wall_time_s=local_wall(10, 0, 0), monotonic_ns=NS0)

    def stepped() -> float:
        raise AssertionError("wall clock read after the jam")

    monkeypatch.setattr(time, "time", stepped)
    monkeypatch.setattr(time, "monotonic_ns", lambda: NS0 + 2 * 10**9)
    assert str(clock.now()) == "10:00:02:00"


def test_clock_rejam_and_defaults() -> None:
    clock = StageClock(R25)
    assert isinstance(clock.now(), Timecode)
    assert clock.rate == R25 and not clock.drop_frame
    assert str(clock.jam(wall_time_s=local_wall(12, 0, 0), monotonic_ns=NS0)) == "12:00:00:00"
    assert str(clock.timecode_at(NS0 + 10**9)) == "12:00:01:00"


def test_clock_rejects_bad_config() -> None:
    with pytest.raises(TimecodeError, match="drop-frame"):
        StageClock(R25, drop_frame=True)
    with pytest.raises(TimecodeError, match="finite"):
        StageClock(R25, wall_time_s=math.nan, monotonic_ns=0)
