"""The bytes a take is recorded as: a fixed 256-byte record per camera sample, raw datagrams, JSON.

A camera sample is packed with one precompiled ``struct`` on the I/O thread (about a microsecond)
and read back in bulk with numpy (:data:`SAMPLE_DTYPE` has the same layout), so neither the hot
path nor an export of a million samples touches a Python object per field.

Sample layout (layout 2), little-endian (:data:`SAMPLE_STRUCT`):

* int64: arrival_ns, frame (at the take's rate and drop-frame mode, counted through
  ``Timecode.rebase``), sequence, raw_index (the take's raw datagram that completed the sample),
  ptp_seconds / ptp_nanoseconds (``sampleTimestamp`` exactly as sent); -1 = none;
* float64: x, y, z (m; X right, Y forward, Z up), pan, tilt, roll (deg), zoom/focus/iris raw counts,
  focal length (mm), focus distance (m), f-stop, T-stop, entrance pupil (m), k1, k2, k3, p1, p2,
  cx, cy (px); NaN = unknown (a sample without transforms has a NaN pose);
* int64 device_id (FreeD camera id, OpenTrackIO sourceNumber; -1 none);
* uint32 tc_rate_num, tc_rate_den, tc_sub_frame; int32 spare (FreeD's 16 spare bits, -1 none);
* uint8 tc_hours, tc_minutes, tc_seconds, tc_frames: the sample's own timecode label exactly as the
  tracker sent it (or the stage clock's at arrival), at its own rate;
* uint16 camera index, flags (:data:`FLAG_TRACKER_TIMECODE`, :data:`FLAG_SOLVED`, :data:`FLAG_TC_DROP`,
  :data:`FLAG_TC_SUB_FRAME`, :data:`FLAG_NO_POSE`), source index (:data:`NO_SOURCE`: none); 6 pad
  bytes.

Layout 1 (208 bytes, :data:`SAMPLE_V1_DTYPE`) is what stagectl 0.1 wrote; :func:`upgrade_v1` reads it
into layout 2 (its timecode was the take's, its PTP time normalised).

Raw datagrams (:func:`pack_raw`): every datagram (or serial read) a source received during the take,
as it arrived: ``<qqIHBBI`` arrival monotonic ns, arrival wall-clock ns, index in the take, source
index, flags (:data:`RAW_PREROLL`), peer length, data length, then the peer text (UTF-8, at most
:data:`RAW_PEER_MAX` bytes) and the bytes. :func:`iter_raw` reads a batch of them back as
``model.RawEntry``.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from stagectl.core.colour import Cdl
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.model import LensInfo, RawEntry, Slate

SAMPLE_STRUCT = struct.Struct("<6q21dq3Ii4B3H6x")
SAMPLE_SIZE = SAMPLE_STRUCT.size
_POSE_AND_LENS = ("x", "y", "z", "pan", "tilt", "roll", "zoom_raw", "focus_raw", "iris_raw",
                  "focal_length_mm", "focus_distance_m", "f_stop", "t_stop", "entrance_pupil_m",
                  "k1", "k2", "k3", "p1", "p2", "cx", "cy")
SAMPLE_DTYPE = np.dtype([
    ("arrival_ns", "<i8"), ("frame", "<i8"), ("sequence", "<i8"), ("raw_index", "<i8"),
    ("ptp_seconds", "<i8"), ("ptp_nanoseconds", "<i8"),
    *((name, "<f8") for name in _POSE_AND_LENS),
    ("device_id", "<i8"), ("tc_rate_num", "<u4"), ("tc_rate_den", "<u4"), ("tc_sub_frame", "<u4"),
    ("spare", "<i4"), ("tc_hours", "u1"), ("tc_minutes", "u1"), ("tc_seconds", "u1"), ("tc_frames", "u1"),
    ("camera", "<u2"), ("flags", "<u2"), ("source", "<u2"), ("_pad", "V6")])
assert SAMPLE_DTYPE.itemsize == SAMPLE_SIZE == 256
SAMPLE_V1_DTYPE = np.dtype([
    ("arrival_ns", "<i8"), ("frame", "<i8"), ("sequence", "<i8"), ("sample_time_ns", "<i8"),
    *((name, "<f8") for name in _POSE_AND_LENS), ("camera", "<u2"), ("flags", "<u2"), ("_pad", "<u4")])
SAMPLE_V1_SIZE = SAMPLE_V1_DTYPE.itemsize
assert SAMPLE_V1_SIZE == 208
LAYOUT = 2
"""The layout :func:`pack_sample` writes."""
LAYOUT_SIZES = {1: SAMPLE_V1_SIZE, 2: SAMPLE_SIZE}
NO_SOURCE = 0xFFFF
"""The ``source`` of a sample whose take source is not known (the uint16 field's largest value: every
real source index is below it); layout-1 records, which had no sources, read as this."""

FLAG_TRACKER_TIMECODE = 1
"""The sample's timecode came from the tracker (else the stage clock at arrival)."""
FLAG_SOLVED = 2
"""The lens values were solved from a lens file (else the tracker's own, or none)."""
FLAG_TC_DROP = 4
"""The timecode was sent with the drop-frame flag (kept as sent, even at a rate without drop-frame)."""
FLAG_TC_SUB_FRAME = 8
"""The timecode carried a sub-frame (``tc_sub_frame``)."""
FLAG_NO_POSE = 16
"""The sample carried no transforms (a lens-only or static-only sample): its pose is NaN."""

