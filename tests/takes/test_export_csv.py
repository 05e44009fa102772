"""CSV take export read back with Python's csv module; the column formatters .chan and JSON lines share."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.export.csv_export import export_csv
from stagectl.takes.export.registry import ExportError
from stagectl.takes.export.text_columns import (
    ProgressReport,
    Text,
    booleans,
    fixed,
    hexadecimal,
    integers,
    join_rows,
    literal,
    scientific,
    timecode_labels,
    write_atomically,
)
from stagectl.takes.model import CameraTrack
from tests.take_factory import make_take, make_track

HEADER = ["arrival_ns", "timecode", "frame", "sequence", "tracker_timecode", "x_m", "y_m", "z_m", "pan_deg",
          "tilt_deg", "roll_deg", "zoom_raw", "focus_raw", "iris_raw", "focal_length_mm", "focus_distance_m",
          "f_stop", "t_stop", "entrance_pupil_m", "k1", "k2", "k3", "p1", "p2", "cx_px", "cy_px",
          "source_timecode", "source_timecode_rate", "sub_frame", "sample_timestamp_s", "sample_timestamp_ns",
          "device_id", "freed_spare", "vfov_deg", "raw_index"]


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        reader = csv.reader(f, strict=True)
        header = next(reader)
        assert header == HEADER
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    return rows


def _lines(text: Text, n: int) -> list[str]:
    return join_rows([text, literal("\n", n)]).decode().split("\n")[:-1]


def test_rows_hold_hand_worked_values(tmp_path: Path) -> None:
    take = make_take()
    progress: list[float] = []
    paths = export_csv(take, tmp_path, progress=progress.append)
    assert paths == [tmp_path / "12-A-T003_A.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["12-A-T003_A.csv"]  # no .tmp left behind
    rows = _read(paths[0])
    assert len(rows) == 48 * 10  # every sample, not every frame
    first = rows[0]
    assert first["arrival_ns"] == "1000000000"
    assert first["timecode"] == "10:00:00:00"
    assert first["frame"] == str(10 * 3600 * 24)
    assert (first["sequence"], first["tracker_timecode"]) == ("0", "false")
    assert [float(first[k]) for k in ("x_m", "y_m", "z_m", "pan_deg", "tilt_deg", "roll_deg")] == \
        [0.0, 2.0, 1.5, 0.0, -5.0, 1.0]
    assert [float(first[k]) for k in ("zoom_raw", "focus_raw", "iris_raw")] == [1000.0, 2000.0, 300.0]
    assert [float(first[k]) for k in ("focal_length_mm", "focus_distance_m", "f_stop", "t_stop",
                                      "entrance_pupil_m")] == [35.0, 3.0, 2.5, 2.8, 0.1]
    assert [float(first[k]) for k in ("k1", "k2", "k3", "p1", "p2", "cx_px", "cy_px")] == \
        [-0.1, 0.02, 0.0, 0.001, -0.002, 1920.0, 1080.0]
    # Sample 10 is 1/24 s in: the second frame; x = 1 m/s * 1/24 s, pan = 10 deg/s * 1/24 s.
    tenth = rows[10]
    assert tenth["timecode"] == "10:00:00:01"
    assert tenth["frame"] == "864001"
    assert tenth["arrival_ns"] == "1041666666"
    assert float(tenth["x_m"]) == pytest.approx(1 / 24, abs=1e-6)
    assert float(tenth["pan_deg"]) == pytest.approx(10 / 24, abs=1e-6)
    assert rows[-1]["timecode"] == "10:00:01:23"
    assert progress[-1] == 1.0 and progress == sorted(progress) and len(progress) <= 100
    # A hand-made take has no recorded labels: the sample's own timecode is the take's.
    assert (first["source_timecode"], first["source_timecode_rate"]) == ("10:00:00:00", "24/1")
    assert float(first["vfov_deg"]) == pytest.approx(math.degrees(2 * math.atan(24.0 / 70.0)), abs=1e-9)
    for key in ("sub_frame", "sample_timestamp_s", "sample_timestamp_ns", "device_id", "freed_spare",
                "raw_index"):
        assert first[key] == "", key


def test_the_tracker_timecode_and_ptp_time_are_written_as_sent(tmp_path: Path) -> None:
    take = make_take(rate=FrameRate(Fraction(24000, 1001)), frames=2, samples_per_frame=1)
    track = take.cameras["A"]
    # Camdkit's complete example: 01:02:03:04 at 24000/1001 sent with dropFrame true and subFrame 1.
    track.timecode = np.array([[1, 2, 3, 4], [1, 2, 3, 30]])
    track.timecode_rate = np.array([[24000, 1001], [25, 1]])
    track.timecode_drop = np.array([True, False])
    track.sub_frame = np.array([1, -1])
    track.sample_timestamp = np.array([[1718806554, 4294967295], [-1, -1]])
    track.device_id, track.spare, track.raw_index = np.array([1, 1]), np.array([-1, 0xD1FF]), np.array([7, 9])
    rows = _read(export_csv(take, tmp_path)[0])
    assert [(r["source_timecode"], r["source_timecode_rate"], r["sub_frame"]) for r in rows] == [
        ("01:02:03;04", "24000/1001", "1"), ("01:02:03:30", "25/1", "")]
    assert (rows[0]["sample_timestamp_s"], rows[0]["sample_timestamp_ns"]) == ("1718806554", "4294967295")
    assert rows[1]["sample_timestamp_s"] == ""
    assert [(r["device_id"], r["freed_spare"], r["raw_index"]) for r in rows] == [("1", "", "7"),
                                                                                  ("1", "53759", "9")]


def test_unknowns_are_empty_cells(tmp_path: Path) -> None:
    take = make_take()
    track = make_track("B", 864000, 2, 2, take.info.rate, lens=False)
    track.sequence[:] = -1
    take.cameras = {"B": track}
    (row, *_) = _read(export_csv(take, tmp_path)[0])
    for key in ("sequence", "focal_length_mm", "focus_distance_m", "f_stop", "t_stop", "entrance_pupil_m",
                "k1", "k2", "k3", "p1", "p2", "cx_px", "cy_px", "vfov_deg"):
        assert row[key] == "", key
    assert row["zoom_raw"] == "1000"


def test_drop_frame_labels(tmp_path: Path) -> None:
    # 29.97 DF: the frame after 00:00:59;29 is 00:01:00;02 (labels ;00 and ;01 are skipped).
    take = make_take(rate=FrameRate(Fraction(30000, 1001)), drop_frame=True, tc_in="00:00:59;28", frames=4,
                     samples_per_frame=1)
    rows = _read(export_csv(take, tmp_path)[0])
    assert [r["timecode"] for r in rows] == ["00:00:59;28", "00:00:59;29", "00:01:00;02", "00:01:00;03"]
    assert [r["frame"] for r in rows] == ["1798", "1799", "1800", "1801"]
    # No tracker labels on a hand-made take: the sample's own timecode is the take's label, as sent.
    assert [r["source_timecode"] for r in rows] == ["00:00:59;28", "00:00:59;29", "00:01:00;02",
                                                    "00:01:00;03"]
    assert {r["source_timecode_rate"] for r in rows} == {"30000/1001"}


def test_the_source_timecode_is_the_trackers_label_not_the_takes(tmp_path: Path) -> None:
    # A 24 fps take fed by a tracker counting at 50 fps, then 120 fps, then sending 23.976 with the
    # drop-frame flag (which SMPTE does not have): each label as sent, past the first 16384-row chunk too.
    n = 17_000
    take = make_take(frames=1700, samples_per_frame=10)
    track = take.cameras["A"]
    rows = np.arange(n)
    rates = np.where((rows < 16_000)[:, None], [50, 1], [120, 1])
    rates[16_500:] = [24000, 1001]
    nominal = np.array([50 if r < 16_000 else 120 if r < 16_500 else 24 for r in range(n)])
    frames = rows % nominal
    track.timecode = np.stack([np.full(n, 3), (rows // 3000) % 60, (rows // 50) % 60, frames], axis=1)
    track.timecode_rate = rates
    track.timecode_drop = rows >= 16_500
    track.focal_length_mm = 20.0 + rows / 1000.0
    got = _read(export_csv(take, tmp_path)[0])
    assert [(r["timecode"], r["source_timecode"], r["source_timecode_rate"]) for r in got[:2]] == [
        ("10:00:00:00", "03:00:00:00", "50/1"), ("10:00:00:00", "03:00:00:01", "50/1")]
    assert got[49]["source_timecode"] == "03:00:00:49"  # frame 49 of a 50 fps tracker on a 24 fps take
    assert [(r["source_timecode"], r["source_timecode_rate"]) for r in got[16_179:16_181]] == [
        ("03:05:23:099", "120/1"), ("03:05:23:100", "120/1")]  # three frame digits at 120 fps
    assert [(r["source_timecode"], r["source_timecode_rate"]) for r in got[16_500:16_502]] == [
        ("03:05:30;12", "24000/1001"), ("03:05:30;13", "24000/1001")]
    expected = []
    for r in range(n):
        h, m, s_, f = (int(v) for v in track.timecode[r])
        sep = ";" if track.timecode_drop[r] else ":"
        expected.append(f"{h:02d}:{m:02d}:{s_:02d}{sep}{f:03d}" if nominal[r] > 100 else
                        f"{h:02d}:{m:02d}:{s_:02d}{sep}{f:02d}")
    assert [r["source_timecode"] for r in got] == expected
    for r in (0, 16_383, 16_384, 16_999):
        vfov = math.degrees(2 * math.atan(24.0 / (2 * (20.0 + r / 1000.0))))
        assert float(got[r]["vfov_deg"]) == pytest.approx(vfov, abs=1e-9), r


def test_camera_without_samples_writes_nothing(tmp_path: Path) -> None:
    take = make_take(cameras=("A", "B"))
    take.cameras["B"] = CameraTrack.empty("B")
    assert [p.name for p in export_csv(take, tmp_path)] == ["12-A-T003_A.csv"]


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"12-A-T003_A\.csv"):
        export_csv(make_take(), tmp_path / "missing")


# --- the column formatters -------------------------------------------------------------------------

@given(st.lists(st.floats(-1e11, 1e11, allow_nan=False), min_size=1, max_size=20))
def test_fixed_is_python_rounding_without_trailing_zeros(values: list[float]) -> None:
    for value, text in zip(values, _lines(fixed(values, 6), len(values)), strict=True):
        assert abs(float(text) - value) <= 5e-7 + 1e-15 * abs(value)
        assert text == "0" or not text.endswith(("0", ".")) or "." not in text
        assert text != "-0"


@given(st.lists(st.floats(-1e300, 1e300), min_size=1, max_size=20))  # 10 digits of ~1.8e308 round to inf
def test_scientific_round_trips_to_ten_digits(values: list[float]) -> None:
    for value, text in zip(values, _lines(scientific(values, 10), len(values)), strict=True):
        assert float(text) == pytest.approx(value, rel=5e-10, abs=0.0)


def test_formatter_examples() -> None:
    values = [0.0, -0.0, 1.5, -2.25, 1e-7, -4e-7, 0.1, 3e15, math.nan, math.inf, 1 / 24]
    assert _lines(fixed(values, 6), len(values)) == \
        ["0", "0", "1.5", "-2.25", "0", "0", "0.1", "3e+15", "", "", "0.041667"]
    assert _lines(scientific(values, 4), len(values)) == \
        ["0", "0", "1.5e+00", "-2.25e+00", "1e-07", "-4e-07", "1e-01", "3e+15", "", "", "4.167e-02"]
    assert _lines(scientific([1e-300, 9.99999e99], 3), 2) == ["1e-300", "1e+100"]
    assert _lines(integers([0, -1, 1_000_000_000_123_456_789]), 3) == ["0", "-1", "1000000000123456789"]
    assert _lines(integers([5, -1], np.array([True, False])), 2) == ["5", ""]
    assert _lines(hexadecimal([0, 255, 2**48 - 1], 12), 3) == ["000000000000", "0000000000ff", "ffffffffffff"]
    assert _lines(booleans(np.array([True, False])), 2) == ["true", "false"]


@pytest.mark.parametrize(("rate", "drop"), [("24", False), ("30000/1001", True), ("60000/1001", True),
                                            ("25", False), ("120", False)])
def test_timecode_labels_match_timecode(rate: str, drop: bool) -> None:
    frame_rate = FrameRate.parse(rate)
    frames = np.arange(0, 12_000_000, 2311)
    expected = [str(Timecode.from_frames(int(f), frame_rate, drop)) for f in frames]
    assert _lines(timecode_labels(frames, frame_rate, drop), frames.size) == expected


def test_progress_is_reported_at_most_every_percent() -> None:
    calls: list[float] = []
    report = ProgressReport(calls.append, 5000)
    for _ in range(5000):
        report.add(1)
    report.finish()
    assert 90 <= len(calls) <= 101 and calls == sorted(calls) and calls[-1] == 1.0
    ProgressReport(None, 0).finish()  # no callback, nothing to do: no error


def test_failed_write_keeps_the_old_file_and_leaves_no_tmp(tmp_path: Path) -> None:
    path = tmp_path / "take_A.csv"
    path.write_bytes(b"old\n")

    def chunks() -> Iterator[bytes]:
        yield b"half"
        raise RuntimeError("formatter broke")

    with pytest.raises(RuntimeError):
        write_atomically(path, chunks())
    assert path.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["take_A.csv"]
