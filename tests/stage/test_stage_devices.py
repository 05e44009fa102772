"""The stage's device registry on loopback: a device added while running is faded, removed mid-fade
(nothing keeps it, the rest of the fade goes on, it is an unknown device from then on) and added again;
removals refused; and the lighting and control-in side raise only errors of the StageError tree."""

from __future__ import annotations

import gc
import importlib
import inspect
import json
import socket
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from stagectl.config.model import DeviceConfig
from stagectl.core.errors import StageError
from stagectl.core.events import Level
from stagectl.core.features import FeatureError, LinkState
from stagectl.stage.runner import StageRunner
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

BRIGHTNESS = "output/global-colour/brightness"
FADE_S = 3.0


def _stage(tmp_path: Path) -> StageFile:
    looks = tmp_path / "looks"
    looks.mkdir()
    bright = {"schema": "stagectl.look/1", "name": "Bright", "zones": {"wall": {"brightness_nits": 2000}}}
    (looks / "bright.json").write_text(json.dumps(bright), encoding="utf-8")
    return (StageFile(name="Devices").source("A", "simulator", listen="127.0.0.1:0")
            .device("tessera", "left", zone="wall", emulator=True, timeout_ms=200, poll_ms=200)
            .looks(dir="looks").control().discovery(browse=False))


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    runner = StageRunner(_stage(tmp_path).config(base_dir=tmp_path))
    yield runner
    runner.close()


def _side() -> DeviceConfig:
    return DeviceConfig("tessera", "side", emulator=True, zone="wall", timeout_ms=200, poll_ms=200)


