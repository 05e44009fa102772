"""The lens grid as a CSV table a lens technician can edit in a spreadsheet, and back.

One row per (zoom, focus) grid node; columns :data:`CSV_COLUMNS`, units in the names; blank cells
for tables the lens file does not have; ``inf`` for a focus at infinity. Importing replaces the
grid and tables of a lens file (identity, sensor, encoder mappings, iris and calibrations stay),
and every bad cell is reported with its line and column.
"""

from __future__ import annotations

import copy
import csv
import io
import math

from lens.lensfile import (
    DISTORTION_FIELDS,
    PRINCIPAL_POINT_FIELDS,
    TABLE_FIELDS,
    LensFile,
    LensFileError,
    Table,
    focal_order_problem,
    focus_order_problem,
    lens_file_to_json,
    parse_lens_json,
)
from stagectl.core.check import JSON, Checker, bounds_text
from stagectl.core.text import did_you_mean

#: Columns of the CSV table, units in the names. Raw counts are for the technician's eye (and may be
#: given instead of the normalised position); the normalised columns are the grid.
CSV_COLUMNS = ("zoom_raw", "focus_raw", "zoom_normalised", "focus_normalised", *TABLE_FIELDS)
_GROUPS = (PRINCIPAL_POINT_FIELDS, DISTORTION_FIELDS)
_INFINITY_WORDS = ("inf", "infinity", "∞")


def lens_to_csv(lens: LensFile) -> str:
    """The grid tables as CSV: one row per (zoom, focus) node, blank cells for tables the file lacks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    zoom_map, focus_map = lens.encoders.get("zoom"), lens.encoders.get("focus")
    for i, z in enumerate(lens.grid_zoom):
        for j, f in enumerate(lens.grid_focus):
            raws = ["" if m is None else str(round(m.to_raw(v)[0]))
                    for m, v in ((zoom_map, z), (focus_map, f))]
            values = ["" if name not in lens.tables else repr(lens.tables[name][i][j])
                      for name in TABLE_FIELDS]
            writer.writerow([*raws, repr(z), repr(f), *values])
    return buffer.getvalue()


class _CsvRows(Checker):
    """Reads the rows of a lens CSV table, collecting every problem with its line (the row) and column."""

    def __init__(self, where: str | None, decimal_comma: bool) -> None:
        super().__init__(where, dialect=JSON)
        self.decimal_comma = decimal_comma

    def at(self, line: int | None, column: str | None, message: str) -> None:
        """Record ``message`` about ``column`` (None: the whole row) of the row on ``line``."""
        self.error(() if column is None else (column,), message, line=line)

    def cell(self, text: str, line: int, column: str) -> float | None:
        """The number in one cell, or None after recording why it is not one."""
        cell = text.strip().replace(",", ".") if self.decimal_comma else text.strip()
        if column == "focus_distance_m" and cell.lower() in _INFINITY_WORDS:
            return math.inf
        try:
            value = float(cell)
        except ValueError:
            self.at(line, column, f"not a number ({text.strip()!r})")
            return None
        if not math.isfinite(value):
            hint = ' (write "inf" for a focus at infinity)' if column == "focus_distance_m" else ""
            self.at(line, column, f"not a finite number ({text.strip()}){hint}")
        elif column in ("focal_length_mm", "focus_distance_m") and value <= 0.0:
            self.at(line, column, f"must be {bounds_text(0.0, None, low_open=True)}, got {text.strip()}")
        elif column.endswith("_normalised") and not 0.0 <= value <= 1.0:
            self.at(line, column, f"must be {bounds_text(0.0, 1.0)}, got {text.strip()}")
        elif column.endswith("_raw") and value != int(value):
            self.at(line, column, f"not a whole number of counts ({text.strip()})")
        else:
            return value
        return None

    def position(self, cells: dict[str, str], axis: str, line: int, lens: LensFile) -> float | None:
        """The row's normalised ``axis`` position, from the normalised column or the raw count."""
        norm_col, raw_col = f"{axis}_normalised", f"{axis}_raw"
        norm_text, raw_text = cells.get(norm_col, "").strip(), cells.get(raw_col, "").strip()
        norm = self.cell(norm_text, line, norm_col) if norm_text else None
        raw = self.cell(raw_text, line, raw_col) if raw_text else None
        mapping = lens.encoders.get(axis)
        if raw is not None and mapping is not None:
            if norm is None and not norm_text:
                return mapping.to_normalised(raw)[0]
            if norm is not None and abs(mapping.to_raw(norm)[0] - raw) > 1.0:
                self.at(line, raw_col, f"{raw:g} disagrees with {norm_col} {norm!r} (raw "
                                          f"{mapping.to_raw(norm)[0]:.0f}): edit one and clear the other")
        elif raw is not None and not norm_text:
            self.at(line, raw_col, f"the lens file has no encoders.{axis} mapping: give {norm_col}")
        elif not norm_text and not raw_text:
            self.at(line, norm_col, f"blank: give {norm_col} (or {raw_col})")
        return norm


