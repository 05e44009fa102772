"""TesseraDevice against the Tessera emulator over real HTTP on loopback, and the emulator's server."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from led_wall.emulators.tessera_emulator import TesseraEmulator
from led_wall.tessera import TesseraDevice
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import DeviceError, FeatureValueError, LinkState
from stagectl.core.http_server import HttpRequest, HttpResponse, HttpServer
from tests.support.cli import REPO, stagectl_env
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

BRIGHTNESS = "output/global-colour/brightness"
Body = Callable[[TesseraDevice, TesseraEmulator], Awaitable[None]]


def _run(body: Body, *, events: EventQueue | None = None, **device_kwargs: Any) -> None:
    """Emulator + device on a fresh loop; the device is UP before ``body`` runs."""

    async def main() -> None:
        async with serving(TesseraEmulator()) as emulator:
            device_kwargs.setdefault("poll_s", 0.05)
            device_kwargs.setdefault("timeout_s", 0.5)
            device = TesseraDevice("wall-a", emulator.url, events=events, **device_kwargs)
            device.retry_initial_s, device.retry_max_s = 0.02, 0.1
            await device.async_start()
            try:
                await async_wait_until(lambda: device.state is LinkState.UP, detail=lambda: device.detail)
                await body(device, emulator)
            finally:
                await device.async_stop()

    run_loop(main)


# --- the device against the emulator --------------------------------------------------------------

def test_sets_reach_the_processor_with_wire_types() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        await device.async_set("brightness", 1234.6)
        await device.async_set("cct", 3199.5)
        writes = device.status().writes
        device.set_many({"blackout": True, "test_pattern_type": "grid", "lut_strength": 55.5,
                         "group-2.brightness": 800, "frame_remapping": "on"})
        await async_wait_until(lambda: device.status().writes > writes)  # the batch, every PUT answered
        assert emu.value(BRIGHTNESS) == 1235 and isinstance(emu.value(BRIGHTNESS), int)
        assert emu.value("output/global-colour/colour-temperature") == 3200
        assert emu.value("override/test-pattern/type") == "grid"
        assert emu.value("processing/3d-lut/strength") == 55.5
        assert emu.value("groups/items/2/brightness") == 800
        assert emu.value("output/network/frame-remapping/enabled") is True
        assert emu.changes_of(BRIGHTNESS)[-1].value == 1235
        assert device.api_path("cct") == "output/global-colour/colour-temperature"

    _run(body, groups=(2,))


def test_poll_picks_up_changes_made_on_the_processor() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        assert device.values["brightness"] == 1500.0 and device.values["preset"] == 1
        emu.set_local(BRIGHTNESS, 777)
        emu.set_local("override/freeze/enabled", True)
        emu.set_local("groups/items/1/brightness", 90)
        await async_wait_until(lambda: device.values.get("brightness") == 777.0)
        await async_wait_until(lambda: device.values.get("freeze") is True)
        await async_wait_until(lambda: device.values.get("group-1.brightness") == 90.0)
        assert emu.changes == []  # nothing was written back

    _run(body, groups=(1,))


def test_bad_polled_values_are_counted_and_ignored() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        emu.set_local(BRIGHTNESS, math.nan)  # Python's json writes the NaN token
        emu.set_local("output/global-colour/colour-temperature", 99999)
        emu.set_local("override/blackout/enabled", "sometimes")
        emu.set_local("override/test-pattern/type", 7)  # a frame-store number: legitimate, not ours
        await async_wait_until(lambda: device.polled.rejected >= 3)
        assert device.values["brightness"] == 1500.0 and device.values["cct"] == 6500.0
        assert device.values["test_pattern_type"] == "smpte-bars"
        assert device.state is LinkState.UP

    _run(body)


def test_out_of_range_is_refused_before_anything_is_sent() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        requests = emu.server.requests
        for feature, value, text in [("brightness", 12000, r"0\.\.10000 nit"),
                                     ("cct", 1500, r"2000\.\.11000 K"),
                                     ("brightness", math.nan, "not finite"), ("preset", 2.5, "whole number"),
                                     ("test_pattern_type", "plaid", "smpte-bars")]:
            with pytest.raises(FeatureValueError, match=text):
                device.set(feature, value)
        assert device.status().pending == 0  # nothing queued to send
        await asyncio.sleep(0.02)
        assert emu.changes == []
        assert emu.server.requests == requests  # no request at all (the next poll is a minute away)

    _run(body, poll_s=60.0)


def test_preset_goes_first_in_a_batch() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        writes = device.status().writes
        device.set_many({"brightness": 900, "preset": 2})  # preset 2's look would set 300 nits
        await async_wait_until(lambda: device.status().writes > writes)  # the batch, every PUT answered
        assert emu.value(BRIGHTNESS) == 900 and emu.value("presets/active/name") == "Night"
        order = [c.path for c in emu.changes]
        assert order.index("presets/active/number") < len(order) - 1 - order[::-1].index(BRIGHTNESS)

    _run(body)


def test_a_refused_value_reaches_the_operator_verbatim_and_the_link_stays_up() -> None:
    events = EventQueue()

    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        with pytest.raises(DeviceError, match="Preset 57 does not exist"):
            await device.async_set("preset", 57)
        assert device.last_error == ('PUT /api/presets/active/number -> 400: {"response-code": "400", '
                                     '"error-messages": ["Preset 57 does not exist"]}')
        assert device.state is LinkState.UP
        await device.async_set("brightness", 640)  # the refusal blocks nothing
        assert emu.value(BRIGHTNESS) == 640
        errors = [e for e in events.drain() if e.level is Level.ERROR]
        assert len(errors) == 1 and "Preset 57 does not exist" in errors[0].message

    _run(body, events=events)


def test_an_error_status_puts_the_body_in_last_error_and_the_link_down() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        emu.fail_status = 503
        device.set("brightness", 100)
        await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING))
        assert "-> 503: " in (device.last_error or "")
        assert '{"response-code": "503", "error-messages": ["fault injected"]}' in (device.last_error or "")
        emu.fail_status = None
        await async_wait_until(lambda: device.state is LinkState.UP and emu.value(BRIGHTNESS) == 100)

    _run(body)


def test_ip_control_disabled_is_an_outage_with_a_hint() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        emu.ip_control = False
        await async_wait_until(lambda: device.state is not LinkState.UP)
        assert "IP control is disabled" in (device.last_error or "")

    _run(body)


def test_a_hung_processor_times_out_while_another_keeps_working() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        async with serving(TesseraEmulator()) as other_emu:
            other = TesseraDevice("wall-b", other_emu.url, poll_s=0.05, timeout_s=0.5)
            await other.async_start()
            try:
                emu.hang = True
                started = time.monotonic()
                with pytest.raises(DeviceError):
                    await device.async_set("brightness", 200, timeout=10.0)
                # the device's own 0.5 s timeout, not the caller's 10 s (room left for a loaded machine)
                assert time.monotonic() - started < 5.0
                assert device.state in (LinkState.DOWN, LinkState.RECONNECTING)
                assert "no answer within 0.5 s" in (device.last_error or "")
                for value in (100, 200, 300):  # meanwhile the other wall answers at once
                    await other.async_set("brightness", value)
                assert other_emu.value(BRIGHTNESS) == 300 and other.state is LinkState.UP
                assert emu.server.hung >= 1
            finally:
                await other.async_stop()

    _run(body)


def test_60hz_fade_to_a_slow_processor_is_coalesced() -> None:
    async def body(device: TesseraDevice, emu: TesseraEmulator) -> None:
        emu.delay_s = 0.05
        sent = []
        started = time.monotonic()
        for step in range(61):  # one second, 100 -> 1000 nits
            value = 100.0 * 10 ** (step / 60)
            sent.append(device.set("brightness", value))
            await asyncio.sleep(1 / 60)
        setting_s = time.monotonic() - started  # longer on a loaded machine, never shorter than 1 s
        await async_wait_until(lambda: device.status().pending == 0 and emu.value(BRIGHTNESS) == 1000)
        log = emu.changes_of(BRIGHTNESS)
        # Each PUT takes at least the emulator's 50 ms: while the sets ran, at most one PUT per 50 ms
        # went out, plus the one in flight and the last value after. Without coalescing every set
        # would be written (61 over about as many 50 ms slots as the sets took).
        assert 3 <= len(log) <= setting_s / emu.delay_s + 2, (len(log), setting_s)
        values = [c.value for c in log]
        assert values == sorted(values) and values[-1] == 1000
        times = [c.t_ns for c in log]
        assert times == sorted(times) and (times[-1] - times[0]) / 1e9 > 0.5
        assert len(sent) == 61

    _run(body, poll_s=1.0)


# --- the emulator's API ---------------------------------------------------------------------------

def test_emulator_api_shapes_and_query_set() -> None:
    async def main() -> None:
        async with serving(TesseraEmulator()) as emu:
            assert emu.port > 0 and emu.url == f"http://127.0.0.1:{emu.port}"  # port 0 asked for any
            async with httpx.AsyncClient(base_url=emu.url, trust_env=False) as client:
                tree = (await client.get("/api/")).json()
                assert set(tree) == {"api"} and tree["api"]["system"]["processor-type"] == "emulator"
                assert (await client.get("/api/override/freeze/enabled")).json() == {"enabled": False}
                answer = await client.get("/api/override/freeze/enabled", params={"set": "true"})
                assert answer.status_code == 200 and answer.json() == {"enabled": True}
                assert (await client.get(f"/api/{BRIGHTNESS}?set=2500")).json() == {"brightness": 2500}
                put = await client.put("/api/processing/3d-lut/strength", json={"data": 12})
                assert put.json() == {"strength": 12.0}
                assert [c.path for c in emu.changes] == ["override/freeze/enabled", BRIGHTNESS,
                                                         "processing/3d-lut/strength"]
                for method, url, content, status, text in [
                        ("PUT", f"/api/{BRIGHTNESS}", b'{"data": 10001}', 400, "out of range"),
                        ("PUT", f"/api/{BRIGHTNESS}", b'{"data": 10.5}', 400, "Invalid value"),
                        ("PUT", f"/api/{BRIGHTNESS}", b'{"data": NaN}', 400, "not valid JSON"),
                        ("PUT", f"/api/{BRIGHTNESS}", b'{"value": 5}', 400, '"data" member'),
                        ("PUT", f"/api/{BRIGHTNESS}", b"{", 400, "not valid JSON"),
                        ("PUT", "/api/presets/active/name", b'{"data": "x"}', 400, "read only"),
                        ("PUT", "/api/override", b'{"data": 1}', 400, "not a settable value"),
                        ("GET", "/api/no/such/path", b"", 404, "does not exist"),
                        ("DELETE", f"/api/{BRIGHTNESS}", b"", 405, "not supported"),
                        ("GET", "/index.html", b"", 404, "not an API path")]:
                    reply = await client.request(method, url, content=content)
                    assert reply.status_code == status, (url, content, reply.text)
                    body = reply.json()
                    assert body["response-code"] == str(status) and text in body["error-messages"][0]
                assert emu.value(BRIGHTNESS) == 2500  # nothing refused was applied

    run_loop(main)


def test_standalone_emulator_prints_its_url_and_serves() -> None:
    process = subprocess.Popen([sys.executable, "-m", "led_wall.emulators.tessera_emulator", "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=stagectl_env(), cwd=REPO)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Tessera emulator at http://127.0.0.1:"), line
        url = line.split()[3]
        with httpx.Client(trust_env=False) as client:
            assert client.get(url).json()["api"]["presets"]["active"]["number"] == 1
    finally:
        process.terminate()
        process.wait(timeout=5)


# --- the emulators' HTTP server (stagectl/core/http_server.py) ---------------------------------------

async def _raw(port: int, payload: bytes, *, read_until_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(-1) if read_until_close else reader.read(65536), 2.0)
    writer.close()
    await writer.wait_closed()
    return data


def test_http_server_keep_alive_limits_and_handler_errors() -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        return HttpResponse.json(200, {"method": request.method, "path": request.path,
                                       "query": request.query, "body": request.json()})

    async def main() -> None:
        server = HttpServer(handler, max_body=64)
        port = await server.async_start()
        try:
            two = (b"PATCH /a%20b?x=1&y HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n{\"k\": 1}"
                   b"GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = await _raw(port, two)
            assert data.count(b"HTTP/1.1 200 OK") == 2 and b"Connection: keep-alive" in data
            first = json.loads(data.split(b"\r\n\r\n")[1].split(b"HTTP/1.1")[0])
            assert first == {"method": "PATCH", "path": "/a b", "query": {"x": ["1"], "y": [""]},
                             "body": {"k": 1}}
            too_big = await _raw(port, b"PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n"
                                 + b"x" * 65)
            assert too_big.startswith(b"HTTP/1.1 413")
            chunked = await _raw(port, b"PUT /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            assert chunked.startswith(b"HTTP/1.1 411")
            garbage = await _raw(port, b"\x16\x03\x01 hello there\r\n\r\n")
            assert garbage.startswith(b"HTTP/1.1 400")
            bad_length = await _raw(port, b"GET / HTTP/1.1\r\nContent-Length: many\r\n\r\n")
            assert bad_length.startswith(b"HTTP/1.1 400")
            boom = await _raw(port, b"GET /boom HTTP/1.0\r\n\r\n")
            assert boom.startswith(b"HTTP/1.1 500") and b"handler bug" in boom
            assert server.handler_errors == 1 and server.bad_requests == 4
            async with httpx.AsyncClient(trust_env=False) as client:  # still serving
                assert (await client.get(f"{server.url}/ok")).json()["path"] == "/ok"
        finally:
            await server.async_stop()
        assert not server.running

    run_loop(main)


def test_http_server_faults_and_clean_stop() -> None:
    async def main() -> None:
        server = HttpServer(lambda request: HttpResponse.text(200, "fine"))
        await server.async_start()
        try:
            async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=0.3) as client:
                server.faults.delay_s = 0.1
                started = time.monotonic()
                assert (await client.get("/")).text == "fine"
                assert time.monotonic() - started >= 0.1
                server.faults.delay_s = 0.0
                server.faults.fail_status = 418
                server.faults.fail_body = b"teapot"
                reply = await client.get("/")
                assert reply.status_code == 418 and reply.text == "teapot"
                server.faults.fail_status = None
                server.faults.hang = True
                with pytest.raises(httpx.ReadTimeout):
                    await client.get("/")
                assert server.hung == 1
        finally:
            started = time.monotonic()
            await server.async_stop()  # releases the hung request and closes its connection
            assert time.monotonic() - started < 1.0

    run_loop(main)


def test_http_server_stop_drops_held_requests_unanswered() -> None:
    """A stop does not wait out a delay or a hang: both requests lose their connection, unanswered."""

    async def main() -> None:
        server = HttpServer(lambda request: HttpResponse.text(200, "late"))
        await server.async_start()
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=60.0) as client:
            server.faults.hang = True
            hung = asyncio.ensure_future(client.get("/hung"))
            await async_wait_until(lambda: server.hung == 1)
            server.faults.hang = False
            server.faults.delay_s = 60.0
            delayed = asyncio.ensure_future(client.get("/delayed"))
            await async_wait_until(lambda: server.requests == 2)
            await asyncio.wait_for(server.async_stop(), 10.0)  # far below the 60 s delay
            results = await asyncio.wait_for(asyncio.gather(hung, delayed, return_exceptions=True), 10.0)
        assert all(isinstance(r, httpx.RemoteProtocolError) for r in results), results
        assert server.answered == 0 and not server.running

    run_loop(main)


def test_hostile_answers_are_errors_not_crashes() -> None:
    huge = b'{"global-colour": {"brightness": ' + b"1" * 3000 + b"}}"
    answers = {"/api/presets/active": HttpResponse.text(200, "<html>login</html>"),
               "/api/output/global-colour": HttpResponse(200, huge)}

    def handler(request: HttpRequest) -> HttpResponse:
        return answers.get(request.path, HttpResponse.json(200, {request.path.rsplit("/", 1)[-1]: False}))

    async def main() -> None:
        server = HttpServer(handler)
        await server.async_start()
        device = TesseraDevice("odd", server.url, poll_s=0.05, timeout_s=0.5)
        device.http.max_response_bytes = 2000
        device.retry_initial_s, device.retry_max_s = 0.02, 0.1
        await device.async_start()
        try:
            await async_wait_until(lambda: device.errors >= 1)
            error = device.last_error or ""
            assert "answer is not JSON" in error and "<html>login" in error
            del answers["/api/presets/active"]
            await async_wait_until(lambda: "larger than 2000 bytes" in (device.last_error or ""))
            assert device.state is not LinkState.UP
            del answers["/api/output/global-colour"]
            await async_wait_until(lambda: device.state is LinkState.UP)
        finally:
            await device.async_stop()
            await server.async_stop()

    run_loop(main)
