"""Devices on the network in the Lighting dock: a processor announced on loopback shows up, one
click adds it to the stage, the manual dialog checks what it is given; and a screenshot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QDialog, QTableWidget
from pytestqt.qtbot import QtBot

from led_wall.emulators.helios_emulator import HeliosEmulator
from stagectl.config.model import DeviceConfig
from stagectl.core.features import LinkState
from stagectl.core.http_server import ServerAuth
from stagectl.discovery.mdns import HTTP_SERVICE, KIND_KEY, Advertiser
from stagectl.discovery.stage import stage_file_snippet
from stagectl.stage.runner import StageRunner
from tests.support.emulators import EmulatorHost
from tests.support.polling import TIMEOUT_MS
from tests.support.stagefile import StageFile
from tests.ui.feed import MakeFeed
from ui import theme
from ui.panels.discovery_panel import AddDeviceDialog, DiscoveryPanel
from ui.panels.dp_panel import DpPanel


def discovery_stage() -> StageFile:
    """A simulated camera, an emulated wall (announced over mDNS), control-in, looks beside the file."""
    return (StageFile("Discovery UI").source("A")
            .device("tessera", "wall", zone="wall", emulator=True)
            .control()
            .looks(dir="looks"))


class Bench:
    """A running stage, plus a HELIOS emulator announced on loopback as another process would, and a
    spare HELIOS nobody announces (both served by the test's emulator host)."""

    def __init__(self, tmp_path: Path, host: EmulatorHost) -> None:
        (tmp_path / "looks").mkdir()
        self.runner = StageRunner(discovery_stage().config(tmp_path))
        self.helios = host.start(HeliosEmulator())
        self.spare = host.start(HeliosEmulator())
        self.port, self.spare_port = self.helios.port, self.spare.port
        self.advertiser = Advertiser(interfaces=["127.0.0.1"])
        self.instance = f"HELIOS {uuid.uuid4().hex[:6]}"
        advert = self.advertiser.async_advertise(HTTP_SERVICE, self.instance, self.port, {KIND_KEY: "helios"})
        self.runner.runtime.call_sync(advert, timeout=5.0)

    def close(self) -> None:
        """Withdraw the advert and stop the stage (the emulator host stops the emulators)."""
        try:
            self.runner.runtime.call_sync(self.advertiser.async_stop(), timeout=5.0)
        finally:
            self.runner.close()


@pytest.fixture
def bench(tmp_path: Path, emulator_host: EmulatorHost) -> Iterator[Bench]:
    bench = Bench(tmp_path, emulator_host)
    yield bench
    bench.close()


def _text(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return "" if item is None else item.text()


def _rows(panel: DiscoveryPanel) -> list[list[str]]:
    return [[_text(panel.table, r, c) for c in range(4)] for r in range(panel.table.rowCount())]


def _row_of(panel: DiscoveryPanel, address: str) -> int | None:
    return next((r for r, cells in enumerate(_rows(panel)) if cells[2] == address), None)


def _dp(bench: Bench, feed: MakeFeed) -> DpPanel:
    fed = feed(bench.runner)
    dp = DpPanel(fed.view, fed.commands)
    fed.to(dp.update_view)
    return dp


def _device_names(dp: DpPanel) -> list[str]:
    return [_text(dp.device_table, r, 0) for r in range(dp.device_table.rowCount())]


def test_a_found_processor_is_added_with_one_click(qtbot: QtBot, bench: Bench, tmp_path: Path,
                                                   feed: MakeFeed) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply(app)  # as the real window is (for the screenshot)
    dp = _dp(bench, feed)
    qtbot.addWidget(dp)
    dp.resize(1280, 1100)
    dp.show()
    panel = dp.discovery_panel
    address = f"127.0.0.1:{bench.port}"
    qtbot.waitUntil(lambda: _row_of(panel, address) is not None, timeout=TIMEOUT_MS)
    wall = f"127.0.0.1:{bench.runner.stage.devices.emulators['wall'].port}"
    qtbot.waitUntil(lambda: _row_of(panel, wall) is not None, timeout=TIMEOUT_MS)
    row = _row_of(panel, address)
    assert row is not None
    assert _rows(panel)[row] == [bench.instance, "Megapixel HELIOS", address, "new"]
    wall_row = _row_of(panel, wall)
    assert wall_row is not None and _rows(panel)[wall_row][3] == "added as wall"
    wall_button = panel.table.buttons[wall_row]
    assert wall_button is not None and not wall_button.isEnabled() and wall_button.text() == "Added"
    qtbot.waitUntil(lambda: any(cells[3] == "this stage" for cells in _rows(panel)), timeout=TIMEOUT_MS)
    control = next(r for r, cells in enumerate(_rows(panel)) if cells[3] == "this stage")
    assert panel.table.buttons[control] is None and panel.table.cellWidget(control, 4) is None
    assert panel.note_label.text().startswith("Zeroconf: browsing on 127.0.0.1")

    panel.zone_combo.setCurrentText("wall")
    assert panel.zone_combo.currentText() == "wall"  # the wall device's zone is offered
    button = panel.table.buttons[row]
    assert button is not None and button.isEnabled()
    button.click()
    name = f"helios-{bench.instance[-6:]}"
    qtbot.waitUntil(lambda: name in _device_names(dp), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: _row_of(panel, address) is not None
                    and _rows(panel)[_row_of(panel, address) or 0][3] == f"added as {name}",
                    timeout=TIMEOUT_MS)
    [config] = bench.runner.views.latest.lighting.session_devices
    assert (config.kind, config.name, config.url, config.zone) == (
        "helios", name, f"http://127.0.0.1:{bench.port}", "wall")
    qtbot.waitUntil(lambda: panel.snippet_box.isVisible(), timeout=TIMEOUT_MS)
    assert panel.snippet_edit.toPlainText() == stage_file_snippet(config)
    assert f'url = "http://127.0.0.1:{bench.port}"' in panel.snippet_edit.toPlainText()
    qtbot.waitUntil(lambda: any(d.name == name and d.state is LinkState.UP
                                for d in bench.runner.views.latest.lighting.devices), timeout=TIMEOUT_MS)
    shot = tmp_path / "discovery.png"  # the picture as a user sees it, for a look when the test fails
    assert dp.grab().save(str(shot), "PNG") and QImage(str(shot)).width() > 0
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == stage_file_snippet(config)
    assert panel.copy_button.text() == "Copied"


def test_the_manual_dialog_checks_the_url_and_the_name(qtbot: QtBot, bench: Bench,
                                                       feed: MakeFeed) -> None:
    dialog = AddDeviceDialog(taken=["wall"], zones=["ceiling", "wall"])
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(1)  # HELIOS
    assert dialog.kind() == "helios"
    dialog.name_edit.setText("side")
    dialog.url_edit.setText("ftp://10.0.0.50")
    dialog.ok_button.click()
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.config is None
    assert dialog.error_label.text().startswith("url: 'ftp://10.0.0.50' is not an http(s) URL")
    assert "border" in dialog.url_edit.styleSheet()
    dialog.url_edit.setText("10.0.0.50:99999")
    dialog.ok_button.click()
    assert dialog.error_label.text() == ("url: 'http://10.0.0.50:99999' has no valid port; allowed: a port "
                                         "1..65535")
    dialog.url_edit.setText("http://not a host")
    dialog.ok_button.click()
    assert "'not a host' is not a host name or IP address" in dialog.error_label.text()
    dialog.url_edit.setText(f"127.0.0.1:{bench.spare_port}")  # a bare address gets http://
    dialog.name_edit.setText("wall")
    dialog.ok_button.click()
    assert dialog.error_label.text() == "name: a device named 'wall' exists; choose another name"
    assert "border" in dialog.name_edit.styleSheet() and dialog.url_edit.styleSheet() == ""
    dialog.name_edit.setText("side")
    dialog.zone_combo.setCurrentText("ceiling")
    dialog.ok_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.config is not None
    assert (dialog.config.kind, dialog.config.name, dialog.config.url, dialog.config.zone) == (
        "helios", "side", f"http://127.0.0.1:{bench.spare_port}", "ceiling")

    # What the dialog accepted goes to the stage like a one-click add.
    dp = _dp(bench, feed)
    qtbot.addWidget(dp)
    dp.discovery_panel.submit(dialog.config)
    qtbot.waitUntil(lambda: "side" in _device_names(dp), timeout=TIMEOUT_MS)
    bench.runner.stage.call_in_loop(bench.runner.stage.devices["side"].set, "brightness", 42.0)
    qtbot.waitUntil(lambda: bench.spare.value("dev.display.brightness") == 42, timeout=TIMEOUT_MS)


def test_osc_and_sacn_are_pointed_at_the_stage_file(qtbot: QtBot) -> None:
    dialog = AddDeviceDialog(taken=[], zones=[])
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(2)  # OSC
    assert not dialog.ok_button.isEnabled() and not dialog.url_edit.isEnabled()
    assert "add a [[devices]] table to the stage file" in dialog.note.text()
    dialog.kind_combo.setCurrentIndex(3)  # sACN
    assert "fixtures" in dialog.note.text()
    dialog.kind_combo.setCurrentIndex(0)
    assert dialog.ok_button.isEnabled() and dialog.note.text() == ""


def test_a_refused_add_is_said_inline(qtbot: QtBot, bench: Bench, feed: MakeFeed) -> None:
    dp = _dp(bench, feed)
    qtbot.addWidget(dp)
    dp.show()
    qtbot.waitUntil(lambda: "wall" in _device_names(dp), timeout=TIMEOUT_MS)
    wall_url = bench.runner.stage.devices.emulators["wall"].url
    dp.discovery_panel.submit(DeviceConfig("tessera", "second-wall", url=wall_url))  # the same processor
    qtbot.waitUntil(lambda: dp.discovery_panel.message_label.isVisible(), timeout=TIMEOUT_MS)
    assert dp.discovery_panel.message_label.text() == (
        f"'second-wall' not added: {wall_url} is already device 'wall' (two devices writing to one processor "
        "would fight)")


def test_add_device_button_opens_the_dialog_with_the_stage_names_and_zones(
        qtbot: QtBot, bench: Bench, monkeypatch: pytest.MonkeyPatch, feed: MakeFeed) -> None:
    dp = _dp(bench, feed)
    qtbot.addWidget(dp)
    qtbot.waitUntil(lambda: "wall" in _device_names(dp), timeout=TIMEOUT_MS)
    seen: dict[str, object] = {}

    def fake_exec(dialog: AddDeviceDialog) -> int:  # the operator types and presses Add
        seen["taken"] = set(dialog.taken)
        seen["zones"] = [dialog.zone_combo.itemText(i) for i in range(dialog.zone_combo.count())]
        dialog.url_edit.setText(f"http://127.0.0.1:{bench.spare_port}")
        dialog.name_edit.setText("by-hand")
        dialog.try_accept()
        return int(dialog.result())

    monkeypatch.setattr(AddDeviceDialog, "exec", fake_exec)
    dp.discovery_panel.manual_button.click()
    assert "wall" in seen["taken"]  # type: ignore[operator]
    # The factory looks' zones (frustum left out: it is no device's zone) and the wall device's.
    assert seen["zones"] == ["(no zone)", "ceiling", "house", "key", "wall"]
    qtbot.waitUntil(lambda: "by-hand" in _device_names(dp), timeout=TIMEOUT_MS)


def test_a_processor_that_asks_for_a_login_is_added_with_one(qtbot: QtBot, bench: Bench, feed: MakeFeed,
                                                             emulator_host: EmulatorHost,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The manual dialog takes a user and the environment variable holding the password; the device
    logs in to a processor that requires it, and the "keep it" text names the variable, never the
    password."""
    locked = emulator_host.start(HeliosEmulator(auth=ServerAuth("operator", "s3cret:with colon",
                                                                ("digest",))))
    dialog = AddDeviceDialog(taken=[], zones=[])
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(1)  # HELIOS
    dialog.url_edit.setText(f"127.0.0.1:{locked.port}")
    dialog.name_edit.setText("locked")
    dialog.username_edit.setText("operator")
    dialog.password_env_edit.setText("STAGECTL_TEST_LOCKED_PASSWORD")
    monkeypatch.delenv("STAGECTL_TEST_LOCKED_PASSWORD", raising=False)
    dialog.ok_button.click()  # the variable is not set in this process: said at the field
    assert dialog.config is None and dialog.error_label.text().startswith("password_env:")
    assert "border" in dialog.password_env_edit.styleSheet()
    monkeypatch.setenv("STAGECTL_TEST_LOCKED_PASSWORD", "s3cret:with colon")
    dialog.ok_button.click()
    assert dialog.config is not None and dialog.config.username == "operator"
    snippet = stage_file_snippet(dialog.config)
    assert 'username = "operator"' in snippet and 'password_env = "STAGECTL_TEST_LOCKED_PASSWORD"' in snippet
    assert "s3cret" not in snippet

    dp = _dp(bench, feed)
    qtbot.addWidget(dp)
    dp.discovery_panel.submit(dialog.config)
    qtbot.waitUntil(lambda: "locked" in _device_names(dp), timeout=TIMEOUT_MS)
    bench.runner.stage.call_in_loop(bench.runner.stage.devices["locked"].set, "brightness", 37.0)
    qtbot.waitUntil(lambda: locked.value("dev.display.brightness") == 37, timeout=TIMEOUT_MS)
