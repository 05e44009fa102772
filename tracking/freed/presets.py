"""FreeD vendor presets: default port, zoom/focus raw ranges and what the spare bytes mean.

FreeD's D1 message is the same on every tracker, but vendors disagree on the lens counts and on
the 16 "spare" bits (bytes 26-27, read big-endian as one integer). The table follows Unreal's
LiveLinkFreeD presets and the vendors' notes as gathered in the shared PROTOCOLS.md:

=========  =====  =====================  ======================  =========================================
preset     port   zoom raw range         focus raw range         spare
=========  =====  =====================  ======================  =========================================
generic    40000  0 .. 0x10000           0 .. 0x10000            user data, kept raw
panasonic  1111   0x555 .. 0xFFF         0x555 .. 0xFFF          iris, raw counts
sony       52380  0 .. 0x7AC0            0x1000 .. 0xF000        bits 0-11 F-number x100, 12-15 frame count
mosys      8001   0 .. 0xFFFF            0 .. 0xFFFF             bits 0-7 tracking quality 0..3
stype      6301   0 .. 0xFFFFFF          0 .. 0xFFFFFF           user data, kept raw (stYpe and Ncam)
zcam       40000  focal length mm x100   focus distance mm x10   bits 0-11 F-number x100, 12-15 sequence
=========  =====  =====================  ======================  =========================================

Z CAM's default port is not published in the sources we have (UNVERIFIED): the preset uses the
generic 40000; set ``listen`` to what the camera is configured to send to.

Raw zoom and focus always flow as the tracker sent them; the ranges only give the normalised
encoders (0..1, clamped: real encoders overshoot their calibrated ends a little) shown before a
lens file solves the lens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from stagectl.core import coords
from stagectl.core.clock import StageClock
from stagectl.core.samples import CameraSample, LensValues
from tracking.freed.codec import FreeDPosition

#: FreeD angles a real head can report; anything outside is rejected as a bad value.
PAN_LIMIT_DEG = 180.0
TILT_LIMIT_DEG = 90.0
ROLL_LIMIT_DEG = 180.0

SpareFields = dict[str, int | float]


class SpareMeaning(NamedTuple):
    """What a preset reads from the 16 spare bits (a NamedTuple: one is made per datagram)."""

    extra: SpareFields
    """Fields for :attr:`CameraSample.extra` (always includes the raw ``spare``)."""
    f_stop: float | None = None
    iris_raw: int | None = None
    frame_counter: int | None = None


def _user(spare: int) -> SpareMeaning:
    return SpareMeaning({"spare": spare})


def _panasonic(spare: int) -> SpareMeaning:
    return SpareMeaning({"spare": spare}, iris_raw=spare)


def _f_number_and_counter(spare: int) -> SpareMeaning:
    f_x100 = spare & 0x0FFF
    counter = spare >> 12
    extra: SpareFields = {"spare": spare, "frame_counter": counter}
    return SpareMeaning(extra, f_stop=f_x100 / 100.0 if f_x100 else None, frame_counter=counter)


def _mosys(spare: int) -> SpareMeaning:
    return SpareMeaning({"spare": spare, "tracking_quality": spare & 0xFF})


@dataclass(frozen=True, slots=True)
class FreeDPreset:
    """One vendor's reading of FreeD.

    Attributes:
        name: the stage-file value (``preset = "sony"``).
        label: the vendor name for people.
        default_port: where the vendor's trackers send by default.
        zoom_range / focus_range: raw counts at the two ends, for the normalised encoders; None
            when the counts are physical values instead (Z CAM).
        spare: a one-line description of the spare bits.
        counter_modulus: the modulus of a frame counter in the spare bits, if any (loss figures).
        lens_in_mm: zoom carries focal length mm x100 and focus distance mm x10 (Z CAM).
    """

    name: str
    label: str
    default_port: int
    zoom_range: tuple[int, int] | None
    focus_range: tuple[int, int] | None
    spare: str
    read_spare: Callable[[int], SpareMeaning]
    counter_modulus: int | None = None
    lens_in_mm: bool = False

    def normalise(self, raw: int, span: tuple[int, int] | None) -> float | None:
        """``raw`` mapped to 0..1 over ``span`` (clamped), None without a span."""
        if span is None:
            return None
        lo, hi = span
        return min(1.0, max(0.0, (raw - lo) / (hi - lo)))


PRESETS: dict[str, FreeDPreset] = {p.name: p for p in (
    FreeDPreset("generic", "Generic", 40000, (0, 0x10000), (0, 0x10000), "user data (kept raw)", _user),
    FreeDPreset("panasonic", "Panasonic", 1111, (0x555, 0xFFF), (0x555, 0xFFF), "iris (raw counts)",
                _panasonic),
    FreeDPreset("sony", "Sony", 52380, (0, 0x7AC0), (0x1000, 0xF000),
                "bits 0-11 F-number x100, bits 12-15 frame counter", _f_number_and_counter,
                counter_modulus=16),
    FreeDPreset("mosys", "Mo-Sys", 8001, (0, 0xFFFF), (0, 0xFFFF), "bits 0-7 tracking quality 0..3", _mosys),
    FreeDPreset("stype", "stYpe / Ncam", 6301, (0, 0xFFFFFF), (0, 0xFFFFFF), "user data (kept raw)", _user),
    FreeDPreset("zcam", "Z CAM", 40000, None, None, "bits 0-11 F-number x100, bits 12-15 sequence",
                _f_number_and_counter, counter_modulus=16, lens_in_mm=True),
)}
"""Presets by stage-file name."""

DEFAULT_PRESET = PRESETS["generic"]


def angle_problem(pos: FreeDPosition) -> str | None:
    """Why the angles of ``pos`` cannot be a real camera's, or None when they can."""
    if not -PAN_LIMIT_DEG <= pos.pan_deg <= PAN_LIMIT_DEG:
        return f"pan {pos.pan_deg:.3f} deg is outside -180..180"
    if not -TILT_LIMIT_DEG <= pos.tilt_deg <= TILT_LIMIT_DEG:
        return f"tilt {pos.tilt_deg:.3f} deg is outside -90..90"
    if not -ROLL_LIMIT_DEG <= pos.roll_deg <= ROLL_LIMIT_DEG:
        return f"roll {pos.roll_deg:.3f} deg is outside -180..180"
    return None


