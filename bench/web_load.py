"""The web remote under load: what 20 connected browser sessions cost the tracking pipeline.

The tracking pipeline of bench/tracking_pipeline.py (a FreeD sender process, ``--cameras`` cameras at
``--rate`` Hz, genlocked; stagectl's headless ingest in a receiver process with a counting sink on every
camera) is run with the web remote on (``bench/_web_receiver.py``: the same stage plus ``[web]`` on
loopback), in two phases taken in ABBA order, each run a fresh receiver and a fresh sender:

  quiet    the remote serving, nobody connected (the baseline);
  clients  ``--clients`` browser sessions (bench/_web_clients.py, a process of their own) logged in,
           each with the DP page's live WebSocket open, one of them changing the fade time once a
           second as a DP does (a POST the stage answers and pushes to every session).

Latency is sender clock -> the camera's sink (both CLOCK_MONOTONIC). Goal: the clients phase's p99 at
most 5 % over the quiet phase's (ratio <= 1.05), with no datagram lost. Both phases share the machine's
noise, so compare ratios: of the pooled p99, and of the median run's p99 (one run slowed by the machine
moves the pooled figure, not the median run's), and of the I/O thread's CPU per datagram (the web's own
work runs on that thread).

``--loop``: the web's own work on the stage's loop, without the pipeline: a stage with one idle camera
and the remote, in this process; the loop thread's CPU clock over 10 s with nobody connected, with the
sessions connected and idle, and with the sessions and an action a second.

    python bench/web_load.py [--duration 60] [--chunks 8] [--cameras 8] [--rate 500] [--clients 20] [--json]
    python bench/web_load.py --loop [--clients 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web_receiver import PASSCODE
from tracking_pipeline import SENDER, RunResult, analyse, summarise

HERE = Path(__file__).resolve().parent
RECEIVER = HERE / "_web_receiver.py"
CLIENTS = HERE / "_web_clients.py"
GOAL_P99_RATIO = 1.05


def _line(process: subprocess.Popen[str], what: str) -> list[str]:
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if not line:
        raise SystemExit(f"web_load: {what} did not start (see above)")
    return line


def run_once(phase: str, args: argparse.Namespace, tmp: Path, index: int) -> tuple[RunResult, str]:
    """A fresh receiver with the remote on; with ``clients``, the sessions connected first; the sender."""
    sender_out, receiver_out = tmp / f"sender-{phase}-{index}.npz", tmp / f"receiver-{phase}-{index}.npz"
    receiver = subprocess.Popen([sys.executable, str(RECEIVER), "--kind", "stagectl", "--cameras",
                                 str(args.cameras), "--out", str(receiver_out)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    clients: subprocess.Popen[str] | None = None
    said = ""
    try:
        web = _line(receiver, "the receiver")
        port = _line(receiver, "the receiver")
        if web[:1] != ["web"] or port[:1] != ["port"]:
            raise SystemExit(f"web_load: the receiver said {web} {port}")
        if phase == "clients":
            clients = subprocess.Popen([sys.executable, str(CLIENTS), "--url", web[1], "--passcode", PASSCODE,
                                        "--clients", str(args.clients)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            if _line(clients, "the clients") != ["ready"]:
                raise SystemExit("web_load: the clients did not connect")
        sender = subprocess.run([sys.executable, str(SENDER), "--port", port[1], "--out", str(sender_out),
                                 "--cameras", str(args.cameras), "--rate", str(args.rate),
                                 "--duration", str(args.duration / args.chunks)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if sender.returncode != 0:
            raise SystemExit(f"web_load: the sender failed ({sender.returncode}):\n{sender.stderr}")
        if clients is not None:
            assert clients.stdin is not None
            clients.stdin.write("stop\n")
            clients.stdin.flush()
            said = " ".join(_line(clients, "the clients"))
            clients.wait(10)
        with np.load(sender_out) as data:
            sent = dict(data)
        assert receiver.stdin is not None
        receiver.stdin.write(f"expect {int((sent['sent_ns'] >= 0).sum())}\n")
        receiver.stdin.flush()
        if _line(receiver, "the receiver") != ["done"] or receiver.wait(10) != 0:
            raise SystemExit("web_load: the receiver failed (see above)")
    finally:
        for process in (receiver, clients):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    with np.load(receiver_out) as data:
        records = dict(data)
    return analyse(phase, sent, records), said


def loop_cost(clients: int, seconds: float = 10.0) -> dict[str, float]:
    """The loop thread's CPU (ms per second) with the remote: nobody, idle sessions, sessions acting."""
    from _receivers import thread_cpu_s

    from stagectl.config.load import parse_stage
    from stagectl.stage.runner import StageRunner

    stage = ('[stage]\nname = "bench: web loop"\nframe_rate = 25\n\n[[cameras]]\nname = "A"\n\n'
             '[[sources]]\ncamera = "A"\nprotocol = "freed"\nlisten = "127.0.0.1:0"\n\n'
             f'[web]\nlisten = "127.0.0.1:0"\npasscode = "{PASSCODE}"\n')
    runner = StageRunner(parse_stage(stage), publish_views=False)
    try:
        web, thread = runner.stage.web, runner.runtime.thread
        assert web is not None and web.running

        def cpu_ms_per_s() -> float:
            start = thread_cpu_s(thread)
            time.sleep(seconds)
            return round((thread_cpu_s(thread) - start) / seconds * 1e3, 2)

        out = {"nobody": cpu_ms_per_s()}
        for name, every in (("idle_sessions", "100000"), ("acting_sessions", "1.0")):
            process = subprocess.Popen([sys.executable, str(CLIENTS), "--url", web.urls[0], "--passcode",
                                        PASSCODE, "--clients", str(clients), "--every", every],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                if _line(process, "the clients") != ["ready"]:
                    raise SystemExit("web_load: the clients did not connect")
                out[name] = cpu_ms_per_s()
                assert process.stdin is not None
                process.stdin.write("stop\n")
                process.stdin.flush()
                _line(process, "the clients")
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait()
        return out
    finally:
        runner.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending per phase")
    parser.add_argument("--chunks", type=int, default=8, help="runs per phase (ABBA order)")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--loop", action="store_true", help="the web's own loop time, no pipeline")
    args = parser.parse_args()
    if args.loop:
        figures = loop_cost(args.clients)
        print(json.dumps(figures) if args.json else
              f"web_load --loop: the stage loop's CPU, ms a second: nobody connected {figures['nobody']}, "
              f"{args.clients} idle sessions {figures['idle_sessions']}, {args.clients} sessions with an "
              f"action a second {figures['acting_sessions']}")
        return 0
    order = [("clients", "quiet") if k % 2 == 0 else ("quiet", "clients") for k in range(args.chunks)]
    runs: list[RunResult] = []
    said: list[str] = []
    with tempfile.TemporaryDirectory(prefix="stagectl-web-load-") as tmp:
        for index, pair in enumerate(order):
            for phase in pair:
                result, text = run_once(phase, args, Path(tmp), index)
                runs.append(result)
                if text:
                    said.append(text)
    phases = {p: summarise([r for r in runs if r.phase == p]) for p in ("quiet", "clients")}
    quiet, busy = phases["quiet"], phases["clients"]
    ratio = {k: round(busy["latency_us"][k] / quiet["latency_us"][k], 3) for k in ("p50", "p99", "p99_9")}
    # one slow run (the machine's, not the phase's) moves a pooled p99; the median run's does not
    run_p99 = {name: float(np.median(p["p99_us_per_run"])) for name, p in phases.items()}
    ratio["p99_median_run"] = round(run_p99["clients"] / run_p99["quiet"], 3)
    ratio["io_cpu"] = round(busy["io_cpu_us_per_datagram"] / quiet["io_cpu_us_per_datagram"], 3)
    lost = sum(p["sent"] - p["delivered"] for p in phases.values())
    out: dict[str, Any] = {"cameras": args.cameras, "rate_hz": args.rate, "clients": args.clients,
                           "duration_s_per_phase": args.duration, "chunks": args.chunks,
                           "load_average": os.getloadavg(), "phases": phases, "ratio": ratio, "lost": lost,
                           "client_runs": said}
    if args.json:
        print(json.dumps(out))
        return 0 if lost == 0 else 1
    print(f"web_load: {args.cameras} cameras x {args.rate:g} Hz genlocked, {args.duration:g} s per phase in "
          f"{args.chunks} runs (ABBA); load average {os.getloadavg()[0]:.2f}")
    for name, summary in phases.items():
        lat = summary["latency_us"]
        print(f"  {name:8s} delivered {summary['delivered']}/{summary['sent']}  p50 {lat['p50']:8.1f} us  "
              f"p99 {lat['p99']:8.1f} us  p99.9 {lat['p99_9']:8.1f} us  io cpu "
              f"{summary['io_cpu_us_per_datagram']:.1f} us/dg  p99 per run {summary['p99_us_per_run']}")
    print(f"  clients/quiet: p50 x{ratio['p50']}  p99 x{ratio['p99']}, the median run's p99 "
          f"x{ratio['p99_median_run']} (goal <= {GOAL_P99_RATIO})  p99.9 x{ratio['p99_9']}  I/O thread CPU "
          f"x{ratio['io_cpu']}; lost {lost}")
    for text in said:
        print(f"  sessions: {text}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
