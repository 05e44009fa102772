"""The receiver process of bench/tracking_pipeline.py: stagectl's ingest path or a bare relay.

One process per sender run, so no run inherits another's heap, allocator or GC state, and every
kind imports the same modules (this file's imports) before it binds. The receiver binds
127.0.0.1, prints ``port N``, records per datagram (camera index, spare, clock at the sink) into
plain lists (``list.append`` of ints is the cheapest record Python has and allocates nothing the
GC tracks), and on ``expect N`` from stdin waits up to 1 s until it has N, writes what it
recorded to ``--out`` (.npz) with its I/O thread's CPU time and the page faults of the run, and
prints ``done``.

    python bench/_receivers.py --kind stagectl|asyncio|forward|thread --cameras N --out FILE
                               [--outputs-to P1,P2] [--osc-unbundled]

``--outputs-to`` (stagectl): the real OpenTrackIO (CBOR) and OSC senders of
stagectl.unreal, attached to every camera *before* the counting sink (so the latency includes
them), send to 127.0.0.1:P1 and :P2; their sent / dropped counters are saved too.

``--kind forward`` is the asyncio relay that also sends two datagrams per datagram received (460
and 160 bytes: the sizes of stagectl's OpenTrackIO CBOR and bundled OSC for a FreeD sample) to
``--outputs-to``: the least any Python receiver that forwards every sample to two outputs does.
``--osc-unbundled`` makes stagectl's OSC output send one datagram per message.

``--kind count`` is the other end of those outputs, in its own process: it binds two ports,
prints ``ports P1 P2``, counts the datagrams arriving on each (one blocking thread per socket),
and on ``stop`` from stdin waits for stragglers, then prints
``counts N1 N2 KERNEL_DROPS1 KERNEL_DROPS2`` and exits.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
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

from stagectl.config.load import parse_stage
from stagectl.core.links import Endpoint
from stagectl.core.runtime import Runtime
from stagectl.core.samples import CameraSample
from stagectl.stage.pipeline import Sink
from stagectl.stage.runner import StageRunner
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput
from stagectl.unreal.osc_out import OscOutput
from tracking.freed.codec import D1_LENGTH
from tracking.freed.udp import RECEIVE_BUFFER_BYTES
from tracking.udp_source import READ_BUFFER_BYTES

Records = dict[str, npt.NDArray[np.int64]]

#: How long, after the sender stopped, the receiver waits for datagrams still on their way.
STRAGGLER_WAIT_S = 1.0


def camera_name(index: int) -> str:
    """A, B, ... for camera index 0, 1, ..."""
    return chr(ord("A") + index)


def stage_toml(cameras: int, port: int) -> str:
    """A stage file: ``cameras`` cameras, each fed by a freed source on one shared port."""
    lines = ["[stage]", 'name = "bench: tracking pipeline"', 'frame_rate = "24000/1001"']
    for k in range(cameras):
        lines += ["", "[[cameras]]", f'name = "{camera_name(k)}"', "delay_ms = 0"]
    for k in range(cameras):
        lines += ["", "[[sources]]", f'camera = "{camera_name(k)}"', 'protocol = "freed"',
                  f'listen = "127.0.0.1:{port}"', f"camera_id = {k + 1}"]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A UDP port on 127.0.0.1 nobody holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def udp_drops(port: int) -> int:
    """The kernel's drop counter of the UDP socket bound to 127.0.0.1:``port`` (-1 if unknown)."""
    local = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/udp") as table:
            for line in table:
                fields = line.split()
                if len(fields) > 12 and fields[1] == local:
                    return int(fields[12])
    except OSError:
        pass
    return -1


