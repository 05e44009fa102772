"""A panel tested on its own, fed as the main window feeds it: a bridge over a runner's views, and the
runner's commands calling back through that bridge (on the GUI thread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stagectl.stage.commands import StageCommands
from stagectl.stage.runner import StageRunner
from stagectl.stage.view import StageView
from ui.app import ensure_app
from ui.bridge import StageBridge


class Feed:
    """Views and commands of ``runner`` for panels outside a window.

    Attributes:
        bridge: reads ``runner.views`` on a GUI-thread timer (started here; the ``feed`` fixture
            stops it after the test).
        commands: ``runner.commands`` calling back through the bridge.
        view: the newest view when the feed was made.
    """

    def __init__(self, runner: StageRunner) -> None:
        ensure_app()
        self.bridge = StageBridge(runner.views)
        self.commands: StageCommands = runner.commands.with_hop(self.bridge.post)
        self.view: StageView = runner.views.latest
        self.bridge.start()

    def to(self, *updates: Callable[[StageView], Any]) -> Feed:
        """Hand every new view to each of ``updates`` (a panel's ``update_view``); returns self."""
        for update in updates:
            self.bridge.view_ready.connect(update)
        return self

    def stop(self) -> None:
        """Stop reading views and running callbacks."""
        self.bridge.stop()


MakeFeed = Callable[[StageRunner], Feed]
"""The ``feed`` fixture: makes a :class:`Feed` of a runner."""
