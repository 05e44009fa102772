"""The Stage dock in the narrow first layout: no horizontal scrollbar; Detail elides, and every cell of a row
shows it whole as its tooltip."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.support.windows import shown_window


def test_no_scrollbar_at_1280x720_and_detail_in_tooltips(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = shown_window(qtbot, demo_runner)
    tree = window.stage_panel.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2 and tree.topLevelItem(0).childCount() == 1
                    and tree.topLevelItem(0).child(0).text(5) != "", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.stage_dock.width() < 420, timeout=TIMEOUT_MS)  # the first layout's share
    assert not tree.horizontalScrollBar().isVisible()
    source = tree.topLevelItem(0).child(0)
    assert source.text(5).startswith("127.0.0.1:")
    assert all(source.toolTip(col) == source.text(5) for col in range(1, 6))
    camera = tree.topLevelItem(0)
    assert camera.toolTip(2).startswith("delay ")
