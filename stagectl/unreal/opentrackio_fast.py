"""The OpenTrackIO output's hot path: a sample stagectl builds, encoded as CBOR without building its map,
and framed with a checksum from C-level calls.

:func:`encode_cbor` writes the same bytes as ``cbor2.dumps(OpenTrackIOOutput.build(...))`` (the same
keys in the same order, floats as float64, integers in their shortest form), from parts a stream
keeps. Everything that does not change from sample to sample (the protocol, the sample id's random
prefix, ``sourceId`` and ``sourceNumber``, the keys) is encoded once per camera; the timecode once per
frame (the stage clock hands out one label object per frame); the measured rate once per
measurement; the pose with one ``struct`` call; the lens without a map in the common case (normalised
encoders, raw counts and a preset's F-number; anything else, e.g. a lens file's solve, goes through
:func:`~stagectl.unreal.opentrackio_parts.lens_block` and cbor2). Per sample that is a dozen byte
strings joined, against a dict tree built and walked by cbor2.

:func:`single_datagram` frames it: the Fletcher-16 from zlib's Adler-32, one integer remainder and one
parity per 511 bytes (:func:`stagectl.core.opentrackio.fletcher.fletcher_sums`, which the receive side
checks with too). A numpy dot product gives the same sums in about the same
time in a loop, but in the stage, where every burst of samples finds the caches cold, the sink cost
about 4 µs more per sample with it.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import cbor2

from stagectl.core.opentrackio.codec import MAGIC
from stagectl.core.opentrackio.fletcher import fletcher_sums
from stagectl.core.samples import CameraSample, LensValues
from stagectl.unreal.opentrackio_parts import (
    CBOR_LENS_KEY,
    CBOR_MAP_HEADS,
    CBOR_T,
    CBOR_TRANSFORMS,
    NS_PER_S,
    RATE_GAP_NS,
    RATE_WINDOW_NS,
    U32,
    Stream,
    lens_block,
)

__all__ = ["cbor_uint", "encode_cbor", "fletcher_sums", "lens_cbor", "single_datagram"]

_F64 = struct.Struct(">Bd").pack
_UINT8 = [bytes((n,)) if n < 24 else bytes((0x18, n)) for n in range(256)]
_ID_MASK = 0xFFFFFFFFFFFF
_K_SEQUENCE = cbor2.dumps("sequenceNumber")
_K_RATE = cbor2.dumps("sampleRate")
_K_MODE_INTERNAL = cbor2.dumps("mode") + cbor2.dumps("internal")
_K_STAMP = cbor2.dumps("sampleTimestamp") + b"\xa2" + cbor2.dumps("seconds")
_K_NANOSECONDS = cbor2.dumps("nanoseconds")
_K_TIMECODE = cbor2.dumps("timecode")
_K_ENCODERS = cbor2.dumps("encoders")
_K_RAW = cbor2.dumps("rawEncoders")
_K_F_STOP = cbor2.dumps("fStop")
_AXES = tuple(cbor2.dumps(name) for name in ("focus", "iris", "zoom"))
_LOW, _HIGH = -1e-6, 1.0 + 1e-6
_NOTHING_SOLVED = (None,) * 5
"""A LensValues' first five fields when only encoders (and raw counts) are known."""
_K_ZOOM = _AXES[2]
#: "lens": {"encoders": {"focus": ..., "zoom": ...}, "rawEncoders": {"focus": ..., "zoom": ...}} up to
#: the first value, and the key of "rawEncoders" and its "focus".
_FREED_LENS_HEAD = CBOR_LENS_KEY + b"\xa2" + _K_ENCODERS + b"\xa2" + _AXES[0]
_K_RAW_FOCUS = _K_RAW + b"\xa2" + _AXES[0]


