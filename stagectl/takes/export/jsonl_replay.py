"""OpenTrackIO JSON lines from the take's raw capture: every field the tracker sent, as it sent it.

For a camera fed by an OpenTrackIO tracker, each recorded sample names the raw datagram that
completed it (``raw_index``). The export plays the take's raw datagrams of that camera's sources
through today's decoder again (header and checksum, reassembly, JSON or CBOR), finds each sample's
payload and writes it as the line, with what stagectl changed laid over it the way the live output
does (tracking.opentrackio_merge): the lens values stagectl solved (a lens file) or measured (a lens
encoder on its own wire) where they differ from the tracker's, the film back and lens identity in
``static``; the tracker's values kept in ``custom.stagectl.changed``. Every line also says where it
sits in the take: ``custom.stagectl.takeFrame`` (the frame USD and .chan use) and ``takeTimecode``.
The first line carries a static block (the tracker's first one in the take, else stagectl's) and
the take's name and slate in ``custom.stagectl``.

Rows whose payload cannot be found (a take without raw capture, a datagram today's decoder
refuses) are left to the column writer: they still get a line, built from the recorded columns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from lens.interchange import brown_conrady_to_opentrackio
from stagectl.errors import DecodeError
from stagectl.takes.model import CameraTrack, TakeData
from stagectl.timecode import Timecode
from tracking.opentrackio_datagram import parse_datagram
from tracking.opentrackio_merge import REMOVED, camera_static, jsonable, overlay, with_notes
from tracking.opentrackio_payload import decode_payload
from tracking.opentrackio_reassembly import Reassembler

_LENS_COLUMNS = (("pinholeFocalLength", "focal_length_mm", True), ("focusDistance", "focus_distance_m", True),
                 ("fStop", "f_stop", True), ("tStop", "t_stop", True),
                 ("entrancePupilOffset", "entrance_pupil_m", False))
_RAW_COLUMNS = (("focus", "focus_raw"), ("iris", "iris_raw"), ("zoom", "zoom_raw"))


def opentrackio_sources(take: TakeData, track: CameraTrack) -> tuple[int, ...]:
    """The take's OpenTrackIO sources that fed ``track``'s camera (their raw datagrams hold its samples)."""
    return tuple(index for index, source in take.sources.items()
                 if source.protocol == "opentrackio" and track.camera in source.cameras)


def payloads(take: TakeData, sources: tuple[int, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(raw entry number, decoded sample map) of every payload the sources' datagrams complete, in
    arrival order: the live source's road again, one reassembler per source."""
    if take.raw is None or not sources:
        return
    assemblers: dict[int, Reassembler] = {}
    for entry in take.raw.entries(sources):
        assembler = assemblers.get(entry.source)
        if assembler is None:
            numbering = take.sources[entry.source].settings.get("numbering", "per_datagram")
            assembler = assemblers[entry.source] = Reassembler(
                numbering="per_payload" if numbering == "per_payload" else "per_datagram")
        try:
            header, segment = parse_datagram(entry.data)
            payload = assembler.feed(header, segment, entry.arrival_ns)
            if payload is not None:
                yield entry.number, decode_payload(header.encoding, payload)
        except DecodeError:
            continue  # refused live too: no sample names it


def _lens_changes(track: CameraTrack, row: int, theirs: Mapping[str, Any]) -> dict[str, Any]:
    """What of the row's lens stagectl changed: the recorded value wherever it is not the tracker's
    (all of them where a lens file solved the row, with its distortion and projection offset)."""
    solved = track.solved is not None and bool(track.solved[row])
    ours: dict[str, Any] = {}
    for key, column, positive in _LENS_COLUMNS:
        value = float(getattr(track, column)[row])
        if value == math.inf and key == "focusDistance" and solved:
            ours[key] = REMOVED  # solved to infinity: OpenTrackIO has no value for it
        elif math.isfinite(value) and (value > 0 or not positive) and theirs.get(key) != value:
            ours[key] = value
    sent = theirs.get("rawEncoders")
    counts: Mapping[str, Any] = sent if isinstance(sent, Mapping) else {}
    raw = {key: int(value) for key, column in _RAW_COLUMNS
           if math.isfinite(value := float(getattr(track, column)[row])) and counts.get(key) != int(value)}
    if raw:
        ours["rawEncoders"] = raw
    focal = float(track.focal_length_mm[row])
    brown = track.distortion[row]
    if solved and np.isfinite(brown).all() and focal > 0:
        entry = brown_conrady_to_opentrackio(tuple(float(v) for v in brown), focal)
        ours["distortion"] = [{"radial": list(entry.radial), "tangential": list(entry.tangential),
                               "model": entry.model}]
        ours["distortionOffset"] = REMOVED
    return ours


