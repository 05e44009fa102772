"""Zeroconf on a running stage (over real mDNS on loopback): its emulator and control service are
announced and found, a HELIOS found on the network is added while running and driven through
control-in and the cue engine, refusals are events, and mDNS that cannot open costs nothing else.

mDNS on ``lo`` is shared by every process on this machine: each test picks out its own services
by port (another test's "Tessera emulator (wall)" may be there too).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stagectl.discovery.mdns
from led_wall.emulators.helios_emulator import HeliosEmulator
from presets.model import Look, ZoneValues
from stagectl.config.model import DeviceConfig
from stagectl.control.actions import StageControlActions
from stagectl.core.events import Level, StageEvent
from stagectl.discovery.mdns import (
    HTTP_SERVICE,
    STAGECTL_SERVICE,
    Advertiser,
    Discovery,
    DiscoveryError,
    FoundDevice,
)
from stagectl.discovery.stage import OWN_CONTROL, device_config_for, unique_name
from stagectl.stage.runner import StageRunner
from tests.support.desk import send_osc
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

LO = ["127.0.0.1"]
HELIOS_BRIGHTNESS = "dev.display.brightness"
"""How long the desk waits for the stage's reply (only a failing test waits this long)."""


def discovery_stage(*, control: bool = True) -> StageFile:
    """A simulated camera, an emulated wall (announced over mDNS) and, by default, OSC control-in."""
    stage = (StageFile("Discovery test").source("A")
             .device("tessera", "wall", zone="wall", emulator=True, poll_ms=200)
             .looks(dir="looks"))
    return stage.control() if control else stage


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    (tmp_path / "looks").mkdir()
    runner = StageRunner(discovery_stage().config(tmp_path))
    yield runner
    runner.close()


def _on_port(found: tuple[FoundDevice, ...], port: int, kind: str) -> FoundDevice | None:
    return next((f for f in found if f.port == port and f.kind == kind), None)


def _events(runner: StageRunner) -> list[StageEvent]:
    return runner.stage.events.drain()


def test_the_stage_announces_its_emulator_and_control_service_and_finds_them(runner: StageRunner) -> None:
    lighting = runner.stage.lighting
    assert runner.stage.discovery.interfaces == ("127.0.0.1",)  # every address of the stage is loopback
    assert runner.stage.control is not None
    control_port = runner.stage.control.address.port
    wall_port = runner.stage.devices.emulators["wall"].port
    wait_until(lambda: _on_port(lighting.latest.found, wall_port, "tessera") is not None
               and _on_port(lighting.latest.found, control_port, "stagectl") is not None)
    status = lighting.latest
    wall = _on_port(status.found, wall_port, "tessera")
    control = _on_port(status.found, control_port, "stagectl")
    assert wall is not None and control is not None
    assert wall.name.startswith("Tessera emulator (wall)") and wall.service_type == HTTP_SERVICE
    assert (wall.host, wall.url) == ("127.0.0.1", f"http://127.0.0.1:{wall_port}/")
    assert wall.txt == {"stagectl-kind": "tessera", "vendor": "brompton", "path": "/", "api": "/api/"}
    assert control.service_type == STAGECTL_SERVICE and control.url == f"osc.udp://127.0.0.1:{control_port}/"
    assert control.txt == {"stagectl-kind": "stagectl", "osc": "/stagectl", "auth": "none"}
    assert status.discovery == "browsing on 127.0.0.1"
    wait_until(lambda: lighting.latest.found_added.get(control.url) == OWN_CONTROL)
    assert lighting.latest.found_added[wall.url] == "wall"

    # An independent browser sees the adverts, and sees them withdrawn when the stage stops.
    async def browse() -> Discovery:
        discovery = Discovery(interfaces=LO)
        await discovery.async_start()
        return discovery

    other = runner.runtime.call_sync(browse(), timeout=5.0)
    try:
        def seen() -> list[int]:
            return [f.port for f in other.found() if f.port in (wall_port, control_port)]

        wait_until(lambda: sorted(seen()) == sorted([wall_port, control_port]))

        # Both adverts are withdrawn together, by the goodbye packet (stagectl.discovery.goodbye).
        runner.runtime.call_sync(runner.stage.discovery.async_stop(), timeout=5.0)
        assert runner.stage.discovery.withdrawn == 2
        wait_until(lambda: seen() == [])
    finally:
        runner.runtime.call_sync(other.async_stop(), timeout=5.0)


