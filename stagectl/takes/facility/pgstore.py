"""Reading takes of every stage from the facility database, in the shapes of the local take store.

:class:`FacilityStore` answers what the CLI, the exporters and conform ask of
:class:`stagectl.takes.store.TakeStore` (``takes``, ``sample_counts``, ``find``, ``read``), with
facility-wide take ids; a take read here equals the same take read from its stage's local store,
sample for sample. Its raw capture is streamed from the database on demand (:class:`FacilityRawAccess`).
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Iterator
from datetime import date
from fractions import Fraction
from typing import Any

import numpy as np
import psycopg

from stagectl.core.timecode import FrameRate
from stagectl.takes.facility.listing import listing_query, listing_rows
from stagectl.takes.facility.model import FacilityError, where
from stagectl.takes.facility.schema import check, connect, unreachable
from stagectl.takes.model import CameraTrack, LogEntry, RawEntry, TakeData, TakeInfo, TakeSource
from stagectl.takes.raw import decompress
from stagectl.takes.records import (
    cdl_from_json,
    iter_raw,
    join_chunks,
    lens_from_json,
    slate_from_json,
)
from stagectl.takes.store_read import _info, _tc
from stagectl.takes.tracks import sequence_gaps, track_of

_COLUMNS = ("id, name, slate, rate_num, rate_den, drop_frame, tc_in, tc_out, started, stopped, state, "
            "circled, no_good, notes, look_at_start")


class FacilityStore:
    """The facility database at ``url``, read-only (a context manager). FacilityError when it cannot be
    reached or its schema is not the one this stagectl reads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = f"facility {where(url)}"
        self.conn = connect(url, autocommit=True)
        try:
            check(self.conn, url)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> FacilityStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql.encode(), args).fetchall()
        except psycopg.Error as exc:
            raise unreachable(self.url, exc) from None

    def takes(self, *, stage: str | None = None, day: date | None = None, scene: str | None = None,
              circled: bool | None = None) -> list[TakeInfo]:
        """Takes of every stage (or those matching the filters), by start time."""
        where_, args = [], list[Any]()
        for column, value in (("stage_id", stage), ("day", day), ("scene", scene), ("circled", circled)):
            if value is not None:
                where_.append(f"{column} = %s")
                args.append(value)
        clause = f" WHERE {' AND '.join(where_)}" if where_ else ""
        rows = self._query(f"SELECT {_COLUMNS} FROM takes{clause} ORDER BY started, id", tuple(args))
        return _infos(rows)

    def listing(self, *, stage: str | None = None, day: date | None = None, scene: str | None = None,
                circled: bool | None = None) -> list[str]:
        """``takes list --json``'s objects (JSON texts, samples and stage included) of the takes
        :meth:`takes` lists with the same filters, in the same order, built by the database."""
        return listing_rows(self._query(*listing_query(stage, day, scene, circled)))

    def stage_of(self, take_id: int) -> str:
        """The stage a take was recorded on."""
        rows = self._query("SELECT stage_id FROM takes WHERE id = %s", (take_id,))
        if not rows:
            raise self._missing(take_id)
        return str(rows[0][0])

    def stages(self) -> dict[int, str]:
        """The stage of every take, by take id (one query: a list of many takes needs no query per take)."""
        return {int(i): str(s) for i, s in self._query("SELECT id, stage_id FROM takes")}

    def sample_counts(self) -> dict[int, int]:
        """Samples stored per take id (all cameras), without reading them."""
        return {int(i): int(n) for i, n in self._query("SELECT id, samples FROM takes")}

    def find(self, ref: str | int) -> int:
        """A take id from an id (``7``), a name (``12-A-T003``, when one stage has it) or
        ``stage-3:12-A-T003``; FacilityError naming close ones."""
        text = str(ref).strip()
        if text.isdigit() and self._query("SELECT 1 FROM takes WHERE id = %s", (int(text),)):
            return int(text)
        stage, _, name = text.rpartition(":")
        if stage:
            rows = self._query("SELECT id FROM takes WHERE stage_id = %s AND name = %s", (stage, name))
        else:
            rows = self._query("SELECT id, stage_id FROM takes WHERE name = %s ORDER BY id", (text,))
        if len(rows) == 1:
            return int(rows[0][0])
        if len(rows) > 1:
            which = ", ".join(f"{r[1]}:{text}" for r in rows)
            raise FacilityError(f"take {text!r} is on several stages in {self.label}: name one of {which}")
        last = self._query("SELECT stage_id, name FROM takes ORDER BY id DESC LIMIT 5")
        recent = [f"{s}:{n}" for s, n in last]
        hint = f"; recent takes: {', '.join(recent)}" if recent else "; the facility has no takes"
        raise FacilityError(f"no take {text!r} in {self.label}{hint}")

    def _missing(self, take_id: int) -> FacilityError:
        return FacilityError(f"no take with id {take_id} in {self.label}: `stagectl takes list --store ...` "
                             "lists them")

    def info(self, take_id: int) -> TakeInfo:
        """One take's info."""
        rows = self._query(f"SELECT {_COLUMNS} FROM takes WHERE id = %s", (take_id,))
        if not rows:
            raise self._missing(take_id)
        return _info(rows[0])

    def read(self, take_id: int) -> TakeData:
        """The whole take, as :meth:`stagectl.takes.store.TakeStore.read` gives it."""
        info = self.info(take_id)
        [(cdl_text,)] = self._query("SELECT cdl FROM takes WHERE id = %s", (take_id,))
        cdl = {zone: cdl_from_json(value) for zone, value in json.loads(cdl_text or "{}").items()}
        rows = self._query("SELECT idx, name, protocol, cameras, settings FROM sources WHERE take_id = %s "
                           "ORDER BY idx", (take_id,))
        sources = {int(i): TakeSource(int(i), str(n), str(p), tuple(json.loads(c)), json.loads(s))
                   for i, n, p, c, s in rows}
        captured = bool(sources)
        reference = info.tc_in.frames if info.tc_in is not None else None
        tracks: dict[str, CameraTrack] = {}
        dropouts: dict[str, int] = {}
        cameras = self._query("SELECT idx, camera, source, lens, info FROM cameras WHERE take_id = %s "
                              "ORDER BY idx", (take_id,))
        for idx, camera, source, lens, extra in cameras:
            records = self._records(info, int(idx))
            statics = [(int(ns), json.loads(data)) for ns, data in self._query(
                "SELECT arrival_ns, data FROM statics WHERE take_id = %s AND camera_idx = %s "
                "ORDER BY arrival_ns, seq", (take_id, idx))]
            solved = lens_from_json(json.loads(lens) if lens else None)
            tracks[camera] = track_of(camera, source, records, solved,
                                      reference=reference, rate=info.rate, drop_frame=info.drop_frame,
                                      statics=statics, info=json.loads(extra or "{}"), captured=captured)
            dropouts[camera] = sequence_gaps(records["sequence"])
        log = [LogEntry(int(ns), _tc(frame, info.rate, info.drop_frame), kind, source, text, json.loads(data))
               for ns, frame, kind, source, text, data in self._query(
                   "SELECT arrival_ns, frame, kind, source, text, data FROM log WHERE take_id = %s "
                   "ORDER BY arrival_ns, seq", (take_id,))]
        raw = FacilityRawAccess(self.url, take_id) if captured else None
        return TakeData(info, tracks, cdl, log, dropouts, sources, raw)

    def _records(self, info: TakeInfo, camera_idx: int) -> np.ndarray:
        rows = self._query("SELECT data, layout FROM chunks WHERE take_id = %s AND camera_idx = %s "
                           "ORDER BY first_index", (info.take_id, camera_idx))
        records: np.ndarray = join_chunks(((blob, int(layout)) for blob, layout in rows), info.rate,
                                          info.drop_frame, self._newer)
        if records.size > 1 and np.any(np.diff(records["arrival_ns"]) < 0):
            records = records[np.argsort(records["arrival_ns"], kind="stable")]
        return records

    def _newer(self, layout: int) -> FacilityError:
        return FacilityError(f"{self.label}: sample layout {layout} is newer than this stagectl reads: "
                             "upgrade stagectl")


