"""The floor of the hot path: the least a Python receiver does to turn FreeD into OpenTrackIO.

``--kind floor`` of bench/_receivers.py, the third phase of ``bench/tracking_pipeline.py --opentrackio
--floor``. It reads the socket as stagectl does (``add_reader`` on a stagectl Runtime loop, the datagrams
waiting drained in one wake-up through stagectl's :class:`~stagectl.core.platform.DatagramReader`, kernel
stamps and all), and for each datagram does only what no FreeD -> OpenTrackIO receiver can leave out,
with stagectl's own fastest pieces:

* check and decode the D1 (:func:`tracking.freed.codec.decode_d1_datagram`: length, type, checksum,
  the eight 24-bit fields);
* put the pose, in metres and degrees, into a CBOR payload of the size stagectl sends
  (:data:`PAYLOAD_BYTES`; the rest of it constant bytes, so nothing else is encoded) with the output's
  pre-built ``transforms`` packer;
* frame it as one OpenTrackIO datagram with its Fletcher-16 (:func:`single_datagram`) and send it to the
  counter, non-blocking, drops counted;
* record camera, tick and clock as the other receivers do.

No sample object, no health, no pipeline, no plot ring, no take, no timecode, no sample id: what is
left between this floor and stagectl is what stagectl does with a sample. Against the bare forwarder
it shows what Python itself costs for the transcoding the goal asks for.
"""

from __future__ import annotations

import asyncio
import socket
import time

import numpy as np
from _relays import Receiver, Records

from stagectl.core.opentrackio.datagram import ENCODING_CBOR
from stagectl.core.platform import DatagramReader
from stagectl.core.runtime import Runtime
from stagectl.unreal.opentrackio_fast import single_datagram
from stagectl.unreal.opentrackio_parts import CBOR_T, CBOR_TRANSFORMS
from tracking.freed.codec import decode_d1_datagram
from tracking.freed.udp import RECEIVE_BUFFER_BYTES
from tracking.udp_source import MAX_DATAGRAMS_PER_WAKE, READ_BUFFER_BYTES

#: CBOR bytes per sample: about what stagectl's OpenTrackIO output sends for a FreeD camera.
PAYLOAD_BYTES = 460
_T = CBOR_T
_FILLER = bytes(PAYLOAD_BYTES - len(CBOR_TRANSFORMS(_T[0], 0.0, _T[1], 0.0, _T[2], 0.0, _T[3], 0.0, _T[4],
                                                    0.0, _T[5], 0.0, _T[6])))


class TranscodeFloor(Receiver):
    """FreeD in, one framed OpenTrackIO CBOR datagram out per datagram, to 127.0.0.1:``port_out``."""

    def __init__(self, port_out: int) -> None:
        super().__init__()
        self.out_sent, self.out_dropped = [0, 0], [0, 0]
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._out.connect(("127.0.0.1", port_out))
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self._reader = DatagramReader(self._sock, READ_BUFFER_BYTES)
        self._sequence = 0
        self._record = (self.camera.append, self.seq.append, self.sink_ns.append, time.monotonic_ns)
        self.runtime = Runtime("floor-io")
        self.runtime.start()
        self.runtime.call_sync(self._async_watch())
        self.io_thread = self.runtime.thread

    async def _async_watch(self) -> None:
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._drain)

    def _drain(self) -> None:
        read = self._reader.read
        for _ in range(MAX_DATAGRAMS_PER_WAKE):
            try:
                data, _addr, _arrival_ns = read()
            except (BlockingIOError, InterruptedError):
                return
            self._transcode(data)

    def _transcode(self, data: bytes) -> None:
        p = decode_d1_datagram(data)
        payload = _FILLER + CBOR_TRANSFORMS(_T[0], p.x_mm / 1000.0, _T[1], p.y_mm / 1000.0, _T[2],
                                            p.z_mm / 1000.0, _T[3], p.pan_deg, _T[4], p.tilt_deg, _T[5],
                                            p.roll_deg, _T[6])
        self._sequence = sequence = (self._sequence + 1) & 0xFFFF
        try:
            self._out.send(single_datagram(payload, ENCODING_CBOR, sequence))
            self.out_sent[0] += 1
        except OSError:
            self.out_dropped[0] += 1
        camera, seq, sink_ns, clock = self._record
        camera(p.camera_id - 1)
        seq(p.spare)
        sink_ns(clock())

    def records(self) -> Records:
        """Also the sent datagrams' counters, as the forwarder's."""
        out = super().records()
        out["out_sent"] = np.array(self.out_sent, np.int64)
        out["out_dropped"] = np.array(self.out_dropped, np.int64)
        return out

    def close(self) -> None:
        def unwatch() -> None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())

        self.runtime.call_soon(unwatch)
        self.runtime.stop()
        self._sock.close()
        self._out.close()
