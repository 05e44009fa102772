"""The stage's lighting side end to end on loopback: emulated processors, looks folder, faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stagectl.config.load import parse_stage
from stagectl.core.device import LinkState
from stagectl.core.errors import ConfigError
from stagectl.stage.assembly import Stage
from stagectl.stage.runner import StageRunner

BRIGHTNESS = "output/global-colour/brightness"
HEAD = """\
[stage]
name = "Lighting"
frame_rate = 25

[[cameras]]
name = "A"

[[sources]]
camera = "A"
protocol = "simulator"
listen = "127.0.0.1:0"

[looks]
dir = "looks"
"""
TWO_WALLS = HEAD + """
[[devices]]
kind = "tessera"
name = "left"
zone = "wall"
emulator = true
timeout_ms = 200
poll_ms = 200

[[devices]]
kind = "tessera"
name = "right"
zone = "wall"
emulator = true
timeout_ms = 200
poll_ms = 200
"""


def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


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
    runner = StageRunner(parse_stage(TWO_WALLS, base_dir=looks.parent))
    yield runner
    runner.close()


def test_a_corrupt_look_is_reported_and_the_others_load(runner: StageRunner) -> None:
    _until(lambda: bool(runner.stage.lighting.latest.looks))
    status = runner.stage.status()
    assert status["cues"]["looks"] == ["Bright"]
    errors = status["cues"]["look_errors"]
    assert len(errors) == 1, errors
    assert "broken.json:1: not valid JSON" in errors[0] and "column 59" in errors[0], errors
    assert set(status["devices"]) == {"left", "right"}
    _until(lambda: runner.stage.status()["devices"]["left"]["state"] == "up")


def test_a_hung_processor_is_marked_and_the_fade_goes_on_for_the_other(runner: StageRunner) -> None:
    lighting, devices = runner.stage.lighting, runner.stage.devices
    _until(lambda: all(d.state is LinkState.UP for d in devices.values()))
    left, right = devices.emulators["left"], devices.emulators["right"]
    left.hang = True  # accepts connections, never answers

    async def recall() -> None:
        lighting.engine.recall("Bright", 0.5, "linear")

    runner.runtime.call_sync(recall())
    _until(lambda: right.value(BRIGHTNESS) == 2000)
    _until(lambda: devices["left"].state in (LinkState.DOWN, LinkState.RECONNECTING))
    assert devices["left"].last_error is not None
    assert "no answer within 0.2 s" in devices["left"].last_error
    left.hang = False  # it comes back: the newest value is delivered after the backoff
    _until(lambda: left.value(BRIGHTNESS) == 2000, timeout=8.0)
    _until(lambda: devices["left"].state is LinkState.UP)


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
    text = HEAD + """
[[devices]]
kind = "sacn"
name = "dmx"
target = "127.0.0.1"
[[devices.fixtures]]
name = "a"
profile = "rgbw"
address = 1
[[devices.fixtures]]
name = "b"
profile = "dimmer"
address = 3
"""
    with pytest.raises(ConfigError) as info:
        Stage(parse_stage(text, base_dir=tmp_path))
    assert info.value.key == "devices[0].fixtures" and "a" in str(info.value) and "b" in str(info.value)


def test_looks_folder_defaults_to_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECTL_DATA_DIR", str(tmp_path / "data"))
    stage = Stage(parse_stage(HEAD.replace('[looks]\ndir = "looks"\n', ""), base_dir=tmp_path))
    assert stage.lighting.store.folder == tmp_path / "data" / "looks"

    async def start_stop() -> list[str]:
        await stage.lighting.async_start()
        names = [look.name for look in stage.lighting.latest.looks]
        await stage.lighting.async_stop()
        return names

    names = asyncio.run(start_stop())
    assert "Daylight 5600" in names and (tmp_path / "data" / "looks" / "cues.json").exists()


def test_osc_control_in_drives_cues_and_devices(looks: Path) -> None:
    import socket

    from pythonosc.osc_message import OscMessage
    from pythonosc.osc_message_builder import OscMessageBuilder

    (looks / "cues.json").write_text(json.dumps({"schema": "stagectl.cues/1", "cues": [
        {"number": "1", "look": "Bright", "fade_s": 0.0, "easing": "linear"}]}), encoding="utf-8")
    text = TWO_WALLS + '\n[control]\nlisten = "127.0.0.1:0"\n'
    runner = StageRunner(parse_stage(text, base_dir=looks.parent))
    try:
        control = runner.stage.control
        assert control is not None and control.running
        port = control.address.port
        right = runner.stage.devices.emulators["right"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as desk:
            desk.bind(("127.0.0.1", 0))
            desk.settimeout(2.0)

            def send(address: str, *args: float | str) -> list[tuple[str, list[object]]]:
                builder = OscMessageBuilder(address)
                for arg in args:
                    builder.add_arg(arg)
                desk.sendto(builder.build().dgram, ("127.0.0.1", port))
                first = OscMessage(desk.recv(65536))
                return [(first.address, list(first.params))]

            reply = send("/stagectl/cue/go")
            assert reply[0][0] == "/stagectl/reply" and reply[0][1][:2] == ["/stagectl/cue/go", "ok"], reply
            _until(lambda: right.value(BRIGHTNESS) == 2000)
            desk.settimeout(0.2)
            with contextlib.suppress(TimeoutError):
                while True:
                    desk.recv(65536)  # the state messages after the reply
            desk.settimeout(2.0)
            reply = send("/stagectl/device/right/brightness", 500.0)
            assert reply[0][1][:2] == ["/stagectl/device/right/brightness", "ok"], reply
            _until(lambda: right.value(BRIGHTNESS) == 500)
            desk.settimeout(0.2)
            with contextlib.suppress(TimeoutError):
                while True:
                    desk.recv(65536)
            desk.settimeout(2.0)
            reply = send("/stagectl/device/right/brightness", 20000.0)
            assert reply[0][1][1] == "error" and "0..10000" in str(reply[0][1][2]), reply
    finally:
        runner.close()
