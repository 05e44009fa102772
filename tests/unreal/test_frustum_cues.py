"""Frustum cues: validation, coalescing, rate limit, acknowledgement, and a hung Unreal."""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from typing import Any

import pytest

from stagectl.core.events import EventQueue
from stagectl.unreal.frustum import CueError, FrustumCues, FrustumSender, clamp_field
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from stagectl.unreal.rc_seed import ICVFX_CAMERA, STAGE_GRADE
from stagectl.unreal.remote_control import LinkState, RemoteControlClient
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until

LINK_UP_TIMEOUT_S = 10.0
"""A loopback connection is up in milliseconds; the bound is for a loaded machine."""


class RecordingClient(RemoteControlClient):
    """Records (monotonic time, verb, url, body) of every request it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[float, str, str, Any]] = []

    async def _request(self, verb: str, url: str, body: Any, *, force_http: bool = False) -> Any:
        if url != "/remote/info":
            self.sent.append((time.monotonic(), verb, url, body))
        return await super()._request(verb, url, body, force_http=force_http)


async def _client(emu: RemoteControlEmulator, *, websocket: bool = True, timeout_s: float = 1.0,
                  name: str = "ue-1") -> RecordingClient:
    client = RecordingClient(name, f"http://127.0.0.1:{emu.http_port}",
                             f"ws://127.0.0.1:{emu.ws_port}" if websocket else None,
                             events=EventQueue(), timeout_s=timeout_s, reconnect_min_s=0.05)
    await client.async_start()
    if not emu.hang:
        assert await client.async_wait_state(LinkState.UP, LINK_UP_TIMEOUT_S)
    return client


# --- the cue value -----------------------------------------------------------------------------
def test_cues_clamp_to_ranges() -> None:
    cues = FrustumCues(overscan=9.0, soft_edge=-1.0, exposure_stops=40, chroma_key_colour=(2, -1, 0.5))
    assert cues.overscan == 5.0 and cues.soft_edge == 0.0 and cues.exposure_stops == 15.0
    assert cues.chroma_key_colour == (1.0, 0.0, 0.5)
    assert FrustumCues(overscan=0.0).overscan == 0.05
    assert cues.wire_value("chroma_key_colour") == {"R": 1.0, "G": 0.0, "B": 0.5, "A": 1.0}


@pytest.mark.parametrize(("name", "value"), [
    ("overscan", math.nan), ("overscan", math.inf), ("overscan", True), ("soft_edge", "0.5"),
    ("inner_frustum", 1), ("chroma_key_colour", (1, 0)), ("chroma_key_colour", "red"), ("zoom", 1.0),
])
def test_invalid_cue_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(CueError):
        clamp_field(name, value)
    assert issubclass(CueError, ValueError)


# --- the sender --------------------------------------------------------------------------------
@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "http"])
def test_rapid_changes_coalesce_and_the_last_values_win(websocket: bool) -> None:
    async def body() -> None:
        async with serving(RemoteControlEmulator()) as emu:
            client = await _client(emu, websocket=websocket)
            sender = FrustumSender(client)
            await sender.async_start()
            await async_wait_until(lambda: sender.status()[0].acks == 1)  # the initial full state
            initial_sends = len(client.sent)

            def operator() -> None:  # a UI thread dragging sliders
                for i in range(200):
                    sender.set(overscan=1.0 + i / 100, exposure_stops=-i / 100, chroma_key=i % 2 == 0)

            started = time.monotonic()
            thread = threading.Thread(target=operator)
            thread.start()
            thread.join()
            dragging = time.monotonic() - started
            await async_wait_until(lambda: sender.status()[0].pending == ()
                                   and emu.preset_value("stagectl", "Overscan") == 2.99)
            sends = len(client.sent) - initial_sends
            # At 60 a second, while the operator dragged, then one in flight and one with the final
            # values: 200 changes never become 200 sends (a queue of every change would send them all).
            assert 1 <= sends <= 2 + math.ceil(dragging * 60), (sends, dragging)
            assert emu.preset_value("stagectl", "Frustum Exposure") == -1.99
            assert emu.preset_value("stagectl", "Chroma Key") is False
            status = sender.status()[0]
            assert status.ok is True and status.error == "" and status.rtt_ms is not None
            assert sender.max_in_flight == 1
            await sender.async_stop()
            await client.async_stop()

    run_loop(body)


def test_sends_are_at_most_60_per_second_and_unchanged_values_stay_home() -> None:
    async def body() -> None:
        async with serving(RemoteControlEmulator()) as emu:
            client = await _client(emu)
            sender = FrustumSender(client, max_rate_hz=60)
            await sender.async_start()
            await async_wait_until(lambda: sender.status()[0].acks == 1)
            first = len(client.sent)
            for i in range(150):  # a 1 kHz control stream for ~0.15 s
                sender.set(soft_edge=i / 150)
                await asyncio.sleep(0.001)
            await async_wait_until(lambda: sender.status()[0].pending == ())
            starts = [t for t, *_ in client.sent[first:]]
            gaps = [b - a for a, b in itertools.pairwise(starts)]
            # A lower bound: a loaded machine only stretches the gaps.
            assert gaps and min(gaps) >= 1 / 60 - 0.002, min(gaps)
            # Only Soft Edge changed, so only Soft Edge travelled (single-property PUTs, no batch).
            urls = {url for _, _, url, _ in client.sent[first:]}
            assert urls == {"/remote/preset/stagectl/property/Soft%20Edge"}
            before = len(client.sent)
            sender.set(soft_edge=sender.cues.soft_edge, overscan=sender.cues.overscan)  # no change
            sender.set(inner_frustum=False)
            await async_wait_until(lambda: emu.preset_value("stagectl", "Inner Frustum") is False)
            urls_after = [url for _, _, url, _ in client.sent[before:]]
            assert urls_after == ["/remote/preset/stagectl/property/Inner%20Frustum"]
            assert emu.objects[ICVFX_CAMERA]["CameraSettings"]["bEnable"] is False
            await sender.async_stop()
            await client.async_stop()

    run_loop(body)


def test_refusal_is_shown_verbatim_and_not_retried() -> None:
    async def body() -> None:
        async with serving(RemoteControlEmulator()) as emu:
            client = await _client(emu)
            sender = FrustumSender(client, labels={"soft_edge": "Softness"})  # not exposed in the preset
            await sender.async_start(send_initial=False)
            sender.set(soft_edge=0.5)
            await async_wait_until(lambda: sender.status()[0].errors == 1)
            status = sender.status()[0]
            assert status.ok is False
            assert status.error == ('404: {"errorMessage": "Property Softness is not exposed on preset '
                                    'stagectl."}')
            sent = len(client.sent)
            sender.set(overscan=2.0)
            await async_wait_until(lambda: emu.preset_value("stagectl", "Overscan") == 2.0)
            assert [url for _, _, url, _ in client.sent[sent:]] == [
                "/remote/preset/stagectl/property/Overscan"]
            assert sender.status()[0].ok is True
            await sender.async_stop()
            await client.async_stop()

    run_loop(body)


HUNG_TIMEOUT_S = 30.0
"""The hung node's request timeout: waiting on it anywhere would cost this long."""

