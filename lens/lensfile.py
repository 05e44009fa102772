"""Lens files: the model, loading (with every problem reported at once), calibrations and saving.

A lens file (JSON, ``"schema": "stagectl.lens/1"``, described in docs/lens-files.md) maps raw
encoder counts to normalised zoom / focus / iris, and holds tables over a (zoom, focus) grid of
normalised positions: focal length, focus distance, entrance pupil, principal point and
Brown-Conrady distortion in OpenCV's form and direction (undistorted -> distorted). Loading is
:func:`load_lens_file` (the format and its checker are :mod:`lens.lensfile_check`; every problem is
reported at once, each with its JSON path); :class:`lens.solve.LensSolver` turns it into per-sample
values.

Tables are held as ``tables[field][zoom index][focus index]`` with the fields of
:data:`TABLE_FIELDS`; a focus distance at infinity is ``math.inf`` (``"inf"`` in the file).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from lens.interpolate import PiecewiseLinear, locate, pchip
from lens.lensfile_check import (
    AXES,
    DISTORTION_DIRECTION,
    DISTORTION_FIELDS,
    DISTORTION_MODEL,
    PRINCIPAL_POINT_FIELDS,
    SCHEMA,
    TABLE_FIELDS,
    LensFileError,
    Table,
    check_calibration,
    check_lens_json,
    focal_order_problem,
    focus_order_problem,
)
from stagectl.core.atomic import atomic_write_text
from stagectl.core.check import Locator
from stagectl.core.locate import JsonLocator, json_document

__all__ = [
    "AXES", "DISTORTION_DIRECTION", "DISTORTION_FIELDS", "DISTORTION_MODEL", "PRINCIPAL_POINT_FIELDS",
    "SCHEMA", "SNAP_NORMALISED", "TABLE_FIELDS", "CalibrationPoint", "EncoderMap", "IrisTable", "LensFile",
    "LensFileError", "LensIdentity", "SensorSize", "Table", "dump_lens_file", "focal_order_problem",
    "focus_order_problem", "lens_file_to_json", "load_lens_file", "parse_lens_json", "parse_lens_text",
    "save_lens_file",
]

#: A calibration within this of an existing grid value (normalised) lands on that grid line.
SNAP_NORMALISED = 1e-4


@dataclass(frozen=True)
class LensIdentity:
    """Which physical lens: make, model and serial number."""

    make: str
    model: str
    serial: str


@dataclass(frozen=True)
class SensorSize:
    """The camera's film back: active sensor area in mm and the image size in pixels.

    Principal points in the lens file are in pixels of this image size.
    """

    width_mm: float
    height_mm: float
    width_px: int
    height_px: int


@dataclass(frozen=True)
class EncoderMap:
    """Raw encoder counts -> normalised 0..1, piecewise linear through the points, clamped at the ends.

    Both lists are strictly monotonic (either direction) and equally long (>= 2).
    """

    raw: tuple[int, ...]
    normalised: tuple[float, ...]

    @cached_property
    def _forward(self) -> PiecewiseLinear:
        return PiecewiseLinear(self.raw, self.normalised)

    @cached_property
    def _backward(self) -> PiecewiseLinear:
        return PiecewiseLinear(self.normalised, self.raw)

    def to_normalised(self, raw: float) -> tuple[float, bool]:
        """(normalised value, clamped): clamped when ``raw`` lies beyond the mapped counts."""
        return self._forward(raw)

    def to_raw(self, normalised: float) -> tuple[float, bool]:
        """(fractional raw count, clamped) that maps to ``normalised``, clamped to the mapped range."""
        return self._backward(normalised)


@dataclass(frozen=True)
class IrisTable:
    """T-stop over normalised iris (0 = open), ascending; interpolated in stops (log T)."""

    normalised: tuple[float, ...]
    t_stop: tuple[float, ...]


@dataclass(frozen=True)
class CalibrationPoint:
    """One intrinsic calibration (OpenCV ``calibrateCamera``) at a raw zoom / focus position.

    ``fx_px`` .. ``cy_px`` are in pixels of the calibration images (``image_width_px`` x
    ``image_height_px``, which must show the whole sensor width the lens file's sensor describes);
    ``k1, k2, p1, p2, k3`` are OpenCV's coefficients in OpenCV's order. ``date`` is ISO 8601 text.
    """

    zoom_raw: int
    focus_raw: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    k1: float
    k2: float
    p1: float
    p2: float
    k3: float
    image_width_px: int
    image_height_px: int
    rms_px: float
    images_used: int
    date: str


@dataclass
class LensFile:
    """A lens file in memory. Build a new :class:`lens.solve.LensSolver` after changing one.

    Attributes:
        grid_zoom / grid_focus: ascending normalised positions of the table rows / columns; an
            axis with one value means the tables do not depend on it (1-D interpolation along
            the other axis).
        tables: ``tables[field][zoom index][focus index]`` for the fields of :data:`TABLE_FIELDS`
            present (``focal_length_mm`` always).
        encoders: raw -> normalised maps per axis ("zoom", "focus", "iris") present.
        iris: T-stop over normalised iris, if known.
        calibrations: every calibration added, oldest first (already applied to the tables).
        path: the file this came from (names it in errors and in solved values), if any.
    """

    identity: LensIdentity
    sensor: SensorSize
    grid_zoom: tuple[float, ...]
    grid_focus: tuple[float, ...]
    tables: dict[str, Table]
    encoders: dict[str, EncoderMap] = field(default_factory=dict)
    iris: IrisTable | None = None
    calibrations: list[CalibrationPoint] = field(default_factory=list)
    notes: str = ""
    path: Path | None = None

    @property
    def name(self) -> str | None:
        """The file name (no folder), as solved values name their lens file."""
        return None if self.path is None else self.path.name

    def normalised(self, axis: str, raw: float) -> tuple[float, bool]:
        """``raw`` counts of ``axis`` as (normalised, clamped).

        A one-value grid axis without an encoder mapping gives that value.
        """
        encoder = self.encoders.get(axis)
        if encoder is not None:
            return encoder.to_normalised(raw)
        grid = self.grid_zoom if axis == "zoom" else self.grid_focus
        if axis != "iris" and len(grid) == 1:
            return grid[0], False
        raise LensFileError(f"no encoder mapping for {axis}", path=self._where(), key=f"encoders.{axis}")

    def add_calibration(self, point: CalibrationPoint) -> None:
        """Record ``point`` and write it into the tables at its (zoom, focus) grid node.

        The node is the grid line within :data:`SNAP_NORMALISED` of the point's normalised
        position, else a new grid line is inserted there (its other nodes interpolated from the
        tables as they were, so the rest of the lens does not change; beyond the grid's range only
        when the other axis has one position, since nothing is extrapolated). The node's focal length
        becomes ``fx_px * sensor.width_mm / image_width_px``, its principal point ``(cx, cy)``
        scaled to the sensor's pixel size, its distortion ``k1, k2, k3, p1, p2``. A principal
        point or distortion table the file did not have yet starts as this calibration's values at
        every node. Raises :class:`LensFileError` (and changes nothing) when the point is invalid
        or the result would be (e.g. focal length no longer growing towards tele).
        """
        check_calibration(asdict(point), (self.sensor.width_px, self.sensor.height_px), self._where())
        updated = copy.deepcopy(self)
        updated._apply(point)
        updated.calibrations.append(point)
        try:
            parse_lens_json(lens_file_to_json(updated), self._where())  # the result must be a valid file
        except LensFileError as exc:
            problems = "; ".join(f"{e.key}: {e.detail}" if e.key else e.detail for e in exc.errors)
            raise LensFileError(f"the calibration at raw zoom {point.zoom_raw}, focus {point.focus_raw} does "
                                f"not fit the lens file: {problems}", path=self._where(),
                                key="calibration") from None
        self.grid_zoom, self.grid_focus = updated.grid_zoom, updated.grid_focus
        self.tables, self.calibrations = updated.tables, updated.calibrations

    def _where(self) -> str | None:
        return None if self.path is None else str(self.path)

    def _apply(self, point: CalibrationPoint) -> None:
        s = self.sensor
        zi = self._grid_line("zoom", self.normalised("zoom", point.zoom_raw)[0])
        fi = self._grid_line("focus", self.normalised("focus", point.focus_raw)[0])
        node = {"focal_length_mm": point.fx_px * s.width_mm / point.image_width_px,
                "cx_px": point.cx_px * s.width_px / point.image_width_px,
                "cy_px": point.cy_px * s.height_px / point.image_height_px,
                "k1": point.k1, "k2": point.k2, "k3": point.k3, "p1": point.p1, "p2": point.p2}
        rows, cols = len(self.grid_zoom), len(self.grid_focus)
        for name, value in node.items():
            old = self.tables.get(name)
            grid = [[value] * cols for _ in range(rows)] if old is None else [list(r) for r in old]
            grid[zi][fi] = value
            self.tables[name] = tuple(tuple(r) for r in grid)

    def _grid_line(self, axis: str, value: float) -> int:
        """Index of the grid line at ``value`` on ``axis``, inserting one (interpolated) if none is near."""
        knots = self.grid_zoom if axis == "zoom" else self.grid_focus
        for i, knot in enumerate(knots):
            if abs(knot - value) <= SNAP_NORMALISED:
                return i
        index = sum(1 for knot in knots if knot < value)
        other = self.grid_focus if axis == "zoom" else self.grid_zoom
        if len(knots) > 1 and len(other) > 1 and index in (0, len(knots)):
            raise LensFileError(
                f"{axis} {value:.4f} lies outside the grid's {axis} range {knots[0]:g}..{knots[-1]:g}: the "
                "other nodes of a new grid line there would have to be extrapolated; calibrate inside the "
                "range, or add the grid line with its values first (stagectl lens export / import)",
                path=self._where(), key=f"calibration.{axis}_raw")
        for name, table in self.tables.items():
            lines = [list(r) for r in (table if axis == "zoom" else zip(*table, strict=True))]
            new_line = [_interpolate_line(knots, [line[k] for line in lines], value, len(other) == 1, name)
                        for k in range(len(other))]
            lines.insert(index, new_line)
            rows = lines if axis == "zoom" else [list(c) for c in zip(*lines, strict=True)]
            self.tables[name] = tuple(tuple(r) for r in rows)
        if axis == "zoom":
            self.grid_zoom = (*knots[:index], value, *knots[index:])
        else:
            self.grid_focus = (*knots[:index], value, *knots[index:])
        return index


def _interpolate_line(knots: tuple[float, ...], values: list[float], x: float, smooth: bool,
                      name: str) -> float:
    """One table value at ``x`` along an axis, the way the solver interpolates it (dioptres for focus)."""
    if name == "focus_distance_m":
        dioptres = [0.0 if v == math.inf else 1.0 / v for v in values]
        d = _interpolate_line(knots, dioptres, x, smooth, "")
        return math.inf if d <= 0.0 else 1.0 / d
    if smooth:
        return pchip(knots, values, x)[0]
    i, t, _ = locate(knots, x)
    j = min(i + 1, len(knots) - 1)
    return values[i] + t * (values[j] - values[i])


def parse_lens_json(data: Any, where: str | None = None, locator: Locator | None = None) -> LensFile:
    """A lens file from its decoded JSON; :class:`LensFileError` listing every problem (``where`` names
    the file, ``locator`` adds each problem's line)."""
    parts = check_lens_json(data, where, locator)
    return LensFile(LensIdentity(**parts.identity), SensorSize(**parts.sensor), parts.grid_zoom,
                    parts.grid_focus, parts.tables,
                    {axis: EncoderMap(*pair) for axis, pair in parts.encoders.items()},
                    None if parts.iris is None else IrisTable(*parts.iris),
                    [CalibrationPoint(**values) for values in parts.calibrations], parts.notes)


def parse_lens_text(text: str, where: str | None = None, *, lines: bool = True) -> LensFile:
    """A lens file from its JSON text; :class:`LensFileError` listing every problem, each with its line
    (the text is scanned for lines only when there is a problem; ``lines=False`` names keys alone)."""
    data = json_document(text, where, LensFileError)
    return parse_lens_json(data, where, JsonLocator(text) if lines else None)


def load_lens_file(path: str | Path) -> LensFile:
    """Read and validate the lens file at ``path``; raises :class:`LensFileError` listing every problem."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LensFileError(f"cannot read the lens file: {exc.strerror or exc}", path=where) from None
    except UnicodeDecodeError as exc:
        raise LensFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=where) from None
    lens = parse_lens_text(text, where, lines=True)
    lens.path = Path(path)
    return lens


def _json_table(name: str, table: Table) -> list[list[Any]]:
    if name == "focus_distance_m":
        return [["inf" if v == math.inf else v for v in row] for row in table]
    return [list(row) for row in table]


def lens_file_to_json(lens: LensFile) -> dict[str, Any]:
    """The lens file as its JSON object (infinity as ``"inf"``)."""
    t = lens.tables
    scalar = ("focal_length_mm", "focus_distance_m", "entrance_pupil_m")
    tables: dict[str, Any] = {name: _json_table(name, t[name]) for name in scalar if name in t}
    if "cx_px" in t:
        tables["principal_point_px"] = [[[cx, cy] for cx, cy in zip(rx, ry, strict=True)]
                                        for rx, ry in zip(t["cx_px"], t["cy_px"], strict=True)]
    if "k1" in t:
        tables["distortion"] = {"model": DISTORTION_MODEL, "direction": DISTORTION_DIRECTION,
                                **{name: _json_table(name, t[name]) for name in DISTORTION_FIELDS}}
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "identity": {f.name: getattr(lens.identity, f.name) for f in fields(LensIdentity)},
        "sensor": {f.name: getattr(lens.sensor, f.name) for f in fields(SensorSize)},
        "encoders": {axis: {"raw": list(m.raw), "normalised": list(m.normalised)}
                     for axis, m in sorted(lens.encoders.items(), key=lambda item: AXES.index(item[0]))},
        "grid": {"zoom": list(lens.grid_zoom), "focus": list(lens.grid_focus)},
        "tables": tables,
    }
    if lens.iris is not None:
        out["iris"] = {"normalised": list(lens.iris.normalised), "t_stop": list(lens.iris.t_stop)}
    if lens.calibrations:
        out["calibrations"] = [{f.name: getattr(c, f.name) for f in fields(CalibrationPoint)}
                               for c in lens.calibrations]
    if lens.notes:
        out["notes"] = lens.notes
    return out


def _dump(value: Any, indent: int) -> str:
    """JSON with lists of numbers (table rows, points) on one line, everything else indented."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        flat = all(isinstance(v, list) and not any(isinstance(x, dict | list) for x in v) for v in value)
        if flat and len(value) <= 16 and all(len(v) <= 2 for v in value):  # a row of [cx, cy] points
            return "[" + ", ".join(_dump(v, indent) for v in value) + "]"
        return "[\n" + ",\n".join(inner + _dump(v, indent + 2) for v in value) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(", ", ": "))


def dump_lens_file(lens: LensFile) -> str:
    """The lens file's text, as :func:`save_lens_file` writes it (validated first)."""
    data = lens_file_to_json(lens)
    parse_lens_json(data, lens._where())
    return _dump(data, 0) + "\n"


def save_lens_file(lens: LensFile, path: str | Path) -> None:
    """Validate ``lens`` and write it to ``path`` atomically (the old file survives any failure)."""
    text = dump_lens_file(lens)
    atomic_write_text(path, text)
    lens.path = Path(path)
