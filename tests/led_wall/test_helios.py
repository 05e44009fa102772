"""HeliosDevice against the HELIOS emulator over real HTTP on loopback (PATCH and POST)."""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import pytest

from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.helios import HeliosDevice, fragment
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import DeviceError, FeatureValueError, LinkState
from stagectl.core.http_server import HttpRequest, HttpResponse
from tests.support.cli import REPO, stagectl_env
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

BRIGHTNESS = "dev.display.brightness"
Body = Callable[[HeliosDevice, HeliosEmulator], Awaitable[None]]


def _run(body: Body, *, accept_verbs: Iterable[str] = ("PATCH", "POST"), events: EventQueue | None = None,
         wait_presets: bool = True, emulator: HeliosEmulator | None = None, **device_kwargs: Any) -> None:
    """Emulator + device on a fresh loop; the device is UP (with its preset list) before ``body``."""

    async def main() -> None:
        async with serving(emulator or HeliosEmulator(accept_verbs=accept_verbs)) as emu:
            device_kwargs.setdefault("poll_s", 0.05)
            device_kwargs.setdefault("timeout_s", 0.5)
            device = HeliosDevice("wall-h", emu.url, events=events, **device_kwargs)
            device.retry_initial_s, device.retry_max_s = 0.02, 0.1
            await device.async_start()
            try:
                await async_wait_until(lambda: device.state is LinkState.UP, detail=lambda: device.detail)
                if wait_presets:
                    await async_wait_until(lambda: bool(device.preset_names))
                await body(device, emu)
            finally:
                await device.async_stop()

    run_loop(main)


def test_fragment_nests_paths() -> None:
    assert fragment({("dev", "display", "brightness"): 50, ("dev", "display", "blackout"): True,
                     ("dev", "groups", "1", "gains", "i"): 0.5}) == {
        "dev": {"display": {"brightness": 50, "blackout": True}, "groups": {"1": {"gains": {"i": 0.5}}}}}


@pytest.mark.parametrize("verb", ["PATCH", "POST"])
def test_writes_use_the_configured_verb(verb: str) -> None:
    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        await device.async_set("brightness", 42.5)
        writes = device.status().writes
        device.set_many({"cct": 3199.6, "tint": -0.004, "blackout": True, "test_pattern_type": "grid",
                         "group-1.intensity": 0.5, "group-1.blackout": "on"})
        await async_wait_until(lambda: device.status().writes > writes)  # the batch was answered
        assert emu.value(BRIGHTNESS) == 42.5 and emu.value("dev.display.cct") == 3200
        assert emu.value("dev.display.cctDuv") == -0.004
        assert emu.value("dev.ingest.testPattern.type") == "grid"
        assert emu.value("dev.groups.1.gains.i") == 0.5 and emu.value("dev.groups.1.blackout") is True
        assert emu.value("dev.groups.0.blackout") is False
        assert set(emu.requests_by_verb) == {verb} and emu.requests_by_verb[verb] == 2

    _run(body, accept_verbs=(verb,), write_verb=verb, groups=(1,))


def test_a_verb_the_firmware_refuses_is_reported_verbatim() -> None:
    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        with pytest.raises(DeviceError, match="405"):
            await device.async_set("freeze", True)
        assert device.last_error == ('PATCH /api/v1/public -> 405: '
                                     '{"error": "Method PATCH not allowed on /api/v1/public"} '
                                     '(this processor does not take PATCH: try write_verb = POST)')
        assert device.state is LinkState.UP and emu.value("dev.display.freeze") is False

    _run(body, accept_verbs=("POST",))


def test_bad_write_verb_and_peak() -> None:
    with pytest.raises(ValueError, match="PATCH or POST"):
        HeliosDevice("h", write_verb="PUT")
    with pytest.raises(ValueError, match="peak_nits"):
        HeliosDevice("h", peak_nits=0)
    device = HeliosDevice("h", write_verb="post", peak_nits=2000)
    assert device.write_verb == "POST"
    brightness = device.feature("brightness")
    assert brightness.look_scale == pytest.approx(0.05) and brightness.zone_value == "brightness_nits"
    assert device.feature("cct").zone_value == "cct_k" and device.feature("tint").zone_value == "tint_duv"


