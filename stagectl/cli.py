"""The command line: ``stagectl run | simulate | decode | lens | takes | export | conform | facility |
report | delay``.

Only argument parsing lives here; the commands themselves are in app.py (run) and
stagectl/commands/ (simulate, decode, lens, takes, export, conform, facility, report, delay).
``--log-level`` is accepted before the command and after any command's name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date

from stagectl.core.version import __version__

SUBCOMMANDS = ("run", "simulate", "decode", "lens", "takes", "export", "conform", "facility", "report",
               "delay")
STORE_HELP = ("read the facility store at this PostgreSQL URL (every stage's takes, read only) instead of "
              "the stage's takes folder; no password in it: libpq reads PGPASSWORD or ~/.pgpass")


def _size(text: str) -> tuple[float, float]:
    """``36x20.25`` -> (36.0, 20.25): a sensor size in mm or an image size in px."""
    width, sep, height = text.lower().partition("x")
    try:
        size = (float(width), float(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (e.g. 36x20.25)") from None
    if not sep or not all(0.0 < v < float("inf") for v in size):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, two positive numbers (36x20.25)")
    return size


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive, finite number")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 255:
        raise argparse.ArgumentTypeError(f"{text} must be 1..255")
    return value


def _ranged_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} must be {low}..{high}")
        return value

    return parse


def _grid_size(text: str) -> tuple[int, int]:
    """``9x6`` -> (9, 6): a board's inner corners, columns x rows."""
    cols, sep, rows = text.lower().partition("x")
    if not sep or not cols.strip().isdigit() or not rows.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not COLSxROWS (e.g. 9x6)")
    if int(cols) < 2 or int(rows) < 2:
        raise argparse.ArgumentTypeError(f"{text}: a board needs at least 2x2 inner corners")
    return int(cols), int(rows)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every command takes, before or after its name: ``--log-level``.

    Only the top-level parser has a default; a command's copy leaves the namespace alone unless the
    option is given there, so ``stagectl --log-level WARNING run`` is not reset to the default.
    """
    parser.add_argument("--log-level", default="INFO" if top else argparse.SUPPRESS, choices=LOG_LEVELS,
                        help="log verbosity on stderr (default INFO)")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command parser below ``parser``, at any depth (``lens calibrate``, ``takes raw``...)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_subparsers(child)]
    return found


def build_parser(prog: str = "stagectl") -> argparse.ArgumentParser:
    """The whole command-line grammar; ``prog`` is the name usage and errors show."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Control side of a virtual-production LED stage.")
    parser.add_argument("--version", action="version", version=f"stagectl {__version__}")
    _add_common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a stage (the demo stage without --config)")
    run.add_argument("--config", metavar="FILE", help="stage file (TOML); default: the built-in demo stage")
    run.add_argument("--headless", action="store_true", help="run without a window")
    run.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    run.add_argument("--status-json", action="store_true",
                     help="print one JSON status object per second on stdout")
    run.add_argument("--screenshot", metavar="FILE.png",
                     help="open the window, save a grab after --after s, exit")
    run.add_argument("--after", type=_positive_float, default=2.0, metavar="S",
                     help="seconds to wait before --screenshot (default 2)")

    sim = sub.add_parser("simulate", help="send simulated tracking data")
    sim_sub = sim.add_subparsers(dest="protocol", metavar="PROTOCOL", required=True)
    freed = sim_sub.add_parser("freed", help="simulated cameras as FreeD D1 over UDP")
    freed.add_argument("--target", default="127.0.0.1:40000", metavar="HOST:PORT",
                       help="where to send (default 127.0.0.1:40000)")
    freed.add_argument("--rate", type=_positive_float, default=50.0, metavar="HZ",
                       help="packets per second per camera (default 50)")
    freed.add_argument("--cameras", type=_count, default=1, metavar="N", help="number of cameras (default 1)")
    freed.add_argument("--first-id", type=int, default=1, metavar="ID",
                       help="FreeD camera id of the first camera (default 1)")
    freed.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    otrk = sim_sub.add_parser("opentrackio", help="a simulated camera as OpenTrackIO over UDP")
    otrk.add_argument("--target", default="127.0.0.1:55555", metavar="HOST:PORT",
                      help="where to send (default 127.0.0.1:55555); with --group, HOST is the address "
                           "of the interface to send from")
    otrk.add_argument("--group", metavar="ADDR",
                      help="send multicast to ADDR (OpenTrackIO: 239.135.1.<source number>)")
    otrk.add_argument("--encoding", choices=("json", "cbor"), default="json",
                      help="payload format (default json)")
    otrk.add_argument("--rate", type=_positive_float, default=50.0, metavar="HZ",
                      help="samples per second (default 50)")
    otrk.add_argument("--ttl", type=_ranged_int(0, 255), default=1, metavar="N",
                      help="multicast TTL (default 1: this subnet)")
    otrk.add_argument("--source-number", type=_ranged_int(1, 200), default=1, metavar="N",
                      help="OpenTrackIO source number 1..200 (default 1)")
    otrk.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")

    dec = sub.add_parser("decode", help="decode captured packets")
    dec_sub = dec.add_subparsers(dest="protocol", metavar="PROTOCOL", required=True)
    dfreed = dec_sub.add_parser("freed", help="FreeD messages given as hex")
    dfreed.add_argument("packets", nargs="+", metavar="HEX",
                        help="one packet in hex (spaces and colons allowed)")
    dotrk = dec_sub.add_parser("opentrackio", help="OpenTrackIO datagrams given as hex or @FILE")
    dotrk.add_argument("packets", nargs="+", metavar="HEX|@FILE",
                       help="one datagram in hex (spaces and colons allowed) or @FILE (raw binary or hex); "
                            "several may be the segments of one payload")

    lens = sub.add_parser("lens", help="lens files and lens calibration")
    lens_sub = lens.add_subparsers(dest="lens_command", metavar="ACTION", required=True)
    cal = lens_sub.add_parser("calibrate", help="calibrate intrinsics and distortion from board images")
    cal.add_argument("images", nargs="+", metavar="IMAGE", help="board images (a folder: its images)")
    cal.add_argument("--board", choices=("checkerboard", "charuco"), required=True, help="board type")
    cal.add_argument("--inner-corners", type=_grid_size, required=True, metavar="COLSxROWS",
                     help="inner corners of the board, e.g. 9x6 (a ChArUco 9x6 has 10x7 squares)")
    cal.add_argument("--square-mm", type=_positive_float, required=True, metavar="MM", help="square side")
    cal.add_argument("--marker-mm", type=_positive_float, metavar="MM",
                     help="ChArUco marker side (default 0.75 x the square)")
    cal.add_argument("--dictionary", default="DICT_5X5_100", metavar="NAME",
                     help="ChArUco ArUco dictionary (default DICT_5X5_100)")
    cal.add_argument("--sensor-width-mm", type=_positive_float, metavar="MM",
                     help="width of the sensor area the images show (with -o: default the lens file's)")
    cal.add_argument("--zoom", type=_ranged_int(0, 2**32 - 1), metavar="RAW",
                     help="raw zoom encoder count of this point")
    cal.add_argument("--focus", type=_ranged_int(0, 2**32 - 1), metavar="RAW",
                     help="raw focus encoder count of this point")
    cal.add_argument("-o", "--output", metavar="LENSFILE",
                     help="add the calibrated point to this lens file (created when new)")
    cal.add_argument("--make", metavar="TEXT", help="lens make, when LENSFILE is new (default: unknown)")
    cal.add_argument("--model", metavar="TEXT", help="lens model, when new (default: the file's name)")
    cal.add_argument("--serial", metavar="TEXT", help="lens serial, when LENSFILE is new (default: unknown)")
    cal.add_argument("--json", action="store_true", help="print the result as one JSON object")
    _add_lens_file_commands(lens_sub)
    _add_take_commands(sub)
    _add_conform_commands(sub)
    _add_facility_commands(sub)
    _add_report_command(sub)
    _add_delay_commands(sub)
    for command in _subparsers(parser):
        _add_common_options(command, top=False)
    return parser


