"""Whether a widget is on screen: what decides if a panel spends a frame drawing."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget


def seen(widget: QWidget) -> bool:
    """True when ``widget`` is shown and some of it lies inside its window.

    ``isVisible`` alone is not enough: Qt keeps the docks of a tab group that are not the current tab
    visible and moves them off the window, where nothing of them shows. (``visibleRegion`` is no
    help either: it leaves out what the widget's own children cover.)
    """
    if not widget.isVisible():
        return False
    window = widget.window()
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()).intersects(window.rect())