RAW_HEAD = struct.Struct("<qqIHBBI")
RAW_PEER_MAX = 255
"""Longest sender text a raw entry keeps (bytes of UTF-8; its length is one byte)."""
RAW_PREROLL = 1
"""A datagram that arrived just before RECORD (a segment of the first sample may be among them)."""

NAN = math.nan
_NO_LENS = (NAN,) * 12  # focal, focus, f, T, pupil, k1, k2, k3, p1, p2, cx, cy
_NS_PER_S = 1_000_000_000


def _num(value: float | int | None) -> float:
    return NAN if value is None else float(value)


def pack_sample(sample: CameraSample, camera_index: int, frame: int, source_index: int = NO_SOURCE,
                raw_index: int = -1) -> bytes:
    """One sample as its 256-byte record; ``frame`` is its timecode's absolute frame at the take's rate,
    ``source_index`` its take source (:data:`NO_SOURCE`: none), ``raw_index`` the raw entry that completed
    it (-1: none)."""
    lens = sample.lens
    label = sample.tracker_timecode
    flags = 0
    if label is not None:
        flags = FLAG_TRACKER_TIMECODE
        h, m, s, f, rate, sub = label.hours, label.minutes, label.seconds, label.frames, label.rate, \
            label.sub_frame
        if label.drop_frame:
            flags |= FLAG_TC_DROP
    else:
        tc = sample.timecode
        assert tc is not None, "the recorder gives every sample a timecode"
        h, m, s, f = tc.components()
        rate, sub = tc.rate, None
        if tc.drop_frame:
            flags |= FLAG_TC_DROP
    if sub is not None:
        flags |= FLAG_TC_SUB_FRAME
    if lens is None:
        lens_part: tuple[float, ...] = _NO_LENS
    else:
        brown = lens.brown_conrady or (NAN, NAN, NAN, NAN, NAN)
        centre = lens.principal_point_px or (NAN, NAN)
        lens_part = (_num(lens.focal_length_mm), _num(lens.focus_distance_m), _num(lens.f_stop),
                     _num(lens.t_stop), _num(lens.entrance_pupil_offset_m), *brown, *centre)
        if lens.lens_file is not None:
            flags |= FLAG_SOLVED
    t, r = sample.translation_m, sample.rotation_deg
    if t[0] != t[0]:  # NaN: a sample without transforms
        flags |= FLAG_NO_POSE
    seq = sample.sequence
    stamp = sample.sample_timestamp
    if stamp is None and sample.sample_time_ns is not None:
        stamp = divmod(sample.sample_time_ns, _NS_PER_S)
    extra = sample.extra
    spare = extra.get("spare") if extra is not None else None
    fraction = rate.rate
    return SAMPLE_STRUCT.pack(
        sample.arrival_ns, frame, -1 if seq is None else seq, raw_index,
        -1 if stamp is None else stamp[0], -1 if stamp is None else stamp[1],
        t[0], t[1], t[2], r[0], r[1], r[2],
        _num(sample.zoom_raw), _num(sample.focus_raw), _num(sample.iris_raw), *lens_part,
        -1 if sample.device_id is None else sample.device_id,
        fraction.numerator, fraction.denominator, 0 if sub is None else sub,
        spare if isinstance(spare, int) else -1, h, m, s, f, camera_index, flags, source_index)