def _add_take_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stagectl takes list | show | record | raw`` and ``stagectl export`` (stagectl/commands/takes.py,
    stagectl/commands/raw.py)."""
    config_help = "stage file (TOML) whose [takes] dir holds the takes; default: the demo stage's"
    takes = sub.add_parser("takes", help="recorded takes: list, show, record, raw")
    takes_sub = takes.add_subparsers(dest="takes_command", metavar="ACTION", required=True)
    lst = takes_sub.add_parser("list", help="every take: slate, state, timecode, samples")
    lst.add_argument("--config", metavar="FILE", help=config_help)
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.add_argument("--store", metavar="URL", help=STORE_HELP)
    lst.add_argument("--stage", metavar="ID", help="only takes of this stage (its [facility] stage_id)")
    lst.add_argument("--day", type=_day, metavar="YYYY-MM-DD",
                     help="only takes started on this day (local time)")
    lst.add_argument("--scene", metavar="TEXT", help="only takes of this scene")
    lst.add_argument("--circled", action="store_true", help="only circled takes")
    show = takes_sub.add_parser("show", help="one take: slate, timecode, cameras, dropouts, looks, cue log")
    show.add_argument("take", metavar="TAKE", help="take id or name (as `takes list` shows)")
    show.add_argument("--config", metavar="FILE", help=config_help)
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.add_argument("--store", metavar="URL", help=STORE_HELP + "; TAKE may be STAGE:NAME")
    rec = takes_sub.add_parser("record", help="run the stage headless and record one take")
    rec.add_argument("--duration", type=_positive_float, required=True, metavar="S", help="seconds to record")
    rec.add_argument("--config", metavar="FILE", help="stage file (TOML); default: the demo stage")
    for name in ("production", "scene", "shot", "notes"):
        rec.add_argument(f"--{name}", metavar="TEXT", help=f"slate {name}")
    rec.add_argument("--take", type=_ranged_int(1, 9999), metavar="N",
                     help="take number (default: the next one for this scene and shot)")
    rec.add_argument("--json", action="store_true", help="print the recorded take as JSON")
    raw = takes_sub.add_parser("raw", help="a take's raw datagrams as they arrived (hex lines, pcap), or "
                                           "decoded again with today's decoders")
    raw.add_argument("take", metavar="TAKE", help="take id or name (as `takes list` shows)")
    raw.add_argument("--camera", metavar="NAME", help="only the sources that fed this camera")
    raw.add_argument("--out", metavar="FILE", help="write FILE (atomically) instead of stdout (pcap: needed)")
    raw.add_argument("--format", choices=("hex", "pcap"), default=None,
                     help="hex: one text line per datagram (default); pcap: a packet capture for Wireshark")
    raw.add_argument("--redecode", action="store_true",
                     help="decode the datagrams again: JSON lines per sample and refused datagram, a summary "
                          "on stderr")
    raw.add_argument("--config", metavar="FILE", help=config_help)
    export = sub.add_parser("export",
                            help="export takes for post (USD, .chan, CSV, OpenTrackIO, OTIO, ALE, CDL)")
    export.add_argument("takes", nargs="+", metavar="TAKE", help="take ids or names")
    export.add_argument("--format", default="all", metavar="LIST",
                        help="comma-separated: usd,chan,csv,jsonl,otio,ale,cdl (default all)")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created)")
    export.add_argument("--config", metavar="FILE", help=config_help)
    export.add_argument("--store", metavar="URL", help=STORE_HELP)


def camera_map(text: str) -> dict[str, str]:
    """``A=A001,B=B001`` -> {"A": "A001", "B": "B001"}: a clip camera (left) -> a stage camera (right)."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        clip_camera, sep, stage_camera = (s.strip() for s in part.partition("="))
        if not sep or not clip_camera or not stage_camera:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not CLIP=STAGE (e.g. A=A001: the clips' camera A is the stage's camera A001)")
        if clip_camera in pairs and pairs[clip_camera] != stage_camera:
            raise argparse.ArgumentTypeError(
                f"camera {clip_camera!r} is mapped twice ({pairs[clip_camera]}, {stage_camera}); map it once")
        pairs[clip_camera] = stage_camera
    if not pairs:
        raise argparse.ArgumentTypeError(f"{text!r} maps no camera; give CLIP=STAGE pairs: A=A001,B=B001")
    return pairs


