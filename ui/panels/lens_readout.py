"""The Lens panel's live table: raw encoders -> normalised -> the values solved from the lens file.

Updated from the snapshot at 30 Hz: labels are set only when their text changes, in a monospace
font with fixed widths, so nothing flickers or shifts. An axis whose raw count lay beyond the lens
file's calibrated range (``LensValues.clamped``) is amber, with the values that depend on it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from stagectl.core.samples import CameraSample, FilmBack, LensValues
from ui import theme

AXES = ("zoom", "focus", "iris")
#: The solved value that follows each encoder axis (amber with it when the axis is clamped).
DEPENDS_ON = {"zoom": "focal_length", "focus": "focus_distance", "iris": "t_stop"}
#: (key, caption, cells): rows of single solved values below the encoders.
SOLVED_ROWS = (("focal_length", "Focal length"), ("focus_distance", "Focus distance"), ("t_stop", "T-stop"),
               ("entrance_pupil", "Entrance pupil"))
DASH = "—"
FILM_BACK_TIP = ("The sensor size every output and export uses for this camera's field of view: the lens "
                 "file's, else the one the tracker's OpenTrackIO static block names, else [[cameras]] "
                 "sensor_mm in the stage file; unknown when none says")


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return DASH if value is None else f"{value:{spec}}{suffix}"


def distance_text(metres: float | None) -> str:
    """A focus distance: ``∞``, ``1.638 m``, ``—``."""
    if metres is None:
        return DASH
    return "∞" if math.isinf(metres) else f"{metres:.3f} m"


def stop_text(lens: LensValues) -> str:
    """``T2.81``, ``f/2.8`` (when only the geometric stop is known), or ``—``."""
    if lens.t_stop is not None:
        return f"T{lens.t_stop:.2f}"
    return DASH if lens.f_stop is None else f"f/{lens.f_stop:.2f}"


def readout_texts(sample: CameraSample | None) -> dict[str, str]:
    """Every cell's text for ``sample`` (``—`` for what it does not carry)."""
    lens = sample.lens if sample is not None and sample.lens is not None else LensValues()
    raw = {"zoom": None, "focus": None, "iris": None} if sample is None else {
        "zoom": sample.zoom_raw, "focus": sample.focus_raw, "iris": sample.iris_raw}
    focus_n, iris_n, zoom_n = lens.encoders if lens.encoders is not None else (None, None, None)
    normalised = {"zoom": zoom_n, "focus": focus_n, "iris": iris_n}
    texts = {}
    for axis in AXES:
        count = raw[axis]
        texts[f"{axis}_raw"] = DASH if count is None else str(count)
        texts[f"{axis}_norm"] = _fmt(normalised[axis], ".4f")
    texts["focal_length"] = _fmt(lens.focal_length_mm, ".2f", " mm")
    texts["focus_distance"] = distance_text(lens.focus_distance_m)
    texts["t_stop"] = stop_text(lens)
    texts["entrance_pupil"] = _fmt(lens.entrance_pupil_offset_m, "+.4f", " m")
    cx, cy = lens.principal_point_px or (None, None)
    texts["cx"], texts["cy"] = _fmt(cx, ".1f"), _fmt(cy, ".1f")
    k1, k2, k3, p1, p2 = lens.brown_conrady or (None,) * 5
    for name, value in (("k1", k1), ("k2", k2), ("k3", k3), ("p1", p1), ("p2", p2)):
        texts[name] = _fmt(value, "+.5f")
    return texts


