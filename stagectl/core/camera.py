"""A stage camera as its sources and the recorder see it: two narrow protocols.

The camera's pipeline (delay line, lens solve, sinks) is built by the stage; the domain packages only
know these faces of it, so a tracking source or the recorder never imports the stage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from stagectl.core.health import StreamHealth
from stagectl.core.samples import CameraSample, LensReading

Tap = Callable[[CameraSample], None]
"""Called with every sample as it arrives (before the delay line), on the I/O thread."""


class CameraInput(Protocol):
    """What a tracking or lens source feeds: one stage camera. Called on the I/O thread only."""

    @property
    def name(self) -> str:
        """The camera's name in the stage file."""

    def add_source(self, health: StreamHealth, *, carries_pose: bool) -> None:
        """Count a source's health in the camera's (a pose source) or only show it (a lens encoder)."""

    def push(self, sample: CameraSample) -> None:
        """A tracking sample: through the delay line to every sink."""

    def record_only(self, sample: CameraSample) -> None:
        """A sample for the take only (e.g. a tracker's sample for another camera id)."""

    def lens_reading(self, reading: LensReading) -> None:
        """A lens encoder reading from its own wire, merged into the next samples by arrival time."""

    def set_tracker_static(self, static: Mapping[str, Any], sensor_mm: tuple[float, float] | None) -> None:
        """The tracker's static block (OpenTrackIO ``static``) and the sensor size it states."""


class RecordedCamera(Protocol):
    """What the take recorder reads of a camera. Read on the I/O thread only."""

    @property
    def name(self) -> str:
        """The camera's name in the stage file."""

    @property
    def sources(self) -> Sequence[StreamHealth]:
        """Health of every source feeding this camera's pose."""

    @property
    def tracker_static(self) -> Mapping[str, Any] | None:
        """The tracker's newest static block, if it sent one."""

    @property
    def tracker_static_version(self) -> int:
        """Counts the changes of ``tracker_static``."""

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap`` with every sample as it arrives."""
