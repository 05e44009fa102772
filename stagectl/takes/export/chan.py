"""Nuke ``.chan`` export: a camera's per-frame transform and vertical field of view.

One ``<take>_<camera>.chan`` per camera with samples: ASCII, one line per frame, eight
space-separated numbers ``frame tx ty tz rx ry rz vfov``, ``\\n`` line ends, no header (Nuke's
Camera "import chan file" reads exactly this; Houdini and Blender read it too).

* frame: the absolute timecode frame count at the take's rate (10:00:00:00 at 24 fps is 864000),
  as the USD export uses, so frames match plates named by timecode. Set the Nuke project's frame
  range to it. One sample per frame (:meth:`CameraTrack.per_frame`); frames without a sample
  (dropouts) or with a non-finite pose are left out, not invented.
* tx ty tz: metres (one Nuke scene unit = 1 m), Y up: internal (x, y, z) -> (x, z, -y); the
  camera looks down its local -Z (:func:`stagectl.core.coords.internal_to_nuke_camera`).
* rx ry rz: degrees for the Camera's rotation order ZXY (Nuke's default): rx = tilt, ry = pan,
  rz = -roll; each column unwrapped (no 360-degree jumps between frames, so Nuke's interpolation
  and motion blur do not spin the camera).
* vfov: vertical field of view in degrees (to 1e-9), 2 atan(h / 2f), from the focal length and the
  camera's one film back height h (:attr:`CameraTrack.film_back`: the lens file's, else the
  tracker's static block's, else the stage file's ``sensor_mm``; the same h the USD apertures and
  the CSV's ``vfov_deg`` use). The .chan file holds no film back: set the Camera's horizontal /
  vertical aperture to the film back (the USD export carries it) or Nuke turns the field of view
  into a different focal length. Frames with no known focal length take the nearest earlier known
  one (the first known one before any is known); when the take never knew the focal length, or the
  camera's film back is unknown, the column is left out and every line has seven numbers (Nuke
  then leaves the lens alone): a field of view from an assumed film back would be a wrong one. A
  camera whose samples all have a non-finite pose gets an empty file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stagectl.core.coords import internal_to_nuke_camera
from stagectl.takes.export.camera_fields import vertical_fov_deg
from stagectl.takes.export.text_columns import (
    Progress,
    ProgressReport,
    Text,
    camera_path,
    chunk_bounds,
    fixed,
    integers,
    join_rows,
    literal,
    write_atomically,
)
from stagectl.takes.model import CameraTrack, TakeData

DECIMALS = 6
FOV_DECIMALS = 9


def _held(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
    """Unknown (non-finite or <= 0) entries replaced by the nearest earlier known one (the first known
    one before any); None when none is known."""
    known = np.isfinite(values) & (values > 0.0)
    if not known.any():
        return None
    last = np.maximum.accumulate(np.where(known, np.arange(values.size), -1))
    last = np.where(last < 0, int(np.argmax(known)), last)
    held: npt.NDArray[np.float64] = values[last]
    return held


def _frame_lines(track: CameraTrack) -> Iterator[bytes]:
    """The camera's file, in chunks of lines."""
    index = track.per_frame()
    pose = np.concatenate([track.translation_m[index], track.rotation_deg[index]], axis=1)
    index = index[np.isfinite(pose).all(axis=1)]
    translate, rotate = internal_to_nuke_camera(track.translation_m[index], track.rotation_deg[index])
    rotate = np.unwrap(rotate, period=360.0, axis=0)
    focal = _held(track.focal_length_mm[index])
    film = track.film_back
    fov = None if focal is None or film is None else vertical_fov_deg(focal, film.height_mm)
    frames = track.frame[index]

    def chunks() -> Iterator[bytes]:
        for start, stop in chunk_bounds(index.size):
            s, n = slice(start, stop), stop - start
            space = literal(" ", n)
            line: list[Text] = [integers(frames[s])]
            for column in (*translate[s].T, *rotate[s].T):
                line += (space, fixed(column, DECIMALS))
            if fov is not None:
                line += (space, fixed(fov[s], FOV_DECIMALS))
            line.append(literal("\n", n))
            yield join_rows(line)

    return chunks()


def export_chan(take: TakeData, out_dir: Path, *, progress: Progress | None = None) -> list[Path]:
    """Write ``<take>_<camera>.chan`` for each camera with samples (see the module docstring)."""
    tracks = [t for t in take.cameras.values() if len(t)]
    report = ProgressReport(progress, len(tracks))
    written: list[Path] = []
    for track in tracks:
        path = camera_path(take, track.camera, out_dir, "chan")
        written.append(write_atomically(path, _frame_lines(track)))
        report.add(1)
    report.finish()
    return written
