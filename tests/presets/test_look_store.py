"""The looks folder: strict reading with file + key + reason, atomic writes, factory looks, cues.json."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from presets.model import LOOK_SCHEMA, Cue, CueList, Look, LookError, ZoneValues
from presets.store import (
    CUES_FILE,
    LookStore,
    factory_files,
    factory_looks,
    file_stem,
    parse_cues_json,
    parse_cues_text,
    parse_look_json,
    parse_look_text,
)
from stagectl.core.colour import Cdl
from stagectl.core.locate import JsonLocator

DAY = Look("Day", {"wall": ZoneValues(brightness_nits=1200, cct_k=5600, tint_duv=0.001),
                   "ceiling": ZoneValues(brightness_nits=900),
                   "key-light": ZoneValues(level=0.75, cct_k=4300),
                   "frustum": ZoneValues(exposure_stops=-0.5,
                                         cdl=Cdl((1.1, 1.0, 0.9), (0.01, 0.0, -0.01), (1.0, 1.05, 1.1),
                                                 0.9))},
           notes="test look")


def _look_json(**zones: Any) -> dict[str, Any]:
    return {"schema": LOOK_SCHEMA, "name": "Test", "notes": "", "zones": zones}


def _errors(data: Any) -> list[str]:
    with pytest.raises(LookError) as info:
        parse_look_text(json.dumps(data, indent=2), "looks/test.json")
    assert all(e.path == "looks/test.json" for e in info.value.errors)
    return [str(e) for e in info.value.errors]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = LookStore(tmp_path / "looks")
    path = store.save(DAY)
    assert path == tmp_path / "looks" / "day.json"
    assert json.loads(path.read_text())["schema"] == "stagectl.look/1"
    assert '"slope": [1.1, 1.0, 0.9]' in path.read_text()  # number lists stay on one line
    fresh = LookStore(tmp_path / "looks")
    looks, errors = fresh.load_all()
    assert errors == ()
    assert looks == (DAY,)
    assert fresh.get("day") == DAY  # names are unique regardless of case


def test_corrupt_json_names_the_file_line_and_column_and_the_others_still_load(tmp_path: Path) -> None:
    store = LookStore(tmp_path)
    store.save(DAY)
    bad = tmp_path / "broken.json"
    bad.write_text('{\n  "schema": "stagectl.look/1",\n  "name": "Broken",\n  "zones": {"wall": {,}}\n}\n')
    looks, errors = LookStore(tmp_path).load_all()
    assert [look.name for look in looks] == ["Day"]
    assert len(errors) == 1
    message = str(errors[0])
    assert message.startswith(f"{bad}:4: not valid JSON")
    assert "column 22" in message
    assert errors[0].line == 4


def test_wrong_schema_is_reported_alone(tmp_path: Path) -> None:
    old = {"schema": "stagectl.look/0", "name": "Old", "zones": 3}
    (tmp_path / "old.json").write_text(json.dumps(old, indent=2))
    (tmp_path / "list.json").write_text("[]")
    _, errors = LookStore(tmp_path).load_all()
    text = sorted(str(e) for e in errors)
    assert text[0] == f"{tmp_path / 'list.json'}: expected a JSON object, got a list"
    assert text[1] == (f"{tmp_path / 'old.json'}:2: schema: a string ('stagectl.look/0') is not supported: "
                       "this stagectl reads 'stagectl.look/1' look files")


def test_unknown_keys_get_a_did_you_mean() -> None:
    errors = _errors(_look_json(wall={"brightnes_nits": 100}))
    assert errors == ["looks/test.json:7: zones.wall.brightnes_nits: unknown key; "
                      "did you mean 'brightness_nits'?; allowed: brightness_nits, cct_k, tint_duv, level"]
    data = _look_json()
    data["note"] = "x"
    assert "did you mean 'notes'?" in _errors(data)[0]


def test_every_problem_of_a_file_is_reported_with_its_key() -> None:
    errors = _errors(_look_json(
        wall={"cct_k": 25000, "tint_duv": "green", "exposure_stops": 1},
        Ceiling={"level": 0.5},
        frustum={"cdl": {"slope": [1, 1], "power": [1, 0, 1], "saturation": True}, "level": 1},
        fill={"brightness_nits": float("nan")}))
    joined = "\n".join(errors)
    assert "zones.wall.cct_k: 25000 is out of range: must be >= 1000 and <= 20000 K" in joined
    assert "zones.wall.tint_duv: expected a number, got a string ('green')" in joined
    assert "zones.wall.exposure_stops: unknown key" in joined and "go in the frustum zone" in joined
    assert "zones.Ceiling: a zone name must match" in joined
    assert "zones.frustum.cdl.slope: expected 3 numbers [r, g, b], got a list of 2" in joined
    assert "zones.frustum.cdl.saturation: expected a number, got a boolean (true)" in joined
    assert "zones.frustum.level: unknown key" in joined
    assert "zones.fill.brightness_nits: not a finite number (nan)" in joined
    assert len(errors) == 8


def test_cdl_limits_and_missing_fields() -> None:
    errors = _errors(_look_json(frustum={"cdl": {"power": [1, 0, 1]}}))
    assert errors == ["looks/test.json:10: zones.frustum.cdl.power[1]: power must be > 0, got 0"]
    data = _look_json()
    del data["name"]
    assert _errors(data) == ["looks/test.json: name: missing (required)"]
    look = parse_look_text(json.dumps(_look_json(frustum={"cdl": {"saturation": 0.5}})))
    assert look.zones["frustum"].cdl == Cdl(saturation=0.5)  # missing parts are the identity


def test_duplicate_look_names_across_files(tmp_path: Path) -> None:
    LookStore(tmp_path).save(DAY)
    (tmp_path / "zz-copy.json").write_text(json.dumps(DAY.renamed("DAY").to_json()))
    looks, errors = LookStore(tmp_path).load_all()
    assert [look.name for look in looks] == ["Day"]
    assert "look name 'DAY' is also used by day.json" in str(errors[0])


def test_get_unknown_look_suggests_one(tmp_path: Path) -> None:
    store = LookStore(tmp_path)
    store.save(DAY.renamed("Golden hour"))
    with pytest.raises(LookError, match="no look called 'Golden hours'; did you mean 'Golden hour'"):
        store.get("Golden hours")


def test_file_names_from_look_names(tmp_path: Path) -> None:
    assert file_stem("Safe (house lights)") == "safe-house-lights"
    assert file_stem("Cues") == "cues-look"  # never cues.json
    assert file_stem("!!!") == "look"
    store = LookStore(tmp_path)
    assert store.save(DAY.renamed("Night blue")).name == "night-blue.json"
    assert store.save(DAY.renamed("Night-blue")).name == "night-blue-2.json"  # a different look
    assert store.list() == ["Night blue", "Night-blue"]
    with pytest.raises(LookError, match="already exists"):
        store.save(DAY.renamed("night BLUE"), replace=False)


def test_rename_delete_and_cues_follow(tmp_path: Path) -> None:
    store = LookStore(tmp_path)
    store.save(DAY)
    store.save(DAY.renamed("Night"))
    store.save_cues(CueList.of([Cue("1", "Day"), Cue("2", "Night")]))
    store.rename("Day", "Morning")
    assert not (tmp_path / "day.json").exists()
    assert json.loads((tmp_path / "morning.json").read_text())["name"] == "Morning"
    assert [c.look for c in store.load_cues()] == ["Morning", "Night"]
    with pytest.raises(LookError, match="already exists"):
        store.rename("Morning", "night")
    store.rename("Morning", "MORNING")  # only the case: same file
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [CUES_FILE, "morning.json", "night.json"]
    store.delete("Night")
    assert not (tmp_path / "night.json").exists()
    assert LookStore(tmp_path).list() == ["MORNING"]
    with pytest.raises(LookError):
        store.delete("Night")


def test_a_crash_mid_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LookStore(tmp_path)
    path = store.save(DAY)
    before = path.read_text()

    def crash(*_args: object) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    changed = Look("Day", {"wall": ZoneValues(brightness_nits=50)})
    with pytest.raises(OSError, match="simulated crash"):
        store.save(changed)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.json"]  # no temp file left
    monkeypatch.undo()
    assert LookStore(tmp_path).get("Day") == DAY


def test_factory_looks_are_all_valid() -> None:
    looks, errors = factory_looks()
    assert errors == ()
    assert 6 <= len(looks) <= 10
    names = [look.name for look in looks]
    assert len({n.casefold() for n in names}) == len(names)
    assert {"Daylight 5600", "Tungsten 3200", "Safe (house lights)"} <= set(names)
    for file_name, text in factory_files().items():
        look = parse_look_text(text, file_name)
        assert file_name == f"{file_stem(look.name)}.json"
        assert look.notes
        wall = look.zones["wall"]
        assert wall.brightness_nits is not None and wall.cct_k is not None


def test_factory_looks_go_into_an_empty_folder_only(tmp_path: Path) -> None:
    empty = LookStore(tmp_path / "new")
    copied = empty.ensure_factory()
    assert sorted(copied) == sorted(look.name for look in factory_looks().looks)
    assert empty.list() == sorted(copied, key=str.casefold)
    assert empty.ensure_factory() == []  # not twice

    user = tmp_path / "user"
    user.mkdir()
    mine = user / "daylight-5600.json"
    mine.write_text(json.dumps(Look("Daylight 5600", {"wall": ZoneValues(cct_k=6000)}).to_json()))
    text = mine.read_text()
    store = LookStore(user)
    assert store.ensure_factory() == []
    assert mine.read_text() == text
    assert [p.name for p in user.iterdir()] == ["daylight-5600.json"]


def test_cue_file_round_trip_and_order(tmp_path: Path) -> None:
    store = LookStore(tmp_path)
    assert len(store.load_cues()) == 0
    cues = CueList.of([Cue("2", "Night", fade_s=5, easing="ease-out", delay_s=1, label="sunset"),
                       Cue("1", "Day"), Cue("1.5", "Day", fade_s=0)])
    store.save_cues(cues)
    assert store.load_cues() == cues
    assert [c.number for c in store.load_cues()] == ["1", "1.5", "2"]


def test_bad_cue_files(tmp_path: Path) -> None:
    def problems(cues: Any) -> str:
        with pytest.raises(LookError) as info:
            parse_cues_text(json.dumps({"schema": "stagectl.cues/1", "cues": cues}), "cues.json")
        return str(info.value)

    assert "cues[0].number: cue number 2.5 must be a decimal written as a string" in problems(
        [{"number": 2.5, "look": "Day"}])
    text = problems([{"number": "1", "look": "Day"}, {"number": "1.0", "look": "Night"}])
    assert "cues[1].number: cue 1.0 is already cues[0]" in text
    text = problems([{"number": "1", "look": "Day", "fade": 3}, {"number": "2"}])
    assert "cues[0].fade: unknown key; did you mean 'fade_s'?" in text and "cues[1].look: missing" in text
    text = problems([{"number": "1", "look": "Day", "easing": "fast"}])
    assert "cues[0].easing: cue 1: unknown easing 'fast'" in text
    (tmp_path / CUES_FILE).write_text('{"schema": "stagectl.cues/1", "cues": [}')
    with pytest.raises(LookError) as info:
        LookStore(tmp_path).load_cues()
    assert str(info.value).startswith(f"{tmp_path / CUES_FILE}:1: not valid JSON")


def test_a_located_look_or_cue_file_names_the_line_of_each_problem() -> None:
    look = json.dumps(_look_json(wall={"cct_k": 25000}, frustum={"level": 1}), indent=2)
    with pytest.raises(LookError) as info:
        parse_look_json(json.loads(look), "night.json", JsonLocator(look))
    lines = look.splitlines()
    assert [(e.key, '"' + (e.key or "").rsplit(".", 1)[-1] + '"' in lines[(e.line or 0) - 1])
            for e in info.value.errors] == [("zones.wall.cct_k", True), ("zones.frustum.level", True)]
    first = info.value.errors[0]
    assert str(first).startswith(f"night.json:{first.line}: zones.wall.cct_k: 25000")
    cues = json.dumps({"schema": "stagectl.cues/1", "cues": [{"number": "1", "look": "Day"}, {"look": "N"}]},
                      indent=2)
    with pytest.raises(LookError) as info:
        parse_cues_json(json.loads(cues), "cues.json", JsonLocator(cues))
    second_cue = [n for n, line in enumerate(cues.splitlines(), 1) if line == "    {"][1]
    assert (info.value.key, info.value.line) == ("cues[1].number", second_cue)  # missing: its cue's line
