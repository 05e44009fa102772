"""``stagectl facility migrate`` and the facility store as the take commands read it (``--store URL``).

Post reads takes of every stage from the shared PostgreSQL store with the same commands a stage uses
on its own folder: ``takes list | show``, ``export`` and ``conform`` take ``--store URL``. The URL never
holds a password (libpq reads ``PGPASSWORD``, ``~/.pgpass`` or ``PGPASSFILE``); the store is read only.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, TextIO

from stagectl.config.facility import redacted, url_problem
from stagectl.core.errors import StageError
from stagectl.takes.model import TakeData, TakeInfo
from stagectl.takes.store_read import CameraSummary, TakeSummary

if TYPE_CHECKING:  # psycopg is loaded only when a facility store is used
    from stagectl.takes.facility import FacilityStore

__all__ = ["TakeFilter", "check_store_url", "facility_migrate", "open_facility", "stage_ids", "summary_of"]


def check_store_url(url: str, option: str = "--store") -> str:
    """``url`` when it is a facility database URL without a password; else StageError saying what to do
    (the password is never printed back)."""
    problem = url_problem(url)
    if problem is not None:
        raise StageError(f"{option} {redacted(url)}: the database URL {problem}")
    return url.strip()


def open_facility(url: str) -> FacilityStore:
    """The facility store at ``url``, read only (its schema checked at connect); StageError when the URL
    is refused, FacilityError when the database cannot be used (naming it and what to do)."""
    from stagectl.takes.facility import FacilityStore

    return FacilityStore(check_store_url(url))


@dataclass(frozen=True, slots=True)
class TakeFilter:
    """What ``takes list`` narrows the takes to: the stage, the day the take started (local time), the
    scene and circled takes only. None: any."""

    stage: str | None = None
    day: date | None = None
    scene: str | None = None
    circled: bool | None = None

    def keeps(self, info: TakeInfo, stage: str | None) -> bool:
        """Whether a take of the local store (of ``stage``, None without ``[facility]``) passes."""
        if self.stage is not None and stage != self.stage:
            return False
        if self.day is not None and datetime.fromtimestamp(info.started_unix_s).date() != self.day:
            return False
        if self.scene is not None and info.slate.scene != self.scene:
            return False
        return self.circled is None or info.circled == self.circled


def summary_of(data: TakeData) -> TakeSummary:
    """What ``takes show`` prints, built from a whole take as any store reads it."""
    cameras = []
    for name, track in data.cameras.items():
        frames = track.frame
        first, last = (int(frames[0]), int(frames[-1])) if len(frames) else (None, None)
        cameras.append(CameraSummary(name, track.source, len(frames), int(data.dropouts.get(name, 0)),
                                     first, last, track.lens))
    looks = tuple(dict.fromkeys(str(e.data["look"]) for e in data.log if e.data.get("look")))
    return TakeSummary(data.info, tuple(cameras), tuple(data.log), looks)


def facility_migrate(url: str, out: TextIO | None = None) -> int:
    """``stagectl facility migrate --store URL``: create or bring the facility schema up to date."""
    from stagectl.takes.facility import migrate

    before, after = migrate(check_store_url(url))
    where, out = redacted(url), out or sys.stdout
    if before == after:
        out.write(f"facility store {where}: schema version {after}, up to date\n")
    else:
        out.write(f"facility store {where}: schema version {before} -> {after}\n")
    return 0


def stage_ids(store: FacilityStore, takes: Sequence[TakeInfo], only: TakeFilter) -> dict[int, str]:
    """The stage each of ``takes`` (listed with the filter ``only``) was recorded on, in one query."""
    if only.stage is not None:
        return {t.take_id: only.stage for t in takes}
    every = store.stages()
    return {t.take_id: every.get(t.take_id) or store.stage_of(t.take_id) for t in takes}
