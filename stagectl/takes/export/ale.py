"""Avid Log Exchange (``.ale``): a row per take (per camera of a take) for the editor's bin.

An ALE is tab-delimited text in three sections, in this order (Avid Log Specifications):
``Heading`` (``FIELD_DELIM TABS``, ``VIDEO_FORMAT``, ``AUDIO_FORMAT``, ``FPS``), a blank line,
``Column`` (one tab-separated line of column titles), a blank line, ``Data`` (one line per clip).

Choices, and why:

* ``End`` is exclusive: the timecode one frame after the last frame, so ``End = Start + Duration``
  -- what Media Composer writes in its own ALE exports and what OpenTimelineIO's ALE reader checks.
* Drop-frame timecodes use ``;`` before the frames (``01:00:00;00``), as the Avid spec asks.
* ``FPS`` is ``23.976``, ``24``, ``25``, ``29.97``, ``59.94``, ... (NTSC rates to three decimals,
  trailing zeros dropped). A file holds one rate: takes at different rates cannot share an ALE.
* ``VIDEO_FORMAT`` is ``1080``: stagectl does not know the editorial project's format; 1080 is the
  HD value dailies tools write when they do not know either (OpenTimelineIO's writer does too).
  ``AUDIO_FORMAT`` is ``48kHz``; ``Tracks`` is ``V`` (stagectl records no sound: MOS).
* Lines end with CRLF (the Avid spec's Windows [Enter]); Media Composer on both platforms and
  line-splitting readers take it. Text is UTF-8.
* A value never breaks the format: a run of tabs, CR, LF and the other characters Python's
  ``str.splitlines`` splits on becomes one space.
* ``Tape`` is the row's clip name (stagectl's takes are file-based clips with no camera roll), and
  ``Source File`` the OpenTrackIO JSON lines file ``stagectl export --format jsonl`` writes for the
  row's camera (``<take>_<camera>.jsonl``: every sample as the tracker sent it), empty for a row
  without a camera.
* Rows: a take gives one row per camera (lens and range are per camera); a take with one camera
  gives one row named after the take, several cameras give ``<take>_<camera>`` rows. A camera
  that recorded no samples still gets a row over the take's timecode range (the camera rolled;
  its tracking dropped). A take with no camera gets one row over its range. A take with no range
  at all (no sample, no clock reading) gives no row; when no take gives a row nothing is written.

This module also holds the per-camera summaries the OTIO exporter shares: :func:`camera_span`,
:func:`lens_summary`, :func:`clip_name`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stagectl.core.atomic import atomic_write_text
from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.takes.export.cdl import asc_sop_text, check_cdl, format_cdl_number
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import CameraTrack, TakeData

__all__ = ["ALE_COLUMNS", "CameraSpan", "LensSummary", "ale_fps", "ale_text", "camera_span", "clip_name",
           "export_ale", "export_ale_many", "lens_summary"]

NEWLINE = "\r\n"
ALE_COLUMNS = ("Name", "Tracks", "Start", "End", "Duration", "Camera", "Production", "Scene", "Shot", "Take",
               "Lens", "Focal Length (mm)", "T-Stop", "Focus Distance (m)", "Circled", "No Good", "Look",
               "Comments", "Slate Notes", "ASC_SOP", "ASC_SAT", "Take ID", "Take State", "Tape",
               "Source File")
"""The ALE's columns, in file order."""

# Runs of the field delimiter and of every character str.splitlines() treats as a line break.
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class CameraSpan:
    """A camera's recorded timecode range in a take: ``frames`` frames from ``start``."""

    start: Timecode
    frames: int
    samples: int

    @property
    def last(self) -> Timecode:
        """The last frame's timecode (inclusive)."""
        return self.start + (self.frames - 1)

    @property
    def end(self) -> Timecode:
        """The timecode one frame after the last (exclusive; wraps at 24 h)."""
        return self.start + self.frames


@dataclass(frozen=True, slots=True)
class LensSummary:
    """A camera's lens over a take; None where unknown (every sample NaN)."""

    focal_min_mm: float | None
    focal_max_mm: float | None
    focus_at_start_m: float | None
    t_stop_at_start: float | None
    f_stop_at_start: float | None


