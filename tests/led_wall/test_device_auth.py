"""HTTP authentication of LED processors over loopback: the devices against protected emulators
(HELIOS by Digest and Basic, Tessera by Basic), good and bad credentials, none at all, and a stage
whose emulated processor requires the credentials its table names."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.emulators.tessera_emulator import TesseraEmulator
from led_wall.helios import HeliosDevice
from led_wall.http_client import AUTH_FAILED, ChallengeAuth, HttpProcessorDevice, ProcessorHttp
from led_wall.tessera import TesseraDevice
from stagectl.core.features import DeviceRefused, LinkState
from stagectl.core.http_server import HttpRequest, ServerAuth
from stagectl.stage.runner import StageRunner
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until, wait_until
from tests.support.stagefile import StageFile

USER, PASSWORD = "operator", "s3cret:with colon"
Emulator = HeliosEmulator | TesseraEmulator
Body = Callable[[HttpProcessorDevice, Emulator], Awaitable[None]]


def _emulator(kind: str, schemes: tuple[str, ...]) -> Emulator:
    auth = ServerAuth(USER, PASSWORD, schemes)
    return HeliosEmulator(auth=auth) if kind == "helios" else TesseraEmulator(auth=auth)


def _device(kind: str, url: str, **credentials: Any) -> HttpProcessorDevice:
    cls = HeliosDevice if kind == "helios" else TesseraDevice
    device = cls("wall", url, timeout_s=0.5, poll_s=0.05, **credentials)
    device.retry_initial_s, device.retry_max_s = 0.02, 0.1
    return device


def _run(emulator: Emulator, kind: str, body: Body, **credentials: Any) -> None:
    async def main() -> None:
        async with serving(emulator) as emu:
            device = _device(kind, emu.url, **credentials)
            await device.async_start()
            try:
                await body(device, emu)
            finally:
                await device.async_stop()

    run_loop(main)


GOOD = [("helios", ("digest",)), ("helios", ("basic",)), ("helios", ("digest", "basic")),
        ("tessera", ("basic",))]


@pytest.mark.parametrize(("kind", "schemes"), GOOD)
def test_good_credentials_reach_up_and_write(kind: str, schemes: tuple[str, ...]) -> None:
    async def body(device: HttpProcessorDevice, emu: Emulator) -> None:
        await async_wait_until(lambda: device.state is LinkState.UP, detail=lambda: device.detail)
        await device.async_set("freeze", True)
        path = "dev.display.freeze" if kind == "helios" else "override/freeze/enabled"
        assert emu.value(path) is True
        assert emu.server.unauthorized <= 1  # at most the first, unauthenticated request

    _run(_emulator(kind, schemes), kind, body, username=USER, password=PASSWORD)


@pytest.mark.parametrize(("kind", "schemes"), GOOD)
def test_wrong_password_is_a_clear_refusal(kind: str, schemes: tuple[str, ...]) -> None:
    async def body(device: HttpProcessorDevice, emu: Emulator) -> None:
        await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING),
                               detail=lambda: device.detail)
        assert AUTH_FAILED in device.detail and "401" in device.detail
        assert emu.changes == []

    _run(_emulator(kind, schemes), kind, body, username=USER, password="wrong")


@pytest.mark.parametrize("kind", ["helios", "tessera"])
def test_no_credentials_against_a_protected_processor(kind: str) -> None:
    async def body(device: HttpProcessorDevice, emu: Emulator) -> None:
        await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING),
                               detail=lambda: device.detail)
        assert AUTH_FAILED in device.detail and "none are set" in device.detail

    _run(_emulator(kind, ("basic",)), kind, body)


def test_a_refused_write_is_dropped_not_retried() -> None:
    """A 401 on a write is a DeviceRefused naming the features: one request pair, no retries."""

    async def main() -> None:
        async with serving(_emulator("tessera", ("basic",))) as emu:
            http = ProcessorHttp(emu.url, username=USER, password="wrong")
            await http.async_open()
            try:
                with pytest.raises(DeviceRefused) as info:
                    await http.async_request("PUT", "/api/override/freeze/enabled", json_body={"data": True},
                                             features=("freeze",))
            finally:
                await http.async_close()
            assert AUTH_FAILED in str(info.value) and info.value.features == {"freeze"}
            assert emu.server.unauthorized == 2  # the challenge and the one answer to it
            assert emu.changes == []

    run_loop(main)


def test_digest_is_preferred_and_remembered() -> None:
    """Offered both, the client answers Digest; later requests carry it from the start."""

    async def main() -> None:
        emulator = _emulator("helios", ("digest", "basic"))
        seen: list[str] = []
        handle = emulator.handle

        def spy(request: Any) -> Any:
            seen.append(request.headers.get("authorization", "").split(" ")[0])
            return handle(request)

        emulator.server.handler = spy
        async with serving(emulator) as emu:
            http = ProcessorHttp(emu.url, username=USER, password=PASSWORD)
            await http.async_open()
            try:
                for _ in range(3):
                    await http.async_request("GET", "/api/v1/public")
            finally:
                await http.async_close()
            assert seen == ["Digest"] * 3 and emu.server.unauthorized == 1

    run_loop(main)


def test_basic_only_challenge_is_answered() -> None:
    """httpx's DigestAuth alone would give up on a Basic challenge; ChallengeAuth answers it."""

    async def main() -> None:
        async with serving(_emulator("tessera", ("basic",))) as emu:
            async with httpx.AsyncClient(auth=httpx.DigestAuth(USER, PASSWORD), trust_env=False) as plain:
                assert (await plain.get(f"{emu.url}/api/")).status_code == 401
            auth = ChallengeAuth(USER, PASSWORD)
            async with httpx.AsyncClient(auth=auth, trust_env=False) as client:
                assert (await client.get(f"{emu.url}/api/")).status_code == 200
            assert auth.scheme == "basic"

    run_loop(main)


def test_emulator_checks_basic_credentials_exactly() -> None:
    auth = ServerAuth(USER, PASSWORD)

    def request(value: str) -> HttpRequest:
        return HttpRequest("GET", "/", "/", "", {"authorization": value}, b"")

    good = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert auth.accepts(request(f"Basic {good}"))
    assert not auth.accepts(request(f"Basic {base64.b64encode(b'operator:x').decode()}"))
    assert not auth.accepts(request("Basic !!!"))
    assert not auth.accepts(request(""))
    with pytest.raises(ValueError, match="schemes"):
        ServerAuth(USER, PASSWORD, ("ntlm",))


@pytest.mark.parametrize("kind", ["helios", "tessera"])
def test_a_stage_with_a_protected_emulator_reaches_up(kind: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECTL_TEST_WALL_PASSWORD", PASSWORD)
    stage = (StageFile(name="Auth").source("A", "simulator", listen="127.0.0.1:0")
             .device(kind, "wall", zone="wall", emulator=True, timeout_ms=300, poll_ms=100,
                     username=USER, password_env="STAGECTL_TEST_WALL_PASSWORD")
             .discovery(browse=False))
    runner = StageRunner(stage.config(base_dir=tmp_path))
    try:
        device = runner.stage.devices["wall"]
        emulator = runner.stage.devices.emulators["wall"]
        assert emulator.server.auth is not None and emulator.server.auth.username == USER
        wait_until(lambda: device.state is LinkState.UP, detail=lambda: device.detail)
        assert emulator.server.answered > emulator.server.unauthorized  # requests got through
    finally:
        runner.close()
