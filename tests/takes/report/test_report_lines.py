"""What the daily report says of a take (tests/take_factory.py takes, numbers worked out by hand): slate,
timecode, durations counted in frames (NTSC, drop-frame, across midnight), cameras with lens and focal
range, looks, notes with their timecodes, flags and state; and the totals of a day."""

from __future__ import annotations

import dataclasses
from datetime import date
from fractions import Fraction

import numpy as np

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.model import LogEntry, TakeData
from stagectl.takes.report import DayReport, take_line
from tests.take_factory import make_take

DF = FrameRate(Fraction(30000, 1001))


def _with_note(take: TakeData, at: Timecode, text: str) -> TakeData:
    take.log.append(LogEntry(2_000_000_000, at, "note", "operator", text))
    return take


def test_a_take_line_has_every_field_of_the_take() -> None:
    take = make_take(cameras=("A", "B"), frames=48)
    take = _with_note(take, Timecode.parse("10:00:01:02", take.info.rate), "boom in shot")
    line = take_line(take, "stage-3")
    assert (line.take_id, line.name, line.stage) == (7, "12-A-T003", "stage-3")
    assert (line.production, line.scene, line.shot, line.take) == ("Night Drive", "12", "A", 3)
    assert (str(line.tc_in), str(line.tc_out)) == ("10:00:00:00", "10:00:01:23")
    assert line.duration_frames == 48 and str(line.duration) == "00:00:02:00"
    assert line.rate_text == "24"
    assert (line.circled, line.no_good, line.state) == (True, False, "complete")
    assert line.looks == ("dusk", "night")  # the look at record, then the cue's
    assert [(str(n.timecode), n.text, n.source) for n in line.notes] == [
        ("10:00:01:02", "boom in shot", "operator")]
    assert (line.take_notes, line.slate_notes) == ("good one", "rain on glass")
    assert [(c.camera, c.lens, c.lens_file, c.focal_text, c.samples, c.dropouts) for c in line.cameras] == [
        ("A", "ZEISS Supreme Prime 35", "zeiss-35.json", "35 mm", 480, 0),
        ("B", "ZEISS Supreme Prime 35", "zeiss-35.json", "35 mm", 480, 0)]


def test_focal_range_is_min_max_over_the_samples_and_unknown_without_lens_data() -> None:
    take = make_take(cameras=("A", "B", "C"))
    zoom = take.cameras["A"].focal_length_mm
    zoom[:] = np.linspace(24.0, 70.0, zoom.size)
    zoom[5] = np.nan  # a sample the lens did not know
    take.cameras["B"].focal_length_mm[:] = np.nan
    take.cameras["B"].lens = None
    take.cameras["C"].focal_length_mm[:] = 32.5
    take.info = dataclasses.replace(take.info, slate=dataclasses.replace(take.info.slate,
                                                                         cameras=("A", "B", "C", "D")))
    take.dropouts["A"] = 3
    cams = {c.camera: c for c in take_line(take).cameras}
    assert cams["A"].focal_mm == (24.0, 70.0) and cams["A"].focal_text == "24-70 mm"
    assert cams["A"].dropouts == 3
    assert cams["B"].focal_mm is None and cams["B"].focal_text == "unknown" and cams["B"].lens == ""
    assert cams["C"].focal_text == "32.5 mm"
    # on the slate but never tracked: listed, nothing known
    assert (cams["D"].samples, cams["D"].focal_text, cams["D"].lens) == (0, "unknown", "")


def test_ntsc_drop_frame_duration_is_counted_in_frames() -> None:
    # 1800 frames at 29.97 DF: 60.06 s of picture; the label of frame 1800 is 00:01:00;02, since
    # minute 1 has no ;00 and ;01.
    take = make_take(rate=DF, drop_frame=True, tc_in="00:00:59;28", frames=1800, samples_per_frame=1)
    line = take_line(take)
    assert line.duration_frames == 1800
    assert str(line.tc_in) == "00:00:59;28" and str(line.tc_out) == "00:01:59;29"
    assert str(line.duration) == "00:01:00;02" and line.rate_text == "29.97 DF"


def test_23976_duration_counts_24_frame_seconds() -> None:
    take = make_take(rate=FrameRate(Fraction(24000, 1001)), tc_in="01:00:00:00", frames=1440,
                     samples_per_frame=1)
    line = take_line(take)
    assert str(line.tc_out) == "01:00:59:23" and str(line.duration) == "00:01:00:00"
    assert line.rate_text == "23.976"


def test_a_take_over_midnight_keeps_counting() -> None:
    take = make_take(rate=FrameRate(Fraction(25)), tc_in="23:59:50:00", frames=500, samples_per_frame=1)
    line = take_line(take)
    assert (str(line.tc_in), str(line.tc_out)) == ("23:59:50:00", "00:00:09:24")
    assert line.duration_frames == 500 and str(line.duration) == "00:00:20:00"


def test_a_recovered_take_without_samples() -> None:
    take = make_take()
    take.cameras.clear()
    take.info = dataclasses.replace(take.info, tc_in=None, tc_out=None, state="recovered", circled=False,
                                    stopped_unix_s=None)
    line = take_line(take)
    assert line.state == "recovered" and line.duration_frames == 0 and line.tc_in is None
    assert [(c.camera, c.samples, c.focal_text) for c in line.cameras] == [("A", 0, "unknown")]


def test_the_day_totals_keep_rates_apart() -> None:
    at_24 = [take_line(make_take(take_id=i, frames=24 * i)) for i in (1, 2)]
    at_df = take_line(make_take(take_id=3, rate=DF, drop_frame=True, tc_in="01:00:00;00", frames=17982,
                                samples_per_frame=1))
    ng = take_line(make_take(take_id=4, frames=10))
    ng = dataclasses.replace(ng, no_good=True, circled=False, state="recovered", looks=("day",))
    report = DayReport(date(2026, 12, 7), "stage-3", "Night Drive", ("Night Drive",), (*at_24, at_df, ng))
    assert (report.circled, report.no_good, report.incomplete) == (3, 1, 1)
    totals = [(t.rate_text, t.takes, t.frames, str(t.duration)) for t in report.rate_totals]
    # 17982 frames at 29.97 DF are ten minutes of labels exactly
    assert totals == [("24", 3, 24 + 48 + 10, "00:00:03:10"), ("29.97 DF", 1, 17982, "00:10:00;00")]
    assert report.looks == ("dusk", "night", "day") and report.cameras == ("A",)
