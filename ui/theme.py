"""Dark theme for a dark stage: a Fusion palette, pyqtgraph colours and the state colours."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette, QPen
from PySide6.QtWidgets import QApplication, QLabel, QWidget

BACKGROUND = "#121417"
PANEL = "#1a1d21"
BASE = "#0e1013"
TEXT = "#c9ced6"
DIM_TEXT = "#7d8590"
ACCENT = "#d68a2b"  # amber: readable in a dark stage without lighting up faces

STATE_COLOURS = {"up": "#3fb950", "stale": "#d29922", "down": "#f85149"}

#: Width (px) of a live curve's cosmetic pen: one device pixel, drawn without antialiasing (the
#: colours below are light enough for a 1 px line on the dark ground).
CURVE_WIDTH = 1
#: Curve colours for x/y/z, pan/tilt/roll and zoom/focus (red/green/blue keep the axis habit); light
#: tones, so that a 1 px line stands out from the dark ground and the grid.
AXIS_COLOURS = ("#ff8787", "#8ce99a", "#a5d8ff")
LENS_COLOURS = ("#e599f7", "#ffd43b")
CAMERA_COLOURS = ("#ffa94d", "#4dabf7", "#94d82d", "#f783ac", "#b197fc", "#63e6be", "#ffd43b", "#ff8787")


def camera_colour(index: int) -> str:
    """A stable colour for the ``index``-th camera of the stage."""
    return CAMERA_COLOURS[index % len(CAMERA_COLOURS)]


def apply(app: QApplication) -> None:
    """Make the whole application dark."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: PANEL,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: BACKGROUND,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#3a4350",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: DIM_TEXT,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DIM_TEXT))
    app.setPalette(palette)
    app.setStyleSheet(
        f"QDockWidget::title {{ background: {BACKGROUND}; padding: 4px; }}"
        f"QStatusBar {{ background: {BACKGROUND}; }}"
        f"QHeaderView::section {{ background: {BACKGROUND}; color: {DIM_TEXT}; border: none; padding: 3px; }}"
    )
    # Aliased drawing with cosmetic 1 px pens is pyqtgraph's fast path: curves that change every frame use
    # it; antialiasing is switched on per item where it is worth it (a few glyphs, a static band).
    pg.setConfigOptions(background=BACKGROUND, foreground=TEXT, antialias=False)


def monospace(point_size: int = 10, bold: bool = False) -> QFont:
    """A fixed-width font for numbers that change many times a second (no jitter in width)."""
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(point_size)
    font.setBold(bold)
    return font


#: Figures that move at every view (rates, counts, jitter) are shown this often (s): as fast as anyone reads
#: them, and a table or label redrawn four times a second rather than thirty or sixty.
FIGURES_PERIOD_S = 0.25
#: Numbers that change with every sample (the pose readouts, timecodes, the recorder's clock) and the stage
#: map are drawn at most this often (s), give or take a quarter: thirty times a second is faster than anyone
#: reads a number, and moves a camera on the map as smoothly as film does. At a refresh of 60 Hz the
#: scrolling time plots draw every view, the numbers and the map every second one.
NUMBERS_PERIOD_S = 1.0 / 30.0


def hold_size(label: QLabel, widest: str, opaque: bool = False, background: str | None = None) -> None:
    """Fix ``label``'s size to that of ``widest`` (in its font and style) so that new text many times a second
    never re-lays out the window around it; the text shown is kept. ``opaque``: the label fills its own
    background (the panel's colour, or ``background`` where it sits on another), so new text repaints the
    label alone, not every widget under it."""
    label.setAutoFillBackground(opaque)
    if background is not None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(background))
        label.setPalette(palette)
    text = label.text()
    label.setText(widest)
    label.ensurePolished()
    label.setFixedSize(label.sizeHint())
    label.setText(text)


def set_style(widget: QWidget, style: str) -> None:
    """``widget.setStyleSheet(style)`` unless it has it already (a new style sheet re-polishes the widget)."""
    if widget.styleSheet() != style:
        widget.setStyleSheet(style)


#: Text colours for figures that need attention: a warning (amber) and a fault (red).
WARNING_TEXT = STATE_COLOURS["stale"]
FAULT_TEXT = STATE_COLOURS["down"]
#: Reference lines drawn over measured data (p50 / p99 on the inter-arrival plot).
REFERENCE_COLOURS = (ACCENT, "#f85149")


def curve_pen(colour: str, width: float = CURVE_WIDTH, **style: Any) -> QPen:
    """A cosmetic pen for a plot: ``width`` device pixels whatever the view's scale."""
    pen: QPen = pg.mkPen(colour, width=width, **style)
    pen.setCosmetic(True)
    return pen


def legend_title(title: str, entries: list[tuple[str, str]]) -> str:
    """A plot title with its legend beside it: ``title`` dim, then each (name, colour) in its colour.

    Kept in the title row so a legend never sits on the curves.
    """
    text = f"<span style='color:{DIM_TEXT}'>{title}</span>" if title else ""
    if entries:
        text += ("&nbsp;&nbsp;" if title else "") + "&nbsp;".join(
            f"<span style='color:{colour}'>&#9644;&nbsp;{name}</span>" for name, colour in entries)
    return text


def state_colour(state: str) -> str:
    """The light colour for a stream state (``up``/``stale``/``down``), dim text for anything else."""
    return STATE_COLOURS.get(state, DIM_TEXT)


def rate_label(fps: float) -> str:
    """A frame rate as an operator reads it: 25, 29.97, 23.976 (at most three decimals)."""
    return f"{fps:.3f}".rstrip("0").rstrip(".")


#: Lens panel: the distorted grid of the distortion preview, and a value clamped at the edge of
#: the lens file's calibrated range (amber: still usable, but not what the encoder asked for).
DISTORTION_GRID = "#74c0fc"
CLAMPED_TEXT = WARNING_TEXT


#: Frustum panel: acknowledgement colours (Unreal said ok / refused or timed out) and the big
#: controls an operator can hit and read on a dark stage.
ACK_OK_TEXT = STATE_COLOURS["up"]
ACK_ERROR_TEXT = FAULT_TEXT
TOGGLE_STYLE = (
    "QPushButton { padding: 10px 18px; border: 2px solid #3a4350; border-radius: 6px;"
    f" background: {BASE}; color: {DIM_TEXT}; font-weight: bold; }}"
    f"QPushButton:checked {{ border-color: {ACCENT}; background: #3a2a14; color: {ACCENT}; }}"
    "QPushButton:disabled { border-color: #2a2f36; color: #4a5058; }"
)
BIG_SLIDER_STYLE = (
    "QSlider { min-height: 34px; }"
    "QSlider::groove:horizontal { height: 10px; background: #2a2f36; border-radius: 5px; }"
    "QSlider::sub-page:horizontal { height: 10px; background: #6b4a1f; border-radius: 5px; }"
    f"QSlider::handle:horizontal {{ width: 26px; margin: -9px 0; background: {ACCENT};"
    " border-radius: 13px; }"
    "QSlider::handle:horizontal:disabled { background: #4a5058; }"
)
