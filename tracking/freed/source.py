"""What FreeD sources share, whatever carries the bytes (UDP or serial): preset, id, value checks."""

from __future__ import annotations

from collections.abc import Iterable

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from tracking.freed.codec import FreeDPosition
from tracking.freed.presets import DEFAULT_PRESET, FreeDPreset, angle_problem, freed_sample
from tracking.source import TrackingSource


class FreeDSource(TrackingSource):
    """A FreeD stream for one camera: ``camera_id`` filter, vendor ``preset``, and :meth:`accept`.

    Presets with a frame counter in the spare bits (Sony, Z CAM) give loss and reorder figures.
    """

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 camera_id: int | None = None, preset: FreeDPreset = DEFAULT_PRESET,
                 allow: Iterable[str] = (), stale_after_s: float = 0.5) -> None:
        super().__init__(name, camera, clock, events, allow, stale_after_s)
        self.camera_id = camera_id
        self.preset = preset
        self.preset_name = preset.name
        if preset.counter_modulus is not None:
            self.health.use_sequence(preset.counter_modulus)
        self._sequence = 0

    @property
    def description(self) -> str:
        """``FreeD (sony)``, ``FreeD serial (generic)``."""
        carrier = " serial" if self.protocol == "freed-serial" else ""
        return f"FreeD{carrier} ({self.preset_name})"

    def accept(self, pos: FreeDPosition, arrival_ns: int) -> None:
        """Check a decoded D1 for this camera (angles, frame counter) and push the sample (I/O thread)."""
        if not (-180.0 <= pos.pan_deg <= 180.0 and -90.0 <= pos.tilt_deg <= 90.0
                and -180.0 <= pos.roll_deg <= 180.0):  # the common case costs three comparisons
            self.reject("value", angle_problem(pos) or "angle out of range")
            return
        preset = self.preset
        if preset.counter_modulus is not None and not self.health.in_order(pos.spare >> 12, arrival_ns):
            return  # late or repeated (counted by health.sequence), never delivered
        self._sequence += 1
        sample = freed_sample(pos, preset, self.camera.name, self.name, arrival_ns, self.clock,
                              self._sequence)
        self.health.on_accept(arrival_ns)
        self.camera.push(sample)
