"""The receiver process of bench/tracking_pipeline.py: stagectl's ingest path or a bare relay.

One process per sender run, so no run inherits another's heap, allocator or GC state, and every
kind imports the same modules (this file's imports) before it binds. The receiver binds
127.0.0.1, prints ``port N``, records per datagram (camera index, spare, clock at the sink) into
plain lists (``list.append`` of ints is the cheapest record Python has and allocates nothing the
GC tracks), and on ``expect N`` from stdin waits up to 1 s until it has N, writes what it
recorded to ``--out`` (.npz) with its I/O thread's CPU time and the page faults of the run, and
prints ``done``.

    python bench/_receivers.py --kind stagectl|asyncio|forward|floor|thread --cameras N --out FILE
                               [--outputs-to P1,P2 | --opentrackio-to P] [--osc-unbundled]

``--outputs-to`` (stagectl): the real OpenTrackIO (CBOR) and OSC senders of
stagectl.unreal, attached to every camera *before* the counting sink (so the latency includes
them), send to 127.0.0.1:P1 and :P2; their sent / dropped counters are saved too.

``--kind forward`` is the asyncio relay that also sends two datagrams per datagram received (460
and 160 bytes: the sizes of stagectl's OpenTrackIO CBOR and bundled OSC for a FreeD sample) to
``--outputs-to``: the least any Python receiver that forwards every sample to two outputs does.
``--osc-unbundled`` makes stagectl's OSC output send one datagram per message.

``--opentrackio-to P``: stagectl gets one OpenTrackIO (CBOR) output on every camera from its stage
file (``[[outputs]]``, as a user configures it: the stage's static block, source numbers) sending to
127.0.0.1:P; ``--kind forward`` sends each datagram it receives on, as it came, to P (the bare
forwarder the hot path is measured against).

``--kind floor`` (with ``--opentrackio-to P``) is the least a Python receiver does to turn each FreeD
datagram into an OpenTrackIO one and send it to P (bench/_floor.py).

``--kind count`` is the other end of those outputs, in its own process: it binds two ports,
prints ``ports P1 P2``, counts the datagrams arriving on each (one blocking thread per socket),
and on ``stop`` from stdin waits for stragglers, then prints
``counts N1 N2 KERNEL_DROPS1 KERNEL_DROPS2`` and exits.
"""

from __future__ import annotations

import argparse
import logging
import resource
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _floor import TranscodeFloor
from _relays import AsyncioRelay, Receiver, ThreadRelay, count_outputs
from _relays import udp_drops as udp_drops  # tests/unreal read the kernel's drop counter through it

from stagectl.config.load import parse_stage
from stagectl.core.links import Endpoint
from stagectl.core.samples import CameraSample
from stagectl.stage.pipeline import Sink
from stagectl.stage.runner import StageRunner
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput
from stagectl.unreal.osc_out import OscOutput

Records = dict[str, npt.NDArray[np.int64]]

#: How long, after the sender stopped, the receiver waits for datagrams still on their way.
STRAGGLER_WAIT_S = 1.0


def camera_name(index: int) -> str:
    """A, B, ... for camera index 0, 1, ..."""
    return chr(ord("A") + index)


def stage_toml(cameras: int, port: int, opentrackio_to: int | None = None) -> str:
    """A stage file: ``cameras`` cameras, each fed by a freed source on one shared port; with
    ``opentrackio_to``, one OpenTrackIO (CBOR) output of every camera to that loopback port."""
    lines = ["[stage]", 'name = "bench: tracking pipeline"', 'frame_rate = "24000/1001"']
    for k in range(cameras):
        lines += ["", "[[cameras]]", f'name = "{camera_name(k)}"', "delay_ms = 0"]
    for k in range(cameras):
        lines += ["", "[[sources]]", f'camera = "{camera_name(k)}"', 'protocol = "freed"',
                  f'listen = "127.0.0.1:{port}"', f"camera_id = {k + 1}"]
    if opentrackio_to is not None:
        names = ", ".join(f'"{camera_name(k)}"' for k in range(cameras))
        lines += ["", "[[outputs]]", 'kind = "opentrackio"',
                  f'target = "127.0.0.1:{opentrackio_to}"', f"cameras = [{names}]", 'encoding = "cbor"']
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A UDP port on 127.0.0.1 nobody holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StagectlReceiver(Receiver):
    """The real headless ingest path: StageRunner, as ``stagectl run --headless`` starts it."""

    def __init__(self, cameras: int, outputs_to: tuple[int, int] | None = None,
                 osc_bundle: bool = True, opentrackio_to: int | None = None) -> None:
        super().__init__()
        self.arrival_ns: list[int] = []
        self.outputs: list[OpenTrackIOOutput | OscOutput] = []
        if outputs_to is not None:
            otio, osc = (Endpoint("127.0.0.1", port) for port in outputs_to)
            self.outputs = [OpenTrackIOOutput("bench-otio", otio, encoding="cbor"),
                            OscOutput("bench-osc", osc, bundle=osc_bundle)]
        self.port = free_port()
        # As `stagectl run --headless` starts it: no window, so no views are built.
        self.runner = StageRunner(parse_stage(stage_toml(cameras, self.port, opentrackio_to)),
                                  publish_views=False)
        self.stage_outputs = list(self.runner.stage.outputs.streams)
        stage = self.runner.stage
        failed = [f"{s.name}: {s.health.failed}" for s in stage.sources if s.health.failed]
        if failed or stage.sources[0].bound is None:
            self.runner.close()
            raise SystemExit("tracking_pipeline: stagectl did not bind: " + "; ".join(failed))
        self.runner.runtime.call_sync(self._async_add_sinks())
        self.io_thread = self.runner.runtime.thread

    async def _async_add_sinks(self) -> None:
        for output in self.outputs:
            await output.async_start()
        for index, (name, camera) in enumerate(self.runner.stage.cameras.items()):
            for output in self.outputs:  # before the counting sink: the latency includes them
                camera.add_sink(output.sink_for(name))
            camera.add_sink(self._counting_sink(index))

    async def _async_stop_outputs(self) -> None:
        for output in self.outputs:
            await output.async_stop()

    def _counting_sink(self, index: int) -> Sink:
        camera, seq, sink_ns, arrival_ns = (self.camera.append, self.seq.append, self.sink_ns.append,
                                            self.arrival_ns.append)
        mono = time.monotonic_ns

        def sink(sample: CameraSample) -> None:
            t = mono()
            extra = sample.extra
            # "spare" is the raw 16 bits whatever the FreeD preset decodes from them besides.
            spare = extra.get("spare", -1) if extra is not None else -1
            camera(index)
            seq(spare if type(spare) is int else -1)
            sink_ns(t)
            arrival_ns(sample.arrival_ns)

        return sink

    def records(self) -> Records:
        """Also ``arrival_ns``: the clock on entry to datagram_received."""
        out = super().records()
        out["arrival_ns"] = np.array(self.arrival_ns, np.int64)
        outputs = self.outputs or self.stage_outputs
        if outputs:
            out["out_sent"] = np.array([o.sent for o in outputs] + [0] * (2 - len(outputs)), np.int64)
            out["out_dropped"] = np.array([o.dropped for o in outputs] + [0] * (2 - len(outputs)), np.int64)
        return out

    def close(self) -> None:
        if self.outputs:
            self.runner.runtime.call_sync(self._async_stop_outputs())
        self.runner.close()


