"""The Frustum dock against the Remote Control emulator on loopback (real HTTP + WebSocket): coalesced
sends, Unreal's errors verbatim, and a hung editor that never freezes the window."""

from __future__ import annotations

import gc
import itertools
import math
import time
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from stagectl.core.events import EventQueue
from stagectl.core.runtime import Runtime
from stagectl.stage.runner import StageRunner
from stagectl.stage.view import FrustumView, frustum_view
from stagectl.unreal.frustum import DEFAULT_LABELS, FrustumSender
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from stagectl.unreal.rc_seed import ICVFX_CAMERA, default_presets
from stagectl.unreal.remote_control import LinkState, RemoteControlClient
from tests.support.emulators import EmulatorHost
from tests.support.polling import TIMEOUT_MS
from ui import theme
from ui.app import ensure_app, open_settings, save_screenshot
from ui.main_window import LAYOUT_VERSION, MainWindow
from ui.panels.frustum_panel import ACK, LINK, RATE, RTT, TARGET, FrustumPanel

TIMEOUT_S = 0.5
"""The client's request timeout: a live emulator answers in milliseconds."""

HUNG_TIMEOUT_S = 2.0
"""The request timeout against a hung editor: whatever waited on it would stall this long."""

STALL_S = 1.0
"""Far above a loaded machine's scheduling hiccups, below a wait on the hung editor."""


class Rig:
    """An emulated Unreal node (served by the test's emulator host), a client and a frustum sender on
    their own I/O runtime."""

    def __init__(self, host: EmulatorHost, timeout_s: float = TIMEOUT_S, **emulator: Any) -> None:
        self.emulator = host.start(RemoteControlEmulator(**emulator))
        self.timeout_s = timeout_s
        self.runtime = Runtime("test-frustum-io")
        self.runtime.start()
        self.client = RemoteControlClient("wall-node-1", f"http://127.0.0.1:{self.emulator.http_port}",
                                          f"ws://127.0.0.1:{self.emulator.ws_port}", events=EventQueue(),
                                          timeout_s=timeout_s, reconnect_min_s=0.2)
        self.runtime.call_sync(self.client.async_start())
        assert self.runtime.call_sync(self.client.async_wait_state(LinkState.UP, 10.0), timeout=11.0)
        self.sender = FrustumSender(self.client)
        self.runtime.call_sync(self.sender.async_start())
        self.calls = 0

    def push(self, changes: Mapping[str, Any]) -> None:
        """What StageCommands.set_frustum_cues does: queue on the loop, never wait."""
        self.calls += 1
        self.runtime.call_soon(partial(self.sender.set, **changes))

    def senders(self) -> dict[str, FrustumSender]:
        return {"stagectl": self.sender}

    def view(self) -> FrustumView:
        """What a StageView carries of the frustum (plain copies)."""
        return frustum_view(self.senders(), {"node": self.client})

    def requests(self) -> int:
        return self.emulator.http_requests + self.emulator.ws_messages

    def preset(self, label: str) -> Any:
        return self.emulator.preset_value("stagectl", label)

    def close(self) -> None:
        """Stop the sender and the client, then the runtime (the host stops the emulator after)."""
        for stop in (self.sender.async_stop, self.client.async_stop):
            self.runtime.call_sync(stop(), timeout=10.0)
        self.runtime.stop()


@pytest.fixture
def rigs(emulator_host: EmulatorHost) -> Iterator[list[Rig]]:
    """Rigs the test makes (``Rig(emulator_host, ...)``); closed after it, before their emulators stop."""
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _panel(qtbot: QtBot, rig: Rig) -> FrustumPanel:
    ensure_app()
    panel = FrustumPanel(rig.push, rig.view())
    feed = QTimer(panel)  # as the window's views feed it
    feed.timeout.connect(lambda: panel.show_frustum(rig.view()))
    feed.start(30)
    qtbot.addWidget(panel)
    panel.resize(1000, 520)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _cell(panel: FrustumPanel, column: int, row: int = 0) -> str:
    item = panel.table.item(row, column)
    return item.text() if item is not None else ""


