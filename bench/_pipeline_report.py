"""The table and JSON object of bench/tracking_pipeline.py, from its phases' summaries."""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Sequence
from typing import Any

import numpy as np
from _timing import percentiles_us

GOAL_P99_RATIO = 2.0
GOAL_HOT_CPU_RATIO, GOAL_HOT_P99_RATIO = 1.5, 1.3  # --opentrackio: stagectl against the bare forwarder


def report(args: argparse.Namespace, phases: dict[str, dict[str, Any]],
           runs: Sequence[Any]) -> dict[str, Any]:
    """Print the table of ``phases`` (each phase's summary by name, stagectl first, the goal's baseline
    second) and of the sender over ``runs`` (every RunResult); return the JSON object."""
    names = tuple(phases)
    ours, base = phases["stagectl"], phases[names[1]]
    ratio = {k: round(ours["latency_us"][k] / base["latency_us"][k], 2) for k in ("p50", "p99", "p99_9")}
    forward = phases.get("forward")
    ratio_forward = None if forward is None else {
        k: round(ours["latency_us"][k] / forward["latency_us"][k], 2) for k in ("p50", "p99", "p99_9")}
    cpu_ratio = _cpu_ratio(ours, base)
    floor = phases.get("floor")
    floor_ratio = None if floor is None or forward is None else {
        "cpu_floor_over_forward": _cpu_ratio(floor, forward)["io_cpu_us_per_datagram"],
        "p99_floor_over_forward": round(floor["latency_us"]["p99"] / forward["latency_us"]["p99"], 2),
        "cpu_stagectl_over_floor": _cpu_ratio(ours, floor)["io_cpu_us_per_datagram"]}
    lateness = percentiles_us(np.concatenate([r.lateness_ns for r in runs]))
    sender = {"schedule_lateness_us": lateness, "send_errors": sum(r.send_errors for r in runs),
              "timer_slack_1ns": all(r.timer_slack_1ns for r in runs)}
    zero_loss = ours["delivered"] == ours["sent"] and ours["duplicates"] == 0 and ours["stray"] == 0
    outputs = ours.get("outputs")
    if outputs is not None:
        zero_loss = zero_loss and outputs["otio_lost"] == 0 and outputs["osc_lost"] == 0
    goal: dict[str, bool] = {"zero_loss": zero_loss, "p99_within_2x": ratio["p99"] <= GOAL_P99_RATIO}
    if args.opentrackio:
        goal = {"zero_loss": zero_loss,
                "cpu_within_1_5x": cpu_ratio["io_cpu_us_per_datagram"] <= GOAL_HOT_CPU_RATIO,
                "p99_within_1_3x": ratio["p99"] <= GOAL_HOT_P99_RATIO}
    result: dict[str, Any] = {
        "bench": "tracking_pipeline", "cameras": args.cameras, "rate_hz": args.rate,
        "duration_s_per_phase": args.duration, "runs_per_phase": args.chunks,
        "schedule": "spread" if args.spread else "burst", "relay": args.relay, "outputs": args.outputs,
        "opentrackio": args.opentrackio,
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2), "sender": sender,
        "stagectl": ours, "relay_result": phases.get("relay"), "floor_result": floor, "floor": floor_ratio,
        "ratio_stagectl_over_relay": None if args.opentrackio else ratio,
        "forward_result": forward, "ratio_stagectl_over_forward": ratio_forward,
        "cpu_ratio_stagectl_over_baseline": cpu_ratio, "osc_bundle": not args.osc_unbundled, "goal": goal,
    }
    per_s = args.cameras * args.rate
    osc = "unbundled" if args.osc_unbundled else "bundled"
    outs = ("OpenTrackIO CBOR (stage file)" if args.opentrackio
            else f"OpenTrackIO + OSC {osc}" if args.outputs else "none")
    print(f"{args.cameras} cameras x {args.rate:g} Hz FreeD = {per_s:,.0f} datagrams/s over loopback, "
          f"{result['schedule']} schedule; {args.duration:g} s per phase in {args.chunks} runs (ABBA); "
          f"relay: {args.relay}; outputs: {outs}; {os.cpu_count()} CPUs, load {result['loadavg_1m']}")
    print(f"sender: lateness vs schedule p50 {lateness['p50']} µs, p99 {lateness['p99']} µs, "
          f"max {lateness['max']} µs; send errors {sender['send_errors']}; "
          f"1 ns timer slack: {'yes' if sender['timer_slack_1ns'] else 'no'}")
    print(f"{'phase':<9} {'sent':>8} {'delivered':>9} {'%':>9} {'dup':>4} {'ooo':>4} {'krn':>4} "
          f"{'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9} {'max µs':>8} {'cpu µs/dg':>9} {'proc µs/dg':>10} "
          f"{'flt/dg':>6}")
    for name, s in phases.items():
        lat = s["latency_us"]
        print(f"{name:<9} {s['sent']:>8} {s['delivered']:>9} {s['delivered_pct']:>8.3f}% "
              f"{s['duplicates']:>4} {s['out_of_order']:>4} {s['kernel_drops']:>4} {lat['p50']:>8.1f} "
              f"{lat['p99']:>8.1f} {lat['p99_9']:>9.1f} {lat['max']:>8.1f} "
              f"{s['io_cpu_us_per_datagram']:>9.2f} {s['process_cpu_us_per_datagram']:>10.2f} "
              f"{s['page_faults_per_datagram']:>6.2f}")
    if not args.opentrackio:
        print(f"stagectl/relay: p50 {ratio['p50']:.2f}x  p99 {ratio['p99']:.2f}x  "
              f"p99.9 {ratio['p99_9']:.2f}x")
    if ratio_forward is not None:
        print(f"stagectl/forward: p50 {ratio_forward['p50']:.2f}x  p99 {ratio_forward['p99']:.2f}x  "
              f"p99.9 {ratio_forward['p99_9']:.2f}x")
    if "send_to_handler_us" in ours:
        a, b = ours["send_to_handler_us"], ours["handler_to_sink_us"]
        print(f"stagectl split: send -> datagram_received p50 {a['p50']} / p99 {a['p99']} µs; "
              f"datagram_received -> sink p50 {b['p50']} / p99 {b['p99']} µs")
    for phase_name, phase in (("stagectl", ours), ("forward", forward), ("floor", floor)):
        counts = None if phase is None else phase.get("outputs")
        if counts is None:
            continue
        for name, label in (("otio", "OpenTrackIO (CBOR)"), ("osc", "OSC"))[:1 if args.opentrackio else 2]:
            o = {k.removeprefix(f"{name}_"): v for k, v in counts.items() if k.startswith(name)}
            print(f"{phase_name} output {label}: sent {o['sent']}, dropped at sender {o['dropped']}, "
                  f"received in the other process {o['received']}, lost {o['lost']} "
                  f"(receiver kernel drops {o['kernel_drops']})")
    print(f"p50 by camera A.. (µs; a burst sends A first): stagectl {ours['p50_us_by_camera']}; "
          f"{names[1]} {base['p50_us_by_camera']}")
    print("p99 per run (µs): " + "; ".join(f"{n} {phases[n]['p99_us_per_run']}" for n in names))
    if ours["stray"] or base["stray"]:
        print(f"stray datagrams (unknown camera or tick): stagectl {ours['stray']}, "
              f"{names[1]} {base['stray']}")
    verdict = {True: "PASS", False: "FAIL"}
    if args.opentrackio:
        print(f"stagectl/forward CPU per datagram: I/O thread {cpu_ratio['io_cpu_us_per_datagram']:.2f}x, "
              f"process {cpu_ratio['process_cpu_us_per_datagram']:.2f}x")
        if floor_ratio is not None:
            f = floor_ratio
            print(f"floor (the least Python that transcodes FreeD to OpenTrackIO)/forward: CPU per datagram "
                  f"{f['cpu_floor_over_forward']:.2f}x, p99 {f['p99_floor_over_forward']:.2f}x; "
                  f"stagectl/floor CPU {f['cpu_stagectl_over_floor']:.2f}x")
        print(f"goal: zero loss {verdict[zero_loss]}; CPU per datagram <= {GOAL_HOT_CPU_RATIO:g}x forward "
              f"{verdict[goal['cpu_within_1_5x']]} ({cpu_ratio['io_cpu_us_per_datagram']:.2f}x); p99 <= "
              f"{GOAL_HOT_P99_RATIO:g}x forward {verdict[goal['p99_within_1_3x']]} ({ratio['p99']:.2f}x)")
    else:
        print(f"goal: zero loss {verdict[zero_loss]}; p99 <= {GOAL_P99_RATIO:g}x relay "
              f"{verdict[goal['p99_within_2x']]} ({ratio['p99']:.2f}x)")
    return result


def _cpu_ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """CPU per datagram of phase ``a`` over phase ``b``: the I/O thread's and the process's."""
    return {k: round(a[k] / b[k], 2) if b[k] else float("nan")
            for k in ("io_cpu_us_per_datagram", "process_cpu_us_per_datagram")}
