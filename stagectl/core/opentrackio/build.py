"""An :class:`OpenTrackIOSample` -> the OpenTrackIO dict (the inverse of parse_sample).

For the simulator and OpenTrackIO output. What comes out validates against the OpenTrackIO
schema: absent fields are left out, and the result is run back through parse_sample so a value
the receiving side would reject (NaN, an encoder of 1.2, a timecode frame beyond the rate)
raises here, on the sending side, with the same DecodeError(reason "value").
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from stagectl.core.opentrackio.model import (
    DEFAULT_DISTORTION_MODEL,
    GLOBAL_STAGE_KEYS,
    OpenTrackIOLens,
    OpenTrackIOSample,
    Synchronization,
    Vec3,
    rational_json,
)
from stagectl.core.opentrackio.sample import parse_sample
from stagectl.core.opentrackio.static import build_static
from stagectl.core.timecode.label import TimecodeLabel

#: The camdkit protocol version these samples follow.
PROTOCOL_NAME = "OpenTrackIO"
PROTOCOL_VERSION = (1, 0, 1)
_NS_PER_S = 1_000_000_000


#: Types put as they are without asking whether they are a Fraction (an ABC check, ~0.5 us a field).
_PLAIN = frozenset((int, float, str, bool, dict, list, tuple))


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        if type(value) in _PLAIN or not isinstance(value, Fraction):
            out[key] = value
        else:
            out[key] = rational_json(value)


def _xyz(value: Vec3) -> dict[str, float]:
    return {"x": value[0], "y": value[1], "z": value[2]}


def _transforms(sample: OpenTrackIOSample) -> list[dict[str, Any]] | None:
    if sample.transforms:
        result = []
        for entry in sample.transforms:
            pan, tilt, roll = entry.rotation_deg
            item: dict[str, Any] = {"translation": _xyz(entry.translation_m),
                                    "rotation": {"pan": pan, "tilt": tilt, "roll": roll}}
            if entry.scale is not None:
                item["scale"] = _xyz(entry.scale)
            _put(item, "id", entry.transform_id)
            result.append(item)
        return result
    if sample.translation_m is None and sample.rotation_deg is None:
        return None
    pan, tilt, roll = sample.rotation_deg or (0.0, 0.0, 0.0)
    return [{"translation": _xyz(sample.translation_m or (0.0, 0.0, 0.0)),
             "rotation": {"pan": pan, "tilt": tilt, "roll": roll}, "id": "Camera"}]


def _lens(lens: OpenTrackIOLens) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "pinholeFocalLength", lens.pinhole_focal_length_mm)
    _put(out, "focusDistance", lens.focus_distance_m)
    _put(out, "fStop", lens.f_stop)
    _put(out, "tStop", lens.t_stop)
    _put(out, "entrancePupilOffset", lens.entrance_pupil_offset_m)
    encoders: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for name in ("focus", "iris", "zoom"):
        _put(encoders, name, getattr(lens, f"encoder_{name}"))
        _put(raw, name, getattr(lens, f"raw_{name}"))
    if encoders:
        out["encoders"] = encoders
    if raw:
        out["rawEncoders"] = raw
    if lens.distortion:
        entries = []
        for entry in lens.distortion:
            item: dict[str, Any] = {"radial": list(entry.radial)}
            if entry.tangential:
                item["tangential"] = list(entry.tangential)
            if entry.model != DEFAULT_DISTORTION_MODEL:
                item["model"] = entry.model
            _put(item, "overscan", entry.overscan)
            entries.append(item)
        out["distortion"] = entries
    for key, value in (("projectionOffset", lens.projection_offset_mm),
                       ("distortionOffset", lens.distortion_offset_mm)):
        if value is not None:
            out[key] = {"x": value[0], "y": value[1]}
    if lens.exposure_falloff is not None:
        a1, a2, a3 = lens.exposure_falloff
        falloff: dict[str, Any] = {"a1": a1}
        _put(falloff, "a2", a2)
        _put(falloff, "a3", a3)
        out["exposureFalloff"] = falloff
    if lens.custom:
        out["custom"] = list(lens.custom)
    return out


def _timestamp(ns: int) -> dict[str, int]:
    seconds, nanoseconds = divmod(ns, _NS_PER_S)
    return {"seconds": seconds, "nanoseconds": nanoseconds}


def _synchronization(sync: Synchronization) -> dict[str, Any]:
    out: dict[str, Any] = {"locked": sync.locked, "source": sync.source}
    _put(out, "frequency", sync.frequency)
    _put(out, "present", sync.present)
    offsets: dict[str, Any] = {}
    _put(offsets, "translation", sync.offset_translation_s)
    _put(offsets, "rotation", sync.offset_rotation_s)
    _put(offsets, "lensEncoders", sync.offset_lens_encoders_s)
    if offsets:
        out["offsets"] = offsets
    ptp: dict[str, Any] = {}
    _put(ptp, "profile", sync.ptp_profile)
    _put(ptp, "domain", sync.ptp_domain)
    _put(ptp, "leaderIdentity", sync.ptp_leader_identity)
    if sync.ptp_leader_priorities is not None:
        ptp["leaderPriorities"] = {"priority1": sync.ptp_leader_priorities[0],
                                   "priority2": sync.ptp_leader_priorities[1]}
    _put(ptp, "leaderAccuracy", sync.ptp_leader_accuracy_s)
    _put(ptp, "leaderTimeSource", sync.ptp_leader_time_source)
    _put(ptp, "meanPathDelay", sync.ptp_mean_path_delay_s)
    _put(ptp, "vlan", sync.ptp_vlan)
    if ptp:
        out["ptp"] = ptp
    return out


def timecode_map(label: TimecodeLabel) -> dict[str, Any]:
    """``timing.timecode`` of a label, its fields as they are (``dropFrame`` only when set)."""
    out: dict[str, Any] = {"hours": label.hours, "minutes": label.minutes, "seconds": label.seconds,
                           "frames": label.frames, "frameRate": rational_json(label.rate.rate)}
    if label.drop_frame:
        out["dropFrame"] = True
    _put(out, "subFrame", label.sub_frame)
    return out


def _stamp(pair: tuple[int, int] | None, ns: int | None) -> dict[str, int] | None:
    if pair is not None:
        return {"seconds": pair[0], "nanoseconds": pair[1]}
    return None if ns is None else _timestamp(ns)


def _timing(sample: OpenTrackIOSample) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "mode", sample.timing_mode)
    _put(out, "sampleRate", sample.sample_rate)
    _put(out, "sampleTimestamp", _stamp(sample.sample_timestamp, sample.sample_time_ns))
    _put(out, "recordedTimestamp", _stamp(sample.recorded_timestamp, sample.recorded_time_ns))
    _put(out, "sequenceNumber", sample.sequence_number)
    label = sample.timecode_label
    if label is None and sample.timecode is not None:
        label = TimecodeLabel.of(sample.timecode, sample.sub_frame)
    if label is not None:
        out["timecode"] = timecode_map(label)
    if sample.synchronization is not None:
        out["synchronization"] = _synchronization(sample.synchronization)
    return out


def build_sample(sample: OpenTrackIOSample, *, check: bool = True) -> dict[str, Any]:
    """The OpenTrackIO map of ``sample``.

    ``transforms`` are written as given; a sample with only ``translation_m`` / ``rotation_deg``
    becomes one transform with id "Camera". With ``check`` (the default) the result is parsed
    back and a DecodeError(reason "value") raised for anything a receiver would reject.
    """
    out: dict[str, Any] = {}
    if sample.static is not None:  # even when empty, so parse_sample gives back what came in
        out["static"] = build_static(sample.static)
    tracker: dict[str, Any] = {}
    _put(tracker, "notes", sample.tracker_notes)
    _put(tracker, "recording", sample.tracker_recording)
    _put(tracker, "slate", sample.tracker_slate)
    _put(tracker, "status", sample.tracker_status)
    if tracker:
        out["tracker"] = tracker
    timing = _timing(sample)
    if timing:
        out["timing"] = timing
    if sample.lens is not None:
        out["lens"] = _lens(sample.lens)
    if sample.protocol_name is not None or sample.protocol_version is not None:
        out["protocol"] = {"name": sample.protocol_name or PROTOCOL_NAME,
                           "version": list(sample.protocol_version or PROTOCOL_VERSION)}
    _put(out, "sampleId", sample.sample_id)
    _put(out, "sourceId", sample.source_id)
    _put(out, "sourceNumber", sample.source_number)
    if sample.related_sample_ids:
        out["relatedSampleIds"] = list(sample.related_sample_ids)
    if sample.global_stage is not None:
        out["globalStage"] = dict(zip(GLOBAL_STAGE_KEYS, sample.global_stage, strict=True))
    transforms = _transforms(sample)
    if transforms is not None:
        out["transforms"] = transforms
    if sample.custom is not None:
        out["custom"] = dict(sample.custom)
    if check:
        parse_sample(out)
    return out
