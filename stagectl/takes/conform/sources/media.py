"""Camera media (MOV, MXF, MP4) read with PyAV into clips: start timecode, rate, frames, reel, camera.

What FFmpeg's demuxers expose, and where this reader looks (first found wins):

* **Start timecode**: the ``timecode`` tag of the video stream (MOV/MP4: read from the QuickTime ``tmcd``
  track; MXF: the source package), then the ``tmcd`` data stream's own tag, then the container's (MXF's
  material package timecode). ``;`` (or ``.``/``,``) before the frames marks drop-frame. A file without
  a start timecode cannot be conformed and is reported.
* **Rate**: the video stream's ``average_rate`` (an exact Fraction: 24000/1001 for 23.976), else its
  ``guessed_rate`` / ``base_rate``.
* **Frames**: the stream's frame count, else its duration (in ``time_base`` units) times the rate, else
  the packets counted by demuxing the stream (no decoding).
* **Reel / tape**: ``reel_name``, ``tape``, ``reel``, ``tape_name`` tags (video stream, then the ``tmcd``
  track, then the container).
* **Camera**: a ``camera``, ``camera_letter``, ``camera_id``, ``camera_index`` or ``camera_name`` tag
  (video stream, then container); else the usual clip-name convention, the letter opening
  ``A001C007...`` (camera letter, 3-digit roll, ``C`` + clip number). ``Clip.columns`` says which:
  ``Camera from`` is ``metadata <tag>`` or ``clip name``; ``Timecode from`` is ``video stream``,
  ``tmcd track`` or ``container``. Every tag read is kept in ``Clip.columns`` too.

A folder is searched recursively for ``.mov``, ``.mxf`` and ``.mp4`` files (any case); other files and
hidden ones (``.``-prefixed: macOS ``._`` resource forks on camera cards) are ignored. A media file that
cannot be read, has no picture or no start timecode is reported with its path, never fatal to the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from stagectl.core.timecode import FrameRate, Timecode, TimecodeError
from stagectl.takes.conform.model import Clip, ConformError

__all__ = ["MEDIA_SUFFIXES", "MediaScan", "camera_from_name", "read_media_file", "read_media_folder"]

MEDIA_SUFFIXES = frozenset({".mov", ".mxf", ".mp4"})
REEL_TAGS = ("reel_name", "tape", "reel", "tape_name")
CAMERA_TAGS = ("camera", "camera_letter", "camera_id", "camera_index", "camera_name")
# A001C007_0412..., B002C013: camera letter, 3-digit roll, C + clip number (ARRI, RED, Sony, Blackmagic).
_CAMERA_NAME = re.compile(r"([A-Z])\d{3}C\d{3}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MediaScan:
    """What a media folder gave: the clips (by path) and, per file that could not be read, why."""

    clips: list[Clip] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def camera_from_name(name: str) -> str | None:
    """The camera letter of a clip named by the usual convention (``A001C007_0412`` -> ``A``), else None."""
    match = _CAMERA_NAME.match(name)
    return match[1].upper() if match else None


def _tags(metadata: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in metadata.items()}


def _first(tag_sets: Iterable[tuple[str, dict[str, str]]],
           names: Iterable[str]) -> tuple[str, str, str] | None:
    """(where, tag, value) of the first non-empty tag among ``names`` in the tag sets, in order."""
    wanted = tuple(names)
    for where, tags in tag_sets:
        for name in wanted:
            value = tags.get(name, "").strip()
            if value:
                return where, name, value
    return None


def _rate(stream: av.VideoStream, path: Path) -> FrameRate:
    for value in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if value is not None and value > 0:
            return FrameRate(Fraction(value))
    raise ConformError(f"{path}: the picture stream says no frame rate; re-wrap the clip with its rate "
                       "(or list it in an ALE / CSV instead)")


def _frames(container: av.container.InputContainer, stream: av.VideoStream, rate: FrameRate,
            path: Path) -> int:
    if stream.frames > 0:
        return stream.frames
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        exact = Fraction(stream.duration) * stream.time_base * rate.rate
        if exact.denominator == 1 or abs(exact - round(exact)) < Fraction(1, 1000):
            return round(exact)
    counted = sum(1 for packet in container.demux(stream) if packet.size > 0)
    if counted > 0:
        return counted
    raise ConformError(f"{path}: the picture stream holds no frames; the clip is empty or damaged")


def _start(tag_sets: list[tuple[str, dict[str, str]]], rate: FrameRate, path: Path) -> tuple[Timecode, str]:
    found = _first(tag_sets, ("timecode",))
    if found is None:
        raise ConformError(f"{path}: no start timecode (no 'timecode' tag on the picture stream, a tmcd "
                           "track or the container); conform matches by timecode, so list this clip in an "
                           "ALE or CSV with its start timecode")
    where, _, text = found
    try:
        return Timecode.parse(text, rate), where
    except TimecodeError as exc:
        raise ConformError(f"{path}: start timecode {text!r} ({where}) is not valid at {rate} fps: "
                           f"{exc}") from exc


def read_media_file(path: Path) -> Clip:
    """The clip one media file holds (see the module docstring for what is read from where).

    Raises :class:`ConformError` naming the file when it cannot be opened, has no picture stream, no
    rate, no frames or no valid start timecode.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise ConformError(f"{path}: not readable as media ({exc}); check the file is complete (copy it "
                           "again from the card) or leave it out") from exc
    with container:
        if not container.streams.video:
            raise ConformError(f"{path}: no picture stream (audio-only or data file); leave it out or "
                               "point at the picture file")
        stream = container.streams.video[0]
        timecode_tracks = [s for s in container.streams.data if "timecode" in _tags(s.metadata)]
        video_tags = _tags(stream.metadata)
        container_tags = _tags(container.metadata)
        tag_sets = [("video stream", video_tags)]
        tag_sets += [("tmcd track", _tags(s.metadata)) for s in timecode_tracks]
        tag_sets.append(("container", container_tags))
        rate = _rate(stream, path)
        start, timecode_from = _start(tag_sets, rate, path)
        frames = _frames(container, stream, rate, path)
    reel = _first(tag_sets, REEL_TAGS)
    camera_tag = _first([("video stream", video_tags), ("container", container_tags)], CAMERA_TAGS)
    columns: dict[str, str] = {}
    for _, tags in reversed(tag_sets):  # the nearest tag (the picture stream's) wins a name clash
        columns.update(tags)
    columns["Timecode from"] = timecode_from
    camera: str | None
    if camera_tag is not None:
        camera = camera_tag[2]
        columns["Camera from"] = f"metadata {camera_tag[1]}"
    else:
        camera = camera_from_name(path.stem)
        columns["Camera from"] = "clip name" if camera is not None else "unknown"
    return Clip(name=path.stem, start=start, frames=frames, rate=rate, camera=camera,
                reel=reel[2] if reel is not None else None, source=str(path), columns=columns)


def _media_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not hidden and path.suffix.lower() in MEDIA_SUFFIXES and path.is_file():
            found.append(path)
    return sorted(found)


def read_media_folder(folder: Path) -> MediaScan:
    """Every MOV / MXF / MP4 under ``folder`` (recursively) as a clip; files that fail go to ``problems``.

    Raises :class:`ConformError` when ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise ConformError(f"{folder}: not a folder of camera media; give the folder holding the clips")
    scan = MediaScan()
    for path in _media_files(folder):
        try:
            scan.clips.append(read_media_file(path))
        except ConformError as exc:
            scan.problems.append(str(exc))
    return scan
