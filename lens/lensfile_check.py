"""Validation of lens files: JSON text -> :class:`lens.lensfile.LensFile`, or every problem at once.

Each problem names the file and the JSON path of the value (``lens.json: grid.zoom[3]: not
ascending (0.5 after 0.6)``), says what was wrong and what is allowed. A wrong schema version
is reported alone: the rest of such a file follows another format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import fields
from datetime import date, datetime
from typing import Any

from lens.interpolate import strictly_monotonic
from lens.lensfile import (
    AXES,
    DISTORTION_DIRECTION,
    DISTORTION_FIELDS,
    DISTORTION_MODEL,
    SCHEMA,
    CalibrationPoint,
    EncoderMap,
    IrisTable,
    LensFile,
    LensFileError,
    LensIdentity,
    SensorSize,
    Table,
    focal_order_problem,
    focus_order_problem,
)
from stagectl.core.errors import ConfigError
from stagectl.core.text import did_you_mean

_TOP_REQUIRED = ("schema", "identity", "sensor", "grid", "tables")
_TOP_OPTIONAL = ("encoders", "iris", "calibrations", "notes")
_TABLE_KEYS = ("focal_length_mm", "focus_distance_m", "entrance_pupil_m", "principal_point_px", "distortion")
_CALIBRATION_INTS = ("zoom_raw", "focus_raw", "image_width_px", "image_height_px", "images_used")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return "a list" if isinstance(value, list) else "an object"


def _key(base: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{base}[{part}]"
    return f"{base}.{part}" if base else part


def _reject_constant(name: str) -> float:
    return float(name.replace("Infinity", "inf"))  # NaN / Infinity tokens: kept, then reported as not finite


class _Checker:
    """Collects every problem; each parse method returns None for a value it rejected."""

    def __init__(self, where: str | None) -> None:
        self.where = where
        self.errors: list[ConfigError] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(ConfigError(message, path=self.where, key=key or None))

    def obj(self, value: Any, key: str, required: tuple[str, ...],
            optional: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(key, f"expected an object, got {_kind(value)}")
            return None
        allowed = required + optional
        for name in value:
            if name not in allowed:
                self.error(_key(key, name),
                           f"unknown key{did_you_mean(name, allowed)}; allowed: {', '.join(allowed)}")
        for name in required:
            if name not in value:
                self.error(_key(key, name), "missing (required)")
        return value if all(name in value for name in required) else None

    def number(self, value: Any, key: str, *, positive: bool = False, allow_inf: bool = False,
               low: float | None = None, high: float | None = None) -> float | None:
        if allow_inf and value == "inf":
            return math.inf
        if isinstance(value, bool) or not isinstance(value, int | float):
            extra = ' or "inf"' if allow_inf else ""
            self.error(key, f"expected a number{extra}, got {_kind(value)}")
            return None
        number = float(value)
        if not math.isfinite(number):
            hint = ' (write "inf" for a focus at infinity)' if allow_inf and number > 0 else ""
            self.error(key, f"not a finite number ({value}){hint}")
            return None
        if positive and number <= 0.0:
            self.error(key, f"must be > 0, got {value}")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.error(key, f"must be within {low:g}..{high:g}, got {value}")
            return None
        return number

    def integer(self, value: Any, key: str, *, minimum: int = 0) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"expected a whole number, got {_kind(value)}")
            return None
        if value < minimum:
            self.error(key, f"must be >= {minimum}, got {value}")
            return None
        return value

    def text(self, value: Any, key: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.error(key, f"expected a non-empty string, got {_kind(value)}")
            return None
        return value

    def numbers(self, value: Any, key: str, *, length: int | None = None, min_length: int = 1,
                what: str = "values", **kw: Any) -> list[float] | None:
        if not isinstance(value, list):
            self.error(key, f"expected a list of numbers, got {_kind(value)}")
            return None
        if length is not None and len(value) != length:
            self.error(key, f"expected {length} {what}, got {len(value)}")
            return None
        if len(value) < min_length:
            self.error(key, f"expected at least {min_length} {what}, got {len(value)}")
            return None
        out = [self.number(v, _key(key, i), **kw) for i, v in enumerate(value)]
        return None if any(v is None for v in out) else [v for v in out if v is not None]

    def ascending(self, values: list[float], key: str, what: str = "") -> bool:
        for i in range(1, len(values)):
            if not values[i] > values[i - 1]:
                self.error(_key(key, i), f"not ascending ({values[i]:g} after {values[i - 1]:g}){what}")
                return False
        return True

    def table(self, value: Any, key: str, shape: tuple[int, int] | None, **kw: Any) -> Table | None:
        if shape is None:
            return None
        rows, cols = shape
        if not isinstance(value, list) or len(value) != rows:
            got = f"{len(value)}" if isinstance(value, list) else _kind(value)
            self.error(key, f"expected {rows} rows (one per grid.zoom value), got {got}")
            return None
        out = [self.numbers(row, _key(key, i), length=cols, what="values (one per grid.focus value)", **kw)
               for i, row in enumerate(value)]
        return None if any(r is None for r in out) else tuple(tuple(r) for r in out if r is not None)


def parse_lens_text(text: str, where: str | None = None) -> LensFile:
    """Parse and validate lens-file JSON text; ``where`` names the file in errors."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise LensFileError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=where,
                            line=exc.lineno) from None
    return parse_lens_json(data, where)