def _infos(rows: list[tuple[Any, ...]]) -> list[TakeInfo]:
    """TakeInfo of many take rows: as ``store_read._info`` gives them, each frame rate built once (a
    list of ten thousand takes would spend most of its time building the same few rates)."""
    rates: dict[tuple[int, int], FrameRate] = {}
    out = []
    for row in rows:
        key = (int(row[3]), int(row[4]))
        rate = rates.get(key)
        if rate is None:
            rate = rates[key] = FrameRate(Fraction(*key))
        slate = slate_from_json(json.loads(row[2]))
        drop = bool(row[5])
        out.append(TakeInfo(take_id=row[0], name=row[1], slate=slate, rate=rate, drop_frame=drop,
                            tc_in=_tc(row[6], rate, drop), tc_out=_tc(row[7], rate, drop),
                            started_unix_s=row[8], stopped_unix_s=row[9], state=row[10],
                            circled=bool(row[11]), no_good=bool(row[12]), notes=row[13],
                            look_at_start=row[14]))
    return out


class FacilityRawAccess:
    """The raw datagrams of one take in the facility database (implements ``model.RawAccess``)."""

    def __init__(self, url: str, take_id: int) -> None:
        self.url = url
        self.take_id = take_id

    def entries(self, sources: tuple[int, ...] | None = None) -> Iterator[RawEntry]:
        """Every raw entry of ``sources`` (None: all), in arrival order (by number)."""
        with connect(self.url, autocommit=True) as conn:
            found = [int(r[0]) for r in conn.execute("SELECT DISTINCT source_idx FROM raw WHERE take_id = %s",
                                                     (self.take_id,))]
        wanted = [i for i in found if sources is None or i in sources]
        streams = [self._source(idx) for idx in sorted(wanted)]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams, key=lambda entry: entry.number)

    def _source(self, source_idx: int) -> Iterator[RawEntry]:
        try:
            with connect(self.url) as conn, conn.cursor(name=f"raw_{self.take_id}_{source_idx}") as cur:
                cur.itersize = 16
                cur.execute("SELECT first_index, last_index, codec, data FROM raw WHERE take_id = %s AND "
                            "source_idx = %s ORDER BY first_index", (self.take_id, source_idx))
                for first, last, codec, blob in cur:
                    try:
                        yield from iter_raw(decompress(codec, bytes(blob)))
                    except (zlib.error, ValueError) as exc:
                        raise FacilityError(f"take {self.take_id} in facility {where(self.url)}: the raw "
                                            f"batch of source {source_idx} holding entries {first} to {last} "
                                            f"is damaged ({exc})") from None
        except psycopg.Error as exc:
            raise unreachable(self.url, exc) from None
