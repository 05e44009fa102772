"""What a recorded take is, as the exporters and the take browser read it.

A take is read out of the take store (``stagectl/takes/store.py``) into a :class:`TakeData`:
its :class:`TakeInfo` (slate, frame rate, timecode range, state, flags), one :class:`CameraTrack`
per camera with every recorded sample as numpy columns, the look live when the take started
(its CDL per zone) and the log of cues, looks, device changes and notes.

Units and axes are stagectl's internal ones (``stagectl/core/coords.py``): metres, degrees, Z up,
Y forward, X right, rotation (pan, tilt, roll) intrinsic ZXY. A lens value nobody knew is NaN,
never 0. Exporters convert to their format's axes through ``stagectl/core/coords.py`` only.

Frames: each sample carries ``frame``, the frame count of its timecode at the take's rate and
drop-frame mode (a tracker's timecode at another rate counted there by its clock face, never through
seconds: ``Timecode.rebase``). The store unwraps it around the take's start, so a take across
midnight keeps counting (00:00:00:01 after 23:59:59:23 at 24 is 2073601): frames only grow, and
labels are taken modulo a day. Per-frame formats (USD, .chan, OTIO ranges) take one sample per frame:
the first sample whose timecode is that frame (:meth:`CameraTrack.per_frame`), the one nearest the
frame's start edge. Frames with no sample (a dropout) are left out, not invented.

Each sample also keeps its own timecode exactly as the tracker sent it (``timecode``: hours,
minutes, seconds, frames; ``timecode_rate``; ``timecode_drop``; ``sub_frame``), or the stage clock's
at arrival, and the take keeps every datagram its sources received (:class:`TakeData.raw`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from stagectl.core.colour import Cdl
from stagectl.core.samples import FilmBack
from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h
from stagectl.core.timecode.label import TimecodeLabel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
TakeState = Literal["recording", "complete", "recovered"]
LOG_KINDS = ("cue", "look", "device", "note", "take", "dropout", "event")
"""What a :class:`LogEntry` can be: a cue fired, a look applied, a device state change, an operator
note, a take event (record, stop), a camera's stream dropping out or coming back, any other stage
event (errors, warnings)."""


@dataclass(frozen=True, slots=True)
class Slate:
    """The slate of a take. ``take`` auto-increments per (production, scene, shot)."""

    production: str = ""
    scene: str = ""
    shot: str = ""
    take: int = 1
    cameras: tuple[str, ...] = ()
    notes: str = ""

    @property
    def label(self) -> str:
        """``scene-shot-T003`` style label (parts left out when empty), for file names and lists."""
        parts = [p for p in (self.scene, self.shot) if p]
        return "-".join([*parts, f"T{self.take:03d}"])


@dataclass(frozen=True, slots=True)
class TakeInfo:
    """One take's identity and summary.

    Attributes:
        take_id: the store's id (1, 2, ...), what ``stagectl takes show`` and ``export`` take.
        name: unique, file-name safe (``scene-shot-T003``, with ``-2`` appended on a clash).
        slate: the slate when recording started (notes may be edited later).
        rate / drop_frame: the take's frame rate and timecode mode.
        tc_in / tc_out: first and last frame's timecode (None when no sample and no clock reading).
        started_unix_s / stopped_unix_s: wall-clock start and stop (stop None while recording
            or when the take was recovered after a crash).
        state: ``recording``, ``complete`` or ``recovered`` (interrupted, rebuilt from the journal).
        circled / no_good: the script supervisor's flags.
        notes: the take's notes (editable after the take).
        look_at_start: name of the look live when the take started ("" when none).
        file_stem: the name every exported file takes (``<file_stem>.<ext>``) instead of
            ``<name>_<camera>``; for a take of one camera only ("": the usual names).
    """

    take_id: int
    name: str
    slate: Slate
    rate: FrameRate
    drop_frame: bool
    tc_in: Timecode | None
    tc_out: Timecode | None
    started_unix_s: float
    stopped_unix_s: float | None
    state: TakeState
    circled: bool = False
    no_good: bool = False
    notes: str = ""
    look_at_start: str = ""
    file_stem: str = ""

    @property
    def duration_frames(self) -> int:
        """Frames from tc_in to tc_out inclusive, across midnight too (0 when either is missing)."""
        if self.tc_in is None or self.tc_out is None:
            return 0
        return (self.tc_out.frames - self.tc_in.frames) % frames_per_24h(self.rate, self.drop_frame) + 1


@dataclass(frozen=True, slots=True)
class LensInfo:
    """The lens file a camera was solved with, and the film back it describes (None: unsolved)."""

    lens_file: str
    make: str
    model: str
    serial: str
    sensor_width_mm: float
    sensor_height_mm: float
    image_width_px: int
    image_height_px: int


@dataclass(slots=True)
class CameraTrack:
    """Every recorded sample of one camera, oldest first, as columns of equal length N.

    Raw columns are what the tracker sent; lens columns are the solved values where the camera
    was solved (else what the tracker sent, else NaN).

    Attributes:
        camera: the stage camera's name.
        source: the tracking source of the first sample ("" when none).
        arrival_ns: ``time.monotonic_ns()`` at arrival (int64).
        frame: absolute timecode frame of each sample at the take's rate (int64).
        tracker_timecode: True per sample when the timecode came from the tracker, False when
            from the stage clock at arrival.
        sequence: the tracker's sequence number, -1 when it sent none (int64).
        translation_m: (N, 3) X right, Y forward, Z up, metres.
        rotation_deg: (N, 3) pan, tilt, roll, degrees (intrinsic ZXY).
        zoom_raw / focus_raw / iris_raw: raw encoder counts, NaN when not sent.
        focal_length_mm, focus_distance_m, f_stop, t_stop, entrance_pupil_m: lens values, NaN unknown.
        distortion: (N, 5) k1, k2, k3, p1, p2 (OpenCV normalisation and direction), NaN unknown.
        principal_point_px: (N, 2) cx, cy in pixels of the lens file's image, NaN unknown.
        lens: the lens file and film back (None when the camera was not solved).
        film_back: the camera's one sensor size for every export (lens file, else the tracker's
            static block, else the stage file; None: unknown).
        The rest are None for takes made without them (hand-made in tests; stagectl 0.1 takes have
        all but ``raw_index``, ``device_id`` and ``spare``):
        raw_index: the take's raw datagram that completed each sample, -1 none (int64).
        sample_timestamp: (N, 2) the tracker's ``sampleTimestamp`` as sent, seconds and
            nanoseconds, -1 when not sent.
        device_id: FreeD camera id / OpenTrackIO sourceNumber, -1 none. spare: FreeD spare bits, -1 none.
        timecode: (N, 4) each sample's own timecode label (hours, minutes, seconds, frames) as the
            tracker sent it, or the stage clock's; ``timecode_rate`` (N, 2) its rate (num, den);
            ``timecode_drop`` its drop-frame flag as sent; ``sub_frame`` -1 when not sent.
        source_index: the take source (:attr:`TakeData.sources`) each sample came from
            (``records.NO_SOURCE``: none known).
        solved: True where the lens values came from a lens file.
        statics: the tracker's ``static`` blocks received during the take: (arrival_ns, map as sent).
        lens_static: the lens file's part of the static block stagectl sent (None: unsolved).
        tracker_make: the tracker vendor a FreeD preset names (None: unknown or not FreeD).
        delay_ms: the camera's delay line when the take started, as recorded (None: the take has no
            record of it).
    """

    camera: str
    source: str
    arrival_ns: IntArray
    frame: IntArray
    tracker_timecode: npt.NDArray[np.bool_]
    sequence: IntArray
    translation_m: FloatArray
    rotation_deg: FloatArray
    zoom_raw: FloatArray
    focus_raw: FloatArray
    iris_raw: FloatArray
    focal_length_mm: FloatArray
    focus_distance_m: FloatArray
    f_stop: FloatArray
    t_stop: FloatArray
    entrance_pupil_m: FloatArray
    distortion: FloatArray
    principal_point_px: FloatArray
    lens: LensInfo | None = None
    film_back: FilmBack | None = None
    raw_index: IntArray | None = None
    sample_timestamp: IntArray | None = None
    device_id: IntArray | None = None
    spare: IntArray | None = None
    timecode: IntArray | None = None
    timecode_rate: IntArray | None = None
    timecode_drop: BoolArray | None = None
    sub_frame: IntArray | None = None
    source_index: IntArray | None = None
    solved: BoolArray | None = None
    statics: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    lens_static: Mapping[str, Any] | None = None
    tracker_make: str | None = None
    delay_ms: float | None = None

    def label(self, i: int, rate: FrameRate, drop_frame: bool) -> TimecodeLabel:
        """Sample ``i``'s own timecode as sent (without recorded labels: the take's label of its frame)."""
        if self.timecode is None or self.timecode_rate is None:
            return TimecodeLabel.of(Timecode.from_frames(int(self.frame[i]), rate, drop_frame))
        h, m, s, f = (int(v) for v in self.timecode[i])
        num, den = (int(v) for v in self.timecode_rate[i])
        sub = int(self.sub_frame[i]) if self.sub_frame is not None and self.sub_frame[i] >= 0 else None
        drop = bool(self.timecode_drop[i]) if self.timecode_drop is not None else drop_frame
        return TimecodeLabel(h, m, s, f, FrameRate(Fraction(num, den)), drop, sub)

    def __len__(self) -> int:
        return int(self.arrival_ns.shape[0])

    def per_frame(self) -> IntArray:
        """Indices of one sample per frame: the first sample whose timecode is each frame, in
        frame order (frames without samples are absent). The recorder keeps samples in arrival
        order; a tracker timecode that steps backwards keeps its first occurrence."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        _, first = np.unique(self.frame, return_index=True)
        return first.astype(np.int64)

    @classmethod
    def empty(cls, camera: str) -> CameraTrack:
        """A track with no samples."""
        def f(*shape: int) -> FloatArray:
            return np.full((0, *shape), np.nan)

        i = np.zeros(0, dtype=np.int64)
        return cls(camera, "", i, i.copy(), np.zeros(0, dtype=np.bool_), i.copy(), f(3), f(3), f(), f(), f(),
                   f(), f(), f(), f(), f(), f(5), f(2))


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One thing that happened during the take, in arrival order.

    ``kind`` is one of :data:`LOG_KINDS`; ``source`` says who (a cue list, device or camera name,
    ``operator``); ``text`` is for people; ``data`` holds the machine-readable detail (cue number,
    look name, feature and value) as JSON-compatible values.
    """

    arrival_ns: int
    timecode: Timecode | None
    kind: str
    source: str
    text: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TakeSource:
    """A tracking source of a take: what its raw datagrams are and how to decode them again.

    ``settings`` holds what decoding needs (``protocol``: freed, freed-serial, opentrackio or
    lens-serial, and e.g. the FreeD preset and camera id); ``cameras`` the cameras it fed (a FreeD
    port shared by camera id feeds several).
    """

    index: int
    name: str
    protocol: str
    cameras: tuple[str, ...]
    settings: Mapping[str, Any]


class RawEntry(NamedTuple):
    """One datagram (or serial read) of a take's raw capture, as it arrived."""

    arrival_ns: int
    """``time.monotonic_ns()`` at arrival (the clock the samples' ``arrival_ns`` use)."""
    wall_ns: int
    """The wall clock at arrival (ns since the Unix epoch)."""
    number: int
    """The entry's place in the take's raw capture (0, 1, ...: the order the datagrams arrived)."""
    source: int
    """The take source index (:attr:`TakeData.sources`)."""
    flags: int
    """``records.RAW_PREROLL`` for a datagram that arrived just before RECORD."""
    peer: str
    """The sender: ``host:port``, ``[v6]:port`` or a serial port's name."""
    data: bytes
    """The bytes exactly as they arrived."""


