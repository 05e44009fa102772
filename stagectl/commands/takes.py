"""``stagectl takes list | show | record`` and ``stagectl export``: takes from the command line.

Each finds the takes folder from the stage file (``--config FILE``, else the demo stage) like
``run`` does, recovers any take a crash interrupted first, then reads the store; with ``--store URL``
``list``, ``show`` and ``export`` read the facility store instead (every stage's takes, read only;
:mod:`stagectl.commands.facility`).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from stagectl.commands.facility import TakeFilter, open_facility, stage_ids, summary_of
from stagectl.config.model import StageConfig
from stagectl.core.errors import StageError
from stagectl.stage.takes import takes_folder
from stagectl.takes.export.registry import export_takes, parse_formats
from stagectl.takes.model import LogEntry, TakeData, TakeInfo
from stagectl.takes.recovery import recover
from stagectl.takes.store import DB_NAME, TakeStore, TakeSummary

if TYPE_CHECKING:
    from stagectl.stage.runner import StageRunner


def take_json(info: TakeInfo) -> dict[str, Any]:
    """One take as JSON values (timecodes as SMPTE labels, the rate exact as ``"24000/1001"``)."""
    s = info.slate
    return {
        "id": info.take_id,
        "name": info.name,
        "state": info.state,
        "recovered": info.state == "recovered",
        "production": s.production,
        "scene": s.scene,
        "shot": s.shot,
        "take": s.take,
        "cameras": list(s.cameras),
        "slate_notes": s.notes,
        "rate": f"{info.rate.rate.numerator}/{info.rate.rate.denominator}",
        "drop_frame": info.drop_frame,
        "tc_in": str(info.tc_in) if info.tc_in else None,
        "tc_out": str(info.tc_out) if info.tc_out else None,
        "duration_frames": info.duration_frames,
        "started_unix_s": info.started_unix_s,
        "stopped_unix_s": info.stopped_unix_s,
        "circled": info.circled,
        "no_good": info.no_good,
        "notes": info.notes,
        "look_at_start": info.look_at_start,
    }


def _log_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "timecode": str(entry.timecode) if entry.timecode else None,
        "arrival_ns": entry.arrival_ns,
        "kind": entry.kind,
        "source": entry.source,
        "text": entry.text,
        "data": entry.data,
    }


def summary_json(summary: TakeSummary) -> dict[str, Any]:
    """``stagectl takes show --json``: the take, per-camera counts and dropouts, looks and the cue log."""
    out = take_json(summary.info)
    out["camera_details"] = [
        {
            "camera": c.camera,
            "source": c.source,
            "samples": c.samples,
            "dropouts": c.dropouts,
            "lens": None
            if c.lens is None
            else {
                "file": c.lens.lens_file,
                "make": c.lens.make,
                "model": c.lens.model,
                "serial": c.lens.serial,
            },
        }
        for c in summary.cameras
    ]
    out["samples"] = sum(c.samples for c in summary.cameras)
    out["dropouts"] = sum(c.dropouts for c in summary.cameras)
    out["stream_dropouts"] = [_log_json(e) for e in summary.log if e.kind == "dropout"]
    out["looks"] = list(summary.looks)
    out["cue_log"] = [_log_json(e) for e in summary.log if e.kind in ("cue", "look")]
    out["log"] = [_log_json(e) for e in summary.log]
    return out


def open_store(config: StageConfig) -> TakeStore:
    """The stage's take store (``[takes] dir``), after recovering any take a crash interrupted;
    StageError when nothing was recorded there yet or the folder cannot be read (naming it and what to
    do). What recovery found (a journal it could not delete, a damaged store set aside) goes to stderr."""
    folder = takes_folder(config)
    with store_errors(folder):
        exists = (folder / DB_NAME).exists()
    if not exists:
        raise StageError(f"no takes recorded in {folder} yet (the stage file's [takes] dir)")
    with store_errors(folder):
        recovery = recover(folder)
    for r in recovery.takes:
        print(
            f"stagectl: take {r.take_id} was interrupted; recovered from its journal"
            f"{f' ({r.problem})' if r.problem else ''}",
            file=sys.stderr,
        )
    for notice in recovery.notices:
        print(f"stagectl: warning: {notice}", file=sys.stderr)
    return TakeStore(folder)


@contextlib.contextmanager
def store_errors(folder: Path) -> Iterator[None]:
    """An OSError in the block (a folder or file this user may not read or write) as a StageError that
    names the file and what to do, never a traceback."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or folder
        raise StageError(
            f"cannot use {where} ({exc.strerror or exc}): make the takes folder {folder} (the stage file's "
            "[takes] dir) and the files in it readable and writable by the user running stagectl") from None


