"""The facility database's schema, its versioned migrations, and the check every connection makes.

Version 1:

* ``schema_migrations``: one row per migration applied (version, when, what).
* ``stages``: every stage that has replicated (its ``stage_id``, first and last seen).
* ``takes``: one row per take of every stage, unique by (stage, take key): the key is the take's
  journal name in its local store (``<ms>-<name>.journal``, kept by a recovered store too), or, for a
  take made by a stagectl that cleared it, its start time and name. Slate, rate, timecode in/out,
  state, flags, notes, look, the stage's local day, the samples stored, ``local_hash`` (the local
  take row the facility copy was last completed from) and ``updated``.
* ``cameras``, ``sources``: per take, as in the local store (lens, info, settings as JSON text).
* ``chunks``: samples as the local store's blobs (``bytea``), keyed by take, camera and the index of
  their first sample in that camera's arrival order; so a chunk written twice is the same row, and
  replication resumes at the first sample the database does not have.
* ``raw``: the raw capture's compressed batches, keyed by take, source and first raw entry number.
* ``statics``, ``log``: keyed by take and their place in the local store's order.

Indexes serve ``takes list`` filters: stage and day, day, scene, circled. Sample and raw blobs are
stored without TOAST compression (``STORAGE EXTERNAL``): raw batches are compressed already, and
sample records compress poorly for the CPU they would cost.

A stage writes only to the schema version it knows and says so otherwise
(:class:`FacilitySchemaError`); ``stagectl facility migrate --store URL`` (:func:`migrate`) brings
a database to this version, one transaction per migration, under an advisory lock.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import psycopg

from stagectl.takes.facility.model import FacilityError, where

SCHEMA_VERSION = 1

_V1 = """
CREATE TABLE stages (
    stage_id text PRIMARY KEY,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE takes (
    id bigserial PRIMARY KEY,
    stage_id text NOT NULL REFERENCES stages (stage_id),
    take_key text NOT NULL,
    local_id integer NOT NULL,
    name text NOT NULL,
    slate text NOT NULL,
    production text NOT NULL, scene text NOT NULL, shot text NOT NULL, take_number integer NOT NULL,
    rate_num integer NOT NULL, rate_den integer NOT NULL, drop_frame boolean NOT NULL,
    tc_in bigint, tc_out bigint,
    timecode_from text NOT NULL,
    started double precision NOT NULL, stopped double precision,
    day date NOT NULL,
    state text NOT NULL,
    circled boolean NOT NULL DEFAULT false, no_good boolean NOT NULL DEFAULT false,
    notes text NOT NULL DEFAULT '',
    look_at_start text NOT NULL DEFAULT '', cdl text NOT NULL DEFAULT '{}',
    samples bigint NOT NULL DEFAULT 0,
    local_hash text NOT NULL DEFAULT '',
    updated timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stage_id, take_key)
);
CREATE INDEX takes_by_stage_day ON takes (stage_id, day, id);
CREATE INDEX takes_by_day ON takes (day, id);
CREATE INDEX takes_by_scene ON takes (scene, id);
CREATE INDEX takes_circled ON takes (id) WHERE circled;
CREATE INDEX takes_by_name ON takes (name);
CREATE TABLE cameras (
    take_id bigint NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    idx integer NOT NULL, camera text NOT NULL, source text NOT NULL DEFAULT '', lens text,
    info text NOT NULL DEFAULT '{}',
    PRIMARY KEY (take_id, idx)
);
CREATE TABLE sources (
    take_id bigint NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    idx integer NOT NULL, name text NOT NULL, protocol text NOT NULL, cameras text NOT NULL,
    settings text NOT NULL DEFAULT '{}',
    PRIMARY KEY (take_id, idx)
);
CREATE TABLE chunks (
    take_id bigint NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    camera_idx integer NOT NULL, first_index bigint NOT NULL, count integer NOT NULL,
    first_ns bigint NOT NULL, last_ns bigint NOT NULL,
    first_frame bigint NOT NULL, last_frame bigint NOT NULL,
    layout smallint NOT NULL, data bytea NOT NULL,
    PRIMARY KEY (take_id, camera_idx, first_index)
);
ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE raw (
    take_id bigint NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    source_idx integer NOT NULL, first_index bigint NOT NULL, last_index bigint NOT NULL,
    first_ns bigint NOT NULL, last_ns bigint NOT NULL, count integer NOT NULL, bytes bigint NOT NULL,
    codec text NOT NULL, data bytea NOT NULL,
    PRIMARY KEY (take_id, source_idx, first_index)
);
ALTER TABLE raw ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE statics (
    take_id bigint NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    seq integer NOT NULL, camera_idx integer NOT NULL, arrival_ns bigint NOT NULL, data text NOT NULL,
    PRIMARY KEY (take_id, seq)
);
CREATE TABLE log (
    take_id bigint NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    seq integer NOT NULL, arrival_ns bigint NOT NULL, frame bigint, kind text NOT NULL,
    source text NOT NULL, text text NOT NULL, data text NOT NULL DEFAULT '{}',
    PRIMARY KEY (take_id, seq)
);
"""

#: version -> (what it does, its SQL); applied in order, each in one transaction.
MIGRATIONS: dict[int, tuple[str, str]] = {
    1: ("takes, cameras, sources, sample chunks, raw batches, statics and log of every stage", _V1),
}
_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now(), description text NOT NULL)"""
#: Serialises concurrent ``migrate`` calls (any constant: stagectl's own advisory lock number).
_LOCK = 0x5747_4543


