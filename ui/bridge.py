"""The one hop between the core and the widgets.

The core never emits Qt signals (it has no Qt). Two QTimers on the GUI thread pull from it:
a frame timer (30 Hz) copies the stage snapshot and emits ``snapshot_ready``; an event timer
(10 Hz) drains the event queue and emits ``events_ready``. So every signal is emitted on the
GUI thread, and the GUI never waits on the I/O loop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from stagectl.stage.assembly import Stage
from stagectl.stage.snapshot import StageSnapshot

FRAME_INTERVAL_MS = 33   # 30 Hz: plots and tables
EVENT_INTERVAL_MS = 100


class StageBridge(QObject):
    """Pulls snapshots and events from a Stage on GUI-thread timers.

    Signals:
        snapshot_ready(StageSnapshot): a fresh copy of the stage's state, 30 times a second.
        events_ready(list[StageEvent]): events posted since the last drain, oldest first.
    """

    snapshot_ready = Signal(object)
    events_ready = Signal(list)

    def __init__(self, stage: Stage, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        self.last: StageSnapshot | None = None
        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(FRAME_INTERVAL_MS)
        self._frame_timer.timeout.connect(self._on_frame)
        self._event_timer = QTimer(self)
        self._event_timer.setInterval(EVENT_INTERVAL_MS)
        self._event_timer.timeout.connect(self._on_events)

    def start(self) -> None:
        """Start pulling (call once the widgets are connected)."""
        self._on_events()
        self._on_frame()
        self._frame_timer.start()
        self._event_timer.start()

    def stop(self) -> None:
        """Stop both timers."""
        self._frame_timer.stop()
        self._event_timer.stop()

    def _on_frame(self) -> None:
        self.last = self.stage.snapshot()
        self.snapshot_ready.emit(self.last)

    def _on_events(self) -> None:
        events = self.stage.events.drain(limit=500)
        if events:
            self.events_ready.emit(events)
