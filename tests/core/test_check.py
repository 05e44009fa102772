"""The one checker (stagectl.core.check): located errors from plain data, in each file format's words,
with and without a line locator."""

from __future__ import annotations

import json
import math
import textwrap
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.config.load import ConfigErrors
from stagectl.core.check import (
    JSON,
    TOML,
    Checker,
    DocumentErrors,
    KeyLines,
    bounds_text,
    choice_problem,
    render_key,
)
from stagectl.core.errors import ConfigError, StageError
from stagectl.core.locate import JsonLocator, TomlLocator

DEVICES: dict[str, Any] = {"devices": [
    {"kind": "osc", "name": "a"}, {"kind": "osc", "name": "b"},
    {"kind": "osc", "name": "c", "features": [{"name": "level", "adress": "/x", "min": "low"}]},
]}
DEVICES_TOML = textwrap.dedent("""\
    [[devices]]
    kind = "osc"
    name = "a"

    [[devices]]
    kind = "osc"
    name = "b"

    [[devices]]
    kind = "osc"
    name = "c"

    [[devices.features]]
    name = "level"
    adress = "/x"
    min = "low"
    """)
DEVICES_JSON = json.dumps(DEVICES, indent=2)


def check_feature(checker: Checker, data: dict[str, Any]) -> None:
    """What a stage-file checker does with the third device's first feature."""
    base = ("devices", 2, "features", 0)
    feature = data["devices"][2]["features"][0]
    checker.keys(feature, base, ("name", "address", "min", "max"), where="in a feature")
    checker.typed(feature, (*base, "address"), (str,), 'an OSC address like "/wall/level"', required=True)
    checker.typed(feature, (*base, "min"), (int, float), "a number")


def messages(checker: Checker) -> list[str]:
    return [str(e) for e in checker.errors]


# --- without a locator: a dict built in code --------------------------------------------------------


def test_a_dict_built_in_code_gets_key_paths_and_no_lines() -> None:
    checker = Checker("stage.toml")
    check_feature(checker, DEVICES)
    assert messages(checker) == [
        "stage.toml: devices[2].features[0].adress: unknown key 'adress' in a feature; did you mean "
        "'address'? (allowed: name, address, min, max)",
        "stage.toml: devices[2].features[0].address: missing required key 'address'; allowed: an OSC address "
        'like "/wall/level"',
        "stage.toml: devices[2].features[0].min: must be a number, not a string ('low'); allowed: a number",
    ]
    assert all(isinstance(e, ConfigError) and isinstance(e, StageError) for e in checker.errors)
    assert [e.line for e in checker.errors] == [None, None, None]
    assert checker.errors[0].key == "devices[2].features[0].adress"


def test_without_a_path_the_message_is_key_and_detail() -> None:
    checker = Checker()
    checker.error(("looks", "dir"), "is empty")
    checker.error((), "the whole document")
    assert messages(checker) == ["looks.dir: is empty", "the whole document"]


# --- with a locator: the same walk gains line numbers ----------------------------------------------


def test_a_toml_locator_adds_the_line_of_each_problem() -> None:
    assert tomllib.loads(DEVICES_TOML) == DEVICES
    checker = Checker("stage.toml", locator=TomlLocator(DEVICES_TOML))
    check_feature(checker, DEVICES)
    # the unknown key on its line, the missing one at its table's header, the bad value on its line
    assert [e.line for e in checker.errors] == [15, 13, 16]
    assert str(checker.errors[0]).startswith("stage.toml:15: devices[2].features[0].adress: unknown key")


def test_a_json_locator_adds_the_line_of_each_problem() -> None:
    lines = DEVICES_JSON.splitlines()
    checker = Checker("devices.json", locator=JsonLocator(DEVICES_JSON), dialect=JSON)
    check_feature(checker, DEVICES)
    got = [e.line for e in checker.errors]
    assert got[0] is not None and '"adress"' in lines[got[0] - 1]
    assert got[1] is not None and lines[got[1] - 1].strip() == "{"  # missing: where its object starts
    assert got[2] is not None and '"min": "low"' in lines[got[2] - 1]
    assert str(checker.errors[2]) == (f"devices.json:{got[2]}: devices[2].features[0].min: expected a "
                                      "number, got a string ('low')")


def test_the_json_locator_knows_members_elements_and_odd_keys() -> None:
    text = textwrap.dedent("""\
        {
          "a": 1, "b": [10,
            {"c": "x \\" y", "d\\"q": [true, null]},
            -1.5e3
          ],
          "e": {}, "f": NaN
        }
        """)
    loc = JsonLocator(text)
    expect: dict[tuple[str | int, ...], int | None] = {
        ("a",): 2, ("b",): 2, ("b", 0): 2, ("b", 1): 3, ("b", 1, "c"): 3, ("b", 1, 'd"q'): 3,
        ("b", 1, 'd"q', 1): 3, ("b", 2): 4, ("e",): 6, ("f",): 6, ("g",): None, ("b", 3): None,
    }
    assert {path: loc.line_of(path) for path in expect} == expect
    assert loc.locate(("e", "missing", 0)) == 6 and loc.locate(("nowhere",)) is None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        out += _paths(v, (*prefix, k))
    return out