class Receiver(abc.ABC):
    """Something bound to ``port`` that records every datagram it takes."""

    port: int
    io_thread: threading.Thread | None
    """The thread that receives (its CPU time is reported)."""

    def __init__(self) -> None:
        self.camera: list[int] = []
        self.seq: list[int] = []
        self.sink_ns: list[int] = []

    def count(self) -> int:
        """Datagrams recorded so far (any thread)."""
        return len(self.sink_ns)

    def records(self) -> Records:
        """What was recorded, as int64 arrays (camera, seq, sink_ns)."""
        return {"camera": np.array(self.camera, np.int64), "seq": np.array(self.seq, np.int64),
                "sink_ns": np.array(self.sink_ns, np.int64)}

    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped on this socket (a full receive buffer)."""
        return udp_drops(self.port)

    @abc.abstractmethod
    def close(self) -> None:
        """Unbind and stop any thread."""


class StagectlReceiver(Receiver):
    """The real headless ingest path: StageRunner, as ``stagectl run --headless`` starts it."""

    def __init__(self, cameras: int, outputs_to: tuple[int, int] | None = None,
                 osc_bundle: bool = True) -> None:
        super().__init__()
        self.arrival_ns: list[int] = []
        self.outputs: list[OpenTrackIOOutput | OscOutput] = []
        if outputs_to is not None:
            otio, osc = (Endpoint("127.0.0.1", port) for port in outputs_to)
            self.outputs = [OpenTrackIOOutput("bench-otio", otio, encoding="cbor"),
                            OscOutput("bench-osc", osc, bundle=osc_bundle)]
        self.port = free_port()
        self.runner = StageRunner(parse_stage(stage_toml(cameras, self.port)))
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
        if self.outputs:
            out["out_sent"] = np.array([o.sent for o in self.outputs], np.int64)
            out["out_dropped"] = np.array([o.dropped for o in self.outputs], np.int64)
        return out

    def close(self) -> None:
        if self.outputs:
            self.runner.runtime.call_sync(self._async_stop_outputs())
        self.runner.close()


class _RelayProtocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: Receiver) -> None:
        self._camera, self._seq, self._sink_ns = (receiver.camera.append, receiver.seq.append,
                                                  receiver.sink_ns.append)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) == D1_LENGTH:
            self._camera(data[1] - 1)
            self._seq((data[26] << 8) | data[27])
            self._sink_ns(time.monotonic_ns())


class _ForwardProtocol(_RelayProtocol):
    """The relay, forwarding two datagrams per datagram (non-blocking sends, drops counted)."""

    def __init__(self, receiver: AsyncioRelay, socks: list[socket.socket]) -> None:
        super().__init__(receiver)
        self._receiver = receiver
        self._sends = [sock.send for sock in socks]
        self._payloads = [bytes(460), bytes(160)]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) == D1_LENGTH:
            for i in (0, 1):
                try:
                    self._sends[i](self._payloads[i])
                    self._receiver.out_sent[i] += 1
                except OSError:
                    self._receiver.out_dropped[i] += 1
            super().datagram_received(data, addr)


class AsyncioRelay(Receiver):
    """A DatagramProtocol on a stagectl Runtime loop thread: stagectl's transport, none of its code."""

    def __init__(self, outputs_to: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.out_sent, self.out_dropped = [0, 0], [0, 0]
        self._out_socks: list[socket.socket] = []
        for port in outputs_to or ():
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(("127.0.0.1", port))
            self._out_socks.append(sock)
        self.runtime = Runtime("relay-io")
        self.runtime.start()
        self.transport = self.runtime.call_sync(self._async_open())
        self.port = self.transport.get_extra_info("sockname")[1]
        self.io_thread = self.runtime.thread

    async def _async_open(self) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        socks = self._out_socks
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ForwardProtocol(self, socks) if socks else _RelayProtocol(self),
            local_addr=("127.0.0.1", 0))
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                      RECEIVE_BUFFER_BYTES)
        # The same read buffer as stagectl's UdpSource, so the ratio measures stagectl's code and
        # not the 256 KiB asyncio default (an mmap per datagram, see tracking/udp_source.py).
        transport.max_size = READ_BUFFER_BYTES  # type: ignore[attr-defined]
        return transport

    def records(self) -> Records:
        """Also the forwarded datagrams' counters when forwarding."""
        out = super().records()
        if self._out_socks:
            out["out_sent"] = np.array(self.out_sent, np.int64)
            out["out_dropped"] = np.array(self.out_dropped, np.int64)
        return out

    def close(self) -> None:
        self.runtime.call_soon(self.transport.close)
        self.runtime.stop()
        for sock in self._out_socks:
            sock.close()


