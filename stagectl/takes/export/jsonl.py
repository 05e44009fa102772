"""OpenTrackIO JSON lines export: every recorded sample as one OpenTrackIO sample per line.

One ``<take>_<camera>.jsonl`` per camera with samples; UTF-8, ``\n`` after every line, each line
one JSON object valid against the OpenTrackIO 1.0 schema (``tests/data/opentrackio/schema.json``),
oldest sample first.

A sample that came from an OpenTrackIO tracker is written from the take's raw capture: the map the
tracker sent, every field as it sent it (its timecode, PTP timestamps, static blocks, transform chain,
every distortion entry, ``custom``...), with what stagectl changed laid over it visibly
(:mod:`stagectl.takes.export.jsonl_replay`).

Every other sample (FreeD, or a take recorded before raw capture) is written from the recorded
columns. OpenTrackIO's frame is stagectl's internal one (metres, degrees, Z up, Y forward, X right,
pan positive left), so poses are written unchanged. Every such line: ``protocol``, ``sourceId`` (a
``urn:uuid:`` derived from the take and camera names: the same on every export), ``sourceNumber``
(the camera's place in the take, from 1), ``sampleId`` (``urn:uuid:`` of the source's name-derived
prefix and the sample's index: unique and stable), ``timing.timecode`` (the sample's own timecode
as recorded: the stage clock's at arrival, with its rate and drop-frame flag), ``timing.sampleRate``
(the median sample interval snapped to a standard rate, when there are two samples or more),
``timing.sampleTimestamp`` (when recorded), ``timing.sequenceNumber`` (the tracker's, modulo
2**32, left out when it sent none), ``transforms`` (one entry, id ``Camera``; left out where the
pose is not finite) and ``lens`` with what is known: ``pinholeFocalLength`` (mm),
``focusDistance`` (m), ``fStop``, ``tStop``, ``entrancePupilOffset`` (m), ``rawEncoders``,
``distortion`` (OpenCV k1..p2 as OpenTrackIO ``"Brown-Conrady U-D"``,
lens.interchange.brown_conrady_to_opentrackio's conversion) and ``projectionOffset`` (mm, from
the principal point and the lens file's sensor, as lens.solve.projection_offset_mm). The first line
also carries ``static`` (camera label, capture rate, take duration, the camera's one film back,
the lens file's identity, a FreeD preset's vendor; stagectl.core.opentrackio.merge.camera_static, the
same block the live output sends) and ``tracker`` (the slate label, recording). Numbers: metres,
degrees and millimetres to 1e-6 of the unit, distortion to 10 significant digits.

Speed: the constant parts are built once with the repo's builders, the numbers are written a
column at a time (``csv_export``'s formatters) and optional keys are switched per row by masks,
so no per-sample Python objects are made (distortion and projection offsets are converted by
vectorised copies of the lens package's formulas; the tests hold them equal). Replayed lines cost a
decode and an encode each.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stagectl.core.opentrackio.build import PROTOCOL_NAME, PROTOCOL_VERSION, build_sample
from stagectl.core.opentrackio.distortion import OPENTRACKIO_MODEL
from stagectl.core.opentrackio.model import OpenTrackIOSample, rational_json
from stagectl.core.opentrackio.rates import snap_rate
from stagectl.takes.export.camera_fields import SourceTimecodes, first_static
from stagectl.takes.export.jsonl_replay import ReplayedLines, first_static_block
from stagectl.takes.export.text_columns import (
    Progress,
    ProgressReport,
    Text,
    camera_path,
    chunk_bounds,
    fixed,
    hexadecimal,
    integers,
    join_rows,
    literal,
    scientific,
    write_atomically,
)
from stagectl.takes.model import CameraTrack, LensInfo, TakeData

Mask = npt.NDArray[np.bool_]
Field = tuple[str, list[Text], Mask]
DECIMALS = 6  # metres, degrees, millimetres: to 1e-6 of the unit
DISTORTION_DIGITS = 10
_U32 = 2**32


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _members(fields: list[Field], n: int) -> tuple[list[Text], Mask]:
    """The ``"key":value`` members of a JSON object whose members are each present on some rows,
    commas between the present ones; and the rows where any is present."""
    pieces: list[Text] = []
    before = np.zeros(n, dtype=np.bool_)
    for key, value, present in fields:
        pieces += [literal(",", n, present & before), literal(f"{_json(key)}:", n, present)]
        pieces += [piece.only(present) for piece in value]
        before = before | present
    return pieces, before


def _object(fields: list[Field], n: int) -> tuple[list[Text], Mask]:
    """``{...}`` of :func:`_members`, shown on the rows where any member is present."""
    members, present = _members(fields, n)
    return [literal("{", n, present), *members, literal("}", n, present)], present


def _positive(values: npt.NDArray[np.float64]) -> Mask:
    return np.isfinite(values) & (values > 0.0)


def _rows_finite(values: npt.NDArray[np.float64]) -> Mask:
    return np.asarray(np.isfinite(values).all(axis=1), dtype=np.bool_)


def _sample_rate(track: CameraTrack) -> Fraction | None:
    """The camera's sample rate from its median arrival interval, snapped to a standard rate."""
    if len(track) < 2:
        return None
    step = float(np.median(np.diff(track.arrival_ns)))
    return snap_rate(1e9 / step) if step > 0 else None


