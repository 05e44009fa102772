"""Running a test's coroutine on a fresh asyncio loop that must end without unhandled errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_loop(main: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(main())``; fail when the loop reported an error nobody handled (a task that
    raised and was never awaited, a callback that raised): such errors pass silently otherwise."""
    loop_errors: list[dict[str, Any]] = []

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
        return await main()

    result = asyncio.run(guarded())
    assert loop_errors == [], loop_errors
    return result