def freed_sample(pos: FreeDPosition, preset: FreeDPreset, camera: str, source: str, arrival_ns: int,
                 clock: StageClock, sequence: int) -> CameraSample:
    """A :class:`CameraSample` (internal axes and signs, as ``coords.freed_to_internal`` turns them) from a
    decoded D1 message.

    FreeD sends no timecode: the sample carries the stage clock's at arrival. Built once per datagram
    on the I/O thread, so the tuples are built positionally and a preset whose spare bits are user
    data makes no :class:`SpareMeaning` (the same values as its ``read_spare`` would give).
    """
    camera_id, pan, tilt, roll, x, y, z, zoom, focus, spare = pos
    read = preset.read_spare
    if read is _user:
        extra: SpareFields = {"spare": spare}
        f_stop: float | None = None
        iris_raw: int | None = None
    else:
        meaning = read(spare)
        extra, f_stop, iris_raw = meaning.extra, meaning.f_stop, meaning.iris_raw
    if preset.lens_in_mm:
        lens = LensValues(zoom / 100.0, focus / 10_000.0, f_stop)
    else:
        zoom_n = focus_n = None
        span = preset.zoom_range
        if span is not None:
            lo, hi = span
            zoom_n = min(1.0, max(0.0, (zoom - lo) / (hi - lo)))
        span = preset.focus_range
        if span is not None:
            lo, hi = span
            focus_n = min(1.0, max(0.0, (focus - lo) / (hi - lo)))
        lens = LensValues(None, None, f_stop, None, None, (focus_n, None, zoom_n))
    mm = coords.MM_PER_M
    return CameraSample(camera, source, arrival_ns, (x / mm, y / mm, z / mm), (-pan, tilt, roll), zoom, focus,
                        iris_raw, sequence, clock.timecode_at(arrival_ns), camera_id, extra, lens)
