"""The window on the demo stage, driven like an operator would."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from ui.app import ensure_app, open_settings, save_screenshot
from ui.main_window import MainWindow


def _window(qtbot: QtBot, runner: StageRunner) -> MainWindow:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_plots_advance_and_cameras_light_up(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    panel = window.tracking_panel
    qtbot.waitUntil(lambda: panel.position_plot.updates > 5, timeout=TIMEOUT_MS)
    first_samples = demo_runner.stage.cameras["A"].delivered
    first_len = len(panel.position_plot.curves[0].getData()[0])
    # More samples arrive and the curves grow: the plots are live, not a still picture.
    qtbot.waitUntil(lambda: demo_runner.stage.cameras["A"].delivered > first_samples
                    and len(panel.position_plot.curves[0].getData()[0]) > first_len
                    and all(plot.updates > 5 for plot in panel.plots), timeout=TIMEOUT_MS)
    x_data = panel.position_plot.curves[0].getData()[0]
    assert -10.5 <= x_data[0] < x_data[-1] <= 0.05  # seconds before now
    tree = window.stage_panel.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    states = {row.text(0): row.text(1) for row in rows}
    assert states == {"A": "up", "B": "up"}
    assert window.timecode.text().count(":") == 3
    assert "cameras up 2/2" in window.totals.text()
    assert panel.values["X"].text() not in ("—", "")


def test_signals_reach_widgets_on_the_gui_thread_only(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    seen: list[threading.Thread] = []
    window.bridge.view_ready.connect(lambda _view: seen.append(threading.current_thread()))
    qtbot.waitUntil(lambda: len(seen) >= 5, timeout=TIMEOUT_MS)
    assert all(t is threading.main_thread() for t in seen)


def test_choosing_a_camera_follows_in_every_panel(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    qtbot.waitUntil(lambda: window.stage_panel.tree.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
    window.tracking_panel.selector.setCurrentText("B")
    assert window.tracking_panel.camera == "B"
    assert window.stage_panel.tree.currentItem().text(0) == "B"
    # And back from the stage tree.
    window.stage_panel.tree.setCurrentItem(window.stage_panel.tree.topLevelItem(0))
    assert window.tracking_panel.camera == "A"
    assert window.tracking_panel.selector.currentText() == "A"


def test_stage_map_places_every_camera_where_the_samples_say(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    qtbot.waitUntil(lambda: len(window.tracking_panel.map.glyphs) == 2, timeout=TIMEOUT_MS)
    view = window.tracking_panel.view  # the view the map was drawn from
    for name, glyph in window.tracking_panel.map.glyphs.items():
        camera = view.camera(name)
        assert camera is not None and camera.latest is not None
        x, y, _z = camera.latest.translation_m
        assert glyph.x == pytest.approx(x) and glyph.y == pytest.approx(y)


def test_log_dock_shows_stage_events(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    qtbot.waitUntil(lambda: "up (A)" in window.log_panel.text(), timeout=TIMEOUT_MS)
    assert "listening for FreeD" in window.log_panel.text()


def test_layout_and_geometry_persist_between_runs(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    window.resize(1013, 741)  # above the minimum height (695 px with the take bar on top)
    window.log_dock.hide()
    window.tracking_panel.selector.setCurrentText("B")
    window.close()

    again = _window(qtbot, demo_runner)
    assert (again.width(), again.height()) == (1013, 741)
    assert again.log_dock.isHidden()
    assert again.tracking_panel.camera == "B"


def test_screenshot_is_a_real_picture(qtbot: QtBot, demo_runner: StageRunner, tmp_path) -> None:
    window = _window(qtbot, demo_runner)
    qtbot.waitUntil(lambda: window.tracking_panel.position_plot.updates > 10, timeout=TIMEOUT_MS)
    path = tmp_path / "grab.png"
    assert save_screenshot(window, str(path))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (window.width(), window.height())
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(rgb.constBits(), dtype=np.uint8)
    assert len(np.unique(pixels[::97])) > 20  # text, curves and lights, not a blank frame


def test_quit_action_closes_the_window(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    file_menu = window.menuBar().actions()[0].menu()
    quit_action = next(a for a in file_menu.actions() if a.text() == "&Quit")
    assert quit_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)


def _camera_row(window: MainWindow, name: str):  # type: ignore[no-untyped-def]
    tree = window.stage_panel.tree
    return next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).text(0) == name)


def test_a_silent_tracker_goes_stale_and_its_value_is_held(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    qtbot.waitUntil(lambda: _camera_row(window, "A").text(1) == "up", timeout=TIMEOUT_MS)
    source = demo_runner.stage.sources[0]
    assert source.camera.name == "A"
    demo_runner.runtime.call_sync(source.async_stop())  # the tracker falls silent
    after = demo_runner.views.latest.sequence  # views made from now on hold the last sample
    qtbot.waitUntil(lambda: window.tracking_panel.view.sequence > after, timeout=TIMEOUT_MS)
    held = window.tracking_panel.values["X"].text()
    qtbot.waitUntil(lambda: _camera_row(window, "A").text(1) == "stale", timeout=TIMEOUT_MS)
    assert _camera_row(window, "B").text(1) == "up"
    assert window.tracking_panel.values["X"].text() == held  # held, never zeroed
    assert "stale" in window.tracking_panel.state_label.text()
    qtbot.waitUntil(lambda: "A/simulator#1: stale" in window.log_panel.text()
                    or "stale: no sample" in window.log_panel.text(), timeout=TIMEOUT_MS)


def test_garbage_on_a_source_port_shows_as_rejected(qtbot: QtBot, demo_runner: StageRunner) -> None:
    import socket

    window = _window(qtbot, demo_runner)
    source = demo_runner.stage.sources[1]
    assert source.bound is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            # FreeD bytes on B's OpenTrackIO port: not an OpenTrackIO header ("OTrk")
            sock.sendto(b"\xd1" + bytes(28), (source.bound.host, source.bound.port))
    row = _camera_row(window, "B").child(0)
    qtbot.waitUntil(lambda: row.text(4) == "3", timeout=TIMEOUT_MS)
    assert "magic 3" in row.text(5)
    assert _camera_row(window, "B").text(4) == "3"
    qtbot.waitUntil(lambda: "rejected datagram (magic)" in window.log_panel.text(), timeout=TIMEOUT_MS)
    assert "cameras up 2/2" in window.totals.text() and "rejected 3" in window.totals.text()


def test_every_dock_closed_comes_back_from_the_view_menu(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert isinstance(view, QMenu)
    titles = [a.text() for a in view.actions()]
    assert titles == ["Stage", "Tracking", "Lens", "Frustum", "Lighting", "Takes", "Log", "Take"]
    for dock in window.docks:
        dock.raise_()
        dock.close()  # the dock's own close button
        assert dock.isHidden()
        action = next(a for a in view.actions() if a.text() == dock.windowTitle())
        assert not action.isChecked()
        action.trigger()
        qtbot.waitUntil(dock.isVisible, timeout=TIMEOUT_MS)
        assert action.isChecked()
    window.take_toolbar.close()
    view.actions()[-1].trigger()
    qtbot.waitUntil(window.take_toolbar.isVisible, timeout=TIMEOUT_MS)