class ThreadRelay(Receiver):
    """A plain thread in blocking ``recv``: the floor for any Python receiver."""

    def __init__(self) -> None:
        super().__init__()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-thread", daemon=True)
        self._thread.start()
        self.io_thread = self._thread

    def _run(self) -> None:
        recv, mono = self._sock.recv, time.monotonic_ns
        camera, seq, sink_ns = self.camera.append, self.seq.append, self.sink_ns.append
        while not self._stop.is_set():
            data = recv(64)  # blocking, no timeout: a timeout would add a poll() per datagram
            if len(data) == D1_LENGTH:
                camera(data[1] - 1)
                seq((data[26] << 8) | data[27])
                sink_ns(mono())

    def close(self) -> None:
        self._stop.set()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wake:  # an empty datagram ends recv
            wake.sendto(b"", ("127.0.0.1", self.port))
        self._thread.join(1.0)
        self._sock.close()


def make_receiver(kind: str, cameras: int, outputs_to: tuple[int, int] | None = None,
                  osc_bundle: bool = True) -> Receiver:
    """A bound, ready receiver: ``stagectl``, ``asyncio``, ``forward`` or ``thread``."""
    if kind == "stagectl":
        return StagectlReceiver(cameras, outputs_to, osc_bundle)
    if kind == "forward":
        if outputs_to is None:
            raise SystemExit("--kind forward needs --outputs-to")
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


def _count_into(sock: socket.socket, counts: list[int], index: int) -> None:
    recv = sock.recv
    while True:
        if not recv(65536):  # an empty datagram is the stop signal
            return
        counts[index] += 1


def count_outputs() -> int:
    """``--kind count``: the receiving end of the outputs, in its own process."""
    socks = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.bind(("127.0.0.1", 0))
        socks.append(sock)
    ports = [s.getsockname()[1] for s in socks]
    counts = [0, 0]
    threads = [threading.Thread(target=_count_into, args=(sock, counts, i), daemon=True)
               for i, sock in enumerate(socks)]
    for thread in threads:
        thread.start()
    print(f"ports {ports[0]} {ports[1]}", flush=True)
    sys.stdin.readline()  # "stop"
    deadline, last = time.monotonic() + STRAGGLER_WAIT_S, None
    while time.monotonic() < deadline:  # until the counts stop moving
        time.sleep(0.1)
        if counts == last:
            break
        last = list(counts)
    drops = [udp_drops(p) for p in ports]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wake:
        for port in ports:
            wake.sendto(b"", ("127.0.0.1", port))
    for thread in threads:
        thread.join(1.0)
    print(f"counts {counts[0]} {counts[1]} {drops[0]} {drops[1]}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("stagectl", "asyncio", "forward", "thread", "count"),
                        required=True)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--outputs-to", default=None, help="P1,P2: stagectl sends OpenTrackIO / OSC there")
    parser.add_argument("--osc-unbundled", action="store_true", help="stagectl's OSC: a datagram per message")
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
    receiver = make_receiver(args.kind, args.cameras, outputs_to, not args.osc_unbundled)
    try:
        cpu0, faults0 = thread_cpu_s(receiver.io_thread), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        print(f"port {receiver.port}", flush=True)
        command = sys.stdin.readline().split()  # blocks, holding no GIL, while the sender runs
        expected = int(command[1]) if command[:1] == ["expect"] else 0
        deadline = time.monotonic() + STRAGGLER_WAIT_S
        while receiver.count() < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        cpu_s = thread_cpu_s(receiver.io_thread) - cpu0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
        drops = receiver.kernel_drops()
        records = receiver.records()
    finally:
        receiver.close()
    arrays: dict[str, Any] = {**records, "io_cpu_s": np.float64(cpu_s), "page_faults": np.int64(faults),
                              "kernel_drops": np.int64(drops)}
    np.savez(str(args.out), **arrays)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
