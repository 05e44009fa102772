"""Recovery is idempotent: a journal whose records the store already holds is retired (or, when it cannot
be deleted, left and reported with its path and what to do), never replayed into a second take; a journal
partly committed resumes into the same take; a journal shorter than the store holds is said so, with no
negative size."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from functools import partial
from pathlib import Path

from stagectl.core.events import Level
from stagectl.stage.runner import StageRunner
from stagectl.takes.committer import JOURNAL_DIR, TakeIngest
from stagectl.takes.journal import END, HEADER, frame, read_journal
from stagectl.takes.records import dumps
from stagectl.takes.recovery import Recovery, recover
from stagectl.takes.store import TakeStore
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile
from tests.takes.permissions import open_to_all, permissions_apply, read_only
from tests.takes.test_takes_journal import _journal, _records

NAME = "1790000000000-3-T002.journal"
END_RECORD = (END, dumps({"stopped": 1_790_000_010.0, "tc_out": 864100}))


def _complete_take(folder: Path, samples: int = 5) -> Path:
    """A take stored in full the way the committer stores it (commit, then complete), its journal still
    beside it: the state a failed delete, or a kill between the last commit and the delete, leaves."""
    path = _journal(folder, [*_records(samples), END_RECORD], NAME)
    with TakeStore(folder) as store:
        ingest = TakeIngest(store, path.name)
        read = read_journal(path)
        ingest.add(read.records, read.good_size)
        ingest.commit()
        ingest.finish("complete")
    return path


def _takes(folder: Path) -> list[tuple[str, str, int]]:
    with TakeStore(folder) as store:
        counts = store.sample_counts()
        return [(t.name, t.state, counts[t.take_id]) for t in store.takes()]


def test_a_journal_left_beside_its_complete_take_is_retired_on_every_start_never_replayed(
    tmp_path: Path,
) -> None:
    path = _complete_take(tmp_path)
    copy = path.read_bytes()
    for _ in range(3):  # each start finds the journal again (as when its delete keeps failing)
        recovery = recover(tmp_path)
        assert recovery.takes == [] and recovery.notices == [] and recovery.retired == [NAME]
        assert not path.exists()
        path.write_bytes(copy)
    assert _takes(tmp_path) == [("3-T002", "complete", 5)]


def test_a_journal_beside_a_take_finished_by_an_older_stagectl_is_known_by_its_header(tmp_path: Path) -> None:
    _complete_take(tmp_path)
    with contextlib.closing(sqlite3.connect(tmp_path / "takes.sqlite")) as db, db:
        db.execute("UPDATE takes SET journal = ''")  # an older stagectl cleared the name on completion
    assert recover(tmp_path).retired == [NAME]
    assert _takes(tmp_path) == [("3-T002", "complete", 5)]


def test_a_journal_that_cannot_be_deleted_is_reported_with_its_path_and_never_replayed(
    tmp_path: Path,
) -> None:
    path = _complete_take(tmp_path)
    journal_dir = tmp_path / JOURNAL_DIR
    open_to_all(tmp_path, tmp_path / "takes.sqlite", path)
    read_only(journal_dir)
    try:
        runs: list[Recovery] = []
        with permissions_apply(tmp_path) as folder:
            for _ in range(3):
                runs.append(recover(folder))
    finally:
        journal_dir.chmod(0o755)
    for recovery in runs:
        [notice] = recovery.notices
        assert recovery.takes == [] and recovery.retired == []
        assert f"{JOURNAL_DIR}/{NAME} could not be deleted" in notice
        assert "stored in full as take 1" in notice and "not replayed again" in notice
        assert "delete it, or make" in notice and "writable" in notice
    assert path.exists()
    assert _takes(tmp_path) == [("3-T002", "complete", 5)]


def test_a_recovered_take_whose_journal_cannot_be_deleted_is_not_recovered_again(tmp_path: Path) -> None:
    path = _journal(tmp_path, _records(8))  # interrupted: no END record
    path.write_bytes(path.read_bytes() + frame(*_records(9)[-2])[:30])  # and a torn last write
    open_to_all(tmp_path, path)
    read_only(tmp_path / JOURNAL_DIR)
    try:
        with permissions_apply(tmp_path) as folder:
            first, second = recover(folder), recover(folder)
    finally:
        (tmp_path / JOURNAL_DIR).chmod(0o755)
    [r] = first.takes
    assert r.state == "recovered" and r.samples == 8 and len(first.notices) == 1
    assert second.takes == [] and len(second.notices) == 1 and "could not be deleted" in second.notices[0]
    assert _takes(tmp_path) == [("3-T002", "recovered", 8)]


def test_a_journal_that_is_a_folder_is_reported_not_a_crash(tmp_path: Path) -> None:
    _complete_take(tmp_path).unlink()
    (tmp_path / JOURNAL_DIR / NAME).mkdir()
    recovery = recover(tmp_path)
    [notice] = recovery.notices
    assert f"{JOURNAL_DIR}/{NAME} is a folder, not a take journal: move it out of" in notice
    assert _takes(tmp_path) == [("3-T002", "complete", 5)]


def test_a_journal_record_that_is_not_what_stagectl_writes_is_reported_not_a_crash(tmp_path: Path) -> None:
    path = _journal(tmp_path, [(HEADER, b"{not json"), *_records(2)[1:]], NAME)  # its checksum holds
    [notice] = recover(tmp_path).notices
    assert f"take journal {path} holds a record this stagectl cannot read" in notice
    assert "it is kept; move it out of" in notice and path.exists()


def test_a_journal_shorter_than_the_store_holds_says_so_without_a_negative_size(tmp_path: Path) -> None:
    records = _records(30)
    path = _journal(tmp_path, records[:12], NAME)  # header, camera, 10 samples: committed
    with TakeStore(tmp_path) as store:
        ingest = TakeIngest(store, path.name)
        read = read_journal(path)
        ingest.add(read.records, read.good_size)
        ingest.commit()
    stored = path.stat().st_size
    path.write_bytes(path.read_bytes()[:100])  # the journal lost its end (a power cut, a bad copy)
    read = read_journal(path, stored)
    assert read.records == [] and read.torn_bytes == 0 and read.problem is not None
    assert f"shorter than the {stored} byte(s) the store already holds" in read.problem
    [r] = recover(tmp_path).takes
    assert r.problem is not None and not re.search(r"-\d+ byte", r.problem), r.problem
    assert "100 byte(s) long, shorter than" in r.problem
    assert r.samples == 0 and not path.exists()
    assert _takes(tmp_path) == [("3-T002", "recovered", 10)]


def test_a_torn_tail_is_measured_from_the_last_good_record(tmp_path: Path) -> None:
    path = _journal(tmp_path, _records(3))
    whole = path.stat().st_size
    path.write_bytes(path.read_bytes() + b"\x01" * 37)
    for start in (0, whole):
        read = read_journal(path, start)
        assert read.torn_bytes == 37 and read.problem is not None
        assert f"at byte {whole} (37 byte(s) after the last good record)" in read.problem


def test_a_stage_started_beside_a_stored_journal_retires_it_and_says_what_it_could_not(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "takes"
    _complete_take(folder)
    (folder / JOURNAL_DIR / "stray.journal").mkdir()
    config = StageFile("Recovery test").source("A").takes(dir="takes").config(tmp_path)
    retired = []
    for _ in range(2):  # each start
        runner = StageRunner(config)
        try:
            recorder = runner.stage.recorder
            wait_until(partial(getattr, recorder, "ready"), what="the take store to open")
            events = [e.message for e in runner.stage.events.drain() if e.level == Level.WARNING]
        finally:
            runner.close()
        assert recorder.recovery.takes == []
        assert f"{folder / JOURNAL_DIR / 'stray.journal'} is a folder, not a take journal" in " ".join(events)
        retired.append(recorder.recovery.retired)
    assert retired == [[NAME], []]
    assert _takes(folder) == [("3-T002", "complete", 5)]
