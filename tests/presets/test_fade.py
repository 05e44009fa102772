"""The fade runner: curves at hand-worked times (fake clock, ticks by hand), and on a real loop:
the tick rate achieved, steady deadlines, late ticks not replayed, faults dropping one feature."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping

import pytest

from presets.fade import FadeGroup, FadeRunner
from stagectl.core.device import Device
from stagectl.core.events import EventQueue
from stagectl.core.features import Fade, Feature, FeatureKind, Value
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

BRIGHTNESS = Feature("brightness", "Brightness", "nit", minimum=0, maximum=10000, fade=Fade.LOG,
                     zone_value="brightness_nits")
CCT = Feature("cct", "Colour temperature", "K", minimum=2000, maximum=11000, fade=Fade.MIRED,
              zone_value="cct_k")
TINT = Feature("tint", "Tint", "Duv", minimum=-0.01, maximum=0.01, zone_value="tint_duv")
PRESET = Feature("preset", "Preset", "", minimum=1, maximum=128, integer=True, fade=Fade.STEP)
BLACKOUT = Feature("blackout", "Blackout", "", kind=FeatureKind.BOOL, fade=Fade.STEP)
LEVEL_DMX = Feature("level", "Level", "", minimum=0, maximum=255, integer=True, zone_value="level",
                    look_scale=255.0)
WALL_FEATURES = (BRIGHTNESS, CCT, TINT, PRESET, BLACKOUT)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class StampingClock:
    """``time.monotonic`` that keeps its last reading: give it to a fade runner and ``stamp`` to a
    :class:`RecordingDevice`, and every ``set`` carries the fade-clock time its value was computed for
    (however late the loop ran the tick), so curves are checked exactly on a real loop."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self) -> float:
        self.last = time.monotonic()
        return self.last

    def stamp(self) -> float:
        """The last reading (the tick's ``now`` while the tick sets values)."""
        return self.last


class RecordingDevice(Device):
    """A Device that records every accepted ``set`` as (clock time, feature, value) and writes nowhere."""

    kind = "recording"

    def __init__(self, name: str, features: Iterable[Feature] = WALL_FEATURES, *, zone: str | None = None,
                 clock: Callable[[], float] = time.monotonic, values: Mapping[str, Value] | None = None,
                 events: EventQueue | None = None,
                 raise_on: Mapping[str, BaseException] | None = None) -> None:
        super().__init__(name, zone=zone, events=events, poll_s=30.0)
        self._features = tuple(features)
        self.clock = clock
        self.values.update(values or {})
        self.sets: list[tuple[float, str, Value]] = []
        self.batches: list[dict[str, Value]] = []
        self.raise_on = dict(raise_on or {})

    @property
    def features(self) -> tuple[Feature, ...]:
        return self._features

    def set(self, feature: str, value: object) -> Value:
        if feature in self.raise_on:
            raise self.raise_on[feature]
        checked = super().set(feature, value)
        self.sets.append((self.clock(), feature, checked))
        return checked

    def sent(self, feature: str) -> list[Value]:
        """Values set for ``feature``, in order."""
        return [v for _, f, v in self.sets if f == feature]

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        self.batches.append(dict(values))

    async def _async_poll(self) -> Mapping[str, Value]:
        return {}


def _runner(clock: FakeClock, errors: list[str] | None = None,
            done: list[FadeGroup] | None = None) -> FadeRunner:
    return FadeRunner(clock=clock,
                      on_error=lambda d, f, m: errors.append(f"{d.name}/{f.name}: {m}") if errors is not None
                      else None,
                      on_done=done.append if done is not None else None)


def _at(runner: FadeRunner, clock: FakeClock, t: float) -> None:
    clock.now = 100.0 + t
    runner.tick()


def test_brightness_follows_log_nits_and_ends_exactly_on_target() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0})
    runner = _runner(clock)
    runner.start([(wall, BRIGHTNESS, 10000.0)], duration_s=2.0)
    for t in (0.5, 1.0, 1.5, 2.0):
        _at(runner, clock, t)
    assert wall.sent("brightness") == pytest.approx([100.0, 316.2278, 1000.0, 3162.278, 10000.0], rel=1e-6)
    assert wall.sent("brightness")[-1] == 10000.0  # exact
    assert not runner.busy


