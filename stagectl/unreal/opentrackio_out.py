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
``custom.stagectl.changed`` (stagectl.core.opentrackio.merge): its sample identity (``sourceId``,
``sourceNumber``, ``sampleId``, ``protocol``, ``timing.sequenceNumber``; the tracker's ``sampleId``
is also appended to ``relatedSampleIds``), the lens values the pipeline changed (a lens file's
solve, a lens encoder's reading), the film back and lens identity in ``static``, and a smoothed pose
(as a transform appended to the chain). A static block the tracker sent goes out with that sample.

Payloads over ``mtu - 16`` bytes are segmented like camdkit's reference sender; the header
sequence number counts datagrams per output (one counter for all its cameras, because a
receiver reassembles by (encoding, sequence) whatever the source).

Sending is :class:`stagectl.core.udp_out.UdpSender`'s: non-blocking, tried once, drops counted
by reason. An unencodable sample (a non-finite pose) is counted as ``non_finite`` and not sent.

A sample stagectl builds (FreeD, the simulators) is encoded by :mod:`stagectl.unreal.opentrackio_fast`:
CBOR without building the map (the same bytes as ``cbor2.dumps(build(...))``; what does not change
from sample to sample is encoded once per camera, the timecode once per frame), framed with a
Fletcher-16 from zlib's Adler-32. A relayed OpenTrackIO sample and JSON go through the maps.
See ``bench/tracking_pipeline.py --opentrackio`` and ``--outputs``.
"""

from __future__ import annotations

import functools
import math
import socket as socket_module
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import cbor2

from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import ENCODING_CBOR, HEADER_LENGTH, encode_datagrams
from stagectl.core.opentrackio.datagram import MAX_SEGMENT_BYTES, SEQUENCE_MODULUS
from stagectl.core.opentrackio.merge import append_correction, encode_json, overlay, with_notes
from stagectl.core.samples import CameraSample, Received
from stagectl.core.udp_out import UdpOutput, UdpSender
from stagectl.unreal.opentrackio_fast import encode_cbor, single_datagram
from stagectl.unreal.opentrackio_parts import (
    CBOR_STATIC_KEY,
    ENCODINGS,
    NS_PER_S,
    PROTOCOL,
    REASON_ENCODE,
    REASON_NON_FINITE,
    U32,
    Stream,
    changed_lens,
    json_bytes,
    lens_block,
    raw_of,
)

__all__ = ["ENCODINGS", "OpenTrackIOOutput", "StaticFor", "single_datagram"]

Sink = Callable[[CameraSample], None]
StaticFor = Callable[[str, Mapping[str, Any] | None, dict[str, Any]], dict[str, Any] | None]
"""(camera, the tracker's static block as sent or None, changed) -> the static block to send."""


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
        self.static_every_ns = int(static_every_s * NS_PER_S)
        self.samples = 0
        self._udp = UdpSender(target, interface=interface, ttl=ttl)
        self._encoding_byte = ENCODINGS[encoding]
        self._max_single = min(mtu - HEADER_LENGTH, MAX_SEGMENT_BYTES)
        self._source_numbers = dict(source_numbers or {})
        self._static_for = static_for
        self._streams: dict[str, Stream] = {}
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

    def _stream(self, camera: str) -> Stream:
        stream = self._streams.get(camera)
        if stream is None:
            number = self._source_numbers.get(camera)
            if number is None:
                taken = set(self._source_numbers.values()) | {s.source_number for s in self._streams.values()}
                number = next(n for n in range(1, len(taken) + 2) if n not in taken)
            ident = uuid.uuid5(uuid.NAMESPACE_URL, f"stagectl://{self._host}/outputs/{self.name}/{camera}")
            stream = Stream(camera, f"urn:uuid:{ident}", number)
            self._streams[camera] = stream
        return stream

    def sink_for(self, camera: str) -> Sink:
        """The callable to pass to ``CameraPipeline.add_sink`` for ``camera`` (same one on every call)."""
        sink = self._sinks.get(camera)
        if sink is None:
            sink = self._sinks[camera] = functools.partial(self._send, self._stream(camera))
        return sink

    # --- the hot path ------------------------------------------------------------------------------------

    def build(self, stream: Stream, sample: CameraSample) -> dict[str, Any] | None:
        """The OpenTrackIO map of ``sample`` on ``stream`` (None: a non-finite pose)."""
        (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
        if not math.isfinite(x + y + z + pan + tilt + roll):
            return None
        out: dict[str, Any] = {
            "protocol": PROTOCOL,
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

    def encode_cbor(self, stream: Stream, sample: CameraSample) -> bytes | None:
        """``build`` encoded as CBOR without building the map (:mod:`stagectl.unreal.opentrackio_fast`: the
        same bytes as ``cbor2.dumps(build(...))``, the constant parts encoded once per stream)."""
        static_cbor = self._static_cbor(stream) if self._static_due(stream, sample.arrival_ns) else None
        return encode_cbor(stream, sample, static_cbor)

    def _static_cbor(self, stream: Stream) -> bytes | None:
        """``"static"`` and the FreeD path's static block, encoded (kept until the block changes); None
        when the block is empty."""
        static = self._cached_static(stream)
        if not static:
            return None
        if stream.static_cbor is None:
            stream.static_cbor = CBOR_STATIC_KEY + cbor2.dumps(static)
        return stream.static_cbor

    def _timing(self, stream: Stream, sample: CameraSample) -> dict[str, Any]:
        stream.measure(sample.arrival_ns)
        timing: dict[str, Any] = {"sequenceNumber": stream.count % U32}
        stream.count += 1
        if stream.rate is not None:
            timing["sampleRate"] = stream.rate
        if sample.sample_time_ns is not None:
            timing["mode"] = "internal"
            seconds, ns = divmod(sample.sample_time_ns, NS_PER_S)
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

    def _static_due(self, stream: Stream, arrival_ns: int) -> bool:
        last = stream.last_static_ns
        if last is None or arrival_ns - last >= self.static_every_ns or arrival_ns < last:
            stream.last_static_ns = arrival_ns
            return True
        return False

    def _static(self, stream: Stream, base: Mapping[str, Any] | None, changed: dict[str, Any]
                ) -> dict[str, Any] | None:
        """The static block to send (do not modify it): ``static_for``'s (None ``base``: the stage uses the
        camera's newest tracker block; without ``static_for``: ``base``), the camera's name as its label
        when it has none."""
        if self._static_for is None:
            static: dict[str, Any] | None = dict(base or {})
        else:
            static = self._static_for(stream.camera, base, changed)
        if static is None:
            return None
        camera = static.get("camera")
        if isinstance(camera, Mapping) and "label" in camera:
            return static  # the stage's block has one: given as it is, never copied per sample
        return overlay(static, {"camera": {"label": stream.camera}}, "static", changed, fill_only=True)

    def _cached_static(self, stream: Stream) -> dict[str, Any] | None:
        """The FreeD path's static block; its CBOR is kept until the block changes."""
        static = self._static(stream, None, {})
        if static is not stream.static_built and static != stream.static_built:
            stream.static_built, stream.static_cbor = static, None
        return stream.static_built

    def relay(self, stream: Stream, sample: CameraSample, received: Received
              ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The OpenTrackIO map of a sample from an OpenTrackIO tracker: what it sent, with what stagectl
        changed laid over it, and the tracker's values it replaced (for ``custom.stagectl.changed``,
        :func:`stagectl.core.opentrackio.merge.with_notes`); see the module docstring. None for a non-finite
        pose."""
        (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
        if not math.isfinite(x + y + z + pan + tilt + roll):
            return None
        payload = received.payload
        changed: dict[str, Any] = {}
        out = dict(payload)
        identity = {"protocol": PROTOCOL, "sampleId": stream.next_sample_id(), "sourceId": stream.source_id,
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
        sequence = stream.count % U32
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
        if sample.lens is not lens or (lens is not None and raw != raw_of(payload)):
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
        return out, changed

    def _send(self, stream: Stream, sample: CameraSample) -> None:
        self.samples += 1
        udp = self._udp
        try:
            received = sample.received
            if received is None and self._encoding_byte == ENCODING_CBOR:  # FreeD and the simulators
                arrival, last = sample.arrival_ns, stream.last_static_ns
                static_cbor = None
                if last is None or arrival - last >= self.static_every_ns or arrival < last:
                    stream.last_static_ns = arrival
                    static_cbor = self._static_cbor(stream)
                payload = encode_cbor(stream, sample, static_cbor)
            elif received is not None and received.protocol == "opentrackio":
                relayed = self.relay(stream, sample, received)
                if relayed is None:
                    payload = None
                elif self._encoding_byte == ENCODING_CBOR:
                    payload = cbor2.dumps(with_notes(*relayed))
                else:
                    payload = encode_json(*relayed)
            elif self._encoding_byte == ENCODING_CBOR:
                payload = self.encode_cbor(stream, sample)
            else:
                obj = self.build(stream, sample)
                payload = None if obj is None else json_bytes(obj)
            if payload is None:
                udp.count_drop(REASON_NON_FINITE, f"camera {stream.camera}: non-finite pose, sample not sent")
                return
            if len(payload) <= self._max_single:  # one datagram, framed in place: the common case
                datagram = single_datagram(payload, self._encoding_byte, self._sequence)
                self._sequence = (self._sequence + 1) % SEQUENCE_MODULUS
                udp.send(datagram)
                return
            datagrams = encode_datagrams(payload, self._encoding_byte, self._sequence, self.mtu)
        except Exception as exc:  # an unencodable sample costs that sample, never the pipeline
            udp.count_drop(REASON_ENCODE, f"camera {stream.camera}: {type(exc).__name__}: {exc}")
            return
        self._sequence = (self._sequence + len(datagrams)) % SEQUENCE_MODULUS
        send = udp.send
        for datagram in datagrams:
            send(datagram)
