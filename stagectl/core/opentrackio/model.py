"""An OpenTrackIO sample in stagectl's units: the frozen dataclasses parse_sample makes.

OpenTrackIO's frame *is* stagectl's internal frame (see stagectl/core/coords.py): metres, degrees,
Z up, Y forward, X right, (pan, tilt, roll) intrinsic ZXY with pan positive to the left, so
translations and rotations are carried unchanged. Every field is optional, as in the schema;
None (or an empty tuple) means the sample did not carry it. Units are in the names; a
``Fraction`` is an exact rational such as 24000/1001.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from stagectl.core.timecode import Timecode
from stagectl.core.timecode.label import TimecodeLabel

Vec3 = tuple[float, float, float]
GLOBAL_STAGE_KEYS = ("E", "N", "U", "lat0", "lon0", "h0")
"""``globalStage``'s keys, in the order of ``OpenTrackIOSample.global_stage``."""


def rational_json(value: Fraction) -> dict[str, int]:
    """An exact rate or duration as OpenTrackIO writes it: ``{"num": .., "denom": ..}``."""
    return {"num": value.numerator, "denom": value.denominator}
#: The model OpenTrackIO implies when a distortion entry names none: distorted -> undistorted.
DEFAULT_DISTORTION_MODEL = "Brown-Conrady D-U"


@dataclass(frozen=True, slots=True)
class OpenTrackIOTransform:
    """One entry of ``transforms``: relative to the entry before it (the first: to the stage).

    ``scale`` is the entry's (x, y, z) scale, None when absent (= 1, 1, 1).
    """

    translation_m: Vec3
    rotation_deg: Vec3
    scale: Vec3 | None = None
    transform_id: str | None = None


@dataclass(frozen=True, slots=True)
class LensDistortion:
    """One ``lens.distortion`` entry.

    ``model`` names the direction of the mapping: "Brown-Conrady D-U" (the default) maps
    distorted to undistorted coordinates, "Brown-Conrady U-D" the reverse. ``radial`` are
    k1..kN and ``tangential`` p1..pN in OpenTrackIO's (OpenLensIO) normalisation, not OpenCV's.
    """

    radial: tuple[float, ...]
    tangential: tuple[float, ...] = ()
    model: str = DEFAULT_DISTORTION_MODEL
    overscan: float | None = None


@dataclass(frozen=True, slots=True)
class OpenTrackIOLens:
    """The ``lens`` block.

    Attributes:
        pinhole_focal_length_mm: ``pinholeFocalLength``, the CG pinhole model's focal length.
        focus_distance_m: distance to the plane of focus.
        f_stop / t_stop: aperture, geometric and transmission.
        entrance_pupil_offset_m: entrance pupil from the nominal imaging plane, positive towards
            the subject.
        encoder_focus / encoder_iris / encoder_zoom: normalised 0..1 (focus 0 = infinity,
            iris 0 = open, zoom 0 = wide).
        raw_focus / raw_iris / raw_zoom: raw encoder counts (u32).
        distortion: the distortion entries in the order sent.
        projection_offset_mm / distortion_offset_mm: (x, y) offsets of the centre of projection
            and of distortion from the sensor centre.
        exposure_falloff: ``exposureFalloff`` (a1, a2, a3): vignetting coefficients; a2 and a3 may
            be absent (None).
        custom: ``lens.custom``: extra coefficients whose meaning producer and consumer agree on.
    """

    pinhole_focal_length_mm: float | None = None
    focus_distance_m: float | None = None
    f_stop: float | None = None
    t_stop: float | None = None
    entrance_pupil_offset_m: float | None = None
    encoder_focus: float | None = None
    encoder_iris: float | None = None
    encoder_zoom: float | None = None
    raw_focus: int | None = None
    raw_iris: int | None = None
    raw_zoom: int | None = None
    distortion: tuple[LensDistortion, ...] = ()
    projection_offset_mm: tuple[float, float] | None = None
    distortion_offset_mm: tuple[float, float] | None = None
    exposure_falloff: tuple[float, float | None, float | None] | None = None
    custom: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Synchronization:
    """``timing.synchronization``: what the tracker is locked to.

    ``offset_*_s`` are the offsets in seconds between sync and sample; the ``ptp_*`` fields
    describe the PTP leader when ``source`` is "ptp".
    """

    locked: bool
    source: str  # "genlock" | "videoIn" | "ptp" | "ntp"
    frequency: Fraction | None = None
    present: bool | None = None
    offset_translation_s: float | None = None
    offset_rotation_s: float | None = None
    offset_lens_encoders_s: float | None = None
    ptp_profile: str | None = None
    ptp_domain: int | None = None
    ptp_leader_identity: str | None = None
    ptp_leader_priorities: tuple[int, int] | None = None
    ptp_leader_accuracy_s: float | None = None
    ptp_leader_time_source: str | None = None
    ptp_mean_path_delay_s: float | None = None
    ptp_vlan: int | None = None


