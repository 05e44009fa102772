"""The I/O runtime: one asyncio event loop on one daemon thread.

Everything that touches a socket runs on this loop. Functions that must run on it are named
``async_...`` (python-zeroconf's rule). Other threads hand work over with :meth:`Runtime.submit`
(fire and forget, returns a future) or :meth:`Runtime.call_sync` (waits, with a timeout, and
raises :class:`~stagectl.core.errors.RuntimeBlocked` instead of hanging).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from stagectl.core.errors import RuntimeBlocked, RuntimeNotRunning

T = TypeVar("T")

log = logging.getLogger("stagectl.core")

#: How long ``stop`` waits for pending tasks to finish after cancelling them.
STOP_GRACE_S = 0.5


class Runtime:
    """Owns the asyncio loop thread.

    ``start`` returns once the loop is running; ``stop`` cancels every task still on the loop,
    runs their cleanup, closes the loop and joins the thread.
    """

    def __init__(self, name: str = "stagectl-io") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self.left_at_stop: tuple[str, ...] = ()
        """The names of the tasks still running when the loop stopped (cancelled then): a part that
        stopped cleanly leaves none."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop; raises RuntimeNotRunning before ``start``."""
        if self._loop is None or not self.running:
            raise RuntimeNotRunning("the I/O runtime is not running: call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        """True between ``start`` and ``stop``."""
        return self._thread is not None and self._thread.is_alive() and not self._stopped.is_set()

    @property
    def thread(self) -> threading.Thread | None:
        """The loop thread (None before start)."""
        return self._thread

    def in_loop_thread(self) -> bool:
        """True when called from the loop thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> None:
        """Start the loop thread and wait until the loop runs."""
        if self._thread is not None:
            raise RuntimeError("Runtime.start() called twice")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0):
            raise RuntimeBlocked("the I/O loop thread did not start within 5 s")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_log_loop_exception)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                self.left_at_stop = _cancel_all(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                # asyncio.to_thread's workers (file reads of looks) end with the loop, not after it.
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
                self._stopped.set()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread; returns a concurrent future."""
        if not self.running:
            coro.close()
            raise RuntimeNotRunning("the I/O runtime is not running: cannot submit work")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_sync(self, coro: Coroutine[Any, Any, T], timeout: float = 2.0) -> T:
        """Run ``coro`` on the loop and wait for its result, at most ``timeout`` seconds.

        Never call this from the loop thread itself (it would deadlock): that raises.
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("call_sync() called from the I/O loop thread; await the coroutine instead")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RuntimeBlocked(f"the I/O loop did not answer within {timeout:.3g} s") from None

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        """Run a plain callback on the loop thread (thread-safe)."""
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop the loop and join its thread. Returns True when the thread ended in time."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return True
        if thread.is_alive() and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed between the check and the call
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("I/O loop thread did not stop within %.1f s", timeout)
            return False
        return True


def _cancel_all(loop: asyncio.AbstractEventLoop) -> tuple[str, ...]:
    """Cancel the tasks left on ``loop`` and let them clean up (at most :data:`STOP_GRACE_S`);
    returns their names."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return ()
    for task in tasks:
        task.cancel()
    gathered = asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
        loop.run_until_complete(asyncio.wait_for(gathered, STOP_GRACE_S))
    return tuple(sorted(task.get_name() for task in tasks))


def _log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error("unhandled error on the I/O loop: %s", context.get("message", ""), exc_info=exc)


async def async_cancel(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel ``tasks`` (None ones skipped), then wait for each to end (I/O loop).

    Their cancellation is absorbed; any other exception a task ends with is raised, as awaiting it would."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError):
            await task
