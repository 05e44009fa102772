"""stagectl/core/device.py itself: Feature checks, coalesced writes, link states, backoff, refusals."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from stagectl.core.device import Device
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import (
    DeviceError,
    DeviceRefused,
    Fade,
    Feature,
    FeatureError,
    FeatureKind,
    FeatureValueError,
    LinkState,
    Value,
)
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

LEVEL = Feature("level", "Level", "%", minimum=0, maximum=100, fade=Fade.LOG)
ON = Feature("on", "On", "", FeatureKind.BOOL)
MODE = Feature("mode", "Mode", "", FeatureKind.CHOICE, choices=("day", "night"))
PRESET = Feature("preset", "Preset", "", minimum=1, maximum=128, integer=True, fade=Fade.STEP)
FEATURES = (LEVEL, ON, MODE, PRESET)


class FakeDevice(Device):
    """A device whose "wire" is a dict; writes can be gated, slowed, failed or refused per feature."""

    kind = "fake"

    def __init__(self, name: str = "fake", **kwargs: Any) -> None:
        kwargs.setdefault("retry_initial_s", 0.02)
        kwargs.setdefault("retry_max_s", 0.1)
        kwargs.setdefault("poll_s", 0.05)
        kwargs.setdefault("timeout_s", 0.5)
        super().__init__(name, target=f"fake://{name}", **kwargs)
        self.remote: dict[str, Value] = {"level": 10.0, "on": False, "mode": "day", "preset": 1}
        self.attempts: list[tuple[float, dict[str, Value]]] = []
        self.accepted: list[dict[str, Value]] = []
        self.gate: asyncio.Event | None = None
        self.write_delay_s = 0.0
        self.fail_writes: Exception | None = None
        self.fail_polls = False
        self.refuse: set[str] = set()
        self.polls = 0

    @property
    def features(self) -> tuple[Feature, ...]:
        return FEATURES

    async def _async_write(self, values: Mapping[str, Value]) -> None:
        self.attempts.append((time.monotonic(), dict(values)))
        if self.gate is not None:
            await self.gate.wait()
        if self.write_delay_s:
            await asyncio.sleep(self.write_delay_s)
        if self.fail_writes is not None:
            raise self.fail_writes
        refused = [k for k in values if k in self.refuse]
        accepted = {k: v for k, v in values.items() if k not in refused}
        self.remote.update(accepted)
        self.accepted.append(accepted)
        if refused:
            raise DeviceRefused(f"NAK for {', '.join(refused)}", refused)

    async def _async_poll(self) -> Mapping[str, Value]:
        self.polls += 1
        if self.fail_polls:
            raise DeviceError("poll: no route to host")
        return dict(self.remote)


def _run(body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` on a fresh loop; fail on anything the loop's exception handler saw."""
    run_loop(body)


def _warnings(events: EventQueue) -> list[str]:
    return [e.message for e in events.drain() if e.level is Level.WARNING]


# --- Feature.check ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (100, 100.0), (55.5, 55.5), (7, 7.0)])
def test_number_inside_range(value: float, expected: float) -> None:
    checked = LEVEL.check(value)
    assert checked == expected and isinstance(checked, float)


@pytest.mark.parametrize("value", [-0.001, 100.01, 1e9])
def test_number_outside_range_names_it(value: float) -> None:
    with pytest.raises(FeatureValueError, match=r"level = .* is outside 0\.\.100 %"):
        LEVEL.check(value, "wall")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_refused_with_the_range(value: float) -> None:
    with pytest.raises(FeatureValueError) as info:
        LEVEL.check(value, "wall")
    assert "not finite" in str(info.value) and "0..100 %" in str(info.value)
    assert str(info.value).startswith("wall: level")


@pytest.mark.parametrize("value", ["50", None, True, [50], {"v": 1}])
def test_number_wrong_type_refused(value: object) -> None:
    with pytest.raises(FeatureValueError, match="is not a number"):
        LEVEL.check(value)


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), (1, True), (0, False), (1.0, True), ("on", True), ("OFF", False),
    ("true", True), ("False", False)])
def test_bool_coercion(value: object, expected: bool) -> None:
    assert ON.check(value) is expected


@pytest.mark.parametrize("value", [2, -1, 0.5, "yes", "", None])
def test_bool_refuses_the_rest(value: object) -> None:
    with pytest.raises(FeatureValueError, match="is not on/off"):
        ON.check(value)


def test_choice() -> None:
    assert MODE.check("night") == "night"
    with pytest.raises(FeatureValueError, match="is not one of: day, night"):
        MODE.check("Night")
    with pytest.raises(FeatureValueError):
        MODE.check(1)