class FacilitySchemaError(FacilityError):
    """The database's schema version is not the one this stagectl writes (older: migrate it; newer:
    upgrade stagectl)."""

    def __init__(self, url: str, found: int) -> None:
        self.found = found
        if found < SCHEMA_VERSION:
            todo = (f"run `stagectl facility migrate --store {_public(url)}` to bring it to version "
                    f"{SCHEMA_VERSION}")
        else:
            todo = "upgrade stagectl on this machine to one that knows it"
        super().__init__(f"facility database {where(url)} has schema version {found}, this stagectl uses "
                         f"version {SCHEMA_VERSION}: {todo}")


def _public(url: str) -> str:
    """``url`` without a password, should one have been written into it."""
    try:
        if "://" in url:
            parts = urllib.parse.urlsplit(url)
            if parts.password is None:
                return url
            user, host = parts.netloc.rsplit("@", 1)
            return urllib.parse.urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}@{host}"))
        params = psycopg.conninfo.conninfo_to_dict(url)
        params.pop("password", None)
        return psycopg.conninfo.make_conninfo("", **params)
    except (ValueError, psycopg.Error):
        return "<the database URL>"


def connect(url: str, timeout_s: float = 3.0, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection to the facility database; FacilityError naming it and what to do when it cannot."""
    try:
        return psycopg.connect(url, connect_timeout=max(1, round(timeout_s)), application_name="stagectl",
                               **kwargs)
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None


def unreachable(url: str, exc: BaseException) -> FacilityError:
    """The error for a database that cannot be reached or used (libpq's reason, first line)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FacilityError(f"facility database {where(url)}: {reason}: check that the server runs and that "
                         "this machine may connect (host, port, pg_hba.conf, the password in PGPASSWORD or "
                         "the pgpass file)")


def version_of(conn: psycopg.Connection[Any]) -> int:
    """The schema version of the database behind ``conn`` (0: never migrated)."""
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(found[0]) if found else 0


def check(conn: psycopg.Connection[Any], url: str) -> None:
    """FacilitySchemaError unless the database has exactly this stagectl's schema version."""
    found = version_of(conn)
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    if found != SCHEMA_VERSION:
        raise FacilitySchemaError(url, found)


def schema_version(url: str) -> int:
    """The facility database's schema version (0: an empty database)."""
    with connect(url) as conn:
        try:
            return version_of(conn)
        except psycopg.Error as exc:
            raise unreachable(url, exc) from None


def migrate(url: str) -> tuple[int, int]:
    """Apply the migrations the database lacks; (version before, version after). FacilitySchemaError
    when the database is newer than this stagectl."""
    with connect(url, autocommit=True) as conn:
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                conn.execute(_LEDGER)
                before = version_of(conn)
            if before > SCHEMA_VERSION:
                raise FacilitySchemaError(url, before)
            for version in range(before + 1, SCHEMA_VERSION + 1):
                description, sql = MIGRATIONS[version]
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                    if version_of(conn) >= version:  # another migrate got there first
                        continue
                    conn.execute(sql.encode())
                    conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                                 (version, description))
            return before, version_of(conn)
        except psycopg.Error as exc:
            raise FacilityError(f"facility database {where(url)}: migration failed ({exc}): nothing of the "
                                "failed step was applied; fix the cause and run `stagectl facility migrate` "
                                "again") from None
