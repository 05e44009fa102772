"""OpenTrackIO output: every delivered camera sample as OpenTrackIO datagrams (to Unreal's Live Link).

One :class:`OpenTrackIOOutput` is one UDP target (unicast, or a multicast group out of a chosen
interface) carrying one or more cameras. Per camera, each sample the pipeline delivers (after
lens solve and delay line) becomes one OpenTrackIO sample:

* ``transforms``: one entry, id ``"Camera"``, the pose unchanged (stagectl's internal frame *is*
  OpenTrackIO's: metres, degrees, Z up, Y forward, X right, pan positive to the left).
* ``lens``: ``pinholeFocalLength`` (mm), ``focusDistance`` (m; left out at infinity),
  ``fStop``, ``tStop``, ``entrancePupilOffset`` (m), ``encoders`` (0..1), ``rawEncoders``
  (the tracker's/lens encoder's raw counts), ``distortion`` (the solver's OpenTrackIO-form
  coefficients with their model, normally ``"Brown-Conrady U-D"``; else converted from
  ``brown_conrady`` by lens.interchange), ``projectionOffset`` (mm). Values a receiver would
  reject (NaN, a stop <= 0, an encoder outside 0..1 by more than rounding) are left out.
* ``timing``: ``sequenceNumber`` (this output's per-camera sample counter, u32, so a receiver's
  loss count is about this link), ``timecode`` from the sample, ``sampleTimestamp`` from
  ``sample_time_ns`` when the tracker sent one (with ``mode = "internal"``; nothing is invented
  when it did not), ``sampleRate`` measured from the camera's sample arrivals over >= 2 s
  windows and snapped to the nearest standard video rate or integer within 400 ppm (left out
  until measured, and after a pause of 0.5 s until measured again).
* ``sourceId`` (``urn:uuid:``, stable per host, output and camera, so Live Link keeps the same
  source across restarts), ``sourceNumber`` (from ``source_numbers``, else 1, 2, ... in the
  order cameras were attached), ``sampleId`` (a fresh ``urn:uuid:``), ``protocol``.
* ``static`` about every ``static_every_s`` (and on the first sample): ``static_for(camera, base,
  changed)`` (the stage lays the camera's lens file identity and film back over the tracker's newest
  static block), with ``camera.label`` = the camera's name filled in when missing.

A sample that came from an OpenTrackIO tracker (``CameraSample.received``) is relayed instead:
everything the tracker sent passes through untouched (static, tracker, timing, the transform chain,
every distortion entry, ``custom``, ``globalStage``, keys stagectl does not know), and what stagectl
changes is replaced where consumers look for it, the tracker's value kept in
``custom.stagectl.changed`` (tracking.opentrackio_merge): its sample identity (``sourceId``,
``sourceNumber``, ``sampleId``, ``protocol``, ``timing.sequenceNumber``; the tracker's ``sampleId``
is also appended to ``relatedSampleIds``), the lens values the pipeline changed (a lens file's
solve, a lens encoder's reading), the film back and lens identity in ``static``, and a smoothed pose
(as a transform appended to the chain). A static block the tracker sent goes out with that sample.

Payloads over ``mtu - 16`` bytes are segmented like camdkit's reference sender; the header
sequence number counts datagrams per output (one counter for all its cameras, because a
receiver reassembles by (encoding, sequence) whatever the source).

Sending is :class:`stagectl.unreal.udp_out.UdpSender`'s: non-blocking, tried once, drops counted
by reason. An unencodable sample (a non-finite pose) is counted as ``non_finite`` and not sent.

Measured per-sample cost of the sink (build + encode + checksum + one ``send`` to a loopback
socket nobody reads; CPython 3.11, development machine, best of 5 x 20 000): lens-solved sample
with distortion and timecode, 780 bytes, CBOR ~22 µs, JSON ~28 µs; a bare pose, CBOR ~10 µs,
JSON ~15 µs. CBOR goes through :meth:`OpenTrackIOOutput.encode_cbor` (constant parts encoded
once per camera, the transform packed by one ``struct`` call: cbor2 costs ~0.2 µs per item) and
single-datagram payloads through :func:`single_datagram` (checksum as one numpy dot product).
See ``bench/tracking_pipeline.py --outputs``.
"""

from __future__ import annotations

import json
import math
import socket as socket_module
import struct
import uuid
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import cbor2
import numpy as np