def test_integer_feature() -> None:
    assert PRESET.check(5.0) == 5 and isinstance(PRESET.check(5.0), int)
    with pytest.raises(FeatureValueError, match="not a whole number"):
        PRESET.check(5.5)
    with pytest.raises(FeatureValueError, match=r"outside 1\.\.128"):
        PRESET.check(0)


def test_range_text_open_ends() -> None:
    assert Feature("x", "X", "Duv", minimum=-0.01).range_text() == "-0.01..inf Duv"
    assert Feature("x", "X", "").range_text() == "-inf..inf"
    assert ON.range_text() == "on/off"


def test_unknown_feature_lists_the_real_ones() -> None:
    device = FakeDevice()
    with pytest.raises(FeatureError, match=r"has no feature 'lvl' \(it has: level, on, mode, preset\)"):
        device.set("lvl", 1)


def test_set_many_checks_all_before_recording_any() -> None:
    device = FakeDevice()
    with pytest.raises(FeatureValueError):
        device.set_many({"level": 20, "on": "maybe"})
    assert device.status().pending == 0


# --- writing ------------------------------------------------------------------------------------

def test_set_reaches_the_device_and_status_reports_it() -> None:
    async def body() -> None:
        device = FakeDevice()
        await device.async_start()
        try:
            assert await device.async_set("level", 42) == 42.0
            assert device.remote["level"] == 42.0 and device.state is LinkState.UP
            status = device.status()
            assert status.writes == 1 and status.errors == 0 and status.values["level"] == 42.0
            assert status.rtt_ms is not None and status.pending == 0
        finally:
            await device.async_stop()
        assert device.status().state is LinkState.DOWN and device.detail == "stopped"

    _run(body)


def test_sets_during_a_write_coalesce_to_the_newest() -> None:
    async def body() -> None:
        device = FakeDevice(poll_s=10.0)
        device.gate = asyncio.Event()
        await device.async_start()
        try:
            device.set("level", 0)
            await async_wait_until(lambda: len(device.attempts) == 1)
            for value in range(1, 51):  # 50 sets while the first write is in flight
                device.set("level", value)
                device.set("on", value % 2 == 0)
                await asyncio.sleep(0)
            device.gate.set()
            await async_wait_until(lambda: device.remote["level"] == 50.0)
            await asyncio.sleep(0.05)
            assert [a[1] for a in device.attempts] == [{"level": 0.0}, {"level": 50.0, "on": True}]
            assert device.writes == 2
        finally:
            await device.async_stop()

    _run(body)


def test_a_60hz_stream_to_a_slow_device_sends_far_fewer_newer_values() -> None:
    async def body() -> None:
        device = FakeDevice(poll_s=10.0)
        device.write_delay_s = 0.05
        await device.async_start()
        try:
            started = time.monotonic()
            for step in range(1, 31):  # 0.5 s of a fade at 60 Hz
                device.set("level", float(step))
                await asyncio.sleep(1 / 60)
            setting_s = time.monotonic() - started  # longer on a loaded machine, never shorter than 0.5 s
            await async_wait_until(lambda: device.remote["level"] == 30.0)
            sent = [a[1]["level"] for a in device.attempts]
            # A write takes at least 50 ms: at most one per 50 ms while the sets ran, plus the last
            # value after (30 uncoalesced writes in about as many 50 ms slots as the sets took).
            assert 3 <= len(sent) <= setting_s / device.write_delay_s + 2, (sent, setting_s)
            assert sent == sorted(sent) and sent[-1] == 30.0
        finally:
            await device.async_stop()

    _run(body)


def test_failing_writes_go_down_then_reconnecting_warn_once_and_deliver_the_newest() -> None:
    async def body() -> None:
        events = EventQueue()
        device = FakeDevice(events=events)
        await device.async_start()
        try:
            await async_wait_until(lambda: device.state is LinkState.UP)
            events.drain()
            device.fail_writes = DeviceError("write: connection reset")
            device.set("level", 20)
            await async_wait_until(lambda: device.state is LinkState.DOWN)
            assert "connection reset" in (device.last_error or "")
            await async_wait_until(lambda: device.state is LinkState.RECONNECTING)
            device.set("level", 30)  # newer than the failing value
            await async_wait_until(lambda: len(device.attempts) >= 5)
            times = [t for t, _ in device.attempts]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert min(gaps) >= 0.015  # the backoff (0.02 s, doubling) was honoured
            assert device.errors >= 5
            assert device.attempts[-1][1] == {"level": 30.0}
            assert device.state is not LinkState.UP  # answering polls does not end a write outage
            device.fail_writes = None
            await async_wait_until(lambda: device.remote["level"] == 30.0)
            await async_wait_until(lambda: device.state is LinkState.UP)
            messages = events.drain()
            warnings = [e for e in messages if e.level is Level.WARNING]
            assert len(warnings) == 1 and "fake at fake://fake not answering" in warnings[0].message
            assert any(e.level is Level.INFO and "back up" in e.message for e in messages)
        finally:
            await device.async_stop()

    _run(body)