def _settled(rig: Rig) -> bool:
    ack = rig.sender.status()[0]
    return ack.ok is True and not ack.in_flight and not ack.pending


def test_dragging_overscan_is_coalesced_and_unreal_ends_with_the_last_values(
        qtbot: QtBot, rigs: list[Rig], emulator_host: EmulatorHost) -> None:
    rig = Rig(emulator_host)
    rigs.append(rig)
    panel = _panel(qtbot, rig)
    qtbot.waitUntil(lambda: _settled(rig) and _cell(panel, ACK) == "ok",
                    timeout=TIMEOUT_MS)  # the initial cues
    assert _cell(panel, TARGET) == "stagectl / wall-node-1"
    assert _cell(panel, LINK).startswith("● up · websocket ws://127.0.0.1:")
    assert _cell(panel, RTT).endswith(" ms")
    before, calls_before = rig.requests(), rig.calls

    started = time.monotonic()
    panel.inner_frustum.click()
    assert panel.inner_frustum.text() == "Inner frustum: OFF"
    longest = 0.0
    for position in range(101, 201):  # overscan 1.01 .. 2.00, as a drag delivers it
        moved = time.monotonic()
        panel.overscan_slider.setValue(position)
        longest = max(longest, time.monotonic() - moved)
        QApplication.processEvents()
        time.sleep(0.002)
    dragging = time.monotonic() - started
    assert panel.overscan.value() == pytest.approx(2.0)
    assert longest < STALL_S, longest  # a change costs the window nothing
    # Every change went to the loop at once (the panel keeps no queue of its own)...
    assert rig.calls - calls_before == 101
    qtbot.waitUntil(lambda: rig.preset("Overscan") == pytest.approx(2.0) and _settled(rig),
                    timeout=TIMEOUT_MS)
    assert rig.preset("Inner Frustum") is False
    assert rig.emulator.objects[ICVFX_CAMERA]["CameraSettings"]["bEnable"] is False
    # ...and the sender coalesced them: at most 60 requests a second while the drag lasted, then one in
    # flight and one with the last values (sending every change would take 101).
    sent = rig.requests() - before
    assert 1 <= sent <= 3 + math.ceil(dragging * 60), (sent, dragging)
    assert rig.sender.max_in_flight <= 1
    qtbot.waitUntil(lambda: _cell(panel, ACK) == "ok", timeout=TIMEOUT_MS)
    item = panel.table.item(0, ACK)
    assert item is not None and item.foreground().color().name() == theme.ACK_OK_TEXT


def test_every_control_reaches_unreal(
        qtbot: QtBot, rigs: list[Rig], emulator_host: EmulatorHost) -> None:
    rig = Rig(emulator_host)
    rigs.append(rig)
    panel = _panel(qtbot, rig)
    qtbot.waitUntil(lambda: _settled(rig), timeout=TIMEOUT_MS)
    panel.soft_edge_slider.setValue(35)
    panel.chroma_key.click()
    panel.set_chroma_colour((0.0, 0.25, 1.0))
    panel.exposure.setValue(-1.3)
    panel.overscan.setValue(1.45)  # the spin box moves the slider too
    assert panel.overscan_slider.value() == 145
    assert panel.exposure_slider.value() == -13
    assert panel.chroma_key.text() == "Chroma key: ON"
    assert panel.colour_button.text() == "0.00 0.25 1.00"
    qtbot.waitUntil(lambda: rig.preset("Frustum Exposure") == pytest.approx(-1.3) and _settled(rig),
                    timeout=TIMEOUT_MS)
    settings = rig.emulator.objects[ICVFX_CAMERA]["CameraSettings"]
    assert settings["SoftEdge"] == {"Vertical": pytest.approx(0.35), "Horizontal": pytest.approx(0.35)}
    assert settings["Chromakey"]["bEnable"] is True
    assert settings["Chromakey"]["ChromakeyColor"] == {"R": 0.0, "G": 0.25, "B": 1.0, "A": 1.0}
    assert rig.preset("Overscan") == pytest.approx(1.45)
    # A colour picked in the dialog goes the same way (the dialog is not modal).
    panel.choose_colour()
    dialog = panel._dialog
    assert dialog is not None and dialog.isVisible()
    dialog.colorSelected.emit(QColor.fromRgbF(1.0, 0.0, 1.0))
    dialog.close()
    qtbot.waitUntil(lambda: rig.preset("Chroma Key Colour")["G"] == 0.0 and _settled(rig), timeout=TIMEOUT_MS)
    assert rig.preset("Chroma Key Colour") == {"R": 1.0, "G": 0.0, "B": 1.0, "A": 1.0}


