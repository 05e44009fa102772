"""The calibration wizard's results: one row per image (corners, RMS px), rejected images with their
reasons, and the solved intrinsics, distortion and focal length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ui import theme

COLUMNS = ("Image", "Corners", "RMS px", "Note")
IMAGE, CORNERS, RMS, NOTE = range(len(COLUMNS))
#: An image whose RMS is over this many times the total is marked (worth a look, or leaving out).
HIGH_RMS_FACTOR = 2.0


class CalibrationResults(QWidget):
    """Per-image table and the solved figures of one ``CalibrationResult``.

    Attributes:
        table: rows of used images first (in calibration order), then the rejected ones.
        summary: total RMS, fx fy cx cy, k1 k2 p1 p2 k3 and focal length, in monospace.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for col in (IMAGE, CORNERS, RMS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary = QLabel("", self)
        self.summary.setFont(theme.monospace(10))
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def clear(self) -> None:
        """No result."""
        self.table.setRowCount(0)
        self.summary.setText("")

    def _row(self, row: int, cells: tuple[str, str, str, str], colour: str | None, tip: str) -> None:
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col in (CORNERS, RMS):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setFont(theme.monospace(10))
            if colour is not None and col != IMAGE:
                item.setForeground(QColor(colour))
            item.setToolTip(tip if col != IMAGE else tip.split("\n")[0])
            self.table.setItem(row, col, item)

    def show_result(self, result: Any) -> None:
        """Fill the table and the summary from a ``lens.calibrate.CalibrationResult``."""
        used, rejected = result.per_image, result.rejected
        self.table.setRowCount(len(used) + len(rejected))
        high = HIGH_RMS_FACTOR * result.rms_px
        for row, image in enumerate(used):
            note, colour = ("", None)
            if image.rms_px > high:
                note, colour = f"over {HIGH_RMS_FACTOR:g}x the total RMS", theme.WARNING_TEXT
            self._row(row, (Path(image.name).name, str(image.corners), f"{image.rms_px:.3f}", note), colour,
                      image.name)
        for offset, image in enumerate(rejected):
            self._row(len(used) + offset, (Path(image.name).name, "—", "—", f"rejected: {image.reason}"),
                      theme.FAULT_TEXT, f"{image.name}\n{image.reason}")
        total = result.images_used + len(rejected)
        self.summary.setText(
            f"total RMS {result.rms_px:.3f} px from {result.images_used} of {total} images "
            f"({result.image_width_px} x {result.image_height_px} px)\n"
            f"fx {result.fx_px:9.2f}  fy {result.fy_px:9.2f}  "
            f"cx {result.cx_px:8.2f}  cy {result.cy_px:8.2f} px\n"
            f"k1 {result.k1:+.5f}  k2 {result.k2:+.5f}  p1 {result.p1:+.5f}  p2 {result.p2:+.5f}  "
            f"k3 {result.k3:+.5f}\n"
            f"focal length {result.focal_length_mm:.3f} mm (sensor width {result.sensor_width_mm:g} mm)")