def test_cct_follows_mired_and_tint_is_linear() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"cct": 3200.0, "tint": -0.01})
    runner = _runner(clock)
    runner.start([(wall, CCT, 5600.0), (wall, TINT, 0.01)], duration_s=1.0)
    _at(runner, clock, 0.5)
    assert wall.sent("cct")[-1] == pytest.approx(4072.727, abs=0.01)
    assert wall.sent("tint")[-1] == pytest.approx(0.0, abs=1e-12)


def test_easing_shapes_the_fade() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"tint": 0.0})
    runner = _runner(clock)
    runner.start([(wall, TINT, 0.008)], duration_s=1.0, easing_name="ease-in")
    _at(runner, clock, 0.5)
    assert wall.sent("tint")[-1] == pytest.approx(0.002)  # 0.25 of the way


def test_step_features_are_set_at_the_start_and_unknown_starts_jump() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 500.0})
    runner = _runner(clock)
    runner.start([(wall, PRESET, 7), (wall, BLACKOUT, False), (wall, CCT, 5600.0), (wall, BRIGHTNESS, 50.0)],
                 duration_s=10.0)
    # nothing ticked by hand yet: start() ran the first tick
    assert wall.sent("preset") == [7] and wall.sent("blackout") == [False]
    assert wall.sent("cct") == [5600.0]  # no value known to fade from: jump
    assert wall.sent("brightness") == [500.0]
    _at(runner, clock, 5.0)
    assert wall.sent("preset") == [7] and wall.sent("cct") == [5600.0]  # not sent again
    assert wall.sent("brightness")[-1] == pytest.approx(math.sqrt(500 * 50))


def test_a_new_fade_starts_where_the_running_one_is() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0})
    done: list[FadeGroup] = []
    runner = _runner(clock, done=done)
    first = runner.start([(wall, BRIGHTNESS, 10000.0)], duration_s=2.0, look="A")
    _at(runner, clock, 1.0)
    assert wall.sent("brightness")[-1] == pytest.approx(1000.0)
    wall.values["brightness"] = 150.0  # the device lags behind: the running fade's value wins
    second = runner.start([(wall, BRIGHTNESS, 100.0)], duration_s=2.0, look="B")
    assert first.superseded and first.done and not second.done
    _at(runner, clock, 1.0 + 1e-9)
    assert wall.sent("brightness")[-1] == pytest.approx(1000.0, rel=1e-6)  # no jump
    _at(runner, clock, 2.0)
    assert wall.sent("brightness")[-1] == pytest.approx(math.sqrt(1000 * 100))
    _at(runner, clock, 3.0)
    assert wall.sent("brightness")[-1] == 100.0
    assert done == [first, second] and not second.superseded


def test_a_fade_starts_from_what_was_sent_unless_the_device_was_changed_elsewhere() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0})
    runner = _runner(clock)
    runner.start([(wall, BRIGHTNESS, 1000.0)], duration_s=0.0)
    assert wall.values["brightness"] == 100.0  # not written yet: the device still reports the old value
    runner.start([(wall, BRIGHTNESS, 10.0)], duration_s=2.0)
    _at(runner, clock, 1.0)
    assert wall.sent("brightness")[-1] == pytest.approx(100.0)  # from the 1000 sent, not the stale 100
    _at(runner, clock, 2.0)
    wall.values["brightness"] = 10.0  # the write went through
    assert runner.current(wall, BRIGHTNESS) == 10.0
    wall.values["brightness"] = 500.0  # someone turned it up on the processor's front panel
    assert runner.current(wall, BRIGHTNESS) == 500.0
    runner.start([(wall, BRIGHTNESS, 50.0)], duration_s=2.0)
    assert wall.sent("brightness")[-1] == 500.0


def test_hold_freezes_and_release_continues_from_there() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0})
    runner = _runner(clock)
    group = runner.start([(wall, BRIGHTNESS, 10000.0)], duration_s=2.0)
    _at(runner, clock, 1.0)
    runner.hold(True)
    count = len(wall.sets)
    _at(runner, clock, 5.0)
    assert len(wall.sets) == count and runner.held
    assert runner.progress()[0].progress == pytest.approx(0.5)
    runner.hold(False)
    _at(runner, clock, 5.5)
    assert wall.sent("brightness")[-1] == pytest.approx(3162.278, rel=1e-6)  # as at t = 1.5 unheld
    _at(runner, clock, 6.0)
    assert wall.sent("brightness")[-1] == 10000.0 and group.done


