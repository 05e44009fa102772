"""Which take(s) and stage camera recorded each clip, frame by frame.

A clip's frame ``n`` is exposed at the start of its label ``start + n`` (:mod:`.timing`'s axis). A take
covers that frame for a camera when the camera's picture-aligned samples bracket the exposure time
with at most two tracker periods between them (one lost sample is bridged; a longer dropout is not
invented), or when it lies within half a period of the take's first or last sample. Clip and take
rates may differ: both are compared on the axis, never by frame numbers.

Cameras: ``camera_map`` maps what the clip says to a stage camera, ``{"A": "CamA"}``: a key matches
the clip's camera letter, else its reel, else the start of its name ("A001" matches "A001C007_0412");
the value is the stage camera's name. Without a map (or no key matching), a clip whose camera is a
stage camera's name is that camera; else the takes' only camera; else the clip is refused with the
cameras named.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from stagectl.takes.conform.model import Clip
from stagectl.takes.conform.timing import SampleTimes, axis_of, day_length, frame_length, sample_times
from stagectl.takes.model import TakeData, TakeInfo
from stagectl.takes.store import TakeStore

__all__ = ["ClipMatch", "Segment", "TakeIndex", "match_clip", "resolve_camera"]


@dataclass(frozen=True, slots=True)
class Segment:
    """Clip frames ``first`` up to (not including) ``stop`` come from take ``take_id``."""

    take_id: int
    take_name: str
    first: int
    stop: int

    @property
    def frames(self) -> int:
        """How many clip frames the segment holds."""
        return self.stop - self.first


@dataclass(slots=True)
class ClipMatch:
    """One clip's match: its stage camera, segments, coverage and warnings (``refused``: why none)."""

    clip: Clip
    camera: str | None
    segments: list[Segment] = field(default_factory=list)
    take_of_frame: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    exposure: dict[int, float] = field(default_factory=dict)
    """Per take id: the clip's first exposure time on that take's axis (its day)."""
    warnings: list[str] = field(default_factory=list)
    refused: str | None = None

    @property
    def frames_covered(self) -> int:
        """Clip frames some take covers."""
        return int(np.sum(self.take_of_frame >= 0))

    def _missing(self) -> tuple[int, int, int]:
        covered = np.flatnonzero(self.take_of_frame >= 0)
        total = self.clip.frames
        if covered.size == 0:
            return total, 0, 0
        before, after = int(covered[0]), total - 1 - int(covered[-1])
        return before, total - covered.size - before - after, after

    @property
    def missing_before(self) -> int:
        """Clip frames before the first covered one (the clip started before recording)."""
        return self._missing()[0]

    @property
    def missing_between(self) -> int:
        """Uncovered clip frames between covered ones (between takes, dropouts)."""
        return self._missing()[1]

    @property
    def missing_after(self) -> int:
        """Clip frames after the last covered one (recording stopped first)."""
        return self._missing()[2]

    @property
    def frames_missing(self) -> int:
        """Clip frames no take covers."""
        return self.clip.frames - self.frames_covered

    @property
    def coverage(self) -> float:
        """Covered share of the clip's frames, 0..1."""
        return self.frames_covered / self.clip.frames

    @property
    def take_names(self) -> list[str]:
        """The matched takes' names, in clip order, once each."""
        return list(dict.fromkeys(s.take_name for s in self.segments))


class TakeReader(Protocol):
    """What conform reads of a take store: the local one (a takes folder) or the facility store."""

    def takes(self) -> list[TakeInfo]: ...
    def read(self, take_id: int) -> TakeData: ...


TakeOpener = Callable[[], AbstractContextManager[TakeReader]]
"""Opens a take store for reading (``lambda: FacilityStore(url)``); conform closes it after each use."""


