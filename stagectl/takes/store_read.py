"""Reading the take store: takes, their samples as tracks, sources, statics and log (``TakeStore``'s half)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np

from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.takes.model import (
    CameraTrack,
    LensInfo,
    LogEntry,
    TakeData,
    TakeInfo,
    TakeSource,
    TakeState,
)
from stagectl.takes.raw import StoreRawAccess
from stagectl.takes.records import (
    LAYOUT_SIZES,
    cdl_from_json,
    join_chunks,
    lens_from_json,
    slate_from_json,
)
from stagectl.takes.store_schema import TakeStoreError
from stagectl.takes.tracks import sequence_gaps, track_of, unwrap_frames


@dataclass(frozen=True, slots=True)
class CameraSummary:
    """One camera of a take: sample count, sequence gaps, time span and lens."""

    camera: str
    source: str
    samples: int
    dropouts: int
    first_frame: int | None
    last_frame: int | None
    lens: LensInfo | None


@dataclass(frozen=True, slots=True)
class TakeSummary:
    """What ``stagectl takes show`` prints: the take, its cameras and its log."""

    info: TakeInfo
    cameras: tuple[CameraSummary, ...]
    log: tuple[LogEntry, ...] = ()
    looks: tuple[str, ...] = ()


def _rate(num: int, den: int) -> FrameRate:
    return FrameRate(Fraction(num, den))


def _tc(frames: int | None, rate: FrameRate, drop: bool) -> Timecode | None:
    if frames is None:
        return None
    return Timecode(frames % frames_per_24h(rate, drop), rate, drop)


_TAKE_COLUMNS = (
    "id, name, slate, rate_num, rate_den, drop_frame, tc_in, tc_out, started, stopped, state, "
    "circled, no_good, notes, look_at_start"
)


def _info(row: Sequence[Any]) -> TakeInfo:
    (
        take_id,
        name,
        slate,
        num,
        den,
        drop,
        tc_in,
        tc_out,
        started,
        stopped,
        state,
        circled,
        no_good,
        notes,
        look,
    ) = row
    rate = _rate(num, den)
    return TakeInfo(
        take_id=take_id,
        name=name,
        slate=slate_from_json(json.loads(slate)),
        rate=rate,
        drop_frame=bool(drop),
        tc_in=_tc(tc_in, rate, bool(drop)),
        tc_out=_tc(tc_out, rate, bool(drop)),
        started_unix_s=started,
        stopped_unix_s=stopped,
        state=cast(TakeState, state),
        circled=bool(circled),
        no_good=bool(no_good),
        notes=notes,
        look_at_start=look,
    )


class TakeReads:
    """The reading half of :class:`stagectl.takes.store.TakeStore` (needs ``conn`` and ``path``)."""

    conn: sqlite3.Connection
    path: Path

    # --- reading ---------------------------------------------------------------------------------

    def takes(self) -> list[TakeInfo]:
        """Every take, oldest first."""
        rows = self.conn.execute(f"SELECT {_TAKE_COLUMNS} FROM takes ORDER BY id").fetchall()
        return [_info(row) for row in rows]

    def sample_counts(self) -> dict[int, int]:
        """Samples stored per take id (all cameras), without reading them."""
        return {int(i): int(n) for i, n in self.conn.execute("SELECT id, samples FROM takes").fetchall()}

    def recording(self) -> list[tuple[int, str, int]]:
        """Takes still marked recording: (id, journal file name, journal offset)."""
        return [
            (int(r[0]), str(r[1]), int(r[2]))
            for r in self.conn.execute(
                "SELECT id, journal, journal_offset FROM takes WHERE state = 'recording'"
            ).fetchall()
        ]

    def journal_take(self, journal: str,
                     header: Mapping[str, Any] | None = None) -> tuple[int, int, str] | None:
        """The take fed from the journal file named ``journal``: (id, journal offset, state), or None.

        By the journal's name, which the store keeps; else, for a take finished by a stagectl that cleared
        that name, by the ``header`` record of the journal (start time and slate), the oldest such take."""
        row = self.conn.execute("SELECT id, journal_offset, state FROM takes WHERE journal = ? ORDER BY id "
                                "LIMIT 1", (journal,)).fetchone()
        if row is None and header is not None:
            try:
                started = float(header["started"])
                slate = slate_from_json(header["slate"])
            except (KeyError, TypeError, ValueError, AttributeError):
                return None
            row = self.conn.execute(
                "SELECT id, journal_offset, state FROM takes WHERE journal = '' AND started = ? AND "
                "production = ? AND scene = ? AND shot = ? AND take_number = ? ORDER BY id LIMIT 1",
                (started, slate.production, slate.scene, slate.shot, slate.take)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), str(row[2]))

    def next_take_number(self, production: str, scene: str, shot: str) -> int:
        """One more than the highest take number recorded for this production, scene and shot."""
        row = self.conn.execute(
            "SELECT MAX(take_number) FROM takes WHERE production = ? AND scene = ? AND shot = ?",
            (production, scene, shot),
        ).fetchone()
        return int(row[0] or 0) + 1

    def find(self, ref: str | int) -> int:
        """A take id from an id (``7``) or a name (``12-A-T003``); TakeStoreError naming close ones."""
        text = str(ref).strip()
        if text.isdigit() and self.conn.execute("SELECT 1 FROM takes WHERE id = ?", (int(text),)).fetchone():
            return int(text)
        row = self.conn.execute("SELECT id FROM takes WHERE name = ?", (text,)).fetchone()
        if row is not None:
            return int(row[0])
        names = [r[0] for r in self.conn.execute("SELECT name FROM takes ORDER BY id DESC LIMIT 5")]
        hint = f"; recent takes: {', '.join(names)}" if names else "; the store has no takes"
        raise TakeStoreError(f"no take {text!r} in {self.path}{hint}")

    def _id_exists(self, take_id: int) -> None:
        if not self.conn.execute("SELECT 1 FROM takes WHERE id = ?", (take_id,)).fetchone():
            raise TakeStoreError(f"no take with id {take_id} in {self.path}")

    def info(self, take_id: int) -> TakeInfo:
        """One take's info."""
        row = self.conn.execute(f"SELECT {_TAKE_COLUMNS} FROM takes WHERE id = ?", (take_id,)).fetchone()
        if row is None:
            raise TakeStoreError(f"no take with id {take_id} in {self.path}")
        return _info(row)

    def log(self, take_id: int) -> list[LogEntry]:
        """The take's log in arrival order."""
        info = self.info(take_id)
        out = []
        for ns, frame, kind, source, text, data in self.conn.execute(
            "SELECT arrival_ns, frame, kind, source, text, data FROM log WHERE take_id = ? "
            "ORDER BY arrival_ns, rowid",
            (take_id,),
        ):
            out.append(
                LogEntry(ns, _tc(frame, info.rate, info.drop_frame), kind, source, text, json.loads(data))
            )
        return out

    def _cameras(self, take_id: int) -> list[tuple[int, str, str, LensInfo | None, dict[str, Any]]]:
        rows = self.conn.execute("SELECT idx, camera, source, lens, info FROM cameras WHERE take_id = ? "
                                 "ORDER BY idx", (take_id,))
        return [(int(i), str(c), str(s), lens_from_json(json.loads(lens) if lens else None),
                 json.loads(info or "{}")) for i, c, s, lens, info in rows]

    def sources(self, take_id: int) -> dict[int, TakeSource]:
        """The take's tracking sources by index (empty for a take recorded before raw capture)."""
        rows = self.conn.execute("SELECT idx, name, protocol, cameras, settings FROM sources "
                                 "WHERE take_id = ? ORDER BY idx", (take_id,))
        return {int(i): TakeSource(int(i), str(n), str(p), tuple(json.loads(c)), json.loads(s))
                for i, n, p, c, s in rows}

    def statics(self, take_id: int, camera_idx: int) -> list[tuple[int, dict[str, Any]]]:
        """A camera's tracker static blocks received during the take: (arrival ns, block as sent)."""
        rows = self.conn.execute("SELECT arrival_ns, data FROM statics WHERE take_id = ? AND camera_idx = ? "
                                 "ORDER BY arrival_ns, rowid", (take_id, camera_idx))
        return [(int(ns), json.loads(data)) for ns, data in rows]

    def samples(self, take_id: int, camera_idx: int) -> np.ndarray:
        """Every sample record of one camera of a take, in arrival order (layout 2, structured array)."""
        return self._records(self.info(take_id), camera_idx)

    def _records(self, info: TakeInfo, camera_idx: int) -> np.ndarray:
        def newer(layout: int) -> TakeStoreError:
            known = ", ".join(map(str, LAYOUT_SIZES))
            return TakeStoreError(f"take {info.take_id}: sample layout {layout} is newer than this "
                                  f"stagectl reads ({known}): upgrade stagectl")

        rows = self.conn.execute(
            "SELECT data, layout FROM chunks WHERE take_id = ? AND camera_idx = ? ORDER BY first_ns, rowid",
            (info.take_id, camera_idx))
        records = join_chunks(rows, info.rate, info.drop_frame, newer)
        if records.size > 1 and np.any(np.diff(records["arrival_ns"]) < 0):
            records = records[np.argsort(records["arrival_ns"], kind="stable")]
        return records

    def has_raw(self, take_id: int) -> bool:
        """Whether the take was recorded with raw capture (it has sources)."""
        row = self.conn.execute("SELECT 1 FROM sources WHERE take_id = ? LIMIT 1", (take_id,)).fetchone()
        return row is not None

    def summary(self, take_id: int) -> TakeSummary:
        """The take with per-camera counts, dropouts and its log."""
        info = self.info(take_id)
        reference = info.tc_in.frames if info.tc_in is not None else None
        cams = []
        for idx, camera, source, lens, _extra in self._cameras(take_id):
            records = self._records(info, idx)
            first = last = None
            if records.size:
                ends = records["frame"][[0, -1]]
                ends = unwrap_frames(ends, int(ends[0]) if reference is None else reference, info.rate,
                                     info.drop_frame)
                first, last = int(ends[0]), int(ends[1])
            cams.append(CameraSummary(camera, source, int(records.size), sequence_gaps(records["sequence"]),
                                      first, last, lens))
        entries = self.log(take_id)
        looks = tuple(dict.fromkeys(str(e.data["look"]) for e in entries if e.data.get("look")))
        return TakeSummary(info, tuple(cams), tuple(entries), looks)

    def _track(self, info: TakeInfo, camera: str, source: str, records: np.ndarray, lens: LensInfo | None,
               extra: Mapping[str, Any], idx: int, captured: bool) -> CameraTrack:
        reference = info.tc_in.frames if info.tc_in is not None else None
        return track_of(camera, source, records, lens, reference=reference, rate=info.rate,
                        drop_frame=info.drop_frame, statics=self.statics(info.take_id, idx),
                        info=extra, captured=captured)

    def read(self, take_id: int) -> TakeData:
        """The whole take, for export and the browser (raw datagrams are read on demand: ``TakeData.raw``).

        TakeStoreError when the take's rows cannot be read (a damaged store: the message names the take,
        the store and what to do)."""
        try:
            return self._read(take_id)
        except TakeStoreError:
            raise
        except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON of any shape
            raise TakeStoreError(
                f"take {take_id} in {self.path} cannot be read ({type(exc).__name__}: {exc}): the store "
                f"is damaged; check it with `sqlite3 {self.path} 'PRAGMA integrity_check'` and restore it "
                "from a backup") from None

    def _read(self, take_id: int) -> TakeData:
        info = self.info(take_id)
        cdl_row = self.conn.execute("SELECT cdl FROM takes WHERE id = ?", (take_id,)).fetchone()
        cdl = {zone: cdl_from_json(value) for zone, value in json.loads(cdl_row[0] or "{}").items()}
        captured = self.has_raw(take_id)
        tracks: dict[str, CameraTrack] = {}
        dropouts: dict[str, int] = {}
        for idx, camera, source, lens, extra in self._cameras(take_id):
            records = self._records(info, idx)
            tracks[camera] = self._track(info, camera, source, records, lens, extra, idx, captured)
            dropouts[camera] = sequence_gaps(records["sequence"])
        raw = StoreRawAccess(self.path, take_id) if captured else None
        return TakeData(info, tracks, cdl, self.log(take_id), dropouts, self.sources(take_id), raw)
