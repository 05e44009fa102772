"""Every panel follows changes made elsewhere: real OSC over UDP to the stage's control-in (a desk, a
Stream Deck), the Lighting dock, another client's commands. The window shows them from its views."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QTableWidgetItem
from pytestqt.qtbot import QtBot
from pythonosc.udp_client import SimpleUDPClient

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.support.stagefile import StageFile
from ui.app import ensure_app, open_settings
from ui.main_window import MainWindow


def follow_stage() -> StageFile:
    """A simulated camera, Unreal's Remote Control and a Tessera wall emulated, control-in, looks that
    cut (no default fade) and takes beside the stage file."""
    return (StageFile("Follow test").source("A")
            .output("remote-control", emulator=True)
            .device("tessera", "wall", zone="wall", emulator=True)
            .control()
            .looks(dir="looks", fade_s=0.0)
            .takes(dir="takes"))


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    runner = StageRunner(follow_stage().config(tmp_path))  # the factory looks land in tmp_path/looks
    yield runner
    runner.close()


@pytest.fixture
def window(qtbot: QtBot, runner: StageRunner) -> MainWindow:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.dp_panel.looks_table.rowCount() >= 8,
                    timeout=TIMEOUT_MS)  # the factory looks
    return window


def _desk(runner: StageRunner) -> SimpleUDPClient:
    """An OSC sender on this machine, pointed at the stage's control-in."""
    control = runner.stage.control
    assert control is not None and control.running
    return SimpleUDPClient(control.address.host, control.address.port)


def _look_row(window: MainWindow, name: str) -> QTableWidgetItem:
    """The looks table's first cell of look ``name`` (marked ``▶`` while it is live)."""
    table = window.dp_panel.looks_table
    items = [table.item(row, 0) for row in range(table.rowCount())]
    return next(item for item in items if item is not None and item.text().lstrip("▶ ") == name)


def _live_look(window: MainWindow) -> str:
    engine = window.dp_panel._status.engine
    return (engine.live_look or "") if engine is not None else ""


def test_a_look_and_frustum_cues_over_osc_show_in_the_lighting_and_frustum_docks(
        qtbot: QtBot, runner: StageRunner, window: MainWindow) -> None:
    frustum, dp = window.frustum_panel, window.dp_panel
    assert frustum.exposure.value() == 0.0 and not frustum.chroma_key.isChecked()
    desk = _desk(runner)
    desk.send_message("/stagectl/look/Night%20blue/recall", [])
    # The Lighting dock: the live look in the header and marked in the looks table.
    qtbot.waitUntil(lambda: "Night blue" in dp.live_label.text(), timeout=TIMEOUT_MS)
    assert _look_row(window, "Night blue").text() == "▶ Night blue"
    # The Frustum dock: the look's frustum zone (exposure -2 stops), slider and spin box alike.
    qtbot.waitUntil(lambda: frustum.exposure.value() == pytest.approx(-2.0), timeout=TIMEOUT_MS)
    assert frustum.exposure_slider.value() == -20

    desk.send_message("/stagectl/device/frustum/overscan", 1.7)
    desk.send_message("/stagectl/device/frustum/chroma_key", True)
    qtbot.waitUntil(lambda: frustum.overscan.value() == pytest.approx(1.7), timeout=TIMEOUT_MS)
    assert frustum.overscan_slider.value() == 170
    qtbot.waitUntil(lambda: frustum.chroma_key.isChecked(), timeout=TIMEOUT_MS)
    assert frustum.chroma_key.text() == "Chroma key: ON"
    assert frustum.pushes == 0  # the panel followed; it sent nothing back


def test_a_look_recalled_in_the_lighting_dock_moves_the_frustum_controls(
        qtbot: QtBot, runner: StageRunner, window: MainWindow) -> None:
    dp, frustum = window.dp_panel, window.frustum_panel
    dp.looks_table.selectRow(_look_row(window, "Golden hour").row())
    dp.fade_spin.setValue(0.0)
    dp.recall_button.click()
    qtbot.waitUntil(lambda: frustum.exposure.value() == pytest.approx(-0.5), timeout=TIMEOUT_MS)
    assert frustum.exposure_slider.value() == -5
    [sender] = runner.stage.frustum_senders.values()
    assert sender.cues.exposure_stops == pytest.approx(-0.5)


def test_cues_and_takes_over_osc_show_in_the_lighting_dock_and_the_take_bar(
        qtbot: QtBot, runner: StageRunner, window: MainWindow) -> None:
    dp, bar = window.dp_panel, window.take_bar
    desk = _desk(runner)
    desk.send_message("/stagectl/cue/go", 1)  # a desk button's press
    qtbot.waitUntil(lambda: dp.live_label.text().startswith("Cue 1"), timeout=TIMEOUT_MS)
    assert dp.cue_table.item(0, 0).text() == "▶ 1" and dp.cue_table.item(1, 0).text() == "→ 2"
    assert _live_look(window) == "Safe (house lights)"

    qtbot.waitUntil(lambda: bar.record_button.isEnabled(), timeout=TIMEOUT_MS)
    desk.send_message("/stagectl/take/record", ["scene=7", "shot=B"])
    qtbot.waitUntil(lambda: bar.record_button.text() == "■ STOP", timeout=TIMEOUT_MS)
    assert bar.name_label.text() == "● 7-B-T001"
    assert bar.scene.text() == "7" and not bar.scene.isEnabled()  # the take's slate, locked
    desk.send_message("/stagectl/take/stop", [])
    qtbot.waitUntil(lambda: bar.record_button.text() == "● RECORD", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: bar.name_label.text() == "next: 7-B-T002", timeout=TIMEOUT_MS)
    browser = window.takes_browser
    qtbot.waitUntil(lambda: [r.info.name for r in browser.rows] == ["7-B-T001"], timeout=TIMEOUT_MS)


def test_delay_and_smoothing_set_by_another_client_show_in_the_tracking_dock(
        qtbot: QtBot, runner: StageRunner, window: MainWindow) -> None:
    # OSC control-in has no delay address: another client of the same commands (a second window,
    # the web remote) stands in for it.
    control = window.tracking_panel.delay_control
    runner.commands.set_delay("A", frames=3.0)
    runner.commands.set_smoothing("A", 4)
    qtbot.waitUntil(lambda: control.delay.value() == pytest.approx(120.0),
                    timeout=TIMEOUT_MS)  # 3 frames at 25
    assert control.other_unit.text() == "= 3.00 frames"
    qtbot.waitUntil(lambda: control.smoothing.value() == 4, timeout=TIMEOUT_MS)
    stage_row = window.stage_panel.tree.topLevelItem(0)
    qtbot.waitUntil(lambda: "delay 120.0 ms (3.00 fr) · smoothing 4" in stage_row.text(5), timeout=TIMEOUT_MS)
