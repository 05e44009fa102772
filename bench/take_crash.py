"""Crash test of the take recorder: record 8 cameras x 240 Hz, SIGKILL the recorder mid-take, restart.

1. A stage file with ``--cameras`` FreeD cameras sharing one loopback port (camera ids 1..N) and a
   takes folder; ``stagectl takes record --duration 600`` runs it in a subprocess.
2. Once it says "recording", bench/_freed_sender.py (its own process) sends every camera at
   ``--rate`` Hz with the tick number in the zoom count, logging ``time.monotonic_ns()`` before
   every send (CLOCK_MONOTONIC is shared by every process on Linux).
3. After ``--record`` seconds the recorder gets SIGKILL; the sender goes on for a while.
4. ``stagectl takes show 1 --json`` starts again on the same folder (recovering the take), then the
   take store is read and ``PRAGMA integrity_check`` run.

The truth is the sender's log: every datagram sent after the recorder said "recording" and at
least ``--margin-ms`` (10) before the kill must be in the recovered take, per camera and tick.

    python bench/take_crash.py [--cameras 8] [--rate 240] [--record 3] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stagectl.takes.store import TakeStore  # noqa: E402


@dataclass
class CrashResult:
    """What one crash run found."""

    cameras: int
    rate_hz: float
    sent_in_window: int
    """Datagrams sent between "recording" and kill - margin (the ones that must be kept)."""
    missing: int
    """Of those, how many the recovered take lacks."""
    recorded: int
    recorded_after_cutoff: int
    """Samples kept that were sent within the margin before the kill (a bonus, not required)."""
    state: str
    integrity: str
    last_kept_before_kill_ms: float
    """How long before the kill the newest kept datagram was sent."""
    restart_s: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stage_file(folder: Path, cameras: int, port: int) -> Path:
    lines = ['[stage]\nname = "crash test"\nframe_rate = 24\n']
    for k in range(cameras):
        name = chr(ord("A") + k)
        lines.append(
            f'[[cameras]]\nname = "{name}"\n[[sources]]\ncamera = "{name}"\nprotocol = "freed"\n'
            f'listen = "127.0.0.1:{port}"\ncamera_id = {k + 1}\n'
        )
    lines.append(f'[takes]\ndir = "{folder / "takes"}"\n')
    path = folder / "stage.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def run_crash(
    folder: Path, cameras: int = 8, rate_hz: float = 240.0, record_s: float = 3.0, margin_ms: float = 10.0
) -> CrashResult:
    """One crash run in ``folder`` (see the module docstring)."""
    port = _free_port()
    stage = _stage_file(folder, cameras, port)
    recorder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stagectl",
            "--log-level",
            "WARNING",
            "takes",
            "record",
            "--config",
            str(stage),
            "--duration",
            "600",
            "--scene",
            "crash",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    said = threading.Event()
    said_ns = [0]
    lines: list[str] = []

    def watch() -> None:
        assert recorder.stderr is not None
        for line in recorder.stderr:
            lines.append(line)
            if "recording" in line and not said.is_set():
                said_ns[0] = time.monotonic_ns()
                said.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not said.wait(60.0):
            raise RuntimeError(f"the recorder never started: {''.join(lines)[-2000:]}")
        log = folder / "sender.npz"
        duration = record_s + 1.0
        sender = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "_freed_sender.py"),
                "--port",
                str(port),
                "--out",
                str(log),
                "--cameras",
                str(cameras),
                "--rate",
                str(rate_hz),
                "--duration",
                str(duration),
                "--spin-us",
                "0",
                "--tick-in-zoom",
            ],
            env=_env(),
            cwd=ROOT,
        )
        time.sleep(record_s)
        kill_ns = time.monotonic_ns()
        os.kill(recorder.pid, signal.SIGKILL)
        recorder.wait(10.0)
        if sender.wait(duration + 30.0) != 0:
            raise RuntimeError("the sender failed")
    finally:
        if recorder.poll() is None:
            recorder.kill()
    started = time.monotonic()
    shown = subprocess.run(
        [sys.executable, "-m", "stagectl", "takes", "show", "1", "--json", "--config", str(stage)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    restart_s = time.monotonic() - started
    if shown.returncode != 0:
        raise RuntimeError(f"takes show after the crash failed: {shown.stderr}")
    state = json.loads(shown.stdout)["state"]
    sent = np.load(log)["sent_ns"]  # (ticks, cameras), -1 where a send failed
    cutoff = kill_ns - int(margin_ms * 1e6)
    with TakeStore(folder / "takes") as store:
        take = store.read(1)
    with contextlib.closing(sqlite3.connect(folder / "takes" / "takes.sqlite")) as db:
        integrity = str(db.execute("PRAGMA integrity_check").fetchone()[0])
    must = kept_late = missing = recorded = 0
    newest = -1
    for k in range(cameras):
        track = take.cameras[chr(ord("A") + k)]
        ticks = set(track.zoom_raw.astype(np.int64).tolist())
        recorded += len(track)
        times = sent[:, k]
        window = np.nonzero((times >= said_ns[0]) & (times <= cutoff))[0]
        must += window.size
        missing += sum(1 for t in window.tolist() if t not in ticks)
        late = np.nonzero((times > cutoff) & (times <= kill_ns))[0]
        kept_late += sum(1 for t in late.tolist() if t in ticks)
        kept_times = [int(times[t]) for t in ticks if 0 <= t < times.size and times[t] <= kill_ns]
        newest = max([newest, *kept_times])
    return CrashResult(
        cameras,
        rate_hz,
        must,
        missing,
        recorded,
        kept_late,
        state,
        integrity,
        (kill_ns - newest) / 1e6 if newest > 0 else float("nan"),
        restart_s,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--rate", type=float, default=240.0)
    parser.add_argument("--record", type=float, default=3.0, help="seconds recorded before the kill")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="stagectl-crash-") as tmp:
            results.append(run_crash(Path(tmp), args.cameras, args.rate, args.record))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=1))
        return 0
    print(
        f"{'cams':>4} {'Hz':>5} {'must keep':>9} {'missing':>7} {'recorded':>8} {'kept<10ms':>9} "
        f"{'newest kept':>11} {'state':<10} {'integrity':<9} {'restart':>7}"
    )
    for r in results:
        print(
            f"{r.cameras:>4} {r.rate_hz:>5g} {r.sent_in_window:>9} {r.missing:>7} {r.recorded:>8} "
            f"{r.recorded_after_cutoff:>9} {r.last_kept_before_kill_ms:>9.2f}ms {r.state:<10} "
            f"{r.integrity:<9} {r.restart_s:>6.2f}s"
        )
    return 0 if all(r.missing == 0 and r.integrity == "ok" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
