"""The pieces the OpenTrackIO output is built from: datagram framing, the CBOR template, the lens map,
the measured sample rate and the per-camera stream state (see stagectl.unreal.opentrackio_out)."""

from __future__ import annotations

import json
import math
import struct
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import cbor2

from stagectl.core.opentrackio.codec import (
    DEFAULT_DISTORTION_MODEL,
    ENCODING_CBOR,
    ENCODING_JSON,
    PROTOCOL_NAME,
    PROTOCOL_VERSION,
)
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from stagectl.core.opentrackio.merge import REMOVED
from stagectl.core.opentrackio.rates import snap_rate
from stagectl.core.samples import LensValues

ENCODINGS = {"json": ENCODING_JSON, "cbor": ENCODING_CBOR}
REASON_NON_FINITE = "non_finite"
REASON_ENCODE = "encode"
RATE_WINDOW_NS = 2_000_000_000
RATE_GAP_NS = 500_000_000
U32 = 1 << 32
PROTOCOL = {"name": PROTOCOL_NAME, "version": list(PROTOCOL_VERSION)}
NS_PER_S = 1_000_000_000
CBOR_MAP_HEADS = [bytes((0xA0 + n,)) for n in range(24)]
CBOR_TIMING_KEY = cbor2.dumps("timing")
CBOR_LENS_KEY = cbor2.dumps("lens")
CBOR_STATIC_KEY = cbor2.dumps("static")


def cbor_text(text: str) -> bytes:
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


CBOR_T, CBOR_TRANSFORMS = \
    _cbor_transform_template()


def json_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


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
              if value is not None and 0 <= value < U32}
    if counts:
        out["rawEncoders"] = counts
    return out


def raw_of(payload: Mapping[str, Any]) -> tuple[Any, Any, Any]:
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


class Stream:
    """One camera on this output."""

    __slots__ = ("camera", "cbor_head", "cbor_source", "count", "id_head", "id_prefix", "last_arrival_ns",
                 "last_static_ns", "rate", "rate_cbor", "rate_key", "source_id", "source_number",
                 "source_tail", "static_built", "static_cbor", "tc_cbor", "tc_key", "window_count",
                 "window_start_ns")

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
        self.cbor_head = cbor2.dumps("protocol") + cbor2.dumps(PROTOCOL) + cbor2.dumps("sampleId")
        self.cbor_source = (cbor2.dumps("sourceId") + cbor2.dumps(source_id) + cbor2.dumps("sourceNumber")
                            + cbor2.dumps(source_number))
        # The encoded sample up to the sample id's counter, and from its end to the timing map's.
        id_text = cbor2.dumps(self.next_sample_id())
        self.id_head = self.cbor_head + id_text[:-12]
        self.source_tail = self.cbor_source + CBOR_TIMING_KEY
        self.tc_key: object = None
        """The timecode object ``tc_cbor`` encodes (the stage clock hands out one per frame)."""
        self.tc_cbor = b""
        self.rate_key: object = None
        """The ``rate`` map ``rate_cbor`` encodes."""
        self.rate_cbor = b""
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


