"""The one hop between the stage and the widgets.

The stage never emits Qt signals (it has no Qt). A QTimer on the GUI thread reads the newest
:class:`~stagectl.stage.view.StageView` (an attribute read: the I/O loop publishes views, nobody
waits for anybody) and emits ``view_ready`` when it is a new one, ``events_ready`` with the events
posted since the last view, and runs the callbacks :class:`~stagectl.stage.commands.StageCommands`
handed over with :meth:`StageBridge.post` (a command finished, an export's progress). So every
signal is emitted, and every callback runs, on the GUI thread.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from stagectl.core.events import Level, StageEvent
from stagectl.stage.view import StageView, ViewSource

#: How often the bridge looks for a new view and for callbacks (the views come at 30 Hz).
POLL_INTERVAL_MS = 15


class StageBridge(QObject):
    """Reads views from a :class:`~stagectl.stage.view.ViewSource` on a GUI-thread timer.

    Signals:
        view_ready(StageView): a new view (about 30 a second).
        events_ready(list[StageEvent]): events posted since the last view, oldest first.

    Attributes:
        last: the last view emitted.
    """

    view_ready = Signal(object)
    events_ready = Signal(list)

    def __init__(self, views: ViewSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.views = views
        self.last: StageView = views.latest
        self._sequence: int | None = None
        self._events_seen = 0
        self._calls: collections.deque[Callable[[], None]] = collections.deque()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self) -> None:
        """Start reading (call once the widgets are connected)."""
        self._poll()
        self._timer.start()

    def stop(self) -> None:
        """Stop reading; callbacks still waiting are dropped."""
        self._timer.stop()
        self._calls.clear()

    def post(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the GUI thread soon (from any thread: a deque append)."""
        self._calls.append(callback)

    def _poll(self) -> None:
        while self._calls:
            self._calls.popleft()()
        view = self.views.latest
        if view.sequence == self._sequence:
            return
        self._sequence = view.sequence
        self.last = view
        events, missed = view.events_since(self._events_seen)
        self._events_seen = view.events_posted
        if missed:
            events.insert(0, StageEvent(time.time(), view.monotonic_ns, Level.WARNING, "window", "missed",
                                        f"{missed} event(s) came too fast to show here"))
        self.view_ready.emit(view)
        if events:
            self.events_ready.emit(events)
