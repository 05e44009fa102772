"""The cue engine: looks onto devices (zones, scale, refusals), GO / BACK / GOTO, delays, hold,
blackout, back to safe, status, bad commands; and a cue run end to end on a real loop."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from presets.cues import CueEngine, EngineStatus
from presets.model import Cue, CueError, CueList, Look, LookError, ZoneValues
from presets.store import LookStore
from stagectl.core.colour import Cdl
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level, StageEvent
from stagectl.core.features import Fade, Feature, FeatureError, FeatureValueError
from tests.presets.test_fade import (
    BLACKOUT,
    BRIGHTNESS,
    CCT,
    PRESET,
    TINT,
    FakeClock,
    RecordingDevice,
    StampingClock,
)
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

PERCENT = Feature("brightness", "Brightness", "%", minimum=0, maximum=100, fade=Fade.LOG,
                  zone_value="brightness_nits", look_scale=100.0 / 1500.0)
KEY_LEVEL = Feature("key.intensity", "Key intensity", "", minimum=0, maximum=1, zone_value="level",
                    zone="key")
KEY_GAIN = Feature("group-1.intensity", "Group gain", "", minimum=0, maximum=2)
EXPOSURE = Feature("exposure", "Exposure", "stops", minimum=-15, maximum=15, zone_value="exposure_stops")
SLOPE_R = Feature("slope_r", "Slope red", "", minimum=0, maximum=4, fade=Fade.LOG, zone_value="cdl.slope.r")
POWER_B = Feature("power_b", "Power blue", "", minimum=0.1, maximum=4, fade=Fade.LOG,
                  zone_value="cdl.power.b")

DAY = Look("Day", {"wall": ZoneValues(brightness_nits=1000, cct_k=5600, tint_duv=0.0),
                   "ceiling": ZoneValues(brightness_nits=1500),
                   "key": ZoneValues(level=1.0),
                   "frustum": ZoneValues(exposure_stops=0, cdl=Cdl(slope=(1.0, 1, 1), power=(1, 1, 1.0)))})
NIGHT = Look("Night", {"wall": ZoneValues(brightness_nits=10, cct_k=9000, tint_duv=-0.004),
                       "ceiling": ZoneValues(brightness_nits=15),
                       "key": ZoneValues(level=0.2),
                       "frustum": ZoneValues(exposure_stops=-2,
                                             cdl=Cdl(slope=(0.25, 1, 1), power=(1, 1, 4.0)))})
DUSK = Look("Dusk", {"wall": ZoneValues(brightness_nits=100, cct_k=3200)})
HOT = Look("Hot", {"wall": ZoneValues(brightness_nits=400, cct_k=15000)})  # cct beyond the wall's 11000 K
SAFE = Look("Safe", {"wall": ZoneValues(brightness_nits=300, cct_k=5000)})


class Stage:
    """An engine over recording devices with a fake clock; ``at(t)`` moves the clock and ticks."""

    def __init__(self, folder: Path, cues: CueList | None = None, **options: Any) -> None:
        self.clock = FakeClock()
        self.events = EventQueue()
        store = LookStore(folder)
        for look in (DAY, NIGHT, DUSK, HOT, SAFE):
            store.save(look)
        self.wall = RecordingDevice("wall", zone="wall", clock=self.clock,
                                    values={"brightness": 100.0, "cct": 3200.0, "tint": 0.0})
        self.ceiling = RecordingDevice("ceiling", [PERCENT], zone="ceiling", clock=self.clock,
                                       values={"brightness": 10.0})
        self.fixtures = RecordingDevice("dmx", [KEY_LEVEL, KEY_GAIN, BLACKOUT], clock=self.clock,
                                        values={"key.intensity": 0.0, "group-1.intensity": 1.0})
        self.ue = RecordingDevice("ue", [EXPOSURE, SLOPE_R, POWER_B], clock=self.clock,
                                  values={"exposure": 0.0, "slope_r": 1.0, "power_b": 1.0})
        devices = {d.name: d for d in (self.wall, self.ceiling, self.fixtures, self.ue)}
        self.engine = CueEngine(devices, store, events=self.events, clock=self.clock, cues=cues,
                                frustum_device="ue", **options)

    def at(self, t: float) -> None:
        self.clock.now = 100.0 + t
        self.engine.runner.tick()

    def status(self) -> EngineStatus:
        return self.engine.status()

    def drain(self, level: Level = Level.WARNING) -> list[StageEvent]:
        return [e for e in self.events.drain() if e.level >= level]


CUES = CueList.of([Cue("1", "Day", fade_s=2, easing="linear"), Cue("2", "Night", fade_s=2, easing="linear"),
                   Cue("2.5", "Dusk", fade_s=0), Cue("3", "Safe", fade_s=1, delay_s=1, label="wrap")])


def test_a_look_reaches_every_zone_with_scale_and_the_frustum_device(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    assert stage.engine.go() == CUES.get("1")
    stage.at(2.0)
    assert stage.wall.sent("brightness")[-1] == 1000.0 and stage.wall.sent("cct")[-1] == 5600.0
    assert stage.ceiling.sent("brightness")[-1] == pytest.approx(100.0)  # 1500 nits = 100 % of its peak
    assert stage.fixtures.sent("key.intensity")[-1] == 1.0  # the feature's own zone
    assert stage.fixtures.sent("group-1.intensity") == []  # no zone_value: looks leave it alone
    assert stage.ue.sent("exposure")[-1] == 0.0 and stage.ue.sent("slope_r")[-1] == 1.0
    status = stage.status()
    assert (status.live_look, status.live_cue, status.cue_playing, status.next_cue) == ("Day", "1", None, "2")
    assert status.reached_look == "Day" and status.fades == ()


def test_fade_curves_through_the_engine(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.go()
    stage.at(1.0)
    assert stage.wall.sent("brightness")[-1] == pytest.approx(math.sqrt(100 * 1000))  # log nits
    assert stage.wall.sent("cct")[-1] == pytest.approx(1e6 / ((312.5 + 1e6 / 5600) / 2))  # mired
    assert stage.ceiling.sent("brightness")[-1] == pytest.approx(math.sqrt(10 * 100))  # log percent
    status = stage.status()
    assert status.cue_playing == "1"
    assert [f.label for f in status.fades] == ["cue 1"]
    assert status.fades[0].progress == pytest.approx(0.5)
    stage.at(2.0)
    stage.engine.go()  # to Night: slope 1 -> 0.25 and power 1 -> 4 in log space
    stage.at(3.0)
    assert stage.ue.sent("slope_r")[-1] == pytest.approx(0.5)
    assert stage.ue.sent("power_b")[-1] == pytest.approx(2.0)
    assert stage.ue.sent("exposure")[-1] == pytest.approx(-1.0)


def test_go_during_a_fade_starts_from_where_it_is(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.go()
    stage.at(1.0)
    midway = float(stage.wall.sent("brightness")[-1])
    stage.engine.go()  # Night while Day is halfway
    sent = stage.wall.sent("brightness")
    assert sent[-1] == pytest.approx(midway)  # first value of the new fade: no jump
    stage.at(2.0)
    assert stage.wall.sent("brightness")[-1] == pytest.approx(math.sqrt(midway * 10))
    stage.at(3.0)
    assert stage.wall.sent("brightness")[-1] == 10.0
    assert stage.status().reached_look == "Night"  # Day was never fully reached


def test_back_goto_and_the_ends_of_the_list(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    assert stage.engine.back() is None  # at the top
    stage.engine.goto("2.5")
    assert stage.wall.sent("brightness")[-1] == 100.0  # a 0 s cue lands at once
    assert stage.engine.back() == CUES.get("2")
    assert stage.status().next_cue == "2.5"
    stage.engine.goto("3")
    assert stage.engine.go() is None
    with pytest.raises(CueError, match=r"no cue 4 \(cues: 1, 2, 2.5, 3\)"):
        stage.engine.goto("4")
    with pytest.raises(CueError, match="cue number"):
        stage.engine.goto("four")
    status = stage.status()
    assert status.errors == 2 and "'four'" in status.last_errors["cues"]
    assert [e.message for e in stage.drain()] == ["no cue 4 (cues: 1, 2, 2.5, 3)"]  # the second: rate-limited


def test_a_cue_waits_out_its_delay_and_a_newer_go_forgets_it(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.goto("3")  # Safe after 1 s, in 1 s
    stage.at(0.5)
    assert stage.wall.sets == []
    assert stage.status().fades[0].waiting
    stage.at(1.5)
    assert stage.wall.sent("cct")[-1] == pytest.approx(1e6 / ((312.5 + 200) / 2))
    stage.engine.goto("3")
    stage.engine.goto("2.5")  # Dusk now; the waiting Safe never starts
    stage.at(5.0)
    assert stage.wall.sent("cct")[-1] == 3200.0 and stage.status().fades == ()


def test_a_target_outside_the_range_is_refused_and_the_rest_proceeds(tmp_path: Path) -> None:
    stage = Stage(tmp_path)
    stage.engine.recall("Hot", fade_s=0)
    assert stage.wall.sent("brightness") == [400.0] and stage.wall.sent("cct") == []
    events = stage.drain()
    assert len(events) == 1 and events[0].source == "wall" and events[0].kind == "rejected"
    assert "outside 2000..11000 K" in events[0].message and "'Hot'" in events[0].message
    assert stage.status().last_errors["wall"] == events[0].message


def test_refusals_are_rate_limited_per_device_but_all_counted(tmp_path: Path) -> None:
    stage = Stage(tmp_path)
    for _ in range(5):
        stage.engine.recall("Hot", fade_s=0)
    assert len(stage.drain()) == 1
    assert stage.status().errors == 5
    stage.clock.now += 1.5
    stage.engine.recall("Hot", fade_s=0)
    later = stage.drain()
    assert len(later) == 1 and "(4 similar suppressed)" in later[0].message


def test_hold_and_release(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.go()
    stage.at(1.0)
    stage.engine.hold(True)
    frozen = stage.wall.sent("brightness")[-1]
    stage.at(30.0)
    assert stage.wall.sent("brightness")[-1] == frozen and stage.status().held
    stage.engine.hold(False)
    stage.at(30.5)
    assert stage.wall.sent("brightness")[-1] == pytest.approx(100 * 10 ** 0.75)  # 1.5 s of the 2 s fade
    stage.at(31.0)
    assert stage.wall.sent("brightness")[-1] == 1000.0 and not stage.status().held


def test_blackout_then_go_fades_up_from_black(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.go()
    stage.at(1.0)
    stage.engine.blackout()
    assert stage.wall.sent("blackout") == [True] and stage.fixtures.sent("blackout") == [True]
    assert stage.wall.sent("brightness")[-1] == 0.0 and stage.ceiling.sent("brightness")[-1] == 0.0
    assert stage.fixtures.sent("key.intensity")[-1] == 0.0
    assert stage.fixtures.sent("group-1.intensity") == []  # a gain no look would restore
    count = len(stage.wall.sets)
    stage.at(1.5)
    assert len(stage.wall.sets) == count  # the running fade stopped
    status = stage.status()
    assert status.blackout and status.live_look is None and status.fades == ()
    stage.engine.go()  # Night
    assert stage.wall.sent("blackout") == [True, False]
    stage.at(2.5)  # from the 0 blackout sent, though the device has not confirmed it yet
    assert 0.0 < float(stage.wall.sent("brightness")[-1]) < 10.0
    stage.at(3.5)
    assert stage.wall.sent("brightness")[-1] == 10.0 and not stage.status().blackout


def test_a_removed_device_leaves_fades_and_blackout_and_is_unknown_from_then_on(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.go()  # Day over 2 s: wall, ceiling, dmx, ue
    stage.at(1.0)
    ceiling_sets = len(stage.ceiling.sets)
    assert stage.engine.remove_device("ceiling") is stage.ceiling
    assert stage.engine.remove_device("ceiling") is None  # already gone
    assert "ceiling" not in stage.engine.devices
    stage.at(2.0)
    assert stage.wall.sent("brightness")[-1] == 1000.0 and len(stage.ceiling.sets) == ceiling_sets
    assert stage.status().reached_look == "Day" and stage.status().fades == ()
    info = [e.message for e in stage.events.drain() if e.source == "cues" and "removed" in e.message]
    assert info == ["ceiling: 1 feature(s) left their fade (the device was removed); the rest goes on"]

    stage.engine.blackout()
    assert stage.engine.remove_device("dmx") is stage.fixtures  # blacked out: it leaves the blackout too
    stage.engine.go()  # Night: the blackout features are turned off again, on the devices still here
    assert stage.wall.sent("blackout") == [True, False] and stage.fixtures.sent("blackout") == [True]
    stage.at(10.0)
    assert stage.wall.sent("brightness")[-1] == 10.0 and stage.fixtures.sent("key.intensity")[-1] == 0.0

    with pytest.raises(FeatureError) as removed:
        stage.engine.fade_feature("dmx", "key.intensity", 0.5, 1.0)
    with pytest.raises(FeatureError) as unknown:
        stage.engine.fade_feature("nobody", "key.intensity", 0.5, 1.0)
    assert str(removed.value).startswith("no device 'dmx'") and "(devices: wall, ue)" in str(removed.value)
    assert str(unknown.value).replace("'nobody'", "'dmx'") == str(removed.value)


def test_a_device_joins_the_engine_once(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES)
    stage.engine.remove_device("ceiling")
    stage.engine.add_device(stage.ceiling)
    assert list(stage.engine.devices) == ["wall", "dmx", "ue", "ceiling"]
    with pytest.raises(StageError, match="already drives a device named 'ceiling'"):
        stage.engine.add_device(stage.ceiling)
    stage.engine.go()
    stage.at(2.0)
    assert stage.ceiling.sent("brightness")[-1] == pytest.approx(100.0)  # looks reach it again


def test_back_to_safe(tmp_path: Path) -> None:
    stage = Stage(tmp_path, CUES, safe_look="Safe", safe_fade_s=1.0)
    stage.engine.back_to_safe()  # nothing reached yet: the safe look
    stage.at(1.0)
    assert stage.status().reached_look == "Safe"
    stage.engine.go()  # Day, reached
    stage.at(3.0)
    stage.engine.go()  # Night, halfway
    stage.at(4.0)
    group = stage.engine.back_to_safe()
    assert group.look == "Day" and group.duration_s == 1.0
    stage.at(5.0)
    assert stage.wall.sent("brightness")[-1] == 1000.0
    status = stage.status()
    assert (status.live_look, status.live_cue, status.next_cue) == ("Day", None, "2.5")
    stage.engine.back_to_safe()  # Day is live: the one reached before it
    assert stage.status().live_look == "Safe"


def test_back_to_safe_with_nothing_to_go_back_to(tmp_path: Path) -> None:
    stage = Stage(tmp_path)
    with pytest.raises(CueError, match="no look has been fully reached"):
        stage.engine.back_to_safe()


def test_a_cue_with_a_missing_look_is_reported_and_go_moves_on(tmp_path: Path) -> None:
    cues = CueList.of([Cue("1", "Gone"), Cue("2", "Dusk", fade_s=0)])
    stage = Stage(tmp_path, cues)
    with pytest.raises(LookError, match="no look called 'Gone'"):
        stage.engine.go()
    assert "cue 1: " in stage.status().last_errors["cues"]
    stage.engine.go()
    assert stage.wall.sent("brightness") == [100.0]


@pytest.mark.parametrize(("args", "error", "needle"), [
    (("Dusk", -1.0, None), CueError, "fade_s must be"),
    (("Dusk", math.nan, None), CueError, "fade_s must be"),
    (("Dusk", 1.0, "wobble"), Exception, "unknown easing 'wobble'"),
    (("dusk!", 1.0, None), LookError, "no look called"),
])
def test_bad_recalls_raise_and_are_counted(tmp_path: Path, args: tuple[Any, ...], error: type[Exception],
                                           needle: str) -> None:
    stage = Stage(tmp_path)
    with pytest.raises(error, match=needle):
        stage.engine.recall(*args)
    assert stage.status().errors == 1 and stage.wall.sets == []


def test_fade_feature_for_the_control_in(tmp_path: Path) -> None:
    stage = Stage(tmp_path)
    stage.engine.fade_feature("wall", "tint", 0.01, 1.0)
    stage.at(0.5)
    assert stage.wall.sent("tint")[-1] == pytest.approx(0.005)
    stage.engine.fade_feature("wall", "preset", 12, 5.0)
    assert stage.wall.sent("preset") == [12]
    with pytest.raises(FeatureError, match="no device 'wal'; did you mean 'wall'"):
        stage.engine.fade_feature("wal", "tint", 0.0, 1.0)
    with pytest.raises(FeatureError, match="has no feature 'tnt'"):
        stage.engine.fade_feature("wall", "tnt", 0.0, 1.0)
    with pytest.raises(FeatureValueError, match=r"outside -0\.01\.\.0\.01 Duv"):
        stage.engine.fade_feature("wall", "tint", 0.5, 1.0)
    with pytest.raises(CueError, match="seconds must be"):
        stage.engine.fade_feature("wall", "tint", 0.0, -2)
    assert stage.status().errors == 4


def test_cue_list_comes_from_the_store_and_a_bad_one_is_reported(tmp_path: Path) -> None:
    LookStore(tmp_path).save_cues(CueList.of([Cue("7", "Dusk")]))
    assert Stage(tmp_path).engine.cues.get("7").look == "Dusk"
    (tmp_path / "cues.json").write_text("{oops")
    stage = Stage(tmp_path)
    assert len(stage.engine.cues) == 0
    assert "cues.json:1: not valid JSON" in stage.drain()[0].message


def test_a_show_on_a_real_loop(tmp_path: Path) -> None:
    """GO on a running loop: the ticker runs by itself, devices write, the curve is log-nits."""

    async def main() -> None:
        store = LookStore(tmp_path)
        store.save(DAY)
        store.save(NIGHT)
        clock = StampingClock()  # each set carries the fade time its value was computed for
        wall = RecordingDevice("wall", [BRIGHTNESS, CCT, TINT, PRESET], zone="wall",
                               values={"brightness": 10.0, "cct": 9000.0}, clock=clock.stamp)
        await wall.async_start()
        engine = CueEngine({"wall": wall}, store, events=EventQueue(), rate_hz=60.0, clock=clock,
                           cues=CueList.of([Cue("1", "Day", fade_s=0.6, easing="linear"),
                                            Cue("2", "Night", fade_s=0.5)]))
        before_go = clock()
        engine.go()
        await async_wait_until(lambda: engine.status().reached_look == "Day")
        samples = [(t, v) for t, f, v in wall.sets if f == "brightness"]
        # Every tick of the fade set a new value, never more ticks than 60 a second of the time it
        # took (however late the loop), and it moved through values (a jump is one set).
        took = samples[-1][0] - before_go
        assert len(samples) == engine.status().ticks
        assert 3 <= len(samples) <= 2 + math.ceil(took * 60), (len(samples), took)
        # The fade began between ``before_go`` and its first tick: each value lies on the log-nits
        # curve (10 -> 1000 nits in 0.6 s) between those two beginnings.
        began_by = samples[0][0]
        for t, value in samples[:-1]:
            assert 10.0 * 100.0 ** ((t - began_by) / 0.6) * (1 - 1e-9) <= value, (t, value)
            assert value <= 10.0 * 100.0 ** ((t - before_go) / 0.6) * (1 + 1e-9), (t, value)
        # The device's writer sends the last values a turn of the loop after the fade's last tick.
        await async_wait_until(lambda: (wall.values["brightness"], wall.values["cct"]) == (1000.0, 5600.0))
        def brightness_sets() -> int:
            return sum(1 for _, feature, _ in wall.sets if feature == "brightness")

        before_night = brightness_sets()
        engine.go()
        await async_wait_until(lambda: brightness_sets() >= before_night + 2)  # a tick after the first
        assert engine.status().cue_playing == "2"
        engine.hold(True)
        held = len(wall.sets)
        await asyncio.sleep(0.15)  # the loop runs every tick due in it: none, while held
        assert len(wall.sets) == held
        engine.hold(False)
        await async_wait_until(lambda: engine.status().reached_look == "Night")
        await async_wait_until(lambda: wall.values["brightness"] == 10.0)
        await wall.async_stop()

    run_loop(main)
