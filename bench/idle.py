"""What the stage costs when nobody touches it: process CPU of ``stagectl run --headless``, against a
bare asyncio loop process.

Each process is started, left to settle (``--settle`` s, default 3), then measured over ``--seconds``
(default 12): CPU (user + system, every thread) and voluntary context switches (each one is a thread
going to sleep: wake-ups, counted) from /proc, as a share of one core and per second. Baseline: a
Python process running an empty asyncio loop, measured the same way in the same run (ABBA order).
Medians of ``--runs`` (default 3). Linux only (/proc).

The demo stage is measured whole; with ``--parts``, cut-down copies of it too (each without some of
its tables), to say which part's periodic work costs what:

* ``cameras only``: the two simulated trackers and their sources (what the demo must do: 2 x 24
  samples a second encoded, sent over loopback, received, decoded, solved), the take recorder, looks;
* ``+ devices``: the emulated Tessera and HELIOS (polled by their devices) and sACN;
* ``+ devices, outputs``: and the Remote Control emulator (the whole demo adds OSC control-in, mDNS
  and the web remote to it);
* ``demo stage, views published``: the whole demo as the window's runner runs it, a ``StageView``
  built 30 times a second (a headless run builds none: nothing reads them);
* ``demo stage, trackers at 50 Hz``: the whole demo with its two trackers sending 50 samples a
  second instead of one a frame (23.976).

    python bench/idle.py [--runs 3] [--seconds 12] [--parts] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stagectl.config.load import DEMO_STAGE_TOML  # noqa: E402

BASELINE = (
    "import asyncio\n"
    "async def main():\n"
    "    print('ready', flush=True)\n"
    "    await asyncio.Event().wait()\n"
    "try:\n    asyncio.run(main())\nexcept KeyboardInterrupt:\n    pass\n"
)
#: The demo stage as the window's runner runs it (a StageView built 30 times a second), printing
#: the same status lines as ``run --headless --status-json``.
WITH_VIEWS = (
    "import sys, threading\n"
    "from stagectl.app import _install_stop_signals, run_headless\n"
    "from stagectl.config.load import default_stage\n"
    "from stagectl.stage.runner import StageRunner\n"
    "runner = StageRunner(default_stage(), publish_views=True)\n"
    "stop = threading.Event()\n"
    "_install_stop_signals(stop.set)\n"
    "try:\n    run_headless(runner, None, True, stop=stop)\nfinally:\n    runner.close()\n"
)
#: Cut-down demo stages: (label, top-level tables left out).
PARTS = (
    ("cameras only", ("[[outputs]]", "[[devices]]", "[control]", "[web]", "[discovery]")),
    ("+ devices", ("[[outputs]]", "[control]", "[web]", "[discovery]")),
    ("+ devices, outputs", ("[control]", "[web]", "[discovery]")),
)


def without(toml: str, tables: tuple[str, ...]) -> str:
    """``toml`` without the top-level tables (and their sub-tables) whose headers are in ``tables``."""
    kept: list[str] = []
    skipping = False
    for line in toml.splitlines():
        header = line.strip()
        if header.startswith("["):
            top = header.split(".")[0].rstrip("]") + ("]]" if header.startswith("[[") else "]")
            skipping = header in tables or top in tables
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n"


def demo_toml(tables: tuple[str, ...] = ()) -> str:
    """The demo stage without ``tables``, its lens file named by its full path."""
    lens_file = REPO / "lens" / "data" / "demo_zoom_24_70.json"
    text = DEMO_STAGE_TOML.replace('lens = "demo_zoom_24_70.json"', f"lens = {json.dumps(str(lens_file))}")
    return without(text, tables)


def _proc_totals(pid: int) -> tuple[int, int]:
    """(CPU ticks of every thread, voluntary context switches of every thread) of ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (every thread, threads that ended included)
    switches = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                switches += next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt"))
        except (OSError, StopIteration):  # a thread that ended meanwhile
            pass
    return ticks, switches


