"""CSV export of every recorded sample.

``export_csv`` writes ``<take>_<camera>.csv`` per camera: plain CSV (RFC 4180, ``\\n`` line ends),
the first row the header, then one row per recorded sample (not per frame), oldest first. Units
are in the column names; axes are stagectl's internal ones (``stagectl/core/coords.py``): X right,
Y forward (towards the wall), Z up, metres; (pan, tilt, roll) degrees, intrinsic Z-X-Y, pan
positive to the left, tilt positive up, roll positive clockwise seen from behind (OpenTrackIO's).
A value nobody knew (NaN lens values, a sequence number the tracker did not send) is an empty
cell. ``arrival_ns`` is the stage's ``time.monotonic_ns()`` at arrival; ``frame`` the timecode frame
count at the take's rate (the same frame USD and .chan use; counting on past midnight) and
``timecode`` its SMPTE label (``;`` before the frames in drop-frame); ``tracker_timecode`` is
``true`` when the sample's timecode came from the tracker, ``false`` when from the stage clock.
Distortion k1..p2 is OpenCV's (undistorted -> distorted, normalised by the focal length in pixels);
cx_px / cy_px are pixels of the lens file's image.

After those, what the tracker sent that has no column above, exactly as sent: ``source_timecode``
(the sample's own timecode label, at its own rate, ``;`` when sent drop-frame, even where SMPTE has
no drop-frame), ``source_timecode_rate`` (``24000/1001``), ``sub_frame``, ``sample_timestamp_s`` /
``sample_timestamp_ns`` (OpenTrackIO ``sampleTimestamp``, the PTP time of the sample), ``device_id``
(FreeD camera id, OpenTrackIO sourceNumber), ``freed_spare`` (FreeD's 16 spare bits); then
``vfov_deg``, the vertical field of view from the focal length and the camera's one film back (the
same every format uses; empty when either is unknown), and ``raw_index``, the take's raw datagram
that completed the sample (``stagectl takes raw``).

Decimals: positions, angles and lens values to 1e-6 of their unit, raw encoders to 1e-3, distortion
to 10 significant digits, the field of view to 1e-9 degrees; trailing zeros are dropped. A camera
with no samples writes no file.

Speed: see :mod:`stagectl.takes.export.text_columns` (numpy column formatting).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stagectl.takes.export.camera_fields import SourceTimecodes, camera_vfov_deg
from stagectl.takes.export.text_columns import (
    Progress,
    ProgressReport,
    Text,
    booleans,
    camera_path,
    chunk_bounds,
    fixed,
    integers,
    join_rows,
    literal,
    scientific,
    timecode_labels,
    write_atomically,
)
from stagectl.takes.model import CameraTrack, TakeData

HEADER = ("arrival_ns", "timecode", "frame", "sequence", "tracker_timecode", "x_m", "y_m", "z_m", "pan_deg",
          "tilt_deg", "roll_deg", "zoom_raw", "focus_raw", "iris_raw", "focal_length_mm", "focus_distance_m",
          "f_stop", "t_stop", "entrance_pupil_m", "k1", "k2", "k3", "p1", "p2", "cx_px", "cy_px",
          "source_timecode", "source_timecode_rate", "sub_frame", "sample_timestamp_s", "sample_timestamp_ns",
          "device_id", "freed_spare", "vfov_deg", "raw_index")
"""The CSV columns, in order."""
FOV_DECIMALS = 9


def _optional(column: npt.NDArray[np.int64] | None, s: slice, n: int) -> Text:
    """Whole numbers where known (>= 0); empty cells for -1 and for columns the take does not have."""
    if column is None:
        return literal("", n)
    values = column[s]
    return integers(values, values >= 0)


def _pair(column: npt.NDArray[np.int64] | None) -> tuple[npt.NDArray[np.int64] | None, ...]:
    return (None, None) if column is None else (column[:, 0], column[:, 1])


class _Camera:
    """What a camera's rows need worked out over the whole track, once (chunks take slices of it)."""

    def __init__(self, take: TakeData, track: CameraTrack) -> None:
        self.track = track
        self.source_timecodes = SourceTimecodes(track, take.info.rate, take.info.drop_frame)
        self.vfov_deg = camera_vfov_deg(track)


def _csv_rows(take: TakeData, camera: _Camera, start: int, stop: int) -> bytes:
    track = camera.track
    s = slice(start, stop)
    n = stop - start
    sequence = track.sequence[s]
    cells: list[Text] = [integers(track.arrival_ns[s]), timecode_labels(track.frame[s], take.info.rate,
                                                                         take.info.drop_frame),
                         integers(track.frame[s]), integers(sequence, sequence >= 0),
                         booleans(track.tracker_timecode[s])]
    cells += [fixed(track.translation_m[s, i], 6) for i in range(3)]
    cells += [fixed(track.rotation_deg[s, i], 6) for i in range(3)]
    cells += [fixed(column[s], 3) for column in (track.zoom_raw, track.focus_raw, track.iris_raw)]
    cells += [fixed(column[s], 6) for column in (track.focal_length_mm, track.focus_distance_m, track.f_stop,
                                                 track.t_stop, track.entrance_pupil_m)]
    cells += [scientific(track.distortion[s, i], 10) for i in range(5)]
    cells += [fixed(track.principal_point_px[s, i], 6) for i in range(2)]
    cells += [camera.source_timecodes.labels(s), camera.source_timecodes.rate_fractions(s)]
    cells += [_optional(column, s, n) for column in (track.sub_frame, *_pair(track.sample_timestamp),
                                                      track.device_id, track.spare)]
    cells += [fixed(camera.vfov_deg[s], FOV_DECIMALS), _optional(track.raw_index, s, n)]
    comma = literal(",", n)
    row: list[Text] = []
    for cell in cells:
        row += (cell, comma)
    row[-1] = literal("\n", n)
    return join_rows(row)


def export_csv(take: TakeData, out_dir: Path, *, progress: Progress | None = None) -> list[Path]:
    """Write ``<take>_<camera>.csv`` for each camera with samples (see the module docstring)."""
    tracks = [t for t in take.cameras.values() if len(t)]
    report = ProgressReport(progress, sum(len(t) for t in tracks))

    def chunks(track: CameraTrack) -> Iterator[bytes]:
        yield (",".join(HEADER) + "\n").encode()
        camera = _Camera(take, track)
        for start, stop in chunk_bounds(len(track)):
            yield _csv_rows(take, camera, start, stop)
            report.add(stop - start)

    written = [write_atomically(camera_path(take, t.camera, out_dir, "csv"), chunks(t)) for t in tracks]
    report.finish()
    return written
