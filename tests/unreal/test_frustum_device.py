"""The inner frustum as a lighting device: features reach Unreal (our Remote Control emulator)."""

from __future__ import annotations

import pytest

from stagectl.core.events import EventQueue
from stagectl.core.features import FeatureValueError, LinkState
from stagectl.unreal.frustum import FrustumCues, FrustumSender
from stagectl.unreal.frustum_device import FEATURES, FrustumDevice, cue_changes, cues_values
from stagectl.unreal.rc_emulator import RemoteControlEmulator
from stagectl.unreal.rc_seed import ICVFX_CAMERA, STAGE_GRADE
from stagectl.unreal.remote_control import RemoteControlClient
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until


def test_cdl_features_fold_into_triples() -> None:
    cues = FrustumCues(cdl_slope=(1.0, 1.1, 1.2))
    changes = cue_changes(cues, {"cdl_slope_g": 0.5, "cdl_power_b": 2.0, "exposure": -1.0})
    assert changes == {"cdl_slope": (1.0, 0.5, 1.2), "cdl_power": (1.0, 1.0, 2.0), "exposure_stops": -1.0}
    values = cues_values(cues)
    assert values["cdl_slope_b"] == 1.2 and values["cdl_offset_r"] == 0.0
    assert set(values) == {f.name for f in FEATURES}


def test_values_reach_unreal_and_the_link_follows_the_nodes() -> None:
    async def body() -> None:
        async with serving(RemoteControlEmulator()) as emu:
            # A request to a live node answers in milliseconds; the timeout is for a loaded machine (a
            # stopped node refuses at once, so the timeout never slows the test).
            client = RemoteControlClient("ue", f"http://127.0.0.1:{emu.http_port}", None,
                                         events=EventQueue(), timeout_s=5.0, reconnect_min_s=0.05)
            await client.async_start()
            sender = FrustumSender(client)
            await sender.async_start()
            device = FrustumDevice(sender, poll_s=0.05)
            await device.async_start()
            try:
                device.set_many({"exposure": 1.5, "cdl_slope_g": 0.75, "cdl_saturation": 0.5})
                settings = emu.objects[ICVFX_CAMERA]["CameraSettings"]
                grading = settings["AllNodesColorGrading"]["ColorGradingSettings"]
                await async_wait_until(lambda: grading["AutoExposureBias"] == 1.5)
                await async_wait_until(lambda: emu.objects[STAGE_GRADE]["Saturation"] == 0.5)
                assert emu.objects[STAGE_GRADE]["Slope"]["G"] == 0.75
                await async_wait_until(lambda: device.state is LinkState.UP)
                with pytest.raises(FeatureValueError, match=r"-15..15 stops"):
                    device.set("exposure", 20.0)
                await emu.async_stop()  # Unreal goes away: the device follows the Remote Control link
                device.set("exposure", 2.0)  # over HTTP a failed request is what shows the link down
                await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING),
                                       detail=lambda: device.last_error)
                assert device.last_error is not None and "no Unreal node is up" in device.last_error
            finally:
                await device.async_stop()
                await sender.async_stop()
                await client.async_stop()

    run_loop(body)
