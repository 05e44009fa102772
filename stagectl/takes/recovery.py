"""Recovery after a crash: every journal left in the takes folder goes into the store once, and only once.

A journal is known by its take row: the store keeps the name of the journal each take was fed from and
how far into it everything is stored (committed in the same transaction as the records). So recovery
resumes a journal from that offset into the same take, never a new one, and a journal whose take holds
all of it (its delete failed, the folder is read-only, or the process was killed between the last
commit and the delete) is retired without replaying a record. A store written by a stagectl that
cleared the journal name when a take finished is matched by the journal's header (start time, slate).

Problems on the way never stop recovery of the other journals and never raise a bare ``OSError``: each
becomes a notice naming the file and what to do (:attr:`Recovery.notices`). A damaged store (empty, not
SQLite, corrupt) is set aside under a new name, never overwritten, and a fresh store takes the journals.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import stat
from dataclasses import dataclass, field
from pathlib import Path

from stagectl.takes.committer import JOURNAL_DIR, TakeIngest
from stagectl.takes.journal import HEADER, JOURNAL_SUFFIX, journal_header, read_journal
from stagectl.takes.store import TakeStore
from stagectl.takes.store_schema import StoreDamaged, TakeStoreError, set_aside

__all__ = ["Recovered", "Recovery", "recover"]

log = logging.getLogger("stagectl.takes")
_FINISHED = ("complete", "recovered")
_FIX_ACCESS = "by the user running stagectl"


@dataclass(frozen=True, slots=True)
class Recovered:
    """One take rebuilt (or completed) from its journal after a crash."""

    take_id: int
    journal: str
    samples: int
    problem: str | None
    """The torn or corrupt tail that was dropped and the records left out (see
    :mod:`stagectl.takes.committer`), None when the journal ended cleanly."""
    state: str


@dataclass(frozen=True, slots=True)
class Recovery:
    """What :func:`recover` did: the takes it rebuilt, and the problems it found, each a sentence that
    names the file and what to do."""

    takes: list[Recovered] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    """The journals deleted because the store now holds them in full."""


def recover(folder: Path) -> Recovery:
    """Bring every journal in the takes ``folder`` into the store (call before recording).

    Journals another live stagectl holds (locked) are left alone. A take whose journal ends in a torn
    record keeps everything before it and is marked ``recovered``; a journal whose END record was
    written gives a ``complete`` take. Journals are deleted once their take holds them. TakeStoreError
    (naming the folder and what to do) when the folder cannot be read or the store cannot be opened.
    """
    out = Recovery()
    journal_dir = folder / JOURNAL_DIR
    paths = _journals(journal_dir)
    with _open_store(folder, journal_dir, len(paths), out) as store:
        for path in paths:
            _recover_one(store, path, out)
        listed = {path.name for path in paths}
        for take_id, journal, _offset in store.recording():
            if journal in listed:
                continue  # a live recorder holds it, or it could not be read: its notice says so
            with store.transaction():  # marked recording, journal gone: keep what is stored
                store.finish(take_id, "recovered", None, None)
            out.takes.append(Recovered(take_id, journal, 0, "journal missing: kept what the store held",
                                       "recovered"))
    return out


def _journals(journal_dir: Path) -> list[Path]:
    try:
        return sorted(journal_dir.glob(f"*{JOURNAL_SUFFIX}")) if journal_dir.is_dir() else []
    except OSError as exc:
        raise TakeStoreError(f"cannot read the take journal folder {journal_dir} ({exc.strerror}): make it "
                             f"readable and writable {_FIX_ACCESS}") from None


def _open_store(folder: Path, journal_dir: Path, journals: int, out: Recovery) -> TakeStore:
    """The store, for writing; a damaged one is set aside and a fresh one started (a notice says so)."""
    try:
        return TakeStore(folder)
    except StoreDamaged as exc:
        try:
            aside = set_aside(exc.path)
        except FileNotFoundError:  # another stagectl starting at the same moment set it aside first
            return TakeStore(folder)
        except OSError as err:
            raise TakeStoreError(f"{exc}; it could not be set aside either ({err.strerror}): make "
                                 f"{exc.path.parent} writable {_FIX_ACCESS}, or move {exc.path} away "
                                 "yourself") from None
        out.notices.append(
            f"take store {exc.path} was damaged ({exc.reason}): it is kept as {aside} and a fresh store was "
            f"started; {journals} journal(s) in {journal_dir} are recovered into it. Takes stored only in "
            f"the damaged file are not in the fresh store: restore {exc.path.name} from a backup, or salvage "
            f"them from {aside.name} (e.g. `sqlite3 {aside} .recover`)")
        return TakeStore(folder)


def _recover_one(store: TakeStore, path: Path, out: Recovery) -> None:
    try:
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            out.notices.append(f"{path} is {kind}, not a take journal: move it out of {path.parent}")
            return
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        out.notices.append(f"take journal {path} cannot be read ({exc.strerror}): its take is not recovered "
                           f"until it is; make it readable {_FIX_ACCESS} and start again")
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a live recorder holds it
        _replay(store, path, os.fstat(fd).st_size, out)
    except OSError as exc:
        out.notices.append(f"take journal {path} cannot be read ({exc.strerror}): its take is not recovered "
                           f"until it is; make it readable {_FIX_ACCESS} and start again")
    except (sqlite3.Error, TakeStoreError) as exc:  # nothing half-stored: each commit is one transaction
        out.notices.append(f"take journal {path} could not be stored in {store.path} ({exc}): the journal is "
                           "kept and recovery carries on from where the store is at the next start; if it "
                           "says so again, check the store with "
                           f"`sqlite3 {store.path} 'PRAGMA integrity_check'`")
    except (ValueError, KeyError, TypeError) as exc:  # a record whose checksum holds but whose JSON does not
        out.notices.append(f"take journal {path} holds a record this stagectl cannot read ({exc!r}): it is "
                           f"kept; move it out of {path.parent} and keep it for a newer stagectl or a report")
    finally:
        os.close(fd)


def _replay(store: TakeStore, path: Path, size: int, out: Recovery) -> None:
    """The journal's records the store does not hold yet, into the take it feeds (or a new one)."""
    row = store.journal_take(path.name)
    if row is None:
        row = store.journal_take(path.name, journal_header(path))
    take_id, offset, state = row if row is not None else (None, 0, "")
    read = None if state in _FINISHED and offset >= size else read_journal(path, offset)
    if state in _FINISHED and (read is None or not read.records):
        # stored in full (the delete after the last commit failed, or was never reached): nothing to replay
        if _retire(path, f"it is stored in full as take {take_id}", out):
            log.info("take journal %s was stored in full as take %s: deleted, nothing replayed", path,
                     take_id)
        return
    assert read is not None
    ingest = TakeIngest(store, path.name, take_id)
    ingest.add(read.records, read.good_size)
    if ingest.take_id is None and not any(rtype == HEADER for rtype, _ in read.records):
        _retire(path, "it holds no take (the process stopped before the take's first record reached it)", out)
        return
    if read.records or state not in _FINISHED:
        ingest.commit()
    if state not in _FINISHED:
        state = "complete" if ingest.ended is not None else "recovered"
        ingest.finish(state)
    assert ingest.take_id is not None
    _retire(path, f"it is stored in full as take {ingest.take_id}", out)
    problem = read.problem
    if ingest.skipped:
        left_out = f"{ingest.skipped} records of a size no layout has were left out"
        problem = f"{problem}; {left_out}" if problem else left_out
    out.takes.append(Recovered(ingest.take_id, path.name, ingest.samples, problem, state))


def _retire(path: Path, why: str, out: Recovery) -> bool:
    """Delete a journal the store no longer needs; one notice when it cannot be (it is not replayed again)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        out.notices.append(f"take journal {path} could not be deleted ({exc.strerror}); {why}, and it is not "
                           f"replayed again: delete it, or make {path.parent} writable {_FIX_ACCESS}")
        return False
    out.retired.append(path.name)
    return True