def test_presets_are_a_choice_read_from_the_processor() -> None:
    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        assert device.preset_names == ("Day", "Night", "Magic Hour")
        assert device.feature("preset").choices == ("Day", "Night", "Magic Hour")
        assert [f.name for f in device.features][-1] == "preset"
        writes = device.status().writes
        device.set_many({"preset": "Night", "brightness": 33.0})  # the preset goes first
        await async_wait_until(lambda: device.status().writes > writes)  # the batch was answered
        assert emu.active_preset == "Night"
        assert emu.value("dev.display.cct") == 4300 and emu.value(BRIGHTNESS) == 33.0
        with pytest.raises(FeatureValueError, match="is not one of: Day, Night, Magic Hour"):
            device.set("preset", "Sunset")
        del emu.presets["Day"]  # deleted on the processor after we read the list
        with pytest.raises(DeviceError, match=re.escape('404: {"error": "Preset Day not found"}')):
            await device.async_set("preset", "Day")
        emu.presets["Sunset"] = {"dev": {"display": {"brightness": 10.0}}}
        device.preset_refresh_s = 0.0
        await async_wait_until(lambda: "Sunset" in device.feature("preset").choices)
        await device.async_set("preset", "Sunset")
        assert emu.value(BRIGHTNESS) == 10.0

    _run(body)


def test_older_firmware_preset_list_url_is_used_when_the_new_one_is_missing() -> None:
    emulator = HeliosEmulator()

    def old_firmware(request: HttpRequest) -> HttpResponse:
        if request.path == "/api/v1/presets/list":
            return HttpResponse.json(404, {"error": "not found"})
        return emulator.handle(request)

    emulator.server.handler = old_firmware

    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        assert device.preset_names == ("Day", "Night", "Magic Hour")
        assert device.preset_errors == 0

    _run(body, emulator=emulator)


