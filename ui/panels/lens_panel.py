"""Lens dock: one camera's lens file, its live encoders and solved values, its curves and distortion,
and the calibration wizard.

Nothing here waits on the disk or the I/O loop: a lens file is chosen with
``StageCommands.use_lens_file`` (read off-thread, swapped on the loop; the outcome shows in a later
view's ``lens_status``), curves are sampled from the solver on a worker once per lens file,
and calibration and saving run on workers too (:mod:`ui.workers`). Per frame the panel sets a
few labels, moves two points and hands the distortion preview the newest coefficients.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from stagectl.core.samples import CameraSample
from stagectl.stage.commands import StageCommands
from stagectl.stage.view import CameraStatus, StageView
from ui import theme
from ui.panels.calibration_wizard import CalibrationWizard
from ui.panels.distortion_preview import DistortionPreview, frame_from_lens
from ui.panels.lens_curves import LensCurves, LensCurvesView, sample_curves
from ui.panels.lens_readout import LensReadout
from ui.panels.tracking_panel import no_camera_note
from ui.seen import seen
from ui.workers import Task, run_task

LENS_FILTER = "Lens files (*.json);;All files (*)"
#: How long "loading …" shows if the view never says anything new (same bad file chosen again).
PENDING_TIMEOUT_S = 3.0
#: The longest status text shown in the line; the whole text is the tooltip.
STATUS_CHARS = 140


def status_text(lens_status: str) -> tuple[str, str]:
    """(text, colour) for a camera's ``lens_status``: "solved (f.json)", "lens unsolved", or the error."""
    if lens_status.startswith("solved"):
        return lens_status, theme.STATE_COLOURS["up"]
    if lens_status == "unsolved":
        return "lens unsolved", theme.DIM_TEXT
    return f"lens {lens_status}", theme.FAULT_TEXT


def lens_description(lens: Any) -> str:
    """``make model · s/n serial · sensor 36 × 20.25 mm, 3840 × 2160 px · N calibration points``."""
    s, i = lens.sensor, lens.identity
    points = len(lens.calibrations)
    return (f"{i.make} {i.model} · s/n {i.serial} · sensor {s.width_mm:g} × {s.height_mm:g} mm, "
            f"{s.width_px} × {s.height_px} px · {points} calibration point{'s' if points != 1 else ''}")


