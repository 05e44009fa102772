"""A stage running on its own I/O runtime: what the window, the headless run and ``takes record`` hold.

Besides the stage, a runner holds what the window reads and calls: :attr:`StageRunner.views` (the
newest :class:`~stagectl.stage.view.StageView`, published on the loop) and :attr:`StageRunner.commands`
(:class:`~stagectl.stage.commands.StageCommands`)."""

from __future__ import annotations

import logging
import time

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
        views: publishes a :class:`~stagectl.stage.view.StageView` 30 times a second (``views.latest``),
            unless built with ``publish_views=False``.
        commands: every action the window takes on the stage.
        stop_ms: after :meth:`close`, how long each part took to stop in ms (the stage's parts as
            :meth:`Stage.async_stop <stagectl.stage.assembly.Stage.async_stop>` reports them, ``views``,
            ``loop thread``) and ``stop``, the whole of it.
    """

    def __init__(self, config: StageConfig, *, publish_views: bool = True) -> None:
        """Build the stage and start it on its own runtime (StageError when it cannot start).

        ``publish_views``: False where nothing reads :attr:`views` (a headless run prints
        ``Stage.status``): no view is built 30 times a second, and ``views.latest`` stays the one
        built before the start."""
        self._publish_views = publish_views
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
        self.stop_ms: dict[str, float] = {}

    async def _async_start(self) -> None:
        await self.stage.async_start()
        if self._publish_views:
            await self.views.async_start()

    async def _async_stop(self) -> dict[str, float]:
        started = time.perf_counter()
        await self.views.async_stop()
        views_ms = (time.perf_counter() - started) * 1e3
        return {"views": views_ms, **await self.stage.async_stop()}

    def close(self) -> None:
        """Stop every source, then the loop thread. Safe to call twice.

        How long each part took is kept in :attr:`stop_ms` and logged at DEBUG."""
        if self._closed:
            return
        self._closed = True
        started = time.perf_counter()
        self.commands.close()
        try:
            self.stop_ms.update(self.runtime.call_sync(self._async_stop(), timeout=STOP_STAGE_TIMEOUT_S))
        except RuntimeBlocked:
            log.warning("sources did not close within %.1f s; stopping the loop anyway", STOP_STAGE_TIMEOUT_S)
        except StageError as exc:
            log.warning("while stopping the stage: %s", exc)
        stage_done = time.perf_counter()
        self.runtime.stop(STOP_LOOP_TIMEOUT_S)
        done = time.perf_counter()
        self.stop_ms["loop thread"] = (done - stage_done) * 1e3
        self.stop_ms["stop"] = (done - started) * 1e3
        log.debug("stage stopped in %.1f ms: %s", self.stop_ms["stop"],
                  ", ".join(f"{name} {ms:.1f}" for name, ms in self.stop_ms.items() if name != "stop"))
