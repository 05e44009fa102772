"""Placing samples inside their timecode frame on real takes: without tracker timecode (a FreeD tracker,
stamped by the stage clock at arrival) and with tracker timecode but no sub-frame (arrival time fitted to
the labels). The pose says when the sender sent each sample."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.clock import StageClock
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.conform import Clip
from stagectl.takes.conform.run import conform_clips
from stagectl.takes.conform.timing import axis_per_second, sample_times
from tests.chan_reader import read_chan
from tests.support.polling import wait_until
from tests.support.recording import read_take, record, running
from tests.support.stagefile import StageFile
from tests.takes.conform.recorded import datagram, samples, wall_time_of_day
from tracking.freed.codec import FreeDPosition, encode_d1

HZ = 100
SECONDS = 1.5
QUARTER_FRAME_S = 0.01  # at 25 fps


def _paced(count: int, send: Callable[[int], object]) -> None:
    """Call ``send(k)`` for k < count at HZ on an absolute schedule (no drift builds up)."""
    start = time.monotonic_ns()
    for k in range(count):
        delay = (start + k * 1_000_000_000 // HZ - time.monotonic_ns()) / 1e9
        if delay > 0:
            time.sleep(delay)
        send(k)


def _phase(clock: StageClock, near_ns: int) -> tuple[int, int]:
    """(ns, frame) where the stage clock's frame starts, found through its public ``frame_at``."""
    low, high = near_ns, near_ns + 2 * 10**9
    frame = clock.frame_at(low)
    while high - low > 1:  # the first ns showing frame + 1
        mid = (low + high) // 2
        low, high = (mid, high) if clock.frame_at(mid) == frame else (low, mid)
    return high, frame + 1


def test_stage_clock_samples_are_placed_by_arrival_inside_their_frame(tmp_path: Path) -> None:
    text = StageFile("freed", frame_rate=25).source("A", "freed", camera_id=1).takes(dir="takes").text
    sent_ns: list[int] = []
    with running(text, tmp_path) as runner:
        source = runner.stage.sources[0]
        bound = source.bound
        assert bound is not None
        clock = runner.stage.clock
        origin = time.monotonic_ns()

        def during() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                def send(k: int) -> None:
                    now = time.monotonic_ns()
                    sent_ns.append(now)
                    x_mm = (now - origin) / 1e6  # x = seconds since origin
                    sock.sendto(encode_d1(FreeDPosition(1, 0.0, 0.0, 0.0, x_mm, 0.0, 0.0, 0, 0)),
                                ("127.0.0.1", bound.port))

                _paced(round(HZ * SECONDS), send)
            wait_until(lambda: runner.stage.recorder.status().samples.get("A", 0) >= len(sent_ns))

        record(runner, during, scene="freed")
        edge_ns, edge_frame = _phase(clock, origin)
    take = read_take(tmp_path / "takes")
    track = take.cameras["A"]
    assert len(track) == len(sent_ns) and not track.tracker_timecode.any()
    np.testing.assert_allclose(track.translation_m[:, 0], (np.array(sent_ns) - origin) / 1e9, atol=1e-4)

    # The truth: the stage clock's time at each arrival, from where its frames start.
    def clock_s(ns: np.ndarray) -> np.ndarray:
        return edge_frame / 25 + (ns - edge_ns) / 1e9

    times = sample_times(take, "A")
    assert times.method_counts() == {"stage_clock": len(track)}
    day = 86400.0
    error = (times.times - clock_s(track.arrival_ns) + day / 2) % day - day / 2
    # Frame starts alone would be up to 40 ms early; the fit finds the clock's phase.
    assert np.max(np.abs(error)) < QUARTER_FRAME_S, np.max(np.abs(error))

    # Frame by frame: clip frame n shows the pose that arrived at its exposure time.
    assert take.info.tc_in is not None
    clip = Clip("A010C001", take.info.tc_in + 10, 20, FrameRate.parse(25), camera="A")
    conform_clips([clip], tmp_path / "takes", tmp_path / "out", formats=["chan"])
    chan = read_chan(tmp_path / "out" / "A010C001" / "A010C001.chan", columns=7)
    frames = chan.frames
    exposure_ns = edge_ns + ((frames - edge_frame) * 10**9 / 25 % (day * 10**9))
    latency = float(np.max((track.arrival_ns - np.array(sent_ns)) / 1e9))
    want = (exposure_ns - origin) / 1e9
    assert frames.size == 20
    assert np.max(np.abs(chan.values[:, 0] - want)) < QUARTER_FRAME_S + latency


def test_tracker_timecode_without_sub_frames_is_placed_by_arrival(tmp_path: Path) -> None:
    origin = Timecode.parse("11:00:00:00", FrameRate.parse(25))
    sent = samples(origin, SECONDS, HZ, sub_frames=False)
    text = StageFile("otrk", frame_rate=25).source("A", "opentrackio").takes(dir="takes").text
    with running(text, tmp_path) as runner:
        bound = runner.stage.sources[0].bound
        assert bound is not None
        # The stage clock on the tracker's time of day, as house sync keeps a stage: the labels are then
        # placed on the stage clock's day whatever the time of day the test runs at.
        runner.stage.clock.jam(wall_time_s=wall_time_of_day(str(origin)))

        def during() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                _paced(len(sent), lambda k: sock.sendto(datagram(k, sent[k]), ("127.0.0.1", bound.port)))
            wait_until(lambda: runner.stage.recorder.status().samples.get("A", 0) >= len(sent))

        record(runner, during, scene="otrk")
    take = read_take(tmp_path / "takes")
    times = sample_times(take, "A")
    assert times.method_counts() == {"arrival_fit": len(sent)}
    t = times.times - float(Fraction(origin.frames, 25))
    truth = np.array([s.t for s in sent])
    label = np.array([(s.label.frames - origin.frames) / 25 for s in sent])
    assert np.all((t >= label - 1e-9) & (t < label + 0.04))  # never outside the labelled frame
    # Frame starts alone are 15 ms off at the median (4 samples at 0, 10, 20, 30 ms into each frame).
    assert float(np.median(np.abs(t - truth))) < QUARTER_FRAME_S / 2


@pytest.mark.parametrize("rate", ["23.976", "29.97"])
def test_ntsc_stage_clock_is_placed_at_its_true_rate(rate: str) -> None:
    """A 23.976 stage clock's frames last 1001/24000 s: labels 1/24 s apart on the clock face."""
    frame_rate = FrameRate.parse(rate)
    drop = rate == "29.97"
    clock = StageClock(frame_rate, drop, wall_time_s=36000.0, monotonic_ns=0)
    ns = np.arange(0, 2 * 10**9, 7_300_000)
    frames = np.array([clock.frame_at(int(n)) for n in ns])
    per_s = axis_per_second(frame_rate, drop)
    assert per_s == (Fraction(1) if drop else Fraction(1000, 1001))
    # The frame a time on the axis falls in is the frame the clock showed.
    step = 1 / frame_rate.rate if drop else Fraction(1, frame_rate.nominal)
    first = frames[0] * step
    placed = [int((first + Fraction(int(n)) / 10**9 * per_s) // step) for n in ns]
    assert placed == frames.tolist()