class LensPanel(QWidget):
    """The selected camera's lens: file, live values, curves, distortion and calibration.

    Args:
        view: the stage's first view (its cameras fill the selector).
        commands: where a chosen lens file goes.

    Signals:
        camera_selected(str): the user picked another camera in the selector.

    Attributes:
        camera: the camera shown (None on a stage without cameras).
        status: the lens status line (full text as its tooltip).
        readout: raw -> normalised -> solved values.
        curves: focal length and focus distance curves with the live point.
        distortion: the distortion grid preview.
        solver: the camera's lens solver shown (None when unsolved).
        shown_sample: the sample the readout shows.
        latest: every camera's newest sample (from the last view), for the calibration wizard.
        wizard: the calibration dialog, once opened.
        content: all of the above; hidden on a stage without cameras, where ``no_camera`` shows.
        no_camera: the note saying the stage has no camera (hidden when it has one).
    """

    camera_selected = Signal(str)

    def __init__(self, view: StageView, commands: StageCommands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.commands = commands
        self._cameras = view.camera_names
        self.latest: dict[str, CameraSample | None] = {c.name: c.latest for c in view.cameras}
        self.camera: str | None = None
        self.solver: Any = None
        self.shown_sample: CameraSample | None = None
        self.wizard: CalibrationWizard | None = None
        self.curve_task: Task | None = None
        self._lens_status: str | None = None
        self._pending: tuple[str, float] | None = None  # "loading x.json…", since

        self.selector = QComboBox(self)
        self.selector.addItems(list(self._cameras))
        self.selector.currentTextChanged.connect(self._on_selector)
        self.status = QLabel("—", self)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_button = QPushButton("Choose lens file…", self)
        self.choose_button.setToolTip("Solve this camera's lens from a lens file (stagectl.lens/1 JSON)")
        self.choose_button.clicked.connect(lambda: self.choose_lens_file())
        self.remove_button = QPushButton("Unsolved", self)
        self.remove_button.setToolTip("Stop solving this camera's lens: raw encoder values only")
        self.remove_button.clicked.connect(self.remove_lens_file)
        self.calibrate_button = QPushButton("Calibrate…", self)
        self.calibrate_button.setToolTip("Calibrate one zoom / focus position from photographs of a board")
        self.calibrate_button.clicked.connect(self.open_calibration)
        head = QHBoxLayout()
        head.addWidget(QLabel("Camera", self))
        head.addWidget(self.selector)
        head.addSpacing(8)
        head.addWidget(self.status, 1)
        for button in (self.choose_button, self.remove_button, self.calibrate_button):
            head.addWidget(button)
        self.description = QLabel("", self)
        self.description.setStyleSheet(f"color: {theme.DIM_TEXT};")

        self.readout = LensReadout(self)
        self.curves = LensCurvesView(self)
        self.distortion = DistortionPreview(self)
        # Numbers over the distortion grid on the left (both about as wide as the table), the two
        # curves stacked on the right where they get the width a curve needs.
        self.side = QSplitter(Qt.Orientation.Vertical, self)
        self.side.addWidget(self.readout)
        self.side.addWidget(self.distortion)
        self.side.setStretchFactor(0, 0)
        self.side.setStretchFactor(1, 1)
        self.side.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.side)
        self.splitter.addWidget(self.curves)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([2000, 3000])  # scaled to the real width when first laid out
        self.splitter.setChildrenCollapsible(False)

        self.content = QWidget(self)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.description)
        layout.addWidget(self.splitter, 1)
        self.no_camera = no_camera_note(self, "The Lens dock solves and calibrates a camera's lens.")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.content, 1)
        outer.addWidget(self.no_camera, 1)
        self.content.setVisible(bool(self._cameras))
        self.no_camera.setVisible(not self._cameras)
        if self._cameras:
            self.select_camera(self._cameras[0])

    # --- camera ----------------------------------------------------------------------------------

    def select_camera(self, name: str) -> None:
        """Show ``name`` (no-op for an unknown name)."""
        if name not in self._cameras or name == self.camera:
            return
        self.camera = name
        self._pending = None
        self._lens_status = None
        if self.selector.currentText() != name:
            self.selector.setCurrentText(name)
        self._show_solver(None)
        if self.wizard is not None and self.wizard.task is None:
            self.wizard.close()
            self.wizard = None  # it calibrates one camera; a new one opens for this camera

    def _on_selector(self, name: str) -> None:
        if name and name != self.camera:
            self.select_camera(name)
            self.camera_selected.emit(name)

    # --- operator actions ------------------------------------------------------------------------

    def choose_lens_file(self, path: str | Path | None = None) -> None:
        """Solve the camera with the lens file at ``path`` (None: ask with a file dialog)."""
        if self.camera is None:
            return
        if path is None:
            current = self.solver.lens.path if self.solver is not None else None
            start = str(current.parent) if current is not None else ""
            chosen, _ = QFileDialog.getOpenFileName(self, f"Lens file for camera {self.camera}", start,
                                                    LENS_FILTER)
            if not chosen:
                return
            path = chosen
        self._pending = (f"loading {Path(path).name}…", time.monotonic())
        self._show_status_text(self._pending[0], theme.DIM_TEXT, str(path))
        self.commands.use_lens_file(self.camera, Path(path))

    def remove_lens_file(self) -> None:
        """Leave the camera unsolved (raw values only)."""
        if self.camera is not None:
            self._pending = ("removing the lens file…", time.monotonic())
            self._show_status_text(self._pending[0], theme.DIM_TEXT, "")
            self.commands.use_lens_file(self.camera, None)

    def open_calibration(self) -> CalibrationWizard | None:
        """Open (or raise) the calibration wizard for the camera; returns it."""
        if self.camera is None:
            return None
        if self.wizard is None or self.wizard.camera != self.camera:
            camera, latest = self.camera, self.latest
            self.wizard = CalibrationWizard(self.commands, camera, lambda: latest.get(camera), self)
            self.wizard.set_lens(self.solver.lens if self.solver is not None else None)
        self.wizard.show()
        self.wizard.raise_()
        return self.wizard

    # --- refreshing (GUI thread) -----------------------------------------------------------------

    def update_view(self, view: StageView) -> None:
        """Refresh status, solver, readout, live points and distortion from a view (30 Hz)."""
        for cam in view.cameras:
            self.latest[cam.name] = cam.latest
        status = view.camera(self.camera)
        if status is None or self.camera is None:
            return
        solver = view.lenses.get(self.camera) if status.lens_status.startswith("solved") else None
        changed = status.lens_status != self._lens_status or solver is not self.solver
        self._show_status(status, changed)
        if solver is not self.solver:
            self._show_solver(solver)
        if not seen(self):
            return  # a tabbed-away dock: nothing below is seen
        sample = status.latest
        self.shown_sample = sample
        self.readout.show_sample(sample)
        self.readout.show_film_back(status.film_back)
        lens = sample.lens if sample is not None else None
        self.curves.show_live(lens if self.solver is not None else None)
        self.distortion.set_frame(frame_from_lens(lens, self.solver.lens.sensor) if self.solver else None)

    def _show_status(self, status: CameraStatus, changed: bool) -> None:
        if self._pending is not None:
            if not changed and time.monotonic() - self._pending[1] < PENDING_TIMEOUT_S:
                return  # "loading …" until the view says something new
            self._pending = None
            self._lens_status = None  # show what the stage says now, even if it said it before
        if status.lens_status == self._lens_status:
            return
        self._lens_status = status.lens_status
        text, colour = status_text(status.lens_status)
        self._show_status_text(text, colour, status.lens_status)

    def _show_status_text(self, text: str, colour: str, tooltip: str) -> None:
        first = text.splitlines()[0] if text else ""
        if len(first) > STATUS_CHARS or "\n" in text:
            first = first[:STATUS_CHARS].rstrip() + " …"
        self.status.setText(f"<span style='color:{colour}'><b>●</b> {_html(first)}</span>")
        self.status.setToolTip(tooltip)

    def _show_solver(self, solver: Any) -> None:
        """A new lens file (or none): description, curves (sampled on a worker), wizard's lens."""
        self.solver = solver
        if self.curve_task is not None:
            self.curve_task.cancel()
            self.curve_task = None
        if solver is None:
            self.description.setText("No lens file: raw encoder counts go out unsolved. Choose a lens file, "
                                     "or calibrate one.")
            self.description.setToolTip("")
            self.curves.show_curves(None, "no lens file")
        else:
            self.description.setText(lens_description(solver.lens))
            self.description.setToolTip(str(solver.lens.path or ""))
            self.curves.show_curves(None, "sampling the lens file…")
            # Bound methods only: the task may outlive this panel, and Qt drops a destroyed
            # receiver's connections (a partial or lambda would still be called).
            self.curve_task = run_task("lens curves", lambda _progress, _cancel: _sampled(solver))
            self.curve_task.succeeded.connect(self._on_curves)
        if self.wizard is not None and self.wizard.camera == self.camera:
            self.wizard.set_lens(solver.lens if solver is not None else None)

    def _on_curves(self, outcome: tuple[Any, LensCurves | None, str]) -> None:
        solver, curves, error = outcome
        if solver is not self.solver:
            return  # another lens file since
        self.curve_task = None
        self.curves.show_curves(curves, f"cannot sample the lens file: {error}")


def _sampled(solver: Any) -> tuple[Any, LensCurves | None, str]:
    """(solver, its curves or None, what went wrong) on the worker thread."""
    try:
        return solver, sample_curves(solver), ""
    except Exception as exc:  # a lens file the solver takes but the sampler trips on: say so
        return solver, None, str(exc)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
