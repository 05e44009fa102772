"""The lens file format and its checker: what a lens file's JSON must hold, every problem at once.

Each problem names the file and the JSON path of the value (``lens.json: grid.zoom[3]: not
ascending (0.5 after 0.6)``; with a locator, the line too), says what was wrong and what is
allowed. A wrong schema version is reported alone: the rest of such a file follows another format.

This module knows the format, not the model: :func:`check_lens_json` returns the checked values as
plain data (:class:`LensParts`), which :mod:`lens.lensfile` turns into a ``LensFile``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from lens.interpolate import strictly_monotonic
from stagectl.core.check import JSON, Checker, DocumentErrors, KeyPath, Locator

SCHEMA = "stagectl.lens/1"
AXES = ("zoom", "focus", "iris")
#: Every table over the (zoom, focus) grid; focal length is required, the groups below all-or-none.
TABLE_FIELDS = ("focal_length_mm", "focus_distance_m", "entrance_pupil_m", "cx_px", "cy_px",
                "k1", "k2", "k3", "p1", "p2")
PRINCIPAL_POINT_FIELDS = ("cx_px", "cy_px")
DISTORTION_FIELDS = ("k1", "k2", "k3", "p1", "p2")
DISTORTION_MODEL = "brown-conrady"
DISTORTION_DIRECTION = "undistorted-to-distorted (OpenCV)"
#: The fields of one calibration, in the order of ``lens.lensfile.CalibrationPoint``.
CALIBRATION_FIELDS = ("zoom_raw", "focus_raw", "fx_px", "fy_px", "cx_px", "cy_px", "k1", "k2", "p1", "p2",
                      "k3", "image_width_px", "image_height_px", "rms_px", "images_used", "date")

Table = tuple[tuple[float, ...], ...]

_TOP_REQUIRED = ("schema", "identity", "sensor", "grid", "tables")
_TOP_OPTIONAL = ("encoders", "iris", "calibrations", "notes")
_TABLE_KEYS = ("focal_length_mm", "focus_distance_m", "entrance_pupil_m", "principal_point_px", "distortion")
_CALIBRATION_INTS = ("zoom_raw", "focus_raw", "image_width_px", "image_height_px", "images_used")
_LARGEST_INT = 2 ** 53  # every integer up to here is exact as a float
_INF_HINT = ' (write "inf" for a focus at infinity)'


class LensFileError(DocumentErrors):
    """A lens file, lens table or lens value is not valid.

    ``path`` names the file, ``key`` the JSON path (``grid.zoom[3]``) or CSV column, ``line`` the
    line in the file (or the CSV row) where known. ``errors`` holds every problem found (one
    :class:`ConfigError` each); with several, the message is ``"<file>: N errors:"`` followed by one
    line per error.
    """


class LensParts(NamedTuple):
    """A checked lens file as plain values (the arguments of the model's classes)."""

    identity: dict[str, str]
    sensor: dict[str, Any]
    grid_zoom: tuple[float, ...]
    grid_focus: tuple[float, ...]
    tables: dict[str, Table]
    encoders: dict[str, tuple[tuple[int, ...], tuple[float, ...]]]
    """axis -> (raw counts, normalised positions)."""
    iris: tuple[tuple[float, ...], tuple[float, ...]] | None
    """(normalised positions, T-stops)."""
    calibrations: list[dict[str, Any]]
    notes: str


def focal_order_problem(focal_mm: float, previous_mm: float) -> str:
    """The message for a focal length that does not grow towards tele (lens files and CSV tables)."""
    return (f"{focal_mm:g} mm is not longer than the previous zoom position's {previous_mm:g} mm: focal "
            "length must grow from wide (zoom 0) to tele (zoom 1)")


def focus_order_problem(distance_m: float, previous_m: float) -> str:
    """The message for a focus distance that does not come closer as normalised focus grows."""
    return (f"{distance_m:g} m is not closer than the previous focus position's {previous_m:g} m: focus "
            "distance must shrink from infinity (focus 0) to closest (focus 1)")


class _LensChecker(Checker):
    """The kernel checker in the JSON dialect, with the lens file's compound values."""

    def text(self, value: Any, key: KeyPath) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.error(key, f"expected a non-empty string, got {self.dialect.describe(value)}")
            return None
        return value

    def number(self, value: Any, key: KeyPath, **kw: Any) -> Any:
        """The kernel's number check, refusing integers too large to be a float (JSON allows any length)."""
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST_INT:
            self.error(key, f"a {len(str(abs(value)))}-digit integer is too large; allowed: at most "
                            f"{_LARGEST_INT} (2**53)")
            return None
        return super().number(value, key, **kw)

    def finite(self, value: Any, key: KeyPath, *, positive: bool = False, allow_inf: bool = False,
               low: float | None = None, high: float | None = None) -> float | None:
        if allow_inf and value == "inf":
            return math.inf
        hint = _INF_HINT if allow_inf and isinstance(value, float) and value > 0 else ""
        number = self.number(value, key, low=0.0 if positive else low, high=None if positive else high,
                             low_open=positive, expected='a number or "inf"' if allow_inf else None,
                             note=hint)
        return None if number is None else float(number)

    def numbers(self, value: Any, key: KeyPath, *, length: int | None = None, min_length: int = 1,
                what: str = "values", **kw: Any) -> list[float] | None:
        if self.of_type(value, key, (list,), expected="a list of numbers") is None:
            return None
        if length is not None and len(value) != length:
            self.error(key, f"expected {length} {what}, got {len(value)}")
            return None
        if len(value) < min_length:
            self.error(key, f"expected at least {min_length} {what}, got {len(value)}")
            return None
        out = [self.finite(v, (*key, i), **kw) for i, v in enumerate(value)]
        return None if any(v is None for v in out) else [v for v in out if v is not None]

    def ascending(self, values: list[float], key: KeyPath, what: str = "") -> bool:
        for i in range(1, len(values)):
            if not values[i] > values[i - 1]:
                self.error((*key, i), f"not ascending ({values[i]:g} after {values[i - 1]:g}){what}")
                return False
        return True

    def table(self, value: Any, key: KeyPath, shape: tuple[int, int] | None, **kw: Any) -> Table | None:
        if shape is None:
            return None
        rows, cols = shape
        if not isinstance(value, list) or len(value) != rows:
            got = f"{len(value)}" if isinstance(value, list) else self.dialect.describe(value)
            self.error(key, f"expected {rows} rows (one per grid.zoom value), got {got}")
            return None
        out = [self.numbers(row, (*key, i), length=cols, what="values (one per grid.focus value)", **kw)
               for i, row in enumerate(value)]
        return None if any(r is None for r in out) else tuple(tuple(r) for r in out if r is not None)


def check_lens_json(data: Any, where: str | None = None, locator: Locator | None = None) -> LensParts:
    """Check a decoded lens file; its values, or :class:`LensFileError` listing every problem
    (``where`` names the file, ``locator`` adds the line of each)."""
    c = _LensChecker(where, locator=locator, dialect=JSON)
    if not c.schema(data, SCHEMA, "lens"):
        c.raise_errors(LensFileError)
    top = c.obj(data, (), _TOP_REQUIRED, _TOP_OPTIONAL)
    identity = _identity(c, data.get("identity"))
    sensor = _sensor(c, data.get("sensor"))
    zoom, focus = _grid(c, data.get("grid"))
    encoders = _encoders(c, data.get("encoders", {}), zoom, focus)
    shape = None if zoom is None or focus is None else (len(zoom), len(focus))
    tables = _tables(c, data.get("tables"), shape)
    iris = _iris(c, data["iris"]) if "iris" in data else None
    calibrations = [_calibration(c, v, ("calibrations", i))
                    for i, v in enumerate(_list(c, data, "calibrations"))]
    if iris is not None and len(iris[0]) > 1 and "iris" not in encoders and not any(
            (e.key or "").startswith("encoders.iris") for e in c.errors):
        c.error(("encoders", "iris"), "missing: iris has T-stops at several positions, so raw iris counts "
                                      "need a mapping to them")
    notes = data.get("notes", "")
    c.of_type(notes, ("notes",), (str,))
    c.raise_errors(LensFileError)
    if top is None or identity is None or sensor is None or zoom is None or focus is None or tables is None:
        raise LensFileError("invalid lens file", path=where)
    return LensParts(identity, sensor, tuple(zoom), tuple(focus), tables, encoders, iris,
                     [p for p in calibrations if p is not None], notes)


def _list(c: _LensChecker, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    return value if c.of_type(value, (key,), (list,)) is not None else []


def _identity(c: _LensChecker, value: Any) -> dict[str, str] | None:
    obj = c.obj(value, ("identity",), ("make", "model", "serial"))
    if obj is None:
        return None
    texts = {k: c.text(obj[k], ("identity", k)) for k in ("make", "model", "serial")}
    return {k: v for k, v in texts.items() if v} if all(texts.values()) else None


def _sensor(c: _LensChecker, value: Any) -> dict[str, Any] | None:
    obj = c.obj(value, ("sensor",), ("width_mm", "height_mm", "width_px", "height_px"))
    if obj is None:
        return None
    out: dict[str, Any] = {k: c.finite(obj[k], ("sensor", k), positive=True)
                           for k in ("width_mm", "height_mm")}
    out.update({k: c.number(obj[k], ("sensor", k), integer=True, low=1) for k in ("width_px", "height_px")})
    return None if any(v is None for v in out.values()) else out


def _grid(c: _LensChecker, value: Any) -> tuple[list[float] | None, list[float] | None]:
    obj = c.obj(value, ("grid",), ("zoom", "focus"))
    if obj is None:
        return None, None
    axes = []
    for axis in ("zoom", "focus"):
        key = ("grid", axis)
        knots = c.numbers(obj[axis], key, what="normalised positions", low=0.0, high=1.0)
        axes.append(knots if knots is not None and c.ascending(knots, key) else None)
    return axes[0], axes[1]


def _encoders(c: _LensChecker, value: Any, zoom: list[float] | None,
              focus: list[float] | None) -> dict[str, tuple[tuple[int, ...], tuple[float, ...]]]:
    obj = c.obj(value, ("encoders",), (), AXES)
    out: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {}
    if obj is None:
        return out
    for axis, knots in (("zoom", zoom), ("focus", focus)):
        if knots is not None and len(knots) > 1 and axis not in obj:
            c.error(("encoders", axis), f"missing: grid.{axis} has {len(knots)} positions, so raw {axis} "
                                        "counts need a mapping to them")
    for axis, mapping in obj.items():
        key: KeyPath = ("encoders", axis)
        pair = c.obj(mapping, key, ("raw", "normalised")) if axis in AXES else None
        if pair is None:
            continue
        raw = pair["raw"]
        if not isinstance(raw, list) or len(raw) < 2:
            c.error((*key, "raw"), f"expected a list of at least 2 raw counts, got {c.dialect.describe(raw)}")
            continue
        counts = [c.number(v, (*key, "raw", i), integer=True, low=0) for i, v in enumerate(raw)]
        norm = c.numbers(pair["normalised"], (*key, "normalised"), length=len(raw),
                         what="normalised values (one per raw count)", low=0.0, high=1.0)
        if norm is None or any(v is None for v in counts):
            continue
        ints = [v for v in counts if v is not None]
        if not strictly_monotonic(ints):
            c.error((*key, "raw"), f"not strictly monotonic ({ints}): each count must map to one position")
        elif not strictly_monotonic(norm):
            c.error((*key, "normalised"), f"not strictly monotonic ({norm})")
        else:
            out[axis] = (tuple(ints), tuple(norm))
    return out


def _tables(c: _LensChecker, value: Any, shape: tuple[int, int] | None) -> dict[str, Table] | None:
    obj = c.obj(value, ("tables",), ("focal_length_mm",), _TABLE_KEYS[1:])
    if obj is None:
        return None
    before = len(c.errors)
    out: dict[str, Table] = {}
    focal = c.table(obj["focal_length_mm"], ("tables", "focal_length_mm"), shape, positive=True)
    for j, column in enumerate(zip(*focal, strict=True) if focal else ()):
        i = _first_break(column, lambda a, b: b > a)
        if i:
            c.error(("tables", "focal_length_mm", i, j), focal_order_problem(column[i], column[i - 1]))
    if "focus_distance_m" in obj:
        distance = c.table(obj["focus_distance_m"], ("tables", "focus_distance_m"), shape, positive=True,
                           allow_inf=True)
        for i, row in enumerate(distance or ()):
            j = _first_break(row, lambda a, b: b < a)
            if j:
                c.error(("tables", "focus_distance_m", i, j), focus_order_problem(row[j], row[j - 1]))
        if distance is not None:
            out["focus_distance_m"] = distance
    if "entrance_pupil_m" in obj:
        pupil = c.table(obj["entrance_pupil_m"], ("tables", "entrance_pupil_m"), shape)
        if pupil is not None:
            out["entrance_pupil_m"] = pupil
    if "principal_point_px" in obj:
        _principal_point(c, obj["principal_point_px"], shape, out)
    if "distortion" in obj:
        _distortion(c, obj["distortion"], shape, out)
    if focal is None or len(c.errors) > before:
        return None
    out["focal_length_mm"] = focal
    return out


def _first_break(values: tuple[float, ...], ok: Callable[[float, float], bool]) -> int:
    """The first index whose value is not ``ok`` after the one before it, or 0."""
    return next((i for i in range(1, len(values)) if not ok(values[i - 1], values[i])), 0)


def _principal_point(c: _LensChecker, value: Any, shape: tuple[int, int] | None,
                     out: dict[str, Table]) -> None:
    key: KeyPath = ("tables", "principal_point_px")
    if shape is None:
        return
    if not isinstance(value, list) or len(value) != shape[0]:
        c.error(key, f"expected {shape[0]} rows (one per grid.zoom value), got "
                     f"{len(value) if isinstance(value, list) else c.dialect.describe(value)}")
        return
    cx: list[tuple[float, ...]] = []
    cy: list[tuple[float, ...]] = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != shape[1]:
            c.error((*key, i), f"expected {shape[1]} [cx, cy] points (one per grid.focus value)")
            return
        points = [c.numbers(p, (*key, i, j), length=2, what="numbers [cx, cy]") for j, p in enumerate(row)]
        if any(p is None for p in points):
            return
        cx.append(tuple(p[0] for p in points if p))
        cy.append(tuple(p[1] for p in points if p))
    out["cx_px"], out["cy_px"] = tuple(cx), tuple(cy)


def _distortion(c: _LensChecker, value: Any, shape: tuple[int, int] | None, out: dict[str, Table]) -> None:
    key: KeyPath = ("tables", "distortion")
    dist = c.obj(value, key, ("model", "direction", *DISTORTION_FIELDS))
    if dist is None:
        return
    for name, expected in (("model", DISTORTION_MODEL), ("direction", DISTORTION_DIRECTION)):
        if dist[name] != expected:
            c.error((*key, name), f"{c.dialect.describe(dist[name])} is not supported; allowed: {expected!r}")
    for name in DISTORTION_FIELDS:
        table = c.table(dist[name], (*key, name), shape)
        if table is not None:
            out[name] = table


def _iris(c: _LensChecker, value: Any) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    obj = c.obj(value, ("iris",), ("normalised", "t_stop"))
    if obj is None:
        return None
    norm = c.numbers(obj["normalised"], ("iris", "normalised"), what="normalised positions", low=0.0,
                     high=1.0)
    stops = c.numbers(obj["t_stop"], ("iris", "t_stop"), length=len(norm) if norm else None,
                      what="T-stops (one per iris.normalised value)", positive=True)
    if norm is None or stops is None or not c.ascending(norm, ("iris", "normalised")):
        return None
    if not c.ascending(stops, ("iris", "t_stop"),
                       ": the T-stop must grow as the iris closes (iris 0 = open)"):
        return None
    return tuple(norm), tuple(stops)


def _calibration(c: _LensChecker, value: Any, key: KeyPath) -> dict[str, Any] | None:
    obj = c.obj(value, key, CALIBRATION_FIELDS)
    if obj is None:
        return None
    before = len(c.errors)
    values: dict[str, Any] = {}
    for name in CALIBRATION_FIELDS:
        k = (*key, name)
        if name in _CALIBRATION_INTS:
            values[name] = c.number(obj[name], k, integer=True, low=1 if name.startswith("image_") else 0)
        elif name == "date":
            values[name] = _iso_date(c, obj[name], k)
        else:
            rms = name == "rms_px"
            values[name] = c.finite(obj[name], k, positive=name in ("fx_px", "fy_px"),
                                    low=0.0 if rms else None, high=math.inf if rms else None)
    return None if len(c.errors) > before else values


def _iso_date(c: _LensChecker, value: Any, key: KeyPath) -> str | None:
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


def check_calibration(point: Mapping[str, Any], sensor_px: tuple[int, int], where: str | None) -> None:
    """Raise :class:`LensFileError` (key ``calibration.<field>``) unless ``point`` (the fields of
    :data:`CALIBRATION_FIELDS`) is a usable calibration for a sensor of ``sensor_px`` (width, height)."""
    c = _LensChecker(where, dialect=JSON)
    _calibration(c, dict(point), ("calibration",))
    if not c.errors:
        width_px, height_px = point["image_width_px"], point["image_height_px"]
        aspect, image = sensor_px[0] / sensor_px[1], width_px / height_px
        if abs(image / aspect - 1.0) > 0.01:
            c.error(("calibration", "image_width_px"), f"calibration images of {width_px} x {height_px} px "
                    f"are not the shape of the sensor's {sensor_px[0]} x {sensor_px[1]} px: calibrate on "
                    "images of the whole sensor area")
        for name, limit in (("cx_px", width_px), ("cy_px", height_px)):
            if not 0.0 <= point[name] <= limit:
                c.error(("calibration", name), f"{point[name]} lies outside the image (0..{limit})")
    c.raise_errors(LensFileError)

