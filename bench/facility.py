"""Facility replication against one real PostgreSQL server started by this script.

Three figures, all against the same server (Debian's PostgreSQL binaries, a fresh ``initdb`` in a
temporary folder; run as the ``postgres`` user when this runs as root):

1. Throughput: a ``--minutes`` take (default 10) of ``--cameras`` x ``--hz`` (default 8 x 240 Hz, one
   raw datagram per sample, a log entry a second) written into a local take store through the store's
   own writing path (``TakeIngest``, a commit every 0.2 s as the committer does), then replicated whole
   by a :class:`Replicator` (the database was away for the whole take). Samples/s replicated, against
   the samples/s recorded (the baseline: goal >= 10x).
2. STOP to synced: the same load recorded while the replicator runs (it is woken after each second of
   recording, as a stage wakes it on commits), then STOP; the time from STOP until the take reads
   ``synced`` in the replicator's status.
3. ``FacilityStore.takes()`` over ``--takes`` takes (default 10 000, four stages, written through SQL):
   all of them, one stage's day, the circled ones; median of 5; against the same SELECT run bare
   through psycopg (the baseline: what the database and the wire cost). Goal: all takes < 200 ms.
   Then ``takes list --json`` as the command builds it (in this process, into a string: the rows written
   by the database, their timecodes counted here), and ``stagectl takes list --json --store URL`` as a
   process against ``stagectl --version`` (the baseline: the interpreter and the CLI starting up).

    python bench/facility.py [--minutes 10] [--cameras 8] [--hz 240] [--takes 10000] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from stagectl.commands.takes import takes_list  # noqa: E402
from stagectl.config.load import default_stage  # noqa: E402
from stagectl.takes.facility import FacilitySettings, FacilityStore, Replicator, migrate  # noqa: E402
from stagectl.takes.store import TakeStore  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.takes.facility.longtake import TakeWriter  # noqa: E402

SYNC_TIMEOUT_S = 3600.0


def _replicate(folder: Path, url: str, stage_id: str) -> tuple[float, Any]:
    replicator = Replicator(folder, FacilitySettings(url, stage_id))
    replicator.start()
    try:
        t0 = time.perf_counter()
        status = replicator.sync_now(SYNC_TIMEOUT_S)
        seconds = time.perf_counter() - t0
    finally:
        replicator.stop()
    if status.state != "ok" or any(t.state != "synced" for t in status.takes.values()):
        raise SystemExit(f"replication did not finish: {status}")
    return seconds, status


def throughput(root: Path, url: str, minutes: float, cameras: int, hz: int) -> dict[str, Any]:
    """Figure 1."""
    folder = root / "whole"
    t0 = time.perf_counter()
    with TakeStore(folder) as store:
        writer = TakeWriter(store, cameras=cameras, hz=hz)
        writer.record(minutes * 60)
        writer.stop()
    build_s = time.perf_counter() - t0
    store_mb = (folder / "takes.sqlite").stat().st_size / 1e6
    seconds, status = _replicate(folder, url, "stage-bench-1")
    rate = status.sent_samples / seconds
    recorded = cameras * hz
    return {"samples": status.sent_samples, "bytes": status.sent_bytes, "store_mb": store_mb,
            "build_s": build_s, "seconds": seconds, "samples_per_s": rate,
            "mb_per_s": status.sent_bytes / seconds / 1e6,
            "recorded_per_s": recorded, "headroom": rate / recorded}


def stop_to_synced(root: Path, url: str, minutes: float, cameras: int, hz: int) -> dict[str, Any]:
    """Figure 2."""
    folder = root / "live"
    replicator = Replicator(folder, FacilitySettings(url, "stage-bench-2"))
    with TakeStore(folder) as store:
        writer = TakeWriter(store, cameras=cameras, hz=hz)
        replicator.start()
        try:
            t_rec = time.perf_counter()
            for _ in range(int(minutes * 60)):
                writer.record(1.0)
                replicator.wake()
            record_s = time.perf_counter() - t_rec
            writer.stop()
            replicator.wake()
            t0 = time.perf_counter()
            while True:
                take = replicator.status().takes.get(writer.take_id)
                if take is not None and take.state == "synced" and _complete(url, writer.take_id):
                    break
                if time.perf_counter() - t0 > SYNC_TIMEOUT_S:
                    raise SystemExit(f"not synced after STOP: {replicator.status()}")
                time.sleep(0.005)
            seconds = time.perf_counter() - t0
        finally:
            replicator.stop()
    return {"stop_to_synced_s": seconds, "record_s": record_s, "take_s": minutes * 60}


def _complete(url: str, local_id: int) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT state FROM takes WHERE stage_id = 'stage-bench-2' AND local_id = %s",
                           (local_id,)).fetchone()
    return bool(row and row[0] == "complete")


def many_takes(url: str, count: int) -> dict[str, Any]:
    """Figure 3."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO stages (stage_id) SELECT 'stage-' || s FROM generate_series(1, 4) s "
                     "ON CONFLICT DO NOTHING")
        conn.execute(
            "INSERT INTO takes (stage_id, take_key, local_id, name, slate, production, scene, shot, "
            "take_number, rate_num, rate_den, drop_frame, tc_in, tc_out, timecode_from, started, stopped, "
            "day, state, circled, no_good, notes, samples, local_hash) "
            "SELECT 'stage-' || (n %% 4 + 1), 'k' || n, n, "
            "(n / 40) || '-A-T' || lpad((n %% 40)::text, 3, '0'), '{}', 'Bench', (n / 40)::text, 'A', "
            "n %% 40, 25, 1, false, 90000 + n, 91000 + n, 'stage', 1790000000 + n * 60, "
            "1790000000 + n * 60 + 50, date '2026-10-01' + (n / 100), 'complete', "
            "n %% 7 = 0, false, 'notes of take ' || n, 96000, 'h' "
            "FROM generate_series(1, %s) n", (count,))
        conn.execute("ANALYZE takes")
        sql = ("SELECT id, name, slate, rate_num, rate_den, drop_frame, tc_in, tc_out, started, stopped, "
               "state, circled, no_good, notes, look_at_start FROM takes ORDER BY started, id")
        bare = _median(lambda: conn.execute(sql.encode()).fetchall())
    with FacilityStore(url) as facility:
        facility.takes()  # warm: first query plans, imports
        every = _median(facility.takes)
        listed = len(facility.takes())
        one_day = _median(lambda: facility.takes(stage="stage-2", day=date(2026, 10, 11)))
        circled = _median(lambda: facility.takes(circled=True))
        counts = _median(facility.sample_counts)
    config = default_stage()
    command = _median(lambda: takes_list(config, True, io.StringIO(), store_url=url))
    cli = [sys.executable, "-m", "stagectl"]
    whole = _median(lambda: subprocess.run([*cli, "takes", "list", "--json", "--store", url], check=True,
                                           capture_output=True))
    start = _median(lambda: subprocess.run([*cli, "--version"], check=True, capture_output=True))
    return {"takes": listed, "takes_ms": every * 1e3, "bare_select_ms": bare * 1e3,
            "stage_day_ms": one_day * 1e3, "circled_ms": circled * 1e3, "sample_counts_ms": counts * 1e3,
            "list_json_ms": command * 1e3, "cli_ms": whole * 1e3, "cli_start_ms": start * 1e3}


