"""The I/O runtime: one loop thread, submit, call_sync with a timeout, clean stop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from stagectl.core.errors import RuntimeBlocked, RuntimeNotRunning
from stagectl.core.runtime import Runtime


@pytest.fixture
def runtime() -> Runtime:
    rt = Runtime("test-io")
    rt.start()
    yield rt
    rt.stop()


def test_call_sync_runs_on_the_loop_thread(runtime: Runtime) -> None:
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    assert runtime.call_sync(where()) == "test-io"


def test_submit_returns_a_future_with_the_result(runtime: Runtime) -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    assert runtime.submit(add(2, 3)).result(1.0) == 5


def test_call_sync_raises_named_error_instead_of_hanging(runtime: Runtime) -> None:
    async def slow() -> None:
        await asyncio.sleep(5)

    started = time.monotonic()
    with pytest.raises(RuntimeBlocked, match=r"did not answer within 0\.05 s"):
        runtime.call_sync(slow(), timeout=0.05)
    assert time.monotonic() - started < 2.0


def test_call_sync_from_the_loop_thread_is_refused(runtime: Runtime) -> None:
    async def nested() -> str:
        async def inner() -> int:
            return 1

        try:
            runtime.call_sync(inner())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "from the I/O loop thread" in runtime.call_sync(nested())


def test_exceptions_travel_back_to_the_caller(runtime: Runtime) -> None:
    async def boom() -> None:
        raise ValueError("bad value")

    with pytest.raises(ValueError, match="bad value"):
        runtime.call_sync(boom())


def test_stop_cancels_pending_tasks_and_ends_the_thread() -> None:
    rt = Runtime("stop-test")
    rt.start()
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    rt.submit(forever())
    assert started.wait(10.0)  # running, not merely scheduled
    assert rt.stop(timeout=1.0)
    assert cancelled.is_set()
    assert rt.thread is not None and not rt.thread.is_alive()
    assert not rt.running
    with pytest.raises(RuntimeNotRunning):
        rt.submit(asyncio.sleep(0))


def test_submit_before_start_is_refused() -> None:
    rt = Runtime()
    with pytest.raises(RuntimeNotRunning):
        rt.submit(asyncio.sleep(0))
    assert rt.stop()  # stopping a never-started runtime is harmless


def test_call_soon_runs_a_plain_callback_on_the_loop(runtime: Runtime) -> None:
    ran = threading.Event()
    where: list[str] = []

    def callback(tag: str) -> None:
        where.append(f"{tag}@{threading.current_thread().name}")
        ran.set()

    runtime.call_soon(callback, "serial")
    assert ran.wait(1.0)
    assert where == ["serial@test-io"]