def lens_from_csv(text: str, base: LensFile, where: str | None = None) -> LensFile:
    """A copy of ``base`` with its grid and tables replaced by the CSV table's (identity, sensor,
    encoders, iris and calibrations stay ``base``'s). Rows may come in any order but must cover every
    (zoom, focus) node once. Commas, semicolons or tabs separate cells (with ``;`` or tabs a decimal
    comma is accepted). Raises :class:`LensFileError` naming the line and column of every problem.
    """
    text = text.lstrip("\ufeff")
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = next((d for d in (",", ";", "\t") if d in header_line), ",")
    rows = _CsvRows(where, decimal_comma=delimiter != ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    for column in header:
        if column not in CSV_COLUMNS:
            rows.at(1, column, f"unknown column{did_you_mean(column, CSV_COLUMNS)}; "
                                  f"allowed: {', '.join(CSV_COLUMNS)}")
    for column in {c for c in header if header.count(c) > 1}:
        rows.at(1, column, "column given twice")
    if "focal_length_mm" not in header:
        rows.at(1, "focal_length_mm", "missing column (required)")
    nodes: dict[tuple[float, float], int] = {}
    values: dict[str, dict[tuple[float, float], float | None]] = {name: {} for name in TABLE_FIELDS}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
            rows.at(line, None, f"{len(row)} cells, but the header names {len(header)} columns")
        cells = dict(zip(header, row, strict=False))
        zoom, focus = rows.position(cells, "zoom", line, base), rows.position(cells, "focus", line, base)
        if zoom is None or focus is None:
            continue
        if (zoom, focus) in nodes:
            rows.at(line, None, f"zoom {zoom!r}, focus {focus!r} again (first on line "
                                   f"{nodes[zoom, focus]})")
            continue
        nodes[zoom, focus] = line
        for name in TABLE_FIELDS:
            cell = cells.get(name, "").strip()
            values[name][zoom, focus] = rows.cell(cell, line, name) if cell else None
    tables = _csv_tables(rows, nodes, values)
    if rows.errors or tables is None:
        rows.raise_errors(LensFileError)
        raise LensFileError("no rows", path=where)
    lens = copy.deepcopy(base)
    lens.grid_zoom, lens.grid_focus, lens.tables = tables
    parse_lens_json(lens_file_to_json(lens), where)  # the encoders must still fit the new grid
    return lens


def _csv_tables(rows: _CsvRows, nodes: dict[tuple[float, float], int],
                values: dict[str, dict[tuple[float, float], float | None]]
                ) -> tuple[tuple[float, ...], tuple[float, ...], dict[str, Table]] | None:
    if not nodes:
        return None
    zooms, focuses = sorted({z for z, _ in nodes}), sorted({f for _, f in nodes})
    if rows.errors:  # a row with a bad position would only come back as a missing node
        return None
    missing = [(z, f) for z in zooms for f in focuses if (z, f) not in nodes]
    for z, f in missing[:10]:
        rows.at(None, None, f"no row for zoom {z!r}, focus {f!r}: every zoom needs every focus "
                               "(a full grid)")
    if missing:
        return None
    present = {name for name in TABLE_FIELDS if any(v is not None for v in values[name].values())}
    for name in TABLE_FIELDS:
        group = next((g for g in _GROUPS if name in g), (name,))
        for node, line in nodes.items():
            if (name in present or any(g in present for g in group)) and values[name][node] is None:
                rows.at(line, name, "blank, but other cells of this table are filled: fill it or "
                                       "clear them all")
                break
    if "focal_length_mm" not in present:
        rows.at(None, "focal_length_mm", "blank in every row (required)")
    tables = {name: tuple(tuple(values[name][z, f] or 0.0 for f in focuses) for z in zooms)
              for name in TABLE_FIELDS if name in present}
    focal = tables.get("focal_length_mm", ())
    for j, f in enumerate(focuses if focal else ()):  # monotonic checks, reported on the offending row
        for i in range(1, len(zooms)):
            if not focal[i][j] > focal[i - 1][j]:
                rows.at(nodes[zooms[i], f], "focal_length_mm",
                           focal_order_problem(focal[i][j], focal[i - 1][j]))
    for i, z in enumerate(zooms if "focus_distance_m" in tables else ()):
        row = tables["focus_distance_m"][i]
        for j in range(1, len(row)):
            if not row[j] < row[j - 1]:
                rows.at(nodes[z, focuses[j]], "focus_distance_m", focus_order_problem(row[j], row[j - 1]))
    return None if rows.errors else (tuple(zooms), tuple(focuses), tables)
