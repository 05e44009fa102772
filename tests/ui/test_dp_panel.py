"""DP panel: a fade run from the panel reaches the Tessera emulator along the perceptual curve;
nudges with undo/redo, blackout with confirmation, GO through the cue list."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from tests.support.stagefile import StageFile
from tests.ui.feed import MakeFeed
from ui.panels.dp_panel import DpPanel

BRIGHTNESS = "output/global-colour/brightness"
CCT = "output/global-colour/colour-temperature"


def dp_stage() -> StageFile:
    """A simulated camera, an emulated Tessera wall, looks beside the stage file (1 s default fade)."""
    return (StageFile("DP test").source("A")
            .device("tessera", "wall", zone="wall", emulator=True, poll_ms=200)
            .looks(dir="looks", fade_s=1.0))


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
    runner = StageRunner(dp_stage().config(tmp_path))
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
    qtbot.waitUntil(lambda: panel.looks_table.rowCount() == 2, timeout=TIMEOUT_MS)
    return panel


def _loop_turn(runner: StageRunner) -> None:
    """Return once the stage's loop has run what was handed to it before (it runs callbacks in order)."""

    async def turn() -> None:
        return None

    runner.runtime.call_sync(turn())


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
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 100, timeout=TIMEOUT_MS)

    start = len(emulator.changes)
    _select_look(panel, "Bright")
    panel.fade_spin.setValue(1.0)
    panel.easing_combo.setCurrentText("linear")
    clicked_ns = time.monotonic_ns()
    panel.recall_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 1600, timeout=TIMEOUT_MS)
    writes = [c for c in emulator.changes[start:] if c.path == BRIGHTNESS]

    def nits(t_ns: int) -> float:  # log-nits linear in time from 100 to 1600 nits over 1 s
        return float(100.0 * 16.0 ** min(max(t_ns / 1e9, 0.0), 1.0))

    # Each write carries the value of a fade tick made after the click and before it arrived, and (one
    # write in flight, the newest value sent next) after the write before last arrived; the fade began
    # after the click and by the first write. Arrival times are the emulator's: load widens the
    # brackets, never breaks them. Values are whole nits.
    first_ns = writes[0].t_ns
    for i, change in enumerate(writes):
        low = nits(writes[i - 2].t_ns - first_ns) if i >= 2 else 100.0
        high = nits(change.t_ns - clicked_ns)
        assert low - 1.0 <= change.value <= high + 1.0, (i, change, low, high)
    # It fades through values (a jump is one write), at most one a 60 Hz tick of the time it took.
    took_s = (writes[-1].t_ns - clicked_ns) / 1e9
    assert 3 <= len(writes) <= 2 + math.ceil(took_s * 60), (len(writes), took_s)
    # CCT moved too (in mired), 3200 K -> 5600 K; its PUT follows the brightness PUT of the same batch.
    qtbot.waitUntil(lambda: emulator.value(CCT) == 5600, timeout=TIMEOUT_MS)


def test_nudges_undo_and_redo_on_the_wall(qtbot: QtBot, runner: StageRunner,
                                          feed: MakeFeed) -> None:
    panel = _panel(qtbot, runner, feed)
    emulator = runner.stage.devices.emulators["wall"]
    _select_look(panel, "Dim")
    panel.fade_spin.setValue(0.0)
    panel.recall_button.click()
    qtbot.waitUntil(lambda: panel.working is not None and emulator.value(BRIGHTNESS) == 100,
                    timeout=TIMEOUT_MS)
    panel.nudges["bright"].click()  # +1/3 stop: 100 * 2^(1/3) = 126 nits
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 126, timeout=TIMEOUT_MS)
    assert panel.undo_button.isEnabled()
    panel.undo_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 100, timeout=TIMEOUT_MS)
    panel.redo_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 126, timeout=TIMEOUT_MS)
    panel.nudges["warm"].click()  # +10 mired: 3200 K = 312.5 mired -> 322.5 mired = 3101 K
    qtbot.waitUntil(lambda: emulator.value(CCT) == 3101, timeout=TIMEOUT_MS)


def test_go_through_the_cue_list_and_blackout_asks_first(qtbot: QtBot, runner: StageRunner,
                                                         feed: MakeFeed) -> None:
    panel = _panel(qtbot, runner, feed, answer=False)
    emulator = runner.stage.devices.emulators["wall"]
    panel.go_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 100, timeout=TIMEOUT_MS)
    panel.go_button.click()
    qtbot.waitUntil(lambda: emulator.value(BRIGHTNESS) == 1600, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "Cue 2" in panel.live_label.text(), timeout=TIMEOUT_MS)
    panel.blackout_button.click()  # the operator says no
    _loop_turn(runner)  # a command the click sent would have run on the loop by now
    assert runner.stage.lighting.engine is not None and not runner.stage.lighting.engine.status().blackout
    assert emulator.value("override/blackout/enabled") is False
    panel.confirm = lambda _title, _question: True
    panel.blackout_button.click()
    qtbot.waitUntil(lambda: emulator.value("override/blackout/enabled") is True, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: panel.live_label.text().startswith("BLACKOUT"), timeout=TIMEOUT_MS)
    assert not math.isnan(float(emulator.value(BRIGHTNESS)))