def _osc(port: int, address: str, *args: float) -> list[object]:
    """Send one message to the control-in, return the reply's arguments."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as desk:
        desk.bind(("127.0.0.1", 0))
        desk.settimeout(5.0)
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        desk.sendto(builder.build().dgram, ("127.0.0.1", port))
        return list(OscMessage(desk.recv(65536)).params)


def _fade_error(runner: StageRunner, device: str) -> str:
    async def fade() -> str:
        try:
            runner.stage.lighting.engine.fade_feature(device, "brightness", 100.0, 1.0)
        except FeatureError as exc:
            return str(exc)
        return "accepted"

    return runner.runtime.call_sync(fade(), timeout=5.0)


def test_a_device_removed_mid_fade_is_let_go_and_the_fade_goes_on_for_the_others(runner: StageRunner) -> None:
    stage = runner.stage
    devices, engine = stage.devices, stage.lighting.engine
    added = runner.runtime.call_sync(devices.async_add_device(_side()), timeout=5.0)
    assert added is not None and devices["side"] is added and engine.devices["side"] is added
    side_ref = weakref.ref(added)
    del added
    left_emulator, side_emulator = devices.emulators["left"], devices.emulators["side"]
    wait_until(lambda: all(devices[n].state is LinkState.UP for n in ("left", "side")),
               what="both processors up", detail=lambda: [d.status() for d in devices.values()])
    start = side_emulator.value(BRIGHTNESS)
    assert start != 2000 and left_emulator.value(BRIGHTNESS) == start

    async def recall() -> None:
        engine.recall("Bright", FADE_S, "linear")

    runner.runtime.call_sync(recall(), timeout=5.0)
    wait_until(lambda: side_emulator.value(BRIGHTNESS) != start, what="the side processor fading")

    async def remove_mid_fade() -> tuple[int, bool]:
        moving = sum(f.features for f in engine.status().fades)
        return moving, await devices.async_remove_device("side")

    moving, removed = runner.runtime.call_sync(remove_mid_fade(), timeout=5.0)
    assert removed and moving >= 2, "both processors were fading when one was removed"
    assert "side" not in devices and "side" not in engine.devices and "side" not in devices.emulators
    assert sum(f.features for f in engine.status().fades) == moving - 1 or not engine.status().fades
    gc.collect()
    assert side_ref() is None, f"still held by {[type(r).__name__ for r in gc.get_referrers(side_ref())]}"

    # The rest of the fade completes on the processor still on the stage.
    wait_until(lambda: left_emulator.value(BRIGHTNESS) == 2000, what="the left processor at the look")
    wait_until(lambda: "side" not in stage.lighting.latest.features, what="the status without the device")
    assert [d.name for d in stage.lighting.latest.devices] == ["left"]
    assert devices.session_devices == [] and stage.lighting.latest.session_devices == ()
    assert stage.status()["devices"].keys() == {"left"}

    # From now on it is an unknown device, to the engine and to control-in alike.
    assert _fade_error(runner, "side") == _fade_error(runner, "never-there").replace("never-there", "side")
    assert _fade_error(runner, "side").startswith("no device 'side'")
    assert stage.control is not None
    reply = _osc(stage.control.address.port, "/stagectl/device/side/brightness", 10.0)
    assert reply[:2] == ["/stagectl/device/side/brightness", "error"] and "no device 'side'" in str(reply[2])
    events = [e for e in stage.events.drain() if e.source == "devices"]
    assert any(e.level is Level.INFO and e.message == "device 'side' removed" for e in events), events

    # The name is free again: the same table can be added back.
    again = runner.runtime.call_sync(devices.async_add_device(_side()), timeout=5.0)
    assert again is not None and [c.name for c in devices.session_devices] == ["side"]
    del again
    reply = _osc(stage.control.address.port, "/stagectl/device/side/brightness", 500.0)
    assert reply[:2] == ["/stagectl/device/side/brightness", "ok"], reply
    wait_until(lambda: devices.emulators["side"].value(BRIGHTNESS) == 500, what="the re-added device driven")


def test_removing_an_unknown_device_is_refused_and_a_stage_file_device_goes_for_this_session(
        runner: StageRunner) -> None:
    stage = runner.stage
    stage.events.drain()
    assert runner.runtime.call_sync(stage.devices.async_remove_device("nobody"), timeout=5.0) is False
    errors = [e.message for e in stage.events.drain() if e.level is Level.ERROR]
    assert errors == ["device 'nobody' not removed: there is no such device (devices: left)"]
    assert stage.devices.refusals == ()  # the add refusals the Lighting panel settles on stay as they were

    left = stage.devices["left"]
    assert runner.runtime.call_sync(stage.devices.async_remove_device("left"), timeout=5.0) is True
    assert left.state is LinkState.DOWN and len(stage.devices) == 0 and stage.lighting.engine.devices == {}
    infos = [e.message for e in stage.events.drain() if e.source == "devices"]
    assert infos == ["device 'left' removed for this session (its [[devices]] table brings it back at the "
                     "next start)"]


def test_the_cue_engine_reaches_exactly_the_registry_devices(tmp_path: Path) -> None:
    text = (_stage(tmp_path).output("remote-control", emulator=True)
            .device("tessera", "frustum", zone="ceiling", url="http://127.0.0.1:9"))
    runner = StageRunner(text.config(base_dir=tmp_path))
    try:
        devices = runner.stage.devices
        # a [[devices]] table named "frustum" keeps its name; the output's frustum takes the next free one
        assert list(devices) == ["left", "frustum", "frustum-2"]
        assert devices["frustum-2"].zone == "frustum" and devices["frustum"].zone == "ceiling"
        assert dict(runner.stage.lighting.engine.devices) == dict(devices)
    finally:
        runner.close()


_OWN_MODULES = ("presets.cues", "presets.fade", "presets.nudge", "presets.model", "presets.easing",
                "stagectl.control.actions", "stagectl.control.auth", "stagectl.control.osc",
                "stagectl.control.protocol", "stagectl.control.routes", "stagectl.control",
                "stagectl.stage.assembly", "stagectl.stage.devices", "stagectl.stage.lighting",
                "stagectl.stage.outputs", "stagectl.stage.sources", "stagectl.stage.status",
                "stagectl.stage.takes", "stagectl.unreal.frustum", "stagectl.unreal.frustum_device",
                "stagectl.core.errors", "stagectl.core.device")


@pytest.mark.parametrize("module_name", _OWN_MODULES)
def test_every_error_the_lighting_and_control_side_defines_is_a_stage_error(module_name: str) -> None:
    module = importlib.import_module(module_name)
    errors = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
              if issubclass(cls, BaseException) and cls.__module__ == module_name]
    strays = [cls.__name__ for cls in errors if not issubclass(cls, StageError)]
    assert strays == [], f"{module_name}: {strays} are not in the StageError tree"


def test_route_and_cue_errors_are_stage_errors() -> None:
    from presets.model import CueError, LookError
    from stagectl.control.routes import RouteError
    from stagectl.unreal.frustum import CueError as FrustumCueError

    for error in (RouteError, CueError, LookError, FrustumCueError):
        assert issubclass(error, StageError), error
