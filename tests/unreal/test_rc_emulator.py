"""The Remote Control emulator over its real loopback servers, spoken to with plain httpx and websockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from stagectl.core.http_server import MAX_BODY
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from stagectl.unreal.rc_seed import ICVFX_CAMERA, SYSTEM_LIBRARY
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until


def _run(body: Callable[[RemoteControlEmulator, httpx.AsyncClient], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        async with serving(RemoteControlEmulator(**kwargs)) as emulator:
            assert emulator.http_port != 0 and emulator.ws_port != 0
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{emulator.http_port}", trust_env=False,
                                         timeout=2.0) as http:
                await body(emulator, http)

    run_loop(main)


def test_http_keep_alive_and_preset_write() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        listed = await http.get("/remote/presets")
        assert listed.status_code == 200
        assert [p["Name"] for p in listed.json()["Presets"]] == ["stagectl"]
        put = await http.put("/remote/preset/stagectl/property/Overscan", json={"PropertyValue": 1.25})
        assert put.status_code == 200 and put.content == b""
        read = await http.get("/remote/preset/stagectl/property/Overscan")
        assert read.json()["PropertyValues"][0]["PropertyValue"] == 1.25
        assert emu.property_value(ICVFX_CAMERA, "CameraSettings.CustomFrustum.FieldOfViewMultiplier") == 1.25
        assert emu.http_requests == 3  # one keep-alive connection carried all three

    _run(body)


def test_preset_labels_map_to_ndisplay_like_properties() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        writes = {"Inner Frustum": False, "Soft Edge": 0.4, "Chroma Key": True,
                  "Chroma Key Colour": {"R": 0.0, "G": 0.0, "B": 1.0, "A": 1.0}, "Frustum Exposure": -1.5}
        for label, value in writes.items():
            reply = await http.put(f"/remote/preset/stagectl/property/{label}", json={"propertyvalue": value})
            assert reply.status_code == 200, reply.text
        settings = emu.objects[ICVFX_CAMERA]["CameraSettings"]
        assert settings["bEnable"] is False
        assert settings["SoftEdge"] == {"Vertical": 0.4, "Horizontal": 0.4}
        assert settings["Chromakey"]["bEnable"] is True
        assert settings["Chromakey"]["ChromakeyColor"]["B"] == 1.0
        assert settings["AllNodesColorGrading"]["ColorGradingSettings"]["AutoExposureBias"] == -1.5
        clamped = await http.put("/remote/preset/stagectl/property/Overscan", json={"PropertyValue": 99})
        assert clamped.status_code == 200 and emu.preset_value("stagectl", "Overscan") == 5.0

    _run(body)


def test_object_property_read_write_and_function_call() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        write = {"objectPath": ICVFX_CAMERA, "propertyName": "CameraSettings", "access": "WRITE_ACCESS",
                 "propertyValue": {"CameraSettings": {"BufferRatio": 0.5}}}
        assert (await http.put("/remote/object/property", json=write)).status_code == 200
        read = {"objectPath": ICVFX_CAMERA, "propertyName": "CameraSettings", "access": "READ_ACCESS"}
        settings = (await http.put("/remote/object/property", json=read)).json()["CameraSettings"]
        assert settings["BufferRatio"] == 0.5 and settings["bEnable"] is True  # partial struct merged
        emu.register_function(ICVFX_CAMERA, "Twice", lambda p: 2 * p["X"])
        call = await http.put("/remote/object/call",
                              json={"objectPath": ICVFX_CAMERA, "functionName": "Twice",
                                    "parameters": {"X": 4}})
        assert call.json() == {"ReturnValue": 8}
        assert emu.calls[-1].function_name == "Twice" and emu.calls[-1].parameters == {"X": 4}

    _run(body)


@pytest.mark.parametrize(("method", "url", "payload", "status", "fragment"), [
    ("PUT", "/remote/preset/nope/property/Overscan", {"PropertyValue": 1}, 404, "Preset nope"),
    ("PUT", "/remote/preset/stagectl/property/Nope", {"PropertyValue": 1}, 404, "Property Nope"),
    ("PUT", "/remote/preset/stagectl/property/Overscan", {"PropertyValue": "big"}, 400, "deserialize"),
    ("PUT", "/remote/object/property", {"objectPath": "/Game/Nope", "propertyName": "X",
                                        "access": "WRITE_ACCESS", "propertyValue": {"X": 1}},
     400, "/Game/Nope"),
    ("PUT", "/remote/object/property", {"objectPath": ICVFX_CAMERA,
                                        "propertyName": "CameraSettings.bEnable",
                                        "access": "WRITE_ACCESS", "propertyValue": {}},
     400, "property named"),
    ("PUT", "/remote/object/call", {"objectPath": SYSTEM_LIBRARY, "functionName": "Nope"}, 400, "function"),
    ("GET", "/remote/nothing", None, 404, "not found"),
])
def test_error_bodies(method: str, url: str, payload: Any, status: int, fragment: str) -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        reply = await http.request(method, url, json=payload)
        assert reply.status_code == status
        assert fragment in reply.json()["errorMessage"]

    _run(body)


def test_malformed_requests_do_not_kill_the_server() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        bad = await http.put("/remote/batch", content=b"{not json",
                             headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.http_port)
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()
        assert await reader.read() == b""  # dropped
        writer.close()
        assert (await http.get("/remote/presets")).status_code == 200

    _run(body)


def test_batch_answers_each_request() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        requests = [{"RequestId": 7, "URL": "/remote/preset/stagectl/property/Soft Edge", "Verb": "PUT",
                     "Body": {"PropertyValue": 0.25}},
                    {"RequestId": 8, "URL": "/remote/preset/stagectl/property/Nope", "Verb": "PUT",
                     "Body": {"PropertyValue": 1}}]
        reply = (await http.put("/remote/batch", json={"Requests": requests})).json()["Responses"]
        assert [(r["RequestId"], r["ResponseCode"]) for r in reply] == [(7, 200), (8, 404)]
        assert emu.preset_value("stagectl", "Soft Edge") == 0.25

    _run(body)


def test_websocket_http_messages() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        async with connect(f"ws://127.0.0.1:{emu.ws_port}", proxy=None) as ws:
            await ws.send(json.dumps({"MessageName": "http", "Id": 41, "Parameters": {
                "Url": "/remote/preset/stagectl/property/Chroma Key", "Verb": "PUT",
                "Body": {"PropertyValue": True}}}))
            assert json.loads(await ws.recv()) == {"RequestId": 41, "ResponseCode": 200, "ResponseBody": None}
            await ws.send(json.dumps({"MessageName": "http", "Id": 42, "Parameters": {
                "Url": "/remote/object/property", "Verb": "PUT", "Body": {"objectPath": "/Game/Nope"}}}))
            answer = json.loads(await ws.recv())
            assert answer["RequestId"] == 42 and answer["ResponseCode"] == 400
            assert "errorMessage" in answer["ResponseBody"]
        assert emu.preset_value("stagectl", "Chroma Key") is True

    _run(body)


def test_hang_accepts_and_never_answers() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/remote/presets", timeout=0.2)
        assert emu.http_requests == 1 and emu.hung == 1

    _run(body, hang=True)


def test_websocket_restarts_on_the_same_port() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        port = emu.ws_port
        await emu.async_stop_websocket()
        with pytest.raises(OSError):
            await connect(f"ws://127.0.0.1:{port}", proxy=None, open_timeout=1.0)
        assert await emu.async_start_websocket() == port
        async with connect(f"ws://127.0.0.1:{port}", proxy=None) as ws:
            await ws.send(json.dumps({"MessageName": "http", "Id": 1,
                                      "Parameters": {"Url": "/remote/info", "Verb": "GET"}}))
            assert json.loads(await ws.recv())["ResponseCode"] == 200

    _run(body)


def test_refusals_use_unreals_error_shape() -> None:
    async def body(emu: RemoteControlEmulator, http: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"Requests": []}'

        chunked = await http.put("/remote/batch", content=chunks())
        assert chunked.status_code == 411 and "Content-Length" in chunked.json()["errorMessage"]
        huge = await http.put("/remote/batch", content=b" " * (MAX_BODY + 1))
        assert huge.status_code == 413 and "errorMessage" in huge.json()
        assert (await http.get("/remote/presets")).status_code == 200  # still serving

    _run(body)


def test_stop_drops_hung_http_and_websocket_clients() -> None:
    async def main() -> None:
        emulator = RemoteControlEmulator(hang=True)
        async with (serving(emulator) as emu, connect(f"ws://127.0.0.1:{emu.ws_port}", proxy=None) as ws,
                    httpx.AsyncClient(trust_env=False, timeout=60.0) as http):
            request = asyncio.ensure_future(http.get(f"http://127.0.0.1:{emu.http_port}/remote/info"))
            await ws.send(json.dumps({"MessageName": "http", "Id": 1,
                                      "Parameters": {"Url": "/remote/info", "Verb": "GET"}}))
            await async_wait_until(lambda: emu.hung == 2)
            await asyncio.wait_for(emu.async_stop(), 10.0)  # far below the clients' 60 s
            with pytest.raises(httpx.RemoteProtocolError):
                await asyncio.wait_for(request, 10.0)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10.0)

    run_loop(main)
