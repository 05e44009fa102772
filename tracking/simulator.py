"""A simulated tracked camera: smooth, plausible stage motion sent as real FreeD packets.

The motion is what a camera on a stage does: a dolly move along the wall, a crane rising and
falling, the operator panning and tilting to keep the action (a point in front of the LED wall)
in frame, a little roll, and zoom and focus pulls. Every curve is a sum of slow sines or a
smoothstep, so position and velocity are continuous. Axes are stagectl's internal ones (see
coords.py); packets are encoded by tracking.freed.codec.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from dataclasses import dataclass

from stagectl.core import coords
from stagectl.core.links import Endpoint
from stagectl.core.logutil import swallowed
from stagectl.core.samples import Vec3
from tracking.freed.codec import FreeDPosition, encode_d1
from tracking.schedule import async_paced_ticks

log = logging.getLogger("stagectl.tracking")

TWO_PI = 2.0 * math.pi
#: FreeD's "generic" raw zoom/focus range (Unreal's LiveLinkFreeD default): 0..0x10000.
RAW_RANGE = 0xFFFF


@dataclass(frozen=True, slots=True)
class SimulatedPose:
    """One instant of the simulated camera, internal axes and raw lens counts."""

    translation_m: Vec3
    rotation_deg: Vec3
    zoom_raw: int
    focus_raw: int


def _smoothstep_cycle(t: float, period: float) -> float:
    """0 -> 1 -> 0 over ``period`` with eased holds: a lens pull, not a sine."""
    phase = (t % period) / period
    x = min(1.0, max(0.0, (phase * 2.0 if phase < 0.5 else (1.0 - phase) * 2.0) * 1.6 - 0.3))
    return x * x * (3.0 - 2.0 * x)


class MotionModel:
    """Deterministic motion of simulated camera number ``index`` (0-based)."""

    #: Where the action is: 3 m in front of stage origin, 1.5 m up (the wall is at Y = 5 m).
    TARGET = (0.0, 3.0, 1.5)

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self.phase = index * 1.7
        self.x_centre = -1.5 + 3.0 * (index % 3) / 2.0 if index else 0.0

    def pose(self, t: float) -> SimulatedPose:
        """The camera at ``t`` seconds since the simulation started."""
        ph = self.phase
        x = self.x_centre + 2.0 * math.sin(TWO_PI * t / 20.0 + ph)           # dolly along the wall
        y = -2.0 + 1.0 * math.sin(TWO_PI * t / 31.0 + ph * 0.5)              # push in / pull out
        z = 1.6 + 0.5 * math.sin(TWO_PI * t / 17.0 + ph * 0.3)               # crane
        tx, ty, tz = self.TARGET
        tx += 0.8 * math.sin(TWO_PI * t / 9.0 + ph)                          # the action moves
        dx, dy, dz = tx - x, ty - y, tz - z
        # pan is left-positive (coords.py): towards -X is positive
        pan = math.degrees(math.atan2(-dx, dy)) + 3.0 * math.sin(TWO_PI * t / 7.0 + ph)
        tilt = math.degrees(math.atan2(dz, math.hypot(dx, dy))) + 1.5 * math.sin(TWO_PI * t / 5.0)
        roll = 0.8 * math.sin(TWO_PI * t / 11.0 + ph)
        zoom = 0.15 + 0.7 * _smoothstep_cycle(t + ph, 14.0)
        focus = 0.5 + 0.35 * math.sin(TWO_PI * t / 6.0 + ph)
        return SimulatedPose(
            (x, y, z),
            (coords.wrap_degrees(pan), tilt, roll),
            round(zoom * RAW_RANGE),
            round(focus * RAW_RANGE),
        )

    def freed(self, t: float, camera_id: int) -> FreeDPosition:
        """The pose at ``t`` as a FreeD position message for ``camera_id``."""
        pose = self.pose(t)
        (x, y, z), (pan, tilt, roll) = coords.internal_to_freed(pose.translation_m, pose.rotation_deg)
        return FreeDPosition(camera_id, pan, tilt, roll, x, y, z, pose.zoom_raw, pose.focus_raw, 0)


class FreeDSimulator:
    """Sends ``cameras`` simulated cameras (FreeD ids ``first_id``..) to ``target`` at ``rate_hz``.

    ``first_model`` picks which motion the first camera follows, so two simulators on one stage
    do not move in lockstep.

    Runs on an asyncio loop. Packets go out on an absolute schedule (no drift); if the loop
    falls behind by more than ``max_lag_s`` the schedule skips ahead instead of bursting.
    """

    def __init__(self, target: Endpoint, rate_hz: float = 50.0, cameras: int = 1,
                 first_id: int = 1, max_lag_s: float = 0.25, first_model: int = 0) -> None:
        if not 0.0 < rate_hz <= 10_000.0:
            raise ValueError(f"rate {rate_hz} Hz is outside 0..10000")
        if not 1 <= cameras <= 255 or not 0 <= first_id <= 255 - (cameras - 1):
            raise ValueError(f"cameras={cameras}, first_id={first_id}: FreeD ids must stay in 0..255")
        self.target = target
        self.rate_hz = rate_hz
        self.models = [(first_id + i, MotionModel(first_model + i)) for i in range(cameras)]
        self.max_lag_s = max_lag_s
        self.sent = 0
        self.skipped_ticks = 0
        self.send_errors = 0

    def packets_at(self, t: float) -> list[bytes]:
        """The datagrams of every camera at ``t`` seconds."""
        return [encode_d1(model.freed(t, cam_id)) for cam_id, model in self.models]

    def _skipped(self, ticks: int) -> None:
        self.skipped_ticks += ticks

    async def async_run(self, duration_s: float | None = None) -> None:
        """Send until cancelled or ``duration_s`` elapsed."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.target.host else socket.AF_INET
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=(self.target.host, self.target.port), family=family)
        try:
            async for tick in async_paced_ticks(self.rate_hz, duration_s, self.max_lag_s, self._skipped):
                for packet in self.packets_at(tick / self.rate_hz):
                    try:
                        transport.sendto(packet)
                        self.sent += 1
                    except OSError:  # nobody listening yet (ICMP refused): keep sending
                        self.send_errors += 1
        finally:
            with swallowed(log, "closing a simulator's socket"):
                transport.close()
