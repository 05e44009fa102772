"""``stagectl lens calibrate``: intrinsics and distortion from board images, optionally into a lens file.

``-o LENSFILE`` adds the point to that lens file; a file that does not exist yet is created for it
(a new lens): identity from ``--make`` / ``--model`` / ``--serial`` or the defaults, the sensor from
``--sensor-width-mm`` and the images' shape, an encoder map for each of ``--zoom`` / ``--focus``
given; the command says that it created the file and with what.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from stagectl.core.errors import StageError

#: What a folder given as IMAGE contributes (sorted by name).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
#: --sensor-width-mm and the lens file's sensor may differ by this fraction before it is an error.
SENSOR_WIDTH_TOLERANCE = 1e-3

if TYPE_CHECKING:  # lens.calibrate loads OpenCV: imported when the command runs, not for `--help`
    from lens.calibrate import BoardKind, CalibrationResult
    from lens.lensfile import CalibrationPoint, LensFile


class _UsageError(StageError):
    """Arguments that do not fit together (exit status 2)."""


def expand_images(args: list[str]) -> list[Path]:
    """The image paths: files as given (missing ones too: calibrate rejects them), folders expanded."""
    paths: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise _UsageError(f"{arg}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
            paths.extend(found)
        else:
            paths.append(path)
    return paths


def result_json(result: CalibrationResult, lens_file: str | None = None) -> dict[str, Any]:
    """The ``--json`` object: the intrinsics and distortion first, then the detail behind them."""
    return {
        "fx_px": result.fx_px, "fy_px": result.fy_px, "cx_px": result.cx_px, "cy_px": result.cy_px,
        "k1": result.k1, "k2": result.k2, "p1": result.p1, "p2": result.p2, "k3": result.k3,
        "rms_px": result.rms_px, "focal_length_mm": result.focal_length_mm,
        "images_used": result.images_used, "images_rejected": len(result.rejected),
        "image_width_px": result.image_width_px, "image_height_px": result.image_height_px,
        "sensor_width_mm": result.sensor_width_mm,
        "per_image": [{"name": r.name, "rms_px": r.rms_px, "corners": r.corners} for r in result.per_image],
        "rejected": [{"name": r.name, "reason": r.reason} for r in result.rejected],
        "lens_file": lens_file,
    }


def print_report(result: CalibrationResult, out: TextIO) -> None:
    """The human report: per-image RMS, rejected images with reasons, total and the solved lens."""
    total = result.images_used + len(result.rejected)
    width = max([len("image"), *(len(r.name) for r in result.per_image)])
    print(f"{'image':<{width}}  corners  RMS px", file=out)
    for row in result.per_image:
        print(f"{row.name:<{width}}  {row.corners:>7}  {row.rms_px:6.3f}", file=out)
    if result.rejected:
        print(f"rejected ({len(result.rejected)}):", file=out)
        for rejected in result.rejected:
            print(f"  {rejected.name}: {rejected.reason}", file=out)
    print(f"total RMS {result.rms_px:.3f} px from {result.images_used} of {total} images", file=out)
    print(f"fx {result.fx_px:.2f} px  fy {result.fy_px:.2f} px  cx {result.cx_px:.2f} px  "
          f"cy {result.cy_px:.2f} px  ({result.image_width_px}x{result.image_height_px})", file=out)
    print(f"k1 {result.k1:.5f}  k2 {result.k2:.5f}  p1 {result.p1:.5f}  p2 {result.p2:.5f}  "
          f"k3 {result.k3:.5f}", file=out)
    print(f"focal length {result.focal_length_mm:.3f} mm (sensor width {result.sensor_width_mm:g} mm)",
          file=out)


def _raw_position(lens: LensFile, axis: str, value: int | None) -> int:
    """The raw count for ``axis``: as given, or 0 for an axis the lens file has no encoder for."""
    if value is not None:
        return value
    if axis in lens.encoders:
        raise _UsageError(f"-o needs --{axis} RAW: the lens file maps {axis} encoder counts, "
                          "so the point must say where it was taken")
    return 0


def add_to_lens_file(result: CalibrationResult, lens: LensFile, path: str, zoom_raw: int | None,
                     focus_raw: int | None) -> CalibrationPoint:
    """Add ``result`` as a calibration point to ``lens``, save it to ``path`` atomically; the point."""
    from lens.lensfile import CalibrationPoint, save_lens_file

    point = CalibrationPoint(
        zoom_raw=_raw_position(lens, "zoom", zoom_raw), focus_raw=_raw_position(lens, "focus", focus_raw),
        fx_px=result.fx_px, fy_px=result.fy_px, cx_px=result.cx_px, cy_px=result.cy_px,
        k1=result.k1, k2=result.k2, p1=result.p1, p2=result.p2, k3=result.k3,
        image_width_px=result.image_width_px, image_height_px=result.image_height_px,
        rms_px=result.rms_px, images_used=result.images_used,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    lens.add_calibration(point)
    save_lens_file(lens, path)
    return point


def new_lens_for(result: CalibrationResult, path: str, zoom_raw: int | None, focus_raw: int | None,
                 identity: dict[str, str | None]) -> LensFile:
    """A new lens file for ``path`` holding one grid node where ``result`` was taken: the sensor
    ``result.sensor_width_mm`` wide in the images' shape and pixels, an encoder map (the default) for
    each raw position given, identity from ``identity`` (make, model, serial) or the defaults."""
    from stagectl.commands.lens import DEFAULT_ENCODER_RAW, new_lens_file

    width_px, height_px = result.image_width_px, result.image_height_px
    sensor_mm = (result.sensor_width_mm, result.sensor_width_mm * height_px / width_px)
    axes = tuple(axis for axis, raw in (("zoom", zoom_raw), ("focus", focus_raw)) if raw is not None)
    span = DEFAULT_ENCODER_RAW[1] - DEFAULT_ENCODER_RAW[0]
    grid = tuple(0.0 if raw is None else min(max((raw - DEFAULT_ENCODER_RAW[0]) / span, 0.0), 1.0)
                 for raw in (zoom_raw, focus_raw))
    return new_lens_file(path, make=identity.get("make"), model=identity.get("model"),
                         serial=identity.get("serial"), sensor_mm=sensor_mm, sensor_px=(width_px, height_px),
                         encoder_axes=axes, grid=(grid[0], grid[1]), focal_length_mm=result.focal_length_mm)


def _sensor_width(given: float | None, lens: LensFile | None, path: str | None) -> float:
    if lens is None:
        if given is None:
            if path is not None:
                raise _UsageError(f"--sensor-width-mm is required: {path} does not exist yet, so it is "
                                  "created, and its sensor width turns the point into focal length")
            raise _UsageError("--sensor-width-mm is required (or -o LENSFILE, whose sensor width is used)")
        return given
    if given is None:
        return lens.sensor.width_mm
    if not math.isclose(given, lens.sensor.width_mm, rel_tol=SENSOR_WIDTH_TOLERANCE):
        raise _UsageError(f"--sensor-width-mm {given:g} differs from the sensor width of {path} "
                          f"({lens.sensor.width_mm:g} mm), which turns the point into focal length; "
                          "give the same width or leave it out")
    return given


def _progress_printer(err: TextIO) -> Callable[[int, int, str], None] | None:
    """Progress lines on stderr, for a person watching a terminal only."""

    def show(done: int, total: int, message: str) -> None:
        print(f"[{done}/{total}] {message}", file=err, flush=True)

    return show if err.isatty() else None


def lens_calibrate(images: list[str], *, board_kind: BoardKind, inner_corners: tuple[int, int],
                   square_mm: float, marker_mm: float | None = None, dictionary: str = "DICT_5X5_100",
                   sensor_width_mm: float | None = None, zoom_raw: int | None = None,
                   focus_raw: int | None = None, output: str | None = None, as_json: bool = False,
                   out: TextIO | None = None, err: TextIO | None = None, make: str | None = None,
                   model: str | None = None, serial: str | None = None) -> int:
    """Run a calibration and report it (``out``/``err`` default to stdout/stderr at call time).

    ``output`` that does not exist is created (:func:`new_lens_for`; ``make`` / ``model`` / ``serial``
    name the lens, else defaults), and the command says so on ``err``.
    Exit status 0 done, 1 calibration or lens-file failure, 2 bad usage, 130 interrupted.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    from lens.calibrate import BoardSpec, CalibrationCancelled, CalibrationError, calibrate
    from lens.lensfile import load_lens_file

    prog = "stagectl lens calibrate"
    try:
        board = BoardSpec(board_kind, inner_corners, square_mm, marker_mm, dictionary)
        paths = expand_images(images)
        create = output is not None and not Path(output).exists()
        # a bad lens file fails before the work
        lens = None if output is None or create else load_lens_file(output)
        sensor = _sensor_width(sensor_width_mm, lens, output)
        if lens is not None:
            _raw_position(lens, "zoom", zoom_raw)
            _raw_position(lens, "focus", focus_raw)
    except StageError as exc:
        print(f"{prog}: {exc}", file=err)
        return 2
    try:
        result = calibrate(paths, board, sensor, progress=_progress_printer(err))
    except CalibrationCancelled:
        print(f"{prog}: cancelled", file=err)
        return 130
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=err)
        return 130
    except CalibrationError as exc:
        print(f"{prog}: {exc}", file=err)
        return 1
    point = None
    if output is not None and (lens is not None or create):
        try:
            if lens is None:
                lens = new_lens_for(result, output, zoom_raw, focus_raw,
                                    {"make": make, "model": model, "serial": serial})
            point = add_to_lens_file(result, lens, output, zoom_raw, focus_raw)
            if create:
                from stagectl.commands.lens import describe_new_lens

                given = {"make": make is not None, "model": model is not None, "serial": serial is not None,
                         "sensor": True}
                print(f"{prog}: {describe_new_lens(lens, output, given)}", file=err)
        except (StageError, OSError) as exc:
            if as_json:
                print(json.dumps(result_json(result)), file=out)
            else:
                print_report(result, out)
            print(f"{prog}: calibrated, but not added to {output}: {exc}", file=err)
            return 1
    if as_json:
        print(json.dumps(result_json(result, output)), file=out)
    else:
        print_report(result, out)
        if point is not None:
            print(f"added to {output} at raw zoom {point.zoom_raw}, focus {point.focus_raw}", file=out)
    return 0


def run_lens_calibrate(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``stagectl lens calibrate`` from the parsed command line (see stagectl/cli.py)."""
    return lens_calibrate(
        list(args.images), board_kind=args.board, inner_corners=args.inner_corners, square_mm=args.square_mm,
        marker_mm=args.marker_mm, dictionary=args.dictionary, sensor_width_mm=args.sensor_width_mm,
        zoom_raw=args.zoom, focus_raw=args.focus, output=args.output, as_json=args.json, out=out, err=err,
        make=getattr(args, "make", None), model=getattr(args, "model", None),
        serial=getattr(args, "serial", None))
