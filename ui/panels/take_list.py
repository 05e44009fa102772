"""The takes list as the Takes dock reads it, off the GUI thread: rows, the filter, whole takes.

No Qt here: :func:`list_takes` and :func:`read_take` run on a worker (:mod:`ui.workers`) and open the
take store read-only; :func:`matches` is the filter the dock applies to each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stagectl.takes.model import TakeData, TakeInfo
from stagectl.takes.store import TakeStore, TakeStoreError

__all__ = ["TakeRow", "list_takes", "matches", "read_take"]


@dataclass(frozen=True, slots=True)
class TakeRow:
    """One line of the table: the take and its stored sample count (all cameras)."""

    info: TakeInfo
    samples: int


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
