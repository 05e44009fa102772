"""What discovery makes of a found device, without a network: stage-file snippets that parse back,
device tables checked from plain data, URLs and names, endpoint keys, and where mDNS runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from stagectl.config.load import ConfigErrors, default_stage, parse_stage
from stagectl.config.model import DeviceConfig, DiscoveryConfig, FixtureConfig, OscFeatureConfig, StageConfig
from stagectl.core.errors import ConfigError, StageError
from stagectl.core.links import Endpoint
from stagectl.discovery.mdns import STAGECTL_SERVICE, FoundDevice
from stagectl.discovery.stage import (
    check_device_config,
    device_config_for,
    device_table,
    discovery_interfaces,
    endpoint_key,
    stage_file_snippet,
    unique_name,
)
from tests.support.stagefile import StageFile


def loopback_stage(listen: str = "127.0.0.1:0") -> StageFile:
    """A simulated camera listening on ``listen`` and an emulated wall: every address on loopback."""
    return (StageFile("Discovery test").source("A", listen=listen)
            .device("tessera", "wall", zone="wall", emulator=True, poll_ms=200))


def _stage_with(tables: str) -> StageConfig:
    """The loopback stage with ``tables`` (stage-file text a test is about) appended as written."""
    return loopback_stage().append(tables).config(Path("."))


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
    any_address = loopback_stage(listen="0.0.0.0:0").config(Path("."))
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
    text = loopback_stage().append(f"[discovery]\n{table}\n").text
    with pytest.raises(ConfigErrors) as caught:
        parse_stage(text, base_dir=Path("."))
    assert message in str(caught.value)
    assert caught.value.line == text.splitlines().index("[discovery]") + 2  # the line after the header
