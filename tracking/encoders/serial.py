"""Lens encoders on a serial line (protocol ``lens-serial``): readings handed to a camera.

A :class:`LensSerialSource` reads one port on its own thread (tracking.serial_reader: capped
backoff, warn once per outage, ``health.detail`` while reconnecting), parses it with the
``lens_protocol``'s parser (tracking.encoders.parsers) and hands each reading to its camera with
``camera.lens_reading(reading)`` on the I/O loop; the camera merges the newest reading into
each tracking sample by arrival time. Health counts readings as accepted and bad lines per
reason, like the tracking sources.

Cooke /i lenses send nothing until asked: after every (re)open, and again whenever the lens
says it powered on (``<``, e.g. a lens swapped on a live cable), the source writes its start
commands, :data:`tracking.encoders.cooke.START_BINARY` unless told otherwise: ``N`` (the lens wants it
first), ``Y`` (metric display units) and ``Kc`` (continuous packed binary), spaced
``command_gap_s`` apart. UNVERIFIED on hardware: whether a lens needs the gap, and whether
every lens model accepts ``Y`` (one that does not answers ``?``, counted as ``lens_error``; pass
``start_commands`` without it and ``imperial=True`` if its display units are imperial).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.links import SerialSettings
from tracking.encoders.parsers import (
    DEFAULT_START_COMMANDS,
    LENS_PROTOCOLS,
    LensData,
    LensItem,
    LensNotice,
    LensParser,
    LensReject,
    make_parser,
)
from tracking.serial_reader import SerialSource

log = logging.getLogger("stagectl.tracking")

#: Pause between two start commands (a lens answers N with ~70 bytes: 73 ms at 9600 baud).
COMMAND_GAP_S = 0.1


class LensSerialSource(SerialSource[LensItem]):
    """Reads a lens encoder (``lens_protocol``: ``cooke-i`` or ``fiz-line``) on ``settings.port``.

    Attributes:
        lens_protocol: what the encoder speaks.
        start_commands: written after every (re)open and after the device powers on again.
        lens: what the lens said about itself (Cooke /i ``N`` reply), None until it has.
    """

    protocol = "lens-serial"
    carries_pose = False
    unit = "serial data"
    logger = log

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 settings: SerialSettings, lens_protocol: str, stale_after_s: float = 0.5, *,
                 reconnect_min_s: float = 0.5, reconnect_max_s: float = 10.0, read_timeout_s: float = 0.05,
                 start_commands: Sequence[bytes] | None = None, command_gap_s: float = COMMAND_GAP_S,
                 imperial: bool = False) -> None:
        if lens_protocol not in LENS_PROTOCOLS:
            choices = ", ".join(LENS_PROTOCOLS)
            raise ValueError(f"{name}: lens protocol {lens_protocol!r} is not one of {choices}")
        super().__init__(name, camera, clock, events, settings, stale_after_s,
                         reconnect_min_s=reconnect_min_s, reconnect_max_s=reconnect_max_s,
                         read_timeout_s=read_timeout_s)
        self.lens_protocol = lens_protocol
        self.preset_name = lens_protocol
        self.start_commands = tuple(DEFAULT_START_COMMANDS[lens_protocol] if start_commands is None
                                    else start_commands)
        self.command_gap_s = command_gap_s
        self.imperial = imperial
        self.lens: str | None = None

    # --- reader thread ---------------------------------------------------------------------

    def make_parser(self) -> LensParser:
        """A fresh parser for the lens protocol (one per open)."""
        return make_parser(self.lens_protocol, imperial=self.imperial)

    def on_open(self, port: Any) -> None:
        """Write the start commands after every (re)open."""
        self._send_start(port)

    def on_items(self, port: Any, items: list[LensItem]) -> None:
        """Write the start commands again when the device says it powered on."""
        if self.start_commands and any(isinstance(i, LensNotice) and i.kind == "power_on" for i in items):
            self._send_start(port)

    def _send_start(self, port: Any) -> None:
        for i, command in enumerate(self.start_commands):
            if i and self.command_gap_s > 0 and self.wait_or_stop(self.command_gap_s):
                return
            port.write(command)

    # --- I/O loop thread -------------------------------------------------------------------

    def handle_items(self, items: list[LensItem], arrival_ns: int) -> None:
        """Deliver readings to the camera, count rejections, report notices (I/O loop thread)."""
        for item in items:
            try:
                if isinstance(item, LensData):
                    self.health.received += 1
                    self.health.on_accept(arrival_ns)
                    self.camera.lens_reading(item.reading(self.name, arrival_ns))
                elif isinstance(item, LensReject):
                    self.health.received += 1
                    self.reject(item.reason, item.detail)
                else:
                    self._notice(item)
            except Exception as exc:  # the last line of defence: one bad reading never stops the rest
                log.exception("%s: unexpected error handling a lens reading", self.name)
                self.reject("internal", f"{type(exc).__name__}: {exc}")

    def _notice(self, notice: LensNotice) -> None:
        if notice.kind == "lens" and notice.detail != self.lens:
            self.lens = notice.detail
            self.events.post(Level.INFO, self.name, "state", f"lens: {notice.detail}")
        elif notice.kind == "power_on":
            again = "; start commands sent again" if self.start_commands else ""
            self.events.post(Level.INFO, self.name, "state",
                             f"the lens on {self.settings.port} powered on{again}")