def _median(call: Any, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the take")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--hz", type=int, default=240)
    parser.add_argument("--takes", type=int, default=10_000, help="takes in the database for the list")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # The postgres user must reach the server's folder: the system temp dir, not a private one.
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="stagectl-bench-pg-")))
    try:
        server.init()
        server.start()
        with tempfile.TemporaryDirectory(prefix="stagectl-bench-facility-") as tmp:
            root = Path(tmp)
            results: dict[str, Any] = {"cameras": args.cameras, "hz": args.hz, "minutes": args.minutes,
                                       "cpus": os.cpu_count()}
            url = server.create_database()
            migrate(url)
            results["throughput"] = throughput(root, url, args.minutes, args.cameras, args.hz)
            results["stop"] = stop_to_synced(root, url, args.minutes, args.cameras, args.hz)
            list_url = server.create_database()
            migrate(list_url)
            results["list"] = many_takes(list_url, args.takes)
    finally:
        server.close()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    t, s, li = results["throughput"], results["stop"], results["list"]
    version = subprocess.run([str(server.bin / "postgres"), "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    print(f"{version} on 127.0.0.1, {os.cpu_count()} CPUs; a {args.minutes:g}-minute take of "
          f"{args.cameras} cameras x {args.hz} Hz with raw capture ({t['samples']:,} samples, local store "
          f"{t['store_mb']:.0f} MB written in {t['build_s']:.1f} s)")
    print(f"  throughput: {t['samples']:,} samples + raw in {t['seconds']:.1f} s = "
          f"{t['samples_per_s']:,.0f} samples/s ({t['mb_per_s']:.1f} MB/s); recorded "
          f"{t['recorded_per_s']:,} samples/s: headroom {t['headroom']:.1f}x (goal >= 10x)")
    print(f"  STOP to synced, the take replicated while recording (recorded at "
          f"{s['take_s'] / s['record_s']:.0f}x real time): {s['stop_to_synced_s'] * 1e3:.0f} ms; "
          f"the whole take sent after STOP (figure above): {t['seconds']:.1f} s")
    ratio = li["takes_ms"] / li["bare_select_ms"]
    print(f"  FacilityStore.takes() over {li['takes']:,} takes: {li['takes_ms']:.1f} ms (goal < 200 ms; "
          f"the bare SELECT {li['bare_select_ms']:.1f} ms, ratio {ratio:.2f}); one stage's day "
          f"{li['stage_day_ms']:.1f} ms; circled {li['circled_ms']:.1f} ms; sample_counts "
          f"{li['sample_counts_ms']:.1f} ms")
    print(f"  takes list --json over {li['takes']:,} takes, in process: {li['list_json_ms']:.1f} ms "
          f"(goal < 200 ms); as a command: {li['cli_ms']:.0f} ms against `stagectl --version` "
          f"{li['cli_start_ms']:.0f} ms "
          f"(the listing adds {li['cli_ms'] - li['cli_start_ms']:.0f} ms to starting up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
