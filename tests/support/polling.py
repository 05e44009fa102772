"""Waiting in a test: poll a condition until it holds, or fail saying what was awaited and what was seen.

A test never sleeps a fixed time for a result: it polls with a deadline. The deadline only costs
time when the test fails, so it is generous (a loaded two-core CI machine must not trip it); the
polling interval is short, so a passing test waits no longer than the thing it waits for.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT_S = 10.0
"""The default deadline: far beyond any wait of a passing test, even on a loaded machine."""

TIMEOUT_MS = int(TIMEOUT_S * 1000)
"""The same deadline in milliseconds, for ``qtbot.waitUntil(..., timeout=TIMEOUT_MS)``."""

INTERVAL_S = 0.005
"""Seconds between two looks at the condition."""


def wait_until(predicate: Callable[[], T], *, timeout_s: float = TIMEOUT_S, what: str | None = None,
               detail: Callable[[], object] | None = None, interval_s: float = INTERVAL_S) -> T:
    """Poll ``predicate()`` (this thread sleeps in between) until it returns a true value; return it.

    On timeout raise :class:`AssertionError` naming ``what`` was awaited (default: the predicate's
    source line), the predicate's last value and, when given, ``detail()`` (the state that explains
    why, e.g. a device's status).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(predicate, value, timeout_s, what, detail))
        time.sleep(interval_s)


async def async_wait_until(predicate: Callable[[], T], *, timeout_s: float = TIMEOUT_S,
                           what: str | None = None, detail: Callable[[], object] | None = None,
                           interval_s: float = INTERVAL_S) -> T:
    """:func:`wait_until` on an asyncio loop: the loop runs (``asyncio.sleep``) between two looks."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(predicate, value, timeout_s, what, detail))
        await asyncio.sleep(interval_s)


def _timed_out(predicate: Callable[[], object], last: object, timeout_s: float, what: str | None,
               detail: Callable[[], object] | None) -> str:
    awaited = what or describe(predicate)
    message = f"timed out after {timeout_s:g} s waiting for {awaited}; last value: {last!r}"
    if detail is not None:
        message += f"; {detail()!r}"
    return message


def describe(predicate: Callable[[], object]) -> str:
    """A readable name for a condition: a lambda's source text, else the function's name."""
    name = getattr(predicate, "__qualname__", repr(predicate))
    if "<lambda>" not in name:
        return name
    try:
        source = inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return name
    start = source.find("lambda")
    text = source[start:] if start >= 0 else source
    return " ".join(text.split())[:200]
