"""Logging helpers: a per-key rate limiter, a per-subsystem line budget and the command-line log setup.

A tracker that sends garbage at 500 Hz must not flood the log or the UI: :class:`RateLimiter`
lets one message per key through per interval and says how many it held back. A key per sender is
not enough when the senders rotate (a thousand addresses each get their "first" message), so a
limiter may also draw on a :class:`LogBudget` shared by a whole subsystem: a token bucket of lines
per second that no number of keys can exceed; what it holds back is counted and reported with the
next line that gets through ("N similar suppressed"). Likewise the libraries underneath (an HTTP
client logs every device poll at INFO) speak only from WARNING up, unless the log level asked for is
DEBUG, and every line written to stderr is one line (:class:`OneLineFormatter`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from stagectl.core.text import escape_untrusted

#: Lines a subsystem may log at once, and per second after that (see :class:`LogBudget`).
BUDGET_BURST = 20
BUDGET_PER_S = 5.0


class LogBudget:
    """A token bucket of log lines shared by every :class:`RateLimiter` of one subsystem.

    ``burst`` lines may go out at once, then ``per_s`` a second. Thread-safe (limiters of one
    subsystem may live on different threads). :attr:`suppressed_total` counts every line it refused.
    """

    def __init__(self, burst: int = BUDGET_BURST, per_s: float = BUDGET_PER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or not per_s > 0:
            raise ValueError(f"a log budget needs burst >= 1 and per_s > 0, got {burst!r}, {per_s!r}")
        self.burst = burst
        self.per_s = per_s
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._held = 0
        self._lock = threading.Lock()
        self.suppressed_total = 0

    def take(self) -> int | None:
        """None when the subsystem has spent its budget (the line is counted as held back);
        otherwise how many lines it held back since the last one it let through."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.per_s)
            self._at = now
            if self._tokens < 1.0:
                self._held += 1
                self.suppressed_total += 1
                return None
            self._tokens -= 1.0
            held, self._held = self._held, 0
            return held


_BUDGETS: dict[str, LogBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def subsystem_budget(name: str) -> LogBudget:
    """The one :class:`LogBudget` of subsystem ``name`` (``"control"``, ``"tracking"``) in this process."""
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(name)
        if budget is None:
            budget = _BUDGETS[name] = LogBudget()
        return budget


class RateLimiter:
    """Allows one message per ``key`` per ``interval_s`` and counts the ones it holds back.

    With a ``budget``, a message the key allows must also get a line from the subsystem's budget;
    the count returned then includes the lines the budget held back (from any key) since its last
    line. Not thread-safe by design: each source owns one and uses it from its own thread.
    """

    def __init__(self, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 budget: LogBudget | None = None) -> None:
        self._interval = interval_s
        self._clock = clock
        self._budget = budget
        self._next_allowed: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def check(self, key: str) -> int | None:
        """None when ``key`` must stay quiet now; otherwise how many were held back since the
        last message for it (0 for a first message), plus what the budget held back."""
        now = self._clock()
        if now < self._next_allowed.get(key, float("-inf")):
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        budget_held = 0
        if self._budget is not None:
            taken = self._budget.take()
            if taken is None:  # the key may speak, the subsystem may not: try again next time
                return None
            budget_held = taken
        self._next_allowed[key] = now + self._interval
        return self._suppressed.pop(key, 0) + budget_held

    def suppressed(self, key: str) -> int:
        """How many messages for ``key`` are currently held back."""
        return self._suppressed.get(key, 0)

    def forget(self) -> None:
        """Drop every key (bounds the memory of a limiter keyed by sender); the budget is kept."""
        self._next_allowed.clear()
        self._suppressed.clear()

    def __len__(self) -> int:
        return len(self._next_allowed)


def with_suppressed(message: str, held_back: int) -> str:
    """Append "(N similar suppressed)" to a message when anything was held back."""
    return f"{message} ({held_back} similar suppressed)" if held_back else message


SWALLOWED: Counter[str] = Counter()
"""How often each :func:`swallowed` reason happened in this process (for tests and diagnostics)."""


@contextlib.contextmanager
def swallowed(log: logging.Logger, reason: str) -> Iterator[None]:
    """Let an ``Exception`` in the block go, counted under ``reason`` and logged at DEBUG with its traceback.

    For cleanup that must not fail the caller (closing a socket that may already be broken, a goodbye
    packet while stopping): ``reason`` says why losing the error is right there. Never for the hot path's
    decoding (that is counted per source and reported) or for anything the operator must hear about.
    """
    try:
        yield
    except Exception:
        SWALLOWED[reason] += 1
        log.debug("%s failed (ignored)", reason, exc_info=True)


QUIET_LIBRARIES = ("httpx", "httpcore", "websockets", "zeroconf", "sacn")
"""Third-party loggers held at WARNING unless the log level is DEBUG: at INFO they log every
request, handshake or packet (one line per device poll), drowning the stage's own lines."""


class OneLineFormatter(logging.Formatter):
    """A formatter whose message part is always one printable line (:func:`escape_untrusted`, uncut):
    a newline or control character that reached a message from outside can never start a line of
    its own. A traceback (``exc_info``) is still printed below, as Python writes it."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The record's line, its message escaped."""
        record.message = escape_untrusted(record.message, limit=None)
        return super().formatMessage(record)


def setup_logging(level: int = logging.INFO) -> None:
    """Configure the root logger for the command line (stderr, one line per record).

    The :data:`QUIET_LIBRARIES` log from WARNING up at any level above DEBUG; at DEBUG they log
    everything like the rest."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                                          datefmt="%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if level <= logging.DEBUG else logging.WARNING)