def takes_list(config: StageConfig, as_json: bool, out: TextIO | None = None, *, store_url: str | None = None,
               only: TakeFilter | None = None) -> int:
    """Print every take (a table, or a JSON array), of this stage's folder or of the facility store
    (``store_url``), narrowed by ``only``. Each take names its ``stage`` (the facility's stage id; null
    for a stage without ``[facility]``)."""
    only, out = only or TakeFilter(), out or sys.stdout
    stages: dict[int, str | None]
    if store_url is not None and as_json:  # the database writes the rows: 10 000 takes in ~0.1 s
        with open_facility(store_url) as facility:
            listed = facility.listing(stage=only.stage, day=only.day, scene=only.scene, circled=only.circled)
        out.write("[\n" + ",\n".join(listed) + "\n]\n" if listed else "[]\n")
        return 0
    if store_url is not None:
        with open_facility(store_url) as facility:
            takes = facility.takes(stage=only.stage, day=only.day, scene=only.scene, circled=only.circled)
            counts = facility.sample_counts()
            stages = dict(stage_ids(facility, takes, only))
    else:
        stage = config.facility.stage_id if config.facility is not None else None
        with open_store(config) as store, store_errors(store.folder):
            takes = [t for t in store.takes() if only.keeps(t, stage)]
            counts = store.sample_counts()
        stages = {t.take_id: stage for t in takes}
    if as_json:  # one take a line: readable, and json's C encoder (10 000 takes in a few ms, not a second)
        rows = (json.dumps({**take_json(t), "samples": counts.get(t.take_id, 0), "stage": stages[t.take_id]})
                for t in takes)
        out.write("[\n" + ",\n".join(rows) + "\n]\n" if takes else "[]\n")
        return 0
    if not takes:
        out.write("no takes\n")
        return 0
    width = max(len("stage"), *(len(s or "") for s in stages.values())) if store_url is not None else 0

    def stage_cell(text: str) -> str:  # the stage column of a facility listing
        return f"{text:<{width}} " if width else ""

    out.write(
        f"{'id':>4}  {stage_cell('stage')}{'name':<24} {'state':<10} {'flags':<6} "
        f"{'tc in':<12} {'tc out':<12} {'frames':>7} {'samples':>9}  cameras\n"
    )
    for t in takes:
        flags = ("C" if t.circled else "") + ("NG" if t.no_good else "")
        out.write(
            f"{t.take_id:>4}  {stage_cell(stages[t.take_id] or '')}{t.name:<24} {t.state:<10} "
            f"{flags:<6} {t.tc_in or '-'!s:<12} {t.tc_out or '-'!s:<12} {t.duration_frames:>7} "
            f"{counts.get(t.take_id, 0):>9}  {' '.join(t.slate.cameras)}\n"
        )
    return 0


def takes_show(config: StageConfig, ref: str, as_json: bool, out: TextIO | None = None, *,
               store_url: str | None = None) -> int:
    """Print one take in full (of the facility store with ``store_url``: a take id, name or
    ``stage-3:NAME``)."""
    out = out or sys.stdout
    if store_url is not None:
        with open_facility(store_url) as facility:
            take_id = facility.find(ref)
            summary = summary_of(facility.read(take_id))
            stage: str | None = facility.stage_of(take_id)
    else:
        with open_store(config) as store, store_errors(store.folder):
            summary = store.summary(store.find(ref))
        stage = config.facility.stage_id if config.facility is not None else None
    data = {**summary_json(summary), "stage": stage}
    if as_json:
        json.dump(data, out, indent=1)
        out.write("\n")
        return 0
    i = summary.info
    out.write(
        f"take {i.take_id}: {f'{stage}:' if store_url is not None else ''}{i.name} ({i.state}"
        f"{', circled' if i.circled else ''}"
        f"{', NG' if i.no_good else ''})\n"
    )
    out.write(
        f"  slate      production {i.slate.production or '-'}, scene {i.slate.scene or '-'}, "
        f"shot {i.slate.shot or '-'}, take {i.slate.take}\n"
    )
    out.write(
        f"  timecode   {i.tc_in or '-'} to {i.tc_out or '-'} ({i.duration_frames} frames at "
        f"{i.rate} fps{' DF' if i.drop_frame else ''})\n"
    )
    out.write(
        f"  look       {i.look_at_start or '-'} at the start; looks: {', '.join(summary.looks) or '-'}\n"
    )
    if i.notes or i.slate.notes:
        out.write(f"  notes      {i.notes or i.slate.notes}\n")
    for c in summary.cameras:
        lens = f", lens {c.lens.make} {c.lens.model} ({c.lens.lens_file})" if c.lens else ", unsolved"
        out.write(
            f"  camera {c.camera:<4} {c.samples} samples, {c.dropouts} dropped, from {c.source or '-'}"
            f"{lens}\n"
        )
    for e in summary.log:
        out.write(f"  {e.timecode or ''!s:<12} {e.kind:<7} {e.source}: {e.text}\n")
    return 0


#: How long ``takes record`` waits for its take to be committed, then for the facility to take it.
COMMIT_WAIT_S = 10.0
SYNC_WAIT_S = 6.0


