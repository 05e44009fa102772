"""The stage file loader: the model and every error class (file, line, key, allowed); the locator and
hostile text are in test_config_hostile."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stagectl.config.load import (
    DEMO_STAGE_TOML,
    FUTURE_TABLES,
    CameraConfig,
    ConfigErrors,
    OutputConfig,
    SourceConfig,
    StageConfig,
    default_stage,
    load_stage,
    parse_stage,
    source_name,
)
from stagectl.config.model import ControlConfig, DeviceConfig, FixtureConfig, LooksConfig, TakesConfig
from stagectl.core.errors import ConfigError
from stagectl.core.links import Endpoint
from stagectl.core.timecode import FrameRate
from tests.support.cli import REPO

DATA = REPO / "tests" / "data" / "config"

HEAD = """\
[stage]
name = "T"
frame_rate = 24

[[cameras]]
name = "A"
"""  # 6 lines; tests append from line 7 on
FREED_A = '[[sources]]\ncamera = "A"\nprotocol = "freed"\n'  # a freed source for camera A (3 lines)


def write(tmp_path: Path, text: str, name: str = "stage.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as info:
        load_stage(path)
    assert info.value.errors, "ConfigErrors without errors"
    return info.value.errors


def only_error(path: Path) -> ConfigError:
    errors = errors_of(path)
    assert len(errors) == 1, "\n".join(str(e) for e in errors)
    return errors[0]


def check(err: ConfigError, path: Path, line: int | None, key: str | None, *parts: str) -> None:
    """The error names the file, the exact line and key, and says each of ``parts``."""
    assert err.path == str(path)
    assert err.line == line, str(err)
    assert err.key == key, str(err)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(err) == where + (f"{key}: " if key else "") + err.detail
    for part in parts:
        assert part in err.detail, f"{part!r} not in {err.detail!r}"


# --- good files ---------------------------------------------------------------------------------


def test_the_demo_stage_in_the_docs_is_the_built_in_one() -> None:
    text = (REPO / "docs" / "stage-file.md").read_text(encoding="utf-8")
    start = text.index("```toml\n# The built-in demo stage") + len("```toml\n")
    assert text[start:text.index("```", start)] == DEMO_STAGE_TOML


def test_demo_stage_parses() -> None:
    stage = default_stage()
    demo_lens = REPO / "lens" / "data" / "demo_zoom_24_70.json"
    assert stage == parse_stage(DEMO_STAGE_TOML, base_dir=demo_lens.parent)
    assert stage.cameras[0].lens == demo_lens and demo_lens.is_file()  # the shipped demo lens
    assert stage.name == "Demo stage"
    assert stage.frame_rate == FrameRate.parse("24000/1001")
    assert not stage.drop_frame
    assert [c.name for c in stage.cameras] == ["A", "B"]
    local0 = Endpoint("127.0.0.1", 0)
    assert stage.sources == (SourceConfig("A", "simulator", local0, 1, 23.976, 0),
                             SourceConfig("B", "simulator", local0, None, 23.976, 1, simulate="opentrackio",
                                          encoding="cbor"))
    assert [source_name(s) for s in stage.sources] == ["A/simulator#1", "B/simulator"]
    assert stage.path is None and stage.extra == {}


def test_good_file_with_every_key_round_trips() -> None:
    path = DATA / "good.toml"
    stage = load_stage(path)
    assert stage == StageConfig(
        name="Stage 3", frame_rate=FrameRate.parse("30000/1001"), drop_frame=True,
        cameras=(CameraConfig("A", 33.5, (DATA / "lenses" / "zoom.json").resolve()),
                 CameraConfig("Crane cam", 0.0, None)),
        sources=(SourceConfig("A", "freed", Endpoint("127.0.0.1", 40000), 1, 50.0, 0),
                 SourceConfig("Crane cam", "freed", Endpoint("127.0.0.1", 40000), 2, 50.0, 1),
                 SourceConfig("A", "simulator", Endpoint("127.0.0.1", 0), None, 100.0, 2)),
        path=path, extra={"lenses": {"note": "later"}},
        outputs=(OutputConfig("opentrackio", Endpoint("10.0.0.5", 55555), ("A",), "json"),),
        devices=(DeviceConfig("tessera", "wall", url="http://10.0.0.50", zone="wall", index=0),
                 DeviceConfig("sacn", "fixtures", priority=120, index=1,
                              fixtures=(FixtureConfig("key-light", "intensity_cct", 2, 11, "key"),))),
        control=ControlConfig(Endpoint("127.0.0.1", 53000), ("10.0.0.0/24",), "40718263"),
        looks=LooksConfig(DATA / "looks", "Safe", 2.5),
        takes=TakesConfig(DATA / "takes", "A", "Night Drive"),
    )
    assert stage.sources_for("A") == (stage.sources[0], stage.sources[2])
    assert [source_name(s) for s in stage.sources] == [
        "A/freed@127.0.0.1:40000#1", "Crane cam/freed@127.0.0.1:40000#2", "A/simulator"]
    assert isinstance(stage.sources[2].rate_hz, float)


def test_defaults_and_lens_relative_to_base_dir(tmp_path: Path) -> None:
    stage = parse_stage(HEAD + 'lens = "../l.json"\n' + FREED_A, base_dir=tmp_path / "stages")
    assert stage.cameras[0] == CameraConfig("A", 0.0, (tmp_path / "l.json").resolve())
    assert stage.sources[0] == SourceConfig("A", "freed", Endpoint("127.0.0.1", 40000), None, 50.0, 0)
    assert source_name(stage.sources[0]) == "A/freed@127.0.0.1:40000"


def test_future_tables_are_kept_raw_in_extra(tmp_path: Path) -> None:
    path = write(tmp_path, 'lenses = "lenses/"\n' + HEAD + """\
        [[sources]]
        camera = "A"
        protocol = "simulator"

        """)
    stage = load_stage(path)
    assert stage.extra == {"lenses": "lenses/"}
    assert set(stage.extra) <= set(FUTURE_TABLES)


def test_takes_table_defaults_and_a_timecode_camera_that_does_not_exist(tmp_path: Path) -> None:
    stage = load_stage(write(tmp_path, HEAD + FREED_A + '[takes]\ndir = "t"\n'))
    assert stage.takes == TakesConfig(tmp_path / "t", "stage", "")
    with pytest.raises(ConfigErrors) as caught:
        load_stage(write(tmp_path, HEAD + FREED_A + '[takes]\ntimecode = "B"\nfolder = "x"\n'))
    text = str(caught.value)
    assert "takes.timecode: 'B' is neither \"stage\" nor a camera of this stage" in text
    assert "allowed: stage, A" in text and "unknown key 'folder' in [takes]" in text


# --- one test per error class -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["bad_syntax.toml", "inline"])
def test_syntax_error_has_line_and_column(tmp_path: Path, name: str) -> None:
    path = DATA / name if name != "inline" else write(tmp_path, '[stage]\nname = "X"\nframe_rate = = 24\n')
    err = only_error(path)
    line, column = (6, "column 10") if name != "inline" else (3, "column 14")
    check(err, path, line, None, "invalid TOML", column, "allowed: TOML 1.0")


def test_missing_stage_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[[cameras]]\nname = "A"\n' + FREED_A)
    check(only_error(path), path, None, "stage", "missing [stage]", "allowed: a [stage] table with name")


@pytest.mark.parametrize(("line", "detail"), [('name = ""', "is empty"), ("name = 3", "not an integer (3)"),
                                             ("", "missing required key 'name'")])
def test_missing_or_bad_stage_name(tmp_path: Path, line: str, detail: str) -> None:
    path = write(tmp_path, HEAD.replace('name = "T"', line) + FREED_A)
    where = 1 if not line else 2  # a missing key points at its table's header
    check(only_error(path), path, where, "stage.name", detail, "allowed: a non-empty string")


@pytest.mark.parametrize("value", ['"24000/0"', '"fast"', "-1", "nan", "true", '""'])
def test_bad_frame_rate(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, HEAD.replace("frame_rate = 24", f"frame_rate = {value}") + FREED_A)
    check(only_error(path), path, 3, "stage.frame_rate", 'allowed: a positive number or "num/den"')


def test_drop_frame_needs_a_drop_frame_rate(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.replace("frame_rate = 24\n", "frame_rate = 24\ndrop_frame = true\n")
                 + FREED_A)
    check(only_error(path), path, 4, "stage.drop_frame", "frame_rate is 24", "30000/1001 or 60000/1001")
    ok = parse_stage(HEAD.replace("frame_rate = 24", 'frame_rate = "60000/1001"\ndrop_frame = true')
                     + FREED_A)
    assert ok.drop_frame


def test_unknown_key_with_suggestion() -> None:
    path = DATA / "bad_unknown_key.toml"
    check(only_error(path), path, 11, "sources[0].lisen",
          "unknown key 'lisen' in [[sources]]; did you mean 'listen'?", "allowed: camera, protocol, listen")


@pytest.mark.parametrize(("text", "line", "key", "hint"), [
    ("[[camera]]\nname = 'B'\n", 7, "camera", "did you mean 'cameras'?"),
    ("delay = 3\n", 7, "cameras[0].delay", "did you mean 'delay_ms'?"),
    ("zzz.y = 1\n", 7, "cameras[0].zzz", "allowed: name, delay_ms, delay_frames, smoothing, lens"),
])
def test_unknown_keys_everywhere(tmp_path: Path, text: str, line: int, key: str, hint: str) -> None:
    path = write(tmp_path, HEAD + text + FREED_A)
    check(only_error(path), path, line, key, "unknown key", hint)


def test_unknown_protocol(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[sources]]\ncamera = "A"\nprotocol = "fred"\n')
    check(only_error(path), path, 9, "sources[0].protocol", "unknown protocol 'fred'",
          "did you mean 'freed'?", "allowed: freed, freed-serial, opentrackio, lens-serial, simulator")


@pytest.mark.parametrize(("listen", "reason"), [
    ("127.0.0.1", "no port"), ("127.0.0.1:70000", "port '70000'"), ("127.0.0.1:", "port ''"),
    ("stage-pc:40000", "not an IPv4"), ("::1:40000", "in brackets"), ("[::1]40000", "[address]:port"),
    ("[1.2.3.4]:5", "not an IPv6"), ("127.0.0.1:-1", "port '-1'"), ("01.2.3.4:5", "not an IPv4"),
])
def test_bad_listen(tmp_path: Path, listen: str, reason: str) -> None:
    path = write(tmp_path, HEAD + f'[[sources]]\ncamera = "A"\nprotocol = "freed"\nlisten = "{listen}"\n')
    check(only_error(path), path, 10, "sources[0].listen", reason, 'allowed: "host:port"', "port 0..65535")


@pytest.mark.parametrize(("listen", "endpoint"), [
    ("0.0.0.0:40000", Endpoint("0.0.0.0", 40000)), ("localhost:0", Endpoint("127.0.0.1", 0)),
    ("[::1]:65535", Endpoint("::1", 65535)), ("[0:0::0]:1", Endpoint("::", 1)),
])
def test_good_listen(listen: str, endpoint: Endpoint) -> None:
    stage = parse_stage(HEAD + f'[[sources]]\ncamera = "A"\nprotocol = "freed"\nlisten = "{listen}"\n')
    assert stage.sources[0].listen == endpoint == Endpoint.parse(str(endpoint))


@pytest.mark.parametrize(("value", "detail"), [
    ("256", "256 is out of range"), ("-1", "-1 is out of range"), ("true", "not a boolean (true)"),
    ("1.0", "not a number (1.0)"),
])
def test_bad_camera_id(tmp_path: Path, value: str, detail: str) -> None:
    path = write(tmp_path, HEAD + f'[[sources]]\ncamera = "A"\nprotocol = "freed"\ncamera_id = {value}\n')
    check(only_error(path), path, 10, "sources[0].camera_id", detail, "allowed: an integer 0..255")


@pytest.mark.parametrize(("key", "value", "detail", "allowed"), [
    ("rate_hz", "0.5", "0.5 is out of range", "allowed: a number 1..1000"),
    ("rate_hz", "inf", "not a finite number", "allowed: a number 1..1000"),
    ("rate_hz", "nan", "not a finite number", "allowed: a number 1..1000"),
    ("rate_hz", "true", "not a boolean", "allowed: a number 1..1000"),
    ("listen", "40000", "must be a string", 'allowed: "host:port"'),
])
def test_bad_simulator_values(tmp_path: Path, key: str, value: str, detail: str, allowed: str) -> None:
    path = write(tmp_path, HEAD + f'[[sources]]\ncamera = "A"\nprotocol = "simulator"\n{key} = {value}\n')
    check(only_error(path), path, 10, f"sources[0].{key}", detail, allowed)


def test_rate_hz_only_for_simulator(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[sources]]\ncamera = "A"\nprotocol = "freed"\nrate_hz = 50\n')
    check(only_error(path), path, 10, "sources[0].rate_hz", "only used by protocol 'simulator'",
          "allowed keys for 'freed': camera, protocol, listen, camera_id")


@pytest.mark.parametrize(("value", "detail"), [("-1", "-1 is out of range"), ("1000.5", "out of range"),
                                               ("-inf", "not a finite"), ('"5"', "not a string ('5')")])
def test_bad_delay_ms(tmp_path: Path, value: str, detail: str) -> None:
    path = write(tmp_path, HEAD + f"delay_ms = {value}\n" + FREED_A)
    check(only_error(path), path, 7, "cameras[0].delay_ms", detail, "allowed: a number 0..1000")


def test_source_for_undefined_camera(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + FREED_A + '[[sources]]\ncamera = "Z"\nprotocol = "simulator"\n')
    check(only_error(path), path, 11, "sources[1].camera", "camera 'Z' is not defined",
          "allowed: a camera defined in [[cameras]] ('A')")


def test_camera_without_source(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[cameras]]\nname = "B"\n' + FREED_A)
    check(only_error(path), path, 8, "cameras[1].name", "camera 'B' has no source",
          'allowed: add a [[sources]] table with camera = "B"')


@pytest.mark.parametrize(("name", "detail"), [('""', "invalid camera name ''"), ('"A/B"', "'A/B'"),
                                              ('"' + "x" * 33 + '"', "invalid camera name")])
def test_invalid_camera_name(tmp_path: Path, name: str, detail: str) -> None:
    path = write(tmp_path, HEAD.replace('name = "A"', f"name = {name}"))
    errors = errors_of(path)
    check(errors[0], path, 6, "cameras[0].name", detail, "allowed: 1 to 32 characters from A-Z")


def test_no_cameras(tmp_path: Path) -> None:
    path = write(tmp_path, 'cameras = []\n[stage]\nname = "T"\nframe_rate = 24\n')
    check(only_error(path), path, 1, "cameras", "no camera defined", "allowed: one or more [[cameras]]")
    path = write(tmp_path, '[stage]\nname = "T"\nframe_rate = 24\n[cameras]\nname = "A"\n')
    check(only_error(path), path, 4, "cameras", "not a table", "allowed: [[cameras]] tables")


def test_duplicate_camera_names(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[cameras]]\nname = "A"\n' + FREED_A)
    check(only_error(path), path, 8, "cameras[1].name", "duplicate camera name 'A'", "cameras[0] on line 6",
          "allowed: a name no other camera uses")


@pytest.mark.parametrize(("ids", "ok"), [((None, None), False), ((1, None), False), ((3, 3), False),
                                         ((1, 2), True)])
def test_duplicate_freed_listen(tmp_path: Path, ids: tuple[int | None, int | None], ok: bool) -> None:
    text = HEAD + '[[cameras]]\nname = "B"\n'
    for cam, cid, listen in (("A", ids[0], "127.0.0.1:40000"), ("B", ids[1], "localhost:40000")):
        text += f'[[sources]]\ncamera = "{cam}"\nprotocol = "freed"\nlisten = "{listen}"\n'
        text += f"camera_id = {cid}\n" if cid is not None else ""
    path = write(tmp_path, text)
    if ok:
        assert len(load_stage(path).sources) == 2
        return
    line = 17 if ids[0] is not None else 16
    check(only_error(path), path, line, "sources[1].listen", "sources[0] already listens on 127.0.0.1:40000",
          "allowed: another port, or (FreeD only) distinct camera_id values")


def test_default_listen_clash_points_at_the_source_header(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + FREED_A + FREED_A)
    check(only_error(path), path, 10, "sources[1].listen", "already listens on 127.0.0.1:40000")


def test_several_errors_are_reported_at_once() -> None:
    path = DATA / "bad_several.toml"
    with pytest.raises(ConfigErrors) as info:
        load_stage(path)
    got = [(e.line, e.key) for e in info.value.errors]
    assert got == [(2, "stage.name"), (3, "stage.frame_rate"), (6, "cameras[0].name"),
                   (7, "cameras[0].delay_ms"), (10, "cameras[1].name"), (13, "sources[0].camera"),
                   (14, "sources[0].protocol"), (15, "sources[0].camera_id")]
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}: 8 errors:"
    assert lines[1:] == [str(e) for e in info.value.errors]
    assert lines[1].startswith(f"{path}:2: stage.name: ")
    assert (info.value.line, info.value.key) == (2, "stage.name")


def test_single_error_str_is_the_error() -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_stage(HEAD.replace("[stage]", "[stage]\nstage = 1") + FREED_A, path="x.toml")
    assert str(info.value) == str(info.value.errors[0])
    assert str(info.value).startswith("x.toml:2: stage.stage: unknown key 'stage' in [stage] (allowed: name,")
    assert (info.value.path, info.value.line, info.value.key) == ("x.toml", 2, "stage.stage")


def test_unreadable_file(tmp_path: Path) -> None:
    err = only_error(tmp_path / "missing.toml")
    check(err, tmp_path / "missing.toml", None, None, "cannot read the stage file")
    (tmp_path / "latin1.toml").write_bytes(b'[stage]\nname = "Caf\xe9"\n')
    check(only_error(tmp_path / "latin1.toml"), tmp_path / "latin1.toml", None, None, "not UTF-8",
          "allowed: a UTF-8")
