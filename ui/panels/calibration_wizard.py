"""Calibrate one zoom / focus position of a camera's lens from photographs of a board, then save it.

The dialog gathers the images, the board and the lens position; :func:`lens.calibrate.calibrate`
runs on a worker thread (:mod:`ui.workers`) with a progress bar and a Cancel button; the results
table lists every image (corners, RMS) and every rejected one with its reason. "Save to lens file"
loads the camera's lens file, adds the calibration point and writes it atomically, also on a
worker, then tells the stage to use the file again so the camera picks the point up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stagectl.core.samples import CameraSample
from stagectl.stage.commands import StageCommands
from ui import theme
from ui.panels.calibration_jobs import CalibrationJob, run_calibration, save_calibration
from ui.panels.calibration_results import CalibrationResults
from ui.workers import Task, run_task

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp);;All files (*)"
DICTIONARIES = ("DICT_4X4_50", "DICT_4X4_100", "DICT_5X5_100", "DICT_5X5_250", "DICT_6X6_250", "DICT_7X7_250")
RAW_MAX = 2**31 - 1


def _dim(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setStyleSheet(f"color: {theme.DIM_TEXT};")
    return label


class CalibrationWizard(QDialog):
    """Images -> board -> lens position -> Run (worker, cancellable) -> results -> Save to lens file.

    Args:
        commands: the stage's commands (the camera re-reads its lens file after a save).
        camera: the camera calibrated; ``latest`` returns its newest sample (the lens position offered).

    Signals:
        saved(str): the lens file a calibration point was written into.

    Attributes:
        images: the image files, in the order they are calibrated.
        result: the last run's ``CalibrationResult`` (None before a run or after a failure).
        task: the run or save under way (None when idle).
        status: one line on what is happening or went wrong.
        results: the per-image table and the solved figures.
    """

    saved = Signal(str)

    def __init__(self, commands: StageCommands, camera: str, latest: Callable[[], CameraSample | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.commands = commands
        self.camera = camera
        self._latest = latest
        self.images: list[Path] = []
        self.result: Any = None
        self.task: Task | None = None
        self.lens_path: Path | None = None
        self._folder = ""  # the images' common folder, left out of progress messages
        self._saving = Path()  # the lens file being saved into
        self.setWindowTitle(f"Calibrate lens — camera {camera}")
        self.resize(1040, 640)

        self.lens_label = QLabel("", self)
        self.lens_label.setWordWrap(True)

        # images
        self.image_list = QListWidget(self)
        self.image_list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.image_count = _dim("no images", self)
        add = QPushButton("Add images…", self)
        add.clicked.connect(lambda: self.add_images())
        remove = QPushButton("Remove", self)
        remove.clicked.connect(self._remove_selected)
        clear = QPushButton("Clear", self)
        clear.clicked.connect(self.clear_images)
        image_buttons = QHBoxLayout()
        for button in (add, remove, clear):
            image_buttons.addWidget(button)
        image_buttons.addStretch(1)
        image_buttons.addWidget(self.image_count)
        images_box = QGroupBox("Board images", self)
        images_layout = QVBoxLayout(images_box)
        images_layout.addWidget(self.image_list, 1)
        images_layout.addLayout(image_buttons)

        # board
        self.kind = QComboBox(self)
        self.kind.addItems(["checkerboard", "charuco"])
        self.cols, self.rows = QSpinBox(self), QSpinBox(self)
        for spin, default in ((self.cols, 9), (self.rows, 6)):
            spin.setRange(2, 99)
            spin.setValue(default)
        corners = QHBoxLayout()
        corners.addWidget(self.cols)
        corners.addWidget(QLabel("×", self))
        corners.addWidget(self.rows)
        corners.addWidget(_dim("inner corners (cols × rows)", self), 1)
        self.square_mm = self._mm_spin(30.0, 0.1, 1000.0)
        self.marker_mm = self._mm_spin(0.0, 0.0, 1000.0)
        self.marker_mm.setSpecialValueText("75 % of the square")
        self.dictionary = QComboBox(self)
        self.dictionary.addItems(DICTIONARIES)
        self.dictionary.setCurrentText("DICT_5X5_100")
        board_box = QGroupBox("Board", self)
        board_form = QFormLayout(board_box)
        board_form.addRow("Kind", self.kind)
        board_form.addRow("Corners", corners)
        board_form.addRow("Square", self.square_mm)
        board_form.addRow("Marker (ChArUco)", self.marker_mm)
        board_form.addRow("Dictionary (ChArUco)", self.dictionary)
        self.kind.currentTextChanged.connect(self._on_kind)

        # lens position
        self.sensor_width = self._mm_spin(36.0, 0.1, 100.0)
        self.sensor_width.setToolTip("Width of the sensor area the images show; turns fx (px) into focal "
                                     "length (mm). From the lens file when the camera has one.")
        self.zoom_raw, self.focus_raw = QSpinBox(self), QSpinBox(self)
        for spin in (self.zoom_raw, self.focus_raw):
            spin.setRange(0, RAW_MAX)
            spin.setFont(theme.monospace(10))
        use_current = QPushButton("Use camera's current", self)
        use_current.setToolTip("The raw zoom and focus the camera reports now")
        use_current.clicked.connect(self.use_current_position)
        position_box = QGroupBox("Lens position of these images", self)
        position_form = QFormLayout(position_box)
        position_form.addRow("Sensor width", self.sensor_width)
        position_form.addRow("Zoom raw", self.zoom_raw)
        position_form.addRow("Focus raw", self.focus_raw)
        position_form.addRow("", use_current)

        # run
        self.run_button = QPushButton("Run", self)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        self.status = QLabel("Add images of the board, check the board and the lens position, then Run.",
                             self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)

        # results and saving
        self.results = CalibrationResults(self)
        self.save_button = QPushButton("Save to lens file", self)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        save_row.addWidget(close)

        left = QVBoxLayout()
        left.addWidget(self.lens_label)
        left.addWidget(images_box, 1)
        left.addWidget(board_box)
        left.addWidget(position_box)
        right = QVBoxLayout()
        right.addLayout(run_row)
        right.addWidget(self.status)
        right.addWidget(self.results, 1)
        right.addLayout(save_row)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addSpacing(8)
        layout.addLayout(right, 3)
        self._inputs: tuple[QWidget, ...] = (add, remove, clear, self.image_list, board_box, position_box)
        self._on_kind(self.kind.currentText())
        self.set_lens(None)
        self.use_current_position()

    def _mm_spin(self, value: float, low: float, high: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(low, high)
        spin.setDecimals(2)
        spin.setSuffix(" mm")
        spin.setValue(value)
        return spin

    def _on_kind(self, kind: str) -> None:
        charuco = kind == "charuco"
        self.marker_mm.setEnabled(charuco)
        self.dictionary.setEnabled(charuco)

    # --- inputs ----------------------------------------------------------------------------------

    def set_lens(self, lens: Any) -> None:
        """The camera's lens file (a ``LensFile`` with its path, or None): where Save writes, and
        the sensor width it prefills."""
        path = getattr(lens, "path", None)
        self.lens_path = Path(path) if path is not None else None
        if lens is not None:
            self.sensor_width.setValue(lens.sensor.width_mm)
            name = self.lens_path.name if self.lens_path else "?"
            self.lens_label.setText(f"Camera <b>{self.camera}</b> · lens file <b>{name}</b>"
                                    f" <span style='color:{theme.DIM_TEXT}'>({lens.identity.make} "
                                    f"{lens.identity.model}, {len(lens.calibrations)} calibration "
                                    f"point{'' if len(lens.calibrations) == 1 else 's'})</span>")
            self.lens_label.setToolTip(str(self.lens_path or ""))
        else:
            self.lens_label.setText(f"Camera <b>{self.camera}</b> · <span style='color:{theme.WARNING_TEXT}'>"
                                    "no lens file: the result can be seen, not saved (choose a lens file in "
                                    "the Lens panel first)</span>")
            self.lens_label.setToolTip("")
        self._update_buttons()

    def use_current_position(self) -> None:
        """Prefill zoom and focus raw from the camera's latest sample."""
        sample = self._latest()
        if sample is not None:
            if sample.zoom_raw is not None:
                self.zoom_raw.setValue(sample.zoom_raw)
            if sample.focus_raw is not None:
                self.focus_raw.setValue(sample.focus_raw)

    def add_images(self, paths: Sequence[str | Path] | None = None) -> None:
        """Add image files (None: ask with a file dialog)."""
        if paths is None:
            start = str(self.images[-1].parent) if self.images else ""
            chosen, _ = QFileDialog.getOpenFileNames(self, "Board images", start, IMAGE_FILTER)
            paths = list(chosen)
        for path in map(Path, paths):
            if path not in self.images:
                self.images.append(path)
                self.image_list.addItem(path.name)
                self.image_list.item(self.image_list.count() - 1).setToolTip(str(path))
        self._images_changed()

    def clear_images(self) -> None:
        """Forget every image."""
        self.images.clear()
        self.image_list.clear()
        self._images_changed()

    def _remove_selected(self) -> None:
        rows = sorted((self.image_list.row(item) for item in self.image_list.selectedItems()), reverse=True)
        for row in rows:
            del self.images[row]
            self.image_list.takeItem(row)
        self._images_changed()

    def _images_changed(self) -> None:
        count = len(self.images)
        self.image_count.setText("no images" if not count else f"{count} image{'s' if count != 1 else ''}")
        self._update_buttons()

    def job(self) -> CalibrationJob:
        """The run the inputs describe."""
        marker = self.marker_mm.value()
        return CalibrationJob(tuple(self.images), self.kind.currentText(),
                              (self.cols.value(), self.rows.value()),
                              self.square_mm.value(), marker if marker > 0 else None,
                              self.dictionary.currentText(), self.sensor_width.value())

    # --- running ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Calibrate on a worker thread (progress and outcome come back as signals)."""
        if self.task is not None:
            return
        if not self.images:
            self._say("Add images of the board first.", theme.FAULT_TEXT)
            return
        job = self.job()
        self.result = None
        self.results.clear()
        self.progress.setRange(0, len(job.images) + 1)
        self.progress.setValue(0)
        self._say(f"Looking for the board in {len(job.images)} images…")
        folder = os.path.commonpath([str(p.parent) for p in job.images])
        self.task = run_task("lens calibration",
                             lambda progress, cancel: run_calibration(job, progress, cancel))
        self._folder = folder
        self.task.progress.connect(self._on_progress)
        self.task.succeeded.connect(self._on_calibrated)
        self.task.failed.connect(self._on_calibration_failed)
        self.task.finished.connect(self._on_task_finished)
        self._update_buttons()

    def cancel(self) -> None:
        """Stop the run at the next image."""
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self._say("Cancelling…", theme.WARNING_TEXT)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self._say(message.replace(self._folder + os.sep, ""))

    def _on_calibrated(self, result: Any) -> None:
        self.result = result
        self.results.show_result(result)
        total = result.images_used + len(result.rejected)
        self._say(f"Calibrated from {result.images_used} of {total} images: "
                  f"total RMS {result.rms_px:.3f} px, focal length {result.focal_length_mm:.2f} mm.",
                  theme.STATE_COLOURS["up"])

    def _on_calibration_failed(self, exc: object) -> None:
        from lens.calibrate import CalibrationCancelled, CalibrationError

        if isinstance(exc, CalibrationCancelled):
            self._say(f"Cancelled: {exc}", theme.WARNING_TEXT)
        elif isinstance(exc, CalibrationError):
            self._say(f"Calibration failed: {exc}", theme.FAULT_TEXT)
        else:
            self._say(f"Calibration failed unexpectedly: {type(exc).__name__}: {exc}", theme.FAULT_TEXT)

    def _on_task_finished(self) -> None:
        self.task = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.task is not None
        self.run_button.setEnabled(not busy and bool(self.images))
        self.cancel_button.setEnabled(busy and not self.task.cancel_event.is_set() if self.task else False)
        self.save_button.setEnabled(not busy and self.result is not None and self.lens_path is not None)
        for widget in self._inputs:
            widget.setEnabled(not busy)

    def _say(self, text: str, colour: str | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour};" if colour else "")

    # --- saving ----------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the result into the camera's lens file (worker thread), then re-apply the file."""
        if self.task is not None or self.result is None or self.lens_path is None:
            return
        result, path = self.result, self.lens_path
        zoom, focus = self.zoom_raw.value(), self.focus_raw.value()
        self._say(f"Saving into {path.name}…")
        self.task = run_task("save lens calibration",
                             lambda _progress, _cancel: save_calibration(result, path, zoom, focus))
        self._saving = path
        self.task.succeeded.connect(self._on_saved)
        self.task.failed.connect(self._on_save_failed)
        self.task.finished.connect(self._on_task_finished)
        self._update_buttons()

    def _on_saved(self, point: Any) -> None:
        path = self._saving
        self.commands.use_lens_file(self.camera, path)
        self._say(f"Saved into {path.name}: calibration at zoom raw {point.zoom_raw}, focus raw "
                  f"{point.focus_raw} (RMS {point.rms_px:.3f} px). Camera {self.camera} re-reads the file.",
                  theme.STATE_COLOURS["up"])
        self.saved.emit(str(path))

    def _on_save_failed(self, exc: object) -> None:
        self._say(f"Not saved into {self._saving.name}: {exc}", theme.FAULT_TEXT)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing cancels a run (the worker stops at its next image, on its own)."""
        if self.task is not None:
            self.task.cancel()
        super().closeEvent(event)
