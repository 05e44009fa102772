"""Camera samples: what every tracking source produces and every sink consumes.

Shaped after OpenTrackIO's dynamic block, in stagectl's internal conventions (see coords.py):
metres, degrees, Z up, Y forward, X right; rotation = pan, tilt, roll, intrinsic ZXY.
Immutable: a sample is made once on the I/O thread and shared read-only.

Both are NamedTuples rather than frozen dataclasses: one is built per datagram on the hot path,
and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) costs about three
times as much (measured: 1.2 us against 0.35 us for CameraSample's 16 fields). Use
``sample._replace(...)`` to derive a changed copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from stagectl.core.timecode import Timecode
from stagectl.core.timecode.label import TimecodeLabel

Vec3 = tuple[float, float, float]


class LensValues(NamedTuple):
    """Lens state as a tracker reports it (OpenTrackIO ``lens``) or a lens file solves it.

    Every field is optional: a tracker sends what it knows. Units are in the names.

    Attributes:
        focal_length_mm: pinhole focal length (OpenTrackIO ``pinholeFocalLength``).
        focus_distance_m: distance to the plane of focus.
        f_stop / t_stop: aperture, geometric and transmission.
        entrance_pupil_offset_m: entrance pupil along the optical axis from the tracked point.
        encoders: normalised (focus, iris, zoom) in 0..1 (focus 0 = infinity, iris 0 = open,
            zoom 0 = wide), None per axis when not sent.
        distortion_model: the model the coefficients belong to (OpenTrackIO default
            "Brown-Conrady D-U": distorted -> undistorted).
        radial / tangential: the model's coefficients, in OpenTrackIO's (OpenLensIO) form.
        projection_offset_mm: principal-point offset from the sensor centre (x, y).
        brown_conrady: (k1, k2, k3, p1, p2) solved from a lens file, in OpenCV's normalisation
            (dimensionless, on coordinates divided by the focal length in pixels) and OpenCV's
            direction (undistorted -> distorted); the same order Unreal's spherical model uses.
        principal_point_px: (cx, cy) in pixels of the lens file's image size.
        lens_file: the lens file these values were solved from (its file name), None when they
            came from the tracker.
        clamped: the axes whose raw value lay outside the calibrated range and was clamped to
            its edge ("zoom", "focus", "iris"): the values are the edge's, never extrapolated.
    """

    focal_length_mm: float | None = None
    focus_distance_m: float | None = None
    f_stop: float | None = None
    t_stop: float | None = None
    entrance_pupil_offset_m: float | None = None
    encoders: tuple[float | None, float | None, float | None] | None = None
    distortion_model: str | None = None
    radial: tuple[float, ...] = ()
    tangential: tuple[float, ...] = ()
    projection_offset_mm: tuple[float, float] | None = None
    brown_conrady: tuple[float, float, float, float, float] | None = None
    principal_point_px: tuple[float, float] | None = None
    lens_file: str | None = None
    clamped: tuple[str, ...] = ()


class CameraSample(NamedTuple):
    """One tracked-camera measurement.

    Attributes:
        camera: name of the stage camera this sample belongs to.
        source: name of the source that produced it (see config.source_name).
        arrival_ns: ``time.monotonic_ns()`` when the datagram arrived.
        translation_m: camera position in metres, internal axes (X right, Y forward, Z up).
        rotation_deg: (pan, tilt, roll) in degrees; see coords.py for signs.
        zoom_raw / focus_raw / iris_raw: raw lens encoder counts as the tracker sent them.
        sequence: the tracker's sequence number where the protocol has one, else a
            per-source counter.
        timecode: the tracker's timecode when it sends one, else the stage clock at arrival
            (``timecode_source`` says which).
        device_id: the protocol's camera id (FreeD camera id, OpenTrackIO source number).
        extra: protocol fields with no home above (e.g. FreeD spare bytes), never used on the
            hot path.
        lens: lens values the tracker sent (OpenTrackIO lens block, FreeD presets that carry
            focal length or iris), None when it sent none.
        sample_time_ns: the tracker's own sample time (OpenTrackIO ``sampleTimestamp``, PTP
            epoch) in nanoseconds, None when it sends none.
        timecode_source: ``"tracker"`` or ``"stage"`` (the stage clock at arrival).
        tracker_timecode: the tracker's timecode exactly as it sent it (fields, rate, drop-frame flag,
            sub-frame), None when the timecode is the stage clock's. ``timecode`` is what it counts to.
        sample_timestamp: ``sampleTimestamp`` as sent, (seconds, nanoseconds): the schema allows
            nanoseconds up to 2**32 - 1, which ``sample_time_ns`` normalises.
        received: what the tracker sent for this sample, as it sent it (OpenTrackIO), so outputs
            and the take pass on every field stagectl does not change; None for FreeD.
    """

    camera: str
    source: str
    arrival_ns: int
    translation_m: Vec3
    rotation_deg: Vec3
    zoom_raw: int | None = None
    focus_raw: int | None = None
    iris_raw: int | None = None
    sequence: int | None = None
    timecode: Timecode | None = None
    device_id: int | None = None
    extra: Mapping[str, int | float | str] | None = None
    lens: LensValues | None = None
    sample_time_ns: int | None = None
    timecode_source: str = "stage"
    tracker_timecode: TimecodeLabel | None = None
    sample_timestamp: tuple[int, int] | None = None
    received: Received | None = None


class Received(NamedTuple):
    """A sample as its tracker sent it: the decoded map, untouched, and stagectl's first reading of it.

    The camera pipeline replaces a sample's pose (smoothing) and lens (lens file, lens encoder) with
    its own values; comparing them with ``translation_m`` / ``rotation_deg`` / ``lens`` here says
    what stagectl changed, and everything else in ``payload`` passes through unchanged.

    Attributes:
        protocol: ``"opentrackio"``.
        payload: the decoded sample map (JSON or CBOR), never modified.
        translation_m / rotation_deg: the pose the transform chain composes to (NaN when the sample
            carries no transforms).
        lens: the lens values as parsed from ``payload`` (the sample's ``lens`` is this object until
            the pipeline changes it).
        warnings: what is odd but schema-valid in the sample (kept as sent, counted in health).
    """

    protocol: str
    payload: Mapping[str, Any]
    translation_m: Vec3
    rotation_deg: Vec3
    lens: LensValues | None = None
    warnings: tuple[str, ...] = ()


class FilmBack(NamedTuple):
    """A camera's sensor size (the active area the lens projects on), and where stagectl got it.

    One answer per camera, shared by every output and export: the lens file's sensor, else the
    tracker's ``static.camera.activeSensorPhysicalDimensions``, else ``[[cameras]] sensor_mm`` in the
    stage file. None where a camera has none of those: "unknown", never a guessed default.
    """

    width_mm: float
    height_mm: float
    source: str
    """``"lens file"``, ``"tracker"`` or ``"stage file"``."""


def choose_film_back(lens_file_mm: tuple[float, float] | None, tracker_mm: tuple[float, float] | None,
                     stage_file_mm: tuple[float, float] | None) -> FilmBack | None:
    """A camera's one film back from what says one, in order: its lens file's sensor, its tracker's static
    block's, the stage file's ``sensor_mm``; None (unknown) when none does. Sizes <= 0 say nothing."""
    for size, source in ((lens_file_mm, "lens file"), (tracker_mm, "tracker"), (stage_file_mm, "stage file")):
        if size is not None and size[0] > 0 and size[1] > 0:
            return FilmBack(float(size[0]), float(size[1]), source)
    return None


class LensReading(NamedTuple):
    """One reading from a lens encoder on its own wire (Cooke /i, a FIZ box), not from the tracker.

    The camera pipeline merges the newest reading at or before each tracking sample's arrival
    into that sample (raw encoders, and the lens' own values when it reports them).

    Attributes:
        source: name of the lens source.
        arrival_ns: ``time.monotonic_ns()`` when the reading arrived.
        focus_raw / iris_raw / zoom_raw: raw encoder counts, None when not sent.
        focus_distance_m / t_stop / focal_length_mm / entrance_pupil_offset_m: the lens' own
            values (Cooke /i sends them), None when not sent (a hobby FIZ box sends counts only).
    """

    source: str
    arrival_ns: int
    focus_raw: int | None = None
    iris_raw: int | None = None
    zoom_raw: int | None = None
    focus_distance_m: float | None = None
    t_stop: float | None = None
    focal_length_mm: float | None = None
    entrance_pupil_offset_m: float | None = None
