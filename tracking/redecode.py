"""Today's decoders run again over a take's raw datagrams (``stagectl takes raw --redecode``).

One :class:`SourceDecoder` per take source (:func:`make_decoder`, from its recorded ``settings``) is fed
the source's raw entries in arrival order and follows its protocol's live road with the same decoders,
checks and arrival times: ``freed`` (size, D1, camera id routing by ``camera_id`` / a shared port's
``routes``, angle limits, a preset's spare-bit frame counter), ``freed-serial`` (the chunks through one
:class:`FreeDStreamParser`, then the same), ``opentrackio`` (size, header, one :class:`Reassembler` with
the settings' ``numbering``, payload, sample, ``source_number``, order by the sample's else the header's
sequence number, afresh on a new ``sourceId``; a discarded incomplete payload is ``incomplete`` as
live), ``lens-serial`` (the chunks through the ``lens_protocol``'s parser).

:meth:`SourceDecoder.feed` returns what an entry gave, in order: :class:`Decoded` (a camera sample or
a lens reading), :class:`Rejected` (the live counter's reason; a late or repeated sample, or an exact
repeat of an OpenTrackIO datagram, is ``reordered`` / ``duplicate``) or :class:`Notice`. Pre-roll
entries (just before RECORD) are decoded too and their outcomes marked: they complete the take's first
sample, and a sample one completes itself was decoded before RECORD and is not in the take.

Not in the settings, so not redone: a sender allow-list, a serial port's reconnects (one parser for
the take), a ``stale_ms`` other than the default (the order checks resync after 2 x stale).
Pure decoding: no I/O, no ``stagectl.takes`` imports.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from stagectl.core import coords
from stagectl.core.errors import DecodeError
from stagectl.core.health import DEFAULT_STALE_MS, SequenceCheck
from stagectl.core.opentrackio.datagram import (
    ENCODING_NAMES,
    MAX_DATAGRAM_BYTES,
    SEQUENCE_MODULUS,
    parse_datagram,
)
from stagectl.core.opentrackio.model import OpenTrackIOSample
from stagectl.core.opentrackio.payload import decode_payload
from stagectl.core.opentrackio.reassembly import Reassembler
from stagectl.core.opentrackio.sample import parse_sample
from tracking.encoders.parsers import LensData, LensNotice, LensReject, make_parser
from tracking.freed.codec import FreeDPosition, decode_d1_datagram
from tracking.freed.presets import PRESETS, FreeDPreset, angle_problem
from tracking.freed.stream import FreeDStreamParser, StreamReject
from tracking.opentrackio_udp import SAMPLE_SEQUENCE_MODULUS


class Decoded(NamedTuple):
    """A camera sample (``pose``: what the recorder records) or a lens reading; ``fields`` are JSON values
    (FreeD, lens: the whole reading; OpenTrackIO: encoding, header sequence, segments and ``received``, the
    payload exactly as sent (CBOR may hold NaN or bytes there), and ``sample``)."""

    number: int
    arrival_ns: int
    preroll: bool
    camera: str | None
    pose: bool
    fields: dict[str, Any]
    sample: OpenTrackIOSample | None = None
    warnings: tuple[str, ...] = ()


class Rejected(NamedTuple):
    """An entry (or part of a serial read) the live source refuses: its counter reason and a detail."""

    number: int
    arrival_ns: int
    preroll: bool
    reason: str
    detail: str


class Notice(NamedTuple):
    """Something a device said that is neither a reading nor an error (a lens naming itself)."""

    number: int
    arrival_ns: int
    preroll: bool
    kind: str
    detail: str


Outcome = Decoded | Rejected | Notice


class SourceDecoder(abc.ABC):
    """One source's decoder: :meth:`feed` it the source's entries in arrival order, then :meth:`finish`."""

    protocol = "?"

    def __init__(self, settings: Mapping[str, Any], cameras: tuple[str, ...]) -> None:
        self.settings = settings
        self.cameras = cameras
        self.camera = cameras[0] if cameras else None
        stale_ms = float(settings.get("stale_ms") or DEFAULT_STALE_MS)
        self.resync_ns = int(stale_ms * 2_000_000)
        self._at = (-1, 0, False)
        self._out: list[Outcome] = []

    def feed(self, number: int, arrival_ns: int, data: bytes, preroll: bool = False) -> list[Outcome]:
        """What entry ``number`` (its bytes as they arrived at ``arrival_ns``) gives, in order."""
        self._at = (number, arrival_ns, preroll)
        self._out = []
        self.decode(data)
        return self._out

    @property
    def arrival_ns(self) -> int:
        """When the entry being decoded arrived (``time.monotonic_ns()``)."""
        return self._at[1]

    def finish(self) -> list[Outcome]:
        """What the end of the take gives (a serial framer's open run of skipped bytes)."""
        return []

    @property
    def leftover(self) -> str | None:
        """What a serial parser still held when the entries ended (None: nothing)."""
        parser = getattr(self, "parser", None)
        pending = int(parser.pending) if parser is not None else 0
        return f"{pending} bytes of an unfinished frame or line" if pending else None

    @abc.abstractmethod
    def decode(self, data: bytes) -> None:
        """Decode one entry's bytes (it arrived at :attr:`arrival_ns`); report through :meth:`reject`,
        :meth:`decoded` and :meth:`notice`."""

    def reject(self, reason: str, detail: str) -> None:
        """Report the current entry (or part of it) refused for ``reason``."""
        self._out.append(Rejected(*self._at, reason, detail))

    def decoded(self, camera: str | None, pose: bool, fields: dict[str, Any],
                sample: OpenTrackIOSample | None = None, warnings: tuple[str, ...] = ()) -> None:
        """Report a sample or reading completed by the current entry."""
        self._out.append(Decoded(*self._at, camera, pose, fields, sample, warnings))

    def notice(self, kind: str, detail: str) -> None:
        """Report something the device said."""
        self._out.append(Notice(*self._at, kind, detail))

    def in_order(self, check: SequenceCheck, sequence: int, arrival_ns: int, span: int = 1) -> bool:
        """The live order check; a late or repeated sample is reported (``reordered`` / ``duplicate``)."""
        duplicates = check.duplicates
        if check.check(sequence, arrival_ns, span):
            return True
        if check.duplicates > duplicates:
            self.reject("duplicate", f"sequence {sequence} again: not delivered")
        else:
            self.reject("reordered", f"sequence {sequence} arrived late: not delivered")
        return False


# --- FreeD -------------------------------------------------------------------------------------------

def freed_json(pos: FreeDPosition, preset: FreeDPreset) -> dict[str, Any]:
    """A D1 position as JSON values: ``stagectl decode freed``'s fields, the FreeD position in mm and
    what the preset reads from the lens counts and spare bits (``freed_sample``'s reading)."""
    translation, rotation = coords.freed_to_internal(pos.x_mm, pos.y_mm, pos.z_mm, pos.pan_deg, pos.tilt_deg,
                                                     pos.roll_deg)
    meaning = preset.read_spare(pos.spare)
    out: dict[str, Any] = {
        "type": "D1", "camera_id": pos.camera_id, "position_m": list(translation),
        "rotation_deg": list(rotation), "freed_deg": [pos.pan_deg, pos.tilt_deg, pos.roll_deg],
        "freed_mm": [pos.x_mm, pos.y_mm, pos.z_mm], "zoom_raw": pos.zoom, "focus_raw": pos.focus,
        "preset": preset.name, **meaning.extra,
    }
    if preset.lens_in_mm:
        out.update(focal_length_mm=pos.zoom / 100.0, focus_distance_m=pos.focus / 10_000.0)
    else:
        encoders = {"zoom": preset.normalise(pos.zoom, preset.zoom_range),
                    "focus": preset.normalise(pos.focus, preset.focus_range)}
        out["encoders"] = {k: v for k, v in encoders.items() if v is not None} or None
    if meaning.f_stop is not None:
        out["f_stop"] = meaning.f_stop
    if meaning.iris_raw is not None:
        out["iris_raw"] = meaning.iris_raw
    return {k: v for k, v in out.items() if v is not None}


class _FreeD(SourceDecoder):
    """What FreeD over UDP and over serial share: camera id routing, angle limits, frame counter."""

    def __init__(self, settings: Mapping[str, Any], cameras: tuple[str, ...]) -> None:
        super().__init__(settings, cameras)
        name = settings.get("preset") or "generic"
        if name not in PRESETS:
            raise ValueError(f"FreeD preset {name!r} is not known to this stagectl ({', '.join(PRESETS)})")
        self.preset = PRESETS[name]
        camera_id = settings.get("camera_id")
        self.camera_id = None if camera_id is None else int(camera_id)
        routes = settings.get("routes") or {}
        self.routes: dict[int, str | None] = {int(k): str(v) for k, v in routes.items()}
        if self.camera_id is not None and not self.routes:
            self.routes = {self.camera_id: self.camera}
        self._checks: dict[int | None, SequenceCheck] = {}

    def route(self, pos: FreeDPosition, takes: str) -> None:
        """Send ``pos`` to the camera its id routes to (a ``camera_id`` refusal when none), then accept."""
        if self.camera_id is None:
            self.accept(pos, None, self.camera)
            return
        if pos.camera_id not in self.routes:
            self.reject("camera_id", f"camera id {pos.camera_id}; {takes}")
            return
        self.accept(pos, pos.camera_id, self.routes[pos.camera_id])

    def accept(self, pos: FreeDPosition, key: int | None, camera: str | None) -> None:
        """``FreeDSource.accept``: angles, the preset's frame counter, then the sample."""
        if not (-180.0 <= pos.pan_deg <= 180.0 and -90.0 <= pos.tilt_deg <= 90.0
                and -180.0 <= pos.roll_deg <= 180.0):
            self.reject("value", angle_problem(pos) or "angle out of range")
            return
        modulus = self.preset.counter_modulus
        if modulus is not None:
            check = self._checks.get(key)
            if check is None:
                check = self._checks[key] = SequenceCheck(modulus, self.resync_ns)
            if not self.in_order(check, pos.spare >> 12, self.arrival_ns):
                return
        self.decoded(camera, True, freed_json(pos, self.preset))


class FreeDUdpDecoder(_FreeD):
    """``freed``: each entry is one datagram (``FreeDUdpSource.handle``)."""

    protocol = "freed"

    def __init__(self, settings: Mapping[str, Any], cameras: tuple[str, ...]) -> None:
        super().__init__(settings, cameras)
        self.takes = f"this port takes {', '.join(str(i) for i in sorted(self.routes))}"

    def decode(self, data: bytes) -> None:
        """Size check, D1 decode, route by camera id, accept."""
        try:
            pos = decode_d1_datagram(data)
        except DecodeError as exc:
            self.reject(exc.reason, str(exc))
            return
        self.route(pos, self.takes)


class FreeDSerialDecoder(_FreeD):
    """``freed-serial``: the entries are the chunks of one byte stream (``FreeDSerialSource``)."""

    protocol = "freed-serial"

    def __init__(self, settings: Mapping[str, Any], cameras: tuple[str, ...]) -> None:
        super().__init__(settings, cameras)
        self.parser = FreeDStreamParser()

    def decode(self, data: bytes) -> None:
        """Frame the chunk (``b""``: flush the open run of skipped bytes); each item as live."""
        for item in self.parser.feed(data) if data else self.parser.flush():
            if isinstance(item, StreamReject):
                self.reject(item.reason, item.detail)
            else:
                self.route(item, f"this source takes {self.camera_id}")

    def finish(self) -> list[Outcome]:
        """The open run of skipped bytes (as when the line goes quiet), on the last entry."""
        self._out = []
        self.decode(b"")
        return self._out


# --- OpenTrackIO -------------------------------------------------------------------------------------

class OpenTrackIODecoder(SourceDecoder):
    """``opentrackio``: ``OpenTrackIOUdpSource.handle`` without the camera (see the module docstring)."""

    protocol = "opentrackio"

    def __init__(self, settings: Mapping[str, Any], cameras: tuple[str, ...]) -> None:
        super().__init__(settings, cameras)
        # ValueError for a numbering the reassembler does not know, as the live source
        self.reassembler = Reassembler(numbering=settings.get("numbering") or "per_datagram")
        number = settings.get("source_number")
        self.source_number = None if number is None else int(number)
        self._discarded_seen = 0
        self._sample_check = SequenceCheck(SAMPLE_SEQUENCE_MODULUS, self.resync_ns)
        self._header_check = SequenceCheck(SEQUENCE_MODULUS, self.resync_ns)
        self._source_id: str | None = None

    def decode(self, data: bytes) -> None:
        """Size, header, reassembly, payload, sample, source number, order; then the sample."""
        try:
            self._decode(data, self.arrival_ns)
        except DecodeError as exc:
            self.reject(exc.reason, str(exc))

    def _decode(self, data: bytes, arrival_ns: int) -> None:
        if len(data) > MAX_DATAGRAM_BYTES:
            raise DecodeError("length", f"{len(data)} bytes is over the UDP maximum {MAX_DATAGRAM_BYTES}")
        header, segment = parse_datagram(data)
        reassembler = self.reassembler
        duplicates = reassembler.duplicates
        payload = reassembler.feed(header, segment, arrival_ns)
        for _ in range(reassembler.discarded - self._discarded_seen):
            self.reject("incomplete", "an incomplete segmented payload was discarded")
        self._discarded_seen = reassembler.discarded
        if reassembler.duplicates > duplicates:
            self.reject("duplicate", "repeats an earlier datagram (same sequence, offset and checksum): "
                                     "ignored, as OpenTrackIO asks")
        if payload is None:
            return
        received = decode_payload(header.encoding, payload)
        sample = parse_sample(received)
        if self.source_number is not None and sample.source_number != self.source_number:
            raise DecodeError("source_number", f"sourceNumber {sample.source_number}; this source takes "
                              f"{self.source_number}")
        if sample.source_id is not None and sample.source_id != self._source_id:
            if self._source_id is not None:
                self._sample_check.restart()
                self._header_check.restart()
            self._source_id = sample.source_id
        if sample.sequence_number is not None:
            ordered = self.in_order(self._sample_check, sample.sequence_number, arrival_ns)
        else:
            span = reassembler.completed_segments if reassembler.numbering == "per_datagram" else 1
            ordered = self.in_order(self._header_check, reassembler.completed_sequence, arrival_ns, span)
        if not ordered:
            return
        warnings = sample.warnings
        if sample.translation_m is None or sample.rotation_deg is None:
            warnings = (*warnings, "no_pose")
        fields = {"encoding": ENCODING_NAMES.get(header.encoding, str(header.encoding)),
                  "sequence": reassembler.completed_sequence, "segments": reassembler.completed_segments,
                  "received": received}
        self.decoded(self.camera, True, fields, sample, warnings)

    @property
    def leftover(self) -> str | None:
        """Payloads still missing segments when the entries ended."""
        pending = self.reassembler.pending
        return f"{pending} payload(s) still missing segments" if pending else None


# --- lens encoders -----------------------------------------------------------------------------------

def lens_json(data: LensData) -> dict[str, Any]:
    """A lens reading as JSON values (what it did not carry left out)."""
    return {k: v for k, v in data._asdict().items() if v is not None}


class LensSerialDecoder(SourceDecoder):
    """``lens-serial``: the chunks through the ``lens_protocol``'s parser (``LensSerialSource``)."""

    protocol = "lens-serial"

    def __init__(self, settings: Mapping[str, Any], cameras: tuple[str, ...]) -> None:
        super().__init__(settings, cameras)
        self.parser = make_parser(str(settings.get("lens_protocol")), imperial=bool(settings.get("imperial")))

    def decode(self, data: bytes) -> None:
        """Readings (not camera samples: the camera merges them), rejections and notices, in order."""
        for item in self.parser.feed(data):
            if isinstance(item, LensData):
                self.decoded(self.camera, False, lens_json(item))
            elif isinstance(item, LensReject):
                self.reject(item.reason, item.detail)
            elif isinstance(item, LensNotice):
                self.notice(item.kind, item.detail)


DECODERS: dict[str, Callable[[Mapping[str, Any], tuple[str, ...]], SourceDecoder]] = {
    "freed": FreeDUdpDecoder, "freed-serial": FreeDSerialDecoder, "opentrackio": OpenTrackIODecoder,
    "lens-serial": LensSerialDecoder,
}
"""The decoder of each source protocol."""


def make_decoder(settings: Mapping[str, Any], cameras: tuple[str, ...]) -> SourceDecoder:
    """A fresh decoder for a source with these recorded ``settings`` feeding ``cameras``; ValueError
    for a protocol or setting this stagectl does not know."""
    protocol = str(settings.get("protocol"))
    make = DECODERS.get(protocol)
    if make is None:
        raise ValueError(f"protocol {protocol!r} has no decoder in this stagectl ({', '.join(DECODERS)})")
    return make(settings, cameras)
