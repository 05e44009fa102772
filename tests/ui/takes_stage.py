"""A running stage that records takes, for the take bar, takes browser and export dialog tests.

Two cameras on simulated FreeD trackers at 240 Hz over loopback, 25 fps, the takes folder in the
test's tmp_path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from stagectl.config.load import parse_stage
from stagectl.stage.runner import StageRunner
from stagectl.takes.store import TakeStore

RATE_HZ = 240
FPS = 25
STAGE = f"""\
[stage]
name = "Takes test"
frame_rate = {FPS}

[[cameras]]
name = "A"

[[cameras]]
name = "B"

[[sources]]
camera = "A"
protocol = "simulator"
listen = "127.0.0.1:0"
rate_hz = {RATE_HZ}

[[sources]]
camera = "B"
protocol = "simulator"
listen = "127.0.0.1:0"
rate_hz = {RATE_HZ}

[takes]
dir = "takes"
production = "Night Drive"
"""


def takes_runner(tmp_path: Path) -> Iterator[StageRunner]:
    """The stage above, started, its recorder ready; closed after (``yield from`` it in a fixture)."""
    runner = StageRunner(parse_stage(STAGE, base_dir=tmp_path))
    deadline = time.monotonic() + 5.0
    while not runner.stage.recorder.status().ready and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.stage.recorder.status().ready, runner.stage.recorder.status().error
    yield runner
    runner.close()


def record_take(qtbot: QtBot, runner: StageRunner, seconds: float, **slate: Any) -> int:
    """Record a take straight through the recorder (not the UI) and wait until it is complete."""
    recorder = runner.stage.recorder

    async def start() -> str:
        return recorder.record(**slate)

    runner.runtime.call_sync(start())
    qtbot.wait(int(seconds * 1000))
    runner.runtime.call_sync(recorder.async_stop_take())
    qtbot.waitUntil(lambda: recorder.status().last_take_id is not None, timeout=3000)
    take_id = recorder.status().last_take_id
    assert take_id is not None
    qtbot.waitUntil(lambda: stored(runner, take_id).state == "complete", timeout=3000)
    return take_id


def stored(runner: StageRunner, take_id: int) -> Any:
    """The take's info read from a fresh connection to the store (what another program would see)."""
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        return store.info(take_id)