def _add_conform_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stagectl conform clips | cut`` (stagectl/commands/conform.py)."""
    conform = sub.add_parser("conform", help="tracking per camera clip or cut event, one sample per frame")
    conform_sub = conform.add_subparsers(dest="conform_command", metavar="ACTION", required=True)
    clips = conform_sub.add_parser(
        "clips", help="a package per camera clip (media folder, the DIT's ALE or a CSV of clips)")
    clips.add_argument("sources", nargs="+", metavar="SOURCE",
                       help="a folder of camera media (MOV, MXF, MP4), an ALE or a CSV "
                            "(clip, camera, start TC, end TC, fps)")
    clips.add_argument("--verify-motion", action="store_true",
                       help="measure each clip's picture motion against its tracking and flag clips whose "
                            "offset differs from what the timecodes imply by more than half a frame")
    cut = conform_sub.add_parser("cut", help="a package per event of an editor's cut (EDL, OTIO, FCP XML)")
    cut.add_argument("cut", metavar="CUT", help="a CMX3600 EDL (.edl), an OpenTimelineIO file (.otio) or an "
                                               "FCP XML (.xml)")
    cut.add_argument("--handles", type=_ranged_int(0, 10_000), default=0, metavar="N",
                     help="frames added before and after each event's source range (default 0)")
    cut.add_argument("--fps", metavar="RATE",
                     help="an EDL's timecode rate, e.g. 23.976 or 25 (an EDL does not say it; default: the "
                          "stage file's frame rate)")
    cut.add_argument("--all-events", action="store_true",
                     help="a package for every picture event (default: when the cut marks events VFX, for "
                          "those only)")
    for command in (clips, cut):
        command.add_argument("--out", required=True, metavar="DIR",
                             help="folder to write into: one folder per clip or event (created)")
        command.add_argument("--config", metavar="FILE",
                             help="stage file (TOML) whose [takes] dir holds the takes; default: the demo "
                                  "stage's")
        command.add_argument("--camera-map", type=camera_map, metavar="CLIP=STAGE,...",
                             help="which stage camera filmed each clip camera, e.g. A=A001,B=B001 (default: "
                                  "the clip's camera by name, else the only camera)")
        command.add_argument("--formats", default="all", metavar="LIST",
                             help="comma-separated: usd,chan,csv,jsonl,cdl (default all)")
        command.add_argument("--dry-run", action="store_true",
                             help="print the match table and write nothing")
        command.add_argument("--json", action="store_true",
                             help="print one JSON object (matches, packages, warnings) instead of the table")
        command.add_argument("--store", metavar="URL", help=STORE_HELP)


def _day(text: str) -> date:
    """``2026-12-07`` -> a date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day as YYYY-MM-DD (e.g. 2026-12-07)") from None