@dataclass(frozen=True, slots=True)
class OpenTrackIOStatic:
    """The ``static`` block: what changes per take or per setup, not per frame (sent every ~2 s)."""

    duration_s: Fraction | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    camera_firmware: str | None = None
    camera_label: str | None = None
    capture_frame_rate: Fraction | None = None
    sensor_width_mm: float | None = None
    sensor_height_mm: float | None = None
    sensor_width_px: int | None = None
    sensor_height_px: int | None = None
    anamorphic_squeeze: Fraction | None = None
    iso_speed: int | None = None
    shutter_angle_deg: float | None = None
    fdl_link: str | None = None
    lens_make: str | None = None
    lens_model: str | None = None
    lens_serial: str | None = None
    lens_firmware: str | None = None
    lens_nominal_focal_length_mm: float | None = None
    lens_distortion_overscan_max: float | None = None
    lens_undistortion_overscan_max: float | None = None
    lens_calibration_history: tuple[str, ...] = ()
    tracker_make: str | None = None
    tracker_model: str | None = None
    tracker_serial: str | None = None
    tracker_firmware: str | None = None


@dataclass(frozen=True, slots=True)
class OpenTrackIOSample:
    """One OpenTrackIO sample.

    Attributes:
        translation_m / rotation_deg: the camera pose, ``transforms`` composed in order (see
            stagectl.core.opentrackio.sample.compose_transforms); None when the sample has none.
        transforms: the entries as sent.
        timing_mode: "internal" (the sample carries its own PTP time) or "external".
        sample_rate: samples per second, exact.
        sample_time_ns / recorded_time_ns: ``sampleTimestamp`` / ``recordedTimestamp`` in ns since
            the PTP epoch.
        sample_timestamp / recorded_timestamp: the same as sent, (seconds, nanoseconds): the schema
            allows nanoseconds up to 2**32 - 1 (building a sample writes these when set).
        sequence_number: ``timing.sequenceNumber`` (u32, one per sample; not the header's).
        timecode: the frame the sample's timecode counts to (its rate and drop-frame mode inside);
            ``timecode_label`` is the timecode exactly as sent (drop-frame flag, sub-frame, odd
            labels) and wins over ``timecode`` and ``sub_frame`` when a sample is built.
        source_id / sample_id: ``urn:uuid:`` strings (lowercase); ``source_number`` 0..2**32-1.
        protocol_name / protocol_version: e.g. "OpenTrackIO", (1, 0, 1).
        tracker_*: the ``tracker`` block (status text, slate, notes, recording flag).
        static: the ``static`` block when this sample carries one.
        global_stage: ``globalStage`` (E, N, U, lat0, lon0, h0): the stage origin on the globe.
        custom: the top-level ``custom`` map, as sent (the schema leaves it to producers).
        warnings: what is schema-valid but odd (kept as sent): ``timecode_drop_frame``,
            ``timecode_frames``, ``timecode_skipped``, ``nanoseconds``, ``magnitude``.
    """

    translation_m: Vec3 | None = None
    rotation_deg: Vec3 | None = None
    transforms: tuple[OpenTrackIOTransform, ...] = ()
    lens: OpenTrackIOLens | None = None
    timing_mode: str | None = None
    sample_rate: Fraction | None = None
    sample_time_ns: int | None = None
    recorded_time_ns: int | None = None
    sequence_number: int | None = None
    timecode: Timecode | None = None
    sub_frame: int | None = None
    synchronization: Synchronization | None = None
    source_id: str | None = None
    sample_id: str | None = None
    source_number: int | None = None
    related_sample_ids: tuple[str, ...] = ()
    protocol_name: str | None = None
    protocol_version: tuple[int, int, int] | None = None
    tracker_status: str | None = None
    tracker_slate: str | None = None
    tracker_notes: str | None = None
    tracker_recording: bool | None = None
    static: OpenTrackIOStatic | None = None
    timecode_label: TimecodeLabel | None = None
    sample_timestamp: tuple[int, int] | None = None
    recorded_timestamp: tuple[int, int] | None = None
    global_stage: tuple[float, float, float, float, float, float] | None = None
    custom: Mapping[str, Any] | None = field(default=None, hash=False)
    warnings: tuple[str, ...] = ()
