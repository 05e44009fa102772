"""OpenTrackIO JSON lines from the take's raw capture: every field the tracker sent, as it sent it.

For a camera fed by an OpenTrackIO tracker, each recorded sample names the raw datagram that
completed it (``raw_index``). The export plays the take's raw datagrams of that camera's sources
through today's decoder again (header and checksum, reassembly, JSON or CBOR), finds each sample's
payload and writes it as the line, with what stagectl changed laid over it the way the live output
does (stagectl.core.opentrackio.merge): the lens values stagectl solved (a lens file) or measured (a lens
encoder on its own wire) where they differ from the tracker's, the film back and lens identity in
``static``; the tracker's values kept in ``custom.stagectl.changed``. Every line also says where it
sits in the take: ``custom.stagectl.takeFrame`` (the frame USD and .chan use) and ``takeTimecode``.
The first line carries a static block (the tracker's first one in the take, else stagectl's) and
the take's name and slate in ``custom.stagectl``.

Rows whose payload cannot be found (a take without raw capture, a datagram today's decoder
refuses, raw capture that is damaged from some batch on) are left to the column writer: they still
get a line, built from the recorded columns. Damaged raw capture is also reported as a warning log
record (logger ``stagectl.takes.export``) naming the take, camera and rows, since those lines lack
what only the tracker's own map held.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Generator, Mapping
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.datagram import parse_datagram
from stagectl.core.opentrackio.distortion import brown_conrady_to_opentrackio
from stagectl.core.opentrackio.merge import REMOVED, camera_static, encode_json, overlay
from stagectl.core.opentrackio.model import OpenTrackIOStatic
from stagectl.core.opentrackio.payload import decode_payload
from stagectl.core.opentrackio.reassembly import Reassembler
from stagectl.core.opentrackio.static import build_static
from stagectl.core.timecode import Timecode
from stagectl.takes.model import CameraTrack, TakeData
from stagectl.takes.store_schema import TakeStoreError

log = logging.getLogger("stagectl.takes")

RAW_DAMAGE: tuple[type[Exception], ...] = (TakeStoreError,)
"""What reading a take's raw capture raises when the store or a stored batch is damaged
(``StoreRawAccess.entries``: a :class:`stagectl.takes.raw.RawCaptureError`, a TakeStoreError)."""

_LENS_COLUMNS = (("pinholeFocalLength", "focal_length_mm", True), ("focusDistance", "focus_distance_m", True),
                 ("fStop", "f_stop", True), ("tStop", "t_stop", True),
                 ("entrancePupilOffset", "entrance_pupil_m", False))
_RAW_COLUMNS = (("focus", "focus_raw"), ("iris", "iris_raw"), ("zoom", "zoom_raw"))


def opentrackio_sources(take: TakeData, track: CameraTrack) -> tuple[int, ...]:
    """The take's OpenTrackIO sources that fed ``track``'s camera (their raw datagrams hold its samples)."""
    return tuple(index for index, source in take.sources.items()
                 if source.protocol == "opentrackio" and track.camera in source.cameras)


def payloads(take: TakeData, sources: tuple[int, ...], damaged: Callable[[Exception, int], None] | None = None
             ) -> Generator[tuple[int, dict[str, Any]], None, None]:
    """(raw entry number, decoded sample map) of every payload the sources' datagrams complete, in
    arrival order: the live source's road again, one reassembler per source. Raw capture that cannot
    be read on (a damaged batch or store, :data:`RAW_DAMAGE`) ends the payloads there: ``damaged`` is
    handed the error and the number of the last entry read (-1: none). Closing it closes the reader."""
    if take.raw is None or not sources:
        return
    entries = take.raw.entries(sources)
    assemblers: dict[int, Reassembler] = {}
    last = -1
    try:
        while True:
            try:
                entry = next(entries, None)
            except RAW_DAMAGE as exc:
                if damaged is not None:
                    damaged(exc, last)
                return
            if entry is None:
                return
            last = entry.number
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
    finally:  # here, not in whichever thread collects the reader: its store connection is this thread's
        close = getattr(entries, "close", None)
        if close is not None:
            with contextlib.suppress(*RAW_DAMAGE):
                close()


class FirstStatic(NamedTuple):
    """A first line's static block and the tracker's values in it that stagectl replaced."""

    block: dict[str, Any]
    changed: dict[str, Any]


def camera_lens_static(track: CameraTrack) -> Mapping[str, Any] | None:
    """The lens file's part of the camera's static block: as recorded, else (a take recorded before the
    block was kept) built from the lens file's identity and sensor; None for an unsolved camera."""
    lens = track.lens
    if track.lens_static is not None or lens is None:
        return track.lens_static
    return build_static(OpenTrackIOStatic(
        sensor_width_mm=lens.sensor_width_mm, sensor_height_mm=lens.sensor_height_mm,
        sensor_width_px=lens.image_width_px, sensor_height_px=lens.image_height_px,
        lens_make=lens.make or None, lens_model=lens.model or None, lens_serial=lens.serial or None))


