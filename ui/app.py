"""Opens the window for a running stage and runs the Qt event loop."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

from stagectl.core.lineout import LineOut
from stagectl.core.platform import silence_stdout
from ui import theme
from ui.main_window import MainWindow

if TYPE_CHECKING:
    from stagectl.stage.runner import StageRunner

#: Overrides where the window keeps its layout (tests point it at a temporary folder).
SETTINGS_DIR_ENV = "STAGECTL_SETTINGS_DIR"


def settings_path() -> Path:
    """The INI file holding window geometry and dock layout."""
    override = os.environ.get(SETTINGS_DIR_ENV)
    if override:
        base = Path(override)
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation))
    return base / "window.ini"


def open_settings() -> QSettings:
    """QSettings in INI format at :func:`settings_path`."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def ensure_app() -> QApplication:
    """The QApplication, created and themed on first use."""
    app = QApplication.instance()
    if app is None:
        QApplication.setApplicationName("stagectl")
        QApplication.setOrganizationName("stagectl")
        app = QApplication(sys.argv[:1])
        theme.apply(app)
    assert isinstance(app, QApplication)
    return app


def save_screenshot(window: MainWindow, path: str) -> bool:
    """Grab the window to a PNG; True on success."""
    return bool(window.grab().save(path, "PNG"))


def run_window(runner: StageRunner, *, duration_s: float | None = None, status_json: bool = False,
               screenshot: str | None = None, screenshot_after_s: float = 2.0) -> int:
    """Show the main window until it is closed (or Ctrl+C, or the duration/screenshot ends)."""
    app = ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    window.show()
    result = {"code": 0}

    # Ctrl+C: Python runs signal handlers only when it holds the interpreter, so wake it often.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    signal.signal(signal.SIGTERM, lambda *_: window.close())
    waker = QTimer(window)
    waker.timeout.connect(lambda: None)
    waker.start(100)

    if duration_s is not None:
        QTimer.singleShot(int(duration_s * 1000), window.close)
    lines: LineOut | None = None
    if status_json:
        ticker = QTimer(window)
        lines = LineOut(sys.stdout)  # written off the GUI thread: a reader not reading never freezes it

        def print_status() -> None:
            # A reader that went away (``| head -1``) ends the run quietly, as on the command line.
            assert lines is not None
            if lines.broken:
                silence_stdout()
                ticker.stop()
                result["code"] = 1
                window.close()
                return
            lines.put(runner.views.latest.status_json)

        ticker.timeout.connect(print_status)
        ticker.start(1000)
    if screenshot is not None:
        def grab() -> None:
            if save_screenshot(window, screenshot):
                print(f"saved {screenshot}", file=sys.stderr)
            else:
                print(f"stagectl: could not write {screenshot}", file=sys.stderr)
                result["code"] = 1
            window.close()

        QTimer.singleShot(int(screenshot_after_s * 1000), grab)
    app.exec()
    if lines is not None and not lines.close(0.2) and lines.broken:
        silence_stdout()
        result["code"] = 1
    return result["code"]
