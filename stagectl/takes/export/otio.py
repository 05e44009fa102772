"""OpenTimelineIO (``.otio``): a timeline with a video track per camera and a clip per camera of a take.

Each clip's ``source_range`` is the camera's recorded timecode range (:func:`ale.camera_span`):
``start_time`` = the first frame's absolute timecode frame count (OTIO's convention for a source
timecode start: ``otio.opentime.to_timecode(start_time, rate, drop_frame)`` gives the label),
``duration`` = frames recorded, at ``rate = float(FrameRate.rate)`` (23.976023976023978 for
24000/1001: OTIO times are floats). There is no media, so the reference is a ``MissingReference``
whose ``available_range`` is the same range.

Metadata (JSON values only; unknown numbers are ``null``, never NaN):

* ``clip.metadata["cdl"]`` = ``{"asc_sop": {"slope": [r, g, b], "offset": [...], "power": [...]},
  "asc_sat": s}``: the take's primary CDL, in the layout OTIO's CMX 3600 and ALE adapters read
  and write; absent when the take has no CDL.
* ``clip.metadata["stagectl"]``: slate, take id / name / state / flags / notes, rate, drop-frame,
  timecode in/out labels, the camera, its lens (file, make, model, serial, film back, focal length
  range over the take, focus / T-stop / f-stop at the start), the look at the start with every
  zone's CDL, and the log (timecode label, kind, source, text).

Several takes (:func:`export_otio_many`) play one after another; within a take every camera's clip
sits at its timecode offset from the take's earliest camera (gaps pad the rest), so cameras stay
in sync across tracks. Cameras missing from a take get a gap. Cameras with no samples get the
take's tc_in..tc_out range; a take with no range at all (no sample, no clock reading) gets no clip,
and when no take gets one nothing is written (``[]``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]

from stagectl.core.atomic import atomic_write_text
from stagectl.core.colour import Cdl
from stagectl.core.timecode import frames_per_24h
from stagectl.takes.export.ale import CameraSpan, camera_span, clip_name, lens_summary
from stagectl.takes.export.camera_fields import film_back_metadata, first_static
from stagectl.takes.export.cdl import check_cdl
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import CameraTrack, TakeData

__all__ = ["NO_CAMERA_TRACK", "export_otio", "export_otio_many", "otio_cdl", "timeline_of"]

NO_CAMERA_TRACK = "no camera"
"""The track of a take recorded with no camera (its clip still carries the slate)."""

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def otio_cdl(cdl: Cdl) -> dict[str, object]:
    """A CDL in OTIO's convention: ``{"asc_sop": {"slope", "offset", "power"}, "asc_sat"}``."""
    return {"asc_sop": {"slope": list(cdl.slope), "offset": list(cdl.offset), "power": list(cdl.power)},
            "asc_sat": cdl.saturation}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _lens_metadata(track: CameraTrack) -> dict[str, object]:
    summary = lens_summary(track)
    meta: dict[str, object] = {
        "focal_length_mm": {"min": summary.focal_min_mm, "max": summary.focal_max_mm},
        "focus_distance_m_at_start": summary.focus_at_start_m,
        "t_stop_at_start": summary.t_stop_at_start, "f_stop_at_start": summary.f_stop_at_start,
    }
    info = track.lens
    if info is not None:
        meta.update(file=info.lens_file, make=info.make, model=info.model, serial=info.serial,
                    sensor_width_mm=_finite(info.sensor_width_mm),
                    sensor_height_mm=_finite(info.sensor_height_mm),
                    image_width_px=info.image_width_px, image_height_px=info.image_height_px)
    return meta


def _take_metadata(take: TakeData) -> dict[str, object]:
    info, slate = take.info, take.info.slate
    cdls: dict[str, object] = {}
    for zone, cdl in sorted(take.cdl_at_start.items()):
        check_cdl(cdl, f"take {info.name}, zone {zone!r}")
        cdls[zone] = otio_cdl(cdl)
    primary = take.primary_cdl()
    return {
        "take_id": info.take_id, "take_name": info.name, "state": info.state,
        "slate": {"production": slate.production, "scene": slate.scene, "shot": slate.shot,
                  "take": slate.take, "cameras": list(slate.cameras), "notes": slate.notes},
        "circled": info.circled, "no_good": info.no_good, "notes": info.notes,
        "rate": str(info.rate.rate), "drop_frame": info.drop_frame,
        "tc_in": str(info.tc_in) if info.tc_in is not None else None,
        "tc_out": str(info.tc_out) if info.tc_out is not None else None,
        "started_unix_s": info.started_unix_s, "stopped_unix_s": info.stopped_unix_s,
        "look_at_start": info.look_at_start, "cdl_zone": primary[0] if primary else None,
        "cdl_at_start": cdls,
        "log": [{"timecode": str(e.timecode) if e.timecode is not None else None, "kind": e.kind,
                 "source": e.source, "text": e.text} for e in take.log],
    }


