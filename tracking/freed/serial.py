"""FreeD over a serial line (protocol ``freed-serial``): one reader thread per port.

The transport (reader thread, one ``call_soon_threadsafe`` per read, capped-backoff reconnect,
warn once per outage) is tracking.serial_reader's :class:`SerialSource`; this module adds the
FreeD parts: the stream framer (tracking.freed.stream), the optional D0 start-stream command
after every (re)open, the camera-id filter and FreeDSource's checks and sample building.
"""

from __future__ import annotations

import logging
from typing import Any

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import SerialSettings
from tracking.freed.codec import BROADCAST_ID, CMD_START_STREAM, encode_d0
from tracking.freed.presets import DEFAULT_PRESET, FreeDPreset
from tracking.freed.source import FreeDSource, Plausibility
from tracking.freed.stream import FreeDStreamParser, StreamItem, StreamReject
from tracking.serial_reader import (
    JOIN_TIMEOUT_S,
    PARITIES,
    STOP_BITS,
    WRITE_TIMEOUT_S,
    SerialSource,
    backoff_s,
    line_settings,
)

__all__ = ["JOIN_TIMEOUT_S", "PARITIES", "STOP_BITS", "WRITE_TIMEOUT_S", "FreeDSerialSource", "backoff_s",
           "line_settings"]

log = logging.getLogger("stagectl.tracking")


class FreeDSerialSource(SerialSource[StreamItem], FreeDSource):
    """Reads FreeD D1 frames from ``settings.port`` and pushes samples to its camera.

    ``camera_id`` (optional) accepts only that FreeD camera id (others: reason ``camera_id``);
    ``preset`` reads the lens counts and spare bits; ``start_stream`` sends the D0 start-stream
    command (to ``camera_id``, or 0xFF for all) after every (re)open. ``health.detail`` says
    what the port is doing ("reconnecting in 2 s (attempt 3)") while it is not delivering.
    ``plausibility`` refuses poses that jump further than a camera can move (FreeDSource).
    """

    protocol = "freed-serial"
    unit = "serial data"
    logger = log

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 settings: SerialSettings, camera_id: int | None = None, preset: FreeDPreset = DEFAULT_PRESET,
                 start_stream: bool = False, stale_after_s: float = 0.5, *, reconnect_min_s: float = 0.5,
                 reconnect_max_s: float = 10.0, read_timeout_s: float = 0.05,
                 plausibility: Plausibility | None = None) -> None:
        super().__init__(name, camera, clock, events, settings, stale_after_s,
                         reconnect_min_s=reconnect_min_s, reconnect_max_s=reconnect_max_s,
                         read_timeout_s=read_timeout_s, camera_id=camera_id, preset=preset,
                         plausibility=plausibility)
        self.start_stream = start_stream

    def make_parser(self) -> FreeDStreamParser:
        """A FreeD D1 framer for one open port."""
        return FreeDStreamParser()

    def on_open(self, port: Any) -> None:
        """Send the D0 start-stream command when asked to (reader thread)."""
        if self.start_stream:
            target = BROADCAST_ID if self.camera_id is None else self.camera_id
            port.write(encode_d0(target, CMD_START_STREAM))

    def handle_items(self, items: list[StreamItem], arrival_ns: int) -> None:
        """Count every frame and rejection; deliver this camera's positions (I/O loop thread)."""
        for item in items:
            self.health.received += 1
            try:
                if isinstance(item, StreamReject):
                    self.reject(item.reason, item.detail)
                elif self.camera_id is not None and item.camera_id != self.camera_id:
                    self.reject("camera_id",
                                f"camera id {item.camera_id}; this source takes {self.camera_id}")
                else:
                    self.accept(item, arrival_ns)
            except Exception as exc:  # the last line of defence: one bad frame never stops the rest
                log.exception("%s: unexpected error handling a FreeD frame", self.name)
                self.reject("internal", f"{type(exc).__name__}: {exc}")