class RawAccess(Protocol):
    """The take's raw datagrams, read on demand (a take's raw capture can be gigabytes)."""

    def entries(self, sources: tuple[int, ...] | None = None) -> Iterator[RawEntry]:
        """Every raw entry of ``sources`` (None: all), in the order they arrived (a damaged capture:
        ``raw.RawCaptureError`` for the store's implementation)."""
        ...


@dataclass(slots=True)
class TakeData:
    """A whole take as read from the store: what every exporter consumes."""

    info: TakeInfo
    cameras: dict[str, CameraTrack]
    cdl_at_start: dict[str, Cdl]
    """The CDL of each zone of the look live when the take started (zone name -> CDL); empty when
    no look held a CDL."""
    log: list[LogEntry]
    dropouts: dict[str, int] = field(default_factory=dict)
    """Per camera: samples the tracker numbered but that never arrived (sequence gaps) during the take."""
    sources: dict[int, TakeSource] = field(default_factory=dict)
    """The take's tracking sources by index (empty for takes made without raw capture)."""
    raw: RawAccess | None = None
    """Every datagram the sources received during the take, as it arrived (None: not captured)."""

    def primary_cdl(self) -> tuple[str, Cdl] | None:
        """The one CDL that stands for the take (ALE, OTIO clips, ``.cc``): the ``frustum`` zone's
        (the in-camera grade Unreal applies), else ``wall``'s, else the first zone's by name."""
        for zone in ("frustum", "wall"):
            if zone in self.cdl_at_start:
                return zone, self.cdl_at_start[zone]
        if not self.cdl_at_start:
            return None
        zone = sorted(self.cdl_at_start)[0]
        return zone, self.cdl_at_start[zone]