STALL_S = 1.0
"""Far above a loaded machine's scheduling hiccups, far below a wait on the hung node."""


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "http"])
def test_hung_unreal_costs_the_hot_path_nothing(websocket: bool) -> None:
    """One request in flight, no queue, and the loop keeps ticking (the tracking hot path)."""

    async def body() -> None:
        async with (serving(RemoteControlEmulator()) as good_emu,
                    serving(RemoteControlEmulator(hang=True)) as hung_emu):
            good = await _client(good_emu, websocket=websocket, name="good")
            hung = await _client(hung_emu, websocket=websocket, timeout_s=HUNG_TIMEOUT_S, name="hung")
            if websocket:  # it accepts, it just never answers
                assert await hung.async_wait_state(LinkState.UP, LINK_UP_TIMEOUT_S)
            sender = FrustumSender([good, hung])
            gaps: list[float] = []

            async def ticker() -> None:  # stands in for the tracking pipeline on the same loop
                last = time.monotonic()
                while True:
                    await asyncio.sleep(0.002)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            ticking = asyncio.create_task(ticker())
            await sender.async_start()
            set_times: list[float] = []

            def operator() -> None:
                for i in range(200):
                    started = time.perf_counter()
                    sender.set(overscan=1.0 + i / 100)
                    set_times.append(time.perf_counter() - started)
                    time.sleep(0.001)

            thread = threading.Thread(target=operator)
            thread.start()
            while thread.is_alive():
                await asyncio.sleep(0.01)
            thread.join()
            await async_wait_until(lambda: good_emu.preset_value("stagectl", "Overscan") == 2.99)
            await async_wait_until(lambda: len(gaps) > 100)
            good_status, hung_status = sender.status()
            assert good_status.ok is True and good_status.rtt_ms is not None
            assert hung_status.ok is None and hung_status.in_flight and hung_status.acks == 0
            assert hung_status.sends == 1 and len(hung.sent) == 1
            assert sender.max_in_flight == 1
            # Exactly one cue request ever reached the wedged editor (plus, over HTTP only, the
            # client's own /remote/info reachability probe).
            assert hung_emu.hung == (1 if websocket else 2)
            # Neither the operator's thread nor the loop ever waited on the hung node.
            assert max(set_times) < STALL_S, max(set_times)
            assert max(gaps) < STALL_S, max(gaps)
            ticking.cancel()
            await sender.async_stop()
            for client in (good, hung):
                await client.async_stop()

    run_loop(body)