def test_delay_waits_then_starts_from_the_value_then() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0})
    runner = _runner(clock)
    runner.start([(wall, BRIGHTNESS, 10000.0)], duration_s=1.0, delay_s=1.0, label="cue 3")
    _at(runner, clock, 0.5)
    assert wall.sets == []
    progress = runner.progress()[0]
    assert progress.waiting and progress.remaining_s == pytest.approx(1.5) and progress.label == "cue 3"
    wall.values["brightness"] = 1000.0  # someone moved it meanwhile
    _at(runner, clock, 1.0)
    _at(runner, clock, 1.5)
    assert wall.sent("brightness") == pytest.approx([1000.0, math.sqrt(1000 * 10000)])


def test_cancel_waiting_and_cancel_all() -> None:
    clock = FakeClock()
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0, "tint": 0.0})
    runner = _runner(clock)
    runner.start([(wall, TINT, 0.01)], duration_s=1.0, delay_s=5.0)
    runner.start([(wall, BRIGHTNESS, 1000.0)], duration_s=1.0)
    runner.cancel_waiting()
    _at(runner, clock, 0.5)
    runner.cancel_all()
    count = len(wall.sets)
    _at(runner, clock, 6.0)
    assert len(wall.sets) == count and wall.sent("tint") == [] and not runner.busy


def test_a_forgotten_device_leaves_every_fade_and_the_rest_goes_on() -> None:
    clock = FakeClock()
    done: list[FadeGroup] = []
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 100.0, "tint": 0.0})
    side = RecordingDevice("side", clock=clock, values={"brightness": 100.0, "tint": 0.0})
    runner = _runner(clock, done=done)
    running = runner.start([(wall, BRIGHTNESS, 1000.0), (side, BRIGHTNESS, 1000.0)], duration_s=1.0)
    waiting = runner.start([(wall, TINT, 0.01), (side, TINT, 0.01)], duration_s=1.0, delay_s=5.0)
    kept = FadeGroup("held elsewhere", None, None, 0.0, 0.0, running.easing, [(side, TINT, 0.0)], done=True)
    _at(runner, clock, 0.5)
    side_sets = len(side.sets)
    assert runner.forget_device(side, [kept]) == 1  # one of its features was fading
    assert [t[0] for t in (*running.targets, *waiting.targets)] == [wall, wall] and kept.targets == []
    assert running.owned == 1 and not running.done
    _at(runner, clock, 1.0)
    _at(runner, clock, 6.0)
    _at(runner, clock, 7.0)
    assert wall.sent("brightness")[-1] == 1000.0 and wall.sent("tint")[-1] == 0.01
    assert len(side.sets) == side_sets and done == [running, waiting] and not runner.busy
    # Nothing of it is remembered: a device of the same name starts from its own value.
    again = RecordingDevice("side", clock=clock, values={"brightness": 500.0})
    runner.start([(again, BRIGHTNESS, 1000.0)], duration_s=1.0)
    assert again.sent("brightness") == [500.0]


def test_forgetting_the_only_device_of_a_fade_ends_it_and_stops_the_ticking() -> None:
    async def body() -> None:
        wall = RecordingDevice("wall", values={"brightness": 100.0})
        runner = FadeRunner(rate_hz=50.0)
        group = runner.start([(wall, BRIGHTNESS, 1000.0)], duration_s=60.0)
        assert runner.busy and runner.forget_device(wall) == 1
        assert group.done and not runner.busy and runner.progress() == []
        ticks = runner.ticks
        await asyncio.sleep(0.1)  # the loop runs every timer due in it: a tick was due after 20 ms
        assert runner.ticks == ticks  # nothing left to move: no tick scheduled

    run_loop(body)


def test_integer_features_get_whole_numbers() -> None:
    clock = FakeClock()
    dmx = RecordingDevice("dmx", [LEVEL_DMX], clock=clock, values={"level": 0})
    runner = _runner(clock)
    runner.start([(dmx, LEVEL_DMX, 255)], duration_s=1.0)
    for i in range(1, 11):
        _at(runner, clock, i / 10)
    values = dmx.sent("level")
    assert all(isinstance(v, int) for v in values) and values[-1] == 255
    assert values[5] == 128  # 0.5 * 255 = 127.5, rounded to even by round(): 128


