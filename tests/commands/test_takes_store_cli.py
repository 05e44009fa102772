"""``stagectl takes list | show | raw`` and ``stagectl export`` on a takes folder they cannot use (read-only,
unreadable), beside a journal they cannot delete, or with a damaged store: the path and what to do, a
non-zero exit where nothing could be read, never a traceback, and never a take replayed twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stagectl.app import main
from stagectl.takes.committer import JOURNAL_DIR, TakeIngest
from stagectl.takes.journal import END, read_journal
from stagectl.takes.records import dumps
from stagectl.takes.store import TakeStore
from tests.support.cli import stagectl
from tests.support.stagefile import StageFile
from tests.takes.permissions import open_to_all, permissions_apply, read_only
from tests.takes.test_takes_journal import _journal, _records

NAME = "1790000000000-3-T002.journal"
COMMANDS = {
    "list": ["takes", "list"],
    "show": ["takes", "show", "1"],
    "raw": ["takes", "raw", "1"],
    "export": ["export", "1", "--format", "csv", "--out", "OUT"],
}


def _stage(tmp_path: Path) -> Path:
    return StageFile("store test", frame_rate=24).source("A", "freed", camera_id=1).takes(dir="takes").write(
        tmp_path)


def _complete_take(folder: Path) -> Path:
    """A take stored in full, its journal still beside it (the delete after the last commit failed)."""
    end = (END, dumps({"stopped": 1_790_000_010.0, "tc_out": 864100}))
    path = _journal(folder, [*_records(4), end], NAME)
    with TakeStore(folder) as store:
        ingest = TakeIngest(store, path.name)
        read = read_journal(path)
        ingest.add(read.records, read.good_size)
        ingest.commit()
        ingest.finish("complete")
    return path


def _run(args: list[str], stage: Path, out: Path) -> int:
    return main([*[str(out) if a == "OUT" else a for a in args], "--config", str(stage)])


@pytest.fixture(scope="module", autouse=True)
def _imported(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every command run once where it works, so all it imports is imported before a test runs it as
    another user (tests.takes.permissions)."""
    folder = tmp_path_factory.mktemp("warm")
    stage = _stage(folder)
    _complete_take(folder / "takes")
    for args in COMMANDS.values():  # (the take has no raw capture: `takes raw` says so, exit 1)
        assert _run(args, stage, folder / "out") == (1 if "raw" in args else 0)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_takes_command_on_an_unreadable_takes_folder_says_where_and_what_to_do(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = _stage(tmp_path)
    folder = tmp_path / "takes"
    _complete_take(folder)
    open_to_all(tmp_path)
    folder.chmod(0)
    try:
        with permissions_apply(tmp_path):
            code = _run(COMMANDS[command], stage, tmp_path / "out")
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err
    assert code != 0
    assert f"{folder}" in err and "Permission denied" in err and "readable" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_takes_command_on_a_read_only_takes_folder_says_where_and_what_to_do(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = _stage(tmp_path)
    folder = tmp_path / "takes"
    _complete_take(folder)
    open_to_all(tmp_path)
    read_only(folder)
    try:
        with permissions_apply(tmp_path):
            code = _run(COMMANDS[command], stage, tmp_path / "out")
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err
    assert code != 0
    assert f"cannot open the take store {folder / 'takes.sqlite'} for writing" in err, err
    assert f"make {folder} and the files in it readable and writable" in err and "Traceback" not in err


def test_takes_list_beside_a_journal_it_cannot_delete_lists_the_take_once_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = _stage(tmp_path)
    folder = tmp_path / "takes"
    journal = _complete_take(folder)
    open_to_all(tmp_path, folder, folder / "takes.sqlite", journal)
    read_only(folder / JOURNAL_DIR)
    outputs = []
    try:
        with permissions_apply(tmp_path):
            for _ in range(2):
                assert _run(["takes", "list", "--json"], stage, tmp_path) == 0
                outputs.append(capsys.readouterr())
    finally:
        (folder / JOURNAL_DIR).chmod(0o755)
    with TakeStore(folder) as store:
        assert [t.name for t in store.takes()] == ["3-T002"]
    for out in outputs:
        [warning] = [line for line in out.err.splitlines() if "warning" in line]
        assert f"take journal {journal} could not be deleted (Permission denied)" in warning
        assert "Traceback" not in out.err


def test_takes_list_with_an_empty_store_keeps_it_aside_and_lists_the_journal_take(tmp_path: Path) -> None:
    stage = _stage(tmp_path)
    folder = tmp_path / "takes"
    _complete_take(folder)
    (folder / "takes.sqlite").write_bytes(b"")  # the store lost everything; the journal was still there
    result = stagectl("takes", "list", "--json", "--config", str(stage))
    assert result.returncode == 0, result.stderr
    assert [t["name"] for t in json.loads(result.stdout)] == ["3-T002"]
    [aside] = folder.glob("takes-damaged-*.sqlite")
    assert aside.stat().st_size == 0
    assert f"take store {folder / 'takes.sqlite'} was damaged (the file is empty: 0 bytes)" in result.stderr
    assert f"it is kept as {aside}" in result.stderr and "Traceback" not in result.stderr
