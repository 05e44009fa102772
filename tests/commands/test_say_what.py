"""Commands that say what they did not do: an export format with nothing to write for a take, and a
camera that recorded nothing."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from stagectl.commands.takes import export_command, takes_record
from stagectl.config.model import StageConfig
from tests.support.stagefile import StageFile


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[StageConfig, str, str]:
    """A stage with camera A fed by the built-in simulator and camera B by a FreeD source nobody sends
    to (no looks, so no CDL); one take recorded through ``takes_record``: (config, stdout, stderr)."""
    folder = tmp_path_factory.mktemp("stage")
    config = (StageFile("say what", frame_rate=25)
              .source("A", "simulator")
              .source("B", "freed", camera_id=2)
              .takes(dir="takes")
              .config(folder))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = takes_record(config, 0.6, {"scene": "1", "shot": "A"}, False, out=out)
    assert status == 0, err.getvalue()
    return config, out.getvalue(), err.getvalue()


def test_record_names_the_camera_that_recorded_nothing(recorded: tuple[StageConfig, str, str]) -> None:
    _config, out, err = recorded
    assert out.startswith("take 1: ")
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1, err
    assert "camera B recorded 0 samples" in warnings[0]
    assert "camera A" not in err


def test_export_says_why_no_cdl_was_written(recorded: tuple[StageConfig, str, str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config, _out, _err = recorded
    out = io.StringIO()
    assert export_command(config, ["1"], "csv,cdl", tmp_path / "export", out) == 0
    err = capsys.readouterr().err
    written = [Path(line) for line in out.getvalue().splitlines()]
    assert written and all(p.suffix == ".csv" for p in written)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(p.name for p in written)
    assert "stagectl export: cdl: take 1 (1-A-T001) has no look (none was live at its start): " \
           "no CDL written" in err


def test_export_of_a_format_with_files_says_nothing_was_skipped(
        recorded: tuple[StageConfig, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _out, _err = recorded
    assert export_command(config, ["1"], "csv", tmp_path / "export", io.StringIO()) == 0
    err = capsys.readouterr().err
    assert "written" not in err and "nothing" not in err, err