class TakeIndex:
    """The take store as conform reads it: every take's span, takes read on demand (a few kept).

    ``store``: a takes folder, or a :data:`TakeOpener` (the facility store)."""

    def __init__(self, store: Path | TakeOpener, keep: int = 3) -> None:
        self.folder = store if isinstance(store, Path) else None
        self._open: TakeOpener = store if not isinstance(store, Path) else (
            lambda: TakeStore(store, readonly=True))
        with self._open() as reader:
            self.infos: list[TakeInfo] = reader.takes()
        self._keep = keep
        self._takes: OrderedDict[int, TakeData] = OrderedDict()
        self._times: dict[tuple[int, str], SampleTimes] = {}
        self._spans: dict[int, tuple[float, float] | None] = {}

    def take(self, take_id: int) -> TakeData:
        """Take ``take_id`` as read from the store (kept while it is one of the last few asked for)."""
        data = self._takes.get(take_id)
        if data is None:
            with self._open() as reader:
                data = reader.read(take_id)
            self._takes[take_id] = data
            while len(self._takes) > self._keep:
                old, _ = self._takes.popitem(last=False)
                self._times = {k: v for k, v in self._times.items() if k[0] != old}
        else:
            self._takes.move_to_end(take_id)
        return data

    def times(self, take_id: int, camera: str) -> SampleTimes:
        """Picture-aligned sample times of ``camera`` in take ``take_id`` (:func:`.timing.sample_times`)."""
        key = (take_id, camera)
        found = self._times.get(key)
        if found is None:
            found = self._times[key] = sample_times(self.take(take_id), camera)
        return found

    def span(self, info: TakeInfo) -> tuple[float, float] | None:
        """A take's span on the axis, from its samples' own times (a tracker's labels need not
        agree with the take's tc in / out), padded by a frame; None: it recorded nothing."""
        if info.take_id not in self._spans:
            cameras = self.take(info.take_id).cameras
            found = [self.times(info.take_id, c) for c, t in cameras.items() if len(t)]
            self._spans[info.take_id] = None if not found else (
                min(float(t.times.min()) - t.period for t in found),
                max(float(t.times.max()) + t.period for t in found))
        return self._spans[info.take_id]


def _clip_span(clip: Clip) -> tuple[float, float]:
    start = float(axis_of(clip.start))
    return start, start + clip.frames * float(frame_length(clip.rate, clip.drop_frame))


def _overlaps(clip: Clip, span: tuple[float, float]) -> bool:
    start, end = _clip_span(clip)
    day = float(day_length(clip.rate, clip.drop_frame))
    shift = round(((span[0] + span[1]) / 2 - (start + end) / 2) / day) * day
    return start + shift < span[1] and end + shift > span[0]


#: How far a take's samples may lie outside its own tc in / out and still be found first (seconds).
NEAR_PAD_S = 10.0


def _near(clip: Clip, info: TakeInfo) -> bool:
    """Whether the take's tc in / out (padded) overlap the clip; True when the take lacks them."""
    if info.tc_in is None or info.tc_out is None:
        return True
    start, end = float(axis_of(info.tc_in)), float(axis_of(info.tc_out))
    if end < start:  # across midnight
        end += float(day_length(info.tc_in.rate, info.tc_in.drop_frame))
    return _overlaps(clip, (start - NEAR_PAD_S, end + NEAR_PAD_S))


def resolve_camera(clip: Clip, cameras: list[str], camera_map: Mapping[str, str] | None) -> str:
    """The stage camera of ``clip`` among ``cameras`` (module docstring); ValueError saying why not."""
    where = f" ({clip.source})" if clip.source else ""
    if camera_map:
        said = [clip.camera, clip.reel]
        for key, value in camera_map.items():
            if key in said or clip.name.startswith(key):
                if value in cameras:
                    return value
                hint = (f"; {key!r} is a stage camera: the map reads clip camera=stage camera"
                        if key in cameras else "")
                raise ValueError(f"clip {clip.name}{where}: the camera map sends {key!r} to {value!r}, which "
                                 f"recorded none of the takes at its timecode (cameras: {', '.join(cameras)})"
                                 f"{hint}")
    if clip.camera is not None and clip.camera in cameras:
        return clip.camera
    if len(cameras) == 1:
        return cameras[0]
    said_text = f"says camera {clip.camera!r}" if clip.camera else "names no camera"
    raise ValueError(f"clip {clip.name}{where} {said_text}, which is none of the stage cameras recorded "
                     f"at its timecode ({', '.join(cameras)}); map it with a camera map, e.g. "
                     f"{clip.camera or clip.name[:1]}={cameras[0]}")


