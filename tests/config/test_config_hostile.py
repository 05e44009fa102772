"""The stage-file checker against hostile text: the locator finds every key's line, and whatever the
text, parsing raises nothing but located ConfigErrors (hypothesis)."""

from __future__ import annotations

import json
import math
import textwrap
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagectl.config.load import ConfigErrors, parse_stage
from stagectl.core.check import render_key
from stagectl.core.errors import ConfigError
from stagectl.core.locate import TomlLocator
from tests.support.cli import REPO

DATA = REPO / "tests" / "data" / "config"


# --- the locator ------------------------------------------------------------------------------------


def test_locator_finds_headers_dotted_and_inline_keys() -> None:
    text = textwrap.dedent('''\
        title = "x # [not] = a header"      # 1
        a.b.c = 1                            # 2
        [t]                                  # 3
        "quoted key" = """
        [fake]
        """                                  # 6
        inline = { p = 1, q = { r = [1, 2] } }
        [[s]]                                # 8
        k = 1
        [[s]]                                # 10
        k = 2
        [s.sub]                              # 12
        deep = 'lit'
        [[s.list]]                           # 14
        arr = [
          { x = 1 },                         # 16
          { x = 2 },
        ]
        ''')
    tomllib.loads(text)
    loc = TomlLocator(text)
    expect: dict[tuple[str | int, ...], int] = {
        ("title",): 1, ("a",): 2, ("a", "b", "c"): 2, ("t",): 3, ("t", "quoted key"): 4, ("fake",): -1,
        ("t", "inline", "q", "r", 1): 7, ("s",): 8, ("s", 0, "k"): 9, ("s", 1): 10, ("s", 1, "k"): 11,
        ("s", 1, "sub"): 12, ("s", 1, "sub", "deep"): 13, ("s", 1, "list", 0): 14,
        ("s", 1, "list", 0, "arr", 0, "x"): 16, ("s", 1, "list", 0, "arr", 1, "x"): 17,
    }
    for path, line in expect.items():
        assert loc.line_of(path) == (None if line == -1 else line), path
    assert loc.locate(("s", 1, "missing", "deeper")) == 10
    assert loc.locate(("nothing",)) is None
    assert loc.locate(("t", "inline", "p")) == 7
    assert render_key(("s", 1, "odd key", "k")) == 's[1]."odd key".k'


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


# --- never anything but ConfigError ------------------------------------------------------------------

_keys = st.sampled_from(["name", "frame_rate", "drop_frame", "delay_ms", "lens", "camera", "protocol",
                         "listen", "camera_id", "rate_hz", "lisen", "x.y", '"q k"', "outputs"])
_scalars = st.one_of(
    st.booleans(), st.integers(-2, 70000), st.floats(), st.text(max_size=12),
    st.sampled_from(["freed", "simulator", "opentrackio", "A", "B", "127.0.0.1:40000", "localhost:0",
                     "[::1]:1", "24000/1001", "30000/1001", "0/0", "lenses/x.json"]),
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(_keys, inner, max_size=3), max_leaves=6)
_tables = st.sampled_from(["[stage]", "[[cameras]]", "[[sources]]", "[[outputs]]", "[control]",
                           "[stage.sub]"])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return repr(value)


@st.composite
def stage_texts(draw: st.DrawFn) -> str:
    """Random tables and keys, some of them right; or the good file with one line replaced."""
    if draw(st.booleans()):
        lines = (DATA / "good.toml").read_text(encoding="utf-8").split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = draw(st.one_of(st.text(max_size=20), st.builds(
            lambda k, v: f"{k} = {_toml(v)}", _keys, _values), _tables))
        return "\n".join(lines)
    out = []
    for header, pairs in draw(st.lists(st.tuples(_tables, st.dictionaries(_keys, _values, max_size=5)),
                                       max_size=7)):
        out.append(header)
        out += [f"{k} = {_toml(v)}" for k, v in pairs.items()]
    return "\n".join(out) + "\n"


def _only_config_errors(text: str) -> None:
    try:
        stage = parse_stage(text, path="fuzz.toml", base_dir=Path("/stages"))
    except ConfigErrors as exc:
        assert exc.errors and all(isinstance(e, ConfigError) and e.path == "fuzz.toml" for e in exc.errors)
        n_lines = text.count("\n") + 1
        assert all(e.line is None or 1 <= e.line <= n_lines for e in exc.errors)
    else:
        assert stage.cameras and stage.sources


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_raises_only_config_error(text: str) -> None:
    _only_config_errors(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stage_texts())
def test_generated_stage_files_raise_only_config_error_and_are_located(text: str) -> None:
    _only_config_errors(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    loc = TomlLocator(text)
    lines = text.split("\n")  # TOML lines end at \n only (not at \x85 and friends)
    for path in _paths(data):
        line = loc.line_of(path)
        assert line is not None, path
        if isinstance(path[-1], str):
            assert path[-1] in lines[line - 1], (path, lines[line - 1])
