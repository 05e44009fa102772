"""``stagectl conform clips --store URL``: post conforms clips against the facility store (a real
PostgreSQL server) and gets the packages a stage gets from its own takes folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from stagectl.app import main
from stagectl.takes.store import TakeStore
from tests.support.stagefile import StageFile


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_conform_clips_from_the_facility_store_equals_the_local_conform(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, facility_url: str) -> None:
    assert _run(capsys, "facility", "migrate", "--store", facility_url)[0] == 0
    text = StageFile("conform facility", frame_rate=25).source("A", rate_hz=100).takes(dir="takes").text
    stage = tmp_path / "stage.toml"
    stage.write_text(text + f'\n[facility]\ndatabase = "{facility_url}"\nstage_id = "stage-2"\n',
                     encoding="utf-8")
    code, _out, err = _run(capsys, "takes", "record", "--duration", "2", "--config", str(stage))
    assert code == 0 and "warning" not in err, err
    with TakeStore(tmp_path / "takes", readonly=True) as store:
        (info,) = store.takes()
    assert info.tc_in is not None
    clips = tmp_path / "clips.csv"
    with clips.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "camera", "start TC", "end TC", "fps"])
        writer.writerow(["A001C001", "A", str(info.tc_in + 5), str(info.tc_in + 30), "25"])
    outs = {}
    for where, args in (("here", ["--config", str(stage)]), ("post", ["--store", facility_url])):
        code, out, err = _run(capsys, "conform", "clips", str(clips), "--formats", "csv", "--json",
                              "--out", str(tmp_path / where), *args)
        assert code == 0, err
        outs[where] = json.loads(out)
    here, post = outs["here"], outs["post"]
    assert [m["takes"] for m in post["matches"]] == [m["takes"] for m in here["matches"]] == [[info.name]]
    files = {Path(f).name: Path(f) for p in post["packages"] for f in p["files"] if f.endswith(".csv")}
    assert files
    for name, path in files.items():
        assert path.read_text() == (tmp_path / "here" / "A001C001" / name).read_text()


def test_conform_store_with_a_password_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    clips = tmp_path / "clips.csv"
    clips.write_text("clip,camera,start TC,end TC,fps\nA001,A,10:00:00:00,10:00:01:00,25\n", encoding="utf-8")
    code, out, err = _run(capsys, "conform", "clips", str(clips), "--out", str(tmp_path / "o"), "--store",
                          "postgresql://u:topsecret@127.0.0.1/x")
    assert code == 1 and "password" in err and "topsecret" not in out + err
