"""OscDevice over real loopback UDP: decoded by python-osc (raw socket and the emulator) and by
liblo's ``oscdump`` when it is installed; link state from ICMP refusals."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pythonosc.osc_message import OscMessage

from led_wall.emulators.osc_device_emulator import OscDeviceEmulator
from led_wall.osc_device import OscDevice, OscFeatureSpec
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import DeviceError, Fade, FeatureKind, FeatureValueError, LinkState
from stagectl.core.osc import encode_message
from tests.support.emulators import serving
from tests.support.loop import run_loop
from tests.support.network import LOCAL, free_udp_port
from tests.support.oscdump import OSCDUMP, OscDump
from tests.support.polling import async_wait_until

SPECS = [
    OscFeatureSpec("exposure", "/media/exposure", "f", unit="stops", minimum=-4, maximum=4,
                   zone_value="exposure_stops"),
    OscFeatureSpec("preset", "/media/preset", "i", minimum=1, maximum=128),
    OscFeatureSpec("freeze", "/media/freeze", "T/F"),
    OscFeatureSpec("mode", "/media/mode", "s", choices=("live", "playback")),
    OscFeatureSpec("gain", "/media/gain", "f"),
]
Body = Callable[[OscDevice, OscDeviceEmulator], Awaitable[None]]


def _device(port: int, events: EventQueue | None = None, **kwargs: Any) -> OscDevice:
    kwargs.setdefault("poll_s", 0.1)
    return OscDevice("media", f"{LOCAL}:{port}", SPECS, events=events, retry_initial_s=0.05, retry_max_s=0.1,
                     **kwargs)


def _run(body: Body, **kwargs: Any) -> None:
    async def main() -> None:
        async with serving(OscDeviceEmulator()) as emulator:
            device = _device(emulator.port, **kwargs)
            await device.async_start()
            try:
                await async_wait_until(lambda: device.state is LinkState.UP)
                await body(device, emulator)
            finally:
                await device.async_stop()

    run_loop(main)


def test_each_feature_type_reaches_its_address() -> None:
    async def body(device: OscDevice, emu: OscDeviceEmulator) -> None:
        await device.async_set("exposure", -1.5)
        await device.async_set("preset", 12.0)
        await device.async_set("freeze", "on")
        await device.async_set("mode", "playback")
        assert emu.values == {"/media/exposure": [-1.5], "/media/preset": [12], "/media/freeze": [True],
                              "/media/mode": ["playback"]}
        assert device.values["preset"] == 12 and device.values["freeze"] is True
        probes = emu.bundles
        # polls in between (each sends a probe): they report the values last sent (OSC cannot read back)
        await async_wait_until(lambda: emu.bundles >= probes + 2)
        assert device.status().values == {"exposure": -1.5, "preset": 12, "freeze": True, "mode": "playback"}

    _run(body)


def test_bytes_on_the_wire_decoded_by_python_osc() -> None:
    """PROTOCOLS.md's check value: ``/foo`` with int32 1 is 2f666f6f 00000000 2c690000 00000001."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind((LOCAL, 0))
    receiver.settimeout(3.0)
    port = receiver.getsockname()[1]
    specs = [OscFeatureSpec("foo", "/foo", "i"),
             OscFeatureSpec("level", "/stage/level", "f", minimum=0, maximum=1)]

    async def main() -> None:
        device = OscDevice("raw", f"{LOCAL}:{port}", specs, probe=False)
        await device.async_start()
        try:
            await device.async_set("foo", 1)
            await device.async_set("level", 0.25)
        finally:
            await device.async_stop()

    try:
        run_loop(main)
        first, second = receiver.recv(64), receiver.recv(64)
    finally:
        receiver.close()
    assert first.hex() == "2f666f6f000000002c69000000000001"
    message = OscMessage(second)
    assert (message.address, message.params) == ("/stage/level", [0.25])


def test_values_outside_range_nan_and_beyond_float32_are_refused_before_sending() -> None:
    async def body(device: OscDevice, emu: OscDeviceEmulator) -> None:
        with pytest.raises(FeatureValueError, match=r"exposure = 5 is outside -4\.\.4 stops"):
            device.set("exposure", 5)
        with pytest.raises(FeatureValueError, match="not finite"):
            device.set("gain", float("nan"))
        with pytest.raises(FeatureValueError, match=r"outside -3\.40282e\+38\.\.3\.40282e\+38"):
            device.set("gain", 1e39)
        with pytest.raises(FeatureValueError, match="not a whole number"):
            device.set("preset", 2.5)
        with pytest.raises(FeatureValueError, match="not one of: live, playback"):
            device.set("mode", "paused")
        await asyncio.sleep(0.15)
        assert emu.messages == 0 and device.status().pending == 0

    _run(body)


def test_feature_descriptions() -> None:
    device = _device(9)
    exposure, preset, freeze, mode = (device.feature(n) for n in ("exposure", "preset", "freeze", "mode"))
    assert (exposure.fade, exposure.zone_value, exposure.unit) == (Fade.LINEAR, "exposure_stops", "stops")
    assert (preset.integer, preset.fade, preset.minimum, preset.maximum) == (True, Fade.STEP, 1, 128)
    assert (freeze.kind, freeze.fade) == (FeatureKind.BOOL, Fade.STEP)
    assert (mode.kind, mode.choices) == (FeatureKind.CHOICE, ("live", "playback"))
    assert device.target == "127.0.0.1:9" and device.kind == "osc"


