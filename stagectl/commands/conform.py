"""``stagectl conform clips | cut``: a tracking package per camera clip, or per event of an editor's cut.

The takes folder comes from the stage file (``--config FILE``, else the demo stage) as for ``takes list``
and ``export``; a take a crash interrupted is recovered first. The work is
:mod:`stagectl.stage.conform_jobs` (the window's Conform dialog runs the same): read the sources, match
each clip to the take(s) and camera that recorded it, write ``OUT/<clip>/`` per clip (and for an ALE
source the enriched ALE into OUT).

Output: progress and every warning on stderr; on stdout the match table, then each package written with
its files (``--json``: one object instead). ``clips --verify-motion`` then measures each package's clip
against its tracking (:mod:`stagectl.takes.conform.motion_check`), adds ``"motion"`` to its manifest and
prints a line per clip (a flagged clip is a warning; the exit status is unchanged). Exit status 0 when at
least one package holds tracking, 1 when nothing matched or something failed (the message says what and
where), 2 for a usage error (an unknown format, a bad camera map, an unreadable stage file).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from stagectl.commands.facility import check_store_url, open_facility
from stagectl.config.model import StageConfig
from stagectl.core.timecode import FrameRate, TimecodeError
from stagectl.stage.conform_jobs import (
    ConformOutcome,
    ConformPlan,
    ConformRequest,
    MatchRow,
    plan_conform,
    run_conform,
)
from stagectl.stage.takes import takes_folder
from stagectl.takes.conform.match import TakeOpener
from stagectl.takes.conform.motion_check import MotionCheck, verify_packages
from stagectl.takes.conform.package import DEFAULT_FORMATS, Package
from stagectl.takes.export.registry import ExportError, parse_formats

__all__ = ["UsageError", "conform_command", "parse_conform_formats", "print_table"]

PROG = "stagectl conform"
_MARKS = {"ok": "", "warnings": "  (see warnings)", "partial": "  (partly)", "none": "  (no tracking)",
          "refused": "  (refused)"}


class UsageError(ValueError):
    """A command line conform cannot run with (exit status 2)."""


def parse_conform_formats(text: str) -> list[str]:
    """``--formats`` of a package (``all``: every package format); UsageError naming the known ones."""
    try:
        return parse_formats(text, DEFAULT_FORMATS)
    except ExportError as exc:
        raise UsageError(f"{exc} (in --formats)") from None


def _request(args: Any, config: StageConfig) -> ConformRequest:
    if args.conform_command == "clips":
        return ConformRequest(sources=tuple(Path(s) for s in args.sources), camera_map=args.camera_map)
    cut = Path(args.cut)
    rate = None
    if cut.suffix.lower() == ".edl":
        try:
            rate = FrameRate.parse(args.fps) if args.fps else config.frame_rate
        except TimecodeError as exc:
            raise UsageError(f"--fps {args.fps}: {exc}") from None
    return ConformRequest(cut=cut, handles=args.handles, camera_map=args.camera_map, cut_rate=rate,
                          all_events=args.all_events)


def print_table(rows: Sequence[MatchRow], out: TextIO, kind: str = "clip") -> None:
    """The match table: one line per clip or event."""
    width = max([len(kind), *(len(r.name) for r in rows)])
    out.write(f"{kind:<{width}}  {'camera':<6} {'tc in':<11}  {'tc out':<11}  {'frames':>6} {'covered':>8}  "
              "take(s)\n")
    for r in rows:
        mark = _MARKS[r.status]
        out.write(f"{r.name:<{width}}  {r.camera or '-':<6} {r.tc_in:<11}  {r.tc_out:<11}  {r.frames:>6} "
                  f"{r.coverage_percent:>7.1f}%  {r.takes or '-'}{mark}\n")


def _progress_printer(err: TextIO) -> Any:
    last = [-10]

    def progress(done: int, total: int, what: str) -> None:
        percent = round(100 * done / max(total, 1))
        if percent >= last[0] + 10 or (percent == 100 and last[0] != 100):
            last[0] = percent
            print(f"{PROG}: {percent}% {what}".rstrip(), file=err)

    return progress


def _package_json(package: Package) -> dict[str, Any]:
    return {"name": package.folder.name, "folder": str(package.folder),
            "files": [str(f) for f in package.files], "frames_covered": package.frames_covered,
            "frames_missing": package.frames_missing, "warnings": list(package.warnings)}


def _print_plan(plan: ConformPlan, as_json: bool, out: TextIO, err: TextIO) -> int:
    for warning in plan.warnings:
        print(f"{PROG}: warning: {warning}", file=err)
    if as_json:
        json.dump({"matches": [r.as_json() for r in plan.rows], "packages": [], "enriched_ale": None,
                   "warnings": plan.warnings}, out, indent=1)
        out.write("\n")
    else:
        print_table(plan.rows, out, "event" if plan.request.kind == "cut" else "clip")
    if plan.matched == 0:
        print(f"{PROG}: no clip matches a take (nothing would be written): check the clips' timecode and the "
              "stage file's [takes] dir", file=err)
        return 1
    return 0


def _print_outcome(outcome: ConformOutcome, kind: str, as_json: bool, out: TextIO, err: TextIO,
                   checks: Sequence[MotionCheck] | None = None) -> int:
    for warning in outcome.warnings:
        print(f"{PROG}: warning: {warning}", file=err)
    for check in checks or ():
        if check.flagged:
            print(f"{PROG}: warning: {check.line()}", file=err)
    written = [p for p in outcome.packages if p.frames_covered > 0]
    if as_json:
        json.dump({"matches": [r.as_json() for r in outcome.rows],
                   "packages": [_package_json(p) for p in outcome.packages],
                   "enriched_ale": None if outcome.enriched_ale is None else str(outcome.enriched_ale),
                   "warnings": outcome.warnings, "cancelled": outcome.cancelled,
                   "error": outcome.error or None,
                   **({} if checks is None else {"motion": [{"clip": c.clip, **c.motion} for c in checks]})},
                  out, indent=1)
        out.write("\n")
    else:
        print_table(outcome.rows, out, kind)
        for package in outcome.packages:
            covered = package.frames_covered
            total = covered + package.frames_missing
            out.write(f"package {package.folder}  ({covered} of {total} frames with tracking)\n")
            for path in package.files:
                out.write(f"  {path}\n")
        if outcome.enriched_ale is not None:
            out.write(f"enriched ALE {outcome.enriched_ale}\n")
        for check in checks or ():
            out.write(f"motion {check.line()}\n")
    if outcome.error:
        print(f"{PROG}: {outcome.error}", file=err)
        return 1
    if outcome.cancelled:
        print(f"{PROG}: stopped: {len(outcome.packages)} package(s) written before", file=err)
        return 1
    if not written:
        print(f"{PROG}: no clip matches a take: no tracking written (the packages' manifests say why); check "
              "the clips' timecode and the stage file's [takes] dir", file=err)
        return 1
    return 0


def conform_command(config: StageConfig, args: Any, *, stop: threading.Event | None = None,
                    out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``stagectl conform clips|cut`` as parsed into ``args`` (see the module docstring); ``stop``
    (Ctrl+C) ends it after the package being written."""
    out, err = out or sys.stdout, err or sys.stderr
    from stagectl.commands.takes import open_store  # recovers an interrupted take; says where it failed

    try:
        formats = parse_conform_formats(args.formats)
        request = _request(args, config)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=err)
        return 2
    if getattr(args, "store", None):  # the facility store: every stage's takes, read only
        url = check_store_url(args.store)
        with open_facility(url):  # reachable, its schema known: else the error says so before any work
            pass
        folder: Path | TakeOpener = partial(open_facility, url)
    else:
        with open_store(config):
            pass
        folder = takes_folder(config)
    kind = "event" if request.kind == "cut" else "clip"
    if args.dry_run:
        return _print_plan(plan_conform(folder, request), args.json, out, err)
    stop = stop or threading.Event()
    outcome = run_conform(folder, request, formats, Path(args.out), _progress_printer(err), stop)
    checks = None
    if getattr(args, "verify_motion", False) and not outcome.error and not outcome.cancelled:
        written = [p for p in outcome.packages if p.frames_covered > 0]
        checks = verify_packages(written, folder, request.camera_map, _progress_printer(err), stop)
    return _print_outcome(outcome, kind, args.json, out, err, checks)
