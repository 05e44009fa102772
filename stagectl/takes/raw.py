"""A take's raw capture in the store: batches of datagrams, compressed, read back in arrival order.

The committer stores what a commit period brought per source as one zlib-compressed batch of
``records.pack_raw`` entries (compression runs on the committer thread, never on the I/O loop);
:class:`StoreRawAccess` reads them back for ``stagectl takes raw`` and the OpenTrackIO JSON lines
export, opening its own connection so a take read long ago can still reach its raw datagrams. A batch
that cannot be read (damaged: its zlib stream broken, or truncated inside an entry) or a store that
cannot be queried raises :class:`RawCaptureError` once the entries before it have been given.
"""

from __future__ import annotations

import contextlib
import heapq
import sqlite3
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from stagectl.takes.model import RawEntry
from stagectl.takes.records import RAW_HEAD, iter_raw
from stagectl.takes.store_schema import TakeStoreError

CODEC = "zlib"
#: zlib level: 6 (zlib's default) compresses OpenTrackIO JSON about 6:1 at ~60 MB/s on one core.
LEVEL = 6


class RawCaptureError(TakeStoreError):
    """A take's raw capture cannot be read: a damaged batch (named by its source and entry numbers) or
    the store failing underneath; the message says which take, which store and what to do."""


def compress(entries: list[bytes]) -> tuple[str, bytes]:
    """One batch's stored form: (codec, blob)."""
    return CODEC, zlib.compress(b"".join(entries), LEVEL)


def decompress(codec: str, blob: bytes) -> bytes:
    """A stored batch's entries (ValueError for a codec this stagectl does not know)."""
    if codec == CODEC:
        return zlib.decompress(blob)
    if codec == "none":
        return blob
    raise ValueError(f"raw batch codec {codec!r} is not known to this stagectl")


def batch_bounds(entries: list[bytes]) -> tuple[int, int, int, int]:
    """(first index, last index, first arrival ns, last arrival ns) of a batch of packed entries."""
    first = RAW_HEAD.unpack_from(entries[0])
    last = RAW_HEAD.unpack_from(entries[-1])
    return first[2], last[2], first[0], last[0]


class StoreRawAccess:
    """The raw datagrams of one take in the store at ``path`` (implements ``model.RawAccess``)."""

    def __init__(self, path: Path, take_id: int) -> None:
        self.path = path
        self.take_id = take_id

    def _connect(self) -> sqlite3.Connection:
        # A reader is used by one consumer at a time, but a generator left open is closed by whichever
        # thread collects it: its connection must allow that close.
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False)

    def _where(self, sources: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
        if sources is None:
            return "take_id = ?", (self.take_id,)
        marks = ", ".join("?" * len(sources)) or "NULL"
        return f"take_id = ? AND source_idx IN ({marks})", (self.take_id, *sources)

    def entries(self, sources: tuple[int, ...] | None = None) -> Iterator[RawEntry]:
        """Every raw entry of ``sources`` (None: all) in arrival order (by number).

        Raises :class:`RawCaptureError` for a batch that cannot be read (after yielding what came
        before it) or when the store cannot be queried."""
        where, args = self._where(sources)
        try:
            with contextlib.closing(self._connect()) as conn:
                found = [int(r[0]) for r in conn.execute(
                    f"SELECT DISTINCT source_idx FROM raw WHERE {where}", args)]
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        streams = [self._source(idx) for idx in found]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams, key=lambda entry: entry.number)

    def _failed(self, exc: sqlite3.Error) -> RawCaptureError:
        return RawCaptureError(f"the raw capture of take {self.take_id} in {self.path} cannot be read: "
                               f"{exc}; check the store with `sqlite3 {self.path} 'PRAGMA integrity_check'`")

    def _source(self, source_idx: int) -> Iterator[RawEntry]:
        query = ("SELECT first_index, last_index, codec, data FROM raw WHERE take_id = ? AND source_idx = ? "
                 "ORDER BY first_index, rowid")
        try:
            with contextlib.closing(self._connect()) as conn:
                for first, last, codec, blob in conn.execute(query, (self.take_id, source_idx)):
                    try:
                        yield from iter_raw(decompress(codec, blob))
                    except (zlib.error, struct.error, ValueError, TypeError) as exc:
                        why = f"its zlib stream is broken: {exc}" if isinstance(exc, zlib.error) else str(exc)
                        raise RawCaptureError(
                            f"take {self.take_id} in {self.path}: the raw batch of source {source_idx} "
                            f"holding entries {first} to {last} is damaged ({why}); the entries before it "
                            "were read. The take's samples are not affected; to get these datagrams back, "
                            f"restore {self.path.name} from a backup") from None
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