def _add_facility_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stagectl facility migrate`` (stagectl/commands/facility.py)."""
    facility = sub.add_parser("facility", help="the facility store every stage replicates its takes to")
    facility_sub = facility.add_subparsers(dest="facility_command", metavar="ACTION", required=True)
    migrate = facility_sub.add_parser("migrate", help="create the facility schema, or bring it up to date")
    migrate.add_argument("--store", required=True, metavar="URL",
                         help="the PostgreSQL URL, e.g. postgresql://stagectl@db.facility/stagectl (no "
                              "password in it: libpq reads PGPASSWORD or ~/.pgpass)")


def _add_report_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stagectl report`` (stagectl/commands/report.py)."""
    report = sub.add_parser("report", help="the daily report: a day's takes as a printable HTML document")
    report.add_argument("--day", type=_day, required=True, metavar="YYYY-MM-DD",
                        help="the takes started on this day (local time; with --store, the stage's)")
    report.add_argument("--out", required=True, metavar="FILE",
                        help="the HTML file to write (atomically; replaced when it exists)")
    report.add_argument("--config", metavar="FILE",
                        help="stage file (TOML) whose [takes] dir holds the takes; default: the demo stage's")
    report.add_argument("--store", metavar="URL", help=STORE_HELP)
    report.add_argument("--stage", metavar="ID",
                        help="with --store: only this stage's takes (its [facility] stage_id)")


