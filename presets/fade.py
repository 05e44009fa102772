"""The fade runner: moves device features to their targets on a steady clock, on the I/O loop.

A :class:`FadeGroup` is one crossfade (a cue, a recall, one feature from the control-in): a
set of (device, feature, target) that begins ``delay_s`` after it is started and runs for
``duration_s`` under one easing. When a group begins, each of its features starts from where it
is *now*: the value a running fade has reached (so GO during a fade never jumps), else the
device's value, else the last value sent; with none of those it jumps. A feature belongs to one
running fade at a time: a newer group takes it over and the older one is marked superseded.

Ticking: ticks are scheduled at absolute times ``base + k / rate_hz`` (``loop.call_at``), so
they do not drift; a late tick computes the values for *now* and the next tick is the next
deadline still ahead (missed ticks are not replayed). Each tick calls ``device.set`` only for
values that changed (the device coalesces, so a slow device never holds up another); the last
tick of a fade sets the exact target. Without a running loop nothing is scheduled and
:meth:`FadeRunner.tick` is called by hand (tests with a fake clock).

Hold freezes the fade clock: running fades and delays stop where they are and continue from
there on release. A ``device.set`` that raises drops that feature from its fade and is reported
through ``on_error``; the rest go on. A device taken off the stage is dropped from every fade
(:meth:`FadeRunner.forget_device`): the runner keeps no reference to it, the rest of each fade goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from presets.easing import Easing, clamp_fraction, easing
from stagectl.core.colour import interpolate
from stagectl.core.device import Device
from stagectl.core.features import Fade, Feature, FeatureError, FeatureKind, FeatureValueError, Value

log = logging.getLogger("stagectl.presets")

Key = tuple[str, str]
Target = tuple[Device, Feature, Value]
ErrorHandler = Callable[[Device, Feature, str], None]


@dataclass(frozen=True, slots=True)
class FadeProgress:
    """One running (or waiting) fade, for the status snapshot."""

    label: str
    look: str | None
    cue: str | None
    progress: float
    """Fraction of the fade time gone, 0..1 (0 while waiting out the delay)."""
    remaining_s: float
    """Seconds until the fade ends (delay included)."""
    waiting: bool
    """Still in its delay."""
    features: int
    """Features this fade still moves."""


@dataclass(eq=False, slots=True)
class FadeGroup:
    """One crossfade; see the module docstring. Made by :meth:`FadeRunner.start`."""

    label: str
    look: str | None
    cue: str | None
    begin_at: float
    """Fade-clock time the fade begins (start + delay)."""
    duration_s: float
    easing: Easing
    targets: list[Target]
    started: bool = False
    superseded: bool = False
    done: bool = False
    owned: int = 0
    """Features still being moved by this group."""
    id: int = field(default_factory=itertools.count().__next__)


@dataclass(eq=False, slots=True)
class _Track:
    device: Device
    feature: Feature
    group: FadeGroup
    start: float
    target: Value

    def value_at(self, now: float) -> tuple[Value, bool]:
        """(value at fade-clock ``now``, finished)."""
        group = self.group
        if group.duration_s <= 0.0 or now >= group.begin_at + group.duration_s:
            return self.target, True
        f = group.easing(clamp_fraction((now - group.begin_at) / group.duration_s))
        assert isinstance(self.target, int | float)
        value = interpolate(self.feature.fade, self.start, float(self.target), f)
        return (round(value) if self.feature.integer else value), False


def numeric(value: object) -> float | None:
    """``value`` as a finite float, or None (bools, strings, NaN are not fade start points)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def is_step(feature: Feature) -> bool:
    """True for features set at the start of a fade (STEP, bool, choice)."""
    return feature.fade is Fade.STEP or feature.kind is not FeatureKind.NUMBER


