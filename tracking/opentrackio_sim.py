"""A simulated tracked camera sent as real OpenTrackIO datagrams (JSON or CBOR, uni- or multicast).

The pose is :class:`tracking.simulator.MotionModel`'s (already in OpenTrackIO's frame, so it is
sent unchanged). Its raw zoom and focus become a plausible 24-70 mm zoom lens: the focal length
runs geometrically from 24 mm (zoom encoder 0, wide) to 70 mm (1, tele), and the focus encoder
f (1 = closest) gives a focus distance of 0.5 m / f (f = 0 would be infinity: the field is then
left out). ``sampleTimestamp`` is the wall clock (``time.time_ns()``): it stands in for the PTP
time a real tracker would stamp, so ``synchronization`` is not sent. Timecode comes from a
:class:`StageClock` at ``rate_hz`` when that is a standard video rate, else at 25 fps.
Every sample carries the camera pose, lens and timing; about every 2 s one also carries the
``static`` block (camera, lens, tracker, sensor size), as the OpenTrackIO documentation advises.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import time
import uuid
from fractions import Fraction
from typing import Any, Literal

from stagectl.core.clock import StageClock
from stagectl.core.links import Endpoint
from stagectl.core.logutil import swallowed
from stagectl.core.opentrackio.build import PROTOCOL_NAME, PROTOCOL_VERSION, timecode_map
from stagectl.core.opentrackio.datagram import (
    DEFAULT_MTU,
    ENCODING_CBOR,
    ENCODING_JSON,
    SEQUENCE_MODULUS,
    encode_datagrams,
)
from stagectl.core.opentrackio.model import (
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOStatic,
    OpenTrackIOTransform,
    rational_json,
)
from stagectl.core.opentrackio.payload import encode_payload
from stagectl.core.opentrackio.rates import STANDARD_RATES
from stagectl.core.opentrackio.static import build_static
from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.label import TimecodeLabel
from stagectl.core.version import __version__
from tracking.schedule import async_paced_ticks
from tracking.simulator import RAW_RANGE, MotionModel, SimulatedPose

FALLBACK_RATE = FrameRate(Fraction(25))
STATIC_INTERVAL_S = 2.0
WIDE_MM, TELE_MM = 24.0, 70.0
CLOSEST_FOCUS_M = 0.5
#: Sensor of the simulated camera: full-frame width, 16:9 UHD.
SENSOR_MM = (36.0, 20.25)
SENSOR_PX = (3840, 2160)
_ENCODINGS = {"json": ENCODING_JSON, "cbor": ENCODING_CBOR}

log = logging.getLogger("stagectl.tracking")


_URN_RANDOM = random.Random()  # sample ids are unique per sample, not secrets: no system call each


def _random_urn() -> str:
    """A random (version 4) ``urn:uuid:`` as uuid.uuid4 makes, from a seeded generator."""
    n = (_URN_RANDOM.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def simulated_lens(pose: SimulatedPose) -> OpenTrackIOLens:
    """The simulated 24-70 mm lens at ``pose``'s raw zoom and focus counts.

    Distortion: OpenCV-style k1 (barrel at the wide end) and k2, converted to OpenTrackIO's
    (OpenLensIO) coefficients as l1 = k1 / F**2, l3 = k2 / F**4 with F the focal length in mm and
    the denominator term l2 = 0, model "Brown-Conrady U-D": OpenCV's direction (undistorted ->
    distorted), named explicitly because OpenTrackIO's default is the other one (see
    lens/interchange.py).
    """
    zoom, focus, focal_mm, radial = _lens_numbers(pose)
    return OpenTrackIOLens(
        pinhole_focal_length_mm=focal_mm,
        focus_distance_m=CLOSEST_FOCUS_M / focus if focus > 0.0 else None,
        f_stop=2.8,
        t_stop=2.9,
        entrance_pupil_offset_m=0.12 - 0.05 * zoom,
        encoder_focus=focus,
        encoder_iris=0.0,
        encoder_zoom=zoom,
        raw_focus=pose.focus_raw,
        raw_iris=0,
        raw_zoom=pose.zoom_raw,
        distortion=(LensDistortion(radial, (), "Brown-Conrady U-D"),),
    )


def _lens_numbers(pose: SimulatedPose) -> tuple[float, float, float, tuple[float, float, float]]:
    """(zoom 0..1, focus 0..1, focal length mm, radial l1 l2 l3) of :func:`simulated_lens`."""
    zoom = pose.zoom_raw / RAW_RANGE
    focus = pose.focus_raw / RAW_RANGE
    focal_mm = WIDE_MM * (TELE_MM / WIDE_MM) ** zoom
    k1, k2 = -0.08 * (1.0 - zoom) + 0.01, 0.02
    return zoom, focus, focal_mm, (k1 / focal_mm**2, 0.0, k2 / focal_mm**4)


class _Counter(asyncio.DatagramProtocol):
    def __init__(self, owner: OpenTrackIOSimulator) -> None:
        self.owner = owner

    def error_received(self, exc: Exception) -> None:  # nobody listening yet (ICMP refused)
        self.owner.count_send_error(exc)


def send_error_reason(exc: BaseException, destination: tuple[str, int]) -> str:
    """What a refused send means, in words: the errno text, and for a refusal that nothing listens."""
    where = f"{destination[0]}:{destination[1]}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused: nothing listens on {where}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror[:1].lower()}{exc.strerror[1:]} (sending to {where})"
    return f"{type(exc).__name__}: {exc} (sending to {where})"


class OpenTrackIOSimulator:
    """Sends one simulated camera as OpenTrackIO to ``target`` at ``rate_hz``.

    Unicast: to ``target``. Multicast: with ``group`` (e.g. 239.135.1.1) datagrams go to
    (``group``, ``target.port``) out of the interface whose address is ``target.host``, with
    IP_MULTICAST_TTL ``ttl`` and loopback on (so a receiver on this machine hears them).

    Runs on an asyncio loop on an absolute schedule (no drift); if the loop falls behind by more
    than ``max_lag_s`` the schedule skips ahead instead of bursting.

    Attributes:
        sent: datagrams sent. skipped_ticks: samples skipped to catch up.
        send_errors: sends the network refused. send_errors_by_reason: the same by reason
            (:func:`send_error_reason`, e.g. "connection refused: nothing listens on 127.0.0.1:N").
            source_id: this simulator's ``urn:uuid:``.
        next_sequence: header sequence number of the next datagram (one per datagram, as
            camdkit's reference sender numbers them).
    """

    def __init__(self, target: Endpoint, rate_hz: float = 50.0, encoding: Literal["json", "cbor"] = "json",
                 group: str | None = None, ttl: int = 1, source_number: int = 1, model_index: int = 0,
                 max_lag_s: float = 0.25, mtu: int = DEFAULT_MTU) -> None:
        if not 0.1 <= rate_hz <= 1000.0:
            raise ValueError(f"rate {rate_hz} Hz is outside 0.1..1000")
        if encoding not in _ENCODINGS:
            raise ValueError(f"encoding {encoding!r} is not 'json' or 'cbor'")
        if not 1 <= source_number <= 200:
            raise ValueError(f"source number {source_number} is outside 1..200 (OpenTrackIO reserves "
                             "the rest)")
        if not 0 <= ttl <= 255:
            raise ValueError(f"TTL {ttl} is outside 0..255")
        if group is not None:
            try:
                is_multicast = ipaddress.IPv4Address(group).is_multicast
            except ValueError:
                is_multicast = False
            if not is_multicast:
                raise ValueError(f"group {group!r} is not an IPv4 multicast address (e.g. 239.135.1.1)")
            if ":" in target.host:
                raise ValueError(f"{target.host}: with a group, the host is the IPv4 address of the "
                                 "interface to send from")
        self.target = target
        self.rate_hz = rate_hz
        self.encoding = _ENCODINGS[encoding]
        self.group = group
        self.ttl = ttl
        self.source_number = source_number
        self.model = MotionModel(model_index)
        self.max_lag_s = max_lag_s
        self.mtu = mtu
        self.sample_rate = FrameRate.parse(rate_hz).rate
        standard = self.sample_rate in STANDARD_RATES
        self.timecode_rate = FrameRate(self.sample_rate) if standard else FALLBACK_RATE
        self.clock = StageClock(self.timecode_rate)
        self.static_every = max(1, round(STATIC_INTERVAL_S * rate_hz))
        self.source_id = f"urn:uuid:{uuid.uuid4()}"
        self.static = OpenTrackIOStatic(
            camera_make="stagectl", camera_model="Simulated camera", camera_serial=f"SIM-{source_number:03d}",
            capture_frame_rate=self.timecode_rate.rate, sensor_width_mm=SENSOR_MM[0],
            sensor_height_mm=SENSOR_MM[1], sensor_width_px=SENSOR_PX[0], sensor_height_px=SENSOR_PX[1],
            lens_make="stagectl", lens_model="Simulated 24-70mm zoom", tracker_make="stagectl",
            tracker_model="OpenTrackIO simulator", tracker_firmware=__version__)
        self._static_map = build_static(self.static)
        self._rate_map = rational_json(self.sample_rate)
        self.sent = 0
        self.skipped_ticks = 0
        self.send_errors = 0
        self.send_errors_by_reason: dict[str, int] = {}
        self.next_sequence = 0

    @property
    def destination(self) -> tuple[str, int]:
        """Where datagrams go: (group, port) for multicast, else the target."""
        return (self.group or self.target.host, self.target.port)

    def sample_at(self, tick: int, wall_time_ns: int | None = None,
                  monotonic_ns: int | None = None) -> OpenTrackIOSample:
        """Sample number ``tick`` (at ``tick / rate_hz`` s); clocks default to now."""
        pose = self.model.pose(tick / self.rate_hz)
        wall = time.time_ns() if wall_time_ns is None else wall_time_ns
        mono = time.monotonic_ns() if monotonic_ns is None else monotonic_ns
        camera = OpenTrackIOTransform(pose.translation_m, pose.rotation_deg, transform_id="Camera")
        return OpenTrackIOSample(
            translation_m=pose.translation_m, rotation_deg=pose.rotation_deg, transforms=(camera,),
            lens=simulated_lens(pose), timing_mode="internal", sample_rate=self.sample_rate,
            sample_time_ns=wall, sequence_number=tick % (1 << 32), timecode=self.clock.timecode_at(mono),
            source_id=self.source_id, sample_id=f"urn:uuid:{uuid.uuid4()}", source_number=self.source_number,
            protocol_name=PROTOCOL_NAME, protocol_version=PROTOCOL_VERSION, tracker_status="Simulated",
            static=self.static if tick % self.static_every == 0 else None)

    def sample_map_at(self, tick: int, wall_time_ns: int | None = None,
                      monotonic_ns: int | None = None) -> dict[str, Any]:
        """The OpenTrackIO map of sample ``tick``: ``build_sample(sample_at(...))``, built directly (the
        same keys in the same order; a new random ``sampleId``). A sender's cost per sample, kept low:
        the demo stage runs one all day."""
        pose = self.model.pose(tick / self.rate_hz)
        wall = time.time_ns() if wall_time_ns is None else wall_time_ns
        mono = time.monotonic_ns() if monotonic_ns is None else monotonic_ns
        zoom, focus, focal_mm, radial = _lens_numbers(pose)
        lens: dict[str, Any] = {"pinholeFocalLength": focal_mm}
        if focus > 0.0:
            lens["focusDistance"] = CLOSEST_FOCUS_M / focus
        lens.update({
            "fStop": 2.8, "tStop": 2.9, "entrancePupilOffset": 0.12 - 0.05 * zoom,
            "encoders": {"focus": focus, "iris": 0.0, "zoom": zoom},
            "rawEncoders": {"focus": pose.focus_raw, "iris": 0, "zoom": pose.zoom_raw},
            "distortion": [{"radial": list(radial), "model": "Brown-Conrady U-D"}]})
        seconds, nanoseconds = divmod(wall, 1_000_000_000)
        (x, y, z), (pan, tilt, roll) = pose.translation_m, pose.rotation_deg
        out: dict[str, Any] = {}
        if tick % self.static_every == 0:
            out["static"] = self._static_map
        out["tracker"] = {"status": "Simulated"}
        out["timing"] = {"mode": "internal", "sampleRate": self._rate_map,
                         "sampleTimestamp": {"seconds": seconds, "nanoseconds": nanoseconds},
                         "sequenceNumber": tick % (1 << 32),
                         "timecode": timecode_map(TimecodeLabel.of(self.clock.timecode_at(mono), None))}
        out["lens"] = lens
        out["protocol"] = {"name": PROTOCOL_NAME, "version": list(PROTOCOL_VERSION)}
        out["sampleId"] = _random_urn()
        out["sourceId"] = self.source_id
        out["sourceNumber"] = self.source_number
        out["transforms"] = [{"translation": {"x": x, "y": y, "z": z},
                              "rotation": {"pan": pan, "tilt": tilt, "roll": roll}, "id": "Camera"}]
        return out

    def packets_at(self, tick: int, wall_time_ns: int | None = None,
                   monotonic_ns: int | None = None) -> list[bytes]:
        """The datagrams of sample ``tick``; advances the header sequence number by their count."""
        payload = encode_payload(self.sample_map_at(tick, wall_time_ns, monotonic_ns), self.encoding)
        packets = encode_datagrams(payload, self.encoding, self.next_sequence, self.mtu)
        self.next_sequence = (self.next_sequence + len(packets)) % SEQUENCE_MODULUS
        return packets

    def open_socket(self) -> socket.socket:
        """A non-blocking UDP socket set up for the destination (multicast options with ``group``)."""
        family = socket.AF_INET6 if ":" in self.target.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if self.group is not None:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.target.host))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            else:
                sock.connect(self.destination)  # so ICMP "refused" comes back as error_received
        except BaseException:
            sock.close()
            raise
        return sock

    def _skipped(self, ticks: int) -> None:
        self.skipped_ticks += ticks

    def count_send_error(self, exc: BaseException) -> None:
        """Count a refused send, by its reason."""
        self.send_errors += 1
        reason = send_error_reason(exc, self.destination)
        self.send_errors_by_reason[reason] = self.send_errors_by_reason.get(reason, 0) + 1

    async def async_run(self, duration_s: float | None = None) -> None:
        """Send until cancelled or ``duration_s`` elapsed."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Counter(self), sock=self.open_socket())
        destination = self.destination if self.group is not None else None
        try:
            async for tick in async_paced_ticks(self.rate_hz, duration_s, self.max_lag_s, self._skipped):
                for packet in self.packets_at(tick):
                    try:
                        transport.sendto(packet, destination)
                        self.sent += 1
                    except OSError as exc:
                        self.count_send_error(exc)
        finally:
            with swallowed(log, "closing a simulator's socket"):
                transport.close()
