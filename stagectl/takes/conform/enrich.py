"""The columns conform adds to a clip's row of the DIT's ALE: take, slate, lens, ranges, look, coverage.

Values are plain text (no tabs or line breaks): ranges as ``24.0-35.0`` (one value alone when it
does not change), from the clip's covered frames only; an unknown value is empty.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from stagectl.takes.conform.match import ClipMatch, TakeIndex
from stagectl.takes.conform.package import clip_take
from stagectl.takes.conform.resample import Resampled
from stagectl.takes.export.cdl import asc_sop_text, format_cdl_number

__all__ = ["COLUMNS", "enrich_values"]

COLUMNS = ("Take", "Slate", "Lens", "Focal range", "Focus range", "T-stop", "ASC_SOP", "ASC_SAT",
           "Tracking coverage", "stagectl notes")
"""The added columns, in the order they are written."""


def _range(values: npt.NDArray[np.float64], decimals: int, unit: str) -> str:
    known = values[np.isfinite(values)]
    if known.size == 0:
        return ""
    low, high = (f"{float(v):.{decimals}f}" for v in (known.min(), known.max()))
    return f"{low} {unit}" if low == high else f"{low}-{high} {unit}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def enrich_values(match: ClipMatch, resampled: Resampled | None, index: TakeIndex) -> dict[str, str]:
    """Column -> text for ``match``'s clip (:data:`COLUMNS`, every one present)."""
    values = dict.fromkeys(COLUMNS, "")
    covered = match.frames_covered
    values["Tracking coverage"] = f"{100.0 * covered / match.clip.frames:.1f}%"
    notes = [match.refused] if match.refused else []
    notes += match.warnings
    if match.segments and match.camera is not None:
        takes = [index.take(t) for t in dict.fromkeys(s.take_id for s in match.segments)]
        values["Take"] = ", ".join(t.info.name for t in takes)
        values["Slate"] = ", ".join(dict.fromkeys(t.info.slate.label for t in takes))
        lens = next((t.cameras[match.camera].lens for t in takes if t.cameras[match.camera].lens), None)
        if lens is not None:
            values["Lens"] = " ".join(p for p in (lens.make, lens.model, lens.serial) if p)
        flags = [f"{t.info.name} circled" for t in takes if t.info.circled]
        flags += [f"{t.info.name} no good" for t in takes if t.info.no_good]
        notes = flags + [t.info.notes for t in takes if t.info.notes] + notes
        if resampled is not None and resampled.covered.any():
            track = resampled.covered_track()
            values["Focal range"] = _range(track.focal_length_mm, 1, "mm")
            values["Focus range"] = _range(track.focus_distance_m, 2, "m")
            stops = _range(track.t_stop, 1, "")
            values["T-stop"] = stops.strip()
            take, look = clip_take(match.clip, match, resampled, index)
            primary = take.primary_cdl()
            if primary is not None:
                cdl = primary[1]
                if all(math.isfinite(v) for v in (*cdl.slope, *cdl.offset, *cdl.power, cdl.saturation)):
                    values["ASC_SOP"] = asc_sop_text(cdl)
                    values["ASC_SAT"] = format_cdl_number(cdl.saturation)
            elif look["note"]:
                notes.append(look["note"])
    values["stagectl notes"] = _one_line("; ".join(dict.fromkeys(n for n in notes if n)))
    return values
