"""The stage's link to the facility store (``[facility]``): a replicator thread fed by the recorder.

The :class:`~stagectl.takes.facility.Replicator` copies every take of the local store to the shared
PostgreSQL database on its own thread; the stage only tells it when something changed: while a take
records (once a second), at STOP, when the last batch of a take is committed, and when a take's notes
or flags are edited. Nothing here waits for the database: :meth:`StageFacility.observe` runs on the
I/O loop and costs a comparison; :meth:`StageFacility.status` is the replicator's non-blocking copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stagectl.config.facility import redacted
from stagectl.config.model import FacilityConfig
from stagectl.core.events import EventQueue, Level
from stagectl.takes.recorder import RecorderStatus

if TYPE_CHECKING:  # psycopg is loaded only by a stage with [facility]
    from stagectl.takes.facility import ReplicationStatus, TakeSync

log = logging.getLogger("stagectl.stage")

SOURCE = "facility"
#: While a take records, the replicator is woken this often (it sends what was committed).
RECORDING_WAKE_S = 1.0
#: How many of the newest takes ``--status-json`` and the take bar list (every take not synced is listed too).
RECENT_TAKES = 10
_LEVELS = {"debug": Level.DEBUG, "info": Level.INFO, "warning": Level.WARNING, "error": Level.ERROR}


@dataclass(frozen=True, slots=True)
class FacilityView:
    """What the window shows of replication: the store, its state, and the newest takes' states.

    ``takes``: (local take id, take name or "", state), newest first."""

    stage_id: str
    database: str
    status: ReplicationStatus
    takes: tuple[tuple[int, str, TakeSync], ...] = field(default_factory=tuple)


class StageFacility:
    """One stage's replication to the facility store (see the module docstring).

    Attributes:
        config: the ``[facility]`` table.
        replicator: the replicator thread (started with the stage, stopped at its close).
    """

    def __init__(self, config: FacilityConfig, folder: Path, events: EventQueue) -> None:
        from stagectl.takes.facility import FacilitySettings, Replicator

        self.config = config
        self.events = events
        settings = FacilitySettings(config.database, config.stage_id, config.connect_timeout_s)
        self.replicator = Replicator(folder, settings, on_event=self._on_event)
        self._names: dict[int, str] = {}
        self._seen: tuple[object, ...] = ()
        self._woken_at = 0.0
        self.wakes = 0
        """How often the stage woke the replicator (a counter for tests and the status)."""
        self.started = False

    def _on_event(self, level: str, message: str) -> None:
        """The replicator's events (its thread) into the stage's event queue."""
        self.events.post(_LEVELS.get(level.lower(), Level.WARNING), SOURCE, "replication", message,
                         for_take=False)

    @property
    def database(self) -> str:
        """The database URL as it may be shown (never a password)."""
        return redacted(self.config.database)

    def start(self) -> None:
        """Start the replicator thread; it sends whatever the database does not have yet."""
        self.replicator.start()
        self.started = True

    def stop(self, timeout_s: float) -> None:
        """Stop the replicator (what it had not sent is sent the next time the stage runs)."""
        if self.started:
            self.started = False
            self.replicator.stop(timeout_s)

    def wake(self) -> None:
        """Something changed in the local store (a take's notes or flags): replicate it soon."""
        self.wakes += 1
        self._woken_at = time.monotonic()
        self.replicator.wake()

    def observe(self, status: RecorderStatus) -> None:
        """The recorder's newest status (I/O loop, 10 times a second): wake the replicator when a take
        starts, stops or finishes committing, and once a second while it records."""
        if status.recording and status.take_id is not None:
            self._names[status.take_id] = status.take_name
        if status.last_take_id is not None:
            self._names[status.last_take_id] = status.last_take
        seen = (status.recording, status.take_id, status.last_take_id, status.commit_pending == 0)
        recording_tick = status.recording and time.monotonic() - self._woken_at >= RECORDING_WAKE_S
        if seen != self._seen or recording_tick:
            self._seen = seen
            if self.started:
                self.wake()

    def sync(self, timeout_s: float) -> ReplicationStatus:
        """Push everything now and wait up to ``timeout_s`` (the command line, before it exits)."""
        return self.replicator.sync_now(timeout_s)

    def status(self) -> ReplicationStatus:
        """The replicator's state now (any thread, never blocks)."""
        return self.replicator.status()

    def recent(self, status: ReplicationStatus) -> list[tuple[int, str, TakeSync]]:
        """(take id, name, state) of the newest :data:`RECENT_TAKES` takes and every take not synced,
        newest first."""
        ids = sorted(status.takes, reverse=True)
        chosen = [i for n, i in enumerate(ids) if n < RECENT_TAKES or status.takes[i].state != "synced"]
        return [(i, self._names.get(i, ""), status.takes[i]) for i in chosen]

    def view(self) -> FacilityView:
        """A :class:`FacilityView` now (I/O loop)."""
        status = self.status()
        return FacilityView(self.config.stage_id, self.database, status, tuple(self.recent(status)))

    def status_dict(self) -> dict[str, Any]:
        """The ``facility`` part of ``--status-json`` (see :func:`facility_dict`)."""
        status = self.status()
        return facility_dict(self.config.stage_id, self.database, status, self.recent(status))


#: How many of the newest takes the take bar names (the rest are in its tooltip).
BAR_TAKES = 2


def sync_text(sync: TakeSync) -> str:
    """``synced``, ``pending``, ``behind 4.2 s``, ``error: <why>``."""
    if sync.state == "behind":
        return f"behind {sync.behind_s:.1f} s"
    if sync.state == "error":
        return f"error: {sync.detail or 'unknown'}"
    return sync.state


def bar_summary(view: FacilityView) -> tuple[str, str, str]:
    """What the take bar shows of replication: (level ``ok`` | ``warn`` | ``fault``, one short line,
    the tooltip with every listed take). Calm while it works: a take waiting is normal right after STOP."""
    status = view.status
    lines = [f"facility store {view.database} as {view.stage_id}: {status.state}"
             + (f" ({status.error})" if status.error else "")]
    lines += [f"  {name or f'take {take_id}'}: {sync_text(sync)}" for take_id, name, sync in view.takes]
    tip = "\n".join(lines)
    waiting = sum(1 for _i, _n, sync in view.takes if sync.state != "synced")
    if status.state == "down":
        return "warn", f"facility down · {waiting} take(s) kept here until it is back", tip
    if status.state == "schema":
        return "fault", "facility refused: unknown schema (stagectl facility migrate)", tip
    if status.state in ("connecting", "stopped"):
        return "ok", f"facility {status.state}", tip
    shown = [f"{name or f'take {take_id}'} {sync_text(sync)}"
             for take_id, name, sync in view.takes[:BAR_TAKES]]
    level = "fault" if any(sync.state == "error" for _i, _n, sync in view.takes) else "ok"
    return level, "facility · " + (" · ".join(shown) if shown else "no takes yet"), tip


def take_sync_json(sync: TakeSync) -> dict[str, Any]:
    """One take's replication state as JSON values."""
    return {"state": sync.state, "behind_s": round(sync.behind_s, 3), "detail": sync.detail or None}


def facility_dict(stage_id: str, database: str, status: ReplicationStatus,
                  recent: list[tuple[int, str, TakeSync]]) -> dict[str, Any]:
    """``{"facility": {...}}``: the store, the replicator's state, counts of takes per state, and the
    newest takes (and every take not synced) by local take id."""
    counts: dict[str, int] = {"pending": 0, "synced": 0, "behind": 0, "error": 0}
    for sync in status.takes.values():
        counts[sync.state] = counts.get(sync.state, 0) + 1
    takes: Mapping[str, Any] = {str(i): {"name": name or None, **take_sync_json(sync)}
                                for i, name, sync in recent}
    return {"facility": {"stage_id": stage_id, "database": database, "state": status.state,
                         "error": status.error, "sent_samples": status.sent_samples,
                         "sent_bytes": status.sent_bytes, "counts": counts, "takes": dict(takes)}}


def make_facility(config: FacilityConfig | None, folder: Path, events: EventQueue) -> StageFacility | None:
    """The stage's :class:`StageFacility` (None without ``[facility]``: nothing changes)."""
    return None if config is None else StageFacility(config, folder, events)