@pytest.mark.parametrize(("spec", "message"), [
    (OscFeatureSpec("a", "no-slash"), "must start with '/'"),
    (OscFeatureSpec("a", "/x y"), "contains"),
    (OscFeatureSpec("a", "/a", "d"), "not one of f, i, bool"),
    (OscFeatureSpec("a", "/a", "s"), "needs choices"),
    (OscFeatureSpec("a", "/a", "i", maximum=1 << 31), "does not fit an OSC i"),
    (OscFeatureSpec("a", "/a", "f", minimum=2, maximum=1), "minimum 2 is above maximum 1"),
    (OscFeatureSpec("a b", "/a"), "in the name"),
])
def test_bad_specs_name_the_feature(spec: OscFeatureSpec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OscDevice("x", "127.0.0.1:9000", [spec])


def test_duplicate_names_or_addresses_and_bad_targets() -> None:
    with pytest.raises(ValueError, match="name a"):
        OscDevice("x", "127.0.0.1:9000", [OscFeatureSpec("a", "/a"), OscFeatureSpec("a", "/b")])
    with pytest.raises(ValueError, match="address /a"):
        OscDevice("x", "127.0.0.1:9000", [OscFeatureSpec("a", "/a"), OscFeatureSpec("b", "/a")])
    with pytest.raises(ValueError, match="no port"):
        OscDevice("x", "127.0.0.1", SPECS)
    with pytest.raises(ValueError, match="no features"):
        OscDevice("x", "127.0.0.1:9000", [])


def test_refused_receiver_is_down_once_then_recovers_and_delivers_the_newest_value() -> None:
    events = EventQueue()
    port = free_udp_port()

    async def main() -> None:
        device = _device(port, events=events)
        await device.async_start()
        emulator = OscDeviceEmulator(port=port)
        try:
            device.set("exposure", 1.0)
            await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING))
            assert device.last_error is not None and "ECONNREFUSED" in device.last_error
            device.set("exposure", 2.0)
            await asyncio.sleep(0.3)  # still refused: it stays down, no flapping
            assert device.state in (LinkState.DOWN, LinkState.RECONNECTING)
            assert device.dropped_by_reason.get("refused", 0) >= 1
            await emulator.async_start()
            assert await emulator.async_wait("/media/exposure") == [2.0]
            await async_wait_until(lambda: device.state is LinkState.UP)
            assert device.values["exposure"] == 2.0
            await emulator.async_stop()  # the receiver goes away: the probe notices without any write
            await async_wait_until(lambda: device.state is not LinkState.UP)
        finally:
            await device.async_stop()
            await emulator.async_stop()

    run_loop(main)
    got = [(e.level, e.message) for e in events.drain()]
    warnings = [m for level, m in got if level is Level.WARNING]
    assert len(warnings) == 2 and all("not answering" in w and "ECONNREFUSED" in w for w in warnings)
    assert any(level is Level.INFO and "back up" in m for level, m in got)


def test_async_set_raises_when_nobody_listens() -> None:
    async def main() -> None:
        device = _device(free_udp_port(), probe=False)
        await device.async_start()
        try:
            with pytest.raises(DeviceError, match="ECONNREFUSED"):
                await device.async_set("preset", 3, timeout=10.0)
        finally:
            await device.async_stop()

    run_loop(main)


def test_probe_is_an_empty_bundle_that_changes_nothing() -> None:
    async def body(device: OscDevice, emu: OscDeviceEmulator) -> None:
        await async_wait_until(lambda: emu.bundles >= 2)
        assert emu.messages == 0 and emu.values == {} and emu.rejected == {}

    _run(body)

    async def quiet(device: OscDevice, emu: OscDeviceEmulator) -> None:
        await device.async_set("freeze", False)
        await asyncio.sleep(0.3)
        assert emu.bundles == 0 and emu.values == {"/media/freeze": [False]}

    _run(quiet, probe=False)


def test_emulator_counts_garbage_and_keeps_running() -> None:
    async def body(device: OscDevice, emu: OscDeviceEmulator) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for junk in (b"", b"/x", b"#bundle\x00\x01", b"\xff" * 9000, encode_message("/ok", 1)):
                sock.sendto(junk, (LOCAL, emu.port))
        assert await emu.async_wait("/ok") == [1]
        assert emu.rejected.get("size") == 1 and emu.rejected.get("decode", 0) >= 2

    _run(body, probe=False)


def test_multicast_target_on_loopback() -> None:
    group, port = "239.255.77.1", free_udp_port()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((group, port))
    membership = socket.inet_aton(group) + socket.inet_aton(LOCAL)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.settimeout(3.0)

    async def main() -> None:
        device = OscDevice("mc", f"{group}:{port}", SPECS, interface=LOCAL, ttl=0, probe=False)
        await device.async_start()
        try:
            await device.async_set("exposure", 0.5)
        finally:
            await device.async_stop()

    try:
        run_loop(main)
        message = OscMessage(sock.recv(64))
    finally:
        sock.close()
    assert (message.address, message.params) == ("/media/exposure", [0.5])


@pytest.mark.skipif(OSCDUMP is None, reason="liblo's oscdump is not installed")
def test_liblo_oscdump_decodes_every_type() -> None:
    dump = OscDump()
    try:

        async def main() -> None:
            device = _device(dump.port, probe=False)
            await device.async_start()
            try:
                for name, value in (("exposure", -0.75), ("preset", 7), ("freeze", True), ("mode", "live")):
                    await device.async_set(name, value)
            finally:
                await device.async_stop()

        run_loop(main)
        got = [line[1:] for line in dump.take(4)]
    finally:
        dump.close()
    assert got == [["/media/exposure", "f", "-0.750000"], ["/media/preset", "i", "7"],
                   ["/media/freeze", "T", "#T"], ["/media/mode", "s", '"live"']]
