"""The one hop between the stage and the widgets.

The stage never emits Qt signals (it has no Qt). A QTimer on the GUI thread reads the newest
:class:`~stagectl.stage.view.StageView` (an attribute read: the I/O loop publishes views, nobody
waits for anybody) and emits ``view_ready`` when it is a new one, ``events_ready`` with the events
posted since the last view, and runs the callbacks :class:`~stagectl.stage.commands.StageCommands`
handed over with :meth:`StageBridge.post` (a command finished, an export's progress). So every
signal is emitted, and every callback runs, on the GUI thread.

The window refreshes at :attr:`StageBridge.refresh_hz` (30 Hz, or 60 Hz when the operator asks): at most
that many views a second are handed on. A view source with a settable ``rate_hz`` (views published
that many times a second) is asked to follow it.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from stagectl.core.events import Level, StageEvent
from stagectl.stage.view import StageView, ViewSource

#: Refresh rates the window offers (Hz): the views' own rate, and twice it for smoother plots.
REFRESH_RATES = (30, 60)
DEFAULT_REFRESH_HZ = 30
#: The bridge looks for a new view and for callbacks this many times per refresh period.
POLLS_PER_REFRESH = 2
#: A view is handed on when at least this share of a refresh period passed since the last one (the
#: poll timer's own jitter must not drop a frame).
MIN_GAP_SHARE = 0.75


class StageBridge(QObject):
    """Reads views from a :class:`~stagectl.stage.view.ViewSource` on a GUI-thread timer.

    Signals:
        view_ready(StageView): a new view (about 30 a second).
        events_ready(list[StageEvent]): events posted since the last view, oldest first.

    Attributes:
        last: the last view emitted.
        refresh_hz: at most this many views a second are emitted (see :data:`REFRESH_RATES`).
        emitted: views emitted so far.
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
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._poll)
        self.refresh_hz = DEFAULT_REFRESH_HZ
        self.emitted = 0
        self._emitted_at = -1.0
        self.set_refresh_hz(DEFAULT_REFRESH_HZ)

    def set_refresh_hz(self, hz: int) -> None:
        """Refresh ``hz`` times a second (one of :data:`REFRESH_RATES`; anything else is refused)."""
        if hz not in REFRESH_RATES:
            raise ValueError(f"refresh rate {hz} Hz: the window refreshes at one of {REFRESH_RATES} Hz")
        self.refresh_hz = hz
        self._timer.setInterval(round(1000 / (hz * POLLS_PER_REFRESH)))
        rate = getattr(self.views, "rate_hz", None)
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate != hz:
            setattr(self.views, "rate_hz", float(hz))  # noqa: B010 (an optional part of the protocol)

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
        now = time.monotonic()
        if now - self._emitted_at < MIN_GAP_SHARE / self.refresh_hz:
            return  # views come faster than the window refreshes: this one waits for the next poll
        self._emitted_at = now
        self.emitted += 1
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