from lens.interchange import brown_conrady_to_opentrackio
from stagectl.config_model import Endpoint
from stagectl.samples import CameraSample, LensValues, Received
from stagectl.unreal.udp_out import UdpOutput, UdpSender
from tracking.opentrackio import (
    DEFAULT_DISTORTION_MODEL,
    ENCODING_CBOR,
    ENCODING_JSON,
    HEADER_LENGTH,
    PROTOCOL_NAME,
    PROTOCOL_VERSION,
    encode_datagrams,
)
from tracking.opentrackio_merge import REMOVED, append_correction, overlay, with_notes

Sink = Callable[[CameraSample], None]
StaticFor = Callable[[str, Mapping[str, Any] | None, dict[str, Any]], dict[str, Any] | None]
"""(camera, the tracker's static block as sent or None, changed) -> the static block to send."""
ENCODINGS = {"json": ENCODING_JSON, "cbor": ENCODING_CBOR}
REASON_NON_FINITE = "non_finite"
REASON_ENCODE = "encode"
#: Rates a sample rate is snapped to when the measured one is within RATE_SNAP of it.
STANDARD_RATES = tuple(Fraction(n, d) for n, d in (
    (24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1), (48, 1), (50, 1), (60000, 1001), (60, 1),
    (100, 1), (120000, 1001), (120, 1)))
RATE_SNAP = 0.0004
RATE_WINDOW_NS = 2_000_000_000
RATE_GAP_NS = 500_000_000
_U32 = 1 << 32
_SEQUENCE_MODULUS = 1 << 16
_PROTOCOL = {"name": PROTOCOL_NAME, "version": list(PROTOCOL_VERSION)}
_NS = 1_000_000_000
_CBOR_MAP_HEADS = [bytes((0xA0 + n,)) for n in range(24)]
_CBOR_TIMING_KEY = cbor2.dumps("timing")
_CBOR_LENS_KEY = cbor2.dumps("lens")
_CBOR_STATIC_KEY = cbor2.dumps("static")


_MAX_SEGMENT = 0x7FFF
_HEAD = struct.Struct(">BHIH")
#: Column 0 sums the bytes (Fletcher-16's first sum); column 1 weights byte i of n by n - i (the
#: second sum, which adds the running first sum after every byte).
_WEIGHTS = np.stack([np.ones(_MAX_SEGMENT + HEADER_LENGTH, np.int64),
                     np.arange(_MAX_SEGMENT + HEADER_LENGTH, 0, -1, dtype=np.int64)], axis=1)


def single_datagram(payload: bytes, encoding: int, sequence: int) -> bytes:
    """One last-and-only segment (payload <= 32767 bytes): the same bytes as
    ``encode_datagrams(payload, encoding, sequence)[0]``, with both Fletcher-16 (modulus 256) sums
    from one numpy product against cached weights (~2 µs for 500 bytes against ~6 µs in Python)."""
    head = b"OTrk\x00" + _HEAD.pack(encoding, sequence, 0, 0x8000 | len(payload))
    data = head + payload
    first, second = (np.frombuffer(data, np.uint8) @ _WEIGHTS[-len(data):]).tolist()
    return head + bytes((second & 0xFF, first & 0xFF)) + payload


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    n = len(raw)
    return (bytes((0x60 + n,)) if n < 24 else bytes((0x78, n))) + raw if n < 256 else cbor2.dumps(text)


def _cbor_transform_template() -> tuple[list[bytes], Callable[..., bytes]]:
    """``transforms`` = [{"translation": {x, y, z}, "rotation": {pan, tilt, roll}, "id": "Camera"}] as
    CBOR, split around its six float64 values (major type 7, 0xFB), and a packer for the whole."""
    t = cbor2.dumps
    f64 = b"\xfb"
    consts = [t("transforms") + b"\x81\xa3" + t("translation") + b"\xa3" + t("x") + f64,
              t("y") + f64, t("z") + f64, t("rotation") + b"\xa3" + t("pan") + f64, t("tilt") + f64,
              t("roll") + f64, t("id") + t("Camera")]
    fmt = ">" + "d".join(f"{len(c)}s" for c in consts)
    return consts, struct.Struct(fmt).pack