def cbor_uint(n: int) -> bytes:
    """CBOR's shortest encoding of the integer ``0 <= n < 2**64`` (what cbor2 writes)."""
    if n < 256:
        return _UINT8[n]
    if n < 0x10000:
        return b"\x19" + n.to_bytes(2, "big")
    if n < 0x100000000:
        return b"\x1a" + n.to_bytes(4, "big")
    return b"\x1b" + n.to_bytes(8, "big")


def _generic_lens(lens: LensValues | None, raw: tuple[int | None, int | None, int | None]) -> bytes:
    block = lens_block(lens, raw)
    return CBOR_LENS_KEY + cbor2.dumps(block) if block else b""


def lens_cbor(lens: LensValues | None, raw: tuple[int | None, int | None, int | None]) -> bytes:
    """``"lens"`` and its map as :func:`lens_block` builds it, encoded (b"" when the block is empty).

    The common FreeD case (normalised encoders, raw counts, a preset's F-number) is written directly;
    anything else (solved values, distortion, values that are not plain floats and ints) goes through
    ``lens_block`` and cbor2, so the bytes are the same either way.
    """
    if lens is not None and raw[1] is None and lens.f_stop is None:  # FreeD's generic and most presets
        encoders = lens.encoders
        if encoders is not None and encoders[1] is None and lens[:5] == _NOTHING_SOLVED \
                and lens.brown_conrady is None and lens.projection_offset_mm is None and not lens.radial:
            focus, _, zoom = encoders
            focus_raw, _, zoom_raw = raw
            if type(focus) is float and type(zoom) is float and 0.0 < focus <= 1.0 and 0.0 < zoom <= 1.0 \
                    and type(focus_raw) is int and type(zoom_raw) is int and 0 <= focus_raw < U32 \
                    and 0 <= zoom_raw < U32:
                return b"".join((_FREED_LENS_HEAD, _F64(0xFB, focus), _K_ZOOM, _F64(0xFB, zoom), _K_RAW_FOCUS,
                                 _UINT8[focus_raw] if focus_raw < 256 else cbor_uint(focus_raw), _K_ZOOM,
                                 _UINT8[zoom_raw] if zoom_raw < 256 else cbor_uint(zoom_raw)))
    items = 0
    parts: list[bytes] = []
    if lens is not None:
        if (lens.focal_length_mm is not None or lens.focus_distance_m is not None or lens.t_stop is not None
                or lens.entrance_pupil_offset_m is not None or lens.radial or lens.brown_conrady is not None
                or lens.projection_offset_mm is not None):
            return _generic_lens(lens, raw)
        f_stop = lens.f_stop
        if f_stop is not None:
            if type(f_stop) is not float:
                return _generic_lens(lens, raw)
            if 0.0 < f_stop < math.inf:
                parts += (_K_F_STOP, _F64(0xFB, f_stop))
                items += 1
        encoders = lens.encoders
        if encoders is not None:
            found = 0
            encoded: list[bytes] = []
            for key, value in zip(_AXES, encoders, strict=True):
                if value is None:
                    continue
                if type(value) is not float:
                    return _generic_lens(lens, raw)
                if 0.0 < value <= 1.0:  # min(1.0, max(0.0, value)) is value itself (not for -0.0)
                    encoded += (key, _F64(0xFB, value))
                elif _LOW <= value <= _HIGH:
                    encoded += (key, _F64(0xFB, min(1.0, max(0.0, value))))
                else:
                    continue
                found += 1
            if found:
                parts += (_K_ENCODERS, CBOR_MAP_HEADS[found], *encoded)
                items += 1
    found = 0
    counts: list[bytes] = []
    for key, value in zip(_AXES, raw, strict=True):
        if value is None:
            continue
        if type(value) is not int:
            return _generic_lens(lens, raw)
        if 0 <= value < U32:
            counts += (key, cbor_uint(value))
            found += 1
    if found:
        parts += (_K_RAW, CBOR_MAP_HEADS[found], *counts)
        items += 1
    if not items:
        return b""
    return b"".join((CBOR_LENS_KEY, CBOR_MAP_HEADS[items], *parts))