def test_timed_out_values_are_retried_after_a_pause() -> None:
    async def body() -> None:
        async with serving(RemoteControlEmulator(hang=True)) as emu:
            client = await _client(emu, timeout_s=0.05)
            assert await client.async_wait_state(LinkState.UP, LINK_UP_TIMEOUT_S)
            sender = FrustumSender(client, retry_s=0.1)
            await sender.async_start()
            started = time.monotonic()
            await async_wait_until(lambda: sender.status()[0].sends >= 3)
            elapsed = time.monotonic() - started
            status = sender.status()[0]
            assert status.ok is False and "no answer" in status.error
            # A lower bound: timeout + pause between tries, never a burst (load only adds to it).
            assert elapsed >= 2 * (0.05 + 0.1) - 0.02
            assert sender.max_in_flight == 1
            await sender.async_stop()
            await client.async_stop()

    run_loop(body)


def test_cdl_is_clamped_and_sent_as_linear_colours() -> None:
    cues = FrustumCues(cdl_slope=(9.0, -1.0, 1.2), cdl_power=(0.0, 1.0, 2.0), cdl_saturation=5.0)
    assert cues.cdl_slope == (8.0, 0.0, 1.2) and cues.cdl_power == (0.1, 1.0, 2.0)
    assert cues.cdl_saturation == 4.0
    assert cues.wire_value("cdl_offset") == {"R": 0.0, "G": 0.0, "B": 0.0, "A": 1.0}
    with pytest.raises(CueError, match=r"expected \(r, g, b\) in 0.1..8"):
        clamp_field("cdl_power", (1.0, 1.0))


def test_cdl_reaches_the_stage_grade_through_the_preset() -> None:
    async def body() -> None:
        async with serving(RemoteControlEmulator()) as emu:
            client = await _client(emu)
            sender = FrustumSender(client)
            try:
                await sender.async_start()
                sender.set(cdl_slope=(1.1, 1.0, 0.9), cdl_saturation=0.8)
                await async_wait_until(lambda: emu.objects[STAGE_GRADE]["Saturation"] == 0.8)
                assert emu.objects[STAGE_GRADE]["Slope"] == {"R": 1.1, "G": 1.0, "B": 0.9, "A": 1.0}
            finally:
                await sender.async_stop()
                await client.async_stop()

    run_loop(body)
