"""The bytes a take is recorded as: one fixed 208-byte record per camera sample, JSON for the rest.

A camera sample is packed with one precompiled ``struct`` on the I/O thread (about a microsecond)
and read back in bulk with numpy (:data:`SAMPLE_DTYPE` has the same layout), so neither the hot
path nor an export of a million samples touches a Python object per field.

Sample layout, little-endian (:data:`SAMPLE_STRUCT`): arrival_ns, frame, sequence, sample_time_ns
(int64; sequence and sample_time -1 when the tracker sent none), then float64 x, y, z (m; X right,
Y forward, Z up), pan, tilt, roll (deg), zoom/focus/iris raw counts, focal length (mm), focus
distance (m), f-stop, T-stop, entrance pupil (m), k1, k2, k3, p1, p2, cx, cy (px), then uint16
camera index, uint16 flags (:data:`FLAG_TRACKER_TIMECODE`, :data:`FLAG_SOLVED`), 4 pad bytes.
NaN = unknown.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from presets.colour import Cdl
from stagectl.samples import CameraSample
from stagectl.takes.model import LensInfo, Slate
from stagectl.timecode import FrameRate

SAMPLE_STRUCT = struct.Struct("<4q21d2H4x")
SAMPLE_SIZE = SAMPLE_STRUCT.size
SAMPLE_DTYPE = np.dtype([
    ("arrival_ns", "<i8"), ("frame", "<i8"), ("sequence", "<i8"), ("sample_time_ns", "<i8"),
    ("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("pan", "<f8"), ("tilt", "<f8"), ("roll", "<f8"),
    ("zoom_raw", "<f8"), ("focus_raw", "<f8"), ("iris_raw", "<f8"),
    ("focal_length_mm", "<f8"), ("focus_distance_m", "<f8"), ("f_stop", "<f8"), ("t_stop", "<f8"),
    ("entrance_pupil_m", "<f8"), ("k1", "<f8"), ("k2", "<f8"), ("k3", "<f8"), ("p1", "<f8"), ("p2", "<f8"),
    ("cx", "<f8"), ("cy", "<f8"), ("camera", "<u2"), ("flags", "<u2"), ("_pad", "<u4")])
assert SAMPLE_DTYPE.itemsize == SAMPLE_SIZE == 208

FLAG_TRACKER_TIMECODE = 1
"""The sample's timecode came from the tracker (else the stage clock at arrival)."""
FLAG_SOLVED = 2
"""The lens values were solved from a lens file (else the tracker's own, or none)."""

NAN = math.nan
_NO_LENS = (NAN,) * 14


def _num(value: float | int | None) -> float:
    return NAN if value is None else float(value)


def pack_sample(sample: CameraSample, camera_index: int, frame: int) -> bytes:
    """One sample as its 208-byte record; ``frame`` is its timecode's absolute frame at the take's rate."""
    lens = sample.lens
    flags = FLAG_TRACKER_TIMECODE if sample.timecode_source == "tracker" else 0
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
    seq = sample.sequence
    when = sample.sample_time_ns
    return SAMPLE_STRUCT.pack(
        sample.arrival_ns, frame, -1 if seq is None else seq, -1 if when is None else when,
        t[0], t[1], t[2], r[0], r[1], r[2],
        _num(sample.zoom_raw), _num(sample.focus_raw), _num(sample.iris_raw),
        *lens_part, camera_index, flags)


def unpack_samples(blob: bytes | bytearray | memoryview) -> np.ndarray:
    """Records (a whole number of them) as a structured array of :data:`SAMPLE_DTYPE` (a view)."""
    return np.frombuffer(blob, dtype=SAMPLE_DTYPE)


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