def first_static_block(take: TakeData, track: CameraTrack, base: Mapping[str, Any] | None) -> FirstStatic:
    """The first line's static block over the tracker's ``base`` block (None: none): the one the live
    output sends (the lens file's part, the film back, label and vendor), with the take's capture rate
    and duration where the tracker gave none."""
    info, film = take.info, track.film_back
    changed: dict[str, Any] = {}
    static = camera_static(base or {}, changed, label=track.camera, lens_static=camera_lens_static(track),
                           sensor_mm=None if film is None else (film.width_mm, film.height_mm),
                           tracker_make=track.tracker_make)
    fill = build_static(OpenTrackIOStatic(
        duration_s=Fraction(info.duration_frames) / info.rate.rate if info.duration_frames else None,
        capture_frame_rate=info.rate.rate))
    return FirstStatic(overlay(static, fill, "static", changed, fill_only=True), changed)


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
    """The JSON lines of one camera's rows that the raw capture gives back (see the module docstring).

    ``first`` is the camera's first-line static block over its tracker's first block (row 0 uses it
    when its own payload carries none). ``damage`` says why the raw capture stopped giving payloads
    early (None: it did not).
    """

    def __init__(self, take: TakeData, track: CameraTrack, first: FirstStatic) -> None:
        self.take = take
        self.track = track
        self.first = first
        self.damage: str | None = None
        self._lens_static = camera_lens_static(track)
        sources = opentrackio_sources(take, track)
        self._payloads = payloads(take, sources, self._damaged)
        self._pending: dict[int, dict[str, Any]] = {}
        self._reached = -1
        self._label: tuple[int, str] = (-1, "")
        self.rows = np.zeros(len(track), dtype=np.bool_)
        if track.raw_index is not None and track.source_index is not None and sources:
            self.rows = (track.raw_index >= 0) & np.isin(track.source_index, sources)

    def close(self) -> None:
        """Stop reading the raw capture (call it in the thread that read it, when the camera is done)."""
        self._payloads.close()

    def _damaged(self, exc: Exception, last: int) -> None:
        after = f"after raw entry {last}" if last >= 0 else "at all"
        self.damage = f"cannot be read {after} ({type(exc).__name__}: {exc})"

    def _payload(self, row: int, number: int) -> dict[str, Any] | None:
        """The payload completed by raw entry ``number`` (entries are read once, in order)."""
        while self._reached < number:
            found = next(self._payloads, None)
            if found is None:
                self._reached = 1 << 62
                if self.damage is not None:
                    self._warn(row)
                break
            self._reached = found[0]
            self._pending[found[0]] = found[1]
        return self._pending.pop(number, None)

    def _warn(self, row: int) -> None:
        left = int(np.count_nonzero(self.rows[row:]))
        log.warning("jsonl export of take %s, camera %s: the raw capture %s; its %d remaining OpenTrackIO "
                    "row(s) from row %d on are written from the recorded columns, without the fields only "
                    "the tracker's own map held (the recorded samples are intact; `stagectl takes raw` "
                    "shows how far the raw capture reads)", self.take.info.name, self.track.camera,
                    self.damage, left, row)

    def line(self, row: int) -> bytes | None:
        """Row ``row``'s line, or None when the raw capture does not give its payload."""
        track, info = self.track, self.take.info
        assert track.raw_index is not None
        number = int(track.raw_index[row])
        payload = self._payload(row, number)
        if payload is None:
            return None
        for stale in [n for n in self._pending if n < number]:
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
        if row == 0:
            own = isinstance(static, Mapping)  # its own block is the base, else the tracker's first
            first = first_static_block(self.take, track, static) if own else self.first
            out["static"] = first.block
            changed.update(first.changed)
            notes.update(take=info.name, slate=info.slate.label)
        elif isinstance(static, Mapping):
            film = track.film_back
            out["static"] = camera_static(
                static, changed, label=track.camera, lens_static=self._lens_static,
                sensor_mm=None if film is None else (film.width_mm, film.height_mm),
                tracker_make=track.tracker_make)
        return encode_json(out, changed, notes) + b"\n"  # NaN or bytes (CBOR) made JSON, noted in changed
