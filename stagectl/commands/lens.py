"""``stagectl lens solve | export | import``: lens files from the command line.

A lens file that is not valid is reported with its file and field (exit 2), never half-used.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

from stagectl.core.errors import StageError
from stagectl.core.samples import LensValues

LENS_FILE_COMMANDS = ("solve", "export", "import")
EXPORT_FORMATS = ("csv", "opentrackio", "unreal")


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


def lens_solve(path: str, zoom_raw: int | None, focus_raw: int | None, iris_raw: int | None, as_json: bool,
               out: TextIO = sys.stdout) -> int:
    """Print the lens file's values at the raw counts (raises StageError for a bad file)."""
    from lens.lensfile import load_lens_file
    from lens.solve import LensSolver

    values = LensSolver(load_lens_file(path)).solve(zoom_raw, focus_raw, iris_raw)
    if as_json:
        print(json.dumps(solved_json(values, zoom_raw, focus_raw, iris_raw), allow_nan=False), file=out)
    else:
        print(solved_text(values), file=out)
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


def lens_import(table: str, output: str, err: TextIO = sys.stderr) -> int:
    """Replace the grid tables of the lens file ``output`` with the CSV ``table``'s, atomically."""
    from lens.interchange import lens_from_csv
    from lens.lensfile import LensFileError, load_lens_file, save_lens_file

    base = load_lens_file(output)
    try:
        text = Path(table).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LensFileError(f"cannot read the table: {exc}", path=table) from None
    lens = lens_from_csv(text, base, table)
    save_lens_file(lens, output)
    print(f"updated {output}: {len(lens.grid_zoom)} zoom x {len(lens.grid_focus)} focus positions "
          f"from {table}", file=err)
    return 0


def run_lens_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Dispatch ``stagectl lens solve | export | import``; a bad file or table exits 2 with its message."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.lens_command == "solve":
            return lens_solve(args.lens_file, args.zoom, args.focus, args.iris, args.json, out)
        if args.lens_command == "export":
            return lens_export(args.lens_file, args.format, args.output, out, err)
        return lens_import(args.table, args.output, err)
    except StageError as exc:
        print(f"stagectl lens {args.lens_command}: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"stagectl lens {args.lens_command}: {exc}", file=err)
        return 1
