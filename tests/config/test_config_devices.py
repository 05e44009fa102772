"""[[devices]], [control], [looks], [discovery]: good tables parse, every mistake is located and explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.config.load import ConfigErrors, parse_stage
from stagectl.config.model import ControlConfig, DiscoveryConfig, OscFeatureConfig
from stagectl.core.links import Endpoint
from tests.support.stagefile import StageFile

HEAD = StageFile("S").source("A").text
"""A stage with one simulated camera; each test adds the tables it is about."""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        parse_stage(HEAD + text, path="stage.toml")
    return [str(e) for e in info.value.errors]


def test_osc_device_with_features_and_defaults() -> None:
    level = {"name": "level", "address": "/house/level", "min": 0, "max": 1, "zone_value": "level"}
    stage = (StageFile("S").source("A")
             .device("osc", "house", target="127.0.0.1:9000", zone="ceiling", features=[level])
             .config())
    device = stage.devices[0]
    assert (device.kind, device.name, device.zone) == ("osc", "house", "ceiling")
    assert device.target == Endpoint("127.0.0.1", 9000)
    assert device.features == (
        OscFeatureConfig("level", "/house/level", "f", "", 0.0, 1.0, "linear", "level"),)
    assert stage.control is None and stage.looks.dir is None
    assert stage.discovery == DiscoveryConfig(True, None)


def test_control_and_looks_relative_to_the_stage_file(tmp_path: Path) -> None:
    stage = parse_stage(HEAD + '[control]\nallow = ["127.0.0.1", "10.1.0.0/16"]\n[looks]\ndir = "looks"\n'
                        '[discovery]\nbrowse = false\n', base_dir=tmp_path)
    assert stage.control == ControlConfig(Endpoint("127.0.0.1", 53000), ("127.0.0.1", "10.1.0.0/16"), None)
    assert stage.looks.dir == tmp_path / "looks" and stage.discovery == DiscoveryConfig(False, None)


@pytest.mark.parametrize(("text", "expected"), [
    ('[[devices]]\nkind = "novastar"\nname = "x"\n', "unknown device kind 'novastar'"),
    ('[[devices]]\nkind = "tessera"\nname = "w"\ntarget = "1.2.3.4:5"\n',
     "unknown key 'target' for a device"),
    ('[[devices]]\nkind = "tessera"\nname = "w"\nurl = "ftp://x"\n', "is not an http(s) URL"),
    ('[[devices]]\nkind = "helios"\nname = "w"\nwrite_verb = "PUT"\n', "is not a write verb"),
    ('[[devices]]\nkind = "tessera"\nname = "w/x"\n', "invalid device name"),
    ('[[devices]]\nkind = "tessera"\nname = "w"\nzone = "Wall Left"\n', "invalid zone"),
    ('[[devices]]\nkind = "tessera"\nname = "w"\n[[devices]]\nkind = "helios"\nname = "w"\n',
     "device 'w' is defined twice"),
    ('[[devices]]\nkind = "sacn"\nname = "d"\n', "an sACN device needs fixtures"),
    ('[[devices]]\nkind = "sacn"\nname = "d"\n[[devices.fixtures]]\nname = "k"\nprofile = "rgbw"\n'
     'address = 513\n', "a DMX start address 1..512"),
    ('[[devices]]\nkind = "osc"\nname = "o"\n[[devices.features]]\nname = "l"\n',
     "missing required key 'target'"),
    ('[[devices]]\nkind = "osc"\nname = "o"\ntarget = "127.0.0.1:9"\n[[devices.features]]\nname = "l"\n'
     'address = "/a b"\n', "is not an OSC address"),
    ('[control]\nallow = ["not-an-ip"]\n', "is not an address or network"),
    ('[control]\nallow = "10.0.0.1"\n', "control.allow: must be an array, not a string"),
    ('[control]\npasscode = ""\n', "passcode"),
    ('[looks]\nrate_hz = 10\n', "a number 50..240"),
    ('[looks]\nfolder = "x"\n', "unknown key 'folder' in [looks]"),
])
def test_mistakes_are_located_and_explained(text: str, expected: str) -> None:
    found = errors_of(text)
    assert any(expected in e for e in found), found
    assert all(e.startswith("stage.toml:") for e in found), found
