"""The small commands: ``simulate`` and ``decode``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import TextIO

from stagectl.core import coords
from stagectl.core.errors import DecodeError
from stagectl.core.links import Endpoint
from tracking.freed.codec import FreeDCommand, decode
from tracking.simulator import FreeDSimulator


def decode_freed(packets: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print one JSON object per packet; a bad packet says what is wrong. Exit 1 if any was bad."""
    status = 0
    for text in packets:
        cleaned = text.replace(" ", "").replace(":", "").replace("-", "")
        try:
            data = bytes.fromhex(cleaned)
        except ValueError:
            print(f"{text}: not hexadecimal", file=err)
            status = 1
            continue
        try:
            message = decode(data)
        except DecodeError as exc:
            print(f"{cleaned}: {exc}", file=err)
            status = 1
            continue
        if isinstance(message, FreeDCommand):
            print(json.dumps({"type": "D0", "camera_id": message.camera_id, "command": message.command}),
                  file=out)
            continue
        translation, rotation = coords.freed_to_internal(
            message.x_mm, message.y_mm, message.z_mm, message.pan_deg, message.tilt_deg, message.roll_deg)
        print(json.dumps({
            "type": "D1",
            "camera_id": message.camera_id,
            "position_m": list(translation),
            "rotation_deg": list(rotation),
            "freed_deg": [message.pan_deg, message.tilt_deg, message.roll_deg],
            "zoom_raw": message.zoom,
            "focus_raw": message.focus,
            "spare": message.spare,
        }), file=out)
    return status


def simulate_freed(target: str, rate_hz: float, cameras: int, first_id: int, duration_s: float | None,
                   err: TextIO = sys.stderr) -> int:
    """Send simulated FreeD cameras until Ctrl+C or the duration ends."""
    try:
        endpoint = Endpoint.parse(target)
        simulator = FreeDSimulator(endpoint, rate_hz, cameras, first_id)
    except ValueError as exc:
        print(f"stagectl simulate freed: {exc}", file=err)
        return 2
    print(f"sending {cameras} FreeD camera(s) (ids {first_id}..{first_id + cameras - 1}) to {endpoint} "
          f"at {rate_hz:g} Hz; Ctrl+C stops", file=err)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(simulator.async_run(duration_s))
    print(f"sent {simulator.sent} packets ({simulator.skipped_ticks} ticks skipped, "
          f"{simulator.send_errors} send errors)", file=err)
    return 0
