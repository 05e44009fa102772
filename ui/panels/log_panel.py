"""Log dock: stage events, newest at the bottom, coloured by level, filterable."""

from __future__ import annotations

import html

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stagectl.core.events import Level, StageEvent
from ui import theme

LEVEL_COLOURS = {Level.DEBUG: theme.DIM_TEXT, Level.INFO: theme.TEXT, Level.WARNING: "#d29922",
                 Level.ERROR: "#f85149"}
MAX_LINES = 5000


class LogPanel(QWidget):
    """Shows StageEvents; keeps the last MAX_LINES; the level filter hides lower levels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setFont(theme.monospace(9))
        # Two lines at the least (Qt's own least is room for its scroll bars' arrows, four lines and more),
        # so that on a short screen the log can give its room to the plots and still show the newest line.
        self.view.setMinimumHeight(2 * self.view.fontMetrics().lineSpacing() + 2 * self.view.frameWidth()
                                   + 2 * round(self.view.document().documentMargin()))
        self.level = QComboBox(self)
        for level in (Level.DEBUG, Level.INFO, Level.WARNING, Level.ERROR):
            self.level.addItem(level.name.title(), int(level))
        self.level.setCurrentIndex(1)
        clear = QPushButton("Clear", self)
        clear.clicked.connect(self.view.clear)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show from", self))
        bar.addWidget(self.level)
        bar.addStretch(1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        # The newest line stays in sight while the log is at its end, also when the log is made smaller
        # (Qt keeps the first line shown); scrolled back to read, it stays where the reader put it.
        scroll = self.view.verticalScrollBar()
        self.following = True
        """The log shows its newest line (it is scrolled to its end)."""
        scroll.valueChanged.connect(self._scrolled)
        scroll.rangeChanged.connect(self._range_changed)

    def _scrolled(self, value: int) -> None:
        self.following = value >= self.view.verticalScrollBar().maximum()

    def _range_changed(self, _low: int, high: int) -> None:
        if self.following:
            self.view.verticalScrollBar().setValue(high)

    def sizeHint(self) -> QSize:
        """A strip under the camera view, not half the window."""
        return QSize(900, 150)

    def add_events(self, events: list[StageEvent]) -> None:
        """Append the events at or above the chosen level."""
        threshold = int(self.level.currentData())
        for event in events:
            if int(event.level) < threshold:
                continue
            colour = LEVEL_COLOURS.get(event.level, theme.TEXT)
            self.view.appendHtml(f'<span style="color:{colour}">{html.escape(event.format())}</span>')

    def text(self) -> str:
        """Everything currently shown, as plain text."""
        return self.view.toPlainText()
