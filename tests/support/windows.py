"""Widgets and the main window on a running stage, shown at a size a user has (a laptop's 1280x720 by
default)."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from ui.app import ensure_app, open_settings
from ui.main_window import MainWindow

W = TypeVar("W", bound=QWidget)


def shown(qtbot: QtBot, widget: W, width: int, height: int) -> W:
    """``widget`` sized, shown and exposed; closed with the test."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shown_window(qtbot: QtBot, runner: StageRunner, width: int = 1280, height: int = 720) -> MainWindow:
    """A new main window on ``runner``'s views, sized before it is first shown (so its first layout is that
    size's), shown and exposed; closed with the test."""
    ensure_app()
    return shown(qtbot, MainWindow(runner.views, runner.commands, open_settings()), width, height)
