"""The editor's cut (CMX 3600 EDL, OTIO, FCP XML) read through OpenTimelineIO into :class:`CutEvent` s.

Each picture clip of the cut's video tracks becomes an event whose ``clip`` is its SOURCE range: start =
source in, frames = the event's duration, at the source's rate. Gaps, transitions, black / bars
(generator clips), clips without frames and audio tracks are skipped; a nested sequence is refused
(flatten the cut first). Handles are not added here: conform adds them to the source range it packages.

* **Names**: ``<event number>_<clip name>``. The EDL's own event number (``010``); in OTIO and FCP XML
  the clip's position among the picture clips, counted from 1 through the video tracks in order, three
  digits. The clip name is the OTIO clip's (the EDL's ``FROM CLIP NAME`` / ``TO CLIP NAME`` / file
  name, the FCP ``clipitem`` name), else the EDL reel.
* **VFX**: an event is marked when a marker (EDL ``* LOC:`` locator; OTIO / FCP marker) names VFX in
  its name or comment, an EDL comment line names VFX (``* VFX SET EXTENSION``), or the clip's metadata
  has a key named ``vfx`` with a true value or a non-empty table (OTIO ``{"vfx": true}``). "Names VFX"
  means the letters VFX in any case, not inside a longer word: ``VFX``, ``VFX_010``, ``vfx010`` do,
  ``NOVFX`` does not.
* **Rate**: OTIO and FCP XML carry it (23.976 read as 24000/1001). An EDL does not: give ``rate``; a
  drop-frame EDL (``;`` timecodes or ``FCM: DROP FRAME``) is 29.97 when none is given.
* **Drop-frame**: an EDL event's ``;`` (or the FCM line before it); FCP XML's ``<displayformat>DF``;
  OTIO, which keeps no flag: ``drop_frame`` when given, else non-drop.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]

from stagectl.core.timecode import FrameRate, Timecode, TimecodeError
from stagectl.takes.conform.model import Clip, ConformError, CutEvent
from stagectl.takes.conform.sources.media import camera_from_name

__all__ = ["CUT_SUFFIXES", "names_vfx", "read_cut"]

CUT_SUFFIXES = {".edl": "cmx_3600", ".otio": "otio_json", ".xml": "fcp_xml"}
_VFX = re.compile(r"(?<![A-Za-z])vfx(?![A-Za-z])", re.IGNORECASE)
_TC = r"\d\d:\d\d:\d\d[:;.,]\d\d"
_EVENT = re.compile(rf"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(C|D|W\d+|K\S*)\s+(?:(\d+)\s+)?({_TC})\s+({_TC})\s+({_TC})"
                    rf"\s+({_TC})\s*$")
_FALSE = {"", "0", "no", "false", "off", "none"}


@dataclass(frozen=True, slots=True)
class _EdlEvent:
    number: str
    line: int
    source_in: str
    record_in: str
    drop_frame: bool


def names_vfx(text: str) -> bool:
    """True when ``text`` names VFX (``VFX``, ``VFX_010``; not ``NOVFX``)."""
    return bool(_VFX.search(text))


def _edl_events(text: str) -> list[_EdlEvent]:
    events, fcm_drop = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().upper().startswith("FCM:"):
            fcm_drop = "NON" not in line.upper() and "DROP" in line.upper()
        match = _EVENT.match(line)
        channel = match[3].upper() if match else ""
        if match and ("V" in channel or channel == "B"):  # picture events only (B: both)
            source_in, record_in = match[6], match[8]
            drop = fcm_drop or source_in[8] != ":"
            events.append(_EdlEvent(match[1], number, source_in, record_in, drop))
    return events


@functools.lru_cache(maxsize=64)
def _rate_of(value: float) -> FrameRate:
    """OTIO's float rate as an exact one (23.976... -> 24000/1001); a cut holds few rates, so cached."""
    return FrameRate.parse(value)