def test_unreal_refusing_shows_its_error_verbatim_in_red(
        qtbot: QtBot, rigs: list[Rig], emulator_host: EmulatorHost) -> None:
    presets = {"Stage Main": default_presets()["stagectl"]}  # the preset was renamed in Unreal
    rig = Rig(emulator_host, presets=presets)
    rigs.append(rig)
    panel = _panel(qtbot, rig)
    qtbot.waitUntil(lambda: rig.sender.status()[0].ok is False, timeout=TIMEOUT_MS)
    panel.overscan.setValue(1.2)  # one field: a single PUT, refused as a whole
    expected = '404: {"errorMessage": "Preset stagectl could not be found."}'
    qtbot.waitUntil(lambda: rig.sender.status()[0].error == expected, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: _cell(panel, ACK) == expected, timeout=TIMEOUT_MS)
    item = panel.table.item(0, ACK)
    assert item is not None
    assert item.toolTip() == expected
    assert item.foreground().color().name() == theme.ACK_ERROR_TEXT
    assert _cell(panel, LINK).startswith("● up")  # the link is fine; Unreal said no


def test_a_long_error_is_cut_in_the_cell_and_whole_in_the_tooltip(
        qtbot: QtBot, rigs: list[Rig], emulator_host: EmulatorHost) -> None:
    rig = Rig(emulator_host, presets={"other": default_presets()["stagectl"]})
    rigs.append(rig)
    panel = _panel(qtbot, rig)
    # The initial send sets every label in one batch: one refusal each, joined.
    qtbot.waitUntil(lambda: rig.sender.status()[0].ok is False, timeout=TIMEOUT_MS)
    full = rig.sender.status()[0].error
    assert full.count("Preset stagectl could not be found.") == len(DEFAULT_LABELS) == 10
    qtbot.waitUntil(lambda: _cell(panel, ACK).endswith(" …"), timeout=TIMEOUT_MS)
    item = panel.table.item(0, ACK)
    assert item is not None and item.toolTip() == full
    assert full.startswith(_cell(panel, ACK)[:-2])


