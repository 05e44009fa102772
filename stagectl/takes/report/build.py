"""The daily report from a take store: which takes a day holds, and what the report says of each.

Any store that lists and reads takes will do (:class:`TakeReader`): a stage's own
:class:`stagectl.takes.store.TakeStore`, or the facility store (:class:`FacilityReader`), which holds
the takes of every stage and selects a stage and a day itself. A day is chosen as ``stagectl takes
list --day`` chooses it: a stage's own takes by their start in this machine's local time, the facility's
by the stage's local day it recorded with each take.

Takes are read one at a time and dropped once their lines are built, so a day of hundreds of takes
never sits in memory at once; raw datagrams are never read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import numpy as np

from stagectl.takes.model import CameraTrack, TakeData, TakeInfo
from stagectl.takes.report.model import CameraLine, DayReport, NoteLine, TakeLine

__all__ = ["FacilityReader", "TakeReader", "day_report", "take_line"]


class TakeReader(Protocol):
    """What the report reads of a store: its takes and each take in full."""

    def takes(self) -> list[TakeInfo]:
        """Every take of the store."""
        ...

    def read(self, take_id: int) -> TakeData:
        """One take: info, camera tracks, log."""
        ...


@runtime_checkable
class FacilityReader(TakeReader, Protocol):
    """A store of several stages' takes (the facility store): it selects by stage and day itself."""

    def takes(self, *, stage: str | None = None, day: date | None = None) -> list[TakeInfo]:
        """The takes of ``stage`` (None: every stage) recorded on ``day`` (the stage's local day)."""
        ...

    def stages(self) -> dict[int, str]:
        """The stage of every take, by take id."""
        ...


def day_report(reader: TakeReader, day: date, *, stage: str | None = None, title: str = "") -> DayReport:
    """The report of the takes started on ``day``.

    ``stage``: with a facility store, only that stage's takes (None: every stage's, each take naming
    its stage); with a stage's own store (which holds that one stage's takes) the name the report gives
    the stage. ``title``: the heading, by default the productions named on the day's slates.
    A store that cannot be read raises its own error (``TakeStoreError``, ``FacilityError``).
    """
    stages: dict[int, str] = {}
    if isinstance(reader, FacilityReader):
        infos = reader.takes(stage=stage, day=day)
        stages = {i.take_id: stage for i in infos} if stage is not None else reader.stages()
    else:
        infos = [i for i in reader.takes() if started_on(i, day)]
    infos.sort(key=lambda i: (i.started_unix_s, i.take_id))
    lines = tuple(take_line(reader.read(i.take_id), stages.get(i.take_id)) for i in infos)
    productions = tuple(dict.fromkeys(t.production for t in lines if t.production))
    if stage is None:
        stage = ", ".join(dict.fromkeys(t.stage for t in lines if t.stage))
    return DayReport(day=day, stage=stage, title=title or " / ".join(productions) or "Daily report",
                     productions=productions, takes=lines)


def started_on(info: TakeInfo, day: date) -> bool:
    """Whether the take started on ``day`` in this machine's local time (as ``takes list --day``)."""
    return datetime.fromtimestamp(info.started_unix_s).date() == day


def take_line(data: TakeData, stage: str | None = None) -> TakeLine:
    """What the report says of one take."""
    info, slate = data.info, data.info.slate
    cameras = [_camera_line(track, data.dropouts.get(name, 0)) for name, track in data.cameras.items()]
    cameras += [CameraLine(name, "", "", None, 0, 0) for name in slate.cameras if name not in data.cameras]
    looks = _looks(info.look_at_start, (str(e.data["look"]) for e in data.log if e.data.get("look")))
    notes = tuple(NoteLine(e.timecode, e.text, e.source) for e in data.log if e.kind == "note")
    return TakeLine(
        take_id=info.take_id, name=info.name, stage=stage, production=slate.production, scene=slate.scene,
        shot=slate.shot, take=slate.take, rate=info.rate, drop_frame=info.drop_frame, tc_in=info.tc_in,
        tc_out=info.tc_out, duration_frames=info.duration_frames, started_unix_s=info.started_unix_s,
        state=info.state, circled=info.circled, no_good=info.no_good, cameras=tuple(cameras), looks=looks,
        notes=notes, take_notes=info.notes, slate_notes=slate.notes)


def _looks(at_start: str, during: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(look for look in (at_start, *during) if look))


def _camera_line(track: CameraTrack, dropouts: int) -> CameraLine:
    focal = track.focal_length_mm
    known = focal[np.isfinite(focal)]
    focal_mm = (float(known.min()), float(known.max())) if known.size else None
    lens = track.lens
    name = " ".join(p for p in (lens.make, lens.model) if p) if lens is not None else ""
    return CameraLine(track.camera, name, lens.lens_file if lens is not None else "", focal_mm, len(track),
                      int(dropouts))
