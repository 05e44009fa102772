"""Stage-file keys of sources and cameras: presets, allow-lists, multicast, serial settings, delay in frames,
smoothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.config.load import parse_stage, source_name
from stagectl.core.links import Endpoint, SerialSettings
from tests.config.test_config import HEAD, check, only_error, write


def _source(text: str) -> str:
    return HEAD + '[[sources]]\ncamera = "A"\n' + text  # the source's keys start on line 9


@pytest.mark.parametrize(("preset", "port"), [
    ("generic", 40000), ("panasonic", 1111), ("sony", 52380), ("mosys", 8001), ("stype", 6301),
    ("zcam", 40000),
])
def test_preset_sets_the_default_port_on_loopback(preset: str, port: int) -> None:
    src = parse_stage(_source(f'protocol = "freed"\npreset = "{preset}"\n')).sources[0]
    assert (src.preset, src.listen) == (preset, Endpoint("127.0.0.1", port))


def test_explicit_listen_wins_over_the_preset_port() -> None:
    src = parse_stage(_source('protocol = "freed"\npreset = "sony"\nlisten = "10.0.0.2:1234"\n')).sources[0]
    assert src.listen == Endpoint("10.0.0.2", 1234)


def test_unknown_preset_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "freed"\npreset = "sonny"\n'))
    check(only_error(path), path, 10, "sources[0].preset", "'sonny' is not one of", "did you mean 'sony'?")


def test_allow_list_is_normalised() -> None:
    text = _source('protocol = "freed"\nallow = ["10.0.0.5", "localhost", "::ffff:1"]\n')
    src = parse_stage(text).sources[0]
    assert src.allow == ("10.0.0.5", "127.0.0.1", "::ffff:1")


def test_allow_entry_that_is_not_an_address(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "freed"\nallow = ["10.0.0.5", "tracker-1"]\n'))
    check(only_error(path), path, 10, "sources[0].allow[1]", "'tracker-1' is not an IP address",
          'allowed: a list of sender IP addresses')


def test_opentrackio_unicast_defaults_to_loopback_55555() -> None:
    src = parse_stage(_source('protocol = "opentrackio"\n')).sources[0]
    assert (src.listen, src.group, src.interface) == (Endpoint("127.0.0.1", 55555), None, None)


def test_opentrackio_multicast_joins_on_the_listen_interface() -> None:
    src = parse_stage(_source('protocol = "opentrackio"\ngroup = "239.135.1.3"\nlisten = "10.1.2.3:55555"\n'))
    source = src.sources[0]
    assert (source.group, source.interface, source.listen) == ("239.135.1.3", "10.1.2.3",
                                                               Endpoint("10.1.2.3", 55555))
    assert source_name(source) == "A/opentrackio@239.135.1.3:55555"


def test_opentrackio_multicast_on_every_interface_needs_an_interface(tmp_path: Path) -> None:
    text = _source('protocol = "opentrackio"\ngroup = "239.135.1.1"\nlisten = "0.0.0.0:55555"\n')
    path = write(tmp_path, text)
    # a missing key is reported on the table's header line
    check(only_error(path), path, 7, "sources[0].interface", "needs the interface to join it on")
    ok = parse_stage(_source('protocol = "opentrackio"\ngroup = "239.135.1.1"\nlisten = "0.0.0.0:55555"\n'
                             'interface = "192.168.1.20"\n')).sources[0]
    assert ok.interface == "192.168.1.20"


def test_group_must_be_multicast(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "opentrackio"\ngroup = "10.0.0.1"\n'))
    check(only_error(path), path, 10, "sources[0].group", "not a multicast address", "239.135.1.")


def test_keys_of_another_protocol_are_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "opentrackio"\ncamera_id = 3\n'))
    check(only_error(path), path, 10, "sources[0].camera_id", "only used by protocol 'freed'",
          "allowed keys for 'opentrackio': camera, protocol, listen, group")


def test_serial_defaults_are_freed_8o1_38400() -> None:
    src = parse_stage(_source('protocol = "freed-serial"\nport = "/dev/ttyUSB0"\n')).sources[0]
    assert src.serial == SerialSettings("/dev/ttyUSB0", 38400, "odd", 8, 1.0)
    assert (src.listen, src.start_stream) == (None, False)
    assert source_name(src) == "A/freed-serial@/dev/ttyUSB0"


def test_serial_settings_are_read() -> None:
    src = parse_stage(_source('protocol = "freed-serial"\nport = "COM3"\nbaud = 115200\nparity = "none"\n'
                              'stop_bits = 2\nstart_stream = true\ncamera_id = 4\n')).sources[0]
    assert src.serial == SerialSettings("COM3", 115200, "none", 8, 2.0)
    assert (src.start_stream, src.camera_id) == (True, 4)


@pytest.mark.parametrize(("text", "line", "key", "detail"), [
    ('protocol = "freed-serial"\n', 7, "sources[0].port", "missing required key 'port'"),
    ('protocol = "freed-serial"\nport = "/dev/x"\nparity = "0"\n', 11, "sources[0].parity", "is not one of"),
    ('protocol = "freed-serial"\nport = "/dev/x"\nstop_bits = 3\n', 11, "sources[0].stop_bits",
     "not 1, 1.5 or 2"),
    ('protocol = "freed-serial"\nport = "/dev/x"\nbaud = 0\n', 11, "sources[0].baud", "out of range"),
    ('protocol = "freed-serial"\nport = "/dev/x"\nlisten = "127.0.0.1:1"\n', 11, "sources[0].listen",
     "only used by protocol"),
])
def test_bad_serial_settings(tmp_path: Path, text: str, line: int, key: str, detail: str) -> None:
    path = write(tmp_path, _source(text))
    check(only_error(path), path, line, key, detail)


def test_two_sources_on_one_serial_device(tmp_path: Path) -> None:
    text = HEAD + '[[cameras]]\nname = "B"\n'
    for cam in "AB":
        text += f'[[sources]]\ncamera = "{cam}"\nprotocol = "freed-serial"\nport = "/dev/ttyUSB0"\n'
    path = write(tmp_path, text)
    check(only_error(path), path, 16, "sources[1].port", "sources[0] already uses /dev/ttyUSB0")


def test_freed_and_opentrackio_cannot_share_a_port(tmp_path: Path) -> None:
    text = HEAD + '[[cameras]]\nname = "B"\n'
    text += '[[sources]]\ncamera = "A"\nprotocol = "freed"\nlisten = "127.0.0.1:5000"\ncamera_id = 1\n'
    text += '[[sources]]\ncamera = "B"\nprotocol = "opentrackio"\nlisten = "127.0.0.1:5000"\n'
    path = write(tmp_path, text)
    check(only_error(path), path, 17, "sources[1].listen", "already listens on 127.0.0.1:5000")


def test_delay_in_frames_becomes_ms_at_the_stage_rate() -> None:
    stage = parse_stage(HEAD.replace("frame_rate = 24", 'frame_rate = "24000/1001"')
                        + "delay_frames = 2\n" + '[[sources]]\ncamera = "A"\nprotocol = "freed"\n')
    camera = stage.cameras[0]
    assert camera.delay_frames == 2
    assert camera.delay_ms == pytest.approx(2 * 1001 / 24, abs=1e-9)  # 83.4166... ms


@pytest.mark.parametrize(("text", "detail"), [
    ("delay_frames = 2\ndelay_ms = 10\n", "both given"),
    ("delay_frames = 30\n", "30 frames at 24 fps is 1250 ms"),
    ("delay_frames = -1\n", "out of range"),
])
def test_bad_delay_frames(tmp_path: Path, text: str, detail: str) -> None:
    path = write(tmp_path, HEAD + text + '[[sources]]\ncamera = "A"\nprotocol = "freed"\n')
    check(only_error(path), path, 7, "cameras[0].delay_frames", detail)


def test_smoothing_and_stale_ms() -> None:
    source = '[[sources]]\ncamera = "A"\nprotocol = "freed"\nstale_ms = 250\n'
    stage = parse_stage(HEAD + "smoothing = 5\n" + source)
    assert (stage.cameras[0].smoothing, stage.sources[0].stale_ms) == (5, 250.0)


@pytest.mark.parametrize(("text", "key", "detail"), [
    ("smoothing = 51\n", "cameras[0].smoothing", "allowed: an integer 0..50"),
    ("smoothing = 2.5\n", "cameras[0].smoothing", "must be an integer"),
])
def test_bad_smoothing(tmp_path: Path, text: str, key: str, detail: str) -> None:
    path = write(tmp_path, HEAD + text + '[[sources]]\ncamera = "A"\nprotocol = "freed"\n')
    check(only_error(path), path, 7, key, detail)


def test_simulator_can_simulate_opentrackio_in_cbor() -> None:
    text = _source('protocol = "simulator"\nsimulate = "opentrackio"\nencoding = "cbor"\n')
    src = parse_stage(text).sources[0]
    assert (src.simulate, src.encoding) == ("opentrackio", "cbor")


def test_encoding_needs_simulate_opentrackio(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "simulator"\nencoding = "cbor"\n'))
    check(only_error(path), path, 10, "sources[0].encoding", 'only used with simulate = "opentrackio"')


def test_lens_serial_defaults_to_cooke_at_115200_8n1() -> None:
    src = parse_stage(_source('protocol = "lens-serial"\nport = "/dev/ttyUSB1"\n')).sources[0]
    settings = SerialSettings("/dev/ttyUSB1", 115200, "none", 8, 1.0)
    assert (src.lens_protocol, src.serial) == ("cooke-i", settings)


def test_lens_serial_fiz_line_and_a_bad_lens_protocol(tmp_path: Path) -> None:
    ok = parse_stage(_source('protocol = "lens-serial"\nport = "COM4"\nlens_protocol = "fiz-line"\n'))
    assert ok.sources[0].lens_protocol == "fiz-line"
    path = write(tmp_path, _source('protocol = "lens-serial"\nport = "COM4"\nlens_protocol = "cooke"\n'))
    check(only_error(path), path, 11, "sources[0].lens_protocol", "'cooke' is not one of",
          "did you mean 'cooke-i'?")
