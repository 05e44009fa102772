"""The facility database's schema: versioned migrations, and a stage refusing a schema it does not know."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from stagectl.takes.facility import (
    SCHEMA_VERSION,
    FacilityError,
    FacilitySettings,
    FacilityStore,
    Replicator,
    migrate,
    schema_version,
)
from tests.support.postgres import PostgresServer
from tests.takes.facility.takes import record_take, stage


def test_migrate_creates_the_schema_once(facility_url: str) -> None:
    assert schema_version(facility_url) == 0
    assert migrate(facility_url) == (0, SCHEMA_VERSION)
    assert migrate(facility_url) == (SCHEMA_VERSION, SCHEMA_VERSION)  # idempotent
    with psycopg.connect(facility_url) as conn:
        rows = conn.execute("SELECT version, description FROM schema_migrations").fetchall()
    assert [v for v, _ in rows] == list(range(1, SCHEMA_VERSION + 1))


def test_an_unreachable_database_is_named_without_its_password(postgres_server: PostgresServer) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{postgres_server.port}/no_such_db"
    with pytest.raises(FacilityError) as caught:
        schema_version(url)
    text = str(caught.value)
    assert "no_such_db" in text and "s3cret" not in text, text


def test_a_stage_refuses_a_schema_it_does_not_know(tmp_path: Path, facility_url: str) -> None:
    with stage(tmp_path) as (runner, sender):
        record_take(runner, sender, 20)
    settings = FacilitySettings(facility_url, "stage-3", connect_timeout_s=2.0)
    replicator = Replicator(tmp_path / "takes", settings)
    replicator.start()
    try:
        older = replicator.sync_now(30.0)  # an empty database: never migrated
        migrate(facility_url)
        with psycopg.connect(facility_url) as conn:
            conn.execute("INSERT INTO schema_migrations (version, description) "
                         "VALUES (99, 'from the future')")
        newer = replicator.sync_now(30.0)
    finally:
        replicator.stop()
    assert older.state == "schema" and "version 0" in str(older.error), older
    assert "stagectl facility migrate" in str(older.error), older
    assert newer.state == "schema" and "version 99" in str(newer.error), newer
    assert "upgrade stagectl" in str(newer.error), newer
    with psycopg.connect(facility_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM takes").fetchone() == (0,)  # nothing written
    with pytest.raises(FacilityError, match="version 99"):
        FacilityStore(facility_url)
