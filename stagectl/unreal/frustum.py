"""Frustum cues (inner frustum, overscan, soft edge, chroma key, exposure) sent to Unreal.

:class:`FrustumCues` is the validated value; :class:`FrustumSender` keeps the latest wanted
cues and, per target (one Unreal node's :class:`RemoteControlClient`), sends only the fields
that changed since Unreal last answered, at most ``max_rate_hz`` times a second, with one
request in flight per target. Changes made while a request is in flight replace each other
(latest wins) and go out in the next send, so a hung target never grows a queue.

Each field is a label of the Remote Control preset (default "stagectl", see
:data:`DEFAULT_LABELS`). A refused value (Unreal answered an error) is not re-sent until it
changes; a value that timed out or could not be delivered is re-sent after ``retry_s``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stagectl.core.errors import StageError
from stagectl.core.runtime import async_cancel
from stagectl.unreal.remote_control import RemoteControlClient, RemoteControlError, preset_property_request

#: Preset label of each cue field (the operator exposes these in Unreal's Remote Control preset).
DEFAULT_LABELS: Mapping[str, str] = {
    "inner_frustum": "Inner Frustum",
    "overscan": "Overscan",
    "soft_edge": "Soft Edge",
    "chroma_key": "Chroma Key",
    "chroma_key_colour": "Chroma Key Colour",
    "exposure_stops": "Frustum Exposure",
    "cdl_slope": "CDL Slope",
    "cdl_offset": "CDL Offset",
    "cdl_power": "CDL Power",
    "cdl_saturation": "CDL Saturation",
}

_RANGES: Mapping[str, tuple[float, float]] = {
    "overscan": (0.05, 5.0),  # nDisplay CustomFrustum.FieldOfViewMultiplier
    "soft_edge": (0.0, 1.0),
    "exposure_stops": (-15.0, 15.0),
    "cdl_saturation": (0.0, 4.0),
}
#: ASC CDL triples (per R, G, B): slope >= 0, offset, power > 0; clamped to what a grade uses.
_TRIPLES: Mapping[str, tuple[float, float]] = {
    "cdl_slope": (0.0, 8.0),
    "cdl_offset": (-1.0, 1.0),
    "cdl_power": (0.1, 8.0),
}
_COLOURS = ("chroma_key_colour", "cdl_slope", "cdl_offset", "cdl_power")


class CueError(StageError, ValueError):
    """A frustum cue value is not valid (wrong type, not finite, unknown field)."""


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CueError(f"frustum cue {name}: expected a finite number, got {value!r}")
    return float(value)


def clamp_field(name: str, value: object) -> Any:
    """Validate one cue field and clamp it to its range; raises CueError."""
    if name in ("inner_frustum", "chroma_key"):
        if not isinstance(value, bool):
            raise CueError(f"frustum cue {name}: expected true or false, got {value!r}")
        return value
    if name == "chroma_key_colour" or name in _TRIPLES:
        low, high = _TRIPLES.get(name, (0.0, 1.0))
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 3:
            raise CueError(f"frustum cue {name}: expected (r, g, b) in {low:g}..{high:g}, got {value!r}")
        return tuple(min(max(_number(name, c), low), high) for c in value)
    if name in _RANGES:
        low, high = _RANGES[name]
        return min(max(_number(name, value), low), high)
    raise CueError(f"frustum cue: unknown field {name!r} (known: {', '.join(DEFAULT_LABELS)})")


@dataclass(frozen=True, slots=True)
class FrustumCues:
    """What the inner frustum should look like. Values are clamped to their ranges on creation."""

    inner_frustum: bool = True
    overscan: float = 1.0
    soft_edge: float = 0.0
    chroma_key: bool = False
    chroma_key_colour: tuple[float, float, float] = (0.0, 0.8, 0.0)
    exposure_stops: float = 0.0
    cdl_slope: tuple[float, float, float] = (1.0, 1.0, 1.0)
    cdl_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cdl_power: tuple[float, float, float] = (1.0, 1.0, 1.0)
    cdl_saturation: float = 1.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, clamp_field(f.name, getattr(self, f.name)))

    def wire_value(self, name: str) -> Any:
        """The JSON value Unreal gets for ``name`` (colours and CDL triples as linear colour structs)."""
        value = getattr(self, name)
        if name in _COLOURS:
            r, g, b = value
            return {"R": r, "G": g, "B": b, "A": 1.0}
        return value


@dataclass(frozen=True, slots=True)
class TargetAck:
    """Acknowledgement state of one target, for the operator.

    ``ok`` is None before the first answer; ``error`` is Unreal's body verbatim (or the
    transport failure); ``rtt_ms`` the round trip of the last answered send; ``link`` and
    ``detail`` the client's connection state and its explanation; ``pending`` the fields not
    yet answered (including any in flight).
    """

    target: str
    link: str
    ok: bool | None
    error: str
    rtt_ms: float | None
    sends: int
    acks: int
    errors: int
    in_flight: bool
    pending: tuple[str, ...]
    detail: str = ""


class _Target:
    """Per-target sender state; lives on the loop."""

    def __init__(self, client: RemoteControlClient) -> None:
        self.client = client
        self.answered: dict[str, Any] = {}  # field -> value Unreal answered (ok or refused)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.ok: bool | None = None
        self.error = ""
        self.rtt_ms: float | None = None
        self.sends = self.acks = self.errors = 0
        self.in_flight = 0  # requests in flight now (the sender keeps it <= 1)
        self.pending: tuple[str, ...] = ()


class FrustumSender:
    """Coalescing, rate-limited sender of :class:`FrustumCues` to one or more Unreal nodes.

    ``set(**changes)`` may be called from any thread once ``async_start`` ran; the first
    values go out immediately. ``max_in_flight`` records the most requests ever in flight to
    one target (always <= 1: the guarantee the tests check).
    """

    def __init__(self, client: RemoteControlClient | Sequence[RemoteControlClient], preset: str = "stagectl",
                 max_rate_hz: float = 60.0, *, initial: FrustumCues | None = None,
                 labels: Mapping[str, str] | None = None, retry_s: float = 1.0) -> None:
        clients = [client] if isinstance(client, RemoteControlClient) else list(client)
        self.preset = preset
        self.min_interval_s = 1.0 / max_rate_hz
        self.labels = dict(DEFAULT_LABELS, **(labels or {}))
        self.retry_s = retry_s
        self.max_in_flight = 0
        self._wanted = initial if initial is not None else FrustumCues()
        self._targets = [_Target(c) for c in clients]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None

    @property
    def cues(self) -> FrustumCues:
        """The latest wanted cues."""
        return self._wanted

    async def async_start(self, send_initial: bool = True) -> None:
        """Start one sender task per target; with ``send_initial`` every field is sent once."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.current_thread()
        for target in self._targets:
            if not send_initial:
                target.answered = {n: self._wanted.wire_value(n) for n in DEFAULT_LABELS}
            target.task = asyncio.create_task(self._run(target), name=f"frustum-{target.client.name}")
            target.wake.set()

    async def async_stop(self) -> None:
        """Stop the sender tasks (an in-flight request is cancelled)."""
        await async_cancel(*(t.task for t in self._targets))
        for target in self._targets:
            target.task = None

    def set(self, **changes: Any) -> None:
        """Change cue fields (validated here, in the caller's thread; CueError when invalid)."""
        clamped = {name: clamp_field(name, value) for name, value in changes.items()}
        if self._loop is None:
            raise RuntimeError("FrustumSender.set() before async_start()")
        if threading.current_thread() is self._loop_thread:
            self._apply(clamped)
        else:
            self._loop.call_soon_threadsafe(self._apply, clamped)

    def _apply(self, clamped: dict[str, Any]) -> None:
        self._wanted = dataclasses.replace(self._wanted, **clamped)
        for target in self._targets:
            target.pending = tuple(self._changed(target))
            target.wake.set()

    def status(self) -> list[TargetAck]:
        """Per-target acknowledgement and round-trip time (a snapshot; any thread)."""
        return [TargetAck(t.client.name, t.client.state.value, t.ok, t.error, t.rtt_ms, t.sends, t.acks,
                          t.errors, t.in_flight > 0, t.pending, t.client.detail) for t in self._targets]

    def _changed(self, target: _Target) -> dict[str, Any]:
        wanted = {n: self._wanted.wire_value(n) for n in DEFAULT_LABELS}
        return {n: v for n, v in wanted.items() if target.answered.get(n, _UNSET) != v}

    async def _run(self, target: _Target) -> None:
        last_send = -math.inf
        while True:
            await target.wake.wait()
            target.wake.clear()
            wait = last_send + self.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # changes keep landing in _wanted meanwhile: latest wins
            changes = self._changed(target)
            target.pending = tuple(changes)
            if not changes:
                continue
            last_send = time.monotonic()
            delivered = await self._send(target, changes)
            target.pending = tuple(self._changed(target))
            if not delivered:
                await asyncio.sleep(self.retry_s)
                target.wake.set()
            elif target.pending:
                target.wake.set()

    async def _send(self, target: _Target, changes: dict[str, Any]) -> bool:
        """Send ``changes`` in one request; False when it must be retried (timeout, no link)."""
        client = target.client
        target.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, target.in_flight)
        target.sends += 1
        started = time.perf_counter()
        try:
            if len(changes) == 1:
                (name, value), = changes.items()
                await client.async_set_preset_property(self.preset, self.labels[name], value)
                errors: dict[str, str] = {}
            else:
                names = list(changes)
                answers = await client.async_batch(
                    [preset_property_request(self.preset, self.labels[n], changes[n]) for n in names])
                errors = {names[a.request_id]: f"{a.status}: {_text(a.body)}" for a in answers
                          if not a.ok and 0 <= a.request_id < len(names)}
        except RemoteControlError as exc:
            target.ok, target.error = False, exc.body if exc.status is None else f"{exc.status}: {exc.body}"
            target.errors += 1
            if exc.status is None:
                return False
            target.answered.update(changes)  # Unreal refused these values: wait for new ones
            return True
        finally:
            target.in_flight -= 1
        target.answered.update(changes)
        target.rtt_ms = (time.perf_counter() - started) * 1000.0
        target.ok = not errors
        target.error = "; ".join(f"{self.labels[n]}: {e}" for n, e in errors.items())
        if errors:
            target.errors += 1
        else:
            target.acks += 1
        return True


class _Unset:
    pass


_UNSET = _Unset()


def _text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)
