"""Zeroconf on a running stage (over real mDNS on loopback): its emulator and control service are
announced and found, a HELIOS found on the network is added while running and driven through
control-in and the cue engine, refusals are events, and mDNS that cannot open costs nothing else.

mDNS on ``lo`` is shared by every process on this machine: each test picks out its own services
by port (another test's "Tessera emulator (wall)" may be there too).
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

import stagectl.discovery.mdns
from led_wall.emulators.helios_emulator import HeliosEmulator
from presets.model import Look, ZoneValues
from stagectl.config.load import ConfigErrors, default_stage, parse_stage
from stagectl.config.model import DeviceConfig, DiscoveryConfig, FixtureConfig, OscFeatureConfig
from stagectl.control.actions import StageControlActions
from stagectl.core.errors import ConfigError, StageError
from stagectl.core.events import Level, StageEvent
from stagectl.core.links import Endpoint
from stagectl.discovery.mdns import (
    HTTP_SERVICE,
    STAGECTL_SERVICE,
    Advertiser,
    Discovery,
    DiscoveryError,
    FoundDevice,
)
from stagectl.discovery.stage import (
    OWN_CONTROL,
    check_device_config,
    device_config_for,
    device_table,
    discovery_interfaces,
    endpoint_key,
    stage_file_snippet,
    unique_name,
)
from stagectl.stage.runner import StageRunner

LO = ["127.0.0.1"]
HELIOS_BRIGHTNESS = "dev.display.brightness"
STAGE = """\
[stage]
name = "Discovery test"
frame_rate = 25

[[cameras]]
name = "A"

[[sources]]
camera = "A"
protocol = "simulator"
listen = "127.0.0.1:0"

[[devices]]
kind = "tessera"
name = "wall"
zone = "wall"
emulator = true
poll_ms = 200

[control]
listen = "127.0.0.1:0"

