"""What several exporters say the same way about a camera: its field of view, film back, first static
block and the timecode each sample was sent with.

One answer per camera: the vertical field of view is ``2 atan(h / 2f)`` with ``h`` the camera's one
film back height (:attr:`CameraTrack.film_back`: lens file, else the tracker's static block, else the
stage file) and ``f`` the pinhole focal length; where either is unknown every format says so (an empty
cell, no column, no attribute) rather than assuming a default film back.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.export.text_columns import Text, choices, timecode_text
from stagectl.takes.model import CameraTrack

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


def _nominal(num: int, den: int) -> int:
    """The label rate (:attr:`FrameRate.nominal`) of a recorded ``num/den`` (0 for a rate that is not one)."""
    return FrameRate(Fraction(num, den)).nominal if num > 0 and den > 0 else 0


class SourceTimecodes:
    """Every sample's own timecode as recorded (the tracker's label, rate and drop-frame flag as sent;
    a take without them: the take's label of each sample's frame), worked out once per camera.

    Attributes:
        fields: (N, 4) hours, minutes, seconds, frames.
        drops: (N,) the drop-frame flag as sent.
        rates: the distinct (num, den) rates, in order; ``rate_index`` (N,) each sample's place in it.
    """

    def __init__(self, track: CameraTrack, rate: FrameRate, drop_frame: bool) -> None:
        n = len(track)
        if track.timecode is not None and track.timecode_rate is not None and track.timecode_drop is not None:
            fields, rates, drops = track.timecode, track.timecode_rate, track.timecode_drop
        else:
            fields = np.stack(timecode_fields(track.frame, rate, drop_frame), axis=1).reshape(n, 4)
            rates = np.tile([rate.rate.numerator, rate.rate.denominator], (n, 1)).astype(np.int64)
            drops = np.full(n, drop_frame)
        distinct, index = np.unique(rates.reshape(n, 2), axis=0, return_inverse=True)
        self.fields: npt.NDArray[np.int64] = fields
        self.drops: npt.NDArray[np.bool_] = drops
        self.rates: list[tuple[int, int]] = [(int(num), int(den)) for num, den in distinct.tolist()]
        self.rate_index: npt.NDArray[np.intp] = index.reshape(-1)
        self._nominal = np.array([_nominal(num, den) for num, den in self.rates], dtype=np.int64)

    def labels(self, s: slice) -> Text:
        """``HH:MM:SS:FF`` of rows ``s`` exactly as sent (``;`` before the frames when sent drop-frame;
        three frame digits at 100 fps and up)."""
        fields = self.fields[s]
        return timecode_text(tuple(fields.T), self._nominal[self.rate_index[s]], self.drops[s])

    def rate_texts(self, s: slice, texts: list[str]) -> Text:
        """Rows ``s`` showing ``texts[k]`` for the rate ``rates[k]`` they were sent at."""
        return choices(self.rate_index[s], texts)

    def rate_fractions(self, s: slice) -> Text:
        """``num/den`` of each sample's own timecode rate, rows ``s``."""
        return self.rate_texts(s, [f"{num}/{den}" for num, den in self.rates])
