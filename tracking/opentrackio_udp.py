"""OpenTrackIO over UDP (unicast or multicast): a datagram source on the I/O loop.

Each datagram goes through, in order: size check (nothing over 65507 bytes is parsed), sender
allow-list, header (magic, encoding, length, Fletcher-16), reassembly of segmented payloads
(bounded: incomplete sets are dropped and counted), payload decode (JSON or CBOR, with size, item
and depth limits that bound its work: a payload over one is refused unbuilt, reason
``too_many_items`` or ``too_deep``), sample validation (types, finite numbers, ranges), then the
sequence check and the camera pipeline. Every failure is counted under a reason and reported at
most once a second per reason; nothing raises out of the handler. Each datagram carries its arrival
time from before any parsing (the kernel's receive stamp on Linux: see
:class:`stagectl.core.platform.DatagramReader`), and the socket is read within a per-wake-up
budget (:data:`tracking.udp_source.WAKE_BUDGET_NS`), so a flood on this port leaves the I/O loop
to every other camera between its reads.

Loss and reordering come from the sample's ``timing.sequenceNumber`` (u32, one per sample);
a sender that omits it is measured by the header's u16 sequence number of the payload's first
datagram, a payload of n segments using n numbers (the reference sender numbers every datagram).
A new ``sourceId`` on the port (a tracker restarted or swapped) starts the numbering afresh.

What the schema accepts is accepted: odd values (a drop-frame flag at 23.976, ...) are kept as sent
and counted under ``warnings_by_reason``; a sample without transforms (lens data, a static block)
feeds the camera's lens and the take but never moves the camera (``no_pose``). Every sample keeps
its decoded map (:class:`stagectl.core.samples.Received`) so outputs and takes pass on what stagectl does
not change.

Multicast: the socket binds the group address and port (so it receives only that group, and
with SO_REUSEADDR can share the port with Unreal on the same machine) and joins the group on
the configured interface.
"""

from __future__ import annotations

import logging
import math
import socket
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.errors import DecodeError
from stagectl.core.events import EventQueue, Level
from stagectl.core.health import SequenceCheck
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.datagram import MAX_DATAGRAM_BYTES, SEQUENCE_MODULUS, parse_datagram
from stagectl.core.opentrackio.model import OpenTrackIOLens, OpenTrackIOSample, OpenTrackIOStatic
from stagectl.core.opentrackio.payload import decode_payload
from stagectl.core.opentrackio.reassembly import Reassembler
from stagectl.core.opentrackio.sample import WARNINGS, parse_sample
from stagectl.core.samples import CameraSample, LensReading, LensValues, Received
from tracking.udp_source import UdpSource

log = logging.getLogger("stagectl.tracking")

SAMPLE_SEQUENCE_MODULUS = 1 << 32
_UNKNOWN_POSE = (math.nan, math.nan, math.nan)
#: Datagrams kept for a take's pre-roll: more than one segmented sample's worth.
PREROLL_DATAGRAMS = 32


