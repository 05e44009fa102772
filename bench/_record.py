"""Run one bench script and keep its figures as JSON under bench/results/ (what ``make bench`` does).

    python bench/_record.py NAME[:KEY] SCRIPT [ARGS...]

Runs ``python SCRIPT ARGS`` with its output shown as it comes, then writes
``bench/results/NAME.json``: one file per script, under ``KEY`` (default ``default``; e.g.
``tracking_pipeline:spread``) the last few runs, newest last; other keys of the file kept. Each run
holds the command, the date (UTC), the commit (and whether the work tree had changes), the CPU model
and count, the load average before and after the run, the Python version, and the figures: the JSON
object the script printed (give the script ``--json`` where it has it), else its output lines.
Results are not tests: a run on a busy machine is kept as measured, with its load average beside it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: Runs kept per key, newest last (figures on a shared machine are read as a median of runs).
KEEP_RUNS = 5


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git(*args: str) -> str:
    """``git ARGS`` in the repository ("" when git or the repository is not there)."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last JSON object in ``text`` that starts a line (one line or indented over several)."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.startswith("{"):
            try:
                value, _ = decoder.raw_decode(text, offset)
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                found = value
        offset += len(line)
    return found


def record(name: str, key: str, command: list[str], output: str, load_before: tuple[float, ...],
           returncode: int) -> Path:
    """Write (or update) ``bench/results/<name>.json`` with this run under ``key``."""
    figures = last_json_object(output)
    entry: dict[str, Any] = {
        "command": " ".join(["python", *(os.path.relpath(c, ROOT) if c.endswith(".py") else c
                                         for c in command[1:])]),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git("rev-parse", "HEAD"), "work_tree_changed": bool(git("status", "--porcelain")),
        "cpu_model": cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "exit_status": returncode,
    }
    if figures is not None:
        entry["figures"] = figures
    else:
        entry["output"] = [line for line in output.splitlines() if line.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    try:
        existing = json.loads(path.read_text())
    except (OSError, ValueError):
        existing = {}
    runs = existing.get("runs") if isinstance(existing.get("runs"), dict) else {}
    kept = runs.get(key, [])
    kept = [kept] if isinstance(kept, dict) else kept
    runs[key] = [*kept, entry][-KEEP_RUNS:]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"script": name, "runs": dict(sorted(runs.items()))}, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, _, key = sys.argv[1].partition(":")
    command = [sys.executable, *sys.argv[2:]]
    load_before = os.getloadavg()
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    path = record(name, key or "default", command, "".join(lines), load_before, process.returncode)
    print(f"(figures kept in {os.path.relpath(path, ROOT)})")
    return process.returncode


if __name__ == "__main__":
    raise SystemExit(main())