class LensReadout(QWidget):
    """Raw / normalised encoders and the solved lens values of one camera.

    Attributes:
        values: the value labels by key (``zoom_raw``, ``zoom_norm``, ``focal_length``,
            ``focus_distance``, ``t_stop``, ``entrance_pupil``, ``cx``, ``cy``, ``k1`` .. ``p2``).
        origin: where the values come from ("solved from <file>", "as the tracker reports them").
        clamped: the axes shown clamped.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(3)
        self.values: dict[str, QLabel] = {}
        mono = theme.monospace(11, bold=True)
        row = 0

        def caption(text: str, r: int, col: int = 0, dim: bool = False) -> QLabel:
            label = QLabel(text, self)
            if dim:
                label.setStyleSheet(f"color: {theme.DIM_TEXT};")
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, r, col)
            return label

        def value(key: str, r: int, col: int, sample_text: str, span: int = 1) -> None:
            label = QLabel(DASH, self)
            label.setFont(mono)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(sample_text) + 4)
            grid.addWidget(label, r, col, 1, span)
            self.values[key] = label

        heading = QLabel("<b>Encoders</b>", self)
        grid.addWidget(heading, row, 0)
        for col, text in ((1, "raw"), (2, "normalised")):
            caption(text, row, col, dim=True)
        row += 1
        for axis in AXES:
            caption(axis.capitalize(), row)
            value(f"{axis}_raw", row, 1, "-000000")
            value(f"{axis}_norm", row, 2, "0.0000")
            row += 1
        grid.setRowMinimumHeight(row, 8)
        row += 1
        grid.addWidget(QLabel("<b>Solved</b>", self), row, 0)
        self.origin = QLabel("", self)
        self.origin.setStyleSheet(f"color: {theme.DIM_TEXT};")
        grid.addWidget(self.origin, row, 1, 1, 3)
        row += 1
        for key, text in SOLVED_ROWS:
            caption(text, row)
            value(key, row, 1, "+00.0000 mm", span=2)
            row += 1
        caption("Principal point px", row)
        value("cx", row, 1, "00000.0")
        value("cy", row, 2, "00000.0")
        row += 1
        caption("Distortion k1 k2 k3", row)
        for col, key in enumerate(("k1", "k2", "k3"), start=1):
            value(key, row, col, "+0.00000")
        row += 1
        caption("p1 p2", row).setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for col, key in enumerate(("p1", "p2"), start=1):
            value(key, row, col, "+0.00000")
        row += 1
        caption("Film back", row).setToolTip(FILM_BACK_TIP)
        value("film_back", row, 1, "00.00 x 00.00 mm", span=2)
        self.film_source = QLabel("", self)
        self.film_source.setStyleSheet(f"color: {theme.DIM_TEXT};")
        grid.addWidget(self.film_source, row, 3)
        row += 1
        grid.setRowStretch(row, 1)
        grid.setColumnStretch(4, 1)
        self.values["k3"].setToolTip("OpenCV's order is k1 k2 p1 p2 k3; shown grouped radial / tangential")
        self.clamped: tuple[str, ...] = ()

    def show_sample(self, sample: CameraSample | None) -> None:
        """Show ``sample``'s encoders and lens values (every frame; only changed text is set)."""
        for key, text in readout_texts(sample).items():
            label = self.values[key]
            if label.text() != text:
                label.setText(text)
        lens = sample.lens if sample is not None else None
        if lens is not None and lens.lens_file:
            origin = f"from {lens.lens_file}"
        elif lens is not None and any(v is not None for v in (lens.focal_length_mm, lens.focus_distance_m,
                                                               lens.t_stop, lens.f_stop)):
            origin = "as the tracker reports them"
        else:
            origin = "none: no lens file"
        if self.origin.text() != origin:
            self.origin.setText(origin)
        self._show_clamped(lens.clamped if lens is not None else ())

    def show_film_back(self, film: FilmBack | None) -> None:
        """The camera's one film back and where it comes from, or "unknown" (amber: no field of view)."""
        text = DASH if film is None else f"{film.width_mm:.2f} x {film.height_mm:.2f} mm"
        source = "unknown: set sensor_mm" if film is None else f"from the {film.source}"
        label = self.values["film_back"]
        if label.text() != text:
            label.setText(text)
            label.setStyleSheet("" if film is not None else f"color: {theme.WARNING_TEXT};")
        if self.film_source.text() != source:
            self.film_source.setText(source)

    def _show_clamped(self, clamped: tuple[str, ...]) -> None:
        if clamped == self.clamped:
            return
        self.clamped = clamped
        for axis in AXES:
            on = axis in clamped
            style = f"color: {theme.CLAMPED_TEXT};" if on else ""
            tip = (f"the {axis} encoder is outside the lens file's calibrated range: the values are those "
                   "of the range's edge (clamped, not extrapolated)") if on else ""
            for key in (f"{axis}_raw", f"{axis}_norm", DEPENDS_ON[axis]):
                self.values[key].setStyleSheet(style)
                self.values[key].setToolTip(tip)
