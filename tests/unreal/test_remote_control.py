"""RemoteControlClient against the loopback emulator, over WebSocket and over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import pytest

from stagectl.core.events import EventQueue, Level
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from stagectl.unreal.rc_seed import ICVFX_CAMERA, SYSTEM_LIBRARY
from stagectl.unreal.remote_control import (
    LinkState,
    RemoteControlClient,
    RemoteControlError,
    RemoteControlTimeout,
    RemoteControlUnavailable,
    function_call_request,
    object_property_request,
    preset_property_request,
)
from tests.support.emulators import serving
from tests.support.loop import run_loop

Body = Callable[[RemoteControlClient, RemoteControlEmulator], Awaitable[None]]
WAIT_S = 10.0
"""How long a link may take to reach a state: generous, it only costs time when a test fails."""


def _run(body: Body, *, websocket: bool = True, hang: bool = False, timeout_s: float = 1.0,
         events: EventQueue | None = None) -> None:
    """Emulator + client on a fresh loop; the client is UP before ``body`` runs (unless hung)."""

    async def main() -> None:
        async with serving(RemoteControlEmulator(hang=hang)) as emulator:
            ws_url = f"ws://127.0.0.1:{emulator.ws_port}" if websocket else None
            client = RemoteControlClient(
                "ue-1", f"http://127.0.0.1:{emulator.http_port}", ws_url,
                events=events if events is not None else EventQueue(), timeout_s=timeout_s,
                reconnect_min_s=0.05, reconnect_max_s=0.2)
            await client.async_start()
            try:
                if not hang or websocket:
                    assert await client.async_wait_state(LinkState.UP, WAIT_S), client.detail
                await body(client, emulator)
            finally:
                await client.async_stop()
        assert client.state is LinkState.DOWN and client.detail == "stopped"

    run_loop(main)


TRANSPORTS = pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "http"])


def _expect_transport(client: RemoteControlClient, websocket: bool) -> None:
    assert client.last_transport == ("websocket" if websocket else "http")
    assert client.rtt_ms is not None and client.rtt_ms >= 0


@TRANSPORTS
def test_set_preset_property(websocket: bool) -> None:
    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        assert await client.async_set_preset_property("stagectl", "Overscan", 1.4) is None
        _expect_transport(client, websocket)
        assert emu.preset_value("stagectl", "Overscan") == 1.4
        assert (emu.ws_messages > 0) is websocket

    _run(body, websocket=websocket)


@TRANSPORTS
def test_object_property_write_and_read(websocket: bool) -> None:
    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        await client.async_set_object_property(ICVFX_CAMERA, "CameraSettings", {"BufferRatio": 0.75},
                                         access="WRITE_TRANSACTION_ACCESS", transaction=True)
        _expect_transport(client, websocket)
        settings = await client.async_get_object_property(ICVFX_CAMERA, "CameraSettings")
        assert settings["BufferRatio"] == 0.75
        assert emu.property_value(ICVFX_CAMERA, "CameraSettings.BufferRatio") == 0.75

    _run(body, websocket=websocket)


@TRANSPORTS
def test_call_function(websocket: bool) -> None:
    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        emu.register_function(ICVFX_CAMERA, "Add", lambda p: p["A"] + p["B"])
        assert await client.async_call_function(ICVFX_CAMERA, "Add", {"A": 2, "B": 3}) == {"ReturnValue": 5}
        assert await client.async_call_function(SYSTEM_LIBRARY, "PrintString", {"InString": "hi"}) == {}
        _expect_transport(client, websocket)
        assert [c.function_name for c in emu.calls] == ["Add", "PrintString"]

    _run(body, websocket=websocket)


@TRANSPORTS
def test_batch_and_presets(websocket: bool) -> None:
    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        answers = await client.async_batch([
            preset_property_request("stagectl", "Soft Edge", 0.3),
            object_property_request(ICVFX_CAMERA, "bHiddenInGame", True),
            function_call_request(SYSTEM_LIBRARY, "PrintString", {"InString": "batch"}),
            preset_property_request("stagectl", "No Such Label", 1.0),
        ])
        _expect_transport(client, websocket)
        assert [(a.request_id, a.ok) for a in answers] == [(0, True), (1, True), (2, True), (3, False)]
        assert answers[3].status == 404 and "No Such Label" in answers[3].body["errorMessage"]
        assert emu.preset_value("stagectl", "Soft Edge") == 0.3
        assert emu.objects[ICVFX_CAMERA]["bHiddenInGame"] is True
        assert [p["Name"] for p in await client.async_get_presets()] == ["stagectl"]

    _run(body, websocket=websocket)


@TRANSPORTS
def test_unreal_error_bodies_reach_the_operator_verbatim(websocket: bool) -> None:
    events = EventQueue()

    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        with pytest.raises(RemoteControlError) as caught:
            await client.async_set_object_property("/Game/Missing.Missing:Thing", "X", 1)
        error = caught.value
        assert error.status == 400
        expected = emu.handle("PUT", "/remote/object/property", {
            "objectPath": "/Game/Missing.Missing:Thing", "propertyName": "X"})[1]
        assert json.loads(error.body) == expected
        assert error.error_message == expected["errorMessage"]
        assert client.last_error == error.body
        assert client.refused == 1
        with pytest.raises(RemoteControlError) as caught:
            await client.async_set_preset_property("stagectl", "Overscan", "wide")
        assert caught.value.status == 400 and "deserialize" in (caught.value.error_message or "")

    _run(body, websocket=websocket, events=events)
    errors = [e for e in events.drain() if e.level is Level.ERROR]
    assert any("does not exist" in e.message for e in errors)
    assert all(e.source == "ue-1" for e in errors)


@TRANSPORTS
def test_request_timeout_against_a_hung_unreal(websocket: bool) -> None:
    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        started = time.monotonic()
        with pytest.raises(RemoteControlTimeout) as caught:
            await client.async_set_preset_property("stagectl", "Overscan", 2.0)
        assert 0.15 <= time.monotonic() - started < 5.0  # the 0.2 s timeout (room for a loaded machine)
        assert caught.value.status is None and "no answer" in caught.value.body
        assert client.timeouts >= 1
        assert emu.hung >= 1

    _run(body, websocket=websocket, hang=True, timeout_s=0.2)


def test_http_only_link_goes_down_when_unreal_hangs() -> None:
    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        assert client.state is not LinkState.UP  # the /remote/info probe timed out
        assert await client.async_wait_state(LinkState.DOWN, WAIT_S)

    _run(body, websocket=False, hang=True, timeout_s=0.1)


def test_websocket_drop_reconnects_with_backoff_and_warns_once() -> None:
    events = EventQueue()

    async def body(client: RemoteControlClient, emu: RemoteControlEmulator) -> None:
        connects = client.connects
        await emu.async_stop_websocket()
        assert await client.async_wait_state(LinkState.DOWN, WAIT_S)
        # While down, requests fall back to HTTP.
        await client.async_set_preset_property("stagectl", "Chroma Key", True)
        assert client.last_transport == "http" and client.http_fallbacks >= 1
        # Let a few retries fail (backoff doubles from 0.05 to the 0.2 cap).
        for _ in range(3):
            assert await client.async_wait_state(LinkState.RECONNECTING, WAIT_S)
            assert await client.async_wait_state(LinkState.DOWN, WAIT_S)
        assert "retry in 0.2 s" in client.detail
        await emu.async_start_websocket()
        assert await client.async_wait_state(LinkState.UP, WAIT_S), client.detail
        assert client.connects == connects + 1
        await client.async_set_preset_property("stagectl", "Chroma Key", False)
        assert client.last_transport == "websocket"

    _run(body, events=events)
    warnings = [e for e in events.drain() if e.level is Level.WARNING]
    assert len(warnings) == 1 and "Remote Control down" in warnings[0].message


def test_unreachable_unreal_warns_once_and_requests_fail_fast() -> None:
    events = EventQueue()

    async def main() -> None:
        client = RemoteControlClient("ue-x", "http://127.0.0.1:9", "ws://127.0.0.1:9", events=events,
                                     timeout_s=0.5, reconnect_min_s=0.02, reconnect_max_s=0.05)
        await client.async_start()
        try:
            for _ in range(3):
                assert await client.async_wait_state(LinkState.RECONNECTING, WAIT_S)
                assert await client.async_wait_state(LinkState.DOWN, WAIT_S)
            with pytest.raises(RemoteControlUnavailable):
                await client.async_set_preset_property("stagectl", "Overscan", 1.0)
        finally:
            await client.async_stop()

    run_loop(main)
    warnings = [e for e in events.drain() if e.level is Level.WARNING]
    assert len(warnings) == 1