(_CBOR_T0, _CBOR_T1, _CBOR_T2, _CBOR_T3, _CBOR_T4, _CBOR_T5, _CBOR_T6), _CBOR_TRANSFORMS = \
    _cbor_transform_template()


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def snap_rate(rate_hz: float) -> Fraction:
    """A measured rate as an exact one: the nearest standard video rate within 400 ppm (24 and
    24000/1001 are 1000 ppm apart), else an integer within 400 ppm, else rounded to 1/1000."""
    nearest = min(STANDARD_RATES, key=lambda r: abs(rate_hz - float(r)))
    if abs(rate_hz - float(nearest)) <= RATE_SNAP * float(nearest):
        return nearest
    whole = round(rate_hz)
    if whole and abs(rate_hz - whole) <= RATE_SNAP * whole:
        return Fraction(whole)
    return Fraction(round(rate_hz * 1000), 1000)


def _positive(value: float | None) -> bool:
    return value is not None and 0.0 < value < math.inf


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def lens_block(lens: LensValues | None, raw: tuple[int | None, int | None, int | None]) -> dict[str, Any]:
    """OpenTrackIO's ``lens`` map of solved values and raw (focus, iris, zoom) counts ({} for nothing)."""
    out: dict[str, Any] = {}
    if lens is not None:
        focal = lens.focal_length_mm
        if _positive(focal):
            out["pinholeFocalLength"] = focal
        if _positive(lens.focus_distance_m):
            out["focusDistance"] = lens.focus_distance_m
        if _positive(lens.f_stop):
            out["fStop"] = lens.f_stop
        if _positive(lens.t_stop):
            out["tStop"] = lens.t_stop
        if _finite(lens.entrance_pupil_offset_m):
            out["entrancePupilOffset"] = lens.entrance_pupil_offset_m
        if lens.encoders is not None:
            encoders = {name: min(1.0, max(0.0, value)) for name, value in zip(("focus", "iris", "zoom"),
                                                                                 lens.encoders, strict=True)
                        if value is not None and -1e-6 <= value <= 1.0 + 1e-6}
            if encoders:
                out["encoders"] = encoders
        distortion = _distortion(lens)
        if distortion is not None:
            out["distortion"] = [distortion]
        offset = lens.projection_offset_mm
        if offset is not None and _finite(offset[0]) and _finite(offset[1]):
            out["projectionOffset"] = {"x": offset[0], "y": offset[1]}
    counts = {name: value for name, value in zip(("focus", "iris", "zoom"), raw, strict=True)
              if value is not None and 0 <= value < _U32}
    if counts:
        out["rawEncoders"] = counts
    return out


