"""The window on a lighting-only stage (an emulated Tessera wall and looks, no camera): every dock shows
without error, the camera docks say there is no camera, the Lighting dock comes first."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.support.stagefile import StageFile
from ui.app import ensure_app, save_screenshot
from ui.main_window import MainWindow


@pytest.fixture
def lighting_runner(tmp_path: Path) -> Iterator[StageRunner]:
    """A stage with one emulated Tessera wall and one look, no camera, its folders in ``tmp_path``."""
    looks = tmp_path / "looks"
    looks.mkdir()
    look = {"schema": "stagectl.look/1", "name": "Bright", "zones": {"wall": {"brightness_nits": 2000}}}
    (looks / "bright.json").write_text(json.dumps(look), encoding="utf-8")
    stage = (StageFile("Lighting only")
             .device("tessera", "wall", zone="wall", emulator=True, timeout_ms=500, poll_ms=200)
             .looks(dir="looks")
             .takes(dir="takes"))
    runner = StageRunner(stage.config(tmp_path))
    yield runner
    runner.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _window(qtbot: QtBot, runner: StageRunner, tmp_path: Path) -> MainWindow:
    ensure_app()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(runner.views, runner.commands, settings)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_every_dock_shows_and_the_camera_docks_say_there_is_no_camera(
        qtbot: QtBot, lighting_runner: StageRunner, tmp_path: Path) -> None:
    window = _window(qtbot, lighting_runner, tmp_path)
    qtbot.waitUntil(lambda: "no camera: lighting only" in window.totals.text(), timeout=TIMEOUT_MS)
    assert not window.lighting_dock.visibleRegion().isEmpty()  # raised first on a lighting stage
    for dock in window.docks:
        dock.show()
        dock.raise_()
        qtbot.wait(60)  # a few views reach the raised dock
        assert dock.isVisible(), dock.objectName()
    tracking, lens = window.tracking_panel, window.lens_panel
    assert tracking.camera is None and lens.camera is None
    for panel in (tracking, lens):
        assert not panel.content.isVisible() and panel.no_camera.isVisible()
        assert "No camera on this stage" in panel.no_camera.text()
    assert tracking.map.empty_note.isVisible()
    assert window.take_bar.camera_buttons == {}
    assert lens.open_calibration() is None
    table = window.dp_panel.looks_table
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=TIMEOUT_MS)  # the look reaches the Lighting dock

def test_the_window_grabs_at_1280x720(qtbot: QtBot, lighting_runner: StageRunner, tmp_path: Path) -> None:
    window = _window(qtbot, lighting_runner, tmp_path)
    qtbot.waitUntil(lambda: "lighting only" in window.totals.text(), timeout=TIMEOUT_MS)
    qtbot.wait(300)
    path = tmp_path / "lighting-only.png"
    assert save_screenshot(window, str(path))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1280, 720)
