"""Timecode labels of many frame counts at once (numpy), the same labels :class:`Timecode`
gives one at a time: for exports and for reading old takes without a Python object per sample."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stagectl.core.timecode import FrameRate, frames_per_24h


def timecode_fields(frames: npt.ArrayLike, rate: FrameRate, drop_frame: bool
                    ) -> tuple[npt.NDArray[np.int64], ...]:
    """(hours, minutes, seconds, frame) of each absolute frame count, as :class:`Timecode` labels
    them (wrapping at 24 h; drop-frame skips labels 00-01 or 00-03 in 9 of 10 minutes)."""
    per_day = frames_per_24h(rate, drop_frame)
    nominal = rate.nominal
    # frames_per_24h = 144 * (nominal * 600 - 9 * drop): the labels dropped per minute, 0 for NDF.
    drop = (nominal * 600 - per_day // 144) // 9
    count = np.asarray(frames, dtype=np.int64) % per_day
    if drop:
        per_minute, per_ten = nominal * 60 - drop, nominal * 600 - 9 * drop
        tens, rem = np.divmod(count, per_ten)
        count = count + 9 * drop * tens + drop * np.maximum(0, (rem - drop) // per_minute)
    seconds, frame = np.divmod(count, nominal)
    minutes, second = np.divmod(seconds, 60)
    hour, minute = np.divmod(minutes, 60)
    return hour, minute, second, frame