class FadeRunner:
    """Runs fade groups (see the module docstring). Use on the I/O loop only."""

    def __init__(self, *, rate_hz: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 on_error: ErrorHandler | None = None,
                 on_done: Callable[[FadeGroup], None] | None = None) -> None:
        if not (math.isfinite(rate_hz) and 1.0 <= rate_hz <= 1000.0):
            raise ValueError(f"fade rate must be 1..1000 Hz, got {rate_hz!r}")
        self.rate_hz = rate_hz
        self.clock = clock
        self.on_error = on_error
        self.on_done = on_done
        self.ticks = 0
        """Ticks run so far."""
        self.sets = 0
        """``device.set`` calls made so far."""
        self.tick_failures = 0
        """Ticks that raised (logged with their traceback; the next tick tries again)."""
        self._active: dict[Key, _Track] = {}
        self._pending: list[FadeGroup] = []
        self._groups: dict[int, FadeGroup] = {}
        self._last_sent: dict[Key, Value] = {}
        self._reported_at_send: dict[Key, Value | None] = {}
        self._held_since: float | None = None
        self._held_total = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._base = 0.0
        self._k = 0

    # --- the fade clock --------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        """True while hold is on."""
        return self._held_since is not None

    def fade_time(self) -> float:
        """The fade clock: ``clock()`` minus the time spent held (frozen while held)."""
        now = self._held_since if self._held_since is not None else self.clock()
        return now - self._held_total

    def hold(self, on: bool) -> None:
        """Freeze (True) or release (False) every running fade and delay."""
        if on and self._held_since is None:
            self._held_since = self.clock()
            self._stop_ticking()
        elif not on and self._held_since is not None:
            self._held_total += self.clock() - self._held_since
            self._held_since = None
            self._ensure_ticking()

    # --- starting and stopping -------------------------------------------------------------------

    def start(self, targets: Iterable[Target], *, duration_s: float, easing_name: str = "linear",
              delay_s: float = 0.0, label: str = "", look: str | None = None,
              cue: str | None = None) -> FadeGroup:
        """Start a fade of ``targets`` (checked values) and run its first tick now."""
        group = FadeGroup(label, look, cue, self.fade_time() + max(delay_s, 0.0), max(duration_s, 0.0),
                          easing(easing_name), list(targets))
        self._groups[group.id] = group
        self._pending.append(group)
        self.tick()
        self._ensure_ticking()
        return group

    def cancel_waiting(self) -> None:
        """Forget every fade still waiting out its delay (it never begins)."""
        for group in self._pending:
            group.superseded = True
            self._groups.pop(group.id, None)
        self._pending.clear()

    def cancel_all(self) -> None:
        """Stop every fade where it is (waiting ones never begin)."""
        self.cancel_waiting()
        for track in self._active.values():
            track.group.superseded = True
        self._active.clear()
        self._groups.clear()
        self._stop_ticking()

    def forget_device(self, device: Device, groups: Iterable[FadeGroup] = ()) -> int:
        """Drop ``device`` from every running and waiting fade (and from ``groups``, fades a caller
        still holds); the rest of each fade goes on. Its last values sent are forgotten too, so a
        device of the same name added later starts from its own values. Returns how many of its
        features were fading."""
        moving = [key for key, track in self._active.items() if track.device is device]
        touched: list[FadeGroup] = []
        for key in moving:
            track = self._active.pop(key)
            track.group.owned -= 1
            touched.append(track.group)
        for group in {*self._groups.values(), *self._pending, *groups}:
            group.targets[:] = [t for t in group.targets if t[0] is not device]
        for key in [k for k in self._last_sent if k[0] == device.name]:
            del self._last_sent[key]
        for key in [k for k in self._reported_at_send if k[0] == device.name]:
            del self._reported_at_send[key]
        for group in touched:
            self._maybe_done(group)
        if not self.busy:
            self._stop_ticking()
        return len(moving)

    def current(self, device: Device, feature: Feature) -> Value | None:
        """Where ``feature`` is now: a running fade's value, else the last sent or the device's value."""
        track = self._active.get((device.name, feature.name))
        if track is not None:
            return track.value_at(self.fade_time())[0]
        return self._resting(device, feature)

    def _resting(self, device: Device, feature: Feature) -> Value | None:
        # The device's value, unless it only lags behind what we sent (written yet or not): a
        # value it reports that differs both from what it reported when we last sent and from
        # what we sent was changed elsewhere (its front panel, another controller) and wins.
        key = (device.name, feature.name)
        reported = device.values.get(feature.name)
        if key not in self._last_sent:
            return reported
        sent = self._last_sent[key]
        if reported is None or reported == sent or reported == self._reported_at_send.get(key):
            return sent
        return reported

    def set_now(self, device: Device, feature: Feature, value: Value) -> Value:
        """``device.set`` now, outside any fade, remembered as the feature's last value sent.

        Raises what ``device.set`` raises (FeatureError, FeatureValueError).
        """
        checked = device.set(feature.name, value)
        key = (device.name, feature.name)
        self._last_sent[key] = checked
        self._reported_at_send[key] = device.values.get(feature.name)
        self.sets += 1
        return checked

    def progress(self) -> list[FadeProgress]:
        """Every running or waiting fade, oldest first."""
        now = self.fade_time()
        out = []
        for group in self._groups.values():
            if group.done:
                continue
            waiting = not group.started
            gone = 0.0 if group.duration_s <= 0 else (now - group.begin_at) / group.duration_s
            remaining = max(group.begin_at + group.duration_s - now, 0.0)
            features = len(group.targets) if waiting else group.owned
            out.append(FadeProgress(group.label, group.look, group.cue, clamp_fraction(gone), remaining,
                                    waiting, features))
        return out

    @property
    def busy(self) -> bool:
        """True while any fade runs or waits."""
        return bool(self._active or self._pending)

    # --- ticking ---------------------------------------------------------------------------------

    def tick(self) -> None:
        """Begin due fades, move every running one to its value for now, finish the ones at their end."""
        self.ticks += 1
        now = self.fade_time()
        due = [g for g in self._pending if g.begin_at <= now]
        if due:
            self._pending = [g for g in self._pending if g.begin_at > now]
            for group in due:
                self._begin(group, now)
        finished: list[_Track] = []
        for key, track in list(self._active.items()):
            value, done = track.value_at(now)
            if done or value != self._last_sent.get(key):
                self._send(track, value)
            if done:
                finished.append(track)
        for track in finished:
            self._release(track)
        for group in [*due, *(t.group for t in finished)]:
            self._maybe_done(group)

    def _begin(self, group: FadeGroup, now: float) -> None:
        group.started = True
        for device, feature, target in group.targets:
            key = (device.name, feature.name)
            previous = self._active.pop(key, None)
            if previous is not None:
                start = numeric(previous.value_at(now)[0])
                previous.group.owned -= 1
                previous.group.superseded = True
                self._maybe_done(previous.group)
            else:
                start = numeric(self._resting(device, feature))
            track = _Track(device, feature, group, 0.0 if start is None else start, target)
            if is_step(feature) or start is None or numeric(target) is None:
                self._send(track, target)  # set at the start (STEP), or a jump: nothing to fade from
                continue
            self._active[key] = track
            group.owned += 1

    def _send(self, track: _Track, value: Value) -> None:
        try:
            self.set_now(track.device, track.feature, value)
        except (FeatureValueError, FeatureError) as exc:
            self._drop(track, str(exc))
        except Exception as exc:  # a faulty device class must not stop every other fade
            log.debug("device.set raised", exc_info=True)
            self._drop(track, f"{type(exc).__name__}: {exc}")

    def _drop(self, track: _Track, reason: str) -> None:
        key = (track.device.name, track.feature.name)
        if self._active.get(key) is track:
            self._release(track)
            self._maybe_done(track.group)
        if self.on_error is not None:
            self.on_error(track.device, track.feature, f"{reason}; dropped from the fade")

    def _release(self, track: _Track) -> None:
        key = (track.device.name, track.feature.name)
        if self._active.get(key) is track:
            del self._active[key]
            track.group.owned -= 1

    def _maybe_done(self, group: FadeGroup) -> None:
        if group.done or not group.started or group.owned > 0:
            return
        group.done = True
        self._groups.pop(group.id, None)
        if self.on_done is not None:
            self.on_done(group)

    def _ensure_ticking(self) -> None:
        if self._handle is not None or self.held or not self.busy:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: ticked by hand
        self._base = loop.time()
        self._k = 1
        self._handle = loop.call_at(self._base + 1.0 / self.rate_hz, self._on_tick, loop)

    def _on_tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = None
        try:
            self.tick()
        except Exception:  # the ticker must survive anything; the next tick tries again
            self.tick_failures += 1
            log.exception("fade tick failed (%d so far)", self.tick_failures)
        if self.held or not self.busy:
            return
        # the next deadline still ahead: late ticks are not replayed
        self._k = max(self._k + 1, math.floor((loop.time() - self._base) * self.rate_hz) + 1)
        self._handle = loop.call_at(self._base + self._k / self.rate_hz, self._on_tick, loop)

    def _stop_ticking(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
