"""A stage running on its own I/O runtime: what the window, the headless run and ``takes record`` hold.

Besides the stage, a runner holds what the window reads and calls: :attr:`StageRunner.views` (the
newest :class:`~stagectl.stage.view.StageView`, published on the loop) and :attr:`StageRunner.commands`
(:class:`~stagectl.stage.commands.StageCommands`)."""

from __future__ import annotations

import logging

from stagectl.config.model import StageConfig
from stagectl.core.errors import RuntimeBlocked, StageError
from stagectl.core.runtime import Runtime
from stagectl.stage.assembly import Stage
from stagectl.stage.commands import StageCommands
from stagectl.stage.view import StageViewPublisher

log = logging.getLogger("stagectl.stage")


#: Budget for a clean stop (Ctrl+C or closing the window): 1 s in all, the promise to the operator.
STOP_STAGE_TIMEOUT_S = 0.5


STOP_LOOP_TIMEOUT_S = 0.4


class StageRunner:
    """A started Stage on its own I/O runtime; ``close`` stops both within about a second.

    Attributes:
        stage: the stage.
        runtime: its I/O loop.
        views: publishes a :class:`~stagectl.stage.view.StageView` 30 times a second (``views.latest``).
        commands: every action the window takes on the stage.
    """

    def __init__(self, config: StageConfig) -> None:
        self.runtime = Runtime()
        self.stage = Stage(config)
        self.views = StageViewPublisher(self.stage)  # before the start: it keeps the start's events
        self.commands = StageCommands(self.stage, self.runtime)
        self.runtime.start()
        try:
            self.runtime.call_sync(self._async_start(), timeout=5.0)
        except BaseException:
            self.runtime.stop(STOP_LOOP_TIMEOUT_S)
            raise
        self._closed = False

    async def _async_start(self) -> None:
        await self.stage.async_start()
        await self.views.async_start()

    async def _async_stop(self) -> None:
        await self.views.async_stop()
        await self.stage.async_stop()

    def close(self) -> None:
        """Stop every source, then the loop thread. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.commands.close()
        try:
            self.runtime.call_sync(self._async_stop(), timeout=STOP_STAGE_TIMEOUT_S)
        except RuntimeBlocked:
            log.warning("sources did not close within %.1f s; stopping the loop anyway", STOP_STAGE_TIMEOUT_S)
        except StageError as exc:
            log.warning("while stopping the stage: %s", exc)
        self.runtime.stop(STOP_LOOP_TIMEOUT_S)