def test_a_found_helios_is_added_at_runtime_and_driven_by_control_in_and_looks(
        runner: StageRunner, helios_emulator: HeliosEmulator) -> None:
    lighting = runner.stage.lighting
    emulator, port = helios_emulator, helios_emulator.port
    advertiser = Advertiser(interfaces=LO)
    instance = f"HELIOS test {uuid.uuid4().hex[:6]}"
    try:
        advert = advertiser.async_advertise(HTTP_SERVICE, instance, port, {"vendor": "megapixel"})
        runner.runtime.call_sync(advert, timeout=5.0)
        wait_until(lambda: _on_port(lighting.latest.found, port, "helios") is not None)
        found = _on_port(lighting.latest.found, port, "helios")
        assert found is not None and found.name == instance
        assert found.url not in lighting.latest.found_added  # new: nothing of this stage is there

        name = unique_name(found.name, [d.name for d in lighting.latest.devices])
        assert name == f"helios-test-{instance[-6:]}"
        config = device_config_for(found, name, zone="ceiling")
        assert (config.kind, config.url, config.zone) == ("helios", f"http://127.0.0.1:{port}", "ceiling")
        device = runner.runtime.call_sync(runner.stage.devices.async_add_device(config), timeout=5.0)
        assert device is not None
        wait_until(lambda: any(d.name == name for d in lighting.latest.devices))
        assert lighting.latest.found_added[found.url] == name  # "added" from now on
        assert [d.name for d in lighting.latest.session_devices] == [name]

        # Control-in reaches it by name: /stagectl/device/<name>/brightness (a percentage on HELIOS).
        assert runner.stage.control is not None
        reply = send_osc(runner.stage.control.address.port, f"/stagectl/device/{name}/brightness", 40.0)
        assert reply[:2] == [f"/stagectl/device/{name}/brightness", "ok"], reply
        wait_until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 40)
        # So do the actions the desk's messages map to, and the engine's looks by zone:
        # 750 nits on a 1500-nit-peak processor is 50 %.
        actions = StageControlActions(lighting.engine, runner.stage.devices, runner.stage.recorder)
        runner.stage.call_in_loop(actions.device_set, name, "brightness", 30.0)
        wait_until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 30)
        assert lighting.engine is not None
        engine = lighting.engine
        runner.stage.call_in_loop(lambda: engine.apply(Look("Half", {"ceiling": ZoneValues(750.0)}), 0.0))
        wait_until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 50)
    finally:
        runner.runtime.call_sync(advertiser.async_stop(), timeout=5.0)
        runner.close()


def test_a_device_removed_at_runtime_takes_its_emulators_advert_with_it(runner: StageRunner) -> None:
    discovery = runner.stage.discovery
    side = DeviceConfig("tessera", "side", emulator=True, zone="wall", timeout_ms=200, poll_ms=200)
    assert runner.runtime.call_sync(runner.stage.devices.async_add_device(side), timeout=5.0) is not None
    wait_until(lambda: {"side", "wall"} <= set(discovery.own.values()))  # both announced (in any order)
    advert = next(key for key, label in discovery.own.items() if label == "side")
    assert "(side)" in advert[1]  # zeroconf may append -2 while an earlier run's goodbye is on its way
    assert runner.runtime.call_sync(runner.stage.devices.async_remove_device("side"), timeout=5.0)
    assert "side" not in discovery.own.values()
    assert "wall" in discovery.own.values()  # the stage file's emulator is still announced
    # The goodbye went out: a browser on lo stops seeing the instance.
    wait_until(lambda: all(f.name != advert[1] for f in discovery.found()))