def test_a_failing_feature_is_dropped_and_the_others_go_on() -> None:
    clock = FakeClock()
    errors: list[str] = []
    wall = RecordingDevice("wall", clock=clock, values={"brightness": 20000.0, "cct": 3200.0})  # out of range
    odd = RecordingDevice("odd", clock=clock, values={"tint": 0.0}, raise_on={"tint": RuntimeError("boom")})
    runner = _runner(clock, errors)
    group = runner.start([(wall, BRIGHTNESS, 100.0), (wall, CCT, 5600.0), (odd, TINT, 0.01)], duration_s=1.0)
    _at(runner, clock, 0.5)
    _at(runner, clock, 1.0)
    assert wall.sent("brightness") == [] and wall.sent("cct")[-1] == 5600.0
    assert errors == ["wall/brightness: wall: brightness = 20000.0 is outside 0..10000 nit; "
                      "dropped from the fade",
                      "odd/tint: RuntimeError: boom; dropped from the fade"]
    assert group.done


def test_rate_must_be_sane() -> None:
    for bad in (0.0, math.nan, 5000.0):
        with pytest.raises(ValueError, match="fade rate"):
            FadeRunner(rate_hz=bad)


# --- on a real loop ------------------------------------------------------------------------------


def test_real_loop_rate_curve_and_final_value() -> None:
    async def body() -> None:
        clock = StampingClock()
        wall = RecordingDevice("wall", values={"brightness": 10.0}, clock=clock.stamp)
        await wall.async_start()
        runner = FadeRunner(rate_hz=60.0, clock=clock)
        group = runner.start([(wall, BRIGHTNESS, 1000.0)], duration_s=1.0)
        await async_wait_until(lambda: not runner.busy)
        await async_wait_until(lambda: wall.values["brightness"] == 1000.0)  # the writer sent the final value
        await wall.async_stop()
        sets = [(t - group.begin_at, v) for t, f, v in wall.sets if f == "brightness"]
        assert sets[-1][1] == 1000.0 and sets[-1][0] >= 1.0
        for t, value in sets[:-1]:  # each value is the curve at the fade time it was computed for
            assert value == pytest.approx(10.0 * 100.0 ** t, rel=1e-9)  # log-nits: 10 -> 1000 nits in 1 s
        # Steady deadlines, 1/60 s apart: never more ticks than deadlines passed in the time measured
        # (a late tick is not replayed), and, a late tick aside, one deadline between two ticks.
        elapsed = sets[-1][0]
        assert runner.ticks <= 2 + math.ceil(elapsed * 60), (runner.ticks, elapsed)
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(sets)]
        assert statistics.median(gaps) == pytest.approx(1 / 60, rel=0.25), gaps
        assert len(wall.batches) >= len(sets) // 2  # it wrote between ticks, not once at the end

    run_loop(body)


STALL_S = 0.3
"""The loop is blocked this long mid-fade: 30 deadlines of a 100 Hz fade pass."""


def test_a_late_tick_computes_now_and_does_not_replay() -> None:
    async def body() -> None:
        clock = StampingClock()
        wall = RecordingDevice("wall", values={"tint": -0.01}, clock=clock.stamp)
        runner = FadeRunner(rate_hz=100.0, clock=clock)
        group = runner.start([(wall, TINT, 0.01)], duration_s=1.0)
        await async_wait_until(lambda: len(wall.sets) >= 5)
        time.sleep(STALL_S)  # the loop is blocked: the deadlines of the stall pass untouched
        stalled_until = time.monotonic()
        await async_wait_until(lambda: wall.sets[-1][0] >= stalled_until + 0.05)
        after = [(t, v) for t, _, v in wall.sets if t >= stalled_until]
        # Deadlines are absolute and never run early: in 50 ms at 100 Hz at most 5 (+1 at either end),
        # however late the loop; replaying the stall would put 30 ticks right here.
        soon = [t for t, _ in after if t <= stalled_until + 0.05]
        assert len(soon) <= 7, f"{len(soon)} sets in the 50 ms after the stall"
        first_t, first_v = after[0]
        assert isinstance(first_v, float)
        assert first_v == pytest.approx(-0.01 + 0.02 * (first_t - group.begin_at), abs=1e-12)  # for now
        await async_wait_until(lambda: not runner.busy)
        assert wall.sent("tint")[-1] == 0.01

    run_loop(body)
