"""OSC control-in against real UDP senders on loopback: python-osc (SimpleUDPClient and its builders,
an encoder and decoder independent of ours), liblo's oscsend/oscdump, and hand-made bad packets."""

from __future__ import annotations

import logging
import math
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythonosc import osc_bundle_builder
from pythonosc.osc_message import OscMessage as PyOscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from stagectl.control.auth import AllowList, parse_allow
from stagectl.control.server import REJECT_REASONS, ControlError, ControlServer
from stagectl.core.errors import DecodeError, StageError
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.osc import decode_packet
from stagectl.core.runtime import Runtime
from tests.support.oscdump import OSCDUMP, OscDump
from tests.support.polling import wait_until

OSCSEND = shutil.which("oscsend")
REPLY_TIMEOUT_S = 10.0
"""How long a desk waits for a reply (only a failing test waits this long)."""


class FakeActions:
    """Records every call; a look called 'Missing' is refused, device 'boom' has a bug."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.values: dict[str, float | int | bool | str] = {"look": "Default", "cue": "1",
                                                            "blackout": False, "recording": False}

    def _did(self, *call: Any) -> None:
        self.calls.append(call)

    def cue_go(self) -> str:
        self._did("cue_go")
        return "cue 2 running"

    def cue_back(self) -> str:
        self._did("cue_back")
        return "cue 1 running"

    def cue_goto(self, number: str) -> str:
        self._did("cue_goto", number)
        return f"cue {number} running"

    def look_recall(self, name: str) -> str:
        if name == "Missing":
            raise StageError("no look called 'Missing' (looks: Default, Golden hour)")
        self._did("look_recall", name)
        self.values["look"] = name
        return f"look {name!r} live"

    def device_set(self, device: str, feature: str, value: float | int | bool | str) -> str:
        if device == "boom":
            raise RuntimeError("kaboom")
        self._did("device_set", device, feature, value)
        return f"{device} {feature} = {value}"

    def device_fade(self, device: str, feature: str, value: float, seconds: float) -> str:
        self._did("device_fade", device, feature, value, seconds)
        return f"{device} {feature} fading"

    def blackout(self) -> str:
        self._did("blackout")
        self.values["blackout"] = True
        return "blackout"

    def take_record(self, slate: Mapping[str, str]) -> str:
        self._did("take_record", dict(slate))
        return "recording"

    def take_stop(self) -> str:
        self._did("take_stop")
        return "stopped"

    def hold(self, on: bool) -> str:
        self._did("hold", on)
        return "held" if on else "released"

    def fade_time(self, seconds: float) -> str:
        self._did("fade_time", seconds)
        return f"fade {seconds:g} s"

    def nudge(self, kind: str, amount: float, zone: str = "") -> str:
        self._did("nudge", kind, amount, zone)
        return f"{kind} {amount:+g}"

    def nudge_undo(self) -> str:
        self._did("nudge_undo")
        return "undone"

    def nudge_redo(self) -> str:
        self._did("nudge_redo")
        return "redone"

    def take_note(self, text: str) -> str:
        self._did("take_note", text)
        return "note added"

    def take_flags(self, take_id: int | None, *, circled: bool | None = None,
                   no_good: bool | None = None) -> str:
        self._did("take_flags", take_id, circled, no_good)
        return "flagged"

    def state(self) -> Mapping[str, float | int | str | bool]:
        return dict(self.values)


class Desk:
    """A sender with its own socket (bound to ``host``) that reads replies on that socket."""

    def __init__(self, server: ControlServer, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.target = (server.address.host, server.address.port)

    def send(self, address: str, *args: Any, types: str | None = None) -> None:
        builder = OscMessageBuilder(address=address)
        for index, value in enumerate(args):
            builder.add_arg(value, types[index] if types else None)
        self.send_raw(builder.build().dgram)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def recv(self, timeout: float = REPLY_TIMEOUT_S) -> tuple[str, list[Any]]:
        self.sock.settimeout(timeout)
        message = PyOscMessage(self.sock.recv(65536))
        return message.address, message.params

    def reply(self) -> list[Any]:
        """The next ``/stagectl/reply`` arguments (address, status, text)."""
        address, params = self.recv()
        assert address == "/stagectl/reply", (address, params)
        return params

    def state(self, count: int) -> dict[str, Any]:
        messages = [self.recv() for _ in range(count)]
        return {address.removeprefix("/stagectl/state/"): params[0] for address, params in messages}

    def quiet(self, timeout: float = 0.15) -> bool:
        """Nothing (more) arrives. Call it after :func:`_handled`: by then whatever the server sent is
        already in this socket, so the timeout is a margin, not a guess."""
        self.sock.settimeout(timeout)
        try:
            self.sock.recv(65536)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def runtime(caplog: pytest.LogCaptureFixture) -> Iterator[Runtime]:
    rt = Runtime("control-test-io")
    rt.start()
    yield rt
    rt.stop()
    loop_errors = [r for r in caplog.records if r.name == "stagectl.core"
                   and r.levelno >= logging.ERROR]
    assert loop_errors == []


def _start(runtime: Runtime, actions: FakeActions, **kwargs: Any) -> ControlServer:
    server = ControlServer(Endpoint("127.0.0.1", 0), actions, events=EventQueue(), **kwargs)
    runtime.call_sync(server.async_start())
    return server


@pytest.fixture
def actions() -> FakeActions:
    return FakeActions()


@pytest.fixture
def server(runtime: Runtime, actions: FakeActions) -> Iterator[ControlServer]:
    srv = _start(runtime, actions)
    yield srv
    runtime.call_sync(srv.async_stop())


@pytest.fixture
def desk(server: ControlServer) -> Iterator[Desk]:
    d = Desk(server)
    yield d
    d.close()


def _rejected(server: ControlServer) -> dict[str, int]:
    return {k: v for k, v in server.status().rejected.items() if v}


def _handled(runtime: Runtime, server: ControlServer, received: int) -> None:
    """Wait until the server has taken in ``received`` datagrams and finished with them (a turn of its
    loop after the last one: a datagram is handled, replies sent, within one callback)."""
    wait_until(lambda: server.status().received >= received, detail=server.status)

    async def turn() -> None:
        return None

    runtime.call_sync(turn())


def test_simple_udp_client_fires_a_cue_and_reads_reply_and_state(server: ControlServer,
                                                                 actions: FakeActions) -> None:
    client = SimpleUDPClient(server.address.host, server.address.port)
    client.send_message("/stagectl/cue/go", [])
    replies = [PyOscMessage(client.receive(REPLY_TIMEOUT_S)) for _ in range(5)]
    assert replies[0].address == "/stagectl/reply"
    assert replies[0].params == ["/stagectl/cue/go", "ok", "cue 2 running"]
    assert {m.address: m.params for m in replies[1:]} == {
        "/stagectl/state/look": ["Default"], "/stagectl/state/cue": ["1"],
        "/stagectl/state/blackout": [False], "/stagectl/state/recording": [False]}
    assert actions.calls == [("cue_go",)]
    # The server counts a reply after handing it to the socket: the client may have it first.
    wait_until(lambda: server.status().replies_sent == 5, detail=server.status)
    status = server.status()
    assert (status.received, status.handled, status.replies_sent) == (1, 1, 5)
    client.close()


EVERY_ADDRESS = [
    ("/stagectl/cue/go", (), None, ("cue_go",)),
    ("/stagectl/cue/back", (), None, ("cue_back",)),
    ("/stagectl/cue/3.5/go", (), None, ("cue_goto", "3.5")),
    ("/stagectl/look/Golden%20hour/recall", (), None, ("look_recall", "Golden hour")),
    ("/stagectl/look/Caf%C3%A9 night/recall", (), None, ("look_recall", "Café night")),
    ("/stagectl/look/recall", ("Golden hour",), None, ("look_recall", "Golden hour")),
    ("/stagectl/device/wall-1/brightness", (0.1,), "f", ("device_set", "wall-1", "brightness", 0.1)),
    ("/stagectl/device/wall-1/brightness", (1500,), "i", ("device_set", "wall-1", "brightness", 1500)),
    ("/stagectl/device/wall-1/brightness", (2**40,), "h", ("device_set", "wall-1", "brightness", 2**40)),
    ("/stagectl/device/wall-1/blackout", (True,), "T", ("device_set", "wall-1", "blackout", True)),
    ("/stagectl/device/wall-1/pattern", ("bars",), "s", ("device_set", "wall-1", "pattern", "bars")),
    ("/stagectl/device/key%20light/cct/fade", (5600, 2.5), "id",
     ("device_fade", "key light", "cct", 5600.0, 2.5)),
    ("/stagectl/blackout", (), None, ("blackout",)),
    ("/stagectl/take/record", ("scene=12A", "take=3", "note=a=b c"), None,
     ("take_record", {"scene": "12A", "take": "3", "note": "a=b c"})),
    ("/stagectl/take/record", (), None, ("take_record", {})),
    ("/stagectl/take/stop", (), None, ("take_stop",)),
    ("/stagectl/take/note", ("boom in shot at 0:12",), None, ("take_note", "boom in shot at 0:12")),
    ("/stagectl/take/last/circle", (), None, ("take_flags", None, True, None)),
    ("/stagectl/take/12/ng", (1,), "i", ("take_flags", 12, None, True)),
    ("/stagectl/take/12/clear", (), None, ("take_flags", 12, False, False)),
    ("/stagectl/hold", (1,), "i", ("hold", True)),
    ("/stagectl/hold", (False,), "F", ("hold", False)),
    ("/stagectl/fade", (2.5,), "f", ("fade_time", 2.5)),
    ("/stagectl/nudge/brightness", (0.333,), "f", ("nudge", "brightness", 0.333, "")),
    ("/stagectl/nudge/cct", (-10, "ceiling"), "is", ("nudge", "cct", -10.0, "ceiling")),
    ("/stagectl/nudge/undo", (), None, ("nudge_undo",)),
    ("/stagectl/nudge/redo", (1,), "i", ("nudge_redo",)),
]


@pytest.mark.parametrize(("address", "args", "types", "call"), EVERY_ADDRESS)
def test_every_address(server: ControlServer, desk: Desk, actions: FakeActions, address: str,
                       args: tuple[Any, ...], types: str | None, call: tuple[Any, ...]) -> None:
    desk.send(address, *args, types=types)
    path, status, text = desk.reply()
    assert (path, status) == (address, "ok"), text
    assert actions.calls == [call]
    assert type(actions.calls[0][-1]) is type(call[-1])  # 1500 stays int, 0.1 float, True bool
    state = desk.state(4)
    assert state["look"] == actions.values["look"]
    assert _rejected(server) == {}


def test_ping_echoes_without_auth_and_state_on_request(runtime: Runtime, actions: FakeActions) -> None:
    server = _start(runtime, actions, passcode="s3cret")
    desk = Desk(server)
    desk.send("/stagectl/ping", "abc", 4, types="si")
    assert desk.recv() == ("/stagectl/pong", ["abc", 4])
    desk.send("/stagectl/state")
    assert desk.reply() == ["/stagectl/state", "error",
                            "not authenticated: send /stagectl/auth <passcode> first"]
    desk.send("/stagectl/auth", "s3cret")
    assert desk.reply()[1] == "ok"
    desk.send("/stagectl/state")
    assert desk.state(4) == {"look": "Default", "cue": "1", "blackout": False, "recording": False}
    desk.close()


def test_button_release_is_ignored(runtime: Runtime, server: ControlServer, desk: Desk,
                                   actions: FakeActions) -> None:
    for value, types in ((1.0, "f"), (0.0, "f"), (True, "T"), (False, "F"), (1, "i"), (0, "i")):
        desk.send("/stagectl/cue/go", value, types=types)
    for _ in range(3):
        assert desk.reply()[1] == "ok"
        desk.state(4)
    _handled(runtime, server, 6)
    assert desk.quiet()
    assert actions.calls == [("cue_go",)] * 3
    assert server.status().releases_ignored == 3


BAD_ARGUMENTS = [
    ("/stagectl/device/wall-1/brightness", (math.nan,), "f", "finite number"),
    ("/stagectl/device/wall-1/brightness", (math.inf,), "d", "finite number"),
    ("/stagectl/device/wall-1/brightness", (), None, "takes one value, got 0"),
    ("/stagectl/device/wall-1/brightness", (1.0, 2.0), "ff", "takes one value, got 2"),
    ("/stagectl/device/wall-1/brightness", (b"\x01",), "b", "must be a number"),
    ("/stagectl/device/wall-1/brightness", ([1, 2],), None, "got array"),
    ("/stagectl/device/wall-1/cct/fade", ("warm", 2.0), "sf", "string 'warm'"),
    ("/stagectl/device/wall-1/cct/fade", (5600.0, -1.0), "ff", "0..3600 seconds"),
    ("/stagectl/device/wall-1/cct/fade", (5600.0, 4000.0), "ff", "0..3600 seconds"),
    ("/stagectl/device/wall-1/cct/fade", (5600.0,), "f", "two numbers"),
    ("/stagectl/cue/go", ("now",), "s", "takes no argument, or one number"),
    ("/stagectl/look/recall", (3,), "i", "one string"),
    ("/stagectl/look/%ff/recall", (), None, "not UTF-8"),
    ("/stagectl/look/%20/recall", (), None, "look name is empty"),
    ("/stagectl/take/record", ("scene 12",), "s", "not key=value"),
    ("/stagectl/take/record", ("take=1", "take=2"), "ss", "given twice"),
    ("/stagectl/take/record", ("take=1", 2), "si", "must be a string key=value"),
    ("/stagectl/auth", (), None, "takes one argument: the passcode"),
    ("/stagectl/hold", (), None, "takes one value"),
    ("/stagectl/fade", (7200,), "i", "0..3600 seconds"),
    ("/stagectl/nudge/cct", (1, 2), "ii", "zone name"),
    ("/stagectl/take/note", ("two\nlines",), "s", "printable"),
    ("/stagectl/take/abc/circle", (), None, "store id"),
]


@pytest.mark.parametrize(("address", "args", "types", "expected"), BAD_ARGUMENTS)
def test_bad_arguments_get_an_error_reply(server: ControlServer, desk: Desk, actions: FakeActions,
                                          address: str, args: tuple[Any, ...], types: str | None,
                                          expected: str) -> None:
    desk.send(address, *args, types=types)
    path, status, text = desk.reply()
    assert (path, status) == (address, "error") and expected in text, text
    assert actions.calls == []
    assert _rejected(server) == {"bad_arguments": 1}
    desk.send("/stagectl/ping")  # still serving
    assert desk.recv() == ("/stagectl/pong", [])


@pytest.mark.parametrize("address", ["/stagectl/nope", "/other/cue/go", "/stagectl", "/stagectl/cue/*/go",
                                     "/stagectl/look/x/delete", "/stagectl/cue/1/2/go",
                                     "/stagectl/blackout/now"])
def test_unknown_addresses(server: ControlServer, desk: Desk, address: str) -> None:
    desk.send(address)
    path, status, text = desk.reply()
    assert (path, status) == (address, "error") and "unknown address" in text
    assert _rejected(server) == {"unknown_address": 1}


def test_action_errors_reach_the_sender(server: ControlServer, desk: Desk, actions: FakeActions,
                                        caplog: pytest.LogCaptureFixture) -> None:
    desk.send("/stagectl/look/Missing/recall")
    assert desk.reply() == ["/stagectl/look/Missing/recall", "error",
                            "no look called 'Missing' (looks: Default, Golden hour)"]
    desk.send("/stagectl/device/boom/brightness", 1.0)
    assert desk.reply() == ["/stagectl/device/boom/brightness", "error",
                            "internal error: RuntimeError: kaboom"]
    assert any("kaboom" in (r.exc_text or "") for r in caplog.records if r.name == "stagectl.control")
    assert _rejected(server) == {"action_error": 2}
    desk.send("/stagectl/cue/go")
    assert desk.reply()[1] == "ok"


def _osc_string(text: str) -> bytes:
    raw = text.encode()
    return raw + b"\x00" * (4 - len(raw) % 4)


def _nested(depth: int) -> bytes:
    inner = _osc_string("/stagectl/cue/go") + _osc_string(",")
    for _ in range(depth):
        inner = b"#bundle\x00" + struct.pack(">Qi", 1, len(inner)) + inner
    return inner


MALFORMED = [
    ("truncated argument", _osc_string("/stagectl/device/a/b") + _osc_string(",f") + b"\x3f\x80",
     "needs 4 bytes"),
    ("unknown type tag", _osc_string("/stagectl/cue/go") + _osc_string(",x"), "unknown type tag 'x'"),
    ("no comma", _osc_string("/stagectl/cue/go") + _osc_string("ii") + bytes(8), "must start with ','"),
    ("tag without data", _osc_string("/stagectl/device/a/b") + _osc_string(",i"), "needs 4 bytes, 0 left"),
    ("data without tag", _osc_string("/stagectl/cue/go") + _osc_string(",") + bytes(4), "4 bytes after"),
    ("unterminated address", b"/stagectl/cue/go", "no terminating NUL"),
    ("not utf-8", _osc_string("/stagectl/\xff") .replace(b"\xc3\xbf", b"\xff\xfe"), "not UTF-8"),
    ("negative bundle size", b"#bundle\x00" + struct.pack(">Qi", 1, -4) + _osc_string("/a"), "declares -4"),
    ("oversized bundle element", b"#bundle\x00" + struct.pack(">Qi", 1, 64) + _osc_string("/a"),
     "declares 64"),
    ("nested too deep", _nested(6), "nested deeper than 4"),
    ("garbage", b"\x00\x01\x02\x03garbage!", "neither '/address' nor '#bundle'"),
    ("empty", b"", "empty datagram"),
    ("huge", b"/" + bytes(20000), "packet of 20001 bytes"),
]


@pytest.mark.parametrize(("data", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_packets_are_counted_and_answered(server: ControlServer, desk: Desk, actions: FakeActions,
                                                    data: bytes, expected: str) -> None:
    desk.send_raw(data)
    path, status, text = desk.reply()
    assert (path, status) == ("", "error") and expected in text, text
    assert _rejected(server) == {"malformed": 1} and actions.calls == []
    desk.send("/stagectl/ping")
    assert desk.recv() == ("/stagectl/pong", [])


def test_bundles_run_every_element_in_order(server: ControlServer, desk: Desk, actions: FakeActions) -> None:
    def message(address: str, *args: Any) -> Any:
        builder = OscMessageBuilder(address=address)
        for value in args:
            builder.add_arg(value)
        return builder.build()

    inner = osc_bundle_builder.OscBundleBuilder(osc_bundle_builder.IMMEDIATELY)
    inner.add_content(message("/stagectl/blackout"))
    outer = osc_bundle_builder.OscBundleBuilder(osc_bundle_builder.IMMEDIATELY)
    outer.add_content(message("/stagectl/look/Night/recall"))
    outer.add_content(message("/stagectl/nope"))
    outer.add_content(inner.build())
    outer.add_content(message("/stagectl/cue/go"))
    desk.send_raw(outer.build().dgram)
    assert desk.reply()[:2] == ["/stagectl/look/Night/recall", "ok"]
    desk.state(4)
    assert desk.reply()[:2] == ["/stagectl/nope", "error"]
    assert desk.reply()[:2] == ["/stagectl/blackout", "ok"]
    desk.state(4)
    assert desk.reply()[:2] == ["/stagectl/cue/go", "ok"]
    assert actions.calls == [("look_recall", "Night"), ("blackout",), ("cue_go",)]
    status = server.status()
    assert (status.received, status.handled, _rejected(server)) == (1, 3, {"unknown_address": 1})


def test_passcode_flow(runtime: Runtime, actions: FakeActions) -> None:
    server = _start(runtime, actions, passcode="s3cret", auth_idle_s=1.0)
    desk = Desk(server)
    desk.send("/stagectl/cue/go")
    assert desk.reply()[1:] == ["error", "not authenticated: send /stagectl/auth <passcode> first"]
    desk.send("/stagectl/auth", "guess")
    assert desk.reply() == ["/stagectl/auth", "error", "wrong passcode"]
    desk.send("/stagectl/auth", "s3cret")
    assert desk.reply()[:2] == ["/stagectl/auth", "ok"]
    desk.send("/stagectl/cue/go")
    assert desk.reply()[1] == "ok"
    desk.state(4)
    assert actions.calls == [("cue_go",)]
    time.sleep(1.1)  # idle longer than auth_idle_s (from its last message, before this): the session is gone
    desk.send("/stagectl/cue/back")
    assert desk.reply()[1] == "error"
    assert actions.calls == [("cue_go",)]
    status = server.status()
    assert status.rejected["not_authenticated"] == 2 and status.rejected["bad_passcode"] == 1
    assert status.sessions == 0
    desk.close()


def test_wrong_passcodes_lock_the_sender_out(runtime: Runtime, actions: FakeActions) -> None:
    server = _start(runtime, actions, passcode="1234")
    desk = Desk(server)
    for _ in range(3):  # typos cost nothing
        desk.send("/stagectl/auth", "0000")
        assert desk.reply()[2] == "wrong passcode"
    desk.send("/stagectl/auth", "0000")
    assert desk.reply()[2] == "wrong passcode; wait 1 s before the next attempt"
    desk.send("/stagectl/auth", "1234")  # right, but not even compared while locked out
    assert desk.reply()[2].startswith("too many wrong passcodes; wait")
    time.sleep(1.05)
    desk.send("/stagectl/auth", 1234)  # a desk that sends the digits as an int32
    assert desk.reply()[1] == "ok"
    status = server.status()
    assert status.rejected["bad_passcode"] == 4 and status.rejected["locked_out"] == 1
    assert status.sessions == 1 and status.auth["locked_out"] == 1 and status.auth["compared"] == 5
    desk.close()


def test_senders_outside_the_allow_list_get_nothing(runtime: Runtime, actions: FakeActions) -> None:
    server = _start(runtime, actions, allow=["127.0.0.1"])
    stranger, known = Desk(server, "127.0.0.2"), Desk(server, "127.0.0.1")
    stranger.send("/stagectl/cue/go")
    stranger.send("/stagectl/ping")
    stranger.send_raw(b"garbage")
    _handled(runtime, server, 3)
    assert stranger.quiet()
    known.send("/stagectl/blackout")
    assert known.reply()[1] == "ok"
    assert actions.calls == [("blackout",)]
    assert _rejected(server) == {"not_allowed": 3}
    assert server.status().received == 4
    stranger.close()
    known.close()


def test_default_allow_list_is_loopback_only() -> None:
    default = AllowList()
    assert default.allows("127.0.0.2") and default.allows("::1") and default.allows("::ffff:127.0.0.1")
    assert not default.allows("10.0.0.5") and not default.allows("not-an-ip")
    lan = AllowList(["10.0.0.0/24", "192.168.1.20"])
    assert lan.allows("10.0.0.77") and lan.allows("::ffff:10.0.0.1") and lan.allows("192.168.1.20")
    assert not lan.allows("10.0.1.1") and not lan.allows("127.0.0.1")
    with pytest.raises(ValueError, match=r"allow\[0\] = '10.0.0.1/24' has host bits set: "
                                         r"write \"10.0.0.0/24\" .* \"10.0.0.1\""):
        parse_allow(["10.0.0.1/24"])
    with pytest.raises(ValueError, match=r"allow\[1\] = 'stage-pc' is not an IP address"):
        parse_allow(["10.0.0.1", "stage-pc"])
    with pytest.raises(ValueError, match="passcode is empty"):
        ControlServer(Endpoint("127.0.0.1", 0), FakeActions(), passcode="")


@pytest.mark.skipif(OSCSEND is None or OSCDUMP is None, reason="liblo-tools (oscsend, oscdump) not installed")
def test_liblo_oscsend_with_replies_to_a_fixed_port(runtime: Runtime, actions: FakeActions) -> None:
    assert OSCSEND is not None
    dump = OscDump()
    server = _start(runtime, actions, reply_port=dump.port)
    try:
        target = ["127.0.0.1", str(server.address.port)]
        subprocess.run([OSCSEND, *target, "/stagectl/look/Golden%20hour/recall"], check=True, timeout=5)
        reply = dump.take(1)[0]
        assert reply[1:] == ["/stagectl/reply", "sss", '"/stagectl/look/Golden%20hour/recall"', '"ok"',
                             '"look', "'Golden", "hour'", 'live"']
        state = {line[1]: line[2:] for line in dump.take(4)}
        assert state["/stagectl/state/look"] == ["s", '"Golden', 'hour"']
        assert state["/stagectl/state/blackout"] == ["F", "#F"]  # oscdump prints false as #F
        subprocess.run([OSCSEND, *target, "/stagectl/device/wall-1/cct/fade", "fd", "5600", "2.5"],
                       check=True, timeout=5)
        assert dump.take(1)[0][3:5] == ['"/stagectl/device/wall-1/cct/fade"', '"ok"']
        subprocess.run([OSCSEND, *target, "/stagectl/take/record", "ss", "scene=4", "take=2"],
                       check=True, timeout=5)
        wait_until(lambda: len(actions.calls) >= 3, what="the server to carry out the take record",
                   detail=lambda: actions.calls)  # oscsend returns once sent, not once handled
        assert actions.calls == [("look_recall", "Golden hour"),
                                 ("device_fade", "wall-1", "cct", 5600.0, 2.5),
                                 ("take_record", {"scene": "4", "take": "2"})]
    finally:
        dump.close()


def test_publish_state_reaches_recent_senders(runtime: Runtime, server: ControlServer, desk: Desk,
                                              actions: FakeActions) -> None:
    desk.send("/stagectl/cue/go")
    desk.reply()
    desk.state(4)
    actions.values.update({"look": "Sunset", "level key": 0.5, "nan": math.nan, "big": 2**40})

    async def publish() -> int:
        return server.publish_state()

    assert runtime.call_sync(publish()) == 1
    state = desk.state(6)
    assert state["look"] == "Sunset" and state["level%20key"] == 0.5 and state["big"] == float(2**40)
    assert "nan" not in state and server.status().state_values_skipped == 1


def test_a_port_in_use_is_a_clear_error(runtime: Runtime, server: ControlServer) -> None:
    other = ControlServer(server.address, FakeActions())
    port = server.address.port
    with pytest.raises(ControlError, match=rf"cannot listen for OSC control on 127\.0\.0\.1:{port}: "):
        runtime.call_sync(other.async_start())
    elsewhere = ControlServer(Endpoint("203.0.113.77", 0), FakeActions())  # TEST-NET-3: no machine has it
    with pytest.raises(ControlError, match="not an address of this machine"):
        runtime.call_sync(elsewhere.async_start())
    assert set(server.status().rejected) == set(REJECT_REASONS)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_decode_error(data: bytes) -> None:
    try:
        messages = decode_packet(data)
    except DecodeError as exc:
        assert exc.reason in {"empty", "truncated", "string", "type_tag", "bundle", "limit", "trailing"}
    else:
        assert all(m.address.startswith("/") and len(m.type_tags) == len(m.args) for m in messages)


_ARG = st.one_of(st.integers(-2**31, 2**31 - 1), st.text(max_size=20).filter(lambda s: "\x00" not in s),
                 st.booleans(), st.floats(width=32, allow_nan=False),
                 st.binary(min_size=1, max_size=9))  # python-osc refuses to build empty blobs


@settings(max_examples=200, deadline=None)
@given(st.lists(_ARG, max_size=6))
def test_python_osc_messages_decode_the_same(args: list[Any]) -> None:
    builder = OscMessageBuilder(address="/stagectl/x")
    for value in args:
        builder.add_arg(value)
    [decoded] = decode_packet(builder.build().dgram)
    assert list(decoded.args) == args and decoded.address == "/stagectl/x"
