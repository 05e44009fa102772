"""The window opens whole on the screen it has: a first run fits 1280x720 and up, and a geometry restored
from a larger screen is pulled back onto a smaller one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.cli import REPO, stagectl_env
from tests.support.polling import TIMEOUT_MS
from ui.app import ensure_app, open_settings
from ui.main_window import MainWindow, fitted


@pytest.mark.parametrize(("frame", "available", "expected"), [
    (QRect(0, 0, 1400, 860), QRect(0, 0, 1280, 1024), QRect(0, 0, 1280, 860)),
    (QRect(600, 500, 1400, 860), QRect(0, 0, 1920, 1080), QRect(520, 220, 1400, 860)),
    (QRect(-300, -40, 800, 600), QRect(0, 0, 1280, 720), QRect(0, 0, 800, 600)),
    (QRect(2000, 0, 1400, 860), QRect(1920, 0, 1280, 720), QRect(1920, 0, 1280, 720)),
    (QRect(100, 100, 800, 600), QRect(0, 0, 1920, 1080), QRect(100, 100, 800, 600)),
])
def test_a_frame_is_moved_and_shrunk_onto_the_available_area(frame: QRect, available: QRect,
                                                            expected: QRect) -> None:
    assert fitted(frame, available) == expected


def _screenshot(tmp_path: Path, width: int, height: int, settings: Path) -> QImage:
    screen = tmp_path / f"screen-{width}x{height}.json"
    screen.write_text(json.dumps({"synthesizedFocusEvents": True, "windowFrameMargins": False, "screens": [
        {"name": "stage", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96,
         "logicalBaseDpi": 96, "dpr": 1}]}))
    shot = tmp_path / f"window-{width}x{height}.png"
    env = stagectl_env()
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"
    env["STAGECTL_SETTINGS_DIR"] = str(settings)
    env.pop("DISPLAY", None)
    result = subprocess.run([sys.executable, "main.py", "--screenshot", str(shot), "--after", "1"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert not image.isNull()
    return image


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1280, 1024)])
def test_a_first_run_fits_the_screen(tmp_path: Path, width: int, height: int) -> None:
    image = _screenshot(tmp_path, width, height, tmp_path / "fresh")
    assert image.width() <= width and image.height() <= height
    assert image.width() >= 0.9 * min(1400, width)  # it uses the room it has


def test_a_layout_saved_on_a_large_screen_opens_whole_on_a_small_one(tmp_path: Path) -> None:
    settings = tmp_path / "settings"
    big = _screenshot(tmp_path, 1920, 1080, settings)
    assert big.width() > 1280  # the layout saved on the large screen is wider than the small one
    small = _screenshot(tmp_path, 1280, 720, settings)
    assert small.width() <= 1280 and small.height() <= 720


def test_a_bigger_window_gives_its_room_to_the_tabbed_docks(qtbot: QtBot, demo_runner: StageRunner) -> None:
    """Maximising a first-run window keeps the Stage list's width and the Log strip's height; the tabbed
    docks (Tracking, Lighting, ...) get the new room instead of it being shared out to every dock."""
    ensure_app()
    window = MainWindow(demo_runner.views, demo_runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.resize(1280, 720)
    qtbot.wait(500)  # the first layout settles
    stage_width, log_height = window.stage_dock.width(), window.log_dock.height()
    tracking = window.tracking_dock.size()
    window.resize(1900, 1050)
    qtbot.waitUntil(lambda: window.tracking_dock.width() > tracking.width() + 500
                    and window.tracking_dock.height() > tracking.height() + 250, timeout=TIMEOUT_MS)
    assert abs(window.stage_dock.width() - stage_width) <= 12
    assert abs(window.log_dock.height() - log_height) <= 12
