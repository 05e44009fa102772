"""The ``static`` block of an OpenTrackIO sample <-> :class:`OpenTrackIOStatic`.

Producers send it about every 2 s (camdkit's OpenTrackIO documentation): camera, lens and
tracker identity, the sensor's size in millimetres and photosites, and the like.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from stagectl.core.opentrackio.fields import (
    I32_MAX,
    URN_UUID,
    as_string,
    block,
    integer,
    items,
    number,
    path_of,
    rational,
    string,
)
from stagectl.core.opentrackio.model import OpenTrackIOStatic, rational_json

_DEVICE_STRINGS = (("make", "make"), ("model", "model"), ("serialNumber", "serial"),
                   ("firmwareVersion", "firmware"))


def parse_static(static: Mapping[str, Any]) -> OpenTrackIOStatic:
    """Check and convert a ``static`` map; DecodeError(reason "value") names the path."""
    camera = block(static, "camera", "static") or {}
    lens = block(static, "lens", "static") or {}
    tracker = block(static, "tracker", "static") or {}
    cam, lns, trk = "static.camera", "static.lens", "static.tracker"
    physical = block(camera, "activeSensorPhysicalDimensions", cam, required=("height", "width")) or {}
    pixels = block(camera, "activeSensorResolution", cam, required=("height", "width")) or {}
    in_physical = path_of(cam, "activeSensorPhysicalDimensions")
    in_pixels = path_of(cam, "activeSensorResolution")
    history = items(lens, "calibrationHistory", lns) or []
    return OpenTrackIOStatic(
        duration_s=rational(static, "duration", "static"),
        camera_make=string(camera, "make", cam),
        camera_model=string(camera, "model", cam),
        camera_serial=string(camera, "serialNumber", cam),
        camera_firmware=string(camera, "firmwareVersion", cam),
        camera_label=string(camera, "label", cam),
        capture_frame_rate=rational(camera, "captureFrameRate", cam),
        sensor_width_mm=number(physical, "width", in_physical, minimum=0.0),
        sensor_height_mm=number(physical, "height", in_physical, minimum=0.0),
        sensor_width_px=integer(pixels, "width", in_pixels, 0, I32_MAX),
        sensor_height_px=integer(pixels, "height", in_pixels, 0, I32_MAX),
        anamorphic_squeeze=rational(camera, "anamorphicSqueeze", cam),
        iso_speed=integer(camera, "isoSpeed", cam, 1),
        shutter_angle_deg=number(camera, "shutterAngle", cam, minimum=0.0, maximum=360.0),
        fdl_link=string(camera, "fdlLink", cam, pattern=URN_UUID),
        lens_make=string(lens, "make", lns),
        lens_model=string(lens, "model", lns),
        lens_serial=string(lens, "serialNumber", lns),
        lens_firmware=string(lens, "firmwareVersion", lns),
        lens_nominal_focal_length_mm=number(lens, "nominalFocalLength", lns, above=0.0),
        lens_distortion_overscan_max=number(lens, "distortionOverscanMax", lns, minimum=1.0),
        lens_undistortion_overscan_max=number(lens, "undistortionOverscanMax", lns, minimum=1.0),
        lens_calibration_history=tuple(as_string(v, path_of(lns, "calibrationHistory"), i)
                                       for i, v in enumerate(history)),
        tracker_make=string(tracker, "make", trk),
        tracker_model=string(tracker, "model", trk),
        tracker_serial=string(tracker, "serialNumber", trk),
        tracker_firmware=string(tracker, "firmwareVersion", trk),
    )


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != ():
        out[key] = rational_json(value) if isinstance(value, Fraction) else value


def build_static(static: OpenTrackIOStatic) -> dict[str, Any]:
    """The ``static`` map of ``static`` (absent fields left out)."""
    camera: dict[str, Any] = {}
    lens: dict[str, Any] = {}
    tracker: dict[str, Any] = {}
    for key, attr in _DEVICE_STRINGS:
        _put(camera, key, getattr(static, f"camera_{attr}"))
        _put(lens, key, getattr(static, f"lens_{attr}"))
        _put(tracker, key, getattr(static, f"tracker_{attr}"))
    _put(camera, "label", static.camera_label)
    _put(camera, "captureFrameRate", static.capture_frame_rate)
    if static.sensor_width_mm is not None and static.sensor_height_mm is not None:
        camera["activeSensorPhysicalDimensions"] = {"width": static.sensor_width_mm,
                                                    "height": static.sensor_height_mm}
    if static.sensor_width_px is not None and static.sensor_height_px is not None:
        camera["activeSensorResolution"] = {"width": static.sensor_width_px,
                                            "height": static.sensor_height_px}
    _put(camera, "anamorphicSqueeze", static.anamorphic_squeeze)
    _put(camera, "isoSpeed", static.iso_speed)
    _put(camera, "shutterAngle", static.shutter_angle_deg)
    _put(camera, "fdlLink", static.fdl_link)
    _put(lens, "nominalFocalLength", static.lens_nominal_focal_length_mm)
    _put(lens, "distortionOverscanMax", static.lens_distortion_overscan_max)
    _put(lens, "undistortionOverscanMax", static.lens_undistortion_overscan_max)
    _put(lens, "calibrationHistory", list(static.lens_calibration_history) or None)
    out: dict[str, Any] = {}
    _put(out, "duration", static.duration_s)
    for key, value in (("camera", camera), ("lens", lens), ("tracker", tracker)):
        if value:
            out[key] = value
    return out
