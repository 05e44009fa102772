"""The stage's lighting side end to end on loopback: emulated processors, looks folder, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagectl.core.errors import ConfigError
from stagectl.core.features import LinkState
from stagectl.stage.assembly import Stage
from stagectl.stage.runner import StageRunner
from tests.support.desk import Desk
from tests.support.loop import run_loop
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

BRIGHTNESS = "output/global-colour/brightness"


def lighting_stage() -> StageFile:
    """One simulated camera and the looks folder beside the stage file."""
    return StageFile("Lighting").source("A").looks(dir="looks")


def two_walls() -> StageFile:
    """Two emulated Tessera processors lighting one zone, quick to time out and to poll."""
    stage = lighting_stage()
    for name in ("left", "right"):
        stage.device("tessera", name, zone="wall", emulator=True, timeout_ms=200, poll_ms=200)
    return stage


@pytest.fixture
def looks(tmp_path: Path) -> Path:
    folder = tmp_path / "looks"
    folder.mkdir()
    good = {"schema": "stagectl.look/1", "name": "Bright", "zones": {"wall": {"brightness_nits": 2000}}}
    (folder / "bright.json").write_text(json.dumps(good), encoding="utf-8")
    (folder / "broken.json").write_text('{"schema": "stagectl.look/1", "name": "Broken", "zones": {', "utf-8")
    return folder


@pytest.fixture
def runner(looks: Path) -> Iterator[StageRunner]:
    runner = StageRunner(two_walls().config(looks.parent))
    yield runner
    runner.close()


def test_a_corrupt_look_is_reported_and_the_others_load(runner: StageRunner) -> None:
    wait_until(lambda: bool(runner.stage.lighting.latest.looks))
    status = runner.stage.status()
    assert status["cues"]["looks"] == ["Bright"]
    errors = status["cues"]["look_errors"]
    assert len(errors) == 1, errors
    assert "broken.json:1: not valid JSON" in errors[0] and "column 59" in errors[0], errors
    assert set(status["devices"]) == {"left", "right"}
    wait_until(lambda: runner.stage.status()["devices"]["left"]["state"] == "up")


def test_a_hung_processor_is_marked_and_the_fade_goes_on_for_the_other(runner: StageRunner) -> None:
    lighting, devices = runner.stage.lighting, runner.stage.devices
    wait_until(lambda: all(d.state is LinkState.UP for d in devices.values()))
    left, right = devices.emulators["left"], devices.emulators["right"]
    left.hang = True  # accepts connections, never answers

    async def recall() -> None:
        lighting.engine.recall("Bright", 0.5, "linear")

    runner.runtime.call_sync(recall())
    wait_until(lambda: right.value(BRIGHTNESS) == 2000)
    wait_until(lambda: devices["left"].state in (LinkState.DOWN, LinkState.RECONNECTING))
    assert devices["left"].last_error is not None
    assert "no answer within 0.2 s" in devices["left"].last_error
    left.hang = False  # it comes back: the newest value is delivered after the backoff
    wait_until(lambda: left.value(BRIGHTNESS) == 2000)
    wait_until(lambda: devices["left"].state is LinkState.UP)


def test_a_value_outside_a_feature_is_refused_with_its_range(runner: StageRunner) -> None:
    lighting = runner.stage.lighting

    async def fade() -> str:
        try:
            lighting.engine.fade_feature("left", "brightness", 20000, 1.0)
        except ConfigError as exc:  # not expected: range errors are FeatureValueError
            return f"config: {exc}"
        except Exception as exc:
            return str(exc)
        return "accepted"

    message = runner.runtime.call_sync(fade())
    assert "outside 0..10000 nit" in message


def test_bad_fixtures_are_a_located_config_error(tmp_path: Path) -> None:
    overlapping = [{"name": "a", "profile": "rgbw", "address": 1},  # channels 1-4
                   {"name": "b", "profile": "dimmer", "address": 3}]
    stage = lighting_stage().device("sacn", "dmx", target="127.0.0.1", fixtures=overlapping)
    with pytest.raises(ConfigError) as info:
        Stage(stage.config(tmp_path))
    assert info.value.key == "devices[0].fixtures" and "a" in str(info.value) and "b" in str(info.value)


def test_looks_folder_defaults_to_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECTL_DATA_DIR", str(tmp_path / "data"))
    stage = Stage(StageFile("Lighting").source("A").config(tmp_path))
    assert stage.lighting.store.folder == tmp_path / "data" / "looks"

    async def start_stop() -> list[str]:
        await stage.lighting.async_start()
        names = [look.name for look in stage.lighting.latest.looks]
        await stage.lighting.async_stop()
        return names

    names = run_loop(start_stop)
    assert "Daylight 5600" in names and (tmp_path / "data" / "looks" / "cues.json").exists()


"""How long the desk waits for the stage's reply (only a failing test waits this long)."""


def test_osc_control_in_drives_cues_and_devices(looks: Path) -> None:
    (looks / "cues.json").write_text(json.dumps({"schema": "stagectl.cues/1", "cues": [
        {"number": "1", "look": "Bright", "fade_s": 0.0, "easing": "linear"}]}), encoding="utf-8")
    runner = StageRunner(two_walls().control().config(looks.parent))
    try:
        control = runner.stage.control
        assert control is not None and control.running
        port = control.address.port
        right = runner.stage.devices.emulators["right"]
        with Desk(port) as desk:
            send = desk.send

            assert send("/stagectl/cue/go")[:2] == ["/stagectl/cue/go", "ok"]
            wait_until(lambda: right.value(BRIGHTNESS) == 2000)
            reply = send("/stagectl/device/right/brightness", 500.0)
            assert reply[:2] == ["/stagectl/device/right/brightness", "ok"], reply
            wait_until(lambda: right.value(BRIGHTNESS) == 500)
            reply = send("/stagectl/device/right/brightness", 20000.0)
            assert reply[1] == "error" and "0..10000" in str(reply[2]), reply
    finally:
        runner.close()


def test_the_status_is_made_often_only_while_someone_reads_it(tmp_path: Path) -> None:
    runner = StageRunner(lighting_stage().config(tmp_path), publish_views=False)
    try:
        source, lighting = runner.stage.sources[0], runner.stage.lighting

        def samples_later(count: int) -> None:  # the stage's own clock: 50 samples a second
            seen = source.health.accepted
            wait_until(lambda: source.health.accepted >= seen + count, what=f"{count} more samples")

        samples_later(1)
        samples_later(15)  # past READ_RECENT_S since the start
        unread = lighting.refreshes
        samples_later(100)  # two seconds: at 20 Hz that would be ~40 statuses
        unread = lighting.refreshes - unread
        assert unread <= 6, f"{unread} statuses made in 2 s with nobody reading"
        read = lighting.refreshes
        seen = source.health.accepted
        wait_until(lambda: lighting.latest is not None and source.health.accepted >= seen + 100,
                   what="100 more samples, reading the status all along")
        read = lighting.refreshes - read
        assert read > unread + 10, f"{read} statuses made in 2 s read all along (unread: {unread})"
    finally:
        runner.close()
