"""Replicating real takes to a real PostgreSQL server: the facility copy equals the stage's, sample for
sample, through outages, edits after sync and two stages at once, with no row written twice."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import psycopg
import pytest

from stagectl.takes.facility import FacilitySettings, FacilityStore, Replicator, migrate
from stagectl.takes.store import TakeStore
from tests.support.polling import wait_until
from tests.support.postgres import PostgresServer
from tests.takes.facility.takes import checksums, record_take, stage

SYNC_S = 60.0
OUTAGE_S = 10.0
"""How long a test lets a sync take (a loaded machine; a sync of these takes takes well under a second)."""


def _settings(url: str, stage_id: str = "stage-3") -> FacilitySettings:
    return FacilitySettings(url=url, stage_id=stage_id, connect_timeout_s=2.0)


def assert_same(folder: Path, url: str, stage_id: str) -> None:
    """Every take of the local store in ``folder`` is in the facility once, equal column by column."""
    with TakeStore(folder, readonly=True) as local, FacilityStore(url) as facility:
        mine = local.takes()
        theirs = facility.takes(stage=stage_id)
        assert [t.name for t in theirs] == [t.name for t in mine]
        counts = facility.sample_counts()
        for a, b in zip(mine, theirs, strict=True):
            left, right = checksums(local.read(a.take_id)), checksums(facility.read(b.take_id))
            assert left == right, {k: (left[k], right.get(k)) for k in left if left[k] != right.get(k)}
            assert counts[b.take_id] == local.sample_counts()[a.take_id]
    with psycopg.connect(url) as conn:  # no row twice: samples in chunks add up to the takes' counts
        [(stored, declared)] = conn.execute(
            "SELECT (SELECT COALESCE(SUM(count), 0) FROM chunks c JOIN takes t ON t.id = c.take_id "
            "WHERE t.stage_id = %s), (SELECT SUM(samples) FROM takes WHERE stage_id = %s)",
            (stage_id, stage_id)).fetchall()
        assert stored == declared == sum(local_counts(folder).values())


def local_counts(folder: Path) -> dict[int, int]:
    with TakeStore(folder, readonly=True) as local:
        return local.sample_counts()


def test_replicated_takes_equal_the_stage_copy_sample_for_sample(tmp_path: Path, facility_url: str) -> None:
    migrate(facility_url)
    with stage(tmp_path) as (runner, sender):
        record_take(runner, sender, 120)
        record_take(runner, sender, 80, notes="two")
    folder = tmp_path / "takes"
    replicator = Replicator(folder, _settings(facility_url))
    replicator.start()
    try:
        status = replicator.sync_now(SYNC_S)
    finally:
        replicator.stop()
    assert status.state == "ok", status
    assert {s.state for s in status.takes.values()} == {"synced"}, status.takes
    assert status.sent_samples == 200
    assert_same(folder, facility_url, "stage-3")


def test_replication_resumes_after_the_server_stops_mid_take(tmp_path: Path, facility_url: str,
                                                             postgres_server: PostgresServer,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "stagectl.takes.facility")
    migrate(facility_url)
    folder = tmp_path / "takes"
    events: list[tuple[str, str]] = []
    replicator = Replicator(folder, _settings(facility_url), on_event=lambda *e: events.append(e))
    with stage(tmp_path) as (runner, sender):
        record_take(runner, sender, 60)
        replicator.start()

        def outage() -> None:  # the take is recording and partly in the facility when the server stops
            wait_until(lambda: _facility_samples(facility_url) > 60, what="part of the live take replicated",
                       detail=replicator.status)
            with postgres_server.down():  # for 10 s, recording on: 10 datagrams every 0.25 s
                down_at = time.monotonic()
                while time.monotonic() - down_at < OUTAGE_S:
                    sender.send(10)
                    time.sleep(0.25)
                wait_until(lambda: replicator.status().state == "down", detail=replicator.status)
                wait_until(lambda: _retries(caplog) >= 2, timeout_s=SYNC_S,
                           what="two retries during the outage", detail=replicator.status)
                # behind by what was recorded since the facility's last sample: most of the outage
                wait_until(lambda: replicator.status().takes[2].behind_s > OUTAGE_S / 2,
                           what="the take behind by the outage", detail=replicator.status)
                assert replicator.status().takes[2].state == "behind"
            replicator.sync_now(SYNC_S)

        try:
            record_take(runner, sender, 100, during=outage)
        except BaseException:
            replicator.stop()
            raise
    try:  # the stage closed: every sample of the take is in its store
        status = replicator.sync_now(SYNC_S)
    finally:
        replicator.stop()
    assert status.state == "ok", status
    assert [level for level, _ in events] == ["warning", "info"], events  # one warning per outage
    assert "unreachable" in events[0][1], events
    # Said once: to the listener (the stage's event log prints it); the module's own logger only at DEBUG.
    warnings = [r for r in caplog.records if r.name.startswith("stagectl.takes.facility")
                and r.levelno >= logging.WARNING]
    assert warnings == [], [r.getMessage() for r in warnings]
    assert_same(folder, facility_url, "stage-3")


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    """Failed attempts logged at DEBUG (after the outage's one WARNING)."""
    return sum(1 for r in caplog.records if r.levelno == logging.DEBUG and "unreachable" in r.getMessage())


def _facility_samples(url: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT COALESCE(SUM(count), 0) FROM chunks").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return 0


def test_a_notes_and_circle_edit_after_sync_updates_the_take(tmp_path: Path, facility_url: str) -> None:
    migrate(facility_url)
    with stage(tmp_path) as (runner, sender):
        record_take(runner, sender, 50)
    folder = tmp_path / "takes"
    replicator = Replicator(folder, _settings(facility_url))
    replicator.start()
    try:
        replicator.sync_now(SYNC_S)
        with TakeStore(folder) as local:
            local.set_flags(1, circled=True, notes="print this one")
        replicator.wake()
        status = replicator.sync_now(SYNC_S)
    finally:
        replicator.stop()
    assert status.takes[1].state == "synced"
    with FacilityStore(facility_url) as facility:
        [take] = facility.takes()
        assert (take.circled, take.notes) == (True, "print this one")
        assert [t.take_id for t in facility.takes(circled=True)] == [take.take_id]
    assert_same(folder, facility_url, "stage-3")


def test_two_stages_replicate_into_one_database_at_once(tmp_path: Path, facility_url: str) -> None:
    migrate(facility_url)
    folders = []
    for n in (1, 2):
        with stage(tmp_path / f"s{n}") as (runner, sender):
            record_take(runner, sender, 40 + n * 10)  # the same slate on both stages
            record_take(runner, sender, 30)
        folders.append(tmp_path / f"s{n}" / "takes")
    replicators = [Replicator(f, _settings(facility_url, f"stage-{n}")) for n, f in enumerate(folders, 1)]
    for r in replicators:
        r.start()
    statuses: dict[int, object] = {}
    threads = [threading.Thread(target=lambda n=n, r=r: statuses.__setitem__(n, r.sync_now(SYNC_S)))
               for n, r in enumerate(replicators, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in replicators:
        r.stop()
    for n, folder in enumerate(folders, 1):
        assert_same(folder, facility_url, f"stage-{n}")
    with FacilityStore(facility_url) as facility:
        assert len(facility.takes()) == 4
        name = facility.takes(stage="stage-2")[0].name
        assert facility.stage_of(facility.find(f"stage-2:{name}")) == "stage-2"