def parse_lens_json(data: Any, where: str | None = None) -> LensFile:
    """Validate a decoded lens file; raises :class:`LensFileError` listing every problem."""
    c = _Checker(where)
    if not isinstance(data, dict):
        raise LensFileError(f"expected a JSON object, got {_kind(data)}", path=where)
    schema = data.get("schema")
    if schema != SCHEMA:
        problem = "missing" if schema is None else f"{_kind(schema)} is not supported"
        raise LensFileError(f"{problem}: this stagectl reads {SCHEMA!r} lens files", path=where, key="schema")
    top = c.obj(data, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    identity = _identity(c, data.get("identity"))
    sensor = _sensor(c, data.get("sensor"))
    zoom, focus = _grid(c, data.get("grid"))
    encoders = _encoders(c, data.get("encoders", {}), zoom, focus)
    shape = None if zoom is None or focus is None else (len(zoom), len(focus))
    tables = _tables(c, data.get("tables"), shape)
    iris = _iris(c, data["iris"]) if "iris" in data else None
    calibrations = [_calibration(c, v, _key("calibrations", i))
                    for i, v in enumerate(_list(c, data, "calibrations"))]
    if iris is not None and len(iris.normalised) > 1 and "iris" not in encoders and not any(
            (e.key or "").startswith("encoders.iris") for e in c.errors):
        c.error("encoders.iris", "missing: iris has T-stops at several positions, so raw iris counts need "
                                 "a mapping to them")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        c.error("notes", f"expected a string, got {_kind(notes)}")
    if c.errors or top is None or None in (identity, sensor, zoom, focus, tables) or None in calibrations:
        raise LensFileError.collect(c.errors or [ConfigError("invalid lens file", path=where)], where)
    assert identity and sensor and zoom and focus and tables is not None
    return LensFile(identity, sensor, tuple(zoom), tuple(focus), tables, encoders, iris,
                    [p for p in calibrations if p is not None], notes if isinstance(notes, str) else "")


def _list(c: _Checker, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        c.error(key, f"expected a list, got {_kind(value)}")
        return []
    return value


def _identity(c: _Checker, value: Any) -> LensIdentity | None:
    obj = c.obj(value, "identity", ("make", "model", "serial"))
    if obj is None:
        return None
    make, model, serial = (c.text(obj[k], _key("identity", k)) for k in ("make", "model", "serial"))
    return LensIdentity(make, model, serial) if make and model and serial else None


def _sensor(c: _Checker, value: Any) -> SensorSize | None:
    obj = c.obj(value, "sensor", ("width_mm", "height_mm", "width_px", "height_px"))
    if obj is None:
        return None
    w_mm, h_mm = (c.number(obj[k], _key("sensor", k), positive=True) for k in ("width_mm", "height_mm"))
    w_px, h_px = (c.integer(obj[k], _key("sensor", k), minimum=1) for k in ("width_px", "height_px"))
    if w_mm is None or h_mm is None or w_px is None or h_px is None:
        return None
    return SensorSize(w_mm, h_mm, w_px, h_px)


def _grid(c: _Checker, value: Any) -> tuple[list[float] | None, list[float] | None]:
    obj = c.obj(value, "grid", ("zoom", "focus"))
    if obj is None:
        return None, None
    axes = []
    for axis in ("zoom", "focus"):
        key = _key("grid", axis)
        knots = c.numbers(obj[axis], key, what="normalised positions", low=0.0, high=1.0)
        axes.append(knots if knots is not None and c.ascending(knots, key) else None)
    return axes[0], axes[1]


def _encoders(c: _Checker, value: Any, zoom: list[float] | None,
              focus: list[float] | None) -> dict[str, EncoderMap]:
    obj = c.obj(value, "encoders", (), AXES)
    out: dict[str, EncoderMap] = {}
    if obj is None:
        return out
    for axis, knots in (("zoom", zoom), ("focus", focus)):
        if knots is not None and len(knots) > 1 and axis not in obj:
            c.error(_key("encoders", axis), f"missing: grid.{axis} has {len(knots)} positions, so raw {axis} "
                                            "counts need a mapping to them")
    for axis, mapping in obj.items():
        key = _key("encoders", axis)
        pair = c.obj(mapping, key, ("raw", "normalised")) if axis in AXES else None
        if pair is None:
            continue
        raw = pair["raw"]
        if not isinstance(raw, list) or len(raw) < 2:
            c.error(_key(key, "raw"), f"expected a list of at least 2 raw counts, got {_kind(raw)}")
            continue
        counts = [c.integer(v, _key(_key(key, "raw"), i)) for i, v in enumerate(raw)]
        norm = c.numbers(pair["normalised"], _key(key, "normalised"), length=len(raw),
                         what="normalised values (one per raw count)", low=0.0, high=1.0)
        if norm is None or any(v is None for v in counts):
            continue
        ints = [v for v in counts if v is not None]
        if not strictly_monotonic(ints):
            c.error(_key(key, "raw"), f"not strictly monotonic ({ints}): each count must map to one position")
        elif not strictly_monotonic(norm):
            c.error(_key(key, "normalised"), f"not strictly monotonic ({norm})")
        else:
            out[axis] = EncoderMap(tuple(ints), tuple(norm))
    return out


def _tables(c: _Checker, value: Any, shape: tuple[int, int] | None) -> dict[str, Table] | None:
    obj = c.obj(value, "tables", ("focal_length_mm",), _TABLE_KEYS[1:])
    if obj is None:
        return None
    before = len(c.errors)
    out: dict[str, Table] = {}
    focal = c.table(obj["focal_length_mm"], "tables.focal_length_mm", shape, positive=True)
    for j, column in enumerate(zip(*focal, strict=True) if focal else ()):
        i = _first_break(column, lambda a, b: b > a)
        if i:
            c.error(f"tables.focal_length_mm[{i}][{j}]", focal_order_problem(column[i], column[i - 1]))
    if "focus_distance_m" in obj:
        distance = c.table(obj["focus_distance_m"], "tables.focus_distance_m", shape, positive=True,
                           allow_inf=True)
        for i, row in enumerate(distance or ()):
            j = _first_break(row, lambda a, b: b < a)
            if j:
                c.error(f"tables.focus_distance_m[{i}][{j}]", focus_order_problem(row[j], row[j - 1]))
        if distance is not None:
            out["focus_distance_m"] = distance
    if "entrance_pupil_m" in obj:
        pupil = c.table(obj["entrance_pupil_m"], "tables.entrance_pupil_m", shape)
        if pupil is not None:
            out["entrance_pupil_m"] = pupil
    if "principal_point_px" in obj:
        _principal_point(c, obj["principal_point_px"], shape, out)
    if "distortion" in obj:
        dist = c.obj(obj["distortion"], "tables.distortion", ("model", "direction", *DISTORTION_FIELDS))
        if dist is not None:
            for name, expected in (("model", DISTORTION_MODEL), ("direction", DISTORTION_DIRECTION)):
                if dist[name] != expected:
                    c.error(f"tables.distortion.{name}", f"{_kind(dist[name])} is not supported; allowed: "
                                                         f"{expected!r}")
            for name in DISTORTION_FIELDS:
                table = c.table(dist[name], f"tables.distortion.{name}", shape)
                if table is not None:
                    out[name] = table
    if focal is None or len(c.errors) > before:
        return None
    out["focal_length_mm"] = focal
    return out


def _first_break(values: tuple[float, ...], ok: Callable[[float, float], bool]) -> int:
    """The first index whose value is not ``ok`` after the one before it, or 0."""
    return next((i for i in range(1, len(values)) if not ok(values[i - 1], values[i])), 0)


def _principal_point(c: _Checker, value: Any, shape: tuple[int, int] | None, out: dict[str, Table]) -> None:
    key = "tables.principal_point_px"
    if shape is None:
        return
    if not isinstance(value, list) or len(value) != shape[0]:
        c.error(key, f"expected {shape[0]} rows (one per grid.zoom value), got "
                     f"{len(value) if isinstance(value, list) else _kind(value)}")
        return
    cx: list[tuple[float, ...]] = []
    cy: list[tuple[float, ...]] = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != shape[1]:
            c.error(_key(key, i), f"expected {shape[1]} [cx, cy] points (one per grid.focus value)")
            return
        points = [c.numbers(p, _key(_key(key, i), j), length=2, what="numbers [cx, cy]")
                  for j, p in enumerate(row)]
        if any(p is None for p in points):
            return
        cx.append(tuple(p[0] for p in points if p))
        cy.append(tuple(p[1] for p in points if p))
    out["cx_px"], out["cy_px"] = tuple(cx), tuple(cy)


def _iris(c: _Checker, value: Any) -> IrisTable | None:
    obj = c.obj(value, "iris", ("normalised", "t_stop"))
    if obj is None:
        return None
    norm = c.numbers(obj["normalised"], "iris.normalised", what="normalised positions", low=0.0, high=1.0)
    stops = c.numbers(obj["t_stop"], "iris.t_stop", length=len(norm) if norm else None,
                      what="T-stops (one per iris.normalised value)", positive=True)
    if norm is None or stops is None or not c.ascending(norm, "iris.normalised"):
        return None
    if not c.ascending(stops, "iris.t_stop", ": the T-stop must grow as the iris closes (iris 0 = open)"):
        return None
    return IrisTable(tuple(norm), tuple(stops))


def _calibration(c: _Checker, value: Any, key: str) -> CalibrationPoint | None:
    names = tuple(f.name for f in fields(CalibrationPoint))
    obj = c.obj(value, key, names)
    if obj is None:
        return None
    before = len(c.errors)
    values: dict[str, Any] = {}
    for name in names:
        k = _key(key, name)
        if name in _CALIBRATION_INTS:
            values[name] = c.integer(obj[name], k, minimum=1 if name.startswith("image_") else 0)
        elif name == "date":
            values[name] = _iso_date(c, obj[name], k)
        else:
            rms = name == "rms_px"
            values[name] = c.number(obj[name], k, positive=name in ("fx_px", "fy_px"),
                                    low=0.0 if rms else None, high=math.inf if rms else None)
    return None if len(c.errors) > before else CalibrationPoint(**values)


def _iso_date(c: _Checker, value: Any, key: str) -> str | None:
    text = c.text(value, key)
    if text is None:
        return None
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
            return text
        except ValueError:
            pass
    c.error(key, f"not an ISO 8601 date or date-time ({text!r}); e.g. '2026-11-21' or '2026-11-21T14:05:00'")
    return None


def check_calibration(point: CalibrationPoint, sensor: SensorSize, where: str | None) -> None:
    """Raise :class:`LensFileError` (key ``calibration.<field>``) if ``point`` is not a usable calibration."""
    c = _Checker(where)
    _calibration(c, {f.name: getattr(point, f.name) for f in fields(CalibrationPoint)}, "calibration")
    if not c.errors:
        aspect, image = sensor.width_px / sensor.height_px, point.image_width_px / point.image_height_px
        if abs(image / aspect - 1.0) > 0.01:
            c.error("calibration.image_width_px", f"calibration images of {point.image_width_px} x "
                    f"{point.image_height_px} px are not the shape of the sensor's {sensor.width_px} x "
                    f"{sensor.height_px} px: calibrate on images of the whole sensor area")
        for name, limit in (("cx_px", point.image_width_px), ("cy_px", point.image_height_px)):
            if not 0.0 <= getattr(point, name) <= limit:
                c.error(f"calibration.{name}", f"{getattr(point, name)} lies outside the image (0..{limit})")
    if c.errors:
        raise LensFileError.collect(c.errors, where)
