"""At 60 Hz the time plots draw every view; numbers (readouts, timecodes, tables) and the map every second
one."""

from __future__ import annotations

import time

from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from stagectl.stage.view import StageView
from tests.support.polling import wait_until
from ui import theme
from ui.app import ensure_app, open_settings
from ui.main_window import MainWindow


def _views(runner: StageRunner, count: int) -> list[StageView]:
    """``count`` views of the running stage, each with a newer stage timecode than the last."""
    views: list[StageView] = []
    while len(views) < count:
        wait_until(lambda: not views or runner.views.latest.timecode != views[-1].timecode,
                   what="a view of the next frame")
        views.append(runner.views.latest)
    return views


def test_at_60_hz_numbers_and_the_map_are_drawn_every_second_view_and_the_plots_every_view(
        qtbot: QtBot, demo_runner: StageRunner) -> None:
    ensure_app()
    window = MainWindow(demo_runner.views, demo_runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.set_refresh_hz(60)
    wait_until(lambda: all(c.latest is not None for c in demo_runner.views.latest.cameras), what="samples")
    window.bridge.stop()  # the views are handed over by the test from here
    panel = window.tracking_panel
    for _attempt in range(5):  # the second view must come within the period (a loaded machine may stall)
        first, second, third = _views(demo_runner, 3)
        time.sleep(theme.NUMBERS_PERIOD_S)
        started = time.monotonic()
        window._on_view(first)
        assert window.timecode.text() == first.timecode
        plotted, mapped = panel.plots[0].updates, panel.map.trail.getData()[0].copy()
        window._on_view(second)  # at once: the plots move, the numbers and the map wait
        if time.monotonic() - started < 0.75 * theme.NUMBERS_PERIOD_S:
            break
    else:
        raise AssertionError("no two views were drawn within the numbers' period")
    assert panel.plots[0].updates == plotted + 1
    held = panel.map.trail.getData()[0]
    assert len(mapped) and len(held) == len(mapped) and (held == mapped).all()
    assert window.timecode.text() == first.timecode != second.timecode
    assert window.take_bar.timecode_label.text() == first.timecode

    time.sleep(theme.NUMBERS_PERIOD_S)  # a 30 Hz period later: the numbers too
    window._on_view(third)
    assert panel.plots[0].updates == plotted + 2
    trail = panel.map.trail.getData()[0]
    assert len(trail) != len(mapped) or not (trail == mapped).all()
    assert window.timecode.text() == third.timecode == window.take_bar.timecode_label.text()
    sample = third.camera(panel.camera).latest if panel.camera else None
    assert sample is not None and panel.timecode_label.text() == str(sample.timecode)