def test_a_duplicate_name_or_address_or_bad_table_is_refused_with_an_event(runner: StageRunner) -> None:
    lighting = runner.stage.lighting
    _events(runner)
    wall_url = runner.stage.devices.emulators["wall"].url

    def add(config: DeviceConfig) -> object:
        return runner.runtime.call_sync(runner.stage.devices.async_add_device(config), timeout=5.0)

    assert add(DeviceConfig("helios", "wall", url="http://127.0.0.1:9")) is None
    assert add(DeviceConfig("tessera", "wall-again", url=wall_url.replace("127.0.0.1", "localhost"))) is None
    assert add(DeviceConfig("tessera", "bad name!", url="http://127.0.0.1:9")) is None
    assert add(DeviceConfig("tessera", "t2", url="ftp://127.0.0.1:9")) is None
    errors = [e.message for e in _events(runner) if e.level is Level.ERROR and e.source == "devices"]
    assert errors[0].startswith("device 'wall' not added: a device of that name exists (devices: wall")
    assert errors[1] == (f"device 'wall-again' not added: {wall_url.replace('127.0.0.1', 'localhost')} is "
                         "already device 'wall' (two devices writing to one processor would fight)")
    assert errors[2].startswith("device 'bad name!' not added: name: invalid device name 'bad name!'")
    assert errors[3].startswith("device 't2' not added: url: 'ftp://127.0.0.1:9' is not an http(s) URL")
    assert len(errors) == 4
    assert [d.name for d in lighting.latest.devices] == ["wall"]
    assert runner.stage.devices.session_devices == []


def test_mdns_unavailable_is_an_error_event_and_manual_adding_still_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helios_emulator: HeliosEmulator) -> None:
    async def refuse(interfaces: Any = None) -> Any:
        raise DiscoveryError("cannot open mDNS (UDP 5353) on 127.0.0.1: [Errno 98] Address already in use")

    monkeypatch.setattr(stagectl.discovery.mdns, "async_open_zeroconf", refuse)
    (tmp_path / "looks").mkdir()
    runner = StageRunner(discovery_stage().config(tmp_path))
    emulator = helios_emulator
    try:
        lighting = runner.stage.lighting
        wait_until(lambda: lighting.latest.discovery.startswith("mDNS unavailable"))
        assert lighting.latest.found == ()
        errors = [e.message for e in _events(runner) if e.level is Level.ERROR]
        assert errors == ["cannot open mDNS (UDP 5353) on 127.0.0.1: [Errno 98] Address already in use; "
                          "discovery is off, add devices by address (Add device… in the Lighting panel)"]
        config = DeviceConfig("helios", "manual", url=emulator.url, zone="ceiling")
        added = runner.runtime.call_sync(runner.stage.devices.async_add_device(config), timeout=5.0)
        assert added is not None
        actions = StageControlActions(lighting.engine, runner.stage.devices, runner.stage.recorder)
        runner.stage.call_in_loop(actions.device_set, "manual", "brightness", 25.0)
        wait_until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 25)
    finally:
        runner.close()


def test_browse_off_and_no_control_opens_no_mdns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []

    async def spy(interfaces: Any = None) -> Any:
        opened.append(interfaces)
        raise DiscoveryError("should not be called")

    monkeypatch.setattr(stagectl.discovery.mdns, "async_open_zeroconf", spy)
    monkeypatch.setattr("stagectl.discovery.stage.async_open_zeroconf", spy)
    (tmp_path / "looks").mkdir()
    runner = StageRunner(discovery_stage(control=False).discovery(browse=False).config(tmp_path))

    async def run_what_the_start_spawned() -> None:
        for _ in range(100):  # a task the start spawned opens mDNS within a few turns of the loop
            await asyncio.sleep(0)

    try:
        runner.runtime.call_sync(run_what_the_start_spawned(), timeout=5.0)
        assert opened == [] and runner.stage.lighting.latest.discovery == "off ([discovery] browse = false)"
    finally:
        runner.close()