def _timecode(stream: Stream, sample: CameraSample) -> bytes:
    """``"timecode"`` and its map, encoded once per label object."""
    tc = sample.timecode
    if tc is stream.tc_key:
        return stream.tc_cbor
    assert tc is not None
    hours, minutes, seconds, frames = tc.components()
    rate = tc.rate.rate
    timecode: dict[str, Any] = {"hours": hours, "minutes": minutes, "seconds": seconds, "frames": frames,
                                "frameRate": {"num": rate.numerator, "denom": rate.denominator}}
    if tc.drop_frame:
        timecode["dropFrame"] = True
    stream.tc_key, stream.tc_cbor = tc, _K_TIMECODE + cbor2.dumps(timecode)
    return stream.tc_cbor


def encode_cbor(stream: Stream, sample: CameraSample, static_cbor: bytes | None) -> bytes | None:
    """The CBOR of ``sample`` on ``stream`` (None: a non-finite pose), with ``static_cbor`` (``"static"`` and
    its map, encoded) when a static block is due; counts the sample on the stream (``timing`` as
    ``OpenTrackIOOutput._timing`` builds it)."""
    (x, y, z), (pan, tilt, roll) = sample.translation_m, sample.rotation_deg
    if not math.isfinite(x + y + z + pan + tilt + roll):
        return None
    lens = lens_cbor(sample.lens, (sample.focus_raw, sample.iris_raw, sample.zoom_raw))
    count = stream.count
    arrival = sample.arrival_ns
    if 0 <= arrival - stream.last_arrival_ns <= RATE_GAP_NS \
            and arrival - stream.window_start_ns < RATE_WINDOW_NS:  # Stream.measure's common case
        stream.last_arrival_ns = arrival
        stream.window_count += 1
    else:
        stream.measure(arrival)
    stream.count = count + 1
    sequence = count % U32
    rate, stamp, tc = stream.rate, sample.sample_time_ns, sample.timecode
    parts = [CBOR_MAP_HEADS[6 + bool(lens) + (static_cbor is not None)], stream.id_head,
             b"%012x" % (count & _ID_MASK), stream.source_tail,
             CBOR_MAP_HEADS[1 + (rate is not None) + 2 * (stamp is not None) + (tc is not None)], _K_SEQUENCE,
             _UINT8[sequence] if sequence < 256 else cbor_uint(sequence)]
    if rate is not None:
        if rate is not stream.rate_key:
            stream.rate_key, stream.rate_cbor = rate, _K_RATE + cbor2.dumps(rate)
        parts.append(stream.rate_cbor)
    if stamp is not None:
        seconds, ns = divmod(stamp, NS_PER_S)
        parts += (_K_MODE_INTERNAL, _K_STAMP, cbor2.dumps(seconds), _K_NANOSECONDS, cbor_uint(ns))
    if tc is not None:
        parts.append(stream.tc_cbor if tc is stream.tc_key else _timecode(stream, sample))
    parts.append(CBOR_TRANSFORMS(CBOR_T[0], x, CBOR_T[1], y, CBOR_T[2], z, CBOR_T[3], pan, CBOR_T[4], tilt,
                                 CBOR_T[5], roll, CBOR_T[6]))
    if lens:
        parts.append(lens)
    if static_cbor is not None:
        parts.append(static_cbor)
    return b"".join(parts)


_HEAD = struct.Struct(">4sxBHIH").pack
def single_datagram(payload: bytes, encoding: int, sequence: int) -> bytes:
    """One last-and-only segment (payload <= 32767 bytes): the same bytes as
    ``encode_datagrams(payload, encoding, sequence)[0]``, the checksum from :func:`fletcher_sums`."""
    head = _HEAD(MAGIC, encoding, sequence, 0, 0x8000 | len(payload))
    s1, s2 = fletcher_sums(head + payload)
    return head + bytes((s2 & 0xFF, s1 & 0xFF)) + payload