def _covered(times: SampleTimes, exposure: npt.NDArray[np.float64]
             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(bracketed by samples at most 2.5 periods apart, within half a period beyond the first / last)."""
    ts = times.ordered
    if ts.size == 0:
        none = np.zeros(exposure.size, dtype=np.bool_)
        return none, none
    p = times.period
    i = np.searchsorted(ts, exposure, side="right")
    lo, hi = np.clip(i - 1, 0, ts.size - 1), np.clip(i, 0, ts.size - 1)
    inside = ((i > 0) & (i < ts.size) & (ts[hi] - ts[lo] <= 2.5 * p)) | ((i > 0) & (ts[lo] == exposure))
    edge = ((i == 0) & (ts[0] - exposure <= p / 2)) | ((i == ts.size) & (exposure - ts[-1] <= p / 2))
    return inside, edge & ~inside


def exposures(clip: Clip, first: float) -> npt.NDArray[np.float64]:
    """Exposure time (frame start) of every clip frame on the axis, the first at ``first``."""
    return first + np.arange(clip.frames, dtype=np.float64) * float(frame_length(clip.rate, clip.drop_frame))


def match_clip(clip: Clip, index: TakeIndex, camera_map: Mapping[str, str] | None = None) -> ClipMatch:
    """Match ``clip`` against every take in ``index`` (see the module docstring)."""
    # Takes whose own tc in / out are near the clip first: their samples are read; the rest only when
    # none of those covers it (a tracker whose labels disagree with the stage's by more than the pad).
    near = [info for info in index.infos if _near(clip, info)]
    candidates = [info for info in near if (span := index.span(info)) is not None and _overlaps(clip, span)]
    if not candidates:
        candidates = [info for info in index.infos if info not in near
                      and (span := index.span(info)) is not None and _overlaps(clip, span)]
    cameras = sorted({c for info in candidates
                      for c, t in index.take(info.take_id).cameras.items() if len(t)})
    result = ClipMatch(clip, None, take_of_frame=np.full(clip.frames, -1, dtype=np.int64))
    if not cameras:
        result.warnings.append(f"no take was recorded between {clip.start} and {clip.end}: "
                               f"all {clip.frames} frames missing")
        return result
    try:
        result.camera = camera = resolve_camera(clip, cameras, camera_map)
    except ValueError as exc:
        result.refused = str(exc)
        return result
    start, _ = _clip_span(clip)
    day = float(day_length(clip.rate, clip.drop_frame))
    found: list[tuple[int, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]] = []
    for info in candidates:
        take = index.take(info.take_id)
        if camera not in take.cameras or not len(take.cameras[camera]):
            continue
        times = index.times(info.take_id, camera)
        span = index.span(info)
        assert span is not None
        first = start + round(((span[0] + span[1]) / 2 - start) / day) * day
        inside, edge = _covered(times, exposures(clip, first))
        if inside.any() or edge.any():
            found.append((info.take_id, inside, edge))
            result.exposure[info.take_id] = first
    # A frame two samples of a take bracket comes from that take (the earlier one when two do);
    # only then may a take's first or last sample stand for a frame just beyond it.
    for which in (1, 2):
        for take_id, *masks in found:
            pick = masks[which - 1] & (result.take_of_frame < 0)
            result.take_of_frame[pick] = take_id
    used = set(result.take_of_frame.tolist())
    result.exposure = {k: v for k, v in result.exposure.items() if k in used}
    for take_id in result.exposure:
        result.warnings += [w for w in index.times(take_id, camera).warnings if w not in result.warnings]
    names = {info.take_id: info.name for info in candidates}
    ids = result.take_of_frame
    edges = np.flatnonzero(np.diff(ids) != 0) + 1
    for a, b in zip([0, *edges.tolist()], [*edges.tolist(), clip.frames], strict=True):
        if ids[a] >= 0:
            result.segments.append(Segment(int(ids[a]), names[int(ids[a])], a, b))
    if result.frames_missing:
        result.warnings.append(
            f"{result.frames_missing} of {clip.frames} frames have no tracking (before recording "
            f"{result.missing_before}, between takes or dropouts {result.missing_between}, after "
            f"{result.missing_after})")
    return result
