"""Devices the DP's looks drive (LED processors, DMX universes, OSC devices), described by Features.

A :class:`Feature` says what one control of a device is (name, unit, range, kind, how it fades),
so the DP panel draws generic controls and the OSC control-in addresses ``device/feature``
without per-vendor code. A :class:`Device` owns the transport to one thing and:

* validates every value against its feature (:class:`FeatureValueError` names the range);
* **coalesces writes**: :meth:`Device.set` only records the newest value per feature and wakes
  the device's one writer task; the writer sends everything pending as one batch, one request
  in flight at a time. A slow device therefore sends fewer, newer values; it never queues, and
  never holds up another device (each device has its own writer);
* keeps a link state (``connecting``, ``up``, ``down``, ``reconnecting``) from its writes and a
  periodic poll, retries with a capped, doubling backoff (0.5 s to 10 s by default) keeping the
  newest unsent values, warns once per outage and logs the rest of the outage at DEBUG; a poll
  that succeeds while writes keep failing does not end the outage;
* drops values the device answered and refused (:class:`DeviceRefused`, e.g. an HTTP 400): they
  are not retried, the link stays up, an ERROR event (rate-limited) carries the device's reason;
* keeps ``values``: the newest value per feature the device confirmed (poll) or accepted (write).

Subclasses implement :meth:`Device._async_write` (send a batch; raise :class:`DeviceError` on
failure) and :meth:`Device._async_poll` (read the current values), and list their features.
Everything runs on the I/O loop; :meth:`Device.status` is a snapshot other threads may read.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Mapping
from typing import ClassVar

from stagectl.core.events import EventQueue, Level
from stagectl.core.features import (
    DeviceError,
    DeviceRefused,
    DeviceStatus,
    Feature,
    FeatureError,
    LinkState,
    Value,
)
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.runtime import async_cancel

log = logging.getLogger("stagectl.led_wall")


class Device(abc.ABC):
    """One controllable thing; see the module docstring. Construct anywhere, use on the I/O loop."""

    kind: ClassVar[str] = "device"

    def __init__(self, name: str, *, target: str = "", zone: str | None = None,
                 events: EventQueue | None = None, timeout_s: float = 1.0, poll_s: float = 2.0,
                 retry_initial_s: float = 0.5, retry_max_s: float = 10.0) -> None:
        self.name = name
        self.target = target
        self.zone = zone
        self.events = events if events is not None else EventQueue()
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.state = LinkState.CONNECTING
        self.detail = "not started"
        self.last_error: str | None = None
        self.writes = 0
        self.errors = 0
        self.rtt_ms: float | None = None
        self.values: dict[str, Value] = {}
        self._pending: dict[str, Value] = {}
        self._inflight: Mapping[str, Value] = {}
        self._wake = asyncio.Event()
        self._retry_s = retry_initial_s
        self._retry_at = 0.0
        self._outage_warned = False
        self._write_failing = False
        self._refused: dict[str, str] = {}
        self._refusals = RateLimiter(1.0)
        self._tasks: list[asyncio.Task[None]] = []
        self._by_name: dict[str, Feature] | None = None

    # --- description ------------------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def features(self) -> tuple[Feature, ...]:
        """This device's controls."""

    def feature(self, name: str) -> Feature:
        """The feature called ``name``; FeatureError listing the device's features if there is none."""
        if self._by_name is None:
            self._by_name = {f.name: f for f in self.features}
        found = self._by_name.get(name)
        if found is None:
            names = ", ".join(self._by_name) or "none"
            raise FeatureError(f"{self.name} ({self.kind}) has no feature {name!r} (it has: {names})")
        return found

    def status(self) -> DeviceStatus:
        """A snapshot (safe to hand to another thread)."""
        return DeviceStatus(self.name, self.kind, self.zone, self.target, self.state, self.detail,
                            self.last_error, self.writes, self.errors, self.rtt_ms, len(self._pending),
                            dict(self.values))

    # --- lifecycle (I/O loop) ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Open the transport and start the writer and poller."""
        self._wake = asyncio.Event()
        self._set_state(LinkState.CONNECTING, "first attempt")
        await self._async_open()
        self._tasks = [asyncio.create_task(self._writer(), name=f"device-{self.name}-write"),
                       asyncio.create_task(self._poller(), name=f"device-{self.name}-poll")]

    async def async_stop(self) -> None:
        """Stop writing and polling, close the transport. Unsent values are discarded."""
        tasks, self._tasks = self._tasks, []
        await async_cancel(*tasks)
        await self._async_close()
        self._set_state(LinkState.DOWN, "stopped")

    # --- setting values (I/O loop) ----------------------------------------------------------------

    def set(self, feature: str, value: object) -> Value:
        """Record ``value`` for ``feature`` (validated) and wake the writer; never blocks.

        Returns the coerced value. Raises FeatureError / FeatureValueError.
        """
        checked = self.feature(feature).check(value, self.name)
        self._pending[feature] = checked
        self._refused.pop(feature, None)
        self._wake.set()
        return checked

    def set_many(self, values: Mapping[str, object]) -> dict[str, Value]:
        """Several features at once (all validated before any is recorded)."""
        checked = {name: self.feature(name).check(v, self.name) for name, v in values.items()}
        self._pending.update(checked)
        for name in checked:
            self._refused.pop(name, None)
        if checked:
            self._wake.set()
        return checked

    async def async_set(self, feature: str, value: object, timeout: float | None = None) -> Value:
        """Set and wait until the device accepted it; DeviceError when it failed, was refused or timed out."""
        checked = self.set(feature, value)
        errors = self.errors
        limit = timeout if timeout is not None else self.timeout_s * 2.0 + 0.5
        try:
            async with asyncio.timeout(limit):
                while feature in self._pending or feature in self._inflight:
                    if self.errors != errors and feature in self._pending:
                        raise DeviceError(f"{self.name}: {feature} not accepted: {self.last_error}")
                    await asyncio.sleep(0.005)
        except TimeoutError:
            raise DeviceError(f"{self.name}: {feature} not accepted within {limit:g} s "
                              f"({self.last_error or self.detail})") from None
        refused = self._refused.get(feature)
        if refused is not None:
            raise DeviceError(f"{self.name}: {feature} = {checked!r} refused: {refused}")
        return checked

    # --- subclass hooks ---------------------------------------------------------------------------

    async def _async_open(self) -> None:  # noqa: B027 - optional hook
        """Open the transport (HTTP client, socket, sACN sender)."""

    async def _async_close(self) -> None:  # noqa: B027 - optional hook
        """Close the transport."""

    @abc.abstractmethod
    async def _async_write(self, values: Mapping[str, Value]) -> None:
        """Send ``values`` (feature name -> checked value).

        Raise DeviceRefused for values the device answered and refused (not retried), DeviceError
        for any other failure (the batch is retried after the backoff).
        """

    @abc.abstractmethod
    async def _async_poll(self) -> Mapping[str, Value]:
        """Read the device's current values (a subset of its features is fine); DeviceError on failure."""

    # --- the tasks --------------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            delay = self._retry_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self._pending:
                continue
            batch, self._pending = self._pending, {}
            self._inflight = batch
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout_s):
                    await self._async_write(batch)
            except DeviceRefused as exc:
                self._inflight = {}
                self._refused_write(batch, exc)
                continue
            except Exception as exc:  # any failure of a subclass is a device fault, never the end of the task
                self._inflight = {}
                for key, value in batch.items():  # keep what failed unless something newer came
                    self._pending.setdefault(key, value)
                self._write_failing = True
                self._failed(exc)
                self._wake.set()
                continue
            self._inflight = {}
            self._write_failing = False
            self.rtt_ms = (time.monotonic() - started) * 1000.0
            self.writes += 1
            self.values.update(batch)
            self._succeeded("write accepted")

    async def _poller(self) -> None:
        while True:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout_s):
                    values = await self._async_poll()
            except Exception as exc:  # any failure of a subclass is a device fault, never the end of the task
                self._failed(exc)
                await asyncio.sleep(max(self._retry_at - time.monotonic(), 0.05))
                continue
            self.rtt_ms = (time.monotonic() - started) * 1000.0
            for key, value in values.items():
                if key not in self._pending and key not in self._inflight:
                    self.values[key] = value
            if not self._write_failing:  # answering polls does not end an outage of writes
                self._succeeded("answering")
            if self._pending:
                self._wake.set()
            await asyncio.sleep(self.poll_s)

    def _refused_write(self, batch: Mapping[str, Value], exc: DeviceRefused) -> None:
        refused = [key for key in batch if not exc.features or key in exc.features] or list(batch)
        reason = str(exc) or "refused"
        self.errors += 1
        self.last_error = reason
        accepted = {key: value for key, value in batch.items() if key not in refused}
        if accepted:
            self.writes += 1
            self.values.update(accepted)
        for key in refused:
            self._refused[key] = reason
        held_back = self._refusals.check("refused")
        if held_back is not None:
            self.events.post(Level.ERROR, self.name, "rejected", with_suppressed(
                f"{self.kind} refused {', '.join(refused)}: {reason}", held_back))
        self._write_failing = False
        self._succeeded("answering (a write was refused)")

    def _succeeded(self, detail: str) -> None:
        self._retry_s = self.retry_initial_s
        self._retry_at = 0.0
        self._set_state(LinkState.UP, detail)

    def _failed(self, exc: BaseException) -> None:
        reason = _describe(exc, self.timeout_s)
        self.errors += 1
        self.last_error = reason
        delay = self._retry_s
        self._retry_s = min(self._retry_s * 2.0, self.retry_max_s)
        self._retry_at = time.monotonic() + delay
        if not self._outage_warned:
            self._outage_warned = True
            where = f" at {self.target}" if self.target else ""
            self.events.post(Level.WARNING, self.name, "state",
                             f"{self.kind}{where} not answering: {reason}; retrying")
        else:
            log.debug("%s: still down: %s (next try in %.1f s)", self.name, reason, delay)
        first = self.state in (LinkState.UP, LinkState.CONNECTING)
        state = LinkState.DOWN if first else LinkState.RECONNECTING
        self._set_state(state, f"{reason}; retry in {delay:.1f} s")

    def _set_state(self, state: LinkState, detail: str) -> None:
        self.detail = detail
        if state is self.state:
            return
        previous, self.state = self.state, state
        if state is LinkState.UP:
            self._outage_warned = False
            if previous is not LinkState.CONNECTING:
                self.events.post(Level.INFO, self.name, "state", f"{self.kind} back up")
            else:
                self.events.post(Level.INFO, self.name, "state", f"{self.kind} up")


def _describe(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    text = str(exc)
    return text if isinstance(exc, DeviceError) and text else f"{type(exc).__name__}: {text}"
