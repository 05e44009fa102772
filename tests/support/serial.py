"""Serial test fixtures shared by the FreeD and lens serial tests: a pty device behind a symlink,
and running a serial source on a fresh loop."""

from __future__ import annotations

import asyncio
import os
import select
import threading
import tty
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from stagectl.core.events import StageEvent
from tests.support.loop import run_loop
from tracking.serial_reader import SerialSource

S = TypeVar("S", bound=SerialSource[Any])


class PtyDevice:
    """A serial device stand-in at a fixed path: a pty pair behind a symlink."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master: int | None = None
        self._slave: int | None = None

    def plug(self) -> None:
        """A new pty appears at ``path``."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo before the source configures the line
        self.master, self._slave = master, slave
        link = self.path.with_suffix(".new")
        link.unlink(missing_ok=True)
        link.symlink_to(os.ttyname(slave))
        os.replace(link, self.path)

    def unplug(self) -> None:
        """The device vanishes: the open port fails and the path is gone."""
        self.path.unlink(missing_ok=True)
        for fd in (self.master, self._slave):
            if fd is not None:
                os.close(fd)
        self.master = self._slave = None

    def write(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def read_ready(self) -> bytes:
        """Whatever the source has written so far (no waiting)."""
        assert self.master is not None
        out = b""
        while select.select([self.master], [], [], 0)[0]:
            out += os.read(self.master, 1024)
        return out


def run_serial_source(source: S, body: Callable[[S], Awaitable[None]],
                      settle_s: float = 0.0) -> list[StageEvent]:
    """Start ``source`` on a fresh loop, run ``body``, stop; returns the events; fails on loop errors.

    The reader thread must have ended when async_stop returns (or within ``settle_s`` after).
    """
    threads: list[threading.Thread | None] = []

    async def main() -> None:
        source.camera.attach(asyncio.get_running_loop())
        await source.async_start()
        threads.append(source._thread)
        try:
            await body(source)
        finally:
            await source.async_stop()

    run_loop(main)
    thread = threads[0]
    assert thread is not None
    thread.join(settle_s)
    assert not thread.is_alive()
    return source.events.drain()
