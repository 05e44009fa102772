"""A decoded OpenTrackIO payload (a dict) -> a checked :class:`OpenTrackIOSample`.

Fields are read per the schema (camdkit ``src/test/resources/classic/schema.json``, OpenTrackIO
1.0.x): everything optional, but a present field must have the right type and range, and the
objects the schema gives required members (a timecode's hours..frameRate, a transform's
translation and rotation, ...) must have them. Unknown fields are ignored here (producers may add
their own); the source keeps the whole decoded map beside the sample, so nothing is dropped on the
way to the outputs and the take.

The rule is the published schema's: whatever it accepts is accepted. What it accepts but is odd is
kept as sent and named in :attr:`OpenTrackIOSample.warnings` (counted per reason by the source):

* ``timecode_drop_frame``: ``dropFrame`` at a rate without drop-frame (camdkit's own complete example
  sends it at 24000/1001): counted as non-drop;
* ``timecode_frames``: a frame number at or beyond the rate (the schema allows 0..119): carried into
  the next second;
* ``timecode_skipped``: a drop-frame label that does not exist: counted as the next one that does;
* ``nanoseconds``: a sampleTimestamp / recordedTimestamp with nanoseconds above 999999999 (the
  schema allows a u32): the instant is seconds + nanoseconds;
* ``magnitude``: a translation beyond 1000 km or an angle beyond a million degrees.

Resource limits the schema does not have (a reassembled payload over 256 KiB, nesting deeper than
32, a list over 1024 items) are refused as ``too_large`` / ``too_deep``; NaN and infinities (CBOR
can carry them, JSON cannot) as ``value``.

The transform chain: the schema says "Transforms are composed in sequential order, starting
with the first transform in the list and concluding with the last", the compound being the
camera relative to the stage origin; there are no parent ids. So entry i is relative to entry
i-1 and the camera is ``T1 * T2 * ... * Tn`` (see :func:`compose_transforms`). camdkit's own
parser instead picks the entry whose id contains "Camera"; for the usual single entry both agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from stagectl.core.coords import angles_from_matrix, camera_to_stage_matrix
from stagectl.core.opentrackio.fields import (
    URN_UUID,
    as_integer,
    as_number,
    as_string,
    block,
    boolean,
    integer,
    invalid,
    items,
    number,
    numbers,
    path_of,
    rational,
    string,
    timestamp,
    xy,
)
from stagectl.core.opentrackio.model import (
    DEFAULT_DISTORTION_MODEL,
    GLOBAL_STAGE_KEYS,
    LensDistortion,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOStatic,
    OpenTrackIOTransform,
    Synchronization,
    Vec3,
)
from stagectl.core.opentrackio.static import parse_static
from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.label import LABEL_ODDITIES, TimecodeLabel

#: Angles beyond this are flagged as ``magnitude`` (the schema allows > 360 for cycles, and any number).
MAX_ABS_ANGLE_DEG = 1e6
#: Translations beyond 1000 km are flagged too.
MAX_ABS_TRANSLATION_M = 1e6
WARNINGS = {
    **{f"timecode_{odd}": f"the timecode's {text}" for odd, text in LABEL_ODDITIES.items()},
    "nanoseconds": "a timestamp's nanoseconds are 1e9 or more (the instant is seconds + nanoseconds)",
    "magnitude": "a transform beyond 1000 km or a million degrees",
    "no_pose": "no usable pose (no transforms, or too large to compose): its lens values and static block "
               "are used and recorded; it does not move the camera",
}
"""What each ``warnings`` reason means: schema-valid, kept exactly as sent, and odd."""
_NS_PER_S = 1_000_000_000
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5}")
_SYNC_SOURCES = ("genlock", "videoIn", "ptp", "ntp")
_PTP_PROFILES = ("IEEE Std 1588-2019", "IEEE Std 802.1AS-2020", "SMPTE ST2059-2:2021")
_LEADER_TIME_SOURCES = ("GNSS", "Atomic clock", "NTP")


def compose_transforms(transforms: tuple[OpenTrackIOTransform, ...]) -> tuple[Vec3, Vec3]:
    """The camera pose (translation_m, (pan, tilt, roll) deg) of a chain applied first to last.

    Each entry maps its child's frame into its own: ``p = t_i + R_i * S_i * p_child``. So the
    position is ``t1 + R1 S1 (t2 + R2 S2 (t3 + ...))`` and the orientation ``R1 R2 ... Rn``
    (scales move the children's positions; a non-uniform scale cannot be an orientation, so it is
    left out of the rotation). One entry is returned exactly as sent (angles unwrapped, so
    cycles survive); a chain's angles come from the composed matrix (pan and roll in -180..180,
    tilt in -90..90), via stagectl.core.coords.
    """
    if len(transforms) == 1:
        only = transforms[0]
        return only.translation_m, only.rotation_deg
    position = np.zeros(3)
    linear = np.eye(3)     # rotations and scales so far: maps the next entry's translation
    rotation = np.eye(3)   # rotations only: the orientation
    with np.errstate(over="ignore", invalid="ignore"):  # hostile sizes give inf / NaN: the caller checks
        for entry in transforms:
            position = position + linear @ np.array(entry.translation_m)
            turn = camera_to_stage_matrix(*entry.rotation_deg)
            linear = linear @ turn @ np.diag(entry.scale or (1.0, 1.0, 1.0))
            rotation = rotation @ turn
    x, y, z = (float(v) for v in position)
    return (x, y, z), angles_from_matrix(rotation)


def _vector(obj: Mapping[str, Any], key: str, where: str, names: tuple[str, str, str]) -> Vec3 | None:
    value = block(obj, key, where)
    if value is None:
        return None
    inner = path_of(where, key)
    # The schema requires none of x/y/z (pan/tilt/roll): a missing component is 0.
    a, b, c = (as_number(value.get(n, 0.0), inner, n) for n in names)
    return a, b, c


def _transforms(obj: Mapping[str, Any]) -> tuple[OpenTrackIOTransform, ...]:
    entries = items(obj, "transforms", "", min_items=1)
    if entries is None:
        return ()
    result = []
    for i, entry in enumerate(entries):
        where = path_of("transforms", i)
        if type(entry) is not dict:
            raise invalid("transforms", i, "must be a map")
        for name in ("translation", "rotation"):
            if name not in entry:
                raise invalid(where, name, "is required here and missing")
        translation = _vector(entry, "translation", where, ("x", "y", "z"))
        rotation = _vector(entry, "rotation", where, ("pan", "tilt", "roll"))
        assert translation is not None and rotation is not None  # both checked present above
        result.append(OpenTrackIOTransform(translation, rotation,
                                           _vector(entry, "scale", where, ("x", "y", "z")),
                                           string(entry, "id", where)))
    return tuple(result)


def _distortion(lens: Mapping[str, Any]) -> tuple[LensDistortion, ...]:
    entries = items(lens, "distortion", "lens", min_items=1)
    if entries is None:
        return ()
    result = []
    for i, entry in enumerate(entries):
        where = path_of("lens.distortion", i)
        if type(entry) is not dict:
            raise invalid("lens.distortion", i, "must be a map")
        radial = numbers(entry, "radial", where)
        if radial is None:
            raise invalid(where, "radial", "is required here and missing")
        result.append(LensDistortion(radial, numbers(entry, "tangential", where) or (),
                                     string(entry, "model", where) or DEFAULT_DISTORTION_MODEL,
                                     number(entry, "overscan", where, minimum=1.0)))
    return tuple(result)


def _lens(obj: Mapping[str, Any]) -> OpenTrackIOLens | None:
    lens = block(obj, "lens", "")
    if lens is None:
        return None
    encoders = block(lens, "encoders", "lens") or {}
    raw = block(lens, "rawEncoders", "lens") or {}
    falloff = block(lens, "exposureFalloff", "lens", required=("a1",))

    def encoder(name: str) -> float | None:
        return number(encoders, name, "lens.encoders", minimum=0.0, maximum=1.0)

    return OpenTrackIOLens(
        pinhole_focal_length_mm=number(lens, "pinholeFocalLength", "lens", above=0.0),
        focus_distance_m=number(lens, "focusDistance", "lens", above=0.0),
        f_stop=number(lens, "fStop", "lens", above=0.0),
        t_stop=number(lens, "tStop", "lens", above=0.0),
        entrance_pupil_offset_m=number(lens, "entrancePupilOffset", "lens"),
        encoder_focus=encoder("focus"),
        encoder_iris=encoder("iris"),
        encoder_zoom=encoder("zoom"),
        raw_focus=integer(raw, "focus", "lens.rawEncoders"),
        raw_iris=integer(raw, "iris", "lens.rawEncoders"),
        raw_zoom=integer(raw, "zoom", "lens.rawEncoders"),
        distortion=_distortion(lens),
        projection_offset_mm=xy(lens, "projectionOffset", "lens"),
        distortion_offset_mm=xy(lens, "distortionOffset", "lens"),
        exposure_falloff=None if falloff is None else (
            as_number(falloff["a1"], "lens.exposureFalloff", "a1"),
            number(falloff, "a2", "lens.exposureFalloff"), number(falloff, "a3", "lens.exposureFalloff")),
        custom=numbers(lens, "custom", "lens", min_items=0) or (),
    )


def _timecode(timing: Mapping[str, Any]) -> TimecodeLabel | None:
    """The timecode exactly as sent (any label the schema allows: see the module docstring)."""
    where = "timing.timecode"
    tc = block(timing, "timecode", "timing", required=("hours", "minutes", "seconds", "frames", "frameRate"))
    if tc is None:
        return None
    hours, minutes, seconds, frames = (as_integer(tc[name], where, name, 0, top) for name, top in
                                       (("hours", 23), ("minutes", 59), ("seconds", 59), ("frames", 119)))
    rate = rational(tc, "frameRate", where)
    assert rate is not None  # required above
    drop_frame = bool(boolean(tc, "dropFrame", where))
    return TimecodeLabel(hours, minutes, seconds, frames, FrameRate(rate), drop_frame,
                         integer(tc, "subFrame", where))


def _synchronization(timing: Mapping[str, Any]) -> Synchronization | None:
    where = "timing.synchronization"
    sync = block(timing, "synchronization", "timing", required=("locked", "source"))
    if sync is None:
        return None
    offsets = block(sync, "offsets", where) or {}
    ptp = block(sync, "ptp", where) or {}
    in_offsets, in_ptp = path_of(where, "offsets"), path_of(where, "ptp")
    priorities = block(ptp, "leaderPriorities", in_ptp, required=("priority1", "priority2"))
    in_priorities = path_of(in_ptp, "leaderPriorities")
    locked = boolean(sync, "locked", where)
    source = string(sync, "source", where, choices=_SYNC_SOURCES)
    assert locked is not None and source is not None  # required above
    return Synchronization(
        locked=locked,
        source=source,
        frequency=rational(sync, "frequency", where),
        present=boolean(sync, "present", where),
        offset_translation_s=number(offsets, "translation", in_offsets),
        offset_rotation_s=number(offsets, "rotation", in_offsets),
        offset_lens_encoders_s=number(offsets, "lensEncoders", in_offsets),
        ptp_profile=string(ptp, "profile", in_ptp, choices=_PTP_PROFILES),
        ptp_domain=integer(ptp, "domain", in_ptp, 0, 127),
        ptp_leader_identity=string(ptp, "leaderIdentity", in_ptp, pattern=_MAC),
        ptp_leader_priorities=None if priorities is None else (
            as_integer(priorities["priority1"], in_priorities, "priority1", 0, 255),
            as_integer(priorities["priority2"], in_priorities, "priority2", 0, 255)),
        ptp_leader_accuracy_s=number(ptp, "leaderAccuracy", in_ptp, minimum=0.0),
        ptp_leader_time_source=string(ptp, "leaderTimeSource", in_ptp, choices=_LEADER_TIME_SOURCES),
        ptp_mean_path_delay_s=number(ptp, "meanPathDelay", in_ptp, minimum=0.0),
        ptp_vlan=integer(ptp, "vlan", in_ptp),
    )


def _protocol(obj: Mapping[str, Any]) -> tuple[str | None, tuple[int, int, int] | None]:
    protocol = block(obj, "protocol", "", required=("name", "version"))
    if protocol is None:
        return None, None
    name = as_string(protocol["name"], "protocol", "name")
    version = items(protocol, "version", "protocol", 3, 3)
    assert version is not None  # required above
    a, b, c = (as_integer(v, "protocol.version", i, 0, 9) for i, v in enumerate(version))
    return name, (a, b, c)


def _ids(obj: Mapping[str, Any]) -> tuple[str, ...]:
    related = items(obj, "relatedSampleIds", "")
    return () if related is None else tuple(
        as_string(v, "relatedSampleIds", i, pattern=URN_UUID) for i, v in enumerate(related))


def _global_stage(obj: Mapping[str, Any]) -> tuple[float, float, float, float, float, float] | None:
    stage = block(obj, "globalStage", "", required=GLOBAL_STAGE_KEYS)
    if stage is None:
        return None
    e, n, u, lat, lon, h = (as_number(stage[name], "globalStage", name) for name in GLOBAL_STAGE_KEYS)
    return e, n, u, lat, lon, h


def _ns(pair: tuple[int, int] | None) -> int | None:
    return None if pair is None else pair[0] * _NS_PER_S + pair[1]


def _warnings(transforms: tuple[OpenTrackIOTransform, ...], label: TimecodeLabel | None,
              stamps: tuple[tuple[int, int] | None, ...]) -> tuple[str, ...]:
    found = [f"timecode_{odd}" for odd in label.oddities()] if label is not None else []
    if any(pair is not None and pair[1] >= _NS_PER_S for pair in stamps):
        found.append("nanoseconds")
    if any(max(map(abs, t.translation_m)) > MAX_ABS_TRANSLATION_M
           or max(map(abs, t.rotation_deg)) > MAX_ABS_ANGLE_DEG for t in transforms):
        found.append("magnitude")
    return tuple(found)


def parse_sample(obj: Mapping[str, Any]) -> OpenTrackIOSample:
    """Check ``obj`` (from decode_payload) and convert it; DecodeError(reason "value") names the path."""
    transforms = _transforms(obj)
    translation, rotation = compose_transforms(transforms) if transforms else (None, None)
    if translation is not None and rotation is not None \
            and not all(map(math.isfinite, (*translation, *rotation))):
        translation = rotation = None  # schema-valid values too large to compose (flagged "magnitude")
    timing = block(obj, "timing", "") or {}
    tracker = block(obj, "tracker", "") or {}
    label = _timecode(timing)
    protocol_name, protocol_version = _protocol(obj)
    static_block = block(obj, "static", "")
    static: OpenTrackIOStatic | None = None if static_block is None else parse_static(static_block)
    sample_stamp = timestamp(timing, "sampleTimestamp", "timing")
    recorded_stamp = timestamp(timing, "recordedTimestamp", "timing")
    custom = block(obj, "custom", "")
    return OpenTrackIOSample(
        translation_m=translation,
        rotation_deg=rotation,
        transforms=transforms,
        lens=_lens(obj),
        timing_mode=string(timing, "mode", "timing", choices=("internal", "external")),
        sample_rate=rational(timing, "sampleRate", "timing"),
        sample_time_ns=_ns(sample_stamp),
        recorded_time_ns=_ns(recorded_stamp),
        sequence_number=integer(timing, "sequenceNumber", "timing"),
        timecode=None if label is None else label.timecode(),
        sub_frame=None if label is None else label.sub_frame,
        synchronization=_synchronization(timing),
        source_id=string(obj, "sourceId", "", pattern=URN_UUID),
        sample_id=string(obj, "sampleId", "", pattern=URN_UUID),
        source_number=integer(obj, "sourceNumber", ""),
        related_sample_ids=_ids(obj),
        protocol_name=protocol_name,
        protocol_version=protocol_version,
        tracker_status=string(tracker, "status", "tracker"),
        tracker_slate=string(tracker, "slate", "tracker"),
        tracker_notes=string(tracker, "notes", "tracker"),
        tracker_recording=boolean(tracker, "recording", "tracker"),
        static=static,
        timecode_label=label,
        sample_timestamp=sample_stamp,
        recorded_timestamp=recorded_stamp,
        global_stage=_global_stage(obj),
        custom=custom,
        warnings=_warnings(transforms, label, (sample_stamp, recorded_stamp)),
    )

