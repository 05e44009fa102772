"""``stagectl lens solve | export | import``: lens files from the command line.

A lens file that is not valid is reported with its file and field (exit 2), never half-used.
``lens import`` (and ``lens calibrate -o``) into a file that does not exist yet creates it: its
identity and sensor come from the options, else the defaults here, and the command prints what it
used (:func:`new_lens_file`, :func:`describe_new_lens`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from stagectl.core.errors import StageError
from stagectl.core.samples import LensValues

if TYPE_CHECKING:
    from lens.lensfile import LensFile

LENS_FILE_COMMANDS = ("solve", "export", "import")
EXPORT_FORMATS = ("csv", "opentrackio", "unreal")
#: Identity of a new lens file when the options give none (``model`` defaults to the file's name).
DEFAULT_MAKE = "unknown"
DEFAULT_SERIAL = "unknown"
#: Sensor of a new lens file ``lens import`` creates without --sensor-mm / --sensor-px: full-frame
#: width, 16:9 UHD (the demo lens's).
DEFAULT_SENSOR_MM = (36.0, 20.25)
DEFAULT_SENSOR_PX = (3840, 2160)
#: Encoder map of a new lens file's zoom / focus: 16-bit counts (FreeD's) over 0..1.
DEFAULT_ENCODER_RAW = (0, 0xFFFF)


def new_lens_file(path: str, *, make: str | None, model: str | None, serial: str | None,
                  sensor_mm: tuple[float, float], sensor_px: tuple[int, int], encoder_axes: tuple[str, ...],
                  grid: tuple[float, float] = (0.0, 0.0), focal_length_mm: float = 50.0) -> LensFile:
    """A lens file for ``path``, which does not exist yet: one grid node at ``grid`` (normalised
    zoom, focus) with ``focal_length_mm``, the default encoder map on ``encoder_axes``, and the
    identity given (a missing make / serial is ``unknown``, a missing model the file's name)."""
    from lens.lensfile import EncoderMap, LensFile, LensIdentity, SensorSize

    identity = LensIdentity(make or DEFAULT_MAKE, model or Path(path).stem or "lens",
                            serial or DEFAULT_SERIAL)
    sensor = SensorSize(sensor_mm[0], sensor_mm[1], sensor_px[0], sensor_px[1])
    encoders = {axis: EncoderMap(DEFAULT_ENCODER_RAW, (0.0, 1.0)) for axis in encoder_axes}
    return LensFile(identity, sensor, (grid[0],), (grid[1],), {"focal_length_mm": ((focal_length_mm,),)},
                    encoders, notes="created by stagectl")


def describe_new_lens(lens: LensFile, path: str, given: dict[str, bool]) -> str:
    """The line saying a lens file was created and with what (``given``: which fields the options set;
    the rest are defaults to edit in the file)."""
    i, s = lens.identity, lens.sensor
    fields = {"make": f"make {i.make!r}", "model": f"model {i.model!r}", "serial": f"serial {i.serial!r}",
              "sensor": f"sensor {s.width_mm:g} x {s.height_mm:g} mm, {s.width_px} x {s.height_px} px"}
    defaults = [name for name in fields if not given.get(name)]
    encoders = ", ".join(f"{axis} raw {m.raw[0]}..{m.raw[-1]}" for axis, m in lens.encoders.items())
    text = f"created {path}: {', '.join(fields.values())}"
    if encoders:
        text += f"; encoders {encoders} -> 0..1"
        defaults.append("encoders")
    if defaults:
        text += f" ({', '.join(defaults)}: defaults; edit the file to match the lens)"
    return text


def solved_json(values: LensValues, zoom_raw: int | None, focus_raw: int | None,
                iris_raw: int | None) -> dict[str, Any]:
    """Solved values as JSON, units in the key names; a value the input cannot give is null.

    A focus at infinity is the string ``"inf"`` (JSON has no infinity).
    """
    focus, iris, zoom = values.encoders or (None, None, None)
    distance: float | str | None = values.focus_distance_m
    if distance == math.inf:
        distance = "inf"
    bc = values.brown_conrady
    return {
        "lens_file": values.lens_file,
        "raw": {"zoom": zoom_raw, "focus": focus_raw, "iris": iris_raw},
        "encoders_normalised": {"zoom": zoom, "focus": focus, "iris": iris},
        "focal_length_mm": values.focal_length_mm,
        "focus_distance_m": distance,
        "t_stop": values.t_stop,
        "entrance_pupil_offset_m": values.entrance_pupil_offset_m,
        "principal_point_px": _pair(values.principal_point_px),
        "projection_offset_mm": _pair(values.projection_offset_mm),
        "brown_conrady": None if bc is None else {
            "direction": "undistorted-to-distorted (OpenCV)",
            "k1": bc[0], "k2": bc[1], "k3": bc[2], "p1": bc[3], "p2": bc[4]},
        "opentrackio_distortion": None if not values.radial else {
            "model": values.distortion_model, "radial": list(values.radial),
            "tangential": list(values.tangential)},
        "clamped": list(values.clamped),
    }


def _pair(values: tuple[float, float] | None) -> list[float] | None:
    return None if values is None else list(values)


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def solved_text(values: LensValues) -> str:
    """Solved values for a person reading a terminal."""
    focus, iris, zoom = values.encoders or (None, None, None)
    distance = values.focus_distance_m
    lines = [
        f"lens file       {values.lens_file or '-'}",
        f"encoders        zoom {_fmt(zoom, '.4f')}  focus {_fmt(focus, '.4f')}  iris {_fmt(iris, '.4f')} "
        "(normalised)",
        f"focal length    {_fmt(values.focal_length_mm, '.3f', ' mm')}",
        f"focus distance  {'infinity' if distance == math.inf else _fmt(distance, '.3f', ' m')}",
        f"T-stop          {'-' if values.t_stop is None else f'T{values.t_stop:.1f}'}",
        f"entrance pupil  {_fmt(values.entrance_pupil_offset_m, '.4f', ' m')}",
    ]
    if values.principal_point_px is not None and values.projection_offset_mm is not None:
        (cx, cy), (dx, dy) = values.principal_point_px, values.projection_offset_mm
        lines.append(f"principal point {cx:.2f}, {cy:.2f} px "
                     f"(offset {dx:+.4f}, {dy:+.4f} mm from the centre, y down)")
    else:
        lines.append("principal point -")
    if values.brown_conrady is not None:
        k1, k2, k3, p1, p2 = values.brown_conrady
        lines.append(f"distortion      k1 {k1:.6g}  k2 {k2:.6g}  k3 {k3:.6g}  p1 {p1:.6g}  p2 {p2:.6g} "
                     "(OpenCV, undistorted -> distorted)")
    else:
        lines.append("distortion      -")
    if values.clamped:
        lines.append(f"clamped         {', '.join(values.clamped)} (outside the calibrated range: "
                     "the edge's values, not extrapolated)")
    return "\n".join(lines)


class LensUsageError(StageError):
    """Arguments that do not fit the lens file (exit status 2)."""


_GRID_VALUES = "focal length, focus distance, entrance pupil, principal point and distortion"


def unsolved_axes(lens: LensFile, zoom_raw: int | None, focus_raw: int | None,
                  iris_raw: int | None) -> tuple[list[str], list[str]]:
    """(the options the lens file needs that were not given, a line per unsolved group of values
    saying why)."""
    axes = (("zoom", zoom_raw, lens.grid_zoom), ("focus", focus_raw, lens.grid_focus))
    missing = [axis for axis, raw, grid in axes if raw is None and len(grid) > 1]
    lines = []
    if missing:
        options = " ".join(f"--{axis} RAW" for axis in missing)
        lines.append(f"{_GRID_VALUES} unsolved: the tables vary along {' and '.join(missing)}; "
                     f"give {options}")
    if iris_raw is None and lens.iris is not None and len(lens.iris.normalised) > 1:
        missing.append("iris")
        lines.append("T-stop unsolved: the iris table varies along iris; give --iris RAW")
    elif iris_raw is not None and lens.iris is None:
        lines.append("T-stop unsolved: the lens file has no iris table (--iris is only normalised)")
    return missing, lines


def lens_solve(path: str, zoom_raw: int | None, focus_raw: int | None, iris_raw: int | None, as_json: bool,
               out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print the lens file's values at the raw counts (raises StageError for a bad file).

    Values an axis not given leaves unknown are named on ``err`` with the option that would solve
    them; LensUsageError (exit 2) when nothing at all can be solved without the missing options."""
    from lens.lensfile import load_lens_file
    from lens.solve import LensSolver

    lens = load_lens_file(path)
    values = LensSolver(lens).solve(zoom_raw, focus_raw, iris_raw)
    missing, lines = unsolved_axes(lens, zoom_raw, focus_raw, iris_raw)
    encoders = [v for v in values.encoders or () if v is not None]
    if values.focal_length_mm is None and values.t_stop is None and not encoders:
        grid = " ".join(f"--{axis} RAW" for axis in missing if axis != "iris")
        iris = "--iris RAW" if "iris" in missing else ""
        options = f"{grid}, raw encoder counts (and {iris} for the T-stop)" if grid and iris else \
            f"{grid or iris or '--zoom RAW --focus RAW'}, raw encoder counts"
        raise LensUsageError(f"nothing to solve: {path} needs {options}")
    if as_json:
        print(json.dumps(solved_json(values, zoom_raw, focus_raw, iris_raw), allow_nan=False), file=out)
    else:
        print(solved_text(values), file=out)
    for line in lines:
        print(f"stagectl lens solve: {line}", file=err)
    return 0


def export_text(path: str, fmt: str) -> str:
    """The lens file at ``path`` as ``fmt`` ("csv", "opentrackio" or "unreal")."""
    from lens.interchange import (
        lens_to_csv,
        node_values,
        to_opentrackio_lens,
        to_opentrackio_static,
        to_unreal_nodes,
    )
    from lens.lensfile import load_lens_file
    from stagectl.core.opentrackio.build import build_sample
    from stagectl.core.opentrackio.model import OpenTrackIOSample
    from stagectl.core.opentrackio.static import build_static

    lens = load_lens_file(path)
    if fmt == "csv":
        return lens_to_csv(lens)
    if fmt == "unreal":
        data: dict[str, Any] = {
            "lens": {"make": lens.identity.make, "model": lens.identity.model,
                     "serial": lens.identity.serial},
            "sensor_mm": [lens.sensor.width_mm, lens.sensor.height_mm],
            "distortion_model": "spherical: DistortionParameters = K1, K2, K3, P1, P2",
            "nodes": to_unreal_nodes(lens)}
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    nodes = []
    for i, zoom in enumerate(lens.grid_zoom):
        for j, focus in enumerate(lens.grid_focus):
            raw = {axis: None if axis not in lens.encoders else round(lens.encoders[axis].to_raw(v)[0])
                   for axis, v in (("zoom", zoom), ("focus", focus))}
            otio = to_opentrackio_lens(node_values(lens, i, j), lens.sensor, raw_zoom=raw["zoom"],
                                       raw_focus=raw["focus"])
            nodes.append({"zoom_normalised": zoom, "focus_normalised": focus,
                          "lens": build_sample(OpenTrackIOSample(lens=otio))["lens"]})
    data = {"static": build_static(to_opentrackio_static(lens)), "nodes": nodes}
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def lens_export(path: str, fmt: str, output: str | None, out: TextIO = sys.stdout,
                err: TextIO = sys.stderr) -> int:
    """Write the lens file as ``fmt`` to ``output`` (atomically) or ``out``."""
    from stagectl.core.atomic import atomic_write_text

    text = export_text(path, fmt)
    if output is None:
        out.write(text)
        return 0
    atomic_write_text(output, text)
    print(f"wrote {output} ({fmt})", file=err)
    return 0


def lens_import(table: str, output: str, err: TextIO = sys.stderr, *, make: str | None = None,
                model: str | None = None, serial: str | None = None,
                sensor_mm: tuple[float, float] | None = None,
                sensor_px: tuple[int, int] | None = None) -> int:
    """Replace the grid tables of the lens file ``output`` with the CSV ``table``'s, atomically.

    When ``output`` does not exist it is created (:func:`new_lens_file`: identity and sensor from the
    arguments, else the defaults, with zoom and focus encoder maps) and the command says so."""
    from lens.interchange import lens_from_csv
    from lens.lensfile import LensFileError, load_lens_file, save_lens_file

    created = not Path(output).exists()
    if created:
        base = new_lens_file(output, make=make, model=model, serial=serial,
                             sensor_mm=sensor_mm or DEFAULT_SENSOR_MM,
                             sensor_px=sensor_px or DEFAULT_SENSOR_PX,
                             encoder_axes=("zoom", "focus"))
    else:
        base = load_lens_file(output)
    try:
        text = Path(table).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LensFileError(f"cannot read the table: {exc}", path=table) from None
    lens = lens_from_csv(text, base, table)
    save_lens_file(lens, output)
    if created:
        print(describe_new_lens(lens, output, {"make": make is not None, "model": model is not None,
                                               "serial": serial is not None,
                                               "sensor": sensor_mm is not None and sensor_px is not None}),
              file=err)
    positions = f"{len(lens.grid_zoom)} zoom x {len(lens.grid_focus)} focus positions from {table}"
    print(f"filled {output}: {positions}" if created else f"updated {output}: {positions}", file=err)
    return 0


def _sensor_px(value: tuple[float, float] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    if any(v != round(v) for v in value):
        raise LensUsageError(f"--sensor-px {value[0]:g}x{value[1]:g}: pixels are whole numbers")
    return round(value[0]), round(value[1])


def run_lens_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Dispatch ``stagectl lens solve | export | import``; a bad file or table exits 2 with its message."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.lens_command == "solve":
            return lens_solve(args.lens_file, args.zoom, args.focus, args.iris, args.json, out, err)
        if args.lens_command == "export":
            return lens_export(args.lens_file, args.format, args.output, out, err)
        return lens_import(args.table, args.output, err, make=getattr(args, "make", None),
                           model=getattr(args, "model", None), serial=getattr(args, "serial", None),
                           sensor_mm=getattr(args, "sensor_mm", None),
                           sensor_px=_sensor_px(getattr(args, "sensor_px", None)))
    except StageError as exc:
        print(f"stagectl lens {args.lens_command}: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"stagectl lens {args.lens_command}: {exc}", file=err)
        return 1