def takes_record(
    config: StageConfig,
    duration_s: float,
    slate: dict[str, Any],
    as_json: bool,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the stage headless, record one take for ``duration_s`` (or until ``stop``), print it.

    Each camera that received no sample is named in a warning on ``err`` (stderr); the exit status
    stays 0 (the take was recorded). With ``[facility]`` the take is sent to the facility store before
    the stage closes; when it cannot be (the database is down), a warning says so and the exit status
    stays 0: the take is safe here and the next ``stagectl run`` sends it."""
    err = sys.stderr if err is None else err
    out = sys.stdout if out is None else out
    from stagectl.stage.runner import StageRunner

    runner = StageRunner(config)
    try:
        recorder = runner.stage.recorder
        deadline = time.monotonic() + 30.0
        while not recorder.ready:
            if recorder.error or time.monotonic() > deadline:
                raise StageError(recorder.error or "the take store did not open within 30 s")
            time.sleep(0.02)

        async def start() -> str:
            return recorder.record(**slate)

        async def finish() -> str:
            return await recorder.async_stop_take()

        name = runner.runtime.call_sync(start(), 10.0)
        print(f"stagectl: recording {name} for {duration_s:g} s", file=sys.stderr)
        (stop or threading.Event()).wait(duration_s)
        runner.runtime.call_sync(finish(), 30.0)
        facility_warning = _send_to_facility(runner, name)
    finally:
        runner.close()
    with TakeStore(takes_folder(config)) as store:
        take_id = store.find(name)
        summary = store.summary(take_id)
    if as_json:
        json.dump(summary_json(summary), out, indent=1)
        out.write("\n")
    else:
        samples = sum(c.samples for c in summary.cameras)
        out.write(
            f"take {take_id}: {summary.info.name}, {samples} samples, "
            f"{summary.info.tc_in} to {summary.info.tc_out}\n"
        )
    for warning in empty_camera_warnings(summary):
        print(f"stagectl takes record: warning: {warning}", file=err)
    if facility_warning:
        print(f"stagectl takes record: warning: {facility_warning}", file=err)
    return 0


def _send_to_facility(runner: StageRunner, name: str) -> str:
    """Wait until take ``name`` is committed here, then push it to the facility store: "" when it is
    there, else what to tell the operator (the take stays safe in the local store either way)."""
    facility = runner.stage.facility
    if facility is None:
        return ""
    folder = runner.stage.recorder.folder
    deadline = time.monotonic() + COMMIT_WAIT_S
    take_id, state = None, "recording"
    while state == "recording" and time.monotonic() < deadline:
        with TakeStore(folder, readonly=True) as store, contextlib.suppress(StageError):
            take_id = store.find(name)
            state = store.info(take_id).state
        if state == "recording":
            time.sleep(0.05)
    status = facility.sync(max(SYNC_WAIT_S, 2 * facility.config.connect_timeout_s))
    sync = status.takes.get(take_id) if take_id is not None else None
    if sync is not None and sync.state == "synced":
        return ""
    reason = status.error or (sync.detail if sync is not None and sync.detail else "") or (
        f"replication is {status.state}" + (f", the take is {sync.state}" if sync is not None else ""))
    when = "once the schema is migrated, " if status.state == "schema" else ""
    return (f"take {name} is recorded here but not in the facility store {facility.database} yet ({reason}); "
            f"{when}it is sent the next time this stage runs (stagectl run, with or without the window)")


def empty_camera_warnings(summary: TakeSummary) -> list[str]:
    """One line per camera of the take that recorded no sample, naming it and where it listens."""
    lines = []
    listed = {c.camera for c in summary.cameras}
    for c in summary.cameras:
        if c.samples == 0:
            lines.append(f"camera {c.camera} recorded 0 samples (its source {c.source or '-'} received "
                         "nothing): check that its tracker sends to that address and port")
    for camera in summary.info.slate.cameras:
        if camera not in listed:
            lines.append(f"camera {camera} recorded 0 samples (no source fed it)")
    return lines


def export_command(
    config: StageConfig, refs: Sequence[str], formats_text: str, out_dir: Path, out: TextIO | None = None, *,
    store_url: str | None = None
) -> int:
    """``stagectl export``: every format of every take into ``out_dir``; prints the files. With
    ``store_url`` the takes come from the facility store.

    A format that writes nothing for a take says so on stderr with the reason (exit status 0: the
    take has nothing for it)."""
    formats = parse_formats(formats_text)
    with contextlib.ExitStack() as kept:  # a facility take reads its raw datagrams through the connection
        if store_url is not None:
            facility = kept.enter_context(open_facility(store_url))
            takes = [facility.read(facility.find(ref)) for ref in refs]
        else:
            with open_store(config) as store, store_errors(store.folder):
                takes = [store.read(store.find(ref)) for ref in refs]
        _export(takes, formats, out_dir, out or sys.stdout)
    return 0


def _export(takes: Sequence[TakeData], formats: Sequence[str], out_dir: Path, out: TextIO) -> None:
    last = [-1]

    def progress(fraction: float) -> None:
        percent = int(fraction * 100)
        if percent >= last[0] + 10:
            last[0] = percent
            print(f"stagectl: export {percent}%", file=sys.stderr)

    def skipped(reason: str) -> None:
        print(f"stagectl export: {reason}", file=sys.stderr)

    for path in export_takes(takes, formats, out_dir, progress, skipped=skipped):
        out.write(f"{path}\n")
