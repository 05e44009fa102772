"""The suite's own helpers (tests/support/): waiting, stage files, emulator fixtures, the checked loop."""

from __future__ import annotations

import asyncio
import math
import socket
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.emulators.osc_device_emulator import OscDeviceEmulator
from led_wall.emulators.tessera_emulator import TesseraEmulator
from stagectl.config.load import load_stage
from stagectl.stage.runner import StageRunner
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from tests.support.emulators import EmulatorHost, serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until, wait_until
from tests.support.stagefile import StageFile, toml_value

# --- polling ------------------------------------------------------------------------------------------


def test_wait_until_returns_the_first_true_value() -> None:
    values = iter([0, None, [], {"found": 1}])
    assert wait_until(lambda: next(values)) == {"found": 1}


def test_wait_until_says_what_was_awaited_and_the_last_value_seen() -> None:
    count = [0]

    def grows() -> int:
        count[0] += 1
        return 0

    started = time.monotonic()
    with pytest.raises(AssertionError) as info:
        wait_until(grows, timeout_s=0.05, what="the wall to answer", detail=lambda: {"polls": count[0]})
    assert time.monotonic() - started >= 0.05
    message = str(info.value)
    assert message.startswith("timed out after 0.05 s waiting for the wall to answer; last value: 0; ")
    assert "'polls': " in message and count[0] >= 2


def test_a_lambda_is_named_by_its_source() -> None:
    seen: list[int] = []
    with pytest.raises(AssertionError, match=r"waiting for lambda: len\(seen\) == 3"):
        wait_until(lambda: len(seen) == 3, timeout_s=0.01)


def test_async_wait_until_lets_the_loop_run() -> None:
    async def main() -> str:
        done: list[str] = []
        asyncio.get_running_loop().call_later(0.02, done.append, "released")
        return await async_wait_until(lambda: done and done[0])

    assert run_loop(main) == "released"


def test_async_wait_until_times_out_with_what() -> None:
    async def main() -> None:
        await async_wait_until(lambda: False, timeout_s=0.02, what="a datagram")

    with pytest.raises(AssertionError, match="waiting for a datagram; last value: False"):
        asyncio.run(main())


def test_run_loop_fails_on_an_error_nobody_handled() -> None:
    async def main() -> None:
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)  # a callback's error goes to the handler
        await asyncio.sleep(0.01)

    with pytest.raises(AssertionError, match=r"ZeroDivisionError|division by zero"):
        run_loop(main)


# --- stage files -------------------------------------------------------------------------------------


def test_a_stage_file_states_only_what_matters_and_parses(tmp_path: Path) -> None:
    path = (StageFile("builder", frame_rate="24000/1001")
            .camera("A", lens="lenses/zoom.json", sensor_mm=[24.89, 18.66])
            .source("A", "freed", camera_id=1)
            .source("B", "simulator", rate_hz=100)
            .output("opentrackio", target="127.0.0.1:55555", encoding="json", cameras=["A"])
            .device("sacn", "fixtures", target="127.0.0.1",
                    fixtures=[{"name": "key", "profile": "dimmer", "universe": 1, "address": 1}])
            .takes(dir="takes", timecode="A")
            .control(allow=["127.0.0.1"])
            .discovery(interfaces=["127.0.0.1"])
            .write(tmp_path / "stages"))
    stage = load_stage(path)
    assert path == tmp_path / "stages" / "stage.toml"
    assert [c.name for c in stage.cameras] == ["A", "B"]  # B added by its source
    assert stage.cameras[0].lens == tmp_path / "stages" / "lenses" / "zoom.json"
    a, b = stage.sources
    assert (a.protocol, str(a.listen), a.camera_id) == ("freed", "127.0.0.1:0", 1)  # UDP: loopback, any port
    assert (b.protocol, b.rate_hz) == ("simulator", 100.0)
    assert [o.kind for o in stage.outputs] == ["opentrackio"]
    raw = tomllib.loads(path.read_text())
    fixture = {"name": "key", "profile": "dimmer", "universe": 1, "address": 1}
    assert raw["devices"][0]["fixtures"] == [fixture]
    assert raw["control"] == {"listen": "127.0.0.1:0", "allow": ["127.0.0.1"]}  # control: loopback, any port


