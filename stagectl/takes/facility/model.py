"""The facility store's shared names: its error, the settings a stage file gives, replication state."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from stagectl.core.errors import StageError


class FacilityError(StageError):
    """The facility database could not be reached, used or read: the message names the database
    (host and name, never the password), the take where one is concerned, and what to do."""


@dataclass(frozen=True, slots=True)
class FacilitySettings:
    """Where a stage replicates its takes: ``url`` ``postgresql://user@host:port/dbname`` (no password
    in it: libpq reads ``PGPASSWORD``, ``~/.pgpass`` or ``PGPASSFILE`` itself) and this stage's id."""

    url: str
    stage_id: str
    connect_timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class TakeSync:
    """One local take's replication state.

    ``state``: ``pending`` (nothing of it in the facility yet), ``synced``, ``behind`` (part of it
    there; ``behind_s`` seconds of recording not yet) or ``error`` (``detail`` says why)."""

    state: str
    behind_s: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReplicationStatus:
    """The replicator as a whole: ``state`` ``connecting``, ``ok``, ``down`` (the database cannot be
    reached; retrying), ``schema`` (refused: the database's schema is not the one this stagectl
    writes) or ``stopped``; ``takes`` by LOCAL take id."""

    state: str
    error: str | None
    takes: Mapping[int, TakeSync] = field(default_factory=dict)
    sent_samples: int = 0
    sent_bytes: int = 0


def where(url: str) -> str:
    """``host:port/dbname`` of a connection URL, for messages (never the user's password)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "local socket"
        query = urllib.parse.parse_qs(parts.query)
        if "host" in query:
            host = query["host"][0]
        port = f":{parts.port}" if parts.port else ""
        return f"{host}{port}/{parts.path.lstrip('/') or '(default database)'}"
    except ValueError:
        return "(a database URL that cannot be parsed)"