[looks]
dir = "looks"
"""


def _until(predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    (tmp_path / "looks").mkdir()
    runner = StageRunner(parse_stage(STAGE, base_dir=tmp_path))
    yield runner
    runner.close()


def _on_port(found: tuple[FoundDevice, ...], port: int, kind: str) -> FoundDevice | None:
    return next((f for f in found if f.port == port and f.kind == kind), None)


def _events(runner: StageRunner) -> list[StageEvent]:
    return runner.stage.events.drain()


def test_the_stage_announces_its_emulator_and_control_service_and_finds_them(runner: StageRunner) -> None:
    lighting = runner.stage.lighting
    assert runner.stage.discovery.interfaces == ("127.0.0.1",)  # every address of STAGE is loopback
    assert runner.stage.control is not None
    control_port = runner.stage.control.address.port
    wall_port = runner.stage.devices.emulators["wall"].port
    _until(lambda: _on_port(lighting.latest.found, wall_port, "tessera") is not None
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
    _until(lambda: lighting.latest.found_added.get(control.url) == OWN_CONTROL)
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

        _until(lambda: sorted(seen()) == sorted([wall_port, control_port]))
        started = time.monotonic()
        runner.runtime.call_sync(runner.stage.discovery.async_stop(), timeout=5.0)
        assert time.monotonic() - started < 0.5  # within the app's stop budget (goodbyes overlap the rest)
        _until(lambda: seen() == [], timeout=3.0)
    finally:
        runner.runtime.call_sync(other.async_stop(), timeout=5.0)


def _send_osc(port: int, address: str, *args: float) -> list[Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as desk:
        desk.bind(("127.0.0.1", 0))
        desk.settimeout(2.0)
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        desk.sendto(builder.build().dgram, ("127.0.0.1", port))
        return list(OscMessage(desk.recv(65536)).params)


def test_a_found_helios_is_added_at_runtime_and_driven_by_control_in_and_looks(runner: StageRunner) -> None:
    lighting = runner.stage.lighting
    emulator = HeliosEmulator()
    advertiser = Advertiser(interfaces=LO)
    instance = f"HELIOS test {uuid.uuid4().hex[:6]}"
    port = runner.runtime.call_sync(emulator.start(), timeout=5.0)
    try:
        runner.runtime.call_sync(advertiser.advertise(HTTP_SERVICE, instance, port, {"vendor": "megapixel"}),
                                 timeout=5.0)
        _until(lambda: _on_port(lighting.latest.found, port, "helios") is not None)
        found = _on_port(lighting.latest.found, port, "helios")
        assert found is not None and found.name == instance
        assert found.url not in lighting.latest.found_added  # new: nothing of this stage is there

        name = unique_name(found.name, [d.name for d in lighting.latest.devices])
        assert name == f"helios-test-{instance[-6:]}"
        config = device_config_for(found, name, zone="ceiling")
        assert (config.kind, config.url, config.zone) == ("helios", f"http://127.0.0.1:{port}", "ceiling")
        device = runner.runtime.call_sync(runner.stage.devices.async_add_device(config), timeout=5.0)
        assert device is not None
        _until(lambda: any(d.name == name for d in lighting.latest.devices))
        assert lighting.latest.found_added[found.url] == name  # "added" from now on
        assert [d.name for d in lighting.latest.session_devices] == [name]

        # Control-in reaches it by name: /stagectl/device/<name>/brightness (a percentage on HELIOS).
        assert runner.stage.control is not None
        reply = _send_osc(runner.stage.control.address.port, f"/stagectl/device/{name}/brightness", 40.0)
        assert reply[:2] == [f"/stagectl/device/{name}/brightness", "ok"], reply
        _until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 40)
        # So do the actions the desk's messages map to, and the engine's looks by zone:
        # 750 nits on a 1500-nit-peak processor is 50 %.
        actions = StageControlActions(lighting.engine, runner.stage.devices, runner.stage.recorder)
        runner.stage.call_in_loop(actions.device_set, name, "brightness", 30.0)
        _until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 30)
        assert lighting.engine is not None
        engine = lighting.engine
        runner.stage.call_in_loop(lambda: engine.apply(Look("Half", {"ceiling": ZoneValues(750.0)}), 0.0))
        _until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 50)
    finally:
        runner.runtime.call_sync(advertiser.async_stop(), timeout=5.0)
        runner.close()
        asyncio.run(emulator.stop())


def test_a_device_removed_at_runtime_takes_its_emulators_advert_with_it(runner: StageRunner) -> None:
    discovery = runner.stage.discovery
    side = DeviceConfig("tessera", "side", emulator=True, zone="wall", timeout_ms=200, poll_ms=200)
    assert runner.runtime.call_sync(runner.stage.devices.async_add_device(side), timeout=5.0) is not None
    _until(lambda: "side" in discovery.own.values())
    advert = next(key for key, label in discovery.own.items() if label == "side")
    assert advert[1].endswith("(side)")
    assert runner.runtime.call_sync(runner.stage.devices.async_remove_device("side"), timeout=5.0)
    assert "side" not in discovery.own.values()
    assert "wall" in discovery.own.values()  # the stage file's emulator is still announced
    # The goodbye went out: a browser on lo stops seeing the instance.
    _until(lambda: all(f.name != advert[1] for f in discovery.found()))


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
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(interfaces: Any = None) -> Any:
        raise DiscoveryError("cannot open mDNS (UDP 5353) on 127.0.0.1: [Errno 98] Address already in use")

    monkeypatch.setattr(stagectl.discovery.mdns, "open_zeroconf", refuse)
    (tmp_path / "looks").mkdir()
    runner = StageRunner(parse_stage(STAGE, base_dir=tmp_path))
    emulator = HeliosEmulator()
    try:
        lighting = runner.stage.lighting
        _until(lambda: lighting.latest.discovery.startswith("mDNS unavailable"))
        assert lighting.latest.found == ()
        errors = [e.message for e in _events(runner) if e.level is Level.ERROR]
        assert errors == ["cannot open mDNS (UDP 5353) on 127.0.0.1: [Errno 98] Address already in use; "
                          "discovery is off, add devices by address (Add device… in the Lighting panel)"]
        port = runner.runtime.call_sync(emulator.start(), timeout=5.0)
        config = DeviceConfig("helios", "manual", url=f"http://127.0.0.1:{port}", zone="ceiling")
        added = runner.runtime.call_sync(runner.stage.devices.async_add_device(config), timeout=5.0)
        assert added is not None
        actions = StageControlActions(lighting.engine, runner.stage.devices, runner.stage.recorder)
        runner.stage.call_in_loop(actions.device_set, "manual", "brightness", 25.0)
        _until(lambda: emulator.value(HELIOS_BRIGHTNESS) == 25)
    finally:
        runner.close()
        asyncio.run(emulator.stop())


def test_browse_off_and_no_control_opens_no_mdns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []

    async def spy(interfaces: Any = None) -> Any:
        opened.append(interfaces)
        raise DiscoveryError("should not be called")

    monkeypatch.setattr(stagectl.discovery.mdns, "open_zeroconf", spy)
    monkeypatch.setattr("stagectl.discovery.stage.open_zeroconf", spy)
    text = _without_control("[discovery]\nbrowse = false\n")
    (tmp_path / "looks").mkdir()
    runner = StageRunner(parse_stage(text, base_dir=tmp_path))
    try:
        time.sleep(0.3)
        assert opened == [] and runner.stage.lighting.latest.discovery == "off ([discovery] browse = false)"
    finally:
        runner.close()


# --- the pure helpers ----------------------------------------------------------------------------


def _without_control(tables: str) -> str:
    return STAGE.replace('[control]\nlisten = "127.0.0.1:0"\n', tables)


def _stage_with(tables: str) -> Any:
    return parse_stage(_without_control(tables), base_dir=Path("."))


def test_snippets_parse_back_to_the_same_device_in_a_real_stage_file() -> None:
    configs = [DeviceConfig("tessera", "wall-2", url="http://10.0.0.50:8080", zone="wall"),
               DeviceConfig("helios", "ceiling-b", url="http://[fd00::5]:80", zone="ceiling",
                            peak_nits=1000.0, write_verb="POST", poll_ms=500.0),
               DeviceConfig("tessera", "emu", emulator=True)]
    for config in configs:
        text = stage_file_snippet(config)
        assert text.startswith("[[devices]]\n")
        tomllib.loads(text)  # the reference reader accepts it on its own
        parsed = _stage_with(text).devices[1]
        if config.emulator:
            assert (parsed.kind, parsed.name, parsed.emulator) == ("tessera", "emu", True)
        else:
            assert parsed == DeviceConfig(**{**_fields(config), "index": 1})
    assert stage_file_snippet(configs[0]) == ('[[devices]]\nkind = "tessera"\nname = "wall-2"\n'
                                              'url = "http://10.0.0.50:8080"\nzone = "wall"\n')
    assert 'peak_nits = 1000.0' in stage_file_snippet(configs[1])
    assert "timeout_ms" not in stage_file_snippet(configs[1])  # defaults left out


def test_a_device_added_at_runtime_is_checked_from_plain_data_without_toml(
        monkeypatch: pytest.MonkeyPatch) -> None:
    features = (OscFeatureConfig("level", "/wall/level", minimum=0.0, maximum=1.0, zone_value="level"),)
    osc = DeviceConfig("osc", "desk", target=Endpoint("127.0.0.1", 9000), features=features, index=4)
    fixtures = (FixtureConfig("key", "dimmer", 1, 1, "key"), FixtureConfig("fill", "dimmer", 1, 2, "fill"))
    sacn = DeviceConfig("sacn", "dmx", fixtures=fixtures, priority=120)
    for config in (osc, sacn):  # the snippet a user pastes is exactly the table that was checked
        assert tomllib.loads(stage_file_snippet(config))["devices"][0] == device_table(config)

    def no_toml(text: str) -> Any:
        raise AssertionError("a device added at runtime is not rendered and parsed as TOML")

    monkeypatch.setattr(tomllib, "loads", no_toml)
    assert check_device_config(osc) == osc  # index kept
    assert check_device_config(sacn) == sacn
    bad = DeviceConfig("osc", "desk", target=Endpoint("127.0.0.1", 9000),
                       features=(OscFeatureConfig("level", "wall/level"),))
    with pytest.raises(ConfigError, match="'wall/level' is not an OSC address") as caught:
        check_device_config(bad)
    assert caught.value.key == "features[0].address" and caught.value.line is None
    with pytest.raises(ConfigError, match="invalid device name") as caught:
        check_device_config(DeviceConfig("tessera", "x\ud800", url="http://10.0.0.1"))  # not even TOML text
    assert caught.value.key == "name"


def _fields(config: DeviceConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in DeviceConfig.__dataclass_fields__}


@pytest.mark.parametrize("url", ["http://10.0.0.50", "http://proc-1.stage.local:8080", "https://[fd00::5]:81",
                                 "http://localhost:8080", "http://tessera."])
def test_good_urls_pass(url: str) -> None:
    assert check_device_config(DeviceConfig("tessera", "x", url=url)).url == url


@pytest.mark.parametrize(("config", "key", "message"), [
    (DeviceConfig("tessera", "x", url="10.0.0.50"), "url", "is not an http(s) URL"),
    (DeviceConfig("tessera", "x", url="http://10.0.0.50:99999"), "url", "has no valid port"),
    (DeviceConfig("tessera", "x", url="http://10.0.0.50:port"), "url", "has no valid port"),
    (DeviceConfig("tessera", "x", url="http://10.0.0.50:0"), "url", "has no valid port"),
    (DeviceConfig("tessera", "x", url="http://not a url"), "url",
     "'not a url' is not a host name or IP address"),
    (DeviceConfig("tessera", "x", url="http://proc_1.local"), "url", "is not a host name or IP address"),
    (DeviceConfig("helios", "", url="http://10.0.0.50"), "name", "invalid device name"),
    (DeviceConfig("helios", "a b", url="http://10.0.0.50"), "name", "invalid device name"),
    (DeviceConfig("helios", "ok", url="http://10.0.0.50", zone="Wall Left"), "zone", "invalid zone"),
])
def test_bad_device_tables_name_the_key(config: DeviceConfig, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        check_device_config(config)
    assert caught.value.key == key


def test_device_config_for_refuses_what_is_not_a_processor() -> None:
    control = FoundDevice("stagectl on pc", STAGECTL_SERVICE, "stagectl", "127.0.0.1", 53000,
                          "osc.udp://127.0.0.1:53000/", {}, 0.0, 0.0)
    expected = "not an LED processor stagectl drives; allowed: tessera or helios"
    with pytest.raises(StageError, match=re.escape(expected)):
        device_config_for(control, "pc")


@pytest.mark.parametrize(("text", "taken", "name"), [
    ("Tessera emulator (wall)", [], "tessera-emulator-wall"),
    ("Tessera emulator (wall)", ["tessera-emulator-wall"], "tessera-emulator-wall-2"),
    ("Tessera emulator (wall)", ["tessera-emulator-wall", "tessera-emulator-wall-2"],
     "tessera-emulator-wall-3"),
    ("SX40 — Stage Left / A", [], "sx40-stage-left-a"),
    ("!!!", [], "device"),
    ("x" * 40, ["x" * 32], "x" * 30 + "-2"),
])
def test_unique_names_are_valid_device_names(text: str, taken: list[str], name: str) -> None:
    assert unique_name(text, taken) == name
    check_device_config(DeviceConfig("tessera", name, url="http://10.0.0.1"))


@pytest.mark.parametrize(("url", "key"), [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://localhost:8080/", "http://127.0.0.1:8080"),
    ("HTTP://Proc.Local/api/", "http://proc.local:80"),
    ("https://10.0.0.5", "https://10.0.0.5:443"),
    ("http://[FD00::5]:81/x", "http://[fd00::5]:81"),
    ("osc.udp://127.0.0.1:53000/", "osc.udp://127.0.0.1:53000"),
    ("10.0.0.5", None),
    ("http://10.0.0.5:bad", None),
])
def test_endpoint_keys(url: str, key: str | None) -> None:
    assert endpoint_key(url) == key


def test_interfaces_are_loopback_only_when_the_stage_is() -> None:
    assert discovery_interfaces(default_stage()) == ("127.0.0.1",)
    assert default_stage().discovery == DiscoveryConfig(True, ("127.0.0.1",))
    assert discovery_interfaces(_stage_with("")) == ("127.0.0.1",)
    lan_device = _stage_with('[[devices]]\nkind = "helios"\nname = "c"\nurl = "http://10.0.0.60"\n')
    assert discovery_interfaces(lan_device) is None
    any_address = parse_stage(STAGE.replace('listen = "127.0.0.1:0"\n\n[[devices]]',
                                            'listen = "0.0.0.0:0"\n\n[[devices]]'), base_dir=Path("."))
    assert any_address.sources[0].listen is not None and any_address.sources[0].listen.host == "0.0.0.0"
    assert discovery_interfaces(any_address) is None
    pinned = _stage_with('[discovery]\ninterfaces = ["10.0.0.20", "10.0.0.20"]\n')
    assert discovery_interfaces(pinned) == ("10.0.0.20",)


@pytest.mark.parametrize(("table", "message"), [
    ("interfaces = []", "discovery.interfaces: is empty"),
    ('interfaces = ["eth0"]', "discovery.interfaces[0]: 'eth0' is not an IPv4 address"),
    ('interfaces = ["127.0.0.1", 5]', "discovery.interfaces[1]: 5 is not an IPv4 address"),
    ('interfaces = ["::1"]', "discovery.interfaces[0]: '::1' is not an IPv4 address"),
    ('interfaces = ["0.0.0.0"]', "discovery.interfaces[0]: '0.0.0.0' is not an interface's address"),
    ('interfaces = "127.0.0.1"', "discovery.interfaces: must be an array"),
    ("browse = 1", "discovery.browse: must be a boolean"),
    ("interface = []", "unknown key 'interface' in [discovery]; did you mean 'interfaces'?"),
])
def test_bad_discovery_tables_are_located(table: str, message: str) -> None:
    text = _without_control(f"[discovery]\n{table}\n")
    with pytest.raises(ConfigErrors) as caught:
        parse_stage(text, base_dir=Path("."))
    assert message in str(caught.value)
    assert caught.value.line == text.splitlines().index("[discovery]") + 2  # the line after the header
