"""The demo stage's cameras: a real receiving source fed by a simulated tracker over loopback.

The samples take the same road as a real tracker's: encoded packets, a real UDP socket, the
real decoder. Only the sender lives inside stagectl. ``simulate = "freed"`` sends FreeD D1,
``simulate = "opentrackio"`` sends OpenTrackIO (JSON or CBOR, a static block every ~2 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.links import Endpoint
from stagectl.core.runtime import async_cancel
from tracking.freed.presets import DEFAULT_PRESET, FreeDPreset
from tracking.freed.udp import FreeDUdpSource
from tracking.opentrackio_sim import OpenTrackIOSimulator
from tracking.opentrackio_udp import OpenTrackIOUdpSource
from tracking.simulator import FreeDSimulator


class _SenderTask:
    """The simulator's sending task, with its failure reported as an event."""

    def __init__(self, name: str, events: EventQueue) -> None:
        self.name = name
        self.events = events
        self.task: asyncio.Task[None] | None = None

    def start(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.task = asyncio.get_running_loop().create_task(run(), name=f"simulator {self.name}")
        self.task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.events.post(Level.ERROR, self.name, "error", f"simulator stopped: {task.exception()}")

    async def async_stop(self) -> None:
        task, self.task = self.task, None
        await async_cancel(task)


class SimulatedFreeDSource(FreeDUdpSource):
    """A FreeD UDP source plus the simulator that sends to it."""

    protocol = "simulator"

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 listen: Endpoint, camera_id: int | None, rate_hz: float, model_index: int,
                 preset: FreeDPreset = DEFAULT_PRESET) -> None:
        super().__init__(name, camera, clock, events, listen, camera_id, preset)
        self.rate_hz = rate_hz
        self.model_index = model_index
        self.simulator: FreeDSimulator | None = None
        self._sender = _SenderTask(name, events)

    @property
    def description(self) -> str:
        """``simulated FreeD (generic)``."""
        return f"simulated FreeD ({self.preset_name})"

    async def async_start(self) -> None:
        """Bind the receiving socket, then start sending simulated packets to it."""
        await super().async_start()
        if self.bound is None:
            return
        cam_id = 1 if self.camera_id is None else self.camera_id
        self.simulator = FreeDSimulator(self.bound, self.rate_hz, cameras=1, first_id=cam_id,
                                        first_model=self.model_index)
        self._sender.start(self.simulator.async_run)
        self.events.post(Level.INFO, self.name, "state",
                         f"simulating FreeD camera id {cam_id} at {self.rate_hz:g} Hz")

    async def async_stop(self) -> None:
        """Stop the sender, then close the socket."""
        await self._sender.async_stop()
        await super().async_stop()


class SimulatedOpenTrackIOSource(OpenTrackIOUdpSource):
    """An OpenTrackIO UDP source plus the OpenTrackIO simulator that sends to it."""

    protocol = "simulator"

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 listen: Endpoint, rate_hz: float, model_index: int,
                 encoding: Literal["json", "cbor"] | str = "json") -> None:
        super().__init__(name, camera, clock, events, listen)
        self.rate_hz = rate_hz
        self.model_index = model_index
        self.encoding: Literal["json", "cbor"] = "cbor" if encoding == "cbor" else "json"
        self.simulator: OpenTrackIOSimulator | None = None
        self._sender = _SenderTask(name, events)

    @property
    def description(self) -> str:
        """``simulated OpenTrackIO (CBOR)``."""
        return f"simulated OpenTrackIO ({self.encoding.upper()})"

    async def async_start(self) -> None:
        """Bind the receiving socket, then start sending simulated samples to it."""
        await super().async_start()
        if self.bound is None:
            return
        self.simulator = OpenTrackIOSimulator(self.bound, self.rate_hz, self.encoding,
                                              model_index=self.model_index)
        self._sender.start(self.simulator.async_run)
        self.events.post(Level.INFO, self.name, "state",
                         f"simulating an OpenTrackIO tracker ({self.encoding.upper()}) "
                         f"at {self.rate_hz:g} Hz")

    async def async_stop(self) -> None:
        """Stop the sender, then close the socket."""
        await self._sender.async_stop()
        await super().async_stop()
