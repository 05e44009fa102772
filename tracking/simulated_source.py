"""The demo stage's camera: a FreeD UDP source fed by a FreeD simulator over loopback.

The samples take the same road as a real tracker's: encoded packets, a real UDP socket, the
real FreeD decoder. Only the sender lives inside stagectl.
"""

from __future__ import annotations

import asyncio
import contextlib

from stagectl.config import Endpoint
from stagectl.events import EventQueue, Level
from stagectl.pipeline import CameraPipeline
from stagectl.timecode import StageClock
from tracking.freed_presets import DEFAULT_PRESET, FreeDPreset
from tracking.freed_udp import FreeDUdpSource
from tracking.simulator import FreeDSimulator


class SimulatedFreeDSource(FreeDUdpSource):
    """A FreeD UDP source plus the simulator that sends to it."""

    protocol = "simulator"

    def __init__(self, name: str, camera: CameraPipeline, clock: StageClock, events: EventQueue,
                 listen: Endpoint, camera_id: int | None, rate_hz: float, model_index: int,
                 preset: FreeDPreset = DEFAULT_PRESET) -> None:
        super().__init__(name, camera, clock, events, listen, camera_id, preset)
        self.rate_hz = rate_hz
        self.model_index = model_index
        self.simulator: FreeDSimulator | None = None
        self._task: asyncio.Task[None] | None = None

    async def async_start(self) -> None:
        """Bind the receiving socket, then start sending simulated packets to it."""
        await super().async_start()
        if self.bound is None:
            return
        cam_id = 1 if self.camera_id is None else self.camera_id
        self.simulator = FreeDSimulator(self.bound, self.rate_hz, cameras=1, first_id=cam_id,
                                        first_model=self.model_index)
        self._task = asyncio.get_running_loop().create_task(self.simulator.async_run(),
                                                            name=f"simulator {self.name}")
        self._task.add_done_callback(self._on_done)
        self.events.post(Level.INFO, self.name, "state",
                         f"simulating FreeD camera id {cam_id} at {self.rate_hz:g} Hz")

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.events.post(Level.ERROR, self.name, "error", f"simulator stopped: {task.exception()}")

    async def async_stop(self) -> None:
        """Stop the sender, then close the socket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await super().async_stop()
