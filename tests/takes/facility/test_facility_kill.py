"""A stage killed mid-replication (SIGKILL: no cleanup, a transaction cut anywhere) and started again:
the facility copy ends equal to the stage's, sample for sample, with no row written twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from stagectl.takes.facility import FacilitySettings, Replicator, migrate
from stagectl.takes.store import TakeStore
from tests.support.polling import wait_until
from tests.takes.facility.longtake import write_take
from tests.takes.facility.test_facility_replicate import assert_same

ROOT = Path(__file__).resolve().parents[3]
STAGE_ID = "stage-7"
KILL_WAIT_S = 120.0
"""How long the replicating process may take to get part of the way (a loaded machine)."""
SMALL_BATCH = 4096
"""Bytes per transaction in the killed process: a transaction per chunk or raw batch, so a kill lands
between (or inside) hundreds of them."""


def _replicating(folder: Path, url: str) -> subprocess.Popen[str]:
    """A separate process replicating ``folder`` (a stage's replicator, as far as the database knows)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "tests.takes.facility.longtake", str(folder), url, STAGE_ID,
               str(SMALL_BATCH)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _held(url: str, table: str) -> int:
    """Samples (``chunks``) or raw entries (``raw``) the facility database holds."""
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT COALESCE(SUM(count), 0) FROM {table}".encode()).fetchone()
        return int(row[0]) if row else 0


def _count(conn: psycopg.Connection[tuple[int]], table: str) -> int:
    row = conn.execute(f"SELECT COUNT(*) FROM {table}".encode()).fetchone()
    return int(row[0]) if row else 0


def _kill_when(proc: subprocess.Popen[str], url: str, table: str, total: int) -> int:
    """SIGKILL ``proc`` once the database holds part (not all) of ``table``; what it held then."""
    try:
        held = wait_until(lambda: (0 < (n := _held(url, table)) < total and n) or proc.poll() is not None,
                          timeout_s=KILL_WAIT_S, interval_s=0.005, what=f"part of {table} replicated")
        assert proc.poll() is None, f"the replicator finished before it could be killed: {proc.stdout}"
    finally:
        proc.kill()  # SIGKILL on POSIX (TerminateProcess on Windows): no cleanup of any kind
        proc.communicate(timeout=30)
    assert proc.returncode != 0
    return int(held)


def test_a_replicator_killed_mid_take_is_finished_by_the_next_one(tmp_path: Path, facility_url: str) -> None:
    migrate(facility_url)
    folder = tmp_path / "takes"
    with TakeStore(folder) as local:
        write_take(local, cameras=2, hz=240, seconds=2, name="12-A-T001", started=1_790_000_000.0)
        long_id = write_take(local, cameras=4, hz=240, seconds=40, name="12-A-T002", started=1_790_000_100.0,
                             take=2)
        samples = local.sample_counts()
        raw = local.read(long_id).raw
        assert raw is not None
        raw_total = sum(1 for _ in raw.entries())
    total = sum(samples.values())

    # Killed while sending the long take's samples (it goes first: newest first).
    held = _kill_when(_replicating(folder, facility_url), facility_url, "chunks", samples[long_id])
    assert 0 < held < samples[long_id]
    # Started again, killed while sending its raw capture: the samples were resumed, not sent again.
    _kill_when(_replicating(folder, facility_url), facility_url, "raw", raw_total)
    assert _held(facility_url, "chunks") == samples[long_id]

    replicator = Replicator(folder, FacilitySettings(facility_url, STAGE_ID, connect_timeout_s=2.0))
    replicator.start()
    try:
        status = replicator.sync_now(KILL_WAIT_S)
    finally:
        replicator.stop()
    assert status.state == "ok", status
    assert {t.state for t in status.takes.values()} == {"synced"}, status.takes
    assert_same(folder, facility_url, STAGE_ID)
    with TakeStore(folder, readonly=True) as local, psycopg.connect(facility_url) as conn:
        local_rows = {table: local.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                      for table in ("chunks", "raw", "statics", "log", "cameras", "sources")}
        local_raw = local.conn.execute("SELECT SUM(count) FROM raw").fetchone()[0]
        [(takes, raw_entries)] = conn.execute("SELECT (SELECT COUNT(*) FROM takes), "
                                              "(SELECT SUM(count) FROM raw)").fetchall()
        rows = {table: _count(conn, table) for table in ("statics", "log", "cameras", "sources")}
    assert takes == 2
    assert raw_entries == local_raw == raw_total + samples[1]
    assert rows == {k: v for k, v in local_rows.items() if k in rows}
    assert _held(facility_url, "chunks") == total