def camera_span(take: TakeData, track: CameraTrack | None) -> CameraSpan | None:
    """The frames ``track`` recorded (first to last sample's timecode), else the take's tc_in..tc_out,
    else None. Frames are unwrapped around the take's start so a take across midnight stays whole."""
    info = take.info
    per_day = frames_per_24h(info.rate, info.drop_frame)
    if track is not None and len(track) > 0:
        ref = info.tc_in.frames if info.tc_in is not None else int(track.frame[0])
        offset = (track.frame - ref) % per_day
        offset[offset > per_day // 2] -= per_day
        first, last = int(offset.min()), int(offset.max())
        start = Timecode.from_frames(ref + first, info.rate, info.drop_frame)
        return CameraSpan(start, last - first + 1, len(track))
    if info.tc_in is None or info.tc_out is None:
        return None
    return CameraSpan(info.tc_in, (info.tc_out.frames - info.tc_in.frames) % per_day + 1, 0)


def _first_finite(values: np.ndarray) -> float | None:
    finite = np.isfinite(values)
    i = int(np.argmax(finite)) if finite.size else 0
    return float(values[i]) if finite.size and finite[i] else None


def lens_summary(track: CameraTrack) -> LensSummary:
    """Focal length range over the take and focus / T-stop / f-stop at its start (first known value)."""
    focal = track.focal_length_mm
    low = float(np.fmin.reduce(focal)) if focal.size else math.nan  # fmin skips NaN (vectorised)
    high = float(np.fmax.reduce(focal)) if focal.size else math.nan
    return LensSummary(low if math.isfinite(low) else None, high if math.isfinite(high) else None,
                       _first_finite(track.focus_distance_m), _first_finite(track.t_stop),
                       _first_finite(track.f_stop))


def clip_name(take: TakeData, camera: str | None) -> str:
    """The take's name, or ``<take>_<camera>`` when the take has several cameras."""
    if camera is None or len(take.cameras) <= 1:
        return take.info.name
    return f"{take.info.name}_{camera}"


def ale_fps(rate: FrameRate) -> str:
    """The FPS heading value: ``24``, ``25``, ``23.976``, ``29.97``, ``59.94``."""
    text = f"{float(rate.rate):.3f}".rstrip("0")
    return text.rstrip(".")


def _clean(value: object) -> str:
    return _BREAKS.sub(" ", str(value))


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _focal_text(lens: LensSummary) -> str:
    if lens.focal_min_mm is None or lens.focal_max_mm is None:
        return ""
    low, high = _num(lens.focal_min_mm), _num(lens.focal_max_mm)
    return low if low == high else f"{low}-{high}"


def _row(take: TakeData, camera: str | None, span: CameraSpan) -> dict[str, str]:
    info, slate = take.info, take.info.slate
    track = take.cameras.get(camera) if camera is not None else None
    lens = lens_summary(track) if track is not None else None
    focal = _focal_text(lens) if lens is not None else ""
    lens_text = ""
    if track is not None and track.lens is not None:
        parts = [track.lens.make, track.lens.model, track.lens.serial, f"{focal}mm" if focal else ""]
        lens_text = " ".join(p for p in parts if p)
    primary = take.primary_cdl()
    sop = sat = ""
    if primary is not None:
        check_cdl(primary[1], f"take {info.name}, zone {primary[0]!r}")
        sop, sat = asc_sop_text(primary[1]), format_cdl_number(primary[1].saturation)
    duration = Timecode.from_frames(span.frames, info.rate, info.drop_frame)
    return {
        "Name": clip_name(take, camera), "Tracks": "V", "Start": str(span.start), "End": str(span.end),
        "Duration": str(duration), "Camera": camera or "", "Production": slate.production,
        "Scene": slate.scene, "Shot": slate.shot, "Take": str(slate.take), "Lens": lens_text,
        "Focal Length (mm)": focal, "T-Stop": _num(lens.t_stop_at_start) if lens else "",
        "Focus Distance (m)": _num(lens.focus_at_start_m) if lens else "",
        "Circled": "Yes" if info.circled else "", "No Good": "Yes" if info.no_good else "",
        "Look": info.look_at_start, "Comments": info.notes, "Slate Notes": slate.notes,
        "ASC_SOP": sop, "ASC_SAT": sat, "Take ID": str(info.take_id), "Take State": info.state,
        "Tape": clip_name(take, camera), "Source File": f"{info.name}_{camera}.jsonl" if camera else "",
    }


def _take_rows(take: TakeData) -> list[dict[str, str]]:
    rows = []
    cameras: list[str | None] = list(take.cameras) or [None]
    for camera in cameras:
        span = camera_span(take, take.cameras.get(camera) if camera is not None else None)
        if span is not None:
            rows.append(_row(take, camera, span))
    return rows


def ale_text(takes: Sequence[TakeData], progress: Callable[[float], None] | None = None) -> str | None:
    """The ALE of ``takes`` (rows in the order given), or None when no take has a timecode range.

    Raises :class:`ExportError` when the takes are not all at the same frame rate (an ALE has one FPS).
    """
    if not takes:
        raise ExportError("no takes to export as ALE")
    rate = takes[0].info.rate
    for take in takes[1:]:
        if take.info.rate != rate:
            raise ExportError(f"takes {takes[0].info.name} ({ale_fps(rate)} fps) and {take.info.name} "
                              f"({ale_fps(take.info.rate)} fps) cannot share an ALE (one FPS per file); "
                              "export them separately")
    lines = ["Heading", "FIELD_DELIM\tTABS", "VIDEO_FORMAT\t1080", "AUDIO_FORMAT\t48kHz",
             f"FPS\t{ale_fps(rate)}", "", "Column", "\t".join(ALE_COLUMNS), "", "Data"]
    rows = 0
    for i, take in enumerate(takes):
        if progress is not None and i % max(1, len(takes) // 100) == 0:
            progress(i / len(takes))
        for row in _take_rows(take):
            lines.append("\t".join(_clean(row[c]) for c in ALE_COLUMNS))
            rows += 1
    if rows == 0:
        return None
    return NEWLINE.join(lines) + NEWLINE


def _check_name(name: str) -> None:
    if not _FILE_NAME.fullmatch(name):
        raise ExportError(f"ALE name {name!r} is not allowed: use letters, digits, '.', '-' and '_' "
                          "(no folders), e.g. day3_takes")


def export_ale_many(takes: Sequence[TakeData], out_dir: Path, name: str,
                    progress: Callable[[float], None] | None = None) -> list[Path]:
    """Write one ``<name>.ale`` with a row per take (per camera of a take) into ``out_dir``, atomically.

    Returns ``[path]``, or ``[]`` (nothing written) when no take has a timecode range.
    Raises :class:`ExportError` for an empty list, a bad name or takes at different frame rates.
    """
    _check_name(name)
    text = ale_text(takes, progress)
    if progress is not None:
        progress(1.0)
    if text is None:
        return []
    path = Path(out_dir) / f"{name}.ale"
    atomic_write_text(path, text)
    return [path]


def export_ale(take: TakeData, out_dir: Path, *,
               progress: Callable[[float], None] | None = None) -> list[Path]:
    """Write ``<take name>.ale`` (one take) into ``out_dir``; ``[]`` when the take has no range."""
    return export_ale_many([take], out_dir, take.info.name, progress)