def opentrackio_distortion(distortion: npt.NDArray[np.float64], focal_length_mm: npt.NDArray[np.float64]
                           ) -> npt.NDArray[np.float64]:
    """(N, 5) OpenCV (k1, k2, k3, p1, p2) at N focal lengths -> (N, 8) OpenTrackIO ``"Brown-Conrady U-D"``
    radial l1..l6 and tangential q1, q2: lens.interchange.brown_conrady_to_opentrackio for N samples
    at once (l1 = k1/F^2, l3 = k2/F^4, l5 = k3/F^6, l2 = l4 = l6 = 0, q = p/F^2). Rows without
    finite coefficients or a focal length > 0 are NaN."""
    focal = np.where(_positive(focal_length_mm), focal_length_mm, np.nan)
    f2 = focal * focal
    k1, k2, k3, p1, p2 = distortion.T
    zero = 0.0 * f2  # NaN where the focal length is unusable, like the rest of the row
    return np.stack([k1 / f2, zero, k2 / f2**2, zero, k3 / f2**3, zero, p1 / f2, p2 / f2], axis=1)


def projection_offsets_mm(principal_point_px: npt.NDArray[np.float64], lens: LensInfo
                          ) -> npt.NDArray[np.float64]:
    """(N, 2) principal points in pixels of the lens file's image -> OpenTrackIO projection offsets in
    mm from the sensor centre, y down: lens.solve.projection_offset_mm for N samples at once."""
    size_px = np.array([lens.image_width_px, lens.image_height_px], dtype=np.float64)
    size_mm = np.array([lens.sensor_width_mm, lens.sensor_height_mm])
    offsets: npt.NDArray[np.float64] = (principal_point_px - size_px / 2.0) * (size_mm / size_px)
    return offsets


class _Camera:
    """What every line of one camera's file shares, and its lens values in OpenTrackIO form."""

    def __init__(self, take: TakeData, track: CameraTrack, number: int) -> None:
        info = take.info
        base = f"stagectl://takes/{info.name}/{track.camera}"
        self.prefix = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, base + '/samples')}"[:33]
        identity = OpenTrackIOSample(protocol_name=PROTOCOL_NAME, protocol_version=PROTOCOL_VERSION,
                                     source_id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, base)}",
                                     source_number=number)
        first = dataclasses.replace(identity, tracker_recording=True, tracker_slate=info.slate.label)
        self.first = first_static_block(take, track, first_static(track))
        self.head = _json(build_sample(identity))[1:-1]
        self.first_head = _json({"static": self.first.block, **build_sample(first)})[1:-1]
        rate = _sample_rate(track)
        self.timing_head = "" if rate is None else f'"sampleRate":{_json(rational_json(rate))},'
        self.timecodes = SourceTimecodes(track, info.rate, info.drop_frame)
        self.rate_texts = [f',"frameRate":{_json({"num": num, "denom": den})}'  # as sent, not reduced
                           for num, den in self.timecodes.rates]
        self.distortion = opentrackio_distortion(track.distortion, track.focal_length_mm)
        self.offset = (np.full((len(track), 2), np.nan) if track.lens is None
                       else projection_offsets_mm(track.principal_point_px, track.lens))


def _lens(camera: _Camera, track: CameraTrack, s: slice, n: int) -> list[Text]:
    """``,"lens":{...}`` with the members known on each row (nothing on rows that know none)."""
    fields: list[Field] = []
    for key, values, positive in (("pinholeFocalLength", track.focal_length_mm[s], True),
                                  ("focusDistance", track.focus_distance_m[s], True),
                                  ("fStop", track.f_stop[s], True), ("tStop", track.t_stop[s], True),
                                  ("entrancePupilOffset", track.entrance_pupil_m[s], False)):
        known = _positive(values) if positive else np.isfinite(values)
        fields.append((key, [fixed(values, DECIMALS)], known))
    encoders: list[Field] = []
    for key, counts in (("focus", track.focus_raw[s]), ("iris", track.iris_raw[s]),
                        ("zoom", track.zoom_raw[s])):
        valid = np.isfinite(counts) & (counts >= 0) & (counts < _U32)
        encoders.append((key, [integers(np.rint(np.where(valid, counts, 0.0)))], valid))
    fields.append(("rawEncoders", *_object(encoders, n)))
    distortion = camera.distortion[s]
    comma = literal(",", n)
    entry: list[Text] = [literal('[{"radial":[', n)]
    for i in range(8):
        entry += [literal('],"tangential":[', n) if i == 6 else comma] if i else []
        entry.append(scientific(distortion[:, i], DISTORTION_DIGITS))
    entry.append(literal(f'],"model":{_json(OPENTRACKIO_MODEL)}}}]', n))
    fields.append(("distortion", entry, _rows_finite(distortion)))
    offset = camera.offset[s]
    xy = [literal('{"x":', n), fixed(offset[:, 0], DECIMALS), literal(',"y":', n),
          fixed(offset[:, 1], DECIMALS), literal("}", n)]
    fields.append(("projectionOffset", xy, _rows_finite(offset)))
    members, any_lens = _object(fields, n)
    return [literal(',"lens":', n, any_lens), *members]


