"""SacnDevice over real loopback UDP, decoded by tests/e131.py (strict, from the spec) and by the
sacn library's own receiver."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
import sacn  # type: ignore[import-untyped, unused-ignore]

from led_wall.dmx import DISCOVERY_GROUP, SacnDevice, multicast_group
from led_wall.fixtures import PROFILES, Fixture, FixtureError
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import DeviceError, FeatureValueError, LinkState
from tests.e131 import E131Capture, E131Data, E131Error, parse_data_packet, parse_discovery_packet
from tests.support.loop import run_loop
from tests.support.network import LOCAL, free_udp_port
from tests.support.polling import async_wait_until

Body = Callable[[SacnDevice, E131Capture], Awaitable[None]]


def _fixtures() -> list[Fixture]:
    return [Fixture("key", PROFILES["intensity_cct16"], 3, 10, "key-light"),
            Fixture("fill", PROFILES["intensity_cct"], 3, 14, "fill"),
            Fixture("edge", PROFILES["dimmer"], 3, 512),
            Fixture("kick", PROFILES["rgbw"], 4, 1, "key-light")]


def _run(body: Body, fixtures: Sequence[Fixture] | None = None, **kwargs: Any) -> SacnDevice:
    """A device sending unicast to a capture socket on loopback; ``body`` runs once it is up."""
    holder: list[SacnDevice] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, capture = await loop.create_datagram_endpoint(E131Capture, local_addr=(LOCAL, 0))
        port = transport.get_extra_info("sockname")[1]
        kwargs.setdefault("target", f"{LOCAL}:{port}")
        device = SacnDevice("lights", fixtures or _fixtures(), bind_address=LOCAL, poll_s=0.1, **kwargs)
        holder.append(device)
        await device.async_start()
        try:
            await async_wait_until(lambda: device.state is LinkState.UP)
            await body(device, capture)
        finally:
            await device.async_stop()
            await asyncio.sleep(0.05)  # let the loop read what is already in the socket (stream terminations)
            capture.close()

    run_loop(main)
    return holder[0]


def test_16_bit_and_8_bit_slots_carry_hand_worked_bytes() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        device.set_many({"key.intensity": 0.75, "key.cct": 3200, "fill.intensity": 0.5, "fill.cct": 4600,
                         "edge.intensity": 1.0})
        packet = await cap.wait_for(lambda p: p.universe == 3 and p.slots[511] == 255)
        # key, intensity_cct16 at 10: 0.75 * 65535 = 49151.25 -> 49151 = 0xBFFF;
        # CCT (3200 - 2700) / (6500 - 2700) * 65535 = 8622.99 -> 8623 = 0x21AF.
        assert packet.slots[9:13] == bytes([0xBF, 0xFF, 0x21, 0xAF])
        # fill, intensity_cct (8-bit) at 14: 0.5 * 255 = 127.5 -> 128 (half up); 4600 K is mid-range -> 128.
        assert packet.slots[13:15] == bytes([128, 128])
        assert packet.slots[:9] == bytes(9) and packet.slots[15:511] == bytes(496)
        assert len(packet.slots) == 512 and packet.start_code == 0
        assert packet.source_name == "stagectl" and packet.priority == 100 and packet.sync_address == 0
        assert packet.cid == device.cid.bytes and not packet.stream_terminated and not packet.preview

    device = _run(body)
    assert device.values["key.cct"] == 3200.0


def test_cct_range_ends_and_16_bit_coarse_fine_split() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        device.set_many({"key.intensity": 1 / 65535 * 256, "key.cct": 6500, "fill.cct": 2700})
        packet = await cap.wait_for(lambda p: p.universe == 3 and p.slots[11] == 0xFF)
        assert packet.slots[9:13] == bytes([0x01, 0x00, 0xFF, 0xFF])  # 256 -> coarse 1, fine 0; top of range
        assert packet.slots[14] == 0  # fill's CCT at the bottom of its range

    _run(body)


def test_rgbw_from_cct_scaled_by_intensity_then_one_component() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        device.set_many({"kick.intensity": 0.5, "kick.cct": 6600})  # Helland: 6600 K is R = G = B = 255
        packet = await cap.wait_for(lambda p: p.universe == 4 and p.slots[3] == 128)
        assert packet.slots[:4] == bytes([0, 0, 0, 128])
        device.set_many({"kick.intensity": 1.0, "kick.cct": 2500})
        # 2500 K = RGB (255, 159, 70) (tempergb's published example); white = 70, then
        # (185, 89, 0, 70) normalised by 185 -> 255, 122.7, 0, 96.5 (+-1 for Helland's unrounded values).
        packet = await cap.wait_for(lambda p: p.universe == 4 and p.slots[0] == 255)
        assert packet.slots[2] == 0 and abs(packet.slots[1] - 123) <= 1 and abs(packet.slots[3] - 96) <= 1
        device.set("kick.blue", 0.2)
        packet = await cap.wait_for(lambda p: p.universe == 4 and p.slots[2] == 51)
        assert packet.slots[0] == 255 and abs(packet.slots[1] - 123) <= 1

    device = _run(body)
    assert device.values["kick.blue"] == 0.2 and device.values["kick.cct"] == 2500.0


def test_priority_feature_and_constructor_value() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        first = await cap.wait_for(lambda p: p.universe == 3, since=0)
        assert first.priority == 150
        await device.async_set("priority", 42)
        assert (await cap.wait_for(lambda p: p.universe == 4 and p.priority == 42)).priority == 42
        with pytest.raises(FeatureValueError, match=r"outside 0\.\.200"):
            device.set("priority", 201)

    _run(body, priority=150)
    with pytest.raises(ValueError, match=r"priority 300 is outside 0\.\.200"):
        SacnDevice("x", _fixtures(), priority=300)


def test_out_of_range_values_name_the_range_and_send_nothing_new() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        before = device.universe_data(3)
        assert before[11:13] == bytes([0xC3, 0x5E])  # 5600 K at start: 2900 / 3800 * 65535 -> 50014
        with pytest.raises(FeatureValueError, match=r"key\.cct = 2000 is outside 2700\.\.6500 K"):
            device.set("key.cct", 2000)
        with pytest.raises(FeatureValueError, match=r"outside 0\.\.1"):
            device.set("edge.intensity", 1.5)
        with pytest.raises(FeatureValueError, match="not finite"):
            device.set("key.intensity", float("nan"))
        with pytest.raises(FeatureValueError, match="not a number"):
            device.set("key.intensity", "full")
        assert device.status().pending == 0 and device.universe_data(3) == before

    _run(body)


def test_sequence_numbers_count_per_universe_and_keepalive_repeats() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        for step in range(1, 6):
            device.set("edge.intensity", step / 8)  # exact in binary: 255 * step / 8 rounded half up
            await cap.wait_for(_edge_is((255 * step + 4) // 8))
        # Nothing changes: the library repeats each universe about once a second (universe 4 was
        # last set before the loop above, so a packet of it from now on is a repeat).
        await cap.wait_for(lambda p: p.universe == 4, timeout=10.0)
        for universe in (3, 4):
            sequence = [p.sequence for p in cap.data_packets() if p.universe == universe]
            assert all((b - a) % 256 == 1 for a, b in itertools.pairwise(sequence)), sequence

    _run(body)


def test_an_idle_rig_wakes_the_sender_a_few_times_a_second_and_a_set_value_goes_out_at_once() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        link = device._link  # the sender thread's own counter of wake-ups
        assert link is not None
        device.set("edge.intensity", 0.5)
        await cap.wait_for(_edge_is(128))
        # Three keep-alives of universe 3 (the library repeats an unchanged universe once a second).
        wakes = link.wakes
        for _ in range(3):
            await cap.wait_for(lambda p: p.universe == 3, since=len(cap.datagrams), timeout=10.0)
        idle_wakes = link.wakes - wakes
        # At 50 fps the thread would have woken ~100 times over two keep-alive intervals.
        assert idle_wakes <= 30, f"{idle_wakes} wake-ups of an idle sender over two keep-alives"
        # A value set now goes out without waiting for the idle check.
        before = len(cap.datagrams)
        device.set("edge.intensity", 0.25)
        await cap.wait_for(_edge_is(64), since=before)

    _run(body)


def _edge_is(level: int) -> Callable[[E131Data], bool]:
    return lambda p: p.universe == 3 and p.slots[511] == level


def test_blackout_zeroes_every_slot_and_restores() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        device.set_many({"edge.intensity": 1.0, "kick.intensity": 1.0})
        await cap.wait_for(lambda p: p.universe == 3 and p.slots[511] == 255)
        device.set("blackout", True)
        await cap.wait_for(lambda p: p.universe == 3 and p.slots == bytes(512))
        await cap.wait_for(lambda p: p.universe == 4 and p.slots == bytes(512))
        device.set("blackout", "off")
        await cap.wait_for(lambda p: p.universe == 3 and p.slots[511] == 255)

    device = _run(body)
    assert device.values["blackout"] is False


def test_stop_terminates_streams_and_ends_the_sender_thread() -> None:
    captured: list[E131Capture] = []

    async def body(device: SacnDevice, cap: E131Capture) -> None:
        captured.append(cap)
        assert device.sender_running
        assert "sacn-lights" in {t.name for t in threading.enumerate()}

    device = _run(body)
    assert not device.sender_running and device.state is LinkState.DOWN
    assert "sacn-lights" not in {t.name for t in threading.enumerate()}
    terminated = [p for p in captured[0].data_packets() if p.stream_terminated]
    assert sorted(p.universe for p in terminated) == [3, 3, 3, 4, 4, 4]


def test_multicast_per_universe_on_loopback_with_discovery() -> None:
    fixtures = [Fixture("a", PROFILES["dimmer"], 1, 1), Fixture("b", PROFILES["dimmer"], 263, 1)]
    port = free_udp_port()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        captures = {}
        for group in (multicast_group(1), multicast_group(263), DISCOVERY_GROUP):
            sock = _group_socket(group, port)
            _, captures[group] = await loop.create_datagram_endpoint(E131Capture, sock=sock)
        assert multicast_group(263) == "239.255.1.7" and DISCOVERY_GROUP == "239.255.250.214"
        device = SacnDevice("mc", fixtures, port=port, bind_address=LOCAL, ttl=0)
        await device.async_start()
        try:
            device.set_many({"a.intensity": 0.2, "b.intensity": 0.4})
            one = await captures["239.255.0.1"].wait_for(lambda p: p.slots[0] == 51)
            other = await captures["239.255.1.7"].wait_for(lambda p: p.slots[0] == 102)
            assert (one.universe, other.universe) == (1, 263)
            assert all(p.universe == 263 for p in captures["239.255.1.7"].data_packets())
            await async_wait_until(lambda: bool(captures[DISCOVERY_GROUP].datagrams))
            found = parse_discovery_packet(captures[DISCOVERY_GROUP].datagrams[0])
            assert found.universes == (1, 263) and found.cid == device.cid.bytes
            assert device.target == f"multicast 239.255.0.1:{port} (+1 more universes)"
        finally:
            await device.async_stop()
            for capture in captures.values():
                capture.close()

    run_loop(main)


def _group_socket(group: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((group, port))
    membership = socket.inet_aton(group) + socket.inet_aton(LOCAL)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    return sock


def test_the_sacn_librarys_receiver_decodes_the_same_slots() -> None:
    port = free_udp_port()
    receiver = sacn.sACNreceiver(bind_address=LOCAL, bind_port=port)
    got: list[Any] = []
    receiver.register_listener("universe", got.append, universe=3)
    receiver.start()
    try:
        async def body(device: SacnDevice, cap: E131Capture) -> None:
            device.set_many({"key.intensity": 0.75, "key.cct": 3200})
            await async_wait_until(lambda: any(p.dmxData[9] == 0xBF for p in got))

        _run(body, target=f"{LOCAL}:{port}")
    finally:
        receiver.stop()
    packet = next(p for p in got if p.dmxData[9] == 0xBF)
    assert tuple(packet.dmxData[9:13]) == (0xBF, 0xFF, 0x21, 0xAF)
    assert packet.universe == 3 and packet.sourceName == "stagectl" and packet.priority == 100


def test_patch_errors_are_refused_at_construction() -> None:
    overlapping = [Fixture("key", PROFILES["rgbw"], 1, 1), Fixture("fill", PROFILES["dimmer16"], 1, 4)]
    both = r"'key' \(universe 1, slots 1-4\) and 'fill' \(universe 1, slots 4-5\) overlap"
    with pytest.raises(FixtureError, match=both):
        SacnDevice("x", overlapping)
    with pytest.raises(FixtureError, match="beyond 512"):
        SacnDevice("x", [Fixture("wide", PROFILES["rgbw16"], 1, 506)])
    with pytest.raises(FixtureError, match="no fixtures"):
        SacnDevice("x", [])
    with pytest.raises(ValueError, match="multicast address"):
        SacnDevice("x", _fixtures(), target="239.255.0.1")
    with pytest.raises(ValueError, match="63 bytes"):
        SacnDevice("x", _fixtures(), source_name="é" * 32)


def test_features_describe_looks_zones_and_fades() -> None:
    device = SacnDevice("x", _fixtures(), target="127.0.0.1", cid=uuid.UUID(int=7))
    assert device.target == "127.0.0.1:5568" and device.cid == uuid.UUID(int=7)
    key_cct = device.feature("key.cct")
    assert (key_cct.minimum, key_cct.maximum, key_cct.fade.value, key_cct.zone_value, key_cct.zone) == (
        2700.0, 6500.0, "mired", "cct_k", "key-light")
    intensity = device.feature("edge.intensity")
    assert (intensity.fade.value, intensity.zone_value, intensity.zone) == ("linear", "level", None)
    assert [f.name for f in device.features if f.name.startswith("kick.")] == [
        "kick.intensity", "kick.cct", "kick.red", "kick.green", "kick.blue", "kick.white"]
    assert device.feature("kick.red").zone_value is None
    assert "edge.cct" not in {f.name for f in device.features}


def test_a_sender_that_cannot_bind_is_down_with_the_reason_and_keeps_retrying() -> None:
    events = EventQueue()

    async def down() -> None:
        device = SacnDevice("lights", _fixtures(), target="127.0.0.1:9", bind_address="192.0.2.1",
                            events=events, poll_s=0.05, timeout_s=0.2, retry_initial_s=0.02, retry_max_s=0.05)
        await device.async_start()
        try:
            await async_wait_until(lambda: device.state in (LinkState.DOWN, LinkState.RECONNECTING))
            assert device.last_error is not None and "cannot bind 192.0.2.1" in device.last_error
            with pytest.raises(DeviceError, match=r"cannot bind 192\.0\.2\.1"):
                await device.async_set("key.intensity", 0.5, timeout=10.0)
            assert device.universe_data(3)[9] == 0x80  # kept for when the sender runs
            errors = device.errors
            await async_wait_until(lambda: device.errors > errors)  # it keeps retrying
            assert not device.sender_running
        finally:
            await device.async_stop()

    run_loop(down)
    warnings = [e for e in events.drain() if e.level is Level.WARNING]
    assert len(warnings) == 1 and "not answering" in warnings[0].message


def test_sends_without_network_io_on_the_loop() -> None:
    async def body(device: SacnDevice, cap: E131Capture) -> None:
        started = time.perf_counter()
        for step in range(200):
            device.set("key.intensity", step / 199)
            await asyncio.sleep(0)
        assert time.perf_counter() - started < 0.5
        last = await cap.wait_for(lambda p: p.universe == 3 and p.slots[9:11] == b"\xff\xff")
        assert last.slots[9:11] == b"\xff\xff"  # the newest value always goes out
        assert device.datagrams_dropped == 0 and device.datagrams_sent > 0

    _run(body)


def _library_packet(**kwargs: Any) -> bytes:
    packet = sacn.DataPacket(cid=tuple(range(16)), sourceName="desk", universe=7, dmxData=(1, 2, 3), **kwargs)
    return bytes(packet.getBytes())


@pytest.mark.parametrize(("offset", "value", "message"), [
    (1, 0x11, "preamble size"), (3, 1, "post-amble"), (4, ord("X"), "ACN packet identifier"),
    (16, 0x60, "root flags"), (17, 0x00, "root length"), (21, 0x08, "root vector"),
    (38, 0x60, "framing flags"), (43, 0x01, "framing vector"), (108, 201, "priority 201"),
    (112, 0x01, "reserved option bits"), (113, 0xFA, "universe 64007"), (115, 0x60, "DMP flags"),
    (117, 0x01, "DMP vector"), (118, 0xA0, "address and data type"), (120, 1, "first property address"),
    (122, 2, "address increment"), (124, 0x00, "property value count"),
])
def test_the_test_parser_is_strict(offset: int, value: int, message: str) -> None:
    """tests/e131.py reads the sacn library's own packets, and refuses each broken fixed field."""
    good = _library_packet(priority=150, sequence=9)
    parsed = parse_data_packet(good)
    assert (parsed.universe, parsed.priority, parsed.sequence, parsed.source_name) == (7, 150, 9, "desk")
    assert parsed.slots[:4] == bytes([1, 2, 3, 0]) and parsed.cid == bytes(range(16))
    broken = bytearray(good)
    broken[offset] = value
    with pytest.raises(E131Error, match=message):
        parse_data_packet(bytes(broken))
    with pytest.raises(E131Error, match=r"126\.\.638"):
        parse_data_packet(good[:100])
    named = bytearray(good)
    named[44:108] = b"x" * 64
    with pytest.raises(E131Error, match="NUL-terminated"):
        parse_data_packet(bytes(named))
