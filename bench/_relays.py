"""The baselines of bench/tracking_pipeline.py (bare relays and forwarders) and the counter its outputs
send to; see bench/_receivers.py, which runs them each in a process of its own."""

from __future__ import annotations

import abc
import asyncio
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stagectl.core.runtime import Runtime
from tracking.freed.codec import D1_LENGTH
from tracking.freed.udp import RECEIVE_BUFFER_BYTES
from tracking.udp_source import READ_BUFFER_BYTES

Records = dict[str, npt.NDArray[np.int64]]

#: How long, after the sender stopped, the counter waits for datagrams still on their way.
STRAGGLER_WAIT_S = 1.0


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


class _EchoProtocol(_RelayProtocol):
    """The bare forwarder: each datagram received is sent on as it came (non-blocking, drops counted)."""

    def __init__(self, receiver: AsyncioRelay, sock: socket.socket) -> None:
        super().__init__(receiver)
        self._receiver = receiver
        self._send = sock.send

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) == D1_LENGTH:
            try:
                self._send(data)
                self._receiver.out_sent[0] += 1
            except OSError:
                self._receiver.out_dropped[0] += 1
            super().datagram_received(data, addr)


class AsyncioRelay(Receiver):
    """A DatagramProtocol on a stagectl Runtime loop thread: stagectl's transport, none of its code."""

    def __init__(self, outputs_to: tuple[int, ...] | None = None) -> None:
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
        def protocol() -> _RelayProtocol:
            if len(socks) == 1:
                return _EchoProtocol(self, socks[0])
            return _ForwardProtocol(self, socks) if socks else _RelayProtocol(self)

        transport, _ = await loop.create_datagram_endpoint(protocol, local_addr=("127.0.0.1", 0))
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


