"""The cue engine: GO / BACK / GOTO through the cue list, look recalls, hold, blackout, back to safe.

Everything runs on the I/O loop and returns at once; the fades themselves are run by
:class:`presets.fade.FadeRunner`. A look becomes device targets like this: for every device
and every feature with a ``zone_value``, the zone is ``feature.zone`` or the device's zone (the
device named ``frustum_device`` is in the ``frustum`` zone), and the target is the look's value
for (zone, zone_value) times ``feature.look_scale``. A target outside the feature's range is
refused for that feature (an event naming the range) and the rest of the look goes on.

Cue semantics (docs/looks-and-cues.md): GO fires the cue after the last one fired (the first
cue at the top), BACK the one before it, GOTO any cue; each with its own fade, easing and delay.
Firing a cue or recalling a look forgets any cue still waiting out its delay; fades already
running on features the new look does not touch carry on. A look is *reached* when its fade ended
with no feature taken over by a later fade; BACK TO SAFE recalls the newest reached look other
than the live one (else ``safe_look``) in ``safe_fade_s``. BLACKOUT stops every fade, sets every
``blackout`` feature on and every brightness / level feature to its minimum at once; the next
recall turns those ``blackout`` features off again as it starts.

Devices come and go while the stage runs (:meth:`CueEngine.add_device`, :meth:`CueEngine.remove_device`):
a device removed is dropped from every fade and from the blackout it was part of, and from then on
is an unknown device like any other.

Caller errors (unknown look, cue, device or feature; a bad fade time or easing) raise a
:class:`~stagectl.core.errors.StageError` *and* are posted as an event; device faults during a
fade are posted (rate-limited per device) and counted in :meth:`CueEngine.status`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from presets.easing import DEFAULT_EASING, EasingError, check_easing
from presets.fade import FadeGroup, FadeProgress, FadeRunner, Target
from presets.model import FRUSTUM_ZONE, Cue, CueError, CueList, Look, LookError
from presets.store import LookStore
from stagectl.core.device import Device
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import Feature, FeatureError, FeatureKind, FeatureValueError, Value
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.text import did_you_mean

SOURCE = "cues"
BLACKOUT_FEATURE = "blackout"
DIMMER_VALUES = ("brightness_nits", "level")
DIMMER_NAMES = ("brightness", "level", "intensity")
REACHED_KEPT = 32


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """A snapshot of the cue engine for the UI, ``--status-json`` and control-in replies."""

    live_look: str | None
    """The look recalled last (fading or reached); None after a blackout."""
    live_cue: str | None
    """The number of the cue fired last (None when the live look was recalled without a cue)."""
    cue_playing: str | None
    """The cue whose fade is still running (or waiting out its delay), else None."""
    next_cue: str | None
    """What GO would fire."""
    reached_look: str | None
    """The newest look whose fade ended untouched."""
    fades: tuple[FadeProgress, ...]
    held: bool
    blackout: bool
    errors: int
    """Refused targets, failed sets and refused commands so far."""
    last_errors: Mapping[str, str]
    """Newest problem per device (or ``cues`` for the engine's own)."""
    ticks: int
    sets: int


def is_dimmer(feature: Feature) -> bool:
    """True for brightness / level features (the ones BLACKOUT takes to their minimum).

    That is a number feature following a look's ``brightness_nits`` or ``level``, or one named
    ``brightness``, ``level`` or ``intensity``. Per-group gains (``group-2.intensity``) are left
    alone: a look does not set them, so nothing would bring them back after the blackout.
    """
    if feature.kind is not FeatureKind.NUMBER:
        return False
    return feature.zone_value in DIMMER_VALUES or feature.name in DIMMER_NAMES


class CueEngine:
    """Cues and looks onto devices (see the module docstring). Use on the I/O loop only."""

    def __init__(self, devices: Mapping[str, Device], store: LookStore, *, events: EventQueue,
                 rate_hz: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 cues: CueList | None = None, frustum_device: str | None = None,
                 safe_look: str | None = None, safe_fade_s: float = 2.0, default_fade_s: float = 3.0,
                 default_easing: str = DEFAULT_EASING, log_interval_s: float = 1.0) -> None:
        self.devices: dict[str, Device] = dict(devices)
        """The devices looks and fades reach, by name (change it through add/remove_device)."""
        self.store = store
        self.events = events
        self.frustum_device = frustum_device
        self.safe_look = safe_look
        self.safe_fade_s = _seconds(safe_fade_s, "safe_fade_s")
        self.default_fade_s = _seconds(default_fade_s, "default_fade_s")
        self.default_easing = check_easing(default_easing)
        self.runner = FadeRunner(rate_hz=rate_hz, clock=clock, on_error=self._fade_error,
                                 on_done=self._fade_done)
        self.errors = 0
        self._limiter = RateLimiter(log_interval_s, clock)
        self._last_errors: dict[str, str] = {}
        self._pointer: str | None = None
        self._live_look: str | None = None
        self._live_cue: str | None = None
        self._look_group: FadeGroup | None = None
        self._reached: list[str] = []
        self._blacked: list[tuple[Device, Feature]] = []
        if cues is None:
            try:
                cues = store.load_cues()
            except LookError as exc:
                self._problem(SOURCE, "error", str(exc))
                cues = CueList()
        self.cues = cues

    # --- cues ------------------------------------------------------------------------------------

    def set_cues(self, cues: CueList) -> None:
        """Use another cue list (the position stays at the same cue number)."""
        self.cues = cues

    def go(self) -> Cue | None:
        """Fire the next cue; None (and an event) at the end of the list."""
        cue = self.cues.after(self._pointer)
        if cue is None:
            self.events.post(Level.INFO, SOURCE, "cue", "GO: end of the cue list")
            return None
        return self._fire(cue)

    def back(self) -> Cue | None:
        """Fire the cue before the last one fired; None (and an event) at the top."""
        cue = self.cues.before(self._pointer)
        if cue is None:
            self.events.post(Level.INFO, SOURCE, "cue", "BACK: already at the top of the cue list")
            return None
        return self._fire(cue)

    def goto(self, number: str) -> Cue:
        """Fire cue ``number``; CueError if there is none."""
        try:
            cue = self.cues.get(number)
        except CueError as exc:
            self._refuse(exc)
        return self._fire(cue)

    def _fire(self, cue: Cue) -> Cue:
        # the position moves even when the look is missing, so the next GO is not stuck on it
        self._pointer = cue.number
        what = f"cue {cue.number}" + (f" ({cue.label})" if cue.label else "")
        self.recall(cue.look, cue.fade_s, cue.easing, delay_s=cue.delay_s, cue=cue.number, what=what)
        return cue

    # --- looks -----------------------------------------------------------------------------------

    def recall(self, look_name: str, fade_s: float | None = None, easing: str | None = None, *,
               delay_s: float = 0.0, cue: str | None = None, what: str = "") -> FadeGroup:
        """Fade to look ``look_name`` in ``fade_s`` (default: ``default_fade_s``) with ``easing``.

        LookError if there is no such look, CueError for a bad fade time, delay or easing.
        """
        try:
            look = self.store.get(look_name)
        except LookError as exc:
            self._refuse(exc, f"{what}: " if what else "")
        return self.apply(look, fade_s, easing, delay_s=delay_s, cue=cue, what=what)

    def apply(self, look: Look, fade_s: float | None = None, easing: str | None = None, *,
              delay_s: float = 0.0, cue: str | None = None, what: str = "") -> FadeGroup:
        """Fade to ``look`` (a look in memory: the DP's nudged working look, an A/B side).

        CueError for a bad fade time, delay or easing. The live look becomes ``look.name``.
        """
        try:
            seconds = self.default_fade_s if fade_s is None else _seconds(fade_s, "fade_s")
            delay = _seconds(delay_s, "delay_s")
            curve = check_easing(self.default_easing if easing is None else easing)
        except (CueError, EasingError) as exc:
            self._refuse(exc, f"{what}: " if what else "")
        self.runner.cancel_waiting()
        targets = self._unblackout() + self.targets(look)
        self._live_look, self._live_cue = look.name, cue
        group = self.runner.start(targets, duration_s=seconds, easing_name=curve, delay_s=delay,
                                  label=what or f"recall {look.name}", look=look.name, cue=cue)
        self._look_group = group
        delay_text = f" after {delay:g} s" if delay else ""
        self.events.post(Level.INFO, SOURCE, "cue",
                         f"{what or 'recall'}: {look.name!r} in {seconds:g} s ({curve}){delay_text}")
        return group

    def targets(self, look: Look) -> list[Target]:
        """Every (device, feature, checked target) ``look`` sets; out-of-range targets are refused."""
        out: list[Target] = []
        for device in self.devices.values():
            device_zone = FRUSTUM_ZONE if device.name == self.frustum_device else device.zone
            for feature in device.features:
                zone = feature.zone or device_zone
                if feature.zone_value is None or zone is None:
                    continue
                value = look.value(zone, feature.zone_value)
                if value is None:
                    continue
                raw = value * feature.look_scale
                try:
                    out.append((device, feature, feature.check(round(raw) if feature.integer else raw,
                                                               device.name)))
                except FeatureValueError as exc:
                    self._problem(device.name, "rejected", f"look {look.name!r} refused for {feature.name}: "
                                                           f"{exc}; the rest of the look goes on")
        return out

    def fade_feature(self, device: str, feature: str, value: object, seconds: float) -> FadeGroup:
        """Fade one feature of one device to ``value`` in ``seconds`` (linear; the control-in's fade)."""
        try:
            target_device = self.devices.get(device)
            if target_device is None:
                names = tuple(self.devices)
                raise FeatureError(f"no device {device!r}{did_you_mean(device, names)} "
                                   f"(devices: {', '.join(names) or 'none'})")
            target_feature = target_device.feature(feature)
            checked = target_feature.check(value, target_device.name)
            duration = _seconds(seconds, "seconds")
        except (FeatureError, FeatureValueError, CueError) as exc:
            self._refuse(exc)
        return self.runner.start([(target_device, target_feature, checked)], duration_s=duration,
                                 easing_name="linear", label=f"{target_device.name}/{feature}")

    def back_to_safe(self) -> FadeGroup:
        """Recall the newest reached look other than the live one (else ``safe_look``) in ``safe_fade_s``."""
        name = next((n for n in reversed(self._reached) if n != self._live_look), self.safe_look)
        if name is None:
            self._refuse(CueError("back to safe: no look has been fully reached yet and no safe look is set"))
        return self.recall(name, self.safe_fade_s, "linear", what="back to safe")

    # --- devices ---------------------------------------------------------------------------------

    def add_device(self, device: Device) -> None:
        """Let looks and fades reach ``device`` from now on; StageError if its name is taken."""
        if device.name in self.devices:
            raise StageError(f"the cue engine already drives a device named {device.name!r}")
        self.devices[device.name] = device

    def remove_device(self, name: str) -> Device | None:
        """Stop reaching device ``name``: its part of every fade is cancelled (the rest goes on), it
        leaves the blackout, and the engine keeps no reference to it. The device, or None if unknown."""
        device = self.devices.pop(name, None)
        if device is None:
            return None
        held = [self._look_group] if self._look_group is not None else []
        moving = self.runner.forget_device(device, held)
        self._blacked = [(d, f) for d, f in self._blacked if d is not device]
        if moving:
            self.events.post(Level.INFO, SOURCE, "cue", f"{name}: {moving} feature(s) left their fade "
                                                        "(the device was removed); the rest goes on")
        return device

    # --- hold and blackout -----------------------------------------------------------------------

    def hold(self, on: bool) -> None:
        """Freeze every running fade (and delay) where it is; False continues from there."""
        if on != self.runner.held:
            self.runner.hold(on)
            self.events.post(Level.INFO, SOURCE, "cue", "fades held" if on else "fades released")

    def blackout(self) -> None:
        """Stop every fade; ``blackout`` features on, brightness / level features to their minimum, now."""
        self.runner.cancel_all()
        self._look_group = None
        self._live_look = self._live_cue = None
        for device in self.devices.values():
            for feature in device.features:
                value: Value
                if feature.name == BLACKOUT_FEATURE and feature.kind is FeatureKind.BOOL:
                    value = True
                elif is_dimmer(feature):
                    value = feature.minimum if feature.minimum is not None else 0.0
                else:
                    continue
                try:
                    self.runner.set_now(device, feature, value)
                except (FeatureError, FeatureValueError) as exc:
                    self._problem(device.name, "error", f"blackout: {exc}")
                    continue
                if value is True and (device, feature) not in self._blacked:
                    self._blacked.append((device, feature))
        self.events.post(Level.WARNING, SOURCE, "cue", "BLACKOUT")

    def _unblackout(self) -> list[Target]:
        targets: list[Target] = [(device, feature, False) for device, feature in self._blacked]
        self._blacked = []
        return targets

    # --- status ----------------------------------------------------------------------------------

    def status(self) -> EngineStatus:
        """A frozen snapshot."""
        group = self._look_group
        playing = group.cue if group is not None and not group.done else None
        following = self.cues.after(self._pointer)
        return EngineStatus(
            live_look=self._live_look, live_cue=self._live_cue, cue_playing=playing,
            next_cue=following.number if following else None,
            reached_look=self._reached[-1] if self._reached else None,
            fades=tuple(self.runner.progress()), held=self.runner.held, blackout=bool(self._blacked),
            errors=self.errors, last_errors=dict(self._last_errors), ticks=self.runner.ticks,
            sets=self.runner.sets)

    # --- reporting -------------------------------------------------------------------------------

    def _fade_done(self, group: FadeGroup) -> None:
        if group.look is not None and not group.superseded:
            self._reached.append(group.look)
            del self._reached[:-REACHED_KEPT]

    def _fade_error(self, device: Device, feature: Feature, message: str) -> None:
        self._problem(device.name, "error", message)

    def _problem(self, source: str, kind: str, message: str, level: Level = Level.WARNING) -> None:
        self.errors += 1
        self._last_errors[source] = message
        held_back = self._limiter.check(f"{source}/{kind}")
        if held_back is not None:
            self.events.post(level, source, kind, with_suppressed(message, held_back))

    def _refuse(self, exc: Exception, prefix: str = "") -> NoReturn:
        """Count and post a caller error, then raise it (always raises)."""
        self._problem(SOURCE, "rejected", f"{prefix}{exc}")
        if isinstance(exc, StageError):
            raise exc
        raise CueError(f"{prefix}{exc}") from exc


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
            or (isinstance(value, int) and value > 10 ** 9) or not math.isfinite(value):
        raise CueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)