def test_toml_values_read_back_as_written() -> None:
    values = {"text": 'a "quoted"\\ line\nwith\ttabs é \x7f', "yes": True, "n": -3, "x": 0.1, "big": 1e300,
              "path": Path("/tmp/a b"), "list": [1, 2.5, "x"], "table": {"key with space": 1, "k": [True]}}
    text = "\n".join(f"{key} = {toml_value(value)}" for key, value in values.items())
    back = tomllib.loads(text)
    assert back == {**values, "path": "/tmp/a b"}
    assert math.isnan(tomllib.loads(f"v = {toml_value(math.nan)}")["v"])
    assert tomllib.loads(f"v = {toml_value(-math.inf)}")["v"] == -math.inf
    with pytest.raises(TypeError, match="no TOML value"):
        toml_value(object())


def test_raw_toml_can_be_appended_for_what_the_builder_has_no_adder() -> None:
    text = StageFile().source("A").append('[future]\nthing = 1\n').text
    assert tomllib.loads(text)["future"] == {"thing": 1}


# --- emulators ------------------------------------------------------------------------------------


def test_the_processor_fixtures_serve_on_loopback(tessera_emulator: TesseraEmulator,
                                                   helios_emulator: HeliosEmulator) -> None:
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        assert tessera_emulator.url.startswith("http://127.0.0.1:") and tessera_emulator.port > 0
        tree = client.get(f"{tessera_emulator.url}/api/").json()
        assert tree["api"]["system"]["processor-type"] == "emulator"
        assert helios_emulator.url.startswith("http://127.0.0.1:") and helios_emulator.port > 0
        assert client.get(f"{helios_emulator.url}/api/v1/public").json()["sys"]["serial"] == "EMU-HELIOS"


def test_the_osc_device_fixture_keeps_what_arrives(osc_device_emulator: OscDeviceEmulator) -> None:
    message = OscMessageBuilder("/media/level")
    message.add_arg(0.5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(message.build().dgram, ("127.0.0.1", osc_device_emulator.port))
    assert wait_until(lambda: osc_device_emulator.values.get("/media/level")) == [0.5]


def test_the_remote_control_fixture_answers_http(rc_emulator: RemoteControlEmulator) -> None:
    assert rc_emulator.http_port > 0 and rc_emulator.ws_port > 0
    with httpx.Client(base_url=f"http://127.0.0.1:{rc_emulator.http_port}", trust_env=False,
                      timeout=10.0) as client:
        assert [p["Name"] for p in client.get("/remote/presets").json()["Presets"]] == ["stagectl"]
    assert rc_emulator.http_requests == 1


def test_the_host_changes_state_on_the_emulators_loop_and_stops_what_it_started(
        emulator_host: EmulatorHost) -> None:
    emulator = emulator_host.start(TesseraEmulator())
    emulator_host.call(lambda: emulator.set_local("output/global-colour/brightness", 777))
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        reply = client.get(f"{emulator.url}/api/output/global-colour/brightness")
    assert reply.json() == {"brightness": 777}
    emulator_host.stop(emulator)
    with pytest.raises(httpx.ConnectError):
        httpx.get(emulator.url, trust_env=False, timeout=10.0)


def test_serving_starts_and_stops_on_the_tests_own_loop() -> None:
    async def main() -> int:
        async with serving(HeliosEmulator()) as emu:
            port = emu.port
            async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
                assert (await client.get(f"{emu.url}/api/v1/public")).status_code == 200
        return port

    port = run_loop(main)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # closed again


def test_a_stage_drives_a_fixture_emulator(tmp_path: Path, tessera_emulator: TesseraEmulator) -> None:
    stage = (StageFile("emulated wall").source("A")
             .device("tessera", "wall", url=tessera_emulator.url, zone="wall", poll_ms=100))
    runner = StageRunner(stage.config(tmp_path))
    try:
        wait_until(lambda: runner.stage.status()["devices"]["wall"]["state"] == "up",
                   detail=lambda: runner.stage.status()["devices"]["wall"])
        requests = tessera_emulator.server.requests
        wait_until(lambda: tessera_emulator.server.requests > requests)  # it keeps polling the processor
    finally:
        runner.close()
