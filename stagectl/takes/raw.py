"""A take's raw capture in the store: batches of datagrams, compressed, read back in arrival order.

The committer stores what a commit period brought per source as one zlib-compressed batch of
``records.pack_raw`` entries (compression runs on the committer thread, never on the I/O loop);
:class:`StoreRawAccess` reads them back for ``stagectl takes raw`` and the OpenTrackIO JSON lines
export, opening its own connection so a take read long ago can still reach its raw datagrams.
"""

from __future__ import annotations

import contextlib
import heapq
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

from stagectl.takes.records import RAW_HEAD, RawEntry, iter_raw

CODEC = "zlib"
#: zlib level: 6 (zlib's default) compresses OpenTrackIO JSON about 6:1 at ~60 MB/s on one core.
LEVEL = 6


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
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10.0)

    def _where(self, sources: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
        if sources is None:
            return "take_id = ?", (self.take_id,)
        marks = ", ".join("?" * len(sources)) or "NULL"
        return f"take_id = ? AND source_idx IN ({marks})", (self.take_id, *sources)

    def count(self, sources: tuple[int, ...] | None = None) -> int:
        """How many raw entries ``sources`` (None: all) have."""
        where, args = self._where(sources)
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute(f"SELECT COALESCE(SUM(count), 0) FROM raw WHERE {where}", args).fetchone()
        return int(row[0])

    def entries(self, sources: tuple[int, ...] | None = None) -> Iterator[RawEntry]:
        """Every raw entry of ``sources`` (None: all) in arrival order (by number)."""
        where, args = self._where(sources)
        with contextlib.closing(self._connect()) as conn:
            found = [int(r[0]) for r in conn.execute(
                f"SELECT DISTINCT source_idx FROM raw WHERE {where}", args)]
        streams = [self._source(idx) for idx in found]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams, key=lambda entry: entry.number)

    def _source(self, source_idx: int) -> Iterator[RawEntry]:
        with contextlib.closing(self._connect()) as conn:
            cursor = conn.execute("SELECT codec, data FROM raw WHERE take_id = ? AND source_idx = ? "
                                  "ORDER BY first_index, rowid", (self.take_id, source_idx))
            for codec, blob in cursor:
                yield from iter_raw(decompress(codec, blob))
