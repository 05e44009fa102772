"""OSC control-in against hostile senders on loopback: passcode guessing from many addresses, a desk
that must keep working, rejection floods from rotating senders, forged log lines and command floods
that must not hold the I/O loop. Real UDP sockets bound to different 127.x.y.z addresses (Linux routes
all of 127/8 to lo); every assertion is on the server's own counters, none on wall time."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pythonosc import osc_bundle_builder
from pythonosc.osc_message_builder import OscMessageBuilder

from stagectl.control.auth import GLOBAL_BURST, GLOBAL_REFILL_S
from stagectl.control.pacing import MESSAGES_PER_TURN
from stagectl.control.server import ControlServer
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.logutil import BUDGET_BURST, BUDGET_PER_S
from stagectl.core.runtime import Runtime
from tests.control.test_control import Desk, FakeActions
from tests.support.polling import wait_until

PASSCODE = "7291"
"""A 4-digit code (the stage file refuses it; the server takes what it is given): the budget alone must
keep it from being found."""


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime("control-hostile-io")
    rt.start()
    yield rt
    rt.stop()


def _start(runtime: Runtime, **kwargs: Any) -> tuple[ControlServer, FakeActions]:
    actions = FakeActions()
    server = ControlServer(Endpoint("127.0.0.1", 0), actions, events=EventQueue(), **kwargs)
    runtime.call_sync(server.async_start())
    return server, actions


def _addresses(count: int) -> list[str]:
    """``count`` distinct loopback addresses other than 127.0.0.1."""
    return [f"127.{1 + i // 250}.{i % 250}.{1 + i % 7}" for i in range(count)]


def _auth_from(server: ControlServer, host: str, codes: list[str]) -> list[list[Any]]:
    desk = Desk(server, host)
    try:
        for code in codes:
            desk.send("/stagectl/auth", code)
        return [desk.reply() for _ in codes]
    finally:
        desk.close()


def test_guesses_from_many_addresses_spend_one_stage_wide_budget(runtime: Runtime) -> None:
    server, actions = _start(runtime, passcode=PASSCODE)
    guesses = iter(f"{n:04d}" for n in range(10000) if f"{n:04d}" != PASSCODE)
    started = time.monotonic()
    replies: list[list[Any]] = []
    hosts = _addresses(300)
    for index, host in enumerate(hosts):  # 5 guesses each: within any per-address allowance
        codes = [next(guesses) for _ in range(5)]
        if index == 250:
            codes[1] = PASSCODE  # the right one, second from a fresh address
        replies += _auth_from(server, host, codes)
    elapsed = time.monotonic() - started
    assert [r for r in replies if r[1] == "ok"] == []
    status = server.status()
    assert status.sessions == 0 and actions.calls == []
    auth = status.auth
    assert auth["attempts"] == 1500
    # Only the burst, plus what the budget earned back while the test ran, was even compared.
    assert auth["compared"] <= GLOBAL_BURST + 1 + int(elapsed / GLOBAL_REFILL_S), auth
    assert auth["compared"] + auth["locked_out"] + auth["budget_exhausted"] == 1500
    assert status.rejected["auth_busy"] == auth["budget_exhausted"] >= 1500 - GLOBAL_BURST - 10
    busy = [r[2] for r in replies if "on this stage" in r[2]]
    assert busy and all(re.fullmatch(r"too many wrong passcodes on this stage; wait \d+ s before the next "
                                     r"attempt", text) for text in busy), busy[:3]


def test_wrong_passcodes_from_the_desks_own_address_never_lock_it_out(runtime: Runtime) -> None:
    server, actions = _start(runtime, passcode=PASSCODE)
    desk = Desk(server)  # 127.0.0.1
    desk.send("/stagectl/auth", PASSCODE)
    assert desk.reply()[1] == "ok"
    replies = _auth_from(server, "127.0.0.1", ["0000"] * 12)  # another socket on the desk's address
    assert {r[2] for r in replies} == {"wrong passcode"}  # no wait imposed, nothing locked
    desk.send("/stagectl/cue/go")
    assert desk.reply()[1] == "ok"
    desk.state(4)
    desk.send("/stagectl/auth", PASSCODE)  # Companion re-sends the passcode when it reconnects
    assert desk.reply()[1] == "ok"
    assert actions.calls == [("cue_go",)]
    assert server.status().rejected["locked_out"] == 0 and server.status().auth["locked_out"] == 0
    desk.close()


def test_a_desk_that_logged_in_before_gets_back_in_while_strangers_spend_the_budget(runtime: Runtime) -> None:
    server, actions = _start(runtime, passcode=PASSCODE, auth_idle_s=0.3)
    desk = Desk(server)
    desk.send("/stagectl/auth", PASSCODE)
    assert desk.reply()[1] == "ok"
    for host in _addresses(GLOBAL_BURST + 5):
        _auth_from(server, host, ["0000"])
    newcomer = _auth_from(server, "127.200.0.1", [PASSCODE])[0]
    assert newcomer[1] == "error" and "on this stage" in newcomer[2]  # not compared: no reply says "right"
    assert server.status().auth["budget_exhausted"] >= 5
    wait_until(lambda: server.status().sessions == 0, what="the desk's session to end (idle)")
    desk.send("/stagectl/auth", PASSCODE)
    assert desk.reply()[1] == "ok"
    desk.send("/stagectl/blackout")
    assert desk.reply()[1] == "ok" and actions.calls == [("blackout",)]
    desk.close()


def test_rejections_from_rotating_senders_stay_within_the_log_budget(runtime: Runtime) -> None:
    server, _ = _start(runtime, passcode=PASSCODE)
    started = time.monotonic()
    hosts = _addresses(300)
    for host in hosts:
        desk = Desk(server, host)
        desk.send("/stagectl/cue/go")  # not authenticated: rejected, once per sender
        assert desk.reply()[1] == "error"
        desk.close()
    elapsed = time.monotonic() - started
    lines = [e for e in server.events.drain() if e.kind == "rejected"]
    assert len(lines) <= BUDGET_BURST + 1 + int(elapsed * BUDGET_PER_S), (len(lines), elapsed)
    assert server.status().rejected["not_authenticated"] == 300
    held = server.status().log_suppressed
    assert held == 300 - len(lines) > 0
    time.sleep(1.5 / BUDGET_PER_S)  # let the budget earn a line back
    last = Desk(server, "127.250.0.1")
    last.send("/stagectl/cue/go")
    assert last.reply()[1] == "error"
    last.close()
    [summary] = [e for e in server.events.drain() if e.kind == "rejected"]
    assert summary.message.endswith(f"({held} similar suppressed)"), summary.message


FORGED = "/stagectl/x\n12:00:00 INFO    stagectl.events: control: 127.0.0.1: authenticated\x1b[2K\r"


def test_a_newline_in_an_address_cannot_forge_a_log_line(runtime: Runtime,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    server, _ = _start(runtime)
    caplog.set_level(logging.DEBUG, logger="stagectl")
    desk = Desk(server)
    desk.send(FORGED)  # python-osc sends it as written
    assert desk.reply()[1] == "error"
    desk.send_raw(b"/stagectl/\n\x00\x00,z\x00\x00")  # malformed: the decoder's message quotes the address
    assert desk.reply()[1] == "error"
    desk.close()
    events = server.events.drain()
    assert len(events) >= 3  # listening, and the two rejections
    for event in events:
        assert event.message.isprintable() and "\n" not in event.format(), event.message
    assert any("/stagectl/x\\n12:00:00 INFO" in e.message for e in events)
    assert any("\\x1b[2K\\r" in e.message for e in events)
    assert any("malformed OSC packet: /stagectl/\\n:" in e.message for e in events)
    stage_lines = [r.getMessage() for r in caplog.records if r.name.startswith("stagectl")]
    assert stage_lines and all("\n" not in line and "\r" not in line for line in stage_lines), stage_lines
    last_error = server.status().last_error
    assert last_error is not None and last_error.isprintable()


@pytest.mark.parametrize("value", ["notes=wide\nTC 01:00:00:00", "scene=12\tA", "notes=\u2028x",
                                   "take=\x1b[2J"])
def test_a_slate_value_with_control_characters_is_refused(runtime: Runtime, value: str) -> None:
    server, actions = _start(runtime)
    desk = Desk(server)
    desk.send("/stagectl/take/record", value)
    _, status, text = desk.reply()
    assert (status, actions.calls) == ("error", []) and "contains control characters" in text
    assert server.status().rejected["bad_arguments"] == 1
    desk.close()


def _bundle(count: int) -> bytes:
    bundle = osc_bundle_builder.OscBundleBuilder(osc_bundle_builder.IMMEDIATELY)
    for n in range(count):
        message = OscMessageBuilder(address="/stagectl/device/wall-1/brightness")
        message.add_arg(float(n))
        bundle.add_content(message.build())
    return bundle.build().dgram


def test_a_command_flood_is_carried_out_in_turns_between_other_loop_callbacks(runtime: Runtime) -> None:
    """A loop callback that re-schedules itself runs once per loop iteration; between two of its runs the
    server may carry out at most one turn of messages, however many arrived in one datagram."""
    server, actions = _start(runtime)
    datagrams = 4
    seen: list[int] = []

    async def watch() -> None:
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def tick() -> None:
            seen.append(server.handled)
            dropped = server.rejected_by_reason.get("overload", 0) * 64
            if server.handled + dropped >= datagrams * 64 or len(seen) > 1_000_000:
                finished.set_result(None)
            else:
                loop.call_soon(tick)

        loop.call_soon(tick)
        await finished

    watching = runtime.submit(watch())
    wait_until(lambda: seen, what="the watching callback to run")
    desk = Desk(server)
    for _ in range(datagrams):
        desk.send_raw(_bundle(64))
    watching.result(timeout=30)
    desk.close()
    status = server.status()
    dropped = status.rejected.get("overload", 0) * 64
    assert status.handled + dropped == datagrams * 64 and status.handled >= 2 * 64
    assert len(actions.calls) == status.handled
    steps = [b - a for a, b in itertools.pairwise(seen)]
    assert max(steps) <= MESSAGES_PER_TURN, max(steps)  # the old server: 64 in one callback
    assert sum(1 for step in steps if step) >= status.handled // MESSAGES_PER_TURN