def _frames(time: Any, rate: FrameRate, where: str) -> int:
    value = float(time.value) if _rate_of(float(time.rate)) == rate else float(
        time.value_rescaled_to(float(rate.rate)))
    if abs(value - round(value)) > 1e-3:
        raise ConformError(f"{where}: time {value} is not on a picture frame at {rate} fps; check the "
                           "cut's rate")
    return round(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return " ".join(str(part) for part in value)  # OTIO's AnyVector is no list
    except TypeError:
        return str(value)


def _metadata_vfx(metadata: Mapping[str, Any]) -> bool:
    for key, value in metadata.items():
        if isinstance(value, Mapping):
            if (str(key).lower() == "vfx" and len(value) > 0) or _metadata_vfx(value):
                return True
        elif str(key).lower() == "vfx":
            if str(value).strip().lower() not in _FALSE:
                return True
        elif "comment" in str(key).lower() and names_vfx(_text(value)):
            return True
    return False


def _is_vfx(item: Any) -> bool:
    for marker in item.markers:
        if names_vfx(marker.name or "") or _metadata_vfx(marker.metadata):
            return True
    return _metadata_vfx(item.metadata)


def _clip_name(item: Any, edl_number: str | None) -> str:
    name = str(item.name or "").strip()
    reel = str(item.metadata.get("cmx_3600", {}).get("reel", "") or "").strip()
    if not name or (edl_number is not None and name in (edl_number, str(int(edl_number)))):
        name = reel
    if not name and item.media_reference is not None:
        name = Path(str(getattr(item.media_reference, "target_url", "") or "")).stem
    return name


def _read_timeline(path: Path, adapter: str, rate: FrameRate | None) -> Any:
    try:
        if adapter == "cmx_3600":
            if rate is None:
                raise ConformError(f"{path}: an EDL does not say its frame rate; give the rate of its "
                                   "timecodes (e.g. 23.976 or 25)")
            return otio.adapters.read_from_file(str(path), adapter_name=adapter, rate=float(rate.rate))
        return otio.adapters.read_from_file(str(path), adapter_name=adapter)
    except ConformError:
        raise
    except Exception as exc:  # the adapters raise their own exception types, and plain ones
        raise ConformError(f"{path}: OpenTimelineIO cannot read this cut ({type(exc).__name__}: {exc}); "
                           "check it opens in the editing system that wrote it") from exc


def _picture_items(path: Path, timeline: Any) -> list[tuple[Any, Any, int]]:
    """(track, clip, index in track) of every picture clip, tracks in order."""
    found = []
    for track in timeline.video_tracks():
        for index, item in enumerate(track):
            if isinstance(item, otio.schema.Gap | otio.schema.Transition):
                continue
            if not isinstance(item, otio.schema.Clip):
                shown = item.name or type(item).__name__
                raise ConformError(f"{path}: track {track.name or '?'} holds a nested sequence ({shown}); "
                                   "flatten the cut and export it again")
            if isinstance(item.media_reference, otio.schema.GeneratorReference):
                continue  # black, bars: no camera behind them
            if item.trimmed_range().duration.value <= 0:
                continue  # no frames (the outgoing side of a dissolve in some EDLs): no picture
            found.append((track, item, index))
    return found


def _edl_by_start(path: Path, edl: list[_EdlEvent], rate: FrameRate) -> dict[int, list[_EdlEvent]]:
    """The EDL's event lines by source-in frame, in file order (an OTIO clip finds its line by it)."""
    found: dict[int, list[_EdlEvent]] = {}
    for event in edl:
        try:
            at = Timecode.parse(event.source_in, rate, event.drop_frame).frames
        except TimecodeError as exc:
            raise ConformError(f"{path}:{event.line}: source in {event.source_in}: {exc}") from exc
        found.setdefault(at, []).append(event)
    return found


def read_cut(path: Path, handles: int = 0, *, rate: FrameRate | None = None,
             drop_frame: bool | None = None) -> list[CutEvent]:
    """Every picture event of the cut at ``path`` (``.edl``, ``.otio``, ``.xml``) with its source range.

    ``handles`` is checked (a whole number >= 0) but not applied: conform adds it when packaging.
    ``rate`` is the EDL's timecode rate (see the module docstring); ``drop_frame`` the OTIO file's.
    Raises :class:`ConformError` for an unknown kind, an unreadable cut or a nested sequence.
    """
    if isinstance(handles, bool) or not isinstance(handles, int) or handles < 0:
        raise ConformError(f"handles {handles!r} must be a whole number of frames >= 0")
    adapter = CUT_SUFFIXES.get(path.suffix.lower())
    if adapter is None:
        raise ConformError(f"{path}: not a cut stagectl reads; give a CMX 3600 EDL (.edl), an OTIO file "
                           "(.otio) or an FCP XML (.xml)")
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ConformError(f"{path}: cannot read the cut ({exc.strerror or exc}); check the path") from exc
    edl = _edl_events(text) if adapter == "cmx_3600" else []
    if adapter == "cmx_3600" and rate is None and edl and all(e.drop_frame for e in edl):
        rate = FrameRate(Fraction(30000, 1001))
    timeline = _read_timeline(path, adapter, rate)
    fcp_drop = adapter == "fcp_xml" and "<displayformat>DF</displayformat>" in text
    global_start = timeline.global_start_time
    events: list[CutEvent] = []
    by_start = _edl_by_start(path, edl, rate) if rate is not None else {}
    for number, (track, item, index) in enumerate(_picture_items(path, timeline), start=1):
        span = item.source_range if item.source_range is not None else item.trimmed_range()
        edl_rate = rate if adapter == "cmx_3600" else None
        clip_rate = edl_rate if edl_rate is not None else _rate_of(float(span.start_time.rate))
        where = f"{path}: clip {item.name!r}"
        start_frames = _frames(span.start_time, clip_rate, where)
        frames = _frames(span.duration, clip_rate, where)
        waiting = by_start.get(start_frames)
        edl_event = waiting.pop(0) if waiting else None
        drop = edl_event.drop_frame if edl_event else (drop_frame if drop_frame is not None else fcp_drop)
        drop = drop and clip_rate.supports_drop_frame
        name = _clip_name(item, edl_event.number if edl_event else None)
        source = f"{path}:{edl_event.line}" if edl_event else f"{path}: event {number}"
        if not name:
            raise ConformError(f"{source}: the event names no clip, reel or file; name the clip in the cut")
        try:
            start = Timecode.from_frames(start_frames, clip_rate, drop)
            record_in = None
            if edl_event is not None:
                record_in = Timecode.parse(edl_event.record_in, clip_rate, edl_event.drop_frame)
            elif global_start is not None:
                at = _frames(global_start, clip_rate, where) + _frames(
                    track.range_of_child_at_index(index).start_time, clip_rate, where)
                record_in = Timecode.from_frames(at, clip_rate, drop)
        except TimecodeError as exc:
            raise ConformError(f"{source}: {exc}") from exc
        label = edl_event.number if edl_event else f"{number:03d}"
        reel = str(item.metadata.get("cmx_3600", {}).get("reel", "") or "") or None
        clip = Clip(name=name, start=start, frames=frames, rate=clip_rate, camera=camera_from_name(name),
                    reel=reel, source=source)
        events.append(CutEvent(name=f"{label}_{name}", clip=clip, vfx=_is_vfx(item), record_in=record_in,
                               source=source))
    return events
