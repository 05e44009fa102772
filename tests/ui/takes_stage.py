"""A running stage that records takes, for the take bar, takes browser and export dialog tests.

Two cameras on simulated FreeD trackers at 240 Hz over loopback, 25 fps, the takes folder in the
test's tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from stagectl.stage.runner import StageRunner
from stagectl.takes.store import TakeStore
from tests.support.polling import TIMEOUT_MS, wait_until
from tests.support.stagefile import StageFile

RATE_HZ = 240
FPS = 25


def takes_stage() -> StageFile:
    """Two simulated cameras at :data:`RATE_HZ`, :data:`FPS`, takes in ``takes`` beside the stage file."""
    return (StageFile("Takes test", frame_rate=FPS)
            .source("A", rate_hz=RATE_HZ)
            .source("B", rate_hz=RATE_HZ)
            .takes(dir="takes", production="Night Drive"))


def takes_runner(tmp_path: Path) -> Iterator[StageRunner]:
    """The stage above, started, its recorder ready; closed after (``yield from`` it in a fixture)."""
    runner = StageRunner(takes_stage().config(tmp_path))
    try:
        wait_until(lambda: runner.stage.recorder.status().ready, what="the take store to open",
                   detail=lambda: runner.stage.recorder.status().error)
        yield runner
    finally:
        runner.close()


def record_take(qtbot: QtBot, runner: StageRunner, seconds: float, **slate: Any) -> int:
    """Record a take straight through the recorder (not the UI) and wait until it is complete."""
    recorder = runner.stage.recorder

    async def start() -> str:
        return recorder.record(**slate)

    runner.runtime.call_sync(start())
    qtbot.wait(int(seconds * 1000))
    runner.runtime.call_sync(recorder.async_stop_take())
    qtbot.waitUntil(lambda: recorder.status().last_take_id is not None, timeout=TIMEOUT_MS)
    take_id = recorder.status().last_take_id
    assert take_id is not None
    qtbot.waitUntil(lambda: stored(runner, take_id).state == "complete", timeout=TIMEOUT_MS)
    return take_id


def stored(runner: StageRunner, take_id: int) -> Any:
    """The take's info read from a fresh connection to the store (what another program would see)."""
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        return store.info(take_id)
