"""Recording a real take in a test: a stage from a stage file, RECORD, what the test sends, STOP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stagectl.config.load import parse_stage
from stagectl.stage.runner import StageRunner
from stagectl.takes.model import TakeData
from stagectl.takes.store import TakeStore
from tests.support.polling import wait_until


@contextmanager
def running(text: str, base_dir: Path) -> Iterator[StageRunner]:
    """The stage of ``text`` running (its take store open), closed at the end."""
    runner = StageRunner(parse_stage(text, base_dir=base_dir))
    try:
        wait_until(lambda: runner.stage.recorder.ready, what="the take store to open",
                   detail=lambda: runner.stage.recorder.status())
        yield runner
    finally:
        runner.close()


def record(runner: StageRunner, during: Callable[[], None], **slate: Any) -> str:
    """RECORD on the loop, ``during()`` (the test sends its datagrams), STOP; the take's name."""
    recorder = runner.stage.recorder

    async def start() -> str:
        return recorder.record(**slate)

    async def stop() -> str:
        return await recorder.async_stop_take()

    runner.runtime.call_sync(start(), 5.0)
    during()
    return runner.runtime.call_sync(stop(), 30.0)


def read_take(folder: Path, ref: str | int = 1) -> TakeData:
    """A take of the store in ``folder`` (its ``[takes] dir``)."""
    with TakeStore(folder) as store:
        return store.read(store.find(ref))
