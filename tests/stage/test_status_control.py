"""The ``control`` part of ``--status-json``: the control-in's counters, as a JSON object."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from stagectl.control.server import REJECT_REASONS, ControlServer
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.runtime import Runtime
from stagectl.stage.status import control_dict
from tests.control.test_control import Desk, FakeActions


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime("status-control-io")
    rt.start()
    yield rt
    rt.stop()


def test_control_counters_in_the_status_json(runtime: Runtime) -> None:
    server = ControlServer(Endpoint("127.0.0.1", 0), FakeActions(), passcode="40718263", events=EventQueue())
    runtime.call_sync(server.async_start())
    desk = Desk(server)
    for code in ("0", "1", "2", "3", "40718263"):  # three typos, one that starts a wait, the right one
        desk.send("/stagectl/auth", code)
        desk.reply()
    desk.send("/stagectl/cue/go", 1, types="i")
    assert desk.reply()[1:] == ["error", "not authenticated: send /stagectl/auth <passcode> first"]
    desk.close()
    control = json.loads(json.dumps(control_dict(server.status())))["control"]
    assert control["received"] == 6 and control["accepted"] == 0
    assert control["rejected_by_reason"] == {**dict.fromkeys(REJECT_REASONS, 0), "bad_passcode": 4,
                                             "locked_out": 1, "not_authenticated": 1}
    assert control["rejected"] == 6 and control["locked_out"] == 1 and control["auth_budget_exhausted"] == 0
    assert control["auth"] == {"attempts": 5, "compared": 4, "accepted": 0, "wrong": 4, "locked_out": 1,
                               "budget_exhausted": 0, "budget_tries": 6}
    assert control["passcode_required"] and control["sessions"] == 0 and control["queued"] == 0
    assert control["listen"] == str(server.address) and control["running"]
    runtime.call_sync(server.async_stop())


def test_no_control_section_is_null() -> None:
    assert control_dict(None) == {"control": None}
