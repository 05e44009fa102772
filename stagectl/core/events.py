"""One queue of discrete stage events (device up/down, errors, take state) for the UI and log.

Producers on any thread call :meth:`EventQueue.post`; the GUI drains it on a timer and the
headless runner drains it to the log. The queue is bounded: under a flood the oldest events are
dropped and counted, never the producer blocked. An event is one line: whatever its text carries
from outside (an OSC address, a name a device sent), a newline or control character in it is
escaped here (:func:`stagectl.core.text.escape_untrusted`), so no event, log line or take log entry
can be split or forged by a sender.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from stagectl.core.text import escape_untrusted


class Level(enum.IntEnum):
    """Severity, ordered like logging's levels."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40


@dataclass(frozen=True, slots=True)
class StageEvent:
    """Something that happened on the stage, once.

    ``source`` names the device, source or subsystem; ``kind`` is a short stable word
    (``state``, ``rejected``, ``error``, ``info``) the UI can filter on. ``for_take`` says whether
    a take records it (see :meth:`recorded_in_take`).
    """

    wall_time: float
    monotonic_ns: int
    level: Level
    source: str
    kind: str
    message: str
    for_take: bool = True

    def recorded_in_take(self) -> bool:
        """Whether a take's log keeps this event: a take records what matters to post (cues, looks,
        device state changes, stream health, notes, errors), so a producer's own bookkeeping is posted
        with ``for_take=False`` (discovery's announcements and found devices) and stays out of takes,
        except at ERROR, which every take keeps whatever its source."""
        return self.for_take or self.level >= Level.ERROR

    def format(self) -> str:
        """One line for a log view: local time, level, source, message."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall_time))
        millis = int((self.wall_time % 1) * 1000)
        return f"{stamp}.{millis:03d} {self.level.name:<7} {self.source}: {self.message}"


log = logging.getLogger("stagectl.events")


class EventQueue:
    """A bounded, thread-safe FIFO of :class:`StageEvent`.

    Every event is also written to the ``stagectl.core.events`` logger, so the headless runner's
    console and the window's Log dock tell the same story.
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        self._events: deque[StageEvent] = deque()
        self._maxlen = maxlen
        self._lock = threading.Lock()
        self.dropped = 0
        self.posted = 0
        self._listeners: list[Callable[[StageEvent], None]] = []

    def subscribe(self, listener: Callable[[StageEvent], None]) -> None:
        """Also hand every posted event to ``listener`` (called on the posting thread, after the
        event is queued; it must not block, and what it raises is swallowed). The take recorder
        logs events this way."""
        self._listeners = [*self._listeners, listener]

    def unsubscribe(self, listener: Callable[[StageEvent], None]) -> None:
        """Stop handing events to ``listener`` (unknown ones are ignored)."""
        self._listeners = [x for x in self._listeners if x is not listener]

    def post(
        self, level: Level, source: str, kind: str, message: str, *, for_take: bool = True
    ) -> StageEvent:
        """Append an event; never blocks for long, never raises. ``for_take=False``: the UI and the
        log see it, a take does not (unless it is an ERROR; :meth:`StageEvent.recorded_in_take`).
        ``source``, ``kind`` and ``message`` are kept as one printable line (control characters escaped)."""
        event = StageEvent(time.time(), time.monotonic_ns(), level, escape_untrusted(source, None),
                           escape_untrusted(kind, None), escape_untrusted(message, None), for_take)
        with self._lock:
            if len(self._events) >= self._maxlen:
                self._events.popleft()
                self.dropped += 1
            self._events.append(event)
            self.posted += 1
        log.log(int(level), "%s: %s", event.source, event.message)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener's bug must not reach the poster
                log.exception("event listener %r failed", listener)
        return event

    def drain(self, limit: int | None = None) -> list[StageEvent]:
        """Remove and return up to ``limit`` events, oldest first."""
        with self._lock:
            if limit is None or limit >= len(self._events):
                out = list(self._events)
                self._events.clear()
            else:
                out = [self._events.popleft() for _ in range(limit)]
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)
