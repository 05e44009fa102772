"""The Conform dialog's match table: one row per clip or cut event, problem rows coloured, and its summary.

Also the dialog's small input helpers (no widgets): the default output folder, the EDL rate choices and
the camera map as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from stagectl.core.timecode import FrameRate, TimecodeError
from stagectl.stage.conform_jobs import MatchRow
from ui import theme

__all__ = ["COLUMNS", "EDL_RATES", "ROW_COLOURS", "MatchTable", "default_out_folder", "parse_camera_map",
           "rate_item", "summary_text"]

COLUMNS = ("Clip", "Camera", "Take(s)", "TC in", "TC out", "Frames", "Coverage", "Warnings")
EDL_RATES = ("23.976", "24", "25", "29.97", "30", "48", "50", "59.94", "60")
#: Row colours by match status (background, text): amber text for warnings, amber for partly covered, red
#: for nothing.
ROW_COLOURS = {"ok": (None, theme.TEXT), "warnings": (None, theme.WARNING_TEXT),
               "partial": ("#3a2a14", theme.WARNING_TEXT),
               "none": ("#3a1717", theme.FAULT_TEXT), "refused": ("#3a1717", theme.FAULT_TEXT)}


def default_out_folder(takes_folder: Path, source: str) -> Path:
    """``<takes folder>/conform/<source name>``."""
    name = Path(source.rstrip("/\\")).stem or "conform"
    return takes_folder / "conform" / name


def rate_item(text: str) -> str:
    """The EDL rate item showing the rate ``text`` ("24000/1001" -> "23.976"); "25" when none does."""
    try:
        wanted = FrameRate.parse(text)
    except (TimecodeError, ValueError):
        return "25"
    return next((item for item in EDL_RATES if FrameRate.parse(item) == wanted), "25")


def parse_camera_map(text: str) -> dict[str, str] | None:
    """``A=A001, B=B001`` -> {"A": "A001", "B": "B001"}; "" -> None; ValueError saying what is wrong."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key or not value:
            raise ValueError(f"camera map: {part!r} is not CLIP=STAGE (e.g. A=A001)")
        pairs[key] = value
    return pairs or None


def summary_text(rows: Sequence[MatchRow], kind: str) -> str:
    """``6 clips: 3 fully covered (1 with warnings), 1 partly, 2 without tracking``."""
    counts = {status: sum(row.status == status for row in rows)
              for status in ("ok", "warnings", "partial", "none", "refused")}
    parts = [f"{len(rows)} {kind}: {counts['ok'] + counts['warnings']} fully covered"]
    if counts["warnings"]:
        parts[0] += f" ({counts['warnings']} with warnings)"
    if counts["partial"]:
        parts.append(f"{counts['partial']} partly")
    if counts["none"] or counts["refused"]:
        parts.append(f"{counts['none'] + counts['refused']} without tracking")
    return ", ".join(parts)


class MatchTable(QTableWidget):
    """The match table (read only): clip, camera, take(s), TC in / out, frames, coverage, warnings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Warnings"), QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)

    def show_rows(self, rows: Sequence[MatchRow]) -> None:
        """One line per row, coloured by its status; the warnings in full in the last cell's tooltip."""
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            background, colour = ROW_COLOURS[row.status]
            cells = (row.name, row.camera or "—", row.takes or "—", row.tc_in, row.tc_out, str(row.frames),
                     f"{row.coverage_percent:.1f} %", "; ".join(row.warnings))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setForeground(QColor(colour if c in (0, 6, 7) else theme.TEXT))
                if background is not None:
                    item.setBackground(QColor(background))
                if c in (5, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip("\n".join(row.warnings) if c == 7 else "")
                self.setItem(r, c, item)