def test_a_hung_unreal_never_freezes_the_window(
        qtbot: QtBot, rigs: list[Rig], emulator_host: EmulatorHost) -> None:
    rig = Rig(emulator_host, timeout_s=HUNG_TIMEOUT_S, hang=True)
    rigs.append(rig)
    ticks: list[float] = []
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: ticks.append(time.monotonic()))
    ticker.start()
    panel = _panel(qtbot, rig)
    qtbot.waitUntil(lambda: _cell(panel, RTT).startswith("waiting"), timeout=TIMEOUT_MS)
    assert _cell(panel, ACK) == "waiting for the first answer…"
    started = time.monotonic()
    longest = 0.0
    for position in range(101, 161):
        moved = time.monotonic()
        panel.overscan_slider.setValue(position)
        longest = max(longest, time.monotonic() - moved)
    assert longest < STALL_S, longest  # pushing never waits on the loop, let alone on Unreal
    shown: set[str] = set()

    def timed_out() -> bool:
        shown.add(_cell(panel, ACK))
        return f"no answer within {HUNG_TIMEOUT_S:g} s" in _cell(panel, ACK)

    qtbot.waitUntil(timed_out, timeout=TIMEOUT_MS)
    item = panel.table.item(0, ACK)
    assert item is not None and item.foreground().color().name() == theme.ACK_ERROR_TEXT
    assert "ok" not in shown
    qtbot.wait(800)  # the window goes on a while with a request hanging
    ticker.stop()
    watched = time.monotonic() - started
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    # The GUI thread ran its timer throughout, never stalled as a wait on the editor would stall it.
    assert ticks[-1] - ticks[0] >= 0.8 and max(gaps) < STALL_S, max(gaps)
    # One request in flight at a time, each given up after the timeout, tried again after a pause:
    # 60 changes, a handful of hung requests.
    assert rig.sender.max_in_flight <= 1
    tries = 2 + watched / (HUNG_TIMEOUT_S + rig.sender.retry_s)  # the initial cues, then each try
    assert rig.emulator.hung <= tries, (rig.emulator.hung, watched)
    assert rig.preset("Overscan") == 1.0  # nothing arrived
    assert _cell(panel, RATE) in {"0", "1", "2"}


def test_the_frustum_dock_is_tabbed_with_tracking_and_lens(qtbot: QtBot, demo_runner: StageRunner,
                                                           tmp_path: Any) -> None:
    ensure_app()
    window = MainWindow(demo_runner.views, demo_runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert LAYOUT_VERSION == 6  # 6: the Takes dock and the take bar
    tabbed = window.tabifiedDockWidgets(window.tracking_dock)
    assert window.frustum_dock in tabbed and window.lens_dock in tabbed and window.lighting_dock in tabbed
    assert window.takes_dock in tabbed
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert isinstance(view, QMenu) and "Frustum" in [a.text() for a in view.actions()]
    window.frustum_dock.raise_()
    panel = window.frustum_panel
    qtbot.waitUntil(panel.isVisible, timeout=TIMEOUT_MS)
    # The demo stage drives the Remote Control emulator: its sender is the panel's target.
    [sender] = demo_runner.stage.frustum_senders.values()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1 and _cell(panel, ACK) == "ok", timeout=TIMEOUT_MS)
    assert panel.notice.isHidden() and panel.overscan_slider.isEnabled()
    assert "websocket ws://127.0.0.1:" in _cell(panel, LINK)
    shown: list[int] = []
    window.bridge.view_ready.connect(lambda view: shown.append(view.sequence))
    panel.overscan_slider.setValue(130)  # through StageCommands to the stage's own sender
    qtbot.waitUntil(lambda: sender.cues.overscan == pytest.approx(1.3) and not sender.status()[0].pending
                    and sender.status()[0].ok is True, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: _cell(panel, RTT).endswith(" ms"), timeout=TIMEOUT_MS)
    after = demo_runner.views.latest.sequence
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] > after + 1, timeout=TIMEOUT_MS)  # newer views shown
    assert panel.overscan.value() == pytest.approx(1.3)  # the views agree: the control stays put
    path = tmp_path / "frustum.png"
    assert save_screenshot(window, str(path))


def test_without_an_unreal_output_the_panel_says_so_and_sends_nothing(qtbot: QtBot) -> None:
    ensure_app()
    pushed: list[Mapping[str, Any]] = []
    panel = FrustumPanel(pushed.append, FrustumView())
    qtbot.addWidget(panel)
    panel.show()
    panel.show_frustum(FrustumView())
    assert panel.notice.isVisible() and not panel.overscan_slider.isEnabled()
    panel.set_chroma_colour((1.0, 0.0, 0.0))
    assert pushed == [] and panel.pushes == 0
