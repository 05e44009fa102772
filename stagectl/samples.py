"""Camera samples: what every tracking source produces and every sink consumes.

Shaped after OpenTrackIO's dynamic block, in stagectl's internal conventions (see coords.py):
metres, degrees, Z up, Y forward, X right; rotation = pan, tilt, roll, intrinsic ZXY.
Frozen and slotted: a sample is made once on the I/O thread and shared read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stagectl.timecode import Timecode

Vec3 = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class CameraSample:
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
        timecode: the tracker's timecode when it sends one, else the stage clock at arrival.
        device_id: the protocol's camera id (FreeD camera id, OpenTrackIO source number).
        extra: protocol fields with no home above (e.g. FreeD spare bytes), never used on the
            hot path.
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