def measure_once(command: list[str], settle_s: float, seconds: float) -> dict[str, float]:
    """Start ``command``, wait for its first line and ``settle_s``, measure ``seconds``, stop it."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            cwd=REPO)
    try:
        assert proc.stdout is not None
        if not proc.stdout.readline():
            raise SystemExit(f"{' '.join(command)} ended before its first line")
        # Read the status lines as a terminal would: a full pipe would block the run (and its stop).
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        time.sleep(settle_s)
        ticks0, switches0 = _proc_totals(proc.pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        ticks1, switches1 = _proc_totals(proc.pid)
        elapsed = time.monotonic() - t0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    cpu_s = (ticks1 - ticks0) / os.sysconf("SC_CLK_TCK")
    return {"cpu_pct": 100.0 * cpu_s / elapsed, "wakeups_per_s": (switches1 - switches0) / elapsed}


def measure(command: list[str], runs: int, settle_s: float, seconds: float) -> dict[str, Any]:
    """``runs`` measurements of ``command`` against as many of the baseline, in ABBA order."""
    base: list[dict[str, float]] = []
    ours: list[dict[str, float]] = []
    baseline = [sys.executable, "-c", BASELINE]
    for i in range(runs):
        for which in (("base", "ours") if i % 2 == 0 else ("ours", "base")):
            if which == "base":
                base.append(measure_once(baseline, settle_s, seconds))
            else:
                ours.append(measure_once(command, settle_s, seconds))

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    return {"cpu_pct": med(ours, "cpu_pct"), "wakeups_per_s": med(ours, "wakeups_per_s"),
            "cpu_pct_runs": [r["cpu_pct"] for r in ours],
            "baseline_cpu_pct": med(base, "cpu_pct"), "baseline_wakeups_per_s": med(base, "wakeups_per_s")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=12.0, help="measured per run (>= 10 for the goal)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the first line, unmeasured")
    parser.add_argument("--parts", action="store_true", help="also the cut-down demo stages")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    stagectl = [sys.executable, "-m", "stagectl", "run", "--headless", "--status-json"]
    results: dict[str, Any] = {"runs": args.runs, "seconds": args.seconds, "cpus": os.cpu_count(),
                               "loadavg_before": os.getloadavg(), "stages": {}}
    with tempfile.TemporaryDirectory(prefix="stagectl-bench-idle-") as tmp:
        stages: list[tuple[str, Path | None]] = [("demo stage", None)]
        if args.parts:
            stages.append(("demo stage, views published", Path("-")))
            stage_file = Path(tmp) / "trackers-50.toml"
            stage_file.write_text(demo_toml().replace("rate_hz = 23.976", "rate_hz = 50.0"), encoding="utf-8")
            stages.append(("demo stage, trackers at 50 Hz", stage_file))
            for label, tables in PARTS:
                stage_file = Path(tmp) / f"{len(stages)}.toml"
                stage_file.write_text(demo_toml(tables), encoding="utf-8")
                stages.append((label, stage_file))
        for label, path in stages:
            if path is None:
                command = stagectl
            elif path == Path("-"):
                command = [sys.executable, "-c", WITH_VIEWS]
            else:
                command = [*stagectl[:4], "--config", str(path), *stagectl[4:]]
            results["stages"][label] = measure(command, args.runs, args.settle, args.seconds)
    results["loadavg_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"runs: {args.runs} x {args.seconds:.0f} s (medians; ABBA against the baseline); load average "
          f"{results['loadavg_before'][0]:.2f} -> {results['loadavg_after'][0]:.2f}; {os.cpu_count()} cores")
    print(f"{'process':<45} {'CPU, % of a core':>17} {'wake-ups/s':>11} {'baseline CPU':>13} {'over it':>8}")
    for label, r in results["stages"].items():
        print(f"{'stagectl run --headless, ' + label:<45} {r['cpu_pct']:17.2f} {r['wakeups_per_s']:11.0f} "
              f"{r['baseline_cpu_pct']:12.2f}% {r['cpu_pct'] - r['baseline_cpu_pct']:7.2f}%")
    base_wakeups = results["stages"]["demo stage"]["baseline_wakeups_per_s"]
    print(f"(baseline: a bare asyncio loop process, {base_wakeups:.1f} wake-ups/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