def _raw_of(payload: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(focus, iris, zoom) ``lens.rawEncoders`` of a received sample (None where not sent)."""
    lens = payload.get("lens")
    raw = lens.get("rawEncoders") if isinstance(lens, Mapping) else None
    if not isinstance(raw, Mapping):
        return None, None, None
    return raw.get("focus"), raw.get("iris"), raw.get("zoom")


def changed_lens(lens: LensValues | None, raw: tuple[int | None, int | None, int | None]) -> dict[str, Any]:
    """``lens_block`` plus :data:`REMOVED` for what stagectl knows has no value here (focus at
    infinity; a distortion offset, once stagectl's distortion replaces the tracker's)."""
    out = lens_block(lens, raw)
    if lens is not None and lens.focus_distance_m == math.inf:
        out["focusDistance"] = REMOVED
    if "distortion" in out and "distortionOffset" not in out:
        out["distortionOffset"] = REMOVED
    return out


def _distortion(lens: LensValues) -> dict[str, Any] | None:
    radial, tangential, model = lens.radial, lens.tangential, lens.distortion_model
    if not radial and lens.brown_conrady is not None and _positive(lens.focal_length_mm):
        assert lens.focal_length_mm is not None
        converted = brown_conrady_to_opentrackio(lens.brown_conrady, lens.focal_length_mm)
        radial, tangential, model = converted.radial, converted.tangential, converted.model
    if not radial or not all(math.isfinite(v) for v in (*radial, *tangential)):
        return None
    entry: dict[str, Any] = {"radial": list(radial)}
    if tangential:
        entry["tangential"] = list(tangential)
    if model and model != DEFAULT_DISTORTION_MODEL:
        entry["model"] = model
    return entry


class _Stream:
    """One camera on this output."""

    __slots__ = ("camera", "cbor_head", "cbor_source", "count", "id_prefix", "last_arrival_ns",
                 "last_static_ns", "rate", "source_id", "source_number", "static_built", "static_cbor",
                 "window_count", "window_start_ns")

    def __init__(self, camera: str, source_id: str, source_number: int) -> None:
        self.camera = camera
        self.source_id = source_id
        self.source_number = source_number
        self.count = 0
        self.last_static_ns: int | None = None
        self.static_built: dict[str, Any] | None = None
        self.static_cbor: bytes | None = None
        # sampleId: a random version-4 UUID whose last 48 bits count samples (unique, ~0.2 µs).
        self.id_prefix = "urn:uuid:" + str(uuid.uuid4())[:24]
        self.cbor_head = cbor2.dumps("protocol") + cbor2.dumps(_PROTOCOL) + cbor2.dumps("sampleId")
        self.cbor_source = (cbor2.dumps("sourceId") + cbor2.dumps(source_id) + cbor2.dumps("sourceNumber")
                            + cbor2.dumps(source_number))
        self.rate: dict[str, int] | None = None
        self.window_start_ns = 0
        self.window_count = 0
        self.last_arrival_ns = 0

    def next_sample_id(self) -> str:
        return f"{self.id_prefix}{self.count & 0xFFFFFFFFFFFF:012x}"

    def measure(self, arrival_ns: int) -> None:
        """Count an arrival; every >= 2 s window turns into a sample rate."""
        if arrival_ns - self.last_arrival_ns > RATE_GAP_NS or arrival_ns < self.last_arrival_ns:
            self.window_start_ns, self.window_count, self.rate = arrival_ns, 0, None
        self.last_arrival_ns = arrival_ns
        elapsed = arrival_ns - self.window_start_ns
        if elapsed >= RATE_WINDOW_NS and self.window_count:
            rate = snap_rate(self.window_count * 1e9 / elapsed)
            self.rate = {"num": rate.numerator, "denom": rate.denominator}
            self.window_start_ns, self.window_count = arrival_ns, 0
        self.window_count += 1


class OpenTrackIOOutput(UdpOutput):
    """Sends cameras' samples as OpenTrackIO to ``target`` (see the module docstring).

    Attributes:
        name: the output's name in the stage file. target / encoding / mtu: as given.
        sent / dropped / dropped_by_reason / last_error: the UDP sender's counters (datagrams;
            ``non_finite`` and ``encode`` count samples that were never encoded).
        samples: samples handed to the output.
    """

    def __init__(self, name: str, target: Endpoint, *, encoding: str = "cbor", interface: str | None = None,
                 ttl: int = 1, mtu: int = 1500, static_every_s: float = 2.0,
                 source_numbers: Mapping[str, int] | None = None,
                 static_for: StaticFor | None = None) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding {encoding!r} is not 'json' or 'cbor'")
        if mtu <= 16:
            raise ValueError(f"MTU {mtu} leaves no room for a payload after the 16-byte header")
        if not static_every_s > 0.0:
            raise ValueError(f"static_every_s = {static_every_s} must be > 0")
        self.name = name
        self.target = target
        self.encoding = encoding
        self.mtu = mtu
        self.static_every_ns = int(static_every_s * _NS)
        self.samples = 0
        self._udp = UdpSender(target, interface=interface, ttl=ttl)
        self._encoding_byte = ENCODINGS[encoding]
        self._max_single = min(mtu - HEADER_LENGTH, _MAX_SEGMENT)
        self._source_numbers = dict(source_numbers or {})
        self._static_for = static_for
        self._streams: dict[str, _Stream] = {}
        self._sinks: dict[str, Sink] = {}
        self._sequence = 0
        self._host = socket_module.gethostname()

    # --- lifecycle (counters and async_stop come from UdpOutput) ----------------------------------

    async def async_start(self, *, sock: socket_module.socket | None = None) -> None:
        """Open the socket and resolve the target (I/O loop); ``sock``: adopt a connected socket (tests)."""
        self._udp.open(sock)

    def source_id(self, camera: str) -> str:
        """The ``urn:uuid:`` this output sends ``camera`` under."""
        return self._stream(camera).source_id

    def _stream(self, camera: str) -> _Stream:
        stream = self._streams.get(camera)
        if stream is None:
            number = self._source_numbers.get(camera)
            if number is None:
                taken = set(self._source_numbers.values()) | {s.source_number for s in self._streams.values()}
                number = next(n for n in range(1, len(taken) + 2) if n not in taken)
            ident = uuid.uuid5(uuid.NAMESPACE_URL, f"stagectl://{self._host}/outputs/{self.name}/{camera}")
            stream = _Stream(camera, f"urn:uuid:{ident}", number)
            self._streams[camera] = stream
        return stream

    def sink_for(self, camera: str) -> Sink:
        """The callable to pass to ``CameraPipeline.add_sink`` for ``camera`` (same one on every call)."""
        sink = self._sinks.get(camera)
        if sink is None:
            stream = self._stream(camera)

            def sink(sample: CameraSample) -> None:
                self._send(stream, sample)

            self._sinks[camera] = sink
        return sink

    # --- the hot path ------------------------------------------------------------------------------------

    def build(self, stream: _Stream, sample: CameraSample) -> dict[str, Any] | None:
        """The OpenTrackIO map of ``sample`` on ``stream`` (None: a non-finite pose)."""
        (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
        if not math.isfinite(x + y + z + pan + tilt + roll):
            return None
        out: dict[str, Any] = {
            "protocol": _PROTOCOL,
            "sampleId": stream.next_sample_id(),
            "sourceId": stream.source_id,
            "sourceNumber": stream.source_number,
            "timing": self._timing(stream, sample),
            "transforms": [{"translation": {"x": x, "y": y, "z": z},
                            "rotation": {"pan": pan, "tilt": tilt, "roll": roll}, "id": "Camera"}],
        }
        lens = lens_block(sample.lens, (sample.focus_raw, sample.iris_raw, sample.zoom_raw))
        if lens:
            out["lens"] = lens
        if self._static_due(stream, sample.arrival_ns):
            static = self._cached_static(stream)
            if static:
                out["static"] = static
        return out

    def encode_cbor(self, stream: _Stream, sample: CameraSample) -> bytes | None:
        """``build`` encoded as CBOR, faster: the constant parts are encoded once per stream and the
        transform is packed with one ``struct`` call (same map, keys in the same order)."""
        (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
        if not math.isfinite(x + y + z + pan + tilt + roll):
            return None
        lens = lens_block(sample.lens, (sample.focus_raw, sample.iris_raw, sample.zoom_raw))
        static = self._cached_static(stream) if self._static_due(stream, sample.arrival_ns) else None
        parts = [_CBOR_MAP_HEADS[6 + bool(lens) + bool(static)], stream.cbor_head,
                 _cbor_text(stream.next_sample_id()), stream.cbor_source,
                 _CBOR_TIMING_KEY, cbor2.dumps(self._timing(stream, sample)),
                 _CBOR_TRANSFORMS(_CBOR_T0, x, _CBOR_T1, y, _CBOR_T2, z, _CBOR_T3, pan, _CBOR_T4, tilt,
                                  _CBOR_T5, roll, _CBOR_T6)]
        if lens:
            parts += (_CBOR_LENS_KEY, cbor2.dumps(lens))
        if static:
            if stream.static_cbor is None:
                stream.static_cbor = _CBOR_STATIC_KEY + cbor2.dumps(static)
            parts.append(stream.static_cbor)
        return b"".join(parts)

    def _timing(self, stream: _Stream, sample: CameraSample) -> dict[str, Any]:
        stream.measure(sample.arrival_ns)
        timing: dict[str, Any] = {"sequenceNumber": stream.count % _U32}
        stream.count += 1
        if stream.rate is not None:
            timing["sampleRate"] = stream.rate
        if sample.sample_time_ns is not None:
            timing["mode"] = "internal"
            seconds, ns = divmod(sample.sample_time_ns, _NS)
            timing["sampleTimestamp"] = {"seconds": seconds, "nanoseconds": ns}
        tc = sample.timecode
        if tc is not None:
            hours, minutes, seconds_, frames = tc.components()
            rate = tc.rate.rate
            timecode: dict[str, Any] = {
                "hours": hours, "minutes": minutes, "seconds": seconds_, "frames": frames,
                "frameRate": {"num": rate.numerator, "denom": rate.denominator}}
            if tc.drop_frame:
                timecode["dropFrame"] = True
            timing["timecode"] = timecode
        return timing

    def _static_due(self, stream: _Stream, arrival_ns: int) -> bool:
        last = stream.last_static_ns
        if last is None or arrival_ns - last >= self.static_every_ns or arrival_ns < last:
            stream.last_static_ns = arrival_ns
            return True
        return False

    def _static(self, stream: _Stream, base: Mapping[str, Any] | None, changed: dict[str, Any]
                ) -> dict[str, Any] | None:
        """The static block to send: ``static_for``'s (None ``base``: the stage uses the camera's newest
        tracker block; without ``static_for``: ``base``), the camera's name as its label when it has none."""
        if self._static_for is None:
            static: dict[str, Any] | None = dict(base or {})
        else:
            static = self._static_for(stream.camera, base, changed)
        if static is None:
            return None
        return overlay(static, {"camera": {"label": stream.camera}}, "static", changed, fill_only=True)

    def _cached_static(self, stream: _Stream) -> dict[str, Any] | None:
        """The FreeD path's static block; its CBOR is kept until the block changes."""
        static = self._static(stream, None, {})
        if static != stream.static_built:
            stream.static_built, stream.static_cbor = static, None
        return stream.static_built

    def relay(self, stream: _Stream, sample: CameraSample, received: Received) -> dict[str, Any] | None:
        """The OpenTrackIO map of a sample from an OpenTrackIO tracker: what it sent, with what stagectl
        changed laid over it visibly (see the module docstring); None for a non-finite pose."""
        (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
        if not math.isfinite(x + y + z + pan + tilt + roll):
            return None
        payload = received.payload
        changed: dict[str, Any] = {}
        out = dict(payload)
        identity = {"protocol": _PROTOCOL, "sampleId": stream.next_sample_id(), "sourceId": stream.source_id,
                    "sourceNumber": stream.source_number}
        for key, value in identity.items():
            theirs = payload.get(key)
            if theirs is not None and theirs != value:
                changed[key] = theirs
            out[key] = value
        if isinstance(payload.get("sampleId"), str):
            related = payload.get("relatedSampleIds")
            out["relatedSampleIds"] = [*(related if isinstance(related, list) else ()), payload["sampleId"]]
        timing = dict(payload.get("timing") or {})
        stream.measure(sample.arrival_ns)
        sequence = stream.count % _U32
        stream.count += 1
        if "sequenceNumber" in timing and timing["sequenceNumber"] != sequence:
            changed["timing.sequenceNumber"] = timing["sequenceNumber"]
        timing["sequenceNumber"] = sequence
        if "sampleRate" not in timing and stream.rate is not None:
            timing["sampleRate"] = stream.rate
        out["timing"] = timing
        if (sample.translation_m, sample.rotation_deg) != (received.translation_m, received.rotation_deg):
            chain = payload.get("transforms")
            chain = chain if isinstance(chain, list) else []
            out["transforms"] = append_correction(chain, sample.translation_m, sample.rotation_deg)
            if len(out["transforms"]) == 1 and chain:
                changed["transforms"] = chain
        raw = (sample.focus_raw, sample.iris_raw, sample.zoom_raw)
        lens = received.lens
        if sample.lens is not lens or (lens is not None and raw != _raw_of(payload)):
            theirs = payload.get("lens")
            out["lens"] = overlay(theirs if isinstance(theirs, Mapping) else {},
                                  changed_lens(sample.lens, raw), "lens", changed)
        static_in = payload.get("static")
        if isinstance(static_in, Mapping):
            stream.last_static_ns = sample.arrival_ns
            static = self._static(stream, static_in, changed)
            if static is not None:
                out["static"] = static
        elif self._static_due(stream, sample.arrival_ns):
            static = self._static(stream, None, changed)
            if static:
                out["static"] = static
        return with_notes(out, changed)

    def _send(self, stream: _Stream, sample: CameraSample) -> None:
        self.samples += 1
        udp = self._udp
        try:
            received = sample.received
            if received is not None and received.protocol == "opentrackio":
                relayed = self.relay(stream, sample, received)
                payload = None if relayed is None else (
                    cbor2.dumps(relayed) if self._encoding_byte == ENCODING_CBOR else _json(relayed))
            elif self._encoding_byte == ENCODING_CBOR:
                payload = self.encode_cbor(stream, sample)
            else:
                obj = self.build(stream, sample)
                payload = None if obj is None else _json(obj)
            if payload is None:
                udp.count_drop(REASON_NON_FINITE, f"camera {stream.camera}: non-finite pose, sample not sent")
                return
            if len(payload) <= self._max_single:
                datagrams = [single_datagram(payload, self._encoding_byte, self._sequence)]
            else:
                datagrams = encode_datagrams(payload, self._encoding_byte, self._sequence, self.mtu)
        except Exception as exc:  # an unencodable sample costs that sample, never the pipeline
            udp.count_drop(REASON_ENCODE, f"camera {stream.camera}: {type(exc).__name__}: {exc}")
            return
        self._sequence = (self._sequence + len(datagrams)) % _SEQUENCE_MODULUS
        send = udp.send
        for datagram in datagrams:
            send(datagram)