class ReplayedLines:
    """The JSON lines of one camera's rows that the raw capture gives back (see the module docstring)."""

    def __init__(self, take: TakeData, track: CameraTrack) -> None:
        self.take = take
        self.track = track
        self.film_back = track.film_back
        sources = opentrackio_sources(take, track)
        self._payloads = payloads(take, sources)
        self._pending: dict[int, dict[str, Any]] = {}
        self._reached = -1
        self._label: tuple[int, str] = (-1, "")
        self.rows = np.zeros(len(track), dtype=np.bool_)
        if track.raw_index is not None and track.source_index is not None and sources:
            self.rows = (track.raw_index >= 0) & np.isin(track.source_index, sources)
        first_static = next((static for _ns, static in track.statics), None)
        self._first_static: Mapping[str, Any] = first_static or {}

    def _payload(self, number: int) -> dict[str, Any] | None:
        """The payload completed by raw entry ``number`` (entries are read once, in order)."""
        while self._reached < number:
            found = next(self._payloads, None)
            if found is None:
                self._reached = 1 << 62
                break
            self._reached = found[0]
            self._pending[found[0]] = found[1]
        return self._pending.pop(number, None)

    def line(self, row: int) -> bytes | None:
        """Row ``row``'s line, or None when the raw capture does not give its payload."""
        track, info = self.track, self.take.info
        assert track.raw_index is not None
        payload = self._payload(int(track.raw_index[row]))
        if payload is None:
            return None
        for stale in [n for n in self._pending if n < int(track.raw_index[row])]:
            del self._pending[stale]  # completed payloads no recorded sample names (late, refused)
        changed: dict[str, Any] = {}
        out = dict(payload)
        theirs = payload.get("lens")
        ours = _lens_changes(track, row, theirs if isinstance(theirs, Mapping) else {})
        if ours:
            out["lens"] = overlay(theirs if isinstance(theirs, Mapping) else {}, ours, "lens", changed)
        frame = int(track.frame[row])
        if frame != self._label[0]:  # several samples a frame: the label is worked out once
            self._label = (frame, str(Timecode.from_frames(frame, info.rate, info.drop_frame)))
        notes: dict[str, Any] = {"takeFrame": frame, "takeTimecode": self._label[1]}
        static = payload.get("static")
        if row == 0 or isinstance(static, Mapping):
            base = static if isinstance(static, Mapping) else self._first_static
            film = self.film_back
            out["static"] = camera_static(
                base, changed, label=track.camera, lens_static=track.lens_static,
                sensor_mm=None if film is None else (film.width_mm, film.height_mm),
                tracker_make=track.tracker_make)
            if row == 0:
                fill: dict[str, Any] = {"camera": {"captureFrameRate": _rational(info.rate.rate)}}
                if info.duration_frames:
                    fill["duration"] = _rational(Fraction(info.duration_frames) / info.rate.rate)
                out["static"] = overlay(out["static"], fill, "static", changed, fill_only=True)
                notes.update(take=info.name, slate=info.slate.label)
        try:
            line = _dumps(with_notes(out, changed, notes))
        except (TypeError, ValueError):  # NaN or bytes in the tracker's own data (CBOR): as JSON
            safe = jsonable(out, "", changed)
            line = _dumps(with_notes(safe, changed, notes))
        return line.encode() + b"\n"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _rational(value: Fraction) -> dict[str, int]:
    return {"num": value.numerator, "denom": value.denominator}