def _clip(take: TakeData, camera: str | None, span: CameraSpan,
          take_meta: dict[str, object]) -> otio.schema.Clip:
    rate = float(take.info.rate.rate)
    source = TR(RT(span.start.frames, rate), RT(span.frames, rate))
    track = take.cameras.get(camera) if camera is not None else None
    meta = dict(take_meta)
    meta.update(camera=camera, samples=span.samples, dropouts=take.dropouts.get(camera or "", 0),
                tracking_source=track.source if track is not None else None,
                lens=_lens_metadata(track) if track is not None else None,
                film_back=film_back_metadata(track) if track is not None else None,
                tracker_static=first_static(track) if track is not None else None,
                tc_first=str(span.start), tc_last=str(span.last))
    if track is not None and len(track):
        sent = track.label(0, take.info.rate, take.info.drop_frame)
        meta.update(source_timecode_first=str(sent),
                    source_timecode_rate=f"{sent.rate.rate.numerator}/{sent.rate.rate.denominator}",
                    source_timecode_from="tracker" if bool(track.tracker_timecode[0]) else "stage clock")
    clip = otio.schema.Clip(name=clip_name(take, camera),
                            media_reference=otio.schema.MissingReference(available_range=source),
                            source_range=source)
    clip.metadata["stagectl"] = meta
    primary = take.primary_cdl()
    if primary is not None:
        clip.metadata["cdl"] = otio_cdl(primary[1])
    return clip


def _gap(frames: int, rate: float) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=TR(RT(0, rate), RT(frames, rate)))


def timeline_of(takes: Sequence[TakeData], name: str,
                progress: Callable[[float], None] | None = None) -> otio.schema.Timeline | None:
    """The timeline of ``takes`` one after another, a video track per camera; None when no clip.

    Raises :class:`ExportError` for an empty list or takes at different frame rates.
    """
    if not takes:
        raise ExportError("no takes to export as OpenTimelineIO")
    fr = takes[0].info.rate
    for take in takes[1:]:
        if take.info.rate != fr:
            raise ExportError(f"takes {takes[0].info.name} ({fr} fps) and {take.info.name} "
                              f"({take.info.rate} fps) cannot share a timeline; export them separately")
    rate = float(fr.rate)
    tracks: dict[str | None, otio.schema.Track] = {}
    filled = 0  # frames of timeline laid out so far (every track is this long)
    start: int | None = None
    for i, take in enumerate(takes):
        if progress is not None and i % max(1, len(takes) // 100) == 0:
            progress(i / len(takes))
        cameras: list[str | None] = list(take.cameras) or [None]
        spans = {c: s for c in cameras
                 if (s := camera_span(take, take.cameras.get(c) if c is not None else None)) is not None}
        if not spans:
            continue
        per_day = frames_per_24h(take.info.rate, take.info.drop_frame)
        ref = next(iter(spans.values())).start.frames
        # Signed offsets from the first camera, unwrapped around midnight like camera_span does.
        half = per_day // 2
        offsets = {c: (s.start.frames - ref + half) % per_day - half for c, s in spans.items()}
        lead = min(offsets.values())
        length = max(offsets[c] - lead + s.frames for c, s in spans.items())
        if start is None:
            start = spans[min(spans, key=lambda c: offsets[c])].start.frames
        take_meta = _take_metadata(take)
        for camera in spans:
            if camera not in tracks:
                track = otio.schema.Track(name=camera or NO_CAMERA_TRACK, kind=otio.schema.TrackKind.Video)
                if filled:
                    track.append(_gap(filled, rate))
                tracks[camera] = track
        for camera, track in tracks.items():
            span = spans.get(camera)
            if span is None:
                track.append(_gap(length, rate))
                continue
            before = offsets[camera] - lead
            if before:
                track.append(_gap(before, rate))
            track.append(_clip(take, camera, span, take_meta))
            if length - before - span.frames:
                track.append(_gap(length - before - span.frames, rate))
        filled += length
    if start is None:
        return None
    timeline = otio.schema.Timeline(name=name, global_start_time=RT(start, rate))
    timeline.metadata["stagectl"] = {"rate": str(fr.rate), "takes": [t.info.name for t in takes]}
    for track in tracks.values():
        timeline.tracks.append(track)
    return timeline


def export_otio_many(takes: Sequence[TakeData], out_dir: Path, name: str,
                     progress: Callable[[float], None] | None = None) -> list[Path]:
    """Write ``<name>.otio``: one timeline of ``takes`` one after another (a track per camera).

    Returns ``[path]``, or ``[]`` (nothing written) when no take has a timecode range. Raises
    :class:`ExportError` for an empty list, a bad name or takes at different frame rates.
    """
    if not _FILE_NAME.fullmatch(name):
        raise ExportError(f"OTIO name {name!r} is not allowed: use letters, digits, '.', '-' and '_' "
                          "(no folders), e.g. day3_takes")
    timeline = timeline_of(takes, name, progress)
    if progress is not None:
        progress(1.0)
    if timeline is None:
        return []
    path = Path(out_dir) / f"{name}.otio"
    # Serialise to text first: OTIO's write_to_file picks its adapter by suffix, and the atomic
    # write goes through a temporary name.
    atomic_write_text(path, otio.adapters.write_to_string(timeline, "otio_json"))
    return [path]


def export_otio(take: TakeData, out_dir: Path, *,
                progress: Callable[[float], None] | None = None) -> list[Path]:
    """Write ``<take name>.otio``: the take's timeline (a track and a clip per camera)."""
    return export_otio_many([take], out_dir, take.info.name, progress)
