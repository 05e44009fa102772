"""The command line with a facility store on a real PostgreSQL server: ``takes record`` replicates its take
(or, with the database down, records locally, warns and exits 0, and the next ``run`` sends it);
``takes list | show`` and ``export`` read ``--store URL`` in the local shapes; ``facility migrate``;
a password in a URL is refused without being printed."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stagectl.app import main
from stagectl.takes.facility import schema_version
from tests.support.postgres import PostgresServer
from tests.support.stagefile import StageFile

STAGE_ID = "stage-3"


def _stage(folder: Path, url: str | None, stage_id: str = STAGE_ID) -> Path:
    text = StageFile("facility cli", frame_rate=25).source("A", "simulator", rate_hz=100.0).takes(
        dir="takes").text
    if url is not None:
        text += f'\n[facility]\ndatabase = "{url}"\nstage_id = "{stage_id}"\nconnect_timeout_s = 1.0\n'
    path = folder / "stage.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _list(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    code, out, err = _run(capsys, "takes", "list", "--json", *args)
    assert code == 0, err
    found: list[dict[str, Any]] = json.loads(out)
    return found


def _migrated(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, _out, err = _run(capsys, "facility", "migrate", "--store", url)
    assert code == 0, err


def test_facility_migrate_creates_the_schema_once(capsys: pytest.CaptureFixture[str],
                                                  facility_url: str) -> None:
    assert schema_version(facility_url) == 0
    code, out, _err = _run(capsys, "facility", "migrate", "--store", facility_url)
    version = schema_version(facility_url)
    assert code == 0 and version > 0
    assert out.strip().endswith(f"schema version 0 -> {version}")
    code, out, _err = _run(capsys, "facility", "migrate", "--store", facility_url)
    assert code == 0 and "up to date" in out and schema_version(facility_url) == version


@pytest.mark.parametrize("command", [
    ["facility", "migrate", "--store"], ["takes", "list", "--store"], ["takes", "show", "1", "--store"],
    ["export", "1", "--out", "OUT", "--store"]])
def test_a_password_in_store_is_refused_and_never_printed(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          command: list[str]) -> None:
    secret = "hunter2-secret"
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    code, out, err = _run(capsys, *args, f"postgresql://post:{secret}@127.0.0.1:5432/stagectl")
    assert code == 1
    assert "password" in err and "~/.pgpass" in err
    assert secret not in err + out


def test_record_replicates_and_list_store_shows_it_like_local(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path, facility_url: str) -> None:
    _migrated(capsys, facility_url)
    stage = _stage(tmp_path, facility_url)
    code, out, err = _run(capsys, "takes", "record", "--duration", "1", "--config", str(stage),
                          "--scene", "12", "--shot", "A")
    assert code == 0, err
    assert "facility" not in err  # sent: nothing to warn about
    local = _list(capsys, "--config", str(stage))
    store = _list(capsys, "--store", facility_url)
    assert len(local) == len(store) == 1
    assert list(store[0]) == list(local[0])  # the same JSON shape, key for key (the database writes it)
    assert {**store[0], "id": 0} == {**local[0], "id": 0}  # and value for value (but the facility's id)
    assert store[0]["samples"] == local[0]["samples"] and int(local[0]["samples"]) > 0
    assert store[0]["stage"] == local[0]["stage"] == STAGE_ID
    same = ("name", "scene", "shot", "take", "tc_in", "tc_out", "duration_frames", "rate", "state", "cameras")
    assert {k: store[0][k] for k in same} == {k: local[0][k] for k in same}
    code, out, err = _run(capsys, "takes", "list", "--store", facility_url)
    header, row = out.splitlines()
    assert header.split()[:3] == ["id", "stage", "name"] and row.split()[1:3] == [STAGE_ID, local[0]["name"]]
    assert row.split()[-2:] == [str(local[0]["samples"]), "A"]
    # the filters
    today = date.fromtimestamp(float(local[0]["started_unix_s"])).isoformat()
    for args, found in ((("--stage", STAGE_ID), 1), (("--stage", "stage-9"), 0), (("--scene", "12"), 1),
                        (("--scene", "13"), 0), (("--circled",), 0), (("--day", today), 1),
                        (("--day", "2001-01-01"), 0)):
        assert len(_list(capsys, "--store", facility_url, *args)) == found, args
        assert len(_list(capsys, "--config", str(stage), *args)) == found, args
    # show and export read the facility the same way
    code, out, err = _run(capsys, "takes", "show", f"{STAGE_ID}:{local[0]['name']}", "--store", facility_url,
                          "--json")
    assert code == 0, err
    shown = json.loads(out)
    code, out, err = _run(capsys, "takes", "show", "1", "--config", str(stage), "--json")
    here = json.loads(out)
    assert shown["samples"] == here["samples"] and shown["camera_details"] == here["camera_details"]
    assert shown["stage"] == STAGE_ID
    take = str(store[0]["id"])
    code, out, err = _run(capsys, "export", take, "--format", "csv", "--out", str(tmp_path / "post"),
                          "--store", facility_url)
    assert code == 0, err
    code, out2, err = _run(capsys, "export", "1", "--format", "csv", "--out", str(tmp_path / "here"),
                           "--config", str(stage))
    files = [Path(line) for line in out.split()]
    assert files and [f.name for f in files] == [Path(line).name for line in out2.split()]
    for path in files:
        with path.open(newline="") as a, (tmp_path / "here" / path.name).open(newline="") as b:
            assert list(csv.reader(a)) == list(csv.reader(b))


def test_record_with_the_database_down_warns_exits_0_and_run_sends_it_later(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, facility_url: str,
        postgres_server: PostgresServer) -> None:
    _migrated(capsys, facility_url)
    stage = _stage(tmp_path, facility_url)
    with postgres_server.down():
        code, out, err = _run(capsys, "takes", "record", "--duration", "1", "--config", str(stage))
    assert code == 0
    assert "warning" in err and "not in the facility store" in err and "stagectl run" in err, err
    assert out.startswith("take 1:")
    assert _list(capsys, "--store", facility_url) == []
    local = _list(capsys, "--config", str(stage))
    code, _out, err = _run(capsys, "run", "--headless", "--duration", "3", "--config", str(stage))
    assert code == 0, err
    store = _list(capsys, "--store", facility_url)
    assert [(t["name"], t["samples"]) for t in store] == [(t["name"], t["samples"]) for t in local]
