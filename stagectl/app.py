"""Composition root: command line -> stage file -> Stage on the I/O runtime -> window or headless.

``stagectl`` and ``python main.py`` land in :func:`main`. Without ``--headless`` the window is
opened through ``ui.app`` (imported only then, so the core runs where Qt is not installed), and
only when there is a display to open it on (``stagectl.core.platform``).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from stagectl.cli import build_parser, normalise_argv
from stagectl.config.load import StageConfig, default_stage, load_stage
from stagectl.core.errors import StageError
from stagectl.core.lineout import LineOut
from stagectl.core.logutil import setup_logging
from stagectl.core.platform import exit_process, missing_display, silence_stdout

if TYPE_CHECKING:
    from stagectl.stage.runner import StageRunner

log = logging.getLogger("stagectl.app")


def _take_command(args: argparse.Namespace, config: StageConfig) -> int:
    """``stagectl takes ...`` and ``stagectl export`` (stagectl/commands/takes.py)."""
    from stagectl.commands import takes
    from stagectl.commands.facility import TakeFilter

    try:
        if args.command == "export":
            return takes.export_command(config, args.takes, args.format, Path(args.out), store_url=args.store)
        if args.takes_command == "list":
            only = TakeFilter(args.stage, args.day, args.scene, True if args.circled else None)
            return takes.takes_list(config, args.json, store_url=args.store, only=only)
        if args.takes_command == "show":
            return takes.takes_show(config, args.take, args.json, store_url=args.store)
        if args.takes_command == "raw":
            from stagectl.commands.raw import takes_raw

            return takes_raw(config, args.take, camera=args.camera, out_path=args.out, fmt=args.format,
                             redecode=args.redecode)
        slate = {k: getattr(args, k) for k in ("production", "scene", "shot", "notes", "take")
                 if getattr(args, k) is not None}
        stop = threading.Event()
        _install_stop_signals(stop.set)
        return takes.takes_record(config, args.duration, slate, args.json, stop=stop)
    except StageError as exc:
        print(f"stagectl: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. an export folder that cannot be written: where, and what to do
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"stagectl: {where}{exc.strerror or exc}: check that folder's permissions (or choose another)",
              file=sys.stderr)
        return 1


def _conform_command(args: argparse.Namespace, config: StageConfig) -> int:
    """``stagectl conform clips | cut`` (stagectl/commands/conform.py); Ctrl+C stops after a package."""
    from stagectl.commands.conform import conform_command

    stop = threading.Event()
    _install_stop_signals(stop.set)
    try:
        return conform_command(config, args, stop=stop)
    except StageError as exc:
        print(f"stagectl conform: {exc}", file=sys.stderr)
        return 1


def _facility_command(args: argparse.Namespace) -> int:
    """``stagectl facility migrate --store URL`` (stagectl/commands/facility.py)."""
    from stagectl.commands.facility import facility_migrate

    try:
        return facility_migrate(args.store)
    except StageError as exc:
        print(f"stagectl facility: {exc}", file=sys.stderr)
        return 1


def _report_command(args: argparse.Namespace, config: StageConfig) -> int:
    """``stagectl report --day D --out FILE`` (stagectl/commands/report.py)."""
    from stagectl.commands.report import report_command

    try:
        return report_command(config, args.day, Path(args.out), store_url=args.store, stage=args.stage)
    except StageError as exc:
        print(f"stagectl report: {exc}", file=sys.stderr)
        return 1


def load_config(path: str | None) -> StageConfig:
    """The stage file at ``path``, or the built-in demo stage."""
    return default_stage() if path is None else load_stage(path)


#: At the end of a headless run, how long the status lines still queued get to be written.
STATUS_FLUSH_S = 0.2


def run_headless(runner: StageRunner, duration_s: float | None, status_json: bool,
                 out: TextIO = sys.stdout, stop: threading.Event | None = None) -> int:
    """Run until ``stop`` is set (Ctrl+C / SIGTERM) or ``duration_s`` ends; print status each second.

    The status lines are written by a thread of their own (:class:`~stagectl.core.lineout.LineOut`): a
    reader that does not read never holds up the stage or its stop. A reader that went away (``| head
    -1``) ends the run quietly with status 1."""
    stop = stop or threading.Event()
    lines = LineOut(out) if status_json else None
    deadline = None if duration_s is None else time.monotonic() + duration_s
    next_tick = time.monotonic() + 1.0
    code = 0
    while not stop.is_set():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        wake = next_tick if deadline is None else min(next_tick, deadline)
        if stop.wait(max(0.0, wake - now)):
            break
        runner.stage.events.drain()  # already logged; keep the queue short
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            if lines is not None:
                if lines.broken:
                    code = 1
                    break
                lines.put(json.dumps(runner.stage.status()))
    if lines is not None:
        lines.close(STATUS_FLUSH_S)
        if lines.broken:
            silence_stdout(out)
            code = 1
    return code


def _install_stop_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _no_display_message(prog: str, reason: str) -> str:
    """What to do when the window has no display to open on."""
    command = f"python {prog}" if prog.endswith(".py") else prog
    return (f"{prog}: no display to open the window on ({reason}).\n"
            f"  Run the stage without a window:  {command} run --headless [--status-json]\n"
            f"  or give it a virtual display:    xvfb-run {command} run")


def main(argv: list[str] | None = None, prog: str = "stagectl") -> int:
    """Entry point of the ``stagectl`` console script (and ``python main.py``, ``prog="main.py"``).

    Whatever the command, a reader that stops reading standard output early (``stagectl decode ...
    | head -1``) ends it quietly, as other Unix tools do: no traceback, exit status 1 (the output
    was cut short; a shell without ``pipefail`` ignores it).
    """
    try:
        code = _run_command(sys.argv[1:] if argv is None else argv, prog, exit_when_stopped=argv is None)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return 1
    return code


def _run_command(argv: list[str], prog: str, exit_when_stopped: bool = False) -> int:
    """Parse ``argv`` and run the command it names.

    ``exit_when_stopped``: this is the process's own command line, so once a stage run has stopped
    the process ends at once (core.platform.exit_process) instead of returning."""
    args = build_parser(prog).parse_args(normalise_argv(argv))
    setup_logging(getattr(logging, args.log_level))
    if args.command == "decode" and args.protocol == "opentrackio":
        from stagectl.commands.opentrackio import decode_opentrackio
        return decode_opentrackio(args.packets)
    if args.command == "simulate" and args.protocol == "opentrackio":
        from stagectl.commands.opentrackio import simulate_opentrackio
        return simulate_opentrackio(args.target, args.group, args.encoding, args.rate, args.ttl,
                                    args.source_number, args.duration)
    if args.command == "lens" and args.lens_command in ("solve", "export", "import"):
        from stagectl.commands.lens import run_lens_command
        return run_lens_command(args)
    if args.command == "lens" and args.lens_command == "calibrate":
        from stagectl.commands.calibrate import run_lens_calibrate
        return run_lens_calibrate(args)
    if args.command == "decode":
        from stagectl.commands.freed import decode_freed
        return decode_freed(args.packets)
    if args.command == "facility":
        return _facility_command(args)
    if args.command == "simulate":
        from stagectl.commands.freed import simulate_freed
        return simulate_freed(args.target, args.rate, args.cameras, args.first_id, args.duration)
    try:
        config = load_config(args.config)
    except StageError as exc:
        print(f"stagectl: {exc}", file=sys.stderr)
        return 2
    if args.command in ("takes", "export"):
        return _take_command(args, config)
    if args.command == "conform":
        return _conform_command(args, config)
    if args.command == "delay":
        from stagectl.commands.delay import delay_measure

        stop = threading.Event()
        _install_stop_signals(stop.set)
        return delay_measure(config, args.camera, args.video, args.seconds, apply=args.apply,
                             as_json=args.json, stop=stop)
    if args.command == "report":
        return _report_command(args, config)
    if args.headless and args.screenshot:
        print("stagectl: --screenshot needs the window; drop --headless", file=sys.stderr)
        return 2
    reason = None if args.headless else missing_display()
    if reason is not None:
        print(_no_display_message(prog, reason), file=sys.stderr)
        return 2
    # Imported here: the take, export and conform commands never build a stage, and the stage's imports
    # (devices, outputs, discovery) are most of a command's start-up.
    from stagectl.stage.runner import StageRunner

    try:
        runner = StageRunner(config, publish_views=not args.headless)  # headless: nothing reads views
    except StageError as exc:
        print(f"stagectl: cannot start the stage: {exc}", file=sys.stderr)
        return 1
    try:
        if args.headless:
            stop = threading.Event()
            _install_stop_signals(stop.set)
            code = run_headless(runner, args.duration, args.status_json, stop=stop)
        else:
            from ui.app import run_window  # Qt only when a window is wanted

            code = run_window(runner, duration_s=args.duration, status_json=args.status_json,
                              screenshot=args.screenshot, screenshot_after_s=args.after)
    finally:
        runner.close()
    if exit_when_stopped:  # everything is closed: skip the interpreter's teardown
        exit_process(code)
    return code