def unpack_samples(blob: bytes | bytearray | memoryview) -> np.ndarray:
    """Layout-2 records (a whole number of them) as a structured array of :data:`SAMPLE_DTYPE` (a view)."""
    return np.frombuffer(blob, dtype=SAMPLE_DTYPE)


def join_chunks(chunks: Iterable[tuple[bytes | bytearray | memoryview, int]], rate: FrameRate,
                drop_frame: bool, newer: Callable[[int], Exception]) -> np.ndarray:
    """One camera's records from its stored chunks ``(blob, layout)``, in the order given.

    Consecutive layout-2 chunks are joined as bytes and viewed once: ``np.concatenate`` of hundreds of
    structured arrays copies field by field, five times slower than reading the take's rows. Layout-1
    chunks are upgraded; a newer layout raises ``newer(layout)``."""
    parts: list[np.ndarray] = []
    run: list[bytes | bytearray | memoryview] = []
    for blob, layout in chunks:
        if layout == LAYOUT:
            run.append(blob)
            continue
        if run:
            parts.append(unpack_samples(b"".join(run)))
            run = []
        if layout != 1:
            raise newer(layout)
        parts.append(upgrade_v1(blob, rate, drop_frame))
    if run:
        parts.append(unpack_samples(run[0] if len(run) == 1 else b"".join(run)))
    if not parts:
        return np.zeros(0, dtype=SAMPLE_DTYPE)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def upgrade_v1(blob: bytes | bytearray | memoryview, rate: FrameRate, drop_frame: bool) -> np.ndarray:
    """Layout-1 records (208 bytes, stagectl 0.1) as layout 2.

    Layout 1 kept each sample's frame at the take's rate and its PTP time in nanoseconds: the
    timecode label is the take's label of that frame, the PTP pair is split back into seconds and
    nanoseconds; there was no raw capture, device id or spare bits (-1), nor take sources
    (:data:`NO_SOURCE`)."""
    old = np.frombuffer(blob, dtype=SAMPLE_V1_DTYPE)
    new = np.zeros(old.size, dtype=SAMPLE_DTYPE)
    for name in ("arrival_ns", "frame", "sequence", *_POSE_AND_LENS, "camera"):
        new[name] = old[name]
    new["flags"] = old["flags"] & (FLAG_TRACKER_TIMECODE | FLAG_SOLVED)
    if drop_frame:
        new["flags"] |= FLAG_TC_DROP
    known = old["sample_time_ns"] >= 0
    new["ptp_seconds"] = np.where(known, old["sample_time_ns"] // _NS_PER_S, -1)
    new["ptp_nanoseconds"] = np.where(known, old["sample_time_ns"] % _NS_PER_S, -1)
    new["raw_index"] = new["device_id"] = -1
    new["spare"] = -1
    new["source"] = NO_SOURCE
    new["tc_rate_num"], new["tc_rate_den"] = rate.rate.numerator, rate.rate.denominator
    fields = timecode_fields(old["frame"], rate, drop_frame)
    for name, values in zip(("tc_hours", "tc_minutes", "tc_seconds", "tc_frames"), fields, strict=True):
        new[name] = values
    return new


def peer_bytes(peer: str) -> bytes:
    """A sender's text as a raw entry stores it (UTF-8, at most :data:`RAW_PEER_MAX` bytes)."""
    return peer.encode("utf-8", "replace")[:RAW_PEER_MAX]


def pack_raw(arrival_ns: int, wall_ns: int, number: int, source: int, flags: int, peer: str | bytes,
             data: bytes) -> bytes:
    """One raw entry's bytes (the journal's RAW record, and one entry of a stored batch); ``peer`` is the
    sender's text or, already encoded, :func:`peer_bytes` of it (what the capture keeps per sender)."""
    where = peer if isinstance(peer, bytes) else peer_bytes(peer)
    return b"".join((RAW_HEAD.pack(arrival_ns, wall_ns, number, source, flags, len(where), len(data)),
                     where, data))


def iter_raw(blob: bytes | memoryview) -> Iterator[RawEntry]:
    """The entries of a batch of :func:`pack_raw` records, in order; ValueError (after the whole entries
    before it) when the batch ends inside an entry."""
    view = memoryview(blob)
    pos, size, head, count = 0, len(view), RAW_HEAD.size, 0
    while pos < size:
        if pos + head > size:
            raise ValueError(f"the batch is truncated: {size - pos} bytes after entry {count} are too few "
                             f"for an entry header ({head} bytes)")
        arrival, wall, number, source, flags, peer_len, data_len = RAW_HEAD.unpack_from(view, pos)
        start = pos + head
        end = start + peer_len + data_len
        if end > size:
            raise ValueError(f"the batch is truncated: entry {count} (number {number}) at byte {pos} needs "
                             f"{end - pos} bytes, {size - pos} are left")
        peer = bytes(view[start:start + peer_len]).decode("utf-8", "replace")
        yield RawEntry(arrival, wall, number, source, flags, peer, bytes(view[start + peer_len:end]))
        pos = end
        count += 1


# --- JSON records -----------------------------------------------------------------------------------

def dumps(obj: Mapping[str, Any]) -> bytes:
    """Compact JSON bytes (NaN refused: a record must be readable by any JSON reader)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def slate_json(slate: Slate) -> dict[str, Any]:
    """The slate as JSON values."""
    out = asdict(slate)
    out["cameras"] = list(slate.cameras)
    return out


def slate_from_json(obj: Mapping[str, Any]) -> Slate:
    """Inverse of :func:`slate_json` (unknown keys ignored, missing ones default)."""
    return Slate(production=str(obj.get("production", "")), scene=str(obj.get("scene", "")),
                 shot=str(obj.get("shot", "")), take=int(obj.get("take", 1)),
                 cameras=tuple(str(c) for c in obj.get("cameras", ())), notes=str(obj.get("notes", "")))


def rate_json(rate: FrameRate) -> list[int]:
    """An exact frame rate as ``[numerator, denominator]``."""
    return [rate.rate.numerator, rate.rate.denominator]


def cdl_json(cdl: Cdl) -> dict[str, Any]:
    """A CDL as ``{"slope": [..], "offset": [..], "power": [..], "saturation": x}``."""
    return {"slope": list(cdl.slope), "offset": list(cdl.offset), "power": list(cdl.power),
            "saturation": cdl.saturation}


def cdl_from_json(obj: Mapping[str, Any]) -> Cdl:
    """Inverse of :func:`cdl_json`."""
    def rgb(key: str) -> tuple[float, float, float]:
        r, g, b = (float(v) for v in obj[key])
        return r, g, b

    return Cdl(rgb("slope"), rgb("offset"), rgb("power"), float(obj["saturation"]))


def lens_json(lens: LensInfo | None) -> dict[str, Any] | None:
    """A camera's lens file and film back as JSON values (None: unsolved)."""
    return None if lens is None else asdict(lens)


def lens_from_json(obj: Mapping[str, Any] | None) -> LensInfo | None:
    """Inverse of :func:`lens_json`."""
    if not obj:
        return None
    return LensInfo(str(obj["lens_file"]), str(obj["make"]), str(obj["model"]), str(obj["serial"]),
                    float(obj["sensor_width_mm"]), float(obj["sensor_height_mm"]),
                    int(obj["image_width_px"]), int(obj["image_height_px"]))
