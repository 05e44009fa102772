"""The takes list as the Takes dock reads it, off the GUI thread: rows, the filter, whole takes.

No Qt here: :func:`list_takes` and :func:`read_take` run on a worker (:mod:`ui.workers`) and open the
take store read-only (:func:`list_facility_takes` and :func:`read_facility_take` the facility store, every
stage's takes); :func:`matches` is the filter the dock applies to each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stagectl.takes.model import TakeData, TakeInfo
from stagectl.takes.store import TakeStore, TakeStoreError

__all__ = ["TakeRow", "list_facility_takes", "list_takes", "matches", "read_facility_take", "read_take"]


@dataclass(frozen=True, slots=True)
class TakeRow:
    """One line of the table: the take and its stored sample count (all cameras)."""

    info: TakeInfo
    samples: int
    stage: str = ""
    """The stage that recorded it (facility store rows; "" for this stage's own takes)."""


def matches(info: TakeInfo, text: str, circled_only: bool = False, hide_no_good: bool = False) -> bool:
    """True when every word of ``text`` is in the take's name, scene, shot or notes (any case)
    and the take passes the flag filters."""
    if (circled_only and not info.circled) or (hide_no_good and info.no_good):
        return False
    s = info.slate
    haystack = " ".join((info.name, s.scene, s.shot, s.notes, info.notes)).lower()
    return all(word in haystack for word in text.lower().split())


def list_takes(folder: Path) -> list[TakeRow]:
    """Every take with its sample count, newest first (empty when nothing was recorded yet)."""
    try:
        exists = (folder / "takes.sqlite").exists()
    except OSError as exc:
        raise TakeStoreError(f"cannot read the takes folder {folder} ({exc.strerror}): make it readable by "
                             "the user running stagectl") from None
    if not exists:
        return []
    with TakeStore(folder, readonly=True) as store:
        counts = store.sample_counts()
        return [TakeRow(info, int(counts.get(info.take_id, 0))) for info in reversed(store.takes())]


def read_take(folder: Path, take_id: int) -> TakeData:
    """One whole take."""
    with TakeStore(folder, readonly=True) as store:
        return store.read(take_id)


def list_facility_takes(url: str) -> list[TakeRow]:
    """Every take of every stage in the facility store at ``url`` with its sample count and stage,
    newest first (read only; FacilityError naming the database and what to do)."""
    from stagectl.takes.facility import FacilityStore  # psycopg only when a facility store is opened

    with FacilityStore(url) as store:
        takes = store.takes()
        counts, stages = store.sample_counts(), store.stages()
        return [TakeRow(info, int(counts.get(info.take_id, 0)), stages.get(info.take_id, ""))
                for info in reversed(takes)]


def read_facility_take(url: str, take_id: int) -> TakeData:
    """One whole take of the facility store."""
    from stagectl.takes.facility import FacilityStore

    with FacilityStore(url) as store:
        return store.read(take_id)
