"""``[[outputs]]`` in the stage file: the example of the stage-file reference, defaults, and every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.config.load import OutputConfig, parse_stage
from stagectl.core.links import Endpoint
from tests.config.test_config import HEAD, check, only_error, write

FREED = '[[sources]]\ncamera = "A"\nprotocol = "freed"\n'  # lines 7-9; outputs start on line 10


def test_the_reference_example() -> None:
    stage = parse_stage(HEAD + FREED + '[[outputs]]\nkind = "opentrackio"\ntarget = "127.0.0.1:55555"\n'
                        'cameras = ["A"]\nencoding = "cbor"\n')
    assert stage.outputs == (OutputConfig("opentrackio", Endpoint("127.0.0.1", 55555), ("A",), "cbor"),)
    assert stage.outputs[0].name == "opentrackio@127.0.0.1:55555"


def test_cameras_default_to_all_and_osc_defaults() -> None:
    out = parse_stage(HEAD + FREED + '[[outputs]]\nkind = "osc"\n').outputs[0]
    assert (out.target, out.cameras, out.bundle, out.prefix) == (Endpoint("127.0.0.1", 8000), ("A",), False,
                                                                 "/stagectl")


def test_multicast_opentrackio_needs_an_interface(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + FREED + '[[outputs]]\nkind = "opentrackio"\ntarget = "239.135.1.1:55555"\n')
    check(only_error(path), path, 10, "outputs[0].interface", "is multicast", "interface")
    ok = parse_stage(HEAD + FREED + '[[outputs]]\nkind = "opentrackio"\ntarget = "239.135.1.1:55555"\n'
                     'interface = "10.0.0.2"\nttl = 2\n').outputs[0]
    assert (ok.interface, ok.ttl) == ("10.0.0.2", 2)


def test_remote_control_with_websocket_and_emulator() -> None:
    out = parse_stage(HEAD + FREED + '[[outputs]]\nkind = "remote-control"\nwebsocket = "127.0.0.1:30020"\n'
                      'emulator = true\npreset = "Stage"\n').outputs[0]
    assert (out.target, out.websocket, out.preset, out.emulator) == (
        Endpoint("127.0.0.1", 30010), Endpoint("127.0.0.1", 30020), "Stage", True)
    assert out.name == "remote-control@emulator"


@pytest.mark.parametrize(("text", "line", "key", "detail"), [
    ('kind = "unreal"\n', 11, "outputs[0].kind", "unknown output kind 'unreal'"),
    ('kind = "osc"\ncameras = ["Z"]\n', 12, "outputs[0].cameras[0]", "camera 'Z' is not defined"),
    ('kind = "osc"\nencoding = "json"\n', 12, "outputs[0].encoding", "unknown key 'encoding' for an output"),
    ('kind = "osc"\nprefix = "stagectl"\n', 12, "outputs[0].prefix", "is not an OSC address prefix"),
    ('kind = "opentrackio"\nencoding = "xml"\n', 12, "outputs[0].encoding", "'xml' is not one of"),
    ('kind = "opentrackio"\ntarget = "unreal-pc:55555"\n', 12, "outputs[0].target", "invalid address"),
])
def test_bad_outputs(tmp_path: Path, text: str, line: int, key: str, detail: str) -> None:
    path = write(tmp_path, HEAD + FREED + "[[outputs]]\n" + text)
    check(only_error(path), path, line, key, detail)
