"""What FreeD sources share, whatever carries the bytes (UDP or serial): preset, id, value checks.

FreeD's checksum is 8 bits: a 29-byte run of random bytes that starts with 0xD1 passes it once in
256, and about 7 in 10 of those also carry angles inside a real head's range, so random input
(a scanner, a misrouted stream, a hostile sender) becomes a pose about 7 times in 10 000 D1-shaped
datagrams. :class:`PoseTrack` (``plausibility = true`` in the stage file) refuses a pose that jumps
further than a camera can move since the last one; ``allow`` (sender addresses) keeps other
senders out altogether.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from tracking.freed.codec import FreeDPosition
from tracking.freed.presets import DEFAULT_PRESET, FreeDPreset, angle_problem, freed_sample
from tracking.source import TrackingSource

#: Default plausibility limits: faster than any crane, dolly or remote head moves a camera.
MAX_SPEED_M_S = 30.0
MAX_TURN_DEG_S = 2000.0
#: The shortest time a step is measured over: one frame at 20 Hz, longer than any tracker's period,
#: so poses read in one burst (a serial read, a late wake-up) are still judged per tracker frame.
MIN_PERIOD_S = 0.05
#: Consecutive poses that agree with each other but not with the track before the camera is taken
#: to be there: a stream that starts (or comes back after LOST_AFTER_S), or a tracker re-homed.
CONFIRM_POSES = 3
#: A track older than this is lost (a pose seconds later could be anywhere, and so could a false one).
LOST_AFTER_S = 1.0
_CANDIDATES = 4


@dataclass(frozen=True, slots=True)
class Plausibility:
    """How far a camera may move between two poses: ``max_speed_m_s`` (straight-line distance per
    second) and ``max_turn_deg_s`` (each of pan, tilt and roll per second), over at least
    ``min_period_s``. After ``lost_after_s`` without a pose the track is lost: ``confirm`` poses that
    agree start it again."""

    max_speed_m_s: float = MAX_SPEED_M_S
    max_turn_deg_s: float = MAX_TURN_DEG_S
    min_period_s: float = MIN_PERIOD_S
    confirm: int = CONFIRM_POSES
    lost_after_s: float = LOST_AFTER_S


def _turn(a: float, b: float) -> float:
    """The smaller angle between ``a`` and ``b`` degrees (pan 179 to -179 is 2 degrees)."""
    return abs((b - a + 180.0) % 360.0 - 180.0)


class PoseTrack:
    """The last pose a camera was at, and whether a new one could follow it (see :class:`Plausibility`).

    A pose that jumps too far is refused, and the track stays where it was. If the refused poses agree
    with one another ``confirm`` times in a row, the camera is there: the track moves to them. The
    first poses of a stream (and after a gap of ``lost_after_s``) have no track to follow, so they
    start one the same way: a stream start or a re-homed tracker costs ``confirm - 1`` poses.
    """

    __slots__ = ("_candidates", "_last", "_last_ns", "limits")

    def __init__(self, limits: Plausibility) -> None:
        self.limits = limits
        self._last: FreeDPosition | None = None
        self._last_ns = 0
        self._candidates: list[list[Any]] = []
        """Tracks of refused poses that agree with one another: [pose, arrival ns, how many]."""

    def problem(self, pos: FreeDPosition, arrival_ns: int) -> str | None:
        """Why ``pos`` cannot follow the track (and it is not taken), or None (and it becomes the track)."""
        limits = self.limits
        last = self._last
        lost_ns = limits.lost_after_s * 1e9
        if last is not None and arrival_ns - self._last_ns <= lost_ns:
            why = self._jump(last, self._last_ns, pos, arrival_ns)
            if why is None:
                self._take(pos, arrival_ns)
                return None
        else:
            why = (f"no pose in the last {limits.lost_after_s:g} s to follow; waiting for {limits.confirm} "
                   "that agree")
        # Several candidate tracks, so that false poses between a tracker's own do not break its count.
        for candidate in self._candidates:
            if arrival_ns - candidate[1] <= lost_ns \
                    and self._jump(candidate[0], candidate[1], pos, arrival_ns) is None:
                candidate[0], candidate[1], candidate[2] = pos, arrival_ns, candidate[2] + 1
                if candidate[2] >= limits.confirm:
                    self._take(pos, arrival_ns)
                    return None
                return why
        if limits.confirm <= 1:
            self._take(pos, arrival_ns)
            return None
        if len(self._candidates) >= _CANDIDATES:
            self._candidates.pop(0)
        self._candidates.append([pos, arrival_ns, 1])
        return why

    def _take(self, pos: FreeDPosition, arrival_ns: int) -> None:
        self._last, self._last_ns = pos, arrival_ns
        self._candidates.clear()

    def _jump(self, a: FreeDPosition, a_ns: int, b: FreeDPosition, b_ns: int) -> str | None:
        limits = self.limits
        seconds = max((b_ns - a_ns) / 1e9, limits.min_period_s)
        metres = math.sqrt((b.x_mm - a.x_mm) ** 2 + (b.y_mm - a.y_mm) ** 2 + (b.z_mm - a.z_mm) ** 2) / 1000.0
        if metres > limits.max_speed_m_s * seconds:
            return (f"moved {metres:.2f} m in {seconds * 1000:.0f} ms, over the {limits.max_speed_m_s:g} m/s "
                    "a camera can move")
        reach = limits.max_turn_deg_s * seconds
        for axis, turn in (("pan", _turn(a.pan_deg, b.pan_deg)), ("tilt", abs(b.tilt_deg - a.tilt_deg)),
                           ("roll", _turn(a.roll_deg, b.roll_deg))):
            if turn > reach:
                return (f"{axis} turned {turn:.1f} deg in {seconds * 1000:.0f} ms, over the "
                        f"{limits.max_turn_deg_s:g} deg/s a head can turn")
        return None


class FreeDSource(TrackingSource):
    """A FreeD stream for one camera: ``camera_id`` filter, vendor ``preset``, and :meth:`accept`.

    Presets with a frame counter in the spare bits (Sony, Z CAM) give loss and reorder figures.
    ``plausibility`` (None: off) refuses poses that jump further than a camera can move, reason
    ``plausibility``.
    """

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 camera_id: int | None = None, preset: FreeDPreset = DEFAULT_PRESET,
                 allow: Iterable[str] = (), stale_after_s: float = 0.5, *,
                 plausibility: Plausibility | None = None) -> None:
        super().__init__(name, camera, clock, events, allow, stale_after_s)
        self.camera_id = camera_id
        self.preset = preset
        self.preset_name = preset.name
        if preset.counter_modulus is not None:
            self.health.use_sequence(preset.counter_modulus)
        self._sequence = 0
        self.track: PoseTrack | None = None
        """The plausibility check's state (None when it is off)."""
        self.check_plausibility(plausibility)

    def check_plausibility(self, limits: Plausibility | None) -> None:
        """Refuse poses that jump further than ``limits`` allow (None: no check); before start."""
        self.track = None if limits is None else PoseTrack(limits)

    @property
    def description(self) -> str:
        """``FreeD (sony)``, ``FreeD serial (generic)``."""
        carrier = " serial" if self.protocol == "freed-serial" else ""
        return f"FreeD{carrier} ({self.preset_name})"

    def accept(self, pos: FreeDPosition, arrival_ns: int) -> None:
        """Check a decoded D1 for this camera (angles, plausibility, frame counter) and push the sample
        (I/O thread)."""
        if not (-180.0 <= pos.pan_deg <= 180.0 and -90.0 <= pos.tilt_deg <= 90.0
                and -180.0 <= pos.roll_deg <= 180.0):  # the common case costs three comparisons
            self.reject("value", angle_problem(pos) or "angle out of range")
            return
        track = self.track
        if track is not None:  # before the frame counter: a false pose must not move the counter either
            problem = track.problem(pos, arrival_ns)
            if problem is not None:
                self.reject("plausibility", problem)
                return
        preset = self.preset
        health = self.health
        if preset.counter_modulus is not None and not health.in_order(pos.spare >> 12, arrival_ns):
            return  # late or repeated (counted by health.sequence), never delivered
        self._sequence = sequence = self._sequence + 1
        camera = self.camera
        sample = freed_sample(pos, preset, camera.name, self.name, arrival_ns, self.clock, sequence)
        health.on_accept(arrival_ns)
        camera.push(sample)
