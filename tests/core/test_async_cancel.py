"""async_cancel: the one way the stage's parts cancel their tasks and wait for them to end."""

from __future__ import annotations

import asyncio

import pytest

from stagectl.core.runtime import async_cancel
from tests.support.loop import run_loop


def test_tasks_are_cancelled_and_awaited_and_none_is_skipped() -> None:
    async def main() -> None:
        ended: list[str] = []

        async def forever(name: str) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                ended.append(name)

        a, b = asyncio.create_task(forever("a")), asyncio.create_task(forever("b"))
        await asyncio.sleep(0)
        await async_cancel(a, None, b)
        assert a.cancelled() and b.cancelled() and sorted(ended) == ["a", "b"]
        await async_cancel()  # nothing to do

    run_loop(main)


def test_another_exception_a_task_ends_with_is_raised() -> None:
    async def main() -> None:
        async def fails_on_cancel() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                raise RuntimeError("closing failed") from None

        task = asyncio.create_task(fails_on_cancel())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="closing failed"):
            await async_cancel(task)

    run_loop(main)