class OpenTrackIOUdpSource(UdpSource):
    """Receives OpenTrackIO on ``listen`` (or the multicast ``group`` on ``listen``'s port).

    Attributes:
        static: the newest ``static`` block received (camera, lens and tracker identity), or None.
        reassembler: the segment reassembler (its ``discarded`` counts incomplete payloads).
    """

    protocol = "opentrackio"
    listening_for = "OpenTrackIO"
    receive_buffer_bytes = 4 << 20

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 listen: Endpoint, *, group: str | None = None, interface: str | None = None,
                 source_number: int | None = None, allow: Iterable[str] = (),
                 stale_after_s: float = 0.5) -> None:
        super().__init__(name, camera, clock, events, allow, stale_after_s)
        self.listen = listen
        self.group = group
        self.interface = interface or listen.host
        self.source_number = source_number
        self.static: OpenTrackIOStatic | None = None
        self.reassembler = Reassembler()
        self._discarded_seen = 0
        self._sample_check = SequenceCheck(SAMPLE_SEQUENCE_MODULUS, self.health.stale_after_ns * 2)
        self._header_check = SequenceCheck(SEQUENCE_MODULUS, self.health.stale_after_ns * 2)
        self.health.sequence = self._sample_check  # what health shows; swapped if the sender has none
        self._counter = 0
        self._source_id: str | None = None
        self._recent: deque[tuple[bytes, Any, int]] = deque(maxlen=PREROLL_DATAGRAMS)

    @property
    def description(self) -> str:
        """``OpenTrackIO`` (``multicast`` when joined to a group)."""
        return "OpenTrackIO multicast" if self.group else "OpenTrackIO"

    @property
    def configured_address(self) -> str:
        """``group:port`` for multicast, else the ``listen`` address."""
        return f"{self.group}:{self.listen.port}" if self.group else str(self.listen)

    # --- transport ------------------------------------------------------------------------------

    def _multicast_socket(self) -> socket.socket:
        assert self.group is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.group, self.listen.port))
            membership = socket.inet_aton(self.group) + socket.inet_aton(self.interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def async_start(self) -> None:
        """Bind (and join the group) on the I/O loop; on failure the source is down and says why."""
        if self.group is None:
            await self.async_open_udp(str(self.listen), local=self.listen)
            return
        where = f"group {self.group} on {self.interface}, port {self.listen.port}"
        try:
            sock = self._multicast_socket()
        except OSError as exc:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
            self.bind_failed(message)
            self.events.post(Level.ERROR, self.name, "error", message)
            return
        await self.async_open_udp(where, sock=sock, note=f" (joined {self.group} on {self.interface})")

    def handle(self, data: bytes, addr: Any, arrival_ns: int) -> None:
        """Size, sender, header, reassembly, payload, sample, sequence; then the camera."""
        if len(data) > MAX_DATAGRAM_BYTES:  # cannot come over IPv4 UDP; checked before any parsing
            raise DecodeError("length", f"{len(data)} bytes is over the UDP maximum {MAX_DATAGRAM_BYTES}")
        if not self.sender_allowed(addr):
            return
        self._recent.append((data, addr, arrival_ns))
        header, segment = parse_datagram(data)
        payload = self.reassembler.feed(header, segment, arrival_ns)
        self._count_discarded()
        if payload is None:
            return  # waiting for more segments
        obj = decode_payload(header.encoding, payload)
        sample = parse_sample(obj)
        if self.source_number is not None and sample.source_number != self.source_number:
            raise DecodeError("source_number", f"sourceNumber {sample.source_number}; this source takes "
                              f"{self.source_number}")
        self._note_source(sample.source_id)
        if not self._in_order(sample, arrival_ns):
            return  # late or repeated: counted in health, never delivered (nor its static block)
        static = sample.static
        if static is not None:
            self.static = static
            width, height = static.sensor_width_mm, static.sensor_height_mm
            self.camera.set_tracker_static(obj["static"], (width, height) if width and height else None)
        if sample.translation_m is None or sample.rotation_deg is None:
            self.warn((*sample.warnings, "no_pose"), partial(_warning_detail, sample))
            self._without_pose(sample, obj, arrival_ns)
            return
        if sample.warnings:
            self.warn(sample.warnings, partial(_warning_detail, sample))
        self.health.on_accept(arrival_ns)
        self.camera.push(self._camera_sample(sample, obj, header.sequence, arrival_ns))

    def preroll(self) -> list[tuple[bytes, Any, int]]:
        """The last datagrams received (a take starting now may need their segments)."""
        return list(self._recent)

    def _count_discarded(self) -> None:
        discarded = self.reassembler.discarded
        if discarded != self._discarded_seen:
            for _ in range(discarded - self._discarded_seen):
                self.reject("incomplete", "an incomplete segmented payload was discarded")
            self._discarded_seen = discarded

    def _note_source(self, source_id: str | None) -> None:
        """A new ``sourceId`` is a new tracker (or a restarted one): its numbers start afresh."""
        if source_id is None or source_id == self._source_id:
            return
        if self._source_id is not None:
            self._sample_check.restart()
            self._header_check.restart()
            self.events.post(Level.INFO, self.name, "state",
                             f"new tracker: sourceId {source_id} (was {self._source_id}); sequence numbers "
                             "start afresh")
        self._source_id = source_id

    def _in_order(self, sample: OpenTrackIOSample, arrival_ns: int) -> bool:
        if sample.sequence_number is not None:
            self.health.sequence = self._sample_check
            return self._sample_check.check(sample.sequence_number, arrival_ns)
        # No sample number: the header's, of the payload's first datagram. The reference sender numbers
        # every datagram, so a payload of n segments uses n numbers (a sender numbering payloads: 1).
        self.health.sequence = self._header_check
        reassembler = self.reassembler
        span = reassembler.completed_segments if reassembler.numbering == "per_datagram" else 1
        return self._header_check.check(reassembler.completed_sequence, arrival_ns, span)

    def _without_pose(self, s: OpenTrackIOSample, obj: dict[str, Any], arrival_ns: int) -> None:
        """A schema-valid sample without a usable pose (no ``transforms``: lens data, a static block; or
        transforms too large to compose): kept, not a pose.

        Its lens values reach the camera like a lens encoder's reading, the take records it (pose
        unknown) and it is counted under warnings as ``no_pose``; it never moves the camera."""
        lens = s.lens
        if lens is not None:
            self.camera.lens_reading(LensReading(
                self.name, arrival_ns, lens.raw_focus, lens.raw_iris, lens.raw_zoom, lens.focus_distance_m,
                lens.t_stop, lens.pinhole_focal_length_mm, lens.entrance_pupil_offset_m))
        self.camera.record_only(self._camera_sample(s, obj, -1, arrival_ns))

    def _camera_sample(self, s: OpenTrackIOSample, obj: dict[str, Any], header_sequence: int,
                       arrival_ns: int) -> CameraSample:
        lens = s.lens
        self._counter += 1
        if s.timecode is not None:
            timecode, timecode_source = s.timecode, "tracker"
        else:
            timecode, timecode_source = self.clock.timecode_at(arrival_ns), "stage"
        extra: dict[str, int | float | str] = {"header_sequence": header_sequence}
        if s.source_id:
            extra["source_id"] = s.source_id
        if s.tracker_status:
            extra["tracker_status"] = s.tracker_status
        translation = s.translation_m or _UNKNOWN_POSE
        rotation = s.rotation_deg or _UNKNOWN_POSE
        values = lens_values(lens) if lens else None
        return CameraSample(
            camera=self.camera.name,
            source=self.name,
            arrival_ns=arrival_ns,
            translation_m=translation,
            rotation_deg=rotation,
            zoom_raw=lens.raw_zoom if lens else None,
            focus_raw=lens.raw_focus if lens else None,
            iris_raw=lens.raw_iris if lens else None,
            sequence=s.sequence_number if s.sequence_number is not None else self._counter,
            timecode=timecode,
            device_id=s.source_number,
            extra=extra,
            lens=values,
            sample_time_ns=s.sample_time_ns,
            timecode_source=timecode_source,
            tracker_timecode=s.timecode_label,
            sample_timestamp=s.sample_timestamp,
            received=Received("opentrackio", obj, translation, rotation, values, s.warnings),
        )


def _warning_detail(sample: OpenTrackIOSample, reason: str) -> str:
    """What is odd under ``reason``, for the event: the timecode as sent and what it counts as, else what
    the reason means (``WARNINGS``)."""
    label = sample.timecode_label
    if reason.startswith("timecode_") and label is not None:
        return f"{WARNINGS.get(reason, reason)}: {label} at {label.rate} fps counts as {sample.timecode}"
    return WARNINGS.get(reason, reason)


def lens_values(lens: OpenTrackIOLens) -> LensValues:
    """The camera-sample view of an OpenTrackIO lens block (first distortion entry)."""
    first = lens.distortion[0] if lens.distortion else None
    encoders = (lens.encoder_focus, lens.encoder_iris, lens.encoder_zoom)
    return LensValues(
        focal_length_mm=lens.pinhole_focal_length_mm,
        focus_distance_m=lens.focus_distance_m,
        f_stop=lens.f_stop,
        t_stop=lens.t_stop,
        entrance_pupil_offset_m=lens.entrance_pupil_offset_m,
        encoders=None if encoders == (None, None, None) else encoders,
        distortion_model=first.model if first else None,
        radial=first.radial if first else (),
        tangential=first.tangential if first else (),
        projection_offset_mm=lens.projection_offset_mm,
    )
