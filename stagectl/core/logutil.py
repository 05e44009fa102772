"""Logging helpers: a per-key rate limiter and the command-line log setup.

A tracker that sends garbage at 500 Hz must not flood the log or the UI: :class:`RateLimiter`
lets one message per key through per interval and says how many it held back. Likewise the
libraries underneath (an HTTP client logs every device poll at INFO) speak only from WARNING up,
unless the log level asked for is DEBUG.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator


class RateLimiter:
    """Allows one message per ``key`` per ``interval_s`` and counts the ones it holds back.

    Not thread-safe by design: each source owns one and uses it from its own thread.
    """

    def __init__(self, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_s
        self._clock = clock
        self._next_allowed: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def check(self, key: str) -> int | None:
        """None when ``key`` must stay quiet now; otherwise how many were held back since the
        last message for it (0 for a first message)."""
        now = self._clock()
        if now < self._next_allowed.get(key, float("-inf")):
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._next_allowed[key] = now + self._interval
        return self._suppressed.pop(key, 0)

    def suppressed(self, key: str) -> int:
        """How many messages for ``key`` are currently held back."""
        return self._suppressed.get(key, 0)


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


def setup_logging(level: int = logging.INFO) -> None:
    """Configure the root logger for the command line (stderr, one line per record).

    The :data:`QUIET_LIBRARIES` log from WARNING up at any level above DEBUG; at DEBUG they log
    everything like the rest."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if level <= logging.DEBUG else logging.WARNING)
