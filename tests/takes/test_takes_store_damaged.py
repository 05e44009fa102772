"""A damaged take store (empty, not SQLite) is reported with its path and what to do, kept aside under a
new name, byte for byte, never overwritten; the journals still beside it are recovered into a fresh store.
Opening a store this user may not write or read says where and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.takes.recovery import recover
from stagectl.takes.store import TakeStore, TakeStoreError
from tests.takes.permissions import permissions_apply, read_only
from tests.takes.test_takes_journal import _journal, _records

NAME = "1790000000000-3-T002.journal"


def _aside(folder: Path) -> list[Path]:
    """The stores set aside (each with its ``-wal`` and ``-shm`` beside it under the same new name)."""
    return sorted(folder.glob("takes-damaged-*.sqlite"))


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "the file is empty: 0 bytes"),
     (b"PK\x03\x04 a zip file, not a take store " * 300, "not an SQLite database"),
     (b"SQLite format 3\x00" + b"\xff" * 8176, "file is not a database")],
    ids=["empty", "not-sqlite", "garbled-sqlite"],
)
def test_a_damaged_store_is_kept_aside_and_the_journals_recovered_into_a_fresh_one(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    store = tmp_path / "takes.sqlite"
    store.write_bytes(content)
    wal = tmp_path / "takes.sqlite-wal"
    wal.write_bytes(b"what was not checkpointed")
    _journal(tmp_path, _records(7), NAME)
    recovery = recover(tmp_path)
    [notice] = recovery.notices
    [aside] = _aside(tmp_path)
    assert aside.read_bytes() == content
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"what was not checkpointed"
    assert f"take store {store} was damaged ({reason}" in notice
    assert f"kept as {aside}" in notice and "a fresh store was started" in notice
    assert "1 journal(s)" in notice and "restore takes.sqlite from a backup" in notice
    [r] = recovery.takes
    assert r.samples == 7
    with TakeStore(tmp_path) as fresh:
        assert [t.name for t in fresh.takes()] == ["3-T002"]


def test_a_second_damage_the_same_second_is_kept_too(tmp_path: Path) -> None:
    for content in (b"", b"x" * 200):
        (tmp_path / "takes.sqlite").write_bytes(content)
        assert len(recover(tmp_path).notices) == 1
    assert sorted(p.read_bytes() for p in _aside(tmp_path)) == [b"", b"x" * 200]


def test_reading_a_damaged_store_says_what_it_is_and_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "takes.sqlite").write_bytes(b"")
    with pytest.raises(TakeStoreError) as caught:
        TakeStore(tmp_path, readonly=True)
    message = str(caught.value)
    assert f"take store {tmp_path / 'takes.sqlite'} is damaged (the file is empty: 0 bytes)" in message
    assert "`stagectl takes list` to set it aside" in message and "restore" in message
    assert (tmp_path / "takes.sqlite").read_bytes() == b""  # a reader never moves it


def test_a_store_in_a_read_only_folder_says_where_and_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "takes"
    with TakeStore(folder):
        pass
    read_only(folder)
    try:
        with permissions_apply(folder) as where, pytest.raises(TakeStoreError) as caught:
            recover(where)
    finally:
        folder.chmod(0o755)
    message = str(caught.value)
    assert f"cannot open the take store {folder / 'takes.sqlite'} for writing" in message
    assert f"make {folder} and the files in it readable and writable by the user running stagectl" in message


def test_an_unreadable_takes_folder_says_where_and_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "takes"
    _journal(folder, _records(2), NAME)
    folder.chmod(0)  # no one but root may enter
    try:
        with permissions_apply(folder) as where:
            with pytest.raises(TakeStoreError) as reading:
                TakeStore(where, readonly=True)
            with pytest.raises(TakeStoreError) as recovering:
                recover(where)
    finally:
        folder.chmod(0o755)
    reading_says, recovering_says = str(reading.value), str(recovering.value)
    assert f"cannot read the takes folder {folder} (Permission denied): make it readable" in reading_says
    assert f"{folder / 'journal'} (Permission denied): make it readable and writable" in recovering_says