def _lines(track: CameraTrack, camera: _Camera, start: int, stop: int) -> bytes:
    """The column-written lines of rows ``start..stop``."""
    s, n = slice(start, stop), stop - start
    first = np.arange(start, stop) == 0
    timecodes = camera.timecodes
    hours, minutes, seconds, frames = timecodes.fields[s].T
    sequence = track.sequence[s]
    pose = np.concatenate([track.translation_m[s], track.rotation_deg[s]], axis=1)
    posed = np.isfinite(pose).all(axis=1)
    line: list[Text] = [
        literal("{" + camera.first_head, n, first), literal("{" + camera.head, n, ~first),
        literal(f',"sampleId":"{camera.prefix}', n), hexadecimal(np.arange(start, stop), 12),
        literal(f'","timing":{{{camera.timing_head}"timecode":{{"hours":', n), integers(hours),
        literal(',"minutes":', n), integers(minutes), literal(',"seconds":', n), integers(seconds),
        literal(',"frames":', n), integers(frames), timecodes.rate_texts(s, camera.rate_texts),
        literal(',"dropFrame":true', n, timecodes.drops[s])]
    sub = track.sub_frame[s] if track.sub_frame is not None else np.full(n, -1)
    line += [literal(',"subFrame":', n, sub >= 0), integers(sub, sub >= 0), literal("}", n)]
    if track.sample_timestamp is not None:
        stamp = track.sample_timestamp[s]
        sent = stamp[:, 0] >= 0
        line += [literal(',"sampleTimestamp":{"seconds":', n, sent), integers(stamp[:, 0], sent),
                 literal(',"nanoseconds":', n, sent), integers(stamp[:, 1], sent), literal("}", n, sent)]
    line += [literal(',"sequenceNumber":', n, sequence >= 0), integers(sequence % _U32, sequence >= 0),
             literal("}", n)]
    names = ('"translation":{"x":', ',"y":', ',"z":', '},"rotation":{"pan":', ',"tilt":', ',"roll":')
    line.append(literal(',"transforms":[{', n, posed))
    for i, name in enumerate(names):
        line += [literal(name, n, posed), fixed(pose[:, i], DECIMALS).only(posed)]
    line.append(literal('},"id":"Camera"}]', n, posed))
    line += _lens(camera, track, s, n)
    line.append(literal("}\n", n))
    return join_rows(line)


def _mixed(track: CameraTrack, camera: _Camera, replay: ReplayedLines, start: int, stop: int) -> bytes:
    """Rows ``start..stop``: replayed lines where the raw capture gives them, column lines elsewhere."""
    lines: list[bytes] = []
    columns: list[bytes] | None = None
    for row in range(start, stop):
        line = replay.line(row) if replay.rows[row] else None
        if line is None:
            if columns is None:
                columns = _lines(track, camera, start, stop).split(b"\n")
            line = columns[row - start] + b"\n"
        lines.append(line)
    return b"".join(lines)


def export_jsonl(take: TakeData, out_dir: Path, *, progress: Progress | None = None) -> list[Path]:
    """Write ``<take>_<camera>.jsonl`` for each camera with samples (see the module docstring)."""
    numbered = [(number, t) for number, t in enumerate(take.cameras.values(), start=1) if len(t)]
    report = ProgressReport(progress, sum(len(t) for _, t in numbered))

    def chunks(track: CameraTrack, camera: _Camera) -> Iterator[bytes]:
        replay = ReplayedLines(take, track, camera.first)
        try:
            for start, stop in chunk_bounds(len(track)):
                rows = replay.rows[start:stop]
                if not rows.any():
                    yield _lines(track, camera, start, stop)
                else:
                    yield _mixed(track, camera, replay, start, stop)
                report.add(stop - start)
        finally:
            replay.close()

    written: list[Path] = []
    for number, track in numbered:
        path = camera_path(take, track.camera, out_dir, "jsonl")
        written.append(write_atomically(path, chunks(track, _Camera(take, track, number))))
    report.finish()
    return written
