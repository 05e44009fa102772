"""``--verify-motion``: does a clip's picture move when its take's tracking says it did?

Per clip package, the clip's own media is read (OpenCV, frame ``n`` at its label's time on the timecode
axis) and its picture motion measured against the camera's tracking *as stamped* (each sample's time on
the axis before the delay line: :mod:`.timing`'s time minus the delay it added), with the same analysis
as the live delay measurement (:mod:`stagectl.takes.motion`). The offset the timecodes imply is the delay
line the take recorded (what conform applied); the one the picture shows is measured. A clip whose two
differ by more than half a frame is flagged: its timecode, or the delay line, is off.

The package's manifest gets ``"motion"``: ``offset_ms`` (> 0: the picture shows a movement later than the
tracking stamped with the same timecode, the same sign as a camera's ``delay_ms``), ``offset_frames``,
``uncertainty_ms``, ``confidence``, ``implied_ms``, ``flagged``; or ``measured: false`` and the reason.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.core.atomic import atomic_write_text
from stagectl.core.errors import StageError
from stagectl.takes.conform.match import ClipMatch, TakeIndex, TakeOpener, exposures, match_clip
from stagectl.takes.conform.model import Clip
from stagectl.takes.conform.package import Package, folder_name
from stagectl.takes.conform.timing import frame_length
from stagectl.takes.motion.image import FrameMotion, MotionTracker
from stagectl.takes.motion.lag import measure_lag
from stagectl.takes.motion.tracking import TrackingPath
from stagectl.takes.motion.video import open_video

__all__ = ["MotionCheck", "check_clip", "verify_packages"]


@dataclass(frozen=True, slots=True)
class MotionCheck:
    """One clip's motion check: what goes into its manifest, and a line for the operator."""

    clip: str
    motion: dict[str, Any]

    @property
    def flagged(self) -> bool:
        """True when the picture and the timecodes disagree by more than half a frame."""
        return bool(self.motion.get("flagged"))

    def line(self) -> str:
        """``A001C007: picture 80.0 ms (2.00 frames) after tracking, timecode implies 0.0 ms: FLAGGED``."""
        m = self.motion
        if not m.get("measured", True):
            return f"{self.clip}: motion not measured ({m['reason']})"
        mark = "FLAGGED" if m["flagged"] else "agrees"
        return (f"{self.clip}: picture {m['offset_ms']:+.1f} ms ({m['offset_frames']:+.2f} frames) +- "
                f"{m['uncertainty_ms']:.1f} ms against its tracking, timecode implies "
                f"{m['implied_ms']:+.1f} ms, confidence {m['confidence']:.2f}: {mark}")


def _not_measured(reason: str) -> dict[str, Any]:
    return {"measured": False, "reason": reason}


def _path(match: ClipMatch, index: TakeIndex) -> tuple[TrackingPath, list[float]]:
    """The camera's tracking as stamped (before the delay line) on the first take's axis, and the delays."""
    assert match.camera is not None
    takes = list(dict.fromkeys(s.take_id for s in match.segments))
    first_axis = match.exposure[takes[0]]
    columns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    delays: set[float] = set()
    for take_id in takes:
        track = index.take(take_id).cameras[match.camera]
        times = index.times(take_id, match.camera)
        delays.update(times.delay_ms)
        shift = match.exposure[take_id] - first_axis  # another day's axis: moved onto the first's
        columns.append((times.times - times.delay_s - shift, track.rotation_deg, track.focal_length_mm))
    t, rotation, focal = (np.concatenate(parts) for parts in zip(*columns, strict=True))
    return TrackingPath.of(t, rotation, focal), sorted(delays)


def check_clip(clip: Clip, match: ClipMatch, index: TakeIndex, cancel: threading.Event | None = None
               ) -> dict[str, Any]:
    """The manifest's ``"motion"`` for ``clip`` (see the module docstring); never raises for a clip that
    cannot be measured: the reason is the value."""
    media = Path(clip.source) if clip.source else None
    if media is None or not media.is_file():
        return _not_measured("the clip's picture is not at hand (clips from an ALE or CSV name no media "
                             "file); conform the camera media folder to check motion")
    if match.camera is None or not match.segments:
        return _not_measured(match.refused or "no take covers the clip")
    path, delays = _path(match, index)
    first = match.exposure[match.segments[0].take_id]
    axis = exposures(clip, first)
    tracker, motions = MotionTracker(), list[FrameMotion]()
    try:
        with open_video(str(media)) as video:
            for frame in video.frames(None, cancel, paced=False):
                if frame.index >= axis.size:
                    break
                motion = tracker.push(frame.image, float(axis[frame.index]))
                if motion is not None:
                    motions.append(motion)
        frame_s = float(frame_length(clip.rate, clip.drop_frame))  # one label frame on the axis
        result = measure_lag(motions, path, rate_fps=1.0 / frame_s)
    except StageError as exc:
        return _not_measured(str(exc))
    implied = delays[0] if len(delays) == 1 else float(np.mean(delays)) if delays else 0.0
    flagged = abs(result.offset_ms - implied) > 500.0 * frame_s
    return {"offset_ms": round(result.offset_ms, 2), "offset_frames": round(result.offset_frames, 3),
            "uncertainty_ms": round(result.uncertainty_ms, 2), "confidence": round(result.confidence, 3),
            "implied_ms": round(implied, 2), "flagged": flagged, "frames": result.frames,
            "warnings": list(result.warnings)}


def _add_to_manifest(package: Package, motion: dict[str, Any]) -> None:
    manifest = package.folder / f"{package.folder.name}.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["motion"] = motion
    atomic_write_text(manifest, json.dumps(data, indent=2) + "\n")


def verify_packages(packages: Sequence[Package], store: Path | TakeOpener,
                    camera_map: Mapping[str, str] | None = None,
                    progress: Callable[[int, int, str], None] | None = None,
                    cancel: threading.Event | None = None) -> list[MotionCheck]:
    """Check every written package's clip (see the module docstring) and add ``"motion"`` to its manifest
    (rewritten atomically). Stops between clips when ``cancel`` is set."""
    index = TakeIndex(store)
    checks = []
    for n, package in enumerate(packages):
        if cancel is not None and cancel.is_set():
            break
        name = package.folder.name or folder_name(package.clip.name)
        if progress is not None:
            progress(n, len(packages), f"checking motion of {name}")
        if package.frames_covered == 0:
            motion = _not_measured("no tracking covers the clip")
        else:
            motion = check_clip(package.clip, match_clip(package.clip, index, camera_map), index, cancel)
        _add_to_manifest(package, motion)
        checks.append(MotionCheck(name, motion))
    if progress is not None:
        progress(len(packages), len(packages), "motion checked")
    return checks