def test_without_a_preset_list_the_device_still_works() -> None:
    emulator = HeliosEmulator()

    def no_presets(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/v1/presets"):
            return HttpResponse.json(500, {"error": "presets service down"})
        return emulator.handle(request)

    emulator.server.handler = no_presets

    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        await async_wait_until(lambda: device.preset_errors >= 2)
        assert device.state is LinkState.UP and device.preset_names == ()
        with pytest.raises(FeatureValueError):
            device.set("preset", "Day")
        await device.async_set("brightness", 12.0)
        assert emu.value(BRIGHTNESS) == 12.0

    _run(body, emulator=emulator, wait_presets=False)


def test_poll_picks_up_changes_and_refuses_nonsense() -> None:
    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        assert device.values["brightness"] == 50.0 and device.values["test_pattern_type"] == "colorBars"
        emu.set_local("dev.display.cct", 3200)
        emu.set_local("dev.ingest.testPattern.enabled", True)
        emu.set_local("dev.groups.0.gains.i", 1.5)
        await async_wait_until(lambda: device.values.get("cct") == 3200.0)
        await async_wait_until(lambda: device.values.get("test_pattern") is True)
        await async_wait_until(lambda: device.values.get("group-0.intensity") == 1.5)
        emu.set_local(BRIGHTNESS, math.nan)
        emu.set_local("dev.display.cctDuv", 0.5)
        emu.set_local("dev.display.freeze", "yes please")
        await async_wait_until(lambda: device.polled.rejected >= 3)
        assert device.values["brightness"] == 50.0 and device.values["tint"] == 0.0
        assert device.state is LinkState.UP and emu.changes == []

    _run(body, groups=(0,))


def test_emulator_filters_the_tree_by_query() -> None:
    async def main() -> None:
        async with serving(HeliosEmulator()) as emu, \
                httpx.AsyncClient(base_url=emu.url, trust_env=False) as client:
            full = (await client.get("/api/v1/public")).json()
            assert set(full) == {"sys", "dev"}
            narrow = (await client.get("/api/v1/public?dev.display.brightness&sys.name&no.such")).json()
            assert narrow == {"dev": {"display": {"brightness": 50.0}},
                              "sys": {"name": "helios-emulator"}}
            reply = await client.patch("/api/v1/public", json={"dev": {"display": {"gamma": 2.2}}})
            assert reply.json() == {"dev": {"display": {"gamma": 2.2}}}
            for body, text in [({"dev": {"display": {"gamma": 9}}}, "out of range"),
                               ({"dev": {"display": {"nope": 1}}}, "Unknown property dev.display.nope"),
                               ({"sys": {"name": "x"}}, "read-only"),
                               ({"dev": {"display": {"blackout": 1}}}, "true or false"),
                               ({"dev": {"ingest": {"testPattern": {"type": "plaid"}}}}, "not one of"),
                               ({"dev": {"display": {"brightness": 10, "cct": 99}}}, "cct = 99")]:
                refused = await client.patch("/api/v1/public", json=body)
                assert refused.status_code == 400 and text in refused.json()["error"], refused.text
            nan = await client.post("/api/v1/public",
                                    content=b'{"dev": {"display": {"brightness": NaN}}}')
            assert nan.status_code == 400
            assert emu.value(BRIGHTNESS) == 50.0  # a refused fragment changes nothing at all
            assert [c.path for c in emu.changes] == ["dev.display.gamma"]

    run_loop(main)


def test_out_of_range_is_refused_before_sending() -> None:
    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        for feature, value, text in [("brightness", 100.5, r"0\.\.100 %"),
                                     ("cct", 1500, r"1667\.\.10000 K"),
                                     ("tint", 0.05, r"-0\.01\.\.0\.01 Duv"),
                                     ("brightness", math.inf, "finite"),
                                     ("gamma", "2.2", "not a number")]:
            with pytest.raises(FeatureValueError, match=text):
                device.set(feature, value)
        await asyncio.sleep(0.02)
        assert emu.requests_by_verb == {} and emu.changes == []

    _run(body)


def test_error_status_and_hang() -> None:
    events = EventQueue()

    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        async with serving(HeliosEmulator()) as other_emu:
            other = HeliosDevice("wall-i", other_emu.url, poll_s=0.05, timeout_s=0.5)
            await other.async_start()
            try:
                emu.fail_status = 500
                device.set("brightness", 20.0)
                await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING))
                assert '-> 500: {"error": "fault injected by the emulator"}' in (device.last_error or "")
                emu.fail_status = None
                # back up first: a poll sent while the fault was on may still answer 500 after it is off
                await async_wait_until(lambda: device.state is LinkState.UP)
                emu.hang = True
                with pytest.raises(DeviceError):  # the device's own 0.5 s, long before the caller's 10 s
                    await device.async_set("brightness", 25.0, timeout=10.0)
                assert "no answer within 0.5 s" in (device.last_error or "")
                await other.async_set("brightness", 70.0)  # the other wall is not held up
                assert other_emu.value(BRIGHTNESS) == 70.0
                warnings = [e for e in events.drain() if e.level is Level.WARNING]
                assert len(warnings) == 2  # two outages (the 500s, then the hang), one warning each
            finally:
                await other.async_stop()

    _run(body, events=events)


def test_60hz_fade_to_a_slow_processor_is_coalesced() -> None:
    async def body(device: HeliosDevice, emu: HeliosEmulator) -> None:
        emu.delay_s = 0.05
        started = time.monotonic()
        for step in range(61):
            device.set_many({"brightness": 10.0 + 80.0 * step / 60, "cct": 6500 - 30 * step})
            await asyncio.sleep(1 / 60)
        setting_s = time.monotonic() - started  # longer on a loaded machine, never shorter than 1 s
        await async_wait_until(lambda: device.status().pending == 0 and emu.value(BRIGHTNESS) == 90.0)
        log = emu.changes_of(BRIGHTNESS)
        # At most one write per 50 ms answer while the sets ran, plus the last value (61 uncoalesced).
        assert 3 <= len(log) <= setting_s / emu.delay_s + 2, (len(log), setting_s)
        assert [c.value for c in log] == sorted(c.value for c in log)
        assert emu.value("dev.display.cct") == 4700
        assert len(emu.changes_of("dev.display.cct")) == len(log)  # one fragment per batch

    _run(body, poll_s=1.0)


def test_standalone_emulator_prints_its_url_and_serves() -> None:
    process = subprocess.Popen([sys.executable, "-m", "led_wall.emulators.helios_emulator", "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=stagectl_env(), cwd=REPO)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("HELIOS emulator at http://127.0.0.1:"), line
        with httpx.Client(trust_env=False) as client:
            assert client.get(line.split()[3]).json()["sys"]["serial"] == "EMU-HELIOS"
    finally:
        process.terminate()
        process.wait(timeout=5)
