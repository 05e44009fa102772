"""DP panel: a fade run from the panel reaches the Tessera emulator along the perceptual curve;
nudges with undo/redo, blackout with confirmation, GO through the cue list."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from stagectl.config.load import parse_stage
from stagectl.stage.runner import StageRunner
from tests.ui.feed import MakeFeed
from ui.panels.dp_panel import DpPanel

BRIGHTNESS = "output/global-colour/brightness"
STAGE = """\
[stage]
name = "DP test"
frame_rate = 25

[[cameras]]
name = "A"

[[sources]]
camera = "A"
protocol = "simulator"
listen = "127.0.0.1:0"

[[devices]]
kind = "tessera"
name = "wall"
zone = "wall"
emulator = true
poll_ms = 200

[looks]
dir = "looks"
fade_s = 1.0
"""


def _look(folder: Path, name: str, nits: float, cct: float) -> None:
    data = {"schema": "stagectl.look/1", "name": name, "notes": "",
            "zones": {"wall": {"brightness_nits": nits, "cct_k": cct}}}
    (folder / f"{name.lower()}.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    looks = tmp_path / "looks"
    looks.mkdir()
    _look(looks, "Dim", 100.0, 3200.0)
    _look(looks, "Bright", 1600.0, 5600.0)
    (looks / "cues.json").write_text(json.dumps({"schema": "stagectl.cues/1", "cues": [
        {"number": "1", "look": "Dim", "fade_s": 0.0, "easing": "linear"},
        {"number": "2", "look": "Bright", "fade_s": 0.5, "easing": "linear"}]}), encoding="utf-8")
    runner = StageRunner(parse_stage(STAGE, base_dir=tmp_path))
    yield runner
    runner.close()


def _panel(qtbot: QtBot, runner: StageRunner, feed: MakeFeed,
           answer: bool = True) -> DpPanel:
    fed = feed(runner)
    panel = DpPanel(fed.view, fed.commands)
    fed.to(panel.update_view)
    panel.confirm = lambda _title, _question: answer
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitUntil(lambda: panel.looks_table.rowCount() == 2, timeout=5000)
    return panel


def _select_look(panel: DpPanel, name: str) -> None:
    row = [panel.looks_table.item(r, 0).text().lstrip("▶ ") for r in range(panel.looks_table.rowCount())]
    panel.looks_table.selectRow(row.index(name))


def test_a_fade_from_the_panel_follows_the_log_nits_curve(qtbot: QtBot, runner: StageRunner,
                                                          feed: MakeFeed) -> None:
    panel = _panel(qtbot, runner, feed)
    emulator = runner.stage.devices.emulators["wall"]
    _select_look(panel, "Dim")
    panel.fade_spin.setValue(0.0)
    panel.recall_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 100, timeout=3000)

    start = len(emulator.changes)
    _select_look(panel, "Bright")
    panel.fade_spin.setValue(1.0)
    panel.easing_combo.setCurrentText("linear")
    panel.recall_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 1600, timeout=5000)
    writes = [c for c in emulator.changes[start:] if c.path == BRIGHTNESS]
    assert len(writes) >= 25, f"only {len(writes)} brightness writes in a 1 s fade"
    t0 = writes[0].t_ns
    # Expected: log-nits linear in time from 100 to 1600 nits over 1 s: nits(t) = 100 * 16^t.
    # A write carries the value of the tick that made it (up to one HTTP round trip, one 60 Hz
    # tick and the whole-nit rounding before it reached the emulator): compare with the curve
    # 0..60 ms earlier, so each sampled value must lie between nits(t - 60 ms) and nits(t).
    for change in writes[1:-1]:
        t = (change.t_ns - t0) / 1e9
        high = 100.0 * 16.0 ** min(t + 0.02, 1.0)
        low = 100.0 * 16.0 ** max(t - 0.06, 0.0)
        assert low - 1.0 <= change.value <= high + 1.0, (t, change.value, low, high)
    # Perceptual, not linear in nits: half-way through the fade the wall is at ~400 nits, not 850.
    mid = min(writes, key=lambda c: abs((c.t_ns - t0) / 1e9 - 0.5))
    assert 300 <= mid.value <= 520, mid
    # CCT moved too (in mired), 3200 K -> 5600 K; its PUT follows the brightness PUT of the same batch.
    qtbot.waitUntil(lambda: emulator.value("output/global-colour/colour-temperature") == 5600, timeout=2000)


def test_nudges_undo_and_redo_on_the_wall(qtbot: QtBot, runner: StageRunner,
                                          feed: MakeFeed) -> None:
    panel = _panel(qtbot, runner, feed)
    emulator = runner.stage.devices.emulators["wall"]
    _select_look(panel, "Dim")
    panel.fade_spin.setValue(0.0)
    panel.recall_button.click()
    qtbot.waitUntil(lambda: panel.working is not None and emulator.value(BRIGHTNESS) == 100, timeout=3000)
    panel.nudges["bright"].click()  # +1/3 stop: 100 * 2^(1/3) = 126 nits
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 126, timeout=3000)
    assert panel.undo_button.isEnabled()
    panel.undo_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 100, timeout=3000)
    panel.redo_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 126, timeout=3000)
    panel.nudges["warm"].click()  # +10 mired: 3200 K = 312.5 mired -> 322.5 mired = 3101 K
    qtbot.waitUntil(lambda: emulator.value("output/global-colour/colour-temperature") == 3101, timeout=3000)


def test_go_through_the_cue_list_and_blackout_asks_first(qtbot: QtBot, runner: StageRunner,
                                                         feed: MakeFeed) -> None:
    panel = _panel(qtbot, runner, feed, answer=False)
    emulator = runner.stage.devices.emulators["wall"]
    panel.go_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 100, timeout=3000)
    panel.go_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 1600, timeout=3000)
    qtbot.waitUntil(lambda: "Cue 2" in panel.live_label.text(), timeout=2000)
    panel.blackout_button.click()  # the operator says no
    qtbot.wait(300)
    assert emulator.value("override/blackout/enabled") is False
    panel.confirm = lambda _title, _question: True
    panel.blackout_button.click()
    qtbot.waitUntil(lambda: emulator.value("override/blackout/enabled") is True, timeout=3000)
    qtbot.waitUntil(lambda: panel.live_label.text().startswith("BLACKOUT"), timeout=2000)
    assert not math.isnan(float(emulator.value(BRIGHTNESS)))