def test_a_poll_outage_warns_once_and_recovers() -> None:
    async def body() -> None:
        events = EventQueue()
        device = FakeDevice(events=events)
        device.fail_polls = True
        await device.async_start()
        try:
            await async_wait_until(lambda: device.errors >= 4)
            assert device.state is LinkState.RECONNECTING and device.last_error == "poll: no route to host"
            assert len(_warnings(events)) == 1
            device.fail_polls = False
            await async_wait_until(lambda: device.state is LinkState.UP)
        finally:
            await device.async_stop()

    _run(body)


def test_refused_values_are_not_retried_and_the_link_stays_up() -> None:
    async def body() -> None:
        events = EventQueue()
        device = FakeDevice(events=events)
        await device.async_start()
        try:
            await async_wait_until(lambda: device.state is LinkState.UP)
            device.refuse = {"preset"}
            with pytest.raises(DeviceError, match=r"preset = 57 refused: NAK for preset"):
                device.set("level", 60)
                await device.async_set("preset", 57)
            assert device.remote["level"] == 60.0 and device.values["level"] == 60.0
            attempts = len(device.attempts)
            await asyncio.sleep(0.2)
            assert len(device.attempts) == attempts  # not retried
            assert device.state is LinkState.UP and device.errors == 1
            assert device.last_error == "NAK for preset"
            drained = events.drain()
            assert [e.kind for e in drained if e.level is Level.ERROR] == ["rejected"]
            assert not any(e.level is Level.WARNING for e in drained)
            device.refuse = set()
            assert await device.async_set("preset", 3) == 3  # a new value clears the refusal
        finally:
            await device.async_stop()

    _run(body)


def test_async_set_fails_with_the_reason_and_times_out() -> None:
    async def body() -> None:
        device = FakeDevice()
        await device.async_start()
        try:
            device.fail_writes = DeviceError("wall controller says no")
            with pytest.raises(DeviceError, match="level not accepted: wall controller says no"):
                await device.async_set("level", 5)
            device.fail_writes = None
            device.gate = asyncio.Event()  # a write that never finishes
            started = time.monotonic()
            with pytest.raises(DeviceError, match=r"not accepted within 0\.1 s"):
                await device.async_set("on", True, timeout=0.1)
            assert time.monotonic() - started < 2.0  # the message names the timeout; room for a busy machine
        finally:
            await device.async_stop()

    _run(body)


def test_a_write_slower_than_the_timeout_is_a_failure() -> None:
    async def body() -> None:
        device = FakeDevice(timeout_s=0.05)
        device.write_delay_s = 0.2
        await device.async_start()
        try:
            with pytest.raises(DeviceError, match=r"no answer within 0\.05 s"):
                await device.async_set("level", 5, timeout=10.0)
            assert device.state in (LinkState.DOWN, LinkState.RECONNECTING)
        finally:
            await device.async_stop()

    _run(body)


def test_a_stuck_device_never_holds_up_another() -> None:
    async def body() -> None:
        stuck, healthy = FakeDevice("stuck", timeout_s=5.0), FakeDevice("healthy")
        stuck.gate = asyncio.Event()
        await stuck.async_start()
        await healthy.async_start()
        try:
            stuck.set("level", 1)
            await async_wait_until(lambda: len(stuck.attempts) == 1)
            started = time.monotonic()
            for value in (10, 20, 30):
                await healthy.async_set("level", value)
            # at once, not after the stuck one's 5 s timeout (the bound leaves room for a loaded machine)
            assert time.monotonic() - started < 2.5 and healthy.remote["level"] == 30.0
            assert stuck.remote["level"] == 10.0 and stuck.status().pending == 0  # still in flight
        finally:
            await stuck.async_stop()
            await healthy.async_stop()

    _run(body)


# --- polling ------------------------------------------------------------------------------------

def test_poll_picks_up_changes_but_never_overwrites_a_pending_value() -> None:
    async def body() -> None:
        device = FakeDevice()
        device.gate = asyncio.Event()
        await device.async_start()
        try:
            device.remote["mode"] = "night"  # changed on the device itself
            await async_wait_until(lambda: device.values.get("mode") == "night")
            device.set("level", 77)  # held in flight by the gate
            device.remote["level"] = 11.0
            polls = device.polls
            await async_wait_until(lambda: device.polls >= polls + 3)  # several polls answered 11
            assert device.values["level"] == 10.0  # neither the poll's 11 nor unconfirmed 77
            device.gate.set()
            await async_wait_until(lambda: device.values["level"] == 77.0)
        finally:
            await device.async_stop()

    _run(body)
