"""Conform as a job: read the clips (or the cut), match them to the takes, write the packages.

One place for what the ``stagectl conform`` commands and the window's Conform dialog both do, so they
show the same match table and write the same files:

1. :func:`read_request`: the SOURCE paths (media folders, an ALE, CSVs) into clips, or a cut into its
   events (:mod:`stagectl.takes.conform.sources`);
2. :func:`plan_conform`: each clip (each event's source range plus the handles) matched to the take(s)
   and camera that recorded it; nothing written (:func:`stagectl.takes.conform.run.plan`);
3. :func:`run_conform`: the packages, one folder per clip or event
   (:func:`stagectl.takes.conform.run.conform_clips` / ``conform_cut``), and for an ALE source the
   enriched ALE beside them, named after the input (``<name>_stagectl.ale``).

All of it is file work: it runs on a thread of its own (``StageCommands.conform_plan`` /
``StageCommands.conform``) or in the command line's process, never on the I/O loop or the GUI thread.
``progress(done, total, what)`` counts 0..100: the first tenth is reading and matching, the rest the
packages. ``cancel`` stops between packages (every file is written atomically).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stagectl.core.errors import StageError
from stagectl.core.timecode import FrameRate
from stagectl.takes.conform.match import ClipMatch, TakeOpener
from stagectl.takes.conform.model import Clip, ConformError, CutEvent
from stagectl.takes.conform.package import Package
from stagectl.takes.conform.run import ConformResult, conform_clips, conform_cut, plan, with_handles
from stagectl.takes.conform.sources import AleDocument, read_cut, read_sources, write_enriched_ale

__all__ = ["READ_SHARE", "ConformOutcome", "ConformPlan", "ConformRequest", "MatchRow", "Progress",
           "match_rows", "plan_conform", "read_request", "run_conform"]

#: ``progress(done, total, what)`` of a conform job.
Progress = Callable[[int, int, str], None]
#: Share of the bar spent reading the sources and matching.
READ_SHARE = 0.1
Status = Literal["ok", "warnings", "partial", "none", "refused"]


@dataclass(frozen=True, slots=True)
class ConformRequest:
    """What to conform: camera clips from ``sources``, or the events of ``cut``.

    Attributes:
        sources: media folders, ALEs, CSVs (clips); empty for a cut.
        cut: an EDL, OTIO or FCP XML (None: clips).
        handles: frames added before and after each event's source range (a cut only).
        camera_map: clip camera -> stage camera (``{"A": "A001"}``; None: by name, else the only one).
        cut_rate: an EDL's timecode rate (an EDL does not say it; None for OTIO / FCP XML).
        all_events: every picture event of the cut, even when the cut marks some as VFX (by default
            a cut that marks VFX events gets a package for those only: a VFX pull).
    """

    sources: tuple[Path, ...] = ()
    cut: Path | None = None
    handles: int = 0
    camera_map: Mapping[str, str] | None = None
    cut_rate: FrameRate | None = None
    all_events: bool = False

    @property
    def kind(self) -> Literal["clips", "cut"]:
        """``"cut"`` when a cut was given, else ``"clips"``."""
        return "cut" if self.cut is not None else "clips"


@dataclass(slots=True)
class ConformInput:
    """The request read: clips (each event's own source range for a cut), the events, the ALE to
    enrich (when a SOURCE was one) and what reading said."""

    clips: list[Clip] = field(default_factory=list)
    events: list[CutEvent] = field(default_factory=list)
    ale: AleDocument | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MatchRow:
    """One line of the match table, as the command line prints it and the dialog shows it."""

    name: str
    camera: str
    takes: str
    tc_in: str
    tc_out: str
    frames: int
    covered: int
    coverage_percent: float
    status: Status
    warnings: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The row as JSON values."""
        return {"name": self.name, "camera": self.camera or None,
                "takes": self.takes.split(", ") if self.takes else [], "tc_in": self.tc_in,
                "tc_out": self.tc_out, "frames": self.frames, "frames_covered": self.covered,
                "coverage_percent": round(self.coverage_percent, 2), "status": self.status,
                "warnings": list(self.warnings)}


@dataclass(slots=True)
class ConformPlan:
    """The match table before anything is written: one match per clip (or event), in input order."""

    request: ConformRequest
    read: ConformInput
    matches: list[ClipMatch]
    rows: list[MatchRow]

    @property
    def warnings(self) -> list[str]:
        """What reading the sources said, then each row's warnings naming its clip."""
        return [*self.read.warnings, *(f"{row.name}: {w}" for row in self.rows for w in row.warnings)]

    @property
    def matched(self) -> int:
        """Rows with at least one frame covered."""
        return sum(row.covered > 0 for row in self.rows)


@dataclass(slots=True)
class ConformOutcome:
    """What a conform run did: the packages' files (in order), the enriched ALE, every warning, whether
    it was cancelled, its error ("" when none)."""

    files: list[Path] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    rows: list[MatchRow] = field(default_factory=list)
    enriched_ale: Path | None = None
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    error: str = ""


def read_request(request: ConformRequest) -> ConformInput:
    """The clips (or the cut's events) of ``request``; ConformError naming the file and what to do."""
    if request.cut is not None:
        events = read_cut(request.cut, request.handles, rate=request.cut_rate)
        if not events:
            raise ConformError(f"{request.cut}: the cut has no picture events to conform")
        warnings = []
        vfx = [event for event in events if event.vfx]
        if vfx and not request.all_events and len(vfx) < len(events):
            warnings.append(f"{request.cut}: the cut marks {len(vfx)} of {len(events)} events VFX; only "
                            "those are conformed (every event: --all-events)")
            events = vfx
        return ConformInput(clips=[event.clip for event in events], events=events, warnings=warnings)
    sources = read_sources(list(request.sources))
    if not sources.clips:
        said = f" ({'; '.join(sources.warnings)})" if sources.warnings else ""
        raise ConformError(f"no clips in {', '.join(map(str, request.sources))}{said}; give a folder of "
                           "camera media, an ALE or a CSV of clips")
    return ConformInput(clips=list(sources.clips), ale=sources.ale, warnings=list(sources.warnings))


def _tc_out(clip: Clip) -> str:
    """The clip's last frame's timecode (inclusive, as editors read "TC out" in a table)."""
    return str(clip.timecode_of(clip.frames - 1))


def match_row(name: str, match: ClipMatch) -> MatchRow:
    """The table line of one match."""
    clip = match.clip
    warnings = [match.refused] if match.refused else list(match.warnings)
    if match.refused:
        status: Status = "refused"
    elif match.frames_covered == 0:
        status = "none"
    elif match.frames_covered < clip.frames:
        status = "partial"
    elif warnings:
        status = "warnings"
    else:
        status = "ok"
    return MatchRow(name, match.camera or "", ", ".join(match.take_names), str(clip.start), _tc_out(clip),
                    clip.frames, match.frames_covered, 100.0 * match.coverage, status, tuple(warnings))


def match_rows(names: Sequence[str], clips: Sequence[Clip], matches: Sequence[ClipMatch]) -> list[MatchRow]:
    """The table lines, one per match, named after their clip or event: ``names[i]`` names ``clips[i]``;
    ``matches`` are in the same order, some possibly left out (a cancelled run)."""
    rows, i = [], 0
    for match in matches:
        while i < len(clips) and clips[i] != match.clip:
            i += 1
        rows.append(match_row(names[i] if i < len(clips) else match.clip.name, match))
        i += 1
    return rows


def _package_clips(read: ConformInput, handles: int) -> tuple[list[str], list[Clip]]:
    """Package names and the clips matched: for a cut each event's range widened by the handles."""
    if not read.events:
        return [clip.name for clip in read.clips], list(read.clips)
    return [e.name for e in read.events], [with_handles(e.clip, handles) for e in read.events]


def plan_conform(folder: Path | TakeOpener, request: ConformRequest) -> ConformPlan:
    """Read the request and match every clip against the takes in ``folder`` (a takes folder, or an opener
    of the facility store); nothing is written."""
    read = read_request(request)
    names, clips = _package_clips(read, request.handles)
    matches = plan(clips, folder, camera_map=request.camera_map)
    return ConformPlan(request, read, list(matches), match_rows(names, clips, matches))


def _enrich(read: ConformInput, result: ConformResult, out_dir: Path, outcome: ConformOutcome) -> None:
    """Write the enriched ALE of an ALE source beside the packages."""
    if read.ale is None:
        return
    path = out_dir / f"{read.ale.path.stem}_stagectl.ale"
    written = write_enriched_ale(read.ale, result.ale_values, path)
    outcome.enriched_ale = written.path
    outcome.files.append(written.path)
    outcome.warnings += written.warnings


def run_conform(folder: Path | TakeOpener, request: ConformRequest, formats: Sequence[str] | None,
                out_dir: Path, progress: Progress, cancel: threading.Event) -> ConformOutcome:
    """Read, match and write every package of ``request`` into ``out_dir`` (see the module docstring).

    A failure (an unreadable source, a folder that cannot be written) is the outcome's ``error``, never
    an exception; files written before it are listed."""
    outcome = ConformOutcome()
    try:
        progress(0, 100, "reading the sources")
        read = read_request(request)
        outcome.warnings += read.warnings
        if cancel.is_set():
            outcome.cancelled = True
            return outcome
        progress(round(100 * READ_SHARE / 2), 100, "matching")

        def part(fraction: float, what: str = "") -> None:
            done = READ_SHARE + (1.0 - READ_SHARE) * min(max(fraction, 0.0), 1.0)
            progress(round(100 * done), 100, what)

        if read.events:
            result = conform_cut(read.events, folder, out_dir, handles=request.handles,
                                 camera_map=request.camera_map, formats=formats, progress=part, cancel=cancel)
        else:
            result = conform_clips(read.clips, folder, out_dir, camera_map=request.camera_map,
                                   formats=formats, progress=part, cancel=cancel)
        names, clips = _package_clips(read, request.handles)
        outcome.rows = match_rows(names, clips, result.matches)
        outcome.packages = list(result.packages)
        for package in result.packages:
            outcome.files += list(package.files)
        outcome.warnings += list(result.warnings)
        outcome.cancelled = result.cancelled
        if not outcome.cancelled:
            _enrich(read, result, out_dir, outcome)
            progress(100, 100, "done")
    except (StageError, OSError) as exc:
        outcome.error = str(exc)
    return outcome
