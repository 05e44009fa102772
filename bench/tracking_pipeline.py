"""FreeD tracking end to end: loss and ingest-to-sink latency of stagectl against a bare UDP relay.

A separate sender process (bench/_freed_sender.py) sends D1 datagrams for ``--cameras`` cameras
(FreeD ids 1..N) at ``--rate`` Hz each over loopback, the tick number in the 16-bit spare field,
and records ``time.monotonic_ns()`` before every send. Two receivers take turns:

  stagectl  the real headless ingest path: ``StageRunner(..., publish_views=False)`` on a stage file with N
            cameras (A, B, ...) and N freed sources sharing one port, camera_id 1..N,
            delay_ms 0; a counting sink on every camera records the spare and the clock.
  relay     the least any Python receiver does, on the same kind of I/O thread: a
            ``stagectl.core.runtime.Runtime`` loop with an ``asyncio.DatagramProtocol`` on a socket with
            the same SO_RCVBUF, recording camera id, spare and the clock per datagram
            (``--relay thread``: a plain thread in blocking ``recv`` instead, to see what asyncio
            itself costs).

The ratio is taken against the asyncio relay: stagectl receives through asyncio, so that ratio is
the cost of stagectl's own code (decode, routing, sample, health, pipeline, sinks), not of the
transport it chose. Latency = clock at the sink - clock at the sender (both CLOCK_MONOTONIC).
For stagectl it is also split at ``sample.arrival_ns`` (taken on entry to datagram_received):
send -> handler entry (kernel, loop wake-up, and waiting behind earlier datagrams of the same
burst) and handler entry -> sink (stagectl's code for this datagram).

By default all cameras send at the same instant each tick, as genlocked trackers do: the worst
case for queueing, since the last datagram of a burst waits for the others. ``--spread`` staggers
camera k by k/N of a period (free-running trackers).

Each phase's ``--duration`` is cut into ``--chunks`` runs taken in ABBA order (stagectl, relay,
relay, stagectl, ...), so drift in the machine's load cancels instead of landing on one phase.
Every run gets a fresh receiver process (bench/_receivers.py) and a fresh sender process. Fresh
receivers because a process's history changes the cost of a datagram: asyncio's datagram
transport calls ``recvfrom(256 KiB)``, and whether glibc serves that buffer with an mmap and a
munmap per datagram (2 page faults, ~13 µs here) depends on whether the process has freed a
large block before; a fresh process is what ``stagectl run --headless`` is (the ``flt/dg`` column
shows the regime). The receiver is bound before the sender starts, the sender encodes every
datagram before its schedule starts, and after it exits the receiver has up to 1 s for
stragglers: start-up and teardown are never inside the measured window. The sender's lateness
against its own schedule is reported, to show it is not the bottleneck.

Columns: ``krn`` datagrams the kernel dropped (full receive buffer), ``ooo`` out of order per
camera, ``cpu µs/dg`` the receiving thread's CPU time per datagram, ``flt/dg`` page faults per
datagram in the receiver process.

``--outputs`` attaches the real outputs (stagectl.unreal: OpenTrackIO in CBOR and OSC, one of
each, every camera; OSC bundled per sample unless ``--osc-unbundled``) to the stagectl receiver,
before its counting sink so the latency includes them, sending over loopback to a counting
receiver in a third process (``_receivers.py --kind count``). The table then adds, per output,
datagrams sent, dropped at the sender (by the non-blocking sender's own counters) and received
in the other process; output loss = sent - received + dropped. The relay phase is unchanged, so
the goal's ratio is the cost of ingest *and* outputs against a bare relay. A third phase,
``forward``, is the asyncio relay sending two datagrams of the outputs' sizes per datagram to
the same kind of counter: the floor for any Python receiver that forwards each sample to two
outputs over loopback (each send wakes another process on a 2-CPU machine), so the second
ratio shows how much of the cost is stagectl's code and how much the two sends themselves.

``--opentrackio`` is the hot path's goal: stagectl with one OpenTrackIO (CBOR) output of every
camera, configured in its stage file as a user does, against the bare asyncio forwarder that sends
each datagram it receives on, as it came (phase ``forward``), each sending to a counter in a third
process; two phases in ABBA order. Goal: CPU per datagram (the receiving thread's) at most 1.5x
and p99 latency at most 1.3x the forwarder's. ``--floor`` adds a third phase, ``floor``
(bench/_floor.py): the least a Python receiver does to turn each FreeD datagram into an OpenTrackIO one
(stagectl's socket reading, D1 check and decode, the pose packed into a payload of stagectl's size,
framed with its Fletcher-16, sent), with no sample, health, ring or take. Its ratio to the forwarder is
what the goal leaves for stagectl's own work with a sample.

Loss is exact: every (camera, tick) the sender sent must reach the sink once (a misrouted
datagram shows as one lost and one duplicate). The exit status is 1 when stagectl lost,
duplicated or misrouted a datagram; the p99 goal (at most 2x the relay) is reported, not
enforced, because shared machines are noisy: compare runs by their ratios.

    python bench/tracking_pipeline.py [--quick] [--duration 30] [--cameras 8] [--rate 500] [--chunks N]
        [--spread] [--relay asyncio|thread] [--outputs] [--osc-unbundled] [--opentrackio [--floor]] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pipeline_report import report
from _timing import percentiles_us

SENDER, RECEIVER = (Path(__file__).resolve().parent / name for name in ("_freed_sender.py", "_receivers.py"))

I64 = npt.NDArray[np.int64]


@dataclass
class RunResult:
    """One sender run into one fresh receiver."""

    phase: str
    sent: int
    delivered: int
    duplicates: int
    out_of_order: int
    stray: int
    kernel_drops: int
    send_errors: int
    cpu_s: float
    process_cpu_s: float
    page_faults: int
    latency_ns: I64
    transport_ns: I64 | None
    handler_ns: I64 | None
    lateness_ns: I64
    timer_slack_1ns: bool
    latency_camera: I64
    """Camera index of each ``latency_ns`` entry."""
    outputs: dict[str, int] | None = None
    """With --outputs: {otio,osc}_{sent,dropped,received,kernel_drops}."""



def analyse(phase: str, sender: dict[str, Any], rec: dict[str, Any]) -> RunResult:
    """Match what the receiver recorded against what the sender sent."""
    sent_ns: I64 = sender["sent_ns"]
    due_ns: I64 = sender["due_ns"]
    ticks, cameras = sent_ns.shape
    cam, seq, sink = rec["camera"], rec["seq"], rec["sink_ns"]
    known = (cam >= 0) & (cam < cameras) & (seq >= 0) & (seq < ticks)
    key = seq[known] * cameras + cam[known]  # row-major index into (ticks, cameras)
    was_sent = sent_ns.ravel()[key] >= 0
    known[np.flatnonzero(known)[~was_sent]] = False
    key = key[was_sent]
    unique, first = np.unique(key, return_index=True)
    sink_known = sink[known]
    latency = sink_known[first] - sent_ns.ravel()[unique]
    out_of_order = 0
    cam_known, seq_known = cam[known], seq[known]
    for c in range(cameras):
        s = seq_known[cam_known == c]
        if len(s) > 1:
            out_of_order += int(np.count_nonzero(s[1:] < np.maximum.accumulate(s)[:-1]))
    transport = handler = None
    if "arrival_ns" in rec:
        arrival = rec["arrival_ns"][known][first]
        transport = arrival - sent_ns.ravel()[unique]
        handler = sink_known[first] - arrival
    ok = sent_ns >= 0
    # Lateness of the first datagram due at each instant: in a burst the others wait for its send.
    due_flat, sent_flat = due_ns.ravel(), sent_ns.ravel()
    first_due = np.r_[True, due_flat[1:] != due_flat[:-1]] & (sent_flat >= 0)
    return RunResult(phase, int(ok.sum()), len(unique), len(key) - len(unique), out_of_order,
                     int((~known).sum()), int(rec["kernel_drops"]), int(sender["errors"]),
                     float(rec["io_cpu_s"]), float(rec["process_cpu_s"]), int(rec["page_faults"]), latency,
                     transport, handler,
                     sent_flat[first_due] - due_flat[first_due], bool(sender["timer_slack_1ns"]),
                     unique % cameras)


def run_once(phase: str, args: argparse.Namespace, tmp: Path, index: int) -> RunResult:
    """A fresh receiver process, bound; then the sender process into it; then the records."""
    kind = {"stagectl": "stagectl", "forward": "forward", "floor": "floor"}.get(phase, args.relay)
    sender_out, receiver_out = tmp / f"sender-{phase}-{index}.npz", tmp / f"receiver-{phase}-{index}.npz"
    command = [sys.executable, str(RECEIVER), "--kind", kind, "--cameras", str(args.cameras),
               "--out", str(receiver_out)]
    counter: subprocess.Popen[str] | None = None
    if args.osc_unbundled:
        command.append("--osc-unbundled")
    if (args.outputs or args.opentrackio) and phase in ("stagectl", "forward", "floor"):
        counter = subprocess.Popen([sys.executable, str(RECEIVER), "--kind", "count"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        assert counter.stdout is not None
        ports = counter.stdout.readline().split()
        if ports[:1] != ["ports"]:
            raise SystemExit("tracking_pipeline: the output counter did not start (see above)")
        command += (["--opentrackio-to", ports[1]] if args.opentrackio
                    else ["--outputs-to", f"{ports[1]},{ports[2]}"])
    receiver = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert receiver.stdin is not None and receiver.stdout is not None
    counts: list[int] | None = None
    try:
        bound = receiver.stdout.readline().split()
        if bound[:1] != ["port"]:
            raise SystemExit(f"tracking_pipeline: the {kind} receiver did not start (see above)")
        command = [sys.executable, str(SENDER), "--port", bound[1], "--out", str(sender_out),
                   "--cameras", str(args.cameras), "--rate", str(args.rate),
                   "--duration", str(args.duration / args.chunks)]
        if args.spread:
            command.append("--spread")
        sender = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                check=False)
        if sender.returncode != 0:
            raise SystemExit(f"tracking_pipeline: the sender failed ({sender.returncode}):\n{sender.stderr}")
        with np.load(sender_out) as data:
            sent = dict(data)
        receiver.stdin.write(f"expect {int((sent['sent_ns'] >= 0).sum())}\n")
        receiver.stdin.flush()
        if receiver.stdout.readline().strip() != "done" or receiver.wait(10) != 0:
            raise SystemExit(f"tracking_pipeline: the {kind} receiver failed (see above)")
        if counter is not None:
            assert counter.stdin is not None and counter.stdout is not None
            counter.stdin.write("stop\n")
            counter.stdin.flush()
            line = counter.stdout.readline().split()
            if line[:1] != ["counts"] or counter.wait(10) != 0:
                raise SystemExit("tracking_pipeline: the output counter failed (see above)")
            counts = [int(v) for v in line[1:]]
    finally:
        for process in (receiver, counter):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    with np.load(receiver_out) as data:
        records = dict(data)
    result = analyse(phase, sent, records)
    if counts is not None:
        out_sent, out_dropped = records["out_sent"], records["out_dropped"]
        result.outputs = {}
        for i, name in enumerate(("otio", "osc")):
            result.outputs.update({f"{name}_sent": int(out_sent[i]), f"{name}_dropped": int(out_dropped[i]),
                                   f"{name}_received": counts[i], f"{name}_kernel_drops": counts[2 + i]})
    return result


def summarise(runs: list[RunResult]) -> dict[str, Any]:
    """One phase over all its runs."""
    sent = sum(r.sent for r in runs)
    delivered = sum(r.delivered for r in runs)
    latency = np.concatenate([r.latency_ns for r in runs])
    camera = np.concatenate([r.latency_camera for r in runs])
    summary: dict[str, Any] = {
        "sent": sent, "delivered": delivered,
        "delivered_pct": round(100.0 * delivered / sent, 4) if sent else 0.0,
        "duplicates": sum(r.duplicates for r in runs), "out_of_order": sum(r.out_of_order for r in runs),
        "stray": sum(r.stray for r in runs), "kernel_drops": sum(r.kernel_drops for r in runs),
        "latency_us": percentiles_us(latency),
        "p99_us_per_run": [percentiles_us(r.latency_ns)["p99"] for r in runs],
        "io_cpu_us_per_datagram": round(1e6 * sum(r.cpu_s for r in runs) / max(delivered, 1), 2),
        "process_cpu_us_per_datagram": round(1e6 * sum(r.process_cpu_s for r in runs) / max(delivered, 1), 2),
        "page_faults_per_datagram": round(sum(r.page_faults for r in runs) / max(delivered, 1), 3),
    }
    summary["p50_us_by_camera"] = [percentiles_us(latency[camera == c])["p50"] for c in np.unique(camera)]
    outputs = [r.outputs for r in runs if r.outputs is not None]
    if outputs:
        totals = {key: sum(o[key] for o in outputs) for key in outputs[0]}
        for name in ("otio", "osc"):
            totals[f"{name}_lost"] = (totals[f"{name}_sent"] - totals[f"{name}_received"]
                                      + totals[f"{name}_dropped"])
        summary["outputs"] = totals
    transport = [r.transport_ns for r in runs if r.transport_ns is not None]
    handler = [r.handler_ns for r in runs if r.handler_ns is not None]
    if transport and handler:
        summary["send_to_handler_us"] = percentiles_us(np.concatenate(transport))
        summary["handler_to_sink_us"] = percentiles_us(np.concatenate(handler))
    return summary


def phase_names(args: argparse.Namespace) -> tuple[str, ...]:
    """The phases of a run, stagectl first; the second is the baseline of the goal."""
    if args.opentrackio:
        return ("stagectl", "forward", "floor") if args.floor else ("stagectl", "forward")
    return ("stagectl", "relay", "forward") if args.outputs else ("stagectl", "relay")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of sending per phase")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--rate", type=float, default=500.0, help="datagrams per second per camera")
    parser.add_argument("--chunks", type=int, default=None,
                        help="runs per phase, ABBA order (default: one per ~5 s)")
    parser.add_argument("--quick", action="store_true", help="3 s per phase: a smoke run")
    parser.add_argument("--spread", action="store_true", help="stagger the cameras instead of bursts")
    parser.add_argument("--relay", choices=("asyncio", "thread"), default="asyncio")
    parser.add_argument("--outputs", action="store_true",
                        help="stagectl also sends every sample as OpenTrackIO and OSC to another process")
    parser.add_argument("--osc-unbundled", action="store_true",
                        help="with --outputs: stagectl's OSC output sends one datagram per message")
    parser.add_argument("--opentrackio", action="store_true",
                        help="stagectl with an OpenTrackIO output against the bare forwarder (the goal)")
    parser.add_argument("--floor", action="store_true",
                        help="with --opentrackio: a third phase, the least Python that transcodes FreeD")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    if args.quick:
        args.duration = 3.0
    if args.chunks is None:
        args.chunks = max(2, round(args.duration / 5.0))
    if not 1 <= args.cameras <= 26:
        parser.error("--cameras must be 1..26 (cameras are named A..Z)")
    if args.floor and not args.opentrackio:
        parser.error("--floor is a phase of --opentrackio")
    if args.opentrackio and args.outputs:
        parser.error("--opentrackio and --outputs are two different measurements: choose one")
    if args.duration / args.chunks * args.rate > 0x10000:
        parser.error("a run longer than 65536 ticks overflows the 16-bit sequence; raise --chunks")
    runs: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="stagectl-bench-") as tmp:
        names = phase_names(args)
        for i in range(args.chunks):
            order = names if i % 2 == 0 else names[::-1]
            runs += [run_once(phase, args, Path(tmp), i) for phase in order]
    result = report(args, {p: summarise([r for r in runs if r.phase == p]) for p in names}, runs)
    if args.json:
        print(json.dumps(result))
    return 0 if result["goal"]["zero_loss"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
