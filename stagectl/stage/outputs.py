"""The stage's outputs to Unreal, built from ``[[outputs]]``: camera streams and frustum cues.

* ``opentrackio`` / ``osc``: a sender per output, added as a sink to each of its cameras'
  pipelines (after lens solve and delay line). Non-blocking UDP: a dead or slow receiver costs
  the tracking path a counted drop, never a wait.
* ``remote-control``: a Remote Control client (and, with ``emulator = true``, stagectl's own
  emulator of the Remote Control subset on loopback) plus a :class:`FrustumSender` that
  coalesces frustum cues (latest wins, at most 60 sends a second).

Everything here runs on the I/O loop (``async_start`` / ``async_stop``); :meth:`StageOutputs.status`
copies plain values for any thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stagectl.config.model import OutputConfig, StageConfig
from stagectl.core.events import EventQueue
from stagectl.stage.pipeline import CameraPipeline
from stagectl.unreal.frustum import FrustumSender
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput, StaticFor
from stagectl.unreal.osc_out import OscOutput
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from stagectl.unreal.remote_control import RemoteControlClient


@dataclass(frozen=True, slots=True)
class OutputStatus:
    """One output as ``--status-json`` and the window show it."""

    name: str
    kind: str
    target: str
    sent: int
    dropped: int
    dropped_by_reason: dict[str, int]
    state: str
    detail: str | None
    last_error: str | None


class StageOutputs:
    """Every ``[[outputs]]`` of a stage.

    Attributes:
        streams: the OpenTrackIO and OSC senders.
        frustum_senders: the cue sender of each remote-control output, by output name.
        clients: the Remote Control clients, by output name.
    """

    def __init__(self, config: StageConfig, cameras: Mapping[str, CameraPipeline], events: EventQueue,
                 static_for: StaticFor) -> None:
        self.events = events
        self.streams: list[OpenTrackIOOutput | OscOutput] = []
        self.clients: dict[str, RemoteControlClient] = {}
        self.frustum_senders: dict[str, FrustumSender] = {}
        self._emulators: dict[str, RemoteControlEmulator] = {}
        self._configs: dict[str, OutputConfig] = {}
        for out in config.outputs:
            self._configs[out.name] = out
            if out.kind == "remote-control":
                self._remote_control(out)
                continue
            stream: OpenTrackIOOutput | OscOutput
            if out.kind == "opentrackio":
                numbers = {camera: n for n, camera in enumerate(out.cameras, start=1)}
                stream = OpenTrackIOOutput(out.name, out.target, encoding=out.encoding,
                                           interface=out.interface, ttl=out.ttl, mtu=out.mtu,
                                           source_numbers=numbers, static_for=static_for)
            else:
                stream = OscOutput(out.name, out.target, prefix=out.prefix, bundle=out.bundle,
                                   interface=out.interface)
            for camera in out.cameras:
                cameras[camera].add_sink(stream.sink_for(camera))
            self.streams.append(stream)

    def _remote_control(self, out: OutputConfig) -> None:
        timeout_s = out.timeout_ms / 1000.0
        if out.emulator:  # URLs are set when the emulator has bound its ports
            self._emulators[out.name] = RemoteControlEmulator()
            client = RemoteControlClient(out.name, events=self.events, timeout_s=timeout_s)
        else:
            ws = f"ws://{out.websocket}" if out.websocket is not None else None
            client = RemoteControlClient(out.name, f"http://{out.target}", ws, events=self.events,
                                         timeout_s=timeout_s)
        self.clients[out.name] = client
        self.frustum_senders[out.name] = FrustumSender(client, preset=out.preset)

    async def async_start(self) -> None:
        """Open every output (I/O loop); a target that is not there yet is reconnected to later."""
        for stream in self.streams:
            await stream.async_start()
        for name, client in self.clients.items():
            emulator = self._emulators.get(name)
            if emulator is not None:
                http_port, ws_port = await emulator.async_start()
                client.http_url = f"http://127.0.0.1:{http_port}"
                client.ws_url = f"ws://127.0.0.1:{ws_port}"
            await client.async_start()
            await self.frustum_senders[name].async_start(send_initial=emulator is not None)

    async def async_stop(self) -> None:
        """Close every output (I/O loop)."""
        for sender in self.frustum_senders.values():
            await sender.async_stop()
        for client in self.clients.values():
            await client.async_stop()
        for emulator in self._emulators.values():
            await emulator.async_stop()
        for stream in self.streams:
            await stream.async_stop()

    def status(self) -> tuple[OutputStatus, ...]:
        """Counters and states of every output (any thread: plain copies)."""
        rows: list[OutputStatus] = []
        for stream in self.streams:
            out = self._configs[stream.name]
            rows.append(OutputStatus(stream.name, out.kind, str(out.target), stream.sent, stream.dropped,
                                     dict(stream.dropped_by_reason), "open", None, stream.last_error))
        for name, client in self.clients.items():
            out = self._configs[name]
            target = "emulator" if out.emulator else str(out.target)
            answered: Any = getattr(client, "answered", 0)
            refused: Any = getattr(client, "refused", 0) + getattr(client, "timeouts", 0)
            rows.append(OutputStatus(name, out.kind, target, int(answered), int(refused), {},
                                     client.state.value, client.detail, client.last_error))
        return tuple(rows)
