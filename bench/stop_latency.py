"""How long stagectl takes to exit after Ctrl+C, against a baseline, and which part takes what.

Baseline: a bare Python process that sleeps and exits on SIGINT, started and stopped the same way
in the same run (ABBA order: interpreter shutdown is part of both). Measured: ``stagectl run
--headless --status-json`` on the demo stage, and with ``--window`` the window too (``python
main.py --status-json``, Qt's offscreen platform: SIGINT closes the window). Each is stopped with
SIGINT half a second after its first status line; the time is SIGINT to process exit.

The parts come from the process itself: run with ``--log-level DEBUG``, the stage logs how long each
part took to stop (``StageRunner.stop_ms``: discovery, control, web, takes, lighting, devices,
outputs, sources, views, loop thread; parts that stop together overlap). What the log does not
cover, total minus the stage's stop, is the signal reaching the process, the return from the run
and the interpreter's exit (with the window: Qt's wake-up and teardown too).

    python bench/stop_latency.py [--runs N] [--window] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BASELINE = (
    "import sys, time\n"
    "print('ready', flush=True)\n"
    "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    sys.exit(0)\n"
)
HEADLESS = [sys.executable, "-m", "stagectl", "--log-level", "DEBUG", "run", "--headless", "--status-json"]
WINDOW = [sys.executable, "main.py", "--log-level", "DEBUG", "--status-json"]
_STOPPED = re.compile(r"stage stopped in ([\d.]+) ms: (.*)$")


def stop_once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, dict[str, float]]:
    """(ms from SIGINT to exit, the stage's own stop times in ms) for one run of ``command``."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=REPO)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            proc.wait(timeout=30)
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} ended before its first line:\n{err.read()[-2000:]}")
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.stdout.read()  # status lines printed meanwhile
        proc.wait(timeout=30)
        total = (time.monotonic() - start) * 1e3
        err.seek(0)
        parts: dict[str, float] = {}
        for line in err:
            found = _STOPPED.search(line.rstrip())
            if found:
                parts = {"stop": float(found.group(1))}
                for item in found.group(2).split(", "):
                    name, _, ms = item.rpartition(" ")
                    parts[name] = float(ms)
    return total, parts


def measure(command: list[str], runs: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``runs`` stops of ``command`` against as many of the baseline, in ABBA order."""
    base: list[float] = []
    ours: list[float] = []
    parts: list[dict[str, float]] = []
    for i in range(runs):
        order = ("base", "ours") if i % 2 == 0 else ("ours", "base")
        for which in order:
            if which == "base":
                base.append(stop_once([sys.executable, "-c", BASELINE])[0])
            else:
                total, stage = stop_once(command, env)
                ours.append(total)
                parts.append({**stage, "rest": total - stage.get("stop", 0.0)})
    names = list(dict.fromkeys(name for run in parts for name in run))
    return {"baseline_ms": {"median": statistics.median(base), "max": max(base)},
            "ms": {"median": statistics.median(ours), "max": max(ours), "runs": ours},
            "parts_ms": {name: statistics.median(run.get(name, 0.0) for run in parts) for name in names}}


def _print(label: str, result: dict[str, Any]) -> None:
    b, o = result["baseline_ms"], result["ms"]
    print(f"{label}: {o['median']:7.1f} ms  (max {o['max']:.1f})  baseline python {b['median']:.1f} ms  "
          f"{o['median'] / b['median']:.2f}x")
    parts = result["parts_ms"]
    for name, ms in parts.items():
        if name not in ("stop", "rest"):
            print(f"    {name:<28} {ms:7.2f} ms")
    print(f"    {'stage stopped (StageRunner)':<28} {parts.get('stop', 0.0):7.2f} ms")
    print(f"    {'signal, return, exit':<28} {parts.get('rest', 0.0):7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", action="store_true", help="also the window (offscreen), SIGINT to exit")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results: dict[str, Any] = {"runs": args.runs, "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
    results["headless"] = measure(HEADLESS, args.runs)
    if args.window:
        with tempfile.TemporaryDirectory(prefix="stagectl-bench-stop-") as settings:
            results["window"] = measure(WINDOW, args.runs, {"QT_QPA_PLATFORM": "offscreen",
                                                            "STAGECTL_SETTINGS_DIR": settings})
    results["loadavg_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"runs: {args.runs} (medians; ABBA against the baseline); load average "
          f"{results['loadavg_before'][0]:.2f} -> {results['loadavg_after'][0]:.2f}")
    _print("stagectl run --headless", results["headless"])
    if "window" in results:
        _print("main.py (window, offscreen)", results["window"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