def _add_delay_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stagectl delay measure`` (stagectl/commands/delay.py)."""
    delay = sub.add_parser("delay", help="a camera's tracking-to-picture delay")
    delay_sub = delay.add_subparsers(dest="delay_command", metavar="ACTION", required=True)
    measure = delay_sub.add_parser("measure",
                                   help="measure it from the camera's picture while it pans and tilts")
    measure.add_argument("--camera", required=True, metavar="NAME",
                         help="the stage camera (its [[cameras]] name)")
    measure.add_argument("--video", required=True, metavar="SOURCE",
                         help="the camera's picture: a capture device index (0) or path (/dev/video0), a "
                              "stream URL, or a video file (played at its own frame rate as if live)")
    measure.add_argument("--seconds", type=_positive_float, default=10.0, metavar="S",
                         help="how long to capture (default 10)")
    measure.add_argument("--config", metavar="FILE", help="stage file (TOML); default: the demo stage")
    measure.add_argument("--apply", action="store_true",
                         help="set the camera's delay line to the measured delay on the running stage")
    measure.add_argument("--json", action="store_true", help="print one JSON object")


def _add_lens_file_commands(lens_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stagectl lens solve | export | import`` (stagectl/commands/lens.py)."""
    raw = _ranged_int(0, 2**32 - 1)
    solve = lens_sub.add_parser("solve", help="the lens file's values at raw encoder counts")
    solve.add_argument("lens_file", metavar="LENSFILE", help="lens file (JSON, docs/lens-files.md)")
    solve.add_argument("--zoom", type=raw, metavar="RAW", help="raw zoom encoder count")
    solve.add_argument("--focus", type=raw, metavar="RAW", help="raw focus encoder count")
    solve.add_argument("--iris", type=raw, metavar="RAW", help="raw iris encoder count")
    solve.add_argument("--json", action="store_true", help="print one JSON object (units in the key names)")
    export = lens_sub.add_parser("export", help="a lens file as a CSV table, OpenTrackIO or Unreal values")
    export.add_argument("lens_file", metavar="LENSFILE", help="lens file (JSON)")
    export.add_argument("--format", choices=("csv", "opentrackio", "unreal"), default="csv",
                        help="csv: one row per grid node for a spreadsheet (default); opentrackio: the "
                             "static block and a lens block per node; unreal: FxFy, PrincipalPoint and "
                             "K1, K2, K3, P1, P2 per node")
    export.add_argument("-o", "--output", metavar="FILE", help="write FILE (atomically) instead of stdout")
    imp = lens_sub.add_parser("import", help="replace a lens file's tables with an edited CSV table")
    imp.add_argument("table", metavar="TABLE.csv", help="the table, as `stagectl lens export` writes it")
    imp.add_argument("-o", "--output", metavar="LENSFILE", required=True,
                     help="the lens file to update (its identity, sensor, encoders, iris and "
                          "calibrations stay), or to create")
    imp.add_argument("--make", metavar="TEXT", help="lens make, when LENSFILE is new (default: unknown)")
    imp.add_argument("--model", metavar="TEXT", help="lens model, when new (default: the file's name)")
    imp.add_argument("--serial", metavar="TEXT", help="lens serial, when LENSFILE is new (default: unknown)")
    imp.add_argument("--sensor-mm", type=_size, metavar="WxH",
                     help="sensor size in mm, when LENSFILE is new (default 36x20.25)")
    imp.add_argument("--sensor-px", type=_size, metavar="WxH",
                     help="image size in px, when LENSFILE is new (default 3840x2160)")


def normalise_argv(argv: list[str]) -> list[str]:
    """``stagectl`` / ``python main.py`` with no command (or only options) means ``run``."""
    global_opts: list[str] = []
    rest = list(argv)
    while rest:
        if rest[0] == "--log-level" and len(rest) > 1:
            global_opts += rest[:2]
            rest = rest[2:]
        elif rest[0].startswith("--log-level="):
            global_opts.append(rest.pop(0))
        else:
            break
    if not rest or (rest[0] not in SUBCOMMANDS and rest[0] not in ("-h", "--help", "--version")):
        rest = ["run", *rest]
    return global_opts + rest
