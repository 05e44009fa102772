"""What several exporters say the same way about a camera: its field of view, film back and the
timecode each sample was sent with.

One answer per camera: the vertical field of view is ``2 atan(h / 2f)`` with ``h`` the camera's one
film back height (:attr:`CameraTrack.film_back`: lens file, else the tracker's static block, else the
stage file) and ``f`` the pinhole focal length; where either is unknown every format says so (an empty
cell, no column, no attribute) rather than assuming a default film back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from stagectl.takes.export.text_columns import Text, _digits, choices
from stagectl.takes.model import CameraTrack
from stagectl.timecode import FrameRate
from stagectl.timecode_columns import timecode_fields

FloatArray = npt.NDArray[np.float64]


def vertical_fov_deg(focal_length_mm: npt.ArrayLike, film_back_height_mm: float) -> FloatArray:
    """Vertical field of view in degrees of a pinhole of ``focal_length_mm`` on a film back of that height."""
    focal = np.asarray(focal_length_mm, dtype=np.float64)
    fov: FloatArray = np.degrees(2.0 * np.arctan(film_back_height_mm / (2.0 * focal)))
    return fov


def camera_vfov_deg(track: CameraTrack) -> FloatArray:
    """Each sample's vertical field of view (NaN where the focal length or the film back is unknown)."""
    focal = np.where(np.isfinite(track.focal_length_mm) & (track.focal_length_mm > 0), track.focal_length_mm,
                     np.nan)
    if track.film_back is None:
        return np.full(len(track), np.nan)
    return vertical_fov_deg(focal, track.film_back.height_mm)


def film_back_metadata(track: CameraTrack) -> dict[str, Any]:
    """The film back for metadata: ``{"widthMm", "heightMm", "source"}``, or ``{"source": "unknown"}``."""
    film = track.film_back
    if film is None:
        return {"source": "unknown"}
    return {"widthMm": film.width_mm, "heightMm": film.height_mm, "source": film.source}


def first_static(track: CameraTrack) -> dict[str, Any] | None:
    """The first OpenTrackIO static block the camera's tracker sent during the take, as sent (camera,
    lens and tracker identity, sensor): what the clip-level formats keep of it."""
    return dict(track.statics[0][1]) if track.statics else None


def source_labels(track: CameraTrack, rate: FrameRate, drop_frame: bool
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(N, 4) label fields, (N, 2) rates and drop flags of every sample's own timecode as recorded (a
    take without them: the take's label of each sample's frame)."""
    n = len(track)
    if track.timecode is not None and track.timecode_rate is not None and track.timecode_drop is not None:
        return track.timecode, track.timecode_rate, track.timecode_drop
    fields = np.stack(timecode_fields(track.frame, rate, drop_frame), axis=1).reshape(n, 4)
    rates = np.tile([rate.rate.numerator, rate.rate.denominator], (n, 1)).astype(np.int64)
    return fields, rates, np.full(n, drop_frame)


def source_timecode_text(track: CameraTrack, rate: FrameRate, drop_frame: bool, start: int,
                         stop: int) -> Text:
    """``HH:MM:SS:FF`` of each sample's own timecode exactly as sent (``;`` before the frames when it
    was sent drop-frame; three frame digits at 100 fps and up) for rows ``start..stop``."""
    fields, rates, drops = source_labels(track, rate, drop_frame)
    fields, rates, drops = fields[start:stop], rates[start:stop], drops[start:stop]
    n = stop - start
    colon = np.full((n, 1), ord(":"), np.uint8)
    last = np.where(drops[:, None], ord(";"), ord(":")).astype(np.uint8)
    nominal = (2 * rates[:, 0] + rates[:, 1]) // (2 * rates[:, 1])
    wide = (nominal > 100) | (fields[:, 3] >= 100)
    frames = _digits(fields[:, 3], 3)
    chars = np.concatenate([_digits(fields[:, 0], 2), colon, _digits(fields[:, 1], 2), colon,
                            _digits(fields[:, 2], 2), last, frames], axis=1)
    shown = np.ones(chars.shape, dtype=np.bool_)
    shown[:, 9] = wide  # the hundreds digit of the frame only where the rate (or the frame) needs it
    return Text(chars, shown)


def source_rate_text(track: CameraTrack, rate: FrameRate, drop_frame: bool, start: int, stop: int) -> Text:
    """``num/den`` of each sample's own timecode rate, rows ``start..stop``."""
    _, rates, _ = source_labels(track, rate, drop_frame)
    distinct, indices = np.unique(rates[start:stop], axis=0, return_inverse=True)
    return choices(indices.reshape(-1), [f"{num}/{den}" for num, den in distinct.tolist()])