@settings(max_examples=200)
@given(_json_values, st.sampled_from([None, 2]))
def test_the_json_locator_finds_every_key_of_any_document(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    loc, lines = JsonLocator(text), text.split("\n")
    for path in _paths(value):
        line = loc.line_of(path)
        assert line is not None, path
        if isinstance(path[-1], str):
            assert json.dumps(path[-1]) + ":" in lines[line - 1], (path, lines[line - 1])


@pytest.mark.parametrize("text", ["", "{", '{"a": [1, 2', '{"a": "unterminated', "]]]",
                                  "{" * 5000 + "}" * 5000])
def test_locators_never_raise_on_broken_text(text: str) -> None:
    JsonLocator(text).locate(("a", 0))
    TomlLocator(text).locate(("a", 0))


def test_key_lines_is_a_plain_locator() -> None:
    loc = KeyLines({("x",): 3, ("x", "y"): 4})
    checker = Checker("f", locator=loc)
    checker.error(("x", "y", "z"), "deep")
    checker.error(("x", "y"), "exact", line=9)  # a caller that knows better (a CSV row) says so
    assert [e.line for e in checker.errors] == [4, 9]


# --- each kind of problem, in each format's words -------------------------------------------------


@pytest.mark.parametrize(("dialect", "value", "types", "expected"), [
    (TOML, True, (int, float), "must be a number, not a boolean (true); allowed: 0..1"),
    (TOML, 1.0, (int,), "must be an integer, not a number (1.0); allowed: 0..1"),
    (TOML, 3, (str,), "must be a string, not an integer (3); allowed: 0..1"),
    (TOML, {}, (str, int, float), "must be a number or a string, not a table; allowed: 0..1"),
    (TOML, math.nan, (int, float), "nan is not a finite number; allowed: 0..1"),
    (JSON, None, (int, float), "expected a number, got null"),
    (JSON, 1.5, (int,), "expected a whole number, got a number (1.5)"),
    (JSON, [], (dict,), "expected an object, got a list"),
    (JSON, "x", (list,), "expected a list, got a string ('x')"),
    (JSON, math.inf, (int, float), "not a finite number (inf)"),
])
def test_wrong_types(dialect: Any, value: Any, types: tuple[type, ...], expected: str) -> None:
    checker = Checker(dialect=dialect)
    assert checker.of_type(value, ("k",), types, allowed="0..1") is None
    assert [e.detail for e in checker.errors] == [expected]


def test_good_values_pass_through_unrecorded() -> None:
    checker = Checker(dialect=JSON)
    assert checker.of_type(0, ("k",), (int,)) == 0
    assert checker.number(2.5, ("k",), low=0, high=10) == 2.5
    assert checker.of_type(math.nan, ("k",), (float,), finite=False) is not None  # a later check says more
    assert checker.choice("cbor", ("k",), "encoding", ("json", "cbor")) == "cbor"
    assert checker.obj({"a": 1}, ("k",), ("a",), ("b",)) == {"a": 1}
    assert checker.errors == []


@pytest.mark.parametrize(("low", "high", "low_open", "value", "toml", "json_text"), [
    (0, 1000, False, 1000.5, "1000.5 is out of range; allowed: a number 0..1000", "must be within 0..1000, "
     "got 1000.5"),
    (0, None, True, 0, "0 is out of range; allowed: a number 0..1000", "must be > 0, got 0"),
    (1, None, False, 0, "0 is out of range; allowed: a number 0..1000", "must be >= 1, got 0"),
    (None, 10, False, 11, "11 is out of range; allowed: a number 0..1000", "must be <= 10, got 11"),
])
def test_out_of_range(low: float | None, high: float | None, low_open: bool, value: float, toml: str,
                      json_text: str) -> None:
    for dialect, expected in ((TOML, toml), (JSON, json_text)):
        checker = Checker(dialect=dialect)
        assert checker.number(value, ("k",), low=low, high=high, low_open=low_open,
                              allowed="a number 0..1000") is None
        assert [e.detail for e in checker.errors] == [expected]
    assert bounds_text(0.0, 1.0) == "within 0..1"


def test_missing_keys_and_objects() -> None:
    checker = Checker("lens.json", dialect=JSON)
    assert checker.obj({"make": "A", "modle": "B"}, ("identity",), ("make", "model")) is None
    assert messages(checker) == [
        "lens.json: identity.modle: unknown key; did you mean 'model'?; allowed: make, model",
        "lens.json: identity.model: missing (required)",
    ]
    toml = Checker("stage.toml")
    assert toml.typed({}, ("stage", "name"), (str,), "a non-empty string", required=True) is None
    assert toml.typed({}, ("stage", "note"), (str,), "a string", default="-") == "-"
    assert messages(toml) == ["stage.toml: stage.name: missing required key 'name'; allowed: a non-empty "
                              "string"]


def test_unknown_key_notes_and_hints_from_a_wider_list() -> None:
    checker = Checker(dialect=JSON)
    checker.keys({"cdl": 1}, ("zones", "wall"), ("level",), notes={"cdl": " (cdl goes in the frustum zone)"})
    toml = Checker()
    toml.keys({"rate": 1}, ("sources", 0), ("camera", "protocol"), where="in [[sources]]",
              hint_from=("camera", "protocol", "rate_hz"))
    assert [e.detail for e in checker.errors + toml.errors] == [
        "unknown key; allowed: level (cdl goes in the frustum zone)",
        "unknown key 'rate' in [[sources]]; did you mean 'rate_hz'? (allowed: camera, protocol)",
    ]


def test_choices() -> None:
    assert choice_problem("easing", "linear", ("linear", "ease-in")) is None
    assert choice_problem("easing", "lineer", ("linear", "ease-in")) == \
        "unknown easing 'lineer'; did you mean 'linear'?; allowed: linear, ease-in"
    assert choice_problem("easing", 5, ("linear",)) == "unknown easing 5; allowed: linear"
    checker = Checker()
    assert checker.choice("fred", ("sources", 0, "protocol"), "protocol", ("freed", "simulator")) is None
    assert checker.errors[0].detail == ("unknown protocol 'fred'; did you mean 'freed'? (allowed: freed, "
                                        "simulator)")


def test_tables_sections_and_schemas() -> None:
    checker = Checker()
    assert checker.tables({"cameras": [{"name": "A"}, 3]}, "cameras") == [(0, {"name": "A"})]
    assert checker.tables({"cameras": {"name": "A"}}, "cameras") == []
    assert checker.section({}, "control", "[control] with listen") is None  # absent: no error
    assert checker.section({"control": 1}, "control", "[control] with listen") is None
    assert checker.section({}, "stage", "a [stage] table", required=True) is None
    assert [e.detail for e in checker.errors] == [
        "must be a table, not an integer (3); allowed: [[cameras]] tables",
        "must be an array of tables, not a table; allowed: [[cameras]] tables",
        "must be a table, not an integer (1); allowed: [control] with listen",
        "missing [stage] table; allowed: a [stage] table",
    ]
    json_checker = Checker("x.json", dialect=JSON)
    assert json_checker.schema({"schema": "s/1"}, "s/1", "look")
    assert not json_checker.schema([], "s/1", "look")
    assert not json_checker.schema({"schema": "s/2"}, "s/1", "look")
    assert messages(json_checker) == ["x.json: expected a JSON object, got a list",
                                      "x.json: schema: a string ('s/2') is not supported: this stagectl "
                                      "reads 's/1' look files"]


# --- keys and collected errors -------------------------------------------------------------------------


def test_key_paths_render_as_messages_show_them() -> None:
    assert render_key(("devices", 2, "features", 0, "address")) == "devices[2].features[0].address"
    assert render_key(("cameras", 0, "odd key", 'q"')) == 'cameras[0]."odd key"."q\\""'
    assert render_key(()) == ""


class _Errors(DocumentErrors):
    pass


def test_every_problem_is_raised_as_one_error() -> None:
    checker = Checker("f.json", dialect=JSON)
    checker.raise_errors(_Errors)  # nothing recorded: nothing raised
    checker.error(("a",), "first", line=2)
    with pytest.raises(_Errors) as one:
        checker.raise_errors(_Errors)
    assert str(one.value) == "f.json:2: a: first" and one.value.errors == checker.errors
    checker.error(("b",), "second")
    with pytest.raises(_Errors) as several:
        checker.raise_errors(_Errors)
    assert str(several.value).splitlines() == ["f.json: 2 errors:", "f.json:2: a: first", "f.json: b: second"]
    assert (several.value.line, several.value.key, several.value.path) == (2, "a", "f.json")
    assert isinstance(several.value, ConfigError)
    lone = _Errors("just this", path="g.json", key="k")
    assert [str(e) for e in lone.errors] == ["g.json: k: just this"]


def test_the_stage_files_error_is_collected_the_same_way() -> None:
    checker = Checker("stage.toml", locator=TomlLocator('[stage]\nname = 3\n'))
    checker.typed({"name": 3}, ("stage", "name"), (str,), "a non-empty string")
    with pytest.raises(ConfigErrors) as caught:
        checker.raise_errors(ConfigErrors)
    assert str(caught.value) == ("stage.toml:2: stage.name: must be a string, not an integer (3); allowed: a "
                                 "non-empty string")
    assert caught.value.errors == checker.errors
