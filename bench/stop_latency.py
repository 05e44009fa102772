"""How long `stagectl run --headless` takes to exit after Ctrl+C, against a baseline.

Baseline: a bare Python process that sleeps and exits on SIGINT, started and stopped the same
way in the same run (interpreter shutdown is part of both). Prints each and the difference,
which is stagectl's own stop cost (sources closed, loop stopped, threads joined).

    python bench/stop_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = (
    "import sys, time\n"
    "print('ready', flush=True)\n"
    "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    sys.exit(0)\n"
)


def stop_time(command: list[str]) -> float:
    """Seconds from SIGINT to exit, once the process printed its first line."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            cwd=REPO)
    assert proc.stdout is not None
    proc.stdout.readline()
    time.sleep(0.5)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = [stop_time([sys.executable, "-c", BASELINE]) for _ in range(args.runs)]
    ours = [stop_time([sys.executable, "-m", "stagectl", "run", "--headless", "--status-json"])
            for _ in range(args.runs)]
    b, o = statistics.median(base), statistics.median(ours)
    print(f"runs: {args.runs} (median, max)")
    print(f"baseline python exit on SIGINT : {b * 1000:7.1f} ms  (max {max(base) * 1000:.1f})")
    print(f"stagectl run --headless        : {o * 1000:7.1f} ms  (max {max(ours) * 1000:.1f})  {o / b:.2f}x")
    print(f"stagectl's own stop cost       : {(o - b) * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
