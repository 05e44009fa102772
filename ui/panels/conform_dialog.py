"""The Conform dialog: camera clips (or an editor's cut) matched to the takes, then a package per clip.

Opened from the Takes dock ("Conform…"). The operator picks what post gave them — a folder of camera
media, the DIT's ALE or a CSV of clips, or a cut (EDL, OTIO, FCP XML) with handles — and presses
Match: the sources are read and every clip matched to the take(s) and camera that recorded it, on a
thread (``StageCommands.conform_plan``); nothing is written yet. The match table shows each clip's
camera, take(s), TC in / out, how much of it has tracking and why not; a row with a problem is
coloured (amber: partly covered or a warning; red: nothing matched or refused). Conform is possible
once a table is shown for what is entered, and writes the chosen formats into the output folder on a
thread (``StageCommands.conform``) with a progress bar; Cancel stops after the package being written
(files are written atomically). At the end: a result line and the files written.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stagectl.core.timecode import FrameRate, TimecodeError
from stagectl.stage.commands import StageCommands
from stagectl.stage.conform_jobs import ConformOutcome, ConformPlan, ConformRequest
from stagectl.takes.conform.package import DEFAULT_FORMATS
from stagectl.takes.export.registry import FORMATS
from ui import theme
from ui.panels.conform_table import (
    COLUMNS,
    EDL_RATES,
    ROW_COLOURS,
    MatchTable,
    default_out_folder,
    parse_camera_map,
    rate_item,
    summary_text,
)
from ui.panels.job_dialog import JobDialog

__all__ = ["COLUMNS", "ROW_COLOURS", "ConformDialog"]


class ConformDialog(JobDialog[ConformOutcome]):
    """Match clips or a cut to the takes, then conform (see the module docstring).

    Args:
        folder: the takes folder (the default output folder is under it).
        commands: what reads, matches and writes (``conform_plan``, ``conform``).
        edl_rate: the rate an EDL's timecodes are read at unless changed (the stage's frame rate).

    Attributes:
        plan / plan_job: the match table shown and the job that made it (None before).
        job / outcome: the conform running (or last run) and the last finished run's outcome.
    """

    def __init__(self, folder: Path, commands: StageCommands, parent: QWidget | None = None,
                 edl_rate: str = "25") -> None:
        super().__init__("package", parent)
        self.folder = folder
        self.commands = commands
        self.plan: ConformPlan | None = None
        self.plan_job: Future[ConformPlan] | None = None
        self._planned: ConformRequest | None = None  # what the table shown was matched from
        self.setWindowTitle("Conform")
        self.setMinimumWidth(720)
        self.resize(1000, 640)
        self.clips_radio = QRadioButton("Clips: media folder, ALE or CSV")
        self.cut_radio = QRadioButton("Cut: EDL, OTIO or FCP XML")
        self.clips_radio.setChecked(True)
        kinds = QButtonGroup(self)
        kinds.addButton(self.clips_radio)
        kinds.addButton(self.cut_radio)
        self.source_edit = QLineEdit()
        self.folder_button = QPushButton("Folder…")
        self.file_button = QPushButton("File…")
        self.handles = QSpinBox()
        self.handles.setRange(0, 10_000)
        self.handles.setSuffix(" frames")
        self.handles.setToolTip("frames added before and after each event's source range")
        self.edl_rate = QComboBox()
        self.edl_rate.addItems(EDL_RATES)
        self.edl_rate.setCurrentText(rate_item(edl_rate))
        self.edl_rate.setToolTip("an EDL does not say its frame rate: the rate of its timecodes")
        self.camera_map = QLineEdit()
        self.camera_map.setPlaceholderText("clip camera = stage camera, e.g. A=A001 (optional)")
        self.match_button = QPushButton("Match")
        self.match_button.setToolTip("Read the clips and match them to the takes (nothing is written)")
        self.table = MatchTable()
        self.summary = QLabel("")
        self.checks: dict[str, QCheckBox] = {}
        for name in DEFAULT_FORMATS:
            check = QCheckBox(name)
            check.setChecked(True)
            check.setToolTip(FORMATS[name].description)
            self.checks[name] = check
        self.out_edit = QLineEdit()
        self.choose_button = QPushButton("Choose…")
        self.files.setMaximumHeight(6 * (self.fontMetrics().height() + 4))
        self.conform_button = QPushButton("Conform")
        self.conform_button.setDefault(True)
        self._build()
        self.clips_radio.toggled.connect(self._kind_changed)
        self.folder_button.clicked.connect(self.choose_source_folder)
        self.file_button.clicked.connect(self.choose_source_file)
        self.source_edit.textChanged.connect(self._source_changed)
        # a change makes the table shown no longer what Conform would write
        self.handles.valueChanged.connect(self._update_buttons)
        self.edl_rate.currentTextChanged.connect(self._update_buttons)
        self.camera_map.textChanged.connect(self._update_buttons)
        self.match_button.clicked.connect(self.start_match)
        self.choose_button.clicked.connect(self.choose_out_folder)
        self.conform_button.clicked.connect(self.start_conform)
        self._kind_changed()

    def _build(self) -> None:
        inputs = QGridLayout()
        inputs.addWidget(self.clips_radio, 0, 0, 1, 2)
        inputs.addWidget(self.cut_radio, 0, 2, 1, 2)
        inputs.addWidget(QLabel("Source"), 1, 0)
        inputs.addWidget(self.source_edit, 1, 1)
        inputs.addWidget(self.folder_button, 1, 2)
        inputs.addWidget(self.file_button, 1, 3)
        options = QHBoxLayout()
        self.handles_label = QLabel("Handles")
        self.rate_label = QLabel("EDL rate")
        for widget in (self.handles_label, self.handles, self.rate_label, self.edl_rate,
                       QLabel("Camera map"), self.camera_map):
            options.addWidget(widget)
        options.setStretch(options.count() - 1, 1)
        options.addWidget(self.match_button)
        inputs.addLayout(options, 2, 0, 1, 4)
        inputs.setColumnStretch(1, 1)
        formats = QHBoxLayout()
        formats.addWidget(QLabel("Formats"))
        for check in self.checks.values():
            formats.addWidget(check)
        formats.addSpacing(16)
        formats.addWidget(QLabel("Into"))
        formats.addWidget(self.out_edit, 1)
        formats.addWidget(self.choose_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        for button in (self.conform_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(inputs)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(formats)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.files)

    # --- inputs ----------------------------------------------------------------------------------

    @property
    def cut_mode(self) -> bool:
        """True when a cut (not clips) is conformed."""
        return self.cut_radio.isChecked()

    def _kind_changed(self) -> None:
        cut = self.cut_mode
        edl = cut and self.source_edit.text().strip().lower().endswith(".edl")
        for widget, enabled in ((self.handles_label, cut), (self.handles, cut), (self.rate_label, edl),
                                (self.edl_rate, edl)):
            widget.setEnabled(enabled)
        self.source_edit.setPlaceholderText("an .edl, .otio or FCP .xml cut" if cut else
                                            "a folder of camera media, the DIT's .ale, a .csv of clips")
        self._update_buttons()

    def _source_changed(self, text: str) -> None:
        self.out_edit.setText(str(default_out_folder(self.folder, text.strip())) if text.strip() else "")
        self._kind_changed()

    def choose_source_folder(self) -> None:
        """Pick a folder of camera media."""
        chosen = QFileDialog.getExistingDirectory(self, "Camera media folder", self.source_edit.text())
        if chosen:
            self.source_edit.setText(chosen)

    def choose_source_file(self) -> None:
        """Pick an ALE / CSV (clips) or a cut."""
        patterns = ("Cuts (*.edl *.otio *.xml)" if self.cut_mode else "Clip lists (*.ale *.csv)")
        chosen, _ = QFileDialog.getOpenFileName(self, "Open", self.source_edit.text(), patterns)
        if chosen:
            self.source_edit.setText(chosen)

    def choose_out_folder(self) -> None:
        """Pick the output folder."""
        chosen = QFileDialog.getExistingDirectory(self, "Conform into folder", self.out_edit.text())
        if chosen:
            self.out_edit.setText(chosen)

    def request(self) -> ConformRequest:
        """What is entered as a request; ValueError saying what to fix."""
        text = self.source_edit.text().strip()
        if not text:
            raise ValueError("choose a cut" if self.cut_mode else "choose a media folder, an ALE or a CSV")
        camera_map = parse_camera_map(self.camera_map.text())
        path = Path(text).expanduser()
        if not self.cut_mode:
            return ConformRequest(sources=(path,), camera_map=camera_map)
        rate = None
        if path.suffix.lower() == ".edl":
            try:
                rate = FrameRate.parse(self.edl_rate.currentText())
            except TimecodeError as exc:
                raise ValueError(f"EDL rate: {exc}") from None
        return ConformRequest(cut=path, handles=self.handles.value(), camera_map=camera_map, cut_rate=rate)

    def chosen_formats(self) -> list[str]:
        """The formats checked, in the package's order."""
        return [name for name, check in self.checks.items() if check.isChecked()]

    # --- match -----------------------------------------------------------------------------------

    @property
    def matching(self) -> bool:
        """True while a match runs."""
        return self.plan_job is not None and not self.plan_job.done()

    def _current(self) -> ConformRequest | None:
        try:
            return self.request()
        except ValueError:
            return None

    def running_changed(self) -> None:
        """Inputs, formats and Conform are locked while a conform runs."""
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.running or self.matching
        planned = (self.plan is not None and self._planned is not None and self._planned == self._current()
                   and self.plan.matched > 0)
        self.conform_button.setEnabled(planned and not busy)
        self.conform_button.setToolTip("Write a package per matched clip" if planned else
                                       "Match first: the table shows what will be written")
        self.match_button.setEnabled(not busy)
        self.cancel_button.setEnabled(self.running)
        for widget in (self.source_edit, self.file_button, self.clips_radio, self.cut_radio, self.camera_map,
                       self.out_edit, self.choose_button, *self.checks.values()):
            widget.setEnabled(not self.running)
        self.folder_button.setEnabled(not self.running and not self.cut_mode)

    def start_match(self) -> None:
        """Read the sources and match them on a worker (nothing is written)."""
        if self.matching or self.running:
            return
        try:
            request = self.request()
        except ValueError as exc:
            self._say(str(exc), theme.FAULT_TEXT)
            return
        self._say(f"reading {self.source_edit.text().strip()} and matching it to the takes…", theme.TEXT)
        self.plan_job = self.commands.conform_plan(request, done=self._on_planned)
        self._update_buttons()

    def _on_planned(self, job: Future[ConformPlan]) -> None:
        if job is not self.plan_job:
            return
        exc = job.exception()
        if exc is not None:
            self.plan, self._planned = None, None
            self.table.setRowCount(0)
            self.summary.setText("")
            self._say(f"cannot match: {exc}", theme.FAULT_TEXT)
        else:
            self.show_plan(job.result())
        self._update_buttons()

    def show_plan(self, plan: ConformPlan) -> None:
        """Fill the match table from ``plan``."""
        self.plan, self._planned = plan, plan.request
        self.table.show_rows(plan.rows)
        kind = "events" if plan.request.kind == "cut" else "clips"
        self.summary.setText(summary_text(plan.rows, kind))
        if plan.read.warnings:
            self._say("; ".join(plan.read.warnings), theme.WARNING_TEXT)
        elif plan.matched == 0:
            self._say("no clip matches a take: check the timecode and the takes folder", theme.FAULT_TEXT)
        else:
            self._say(f"{plan.matched} of {len(plan.rows)} {kind} have tracking; choose the formats and "
                      "press Conform", theme.TEXT)

    # --- conform ---------------------------------------------------------------------------------

    def start_conform(self) -> None:
        """Conform on a worker what the table shows (nothing when one runs or nothing is chosen)."""
        if self.running or self.matching or self.plan is None or self._planned is None:
            return
        formats = self.chosen_formats()
        text = self.out_edit.text().strip()
        if not formats or not text:
            self._say("choose at least one format" if not formats else "choose a folder", theme.FAULT_TEXT)
            return
        if self._planned != self._current():
            self._say("the inputs changed since the match: press Match again", theme.WARNING_TEXT)
            return
        out_dir, planned = Path(text).expanduser(), self._planned

        def start(cancel: threading.Event) -> Future[ConformOutcome]:
            return self.commands.conform(planned, formats, out_dir, progress=self._on_progress, cancel=cancel,
                                         done=self._on_finished)

        self.begin(f"conforming {self.plan.matched} {'events' if self.cut_mode else 'clips'} into "
                   f"{out_dir}…", start)

    def _on_finished(self, job: Future[ConformOutcome]) -> None:
        outcome = self.take_outcome(job, lambda exc: ConformOutcome(error=str(exc)))
        if outcome is None:
            return
        for warning in outcome.warnings:  # every one said, above the files
            self.add_file(f"warning: {warning}", warning, theme.WARNING_TEXT)
        out = self.out_edit.text()
        for path in outcome.files:
            self.add_file(str(path.relative_to(out) if path.is_relative_to(out) else path), str(path))
        tracked = sum(p.frames_covered > 0 for p in outcome.packages)
        written = f"{tracked} of {len(outcome.packages)} packages with tracking, {len(outcome.files)} files"
        if self.say_outcome("conform", outcome.error, outcome.cancelled, written):
            ale = f"; enriched ALE {outcome.enriched_ale.name}" if outcome.enriched_ale else ""
            line = f"wrote {written} into {self.out_edit.text()}{ale}"
            if outcome.warnings:
                self._say(f"{line}; {len(outcome.warnings)} warning(s), listed below", theme.WARNING_TEXT)
            else:
                self._say(line, theme.STATE_COLOURS["up"])