def make_receiver(kind: str, cameras: int, outputs_to: tuple[int, int] | None = None,
                  osc_bundle: bool = True, opentrackio_to: int | None = None) -> Receiver:
    """A bound, ready receiver: ``stagectl``, ``asyncio``, ``forward``, ``floor`` or ``thread``."""
    if kind == "floor":
        if opentrackio_to is None:
            raise SystemExit("--kind floor needs --opentrackio-to")
        return TranscodeFloor(opentrackio_to)
    if kind == "stagectl":
        return StagectlReceiver(cameras, outputs_to, osc_bundle, opentrackio_to)
    if kind == "forward":
        if opentrackio_to is not None:
            return AsyncioRelay((opentrackio_to,))
        if outputs_to is None:
            raise SystemExit("--kind forward needs --outputs-to or --opentrackio-to")
        return AsyncioRelay(outputs_to)
    return AsyncioRelay() if kind == "asyncio" else ThreadRelay()


def thread_cpu_s(thread: threading.Thread | None) -> float:
    """CPU seconds ``thread`` has used so far (NaN when it cannot be read)."""
    if thread is None or thread.ident is None:
        return float("nan")
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (OSError, AttributeError):
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("stagectl", "asyncio", "forward", "floor", "thread", "count"),
                        required=True)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--outputs-to", default=None, help="P1,P2: stagectl sends OpenTrackIO / OSC there")
    parser.add_argument("--osc-unbundled", action="store_true", help="stagectl's OSC: a datagram per message")
    parser.add_argument("--opentrackio-to", type=int, default=None,
                        help="P: stagectl's stage file sends OpenTrackIO (CBOR) there; forward echoes there")
    args = parser.parse_args()
    if args.kind == "count":
        return count_outputs()
    if args.out is None:
        parser.error("--out is required")
    outputs_to = None
    if args.outputs_to:
        p1, p2 = (int(p) for p in args.outputs_to.split(","))
        outputs_to = (p1, p2)
    logging.basicConfig(level=logging.WARNING, format="receiver: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("stagectl.events").setLevel(logging.ERROR)  # "stale" when the sender stops
    receiver = make_receiver(args.kind, args.cameras, outputs_to, not args.osc_unbundled, args.opentrackio_to)
    try:
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, faults0 = thread_cpu_s(receiver.io_thread), usage0.ru_minflt
        print(f"port {receiver.port}", flush=True)
        command = sys.stdin.readline().split()  # blocks, holding no GIL, while the sender runs
        expected = int(command[1]) if command[:1] == ["expect"] else 0
        deadline = time.monotonic() + STRAGGLER_WAIT_S
        while receiver.count() < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        cpu_s = thread_cpu_s(receiver.io_thread) - cpu0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        faults = usage.ru_minflt - faults0
        process_cpu_s = (usage.ru_utime + usage.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
        drops = receiver.kernel_drops()
        records = receiver.records()
    finally:
        receiver.close()
    arrays: dict[str, Any] = {**records, "io_cpu_s": np.float64(cpu_s),
                              "process_cpu_s": np.float64(process_cpu_s), "page_faults": np.int64(faults),
                              "kernel_drops": np.int64(drops)}
    np.savez(str(args.out), **arrays)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
