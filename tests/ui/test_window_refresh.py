"""What the window draws and how often: a dock nobody sees does no work; the operator sets the refresh."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from ui.app import ensure_app, open_settings
from ui.bridge import REFRESH_RATES
from ui.main_window import MainWindow
from ui.seen import seen


def _window(qtbot: QtBot, runner: StageRunner) -> MainWindow:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_tabbed_away_dock_does_not_update_and_catches_up_when_raised(qtbot: QtBot,
                                                                       demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    tracking = window.tracking_panel
    qtbot.waitUntil(lambda: tracking.updates > 3, timeout=TIMEOUT_MS)
    window.lens_dock.raise_()  # tabbed with Tracking: the Tracking dock is hidden behind it
    qtbot.waitUntil(lambda: not seen(window.tracking_dock) and seen(window.lens_dock), timeout=TIMEOUT_MS)
    hidden_at, emitted_at = tracking.updates, window.bridge.emitted
    shown_at = window.lens_panel.shown_sample
    # Many views go by; the Lens panel, in front, draws them; the Tracking panel draws none.
    qtbot.waitUntil(lambda: window.bridge.emitted >= emitted_at + 10
                    and window.lens_panel.shown_sample is not shown_at, timeout=TIMEOUT_MS)
    assert tracking.updates == hidden_at
    assert all(plot.updates <= hidden_at for plot in tracking.plots)
    # Raised again, it draws again.
    window.tracking_dock.raise_()
    qtbot.waitUntil(lambda: seen(window.tracking_dock), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: tracking.updates > hidden_at + 3, timeout=TIMEOUT_MS)


def test_a_closed_dock_does_not_update(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    tracking = window.tracking_panel
    qtbot.waitUntil(lambda: tracking.updates > 3, timeout=TIMEOUT_MS)
    window.tracking_dock.toggleViewAction().trigger()  # View > Tracking, unticked
    assert not seen(window.tracking_dock)
    closed_at, emitted_at = tracking.updates, window.bridge.emitted
    qtbot.waitUntil(lambda: window.bridge.emitted >= emitted_at + 10, timeout=TIMEOUT_MS)
    assert tracking.updates == closed_at
    window.tracking_dock.toggleViewAction().trigger()  # back in its tab group, behind the current tab
    window.tracking_dock.raise_()
    qtbot.waitUntil(lambda: tracking.updates > closed_at, timeout=TIMEOUT_MS)


def test_the_refresh_rate_is_chosen_in_the_display_menu_and_kept(qtbot: QtBot,
                                                                 demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    assert window.bridge.refresh_hz == 30
    assert window.refresh_actions[30].isChecked()
    assert set(window.refresh_actions) == set(REFRESH_RATES)
    assert [action.text() for action in window.display_menu.actions()] == ["&Refresh rate"]
    assert demo_runner.views.rate_hz == 30.0
    window.refresh_actions[60].trigger()
    assert window.bridge.refresh_hz == 60
    assert demo_runner.views.rate_hz == 60.0  # the stage publishes views as often as the window draws
    assert window.refresh_actions[60].isChecked() and not window.refresh_actions[30].isChecked()
    emitted = window.bridge.emitted
    qtbot.waitUntil(lambda: window.bridge.emitted > emitted + 3, timeout=TIMEOUT_MS)  # still drawing
    window.close()
    again = _window(qtbot, demo_runner)
    assert again.bridge.refresh_hz == 60
    assert again.refresh_actions[60].isChecked()


def test_a_refresh_rate_the_window_does_not_offer_is_refused_or_ignored(qtbot: QtBot,
                                                                       demo_runner: StageRunner) -> None:
    settings = open_settings()
    settings.setValue("window/refresh_hz", "7")  # a hand-edited settings file
    settings.sync()
    window = _window(qtbot, demo_runner)
    assert window.bridge.refresh_hz == 30
    with pytest.raises(ValueError, match="one of"):
        window.bridge.set_refresh_hz(45)
    assert window.bridge.refresh_hz == 30
