"""The built-in demo stage, headless and in-process: packets over loopback, health, clean stop."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time

import pytest

from stagectl.app import run_headless
from stagectl.config.load import default_stage
from stagectl.stage.runner import StageRunner
from tests.support.network import free_udp_port
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile
from tracking.freed.codec import FreeDPosition, encode_d1
from tracking.simulated_source import SimulatedFreeDSource, SimulatedOpenTrackIOSource

PACKETS = 72
"""Three seconds of each demo simulator (genlocked, 23.976 Hz): a datagram in flight is no 10 %."""


def test_demo_stage_receives_at_least_90_percent_of_the_simulators_packets() -> None:
    runner = StageRunner(default_stage())
    try:
        sources = runner.stage.sources
        assert [type(s) for s in sources] == [SimulatedFreeDSource, SimulatedOpenTrackIOSource]
        simulators = []
        for source in sources:
            assert isinstance(source, SimulatedFreeDSource | SimulatedOpenTrackIOSource)
            assert source.simulator is not None
            simulators.append(source.simulator)
        # However long a loaded machine takes to send them: the ratio below is what is judged.
        wait_until(lambda: all(s.sent >= PACKETS for s in simulators), timeout_s=60.0,
                   detail=lambda: [s.sent for s in simulators])

        async def counts() -> list[tuple[int, int, int, int]]:
            # Read on the loop, where every one of them changes: the four agree with each other.
            return [(sim.sent, source.health.accepted, source.health.rejected, source.camera.delivered)
                    for sim, source in zip(simulators, sources, strict=True)]

        for source, (sent, received, rejected, delivered) in zip(
                sources, runner.runtime.call_sync(counts(), 10.0), strict=True):
            assert received >= 0.9 * sent, f"{source.name}: {received}/{sent}"
            assert rejected == 0
            assert delivered == received
            assert source.camera.latest is not None
        otio = runner.stage.cameras["B"].latest
        assert otio is not None and otio.timecode_source == "tracker" and otio.lens is not None
        assert otio.timecode is not None and otio.timecode.rate == runner.stage.config.frame_rate  # genlocked
        assert otio.lens.focal_length_mm is not None and 24.0 <= otio.lens.focal_length_mm <= 70.0
        assert runner.stage.sources[1].health.has_sequence and runner.stage.sources[1].health.lost == 0
    finally:
        runner.close()


CLOSE_HANG_S = 5.0
"""A close that waits on anything beyond its own stop budgets (0.9 s in all) takes longer than this."""


def test_closing_the_stage_leaves_no_thread_and_frees_the_ports(caplog: pytest.LogCaptureFixture) -> None:
    before = set(threading.enumerate())
    runner = StageRunner(default_stage())
    ports = [s.bound for s in runner.stage.sources]
    wait_until(lambda: all(s.health.accepted > 0 for s in runner.stage.sources))  # running, not starting
    caplog.set_level(logging.WARNING, logger="stagectl")
    caplog.clear()
    started = time.monotonic()
    runner.close()
    took = time.monotonic() - started
    # A stage that needs more than its stop budget is stopped anyway, with a warning: none means
    # every source and the loop stopped cleanly, however loaded the machine.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert took < CLOSE_HANG_S, took
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []
    for endpoint in ports:
        assert endpoint is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((endpoint.host, endpoint.port))  # would raise if still held


def test_headless_status_lines_follow_the_contract() -> None:
    runner = StageRunner(default_stage())
    out = io.StringIO()
    try:
        # Lines are due 1 s and 2 s after the start; one comes late but is not lost (steady ticks).
        run_headless(runner, duration_s=2.2, status_json=True, out=out)
    finally:
        runner.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    for cam in lines[-1]["cameras"].values():
        assert cam["state"] == "up"
        x, y, z = cam["position_m"]
        assert -5 < x < 5 and -4 < y < 1 and 0.5 < z < 3  # metres, internal axes, on the stage
    # The control-in's counters are part of the contract: nothing sent to it yet, none rejected.
    control = lines[-1]["control"]
    assert control["running"] and control["passcode_required"] is False
    assert control["received"] == 0 and control["rejected"] == 0 and control["auth"]["attempts"] == 0


STOP_LATENCY_S = 0.5
"""From the stop to the run's return: milliseconds when it waits on the stop; well under the 0.9 s
a run that slept until its next status line would take."""


def test_stop_event_ends_the_headless_run_promptly() -> None:
    runner = StageRunner(default_stage())
    stop = threading.Event()
    stopped_at: list[float] = []
    out = io.StringIO()

    def press_stop() -> None:
        stopped_at.append(time.monotonic())
        stop.set()

    timer = threading.Timer(0.1, press_stop)
    try:
        started = time.monotonic()
        timer.start()
        run_headless(runner, duration_s=None, status_json=True, out=out, stop=stop)
        returned = time.monotonic()
    finally:
        timer.cancel()
        runner.close()
    assert stopped_at[0] - started < 1.0, "the stop came after the first status line was due"
    assert out.getvalue() == ""  # it did not run on to its first status line (due 1 s after the start)
    assert returned - stopped_at[0] < STOP_LATENCY_S, returned - stopped_at[0]


def test_two_cameras_share_one_freed_port_told_apart_by_camera_id() -> None:
    port = free_udp_port()
    stage = (StageFile("shared")
             .source("A", "freed", listen=f"127.0.0.1:{port}", camera_id=1)
             .source("B", "freed", listen=f"localhost:{port}", camera_id=2))  # the same port, spelt apart
    runner = StageRunner(stage.config())
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for cam_id, x_mm in ((1, 1000.0), (2, -2000.0), (3, 0.0), (1, 1500.0)):
                pos = FreeDPosition(cam_id, 0.0, 0.0, 0.0, x_mm, 0.0, 0.0, 0, 0, 0)
                sock.sendto(encode_d1(pos), ("127.0.0.1", port))
        a, b = runner.stage.cameras["A"], runner.stage.cameras["B"]
        wait_until(lambda: a.delivered >= 2 and b.delivered >= 1,
                   detail=lambda: (a.delivered, b.delivered))
        assert (a.delivered, b.delivered) == (2, 1)
        assert a.latest is not None and a.latest.translation_m[0] == 1.5
        assert b.latest is not None and b.latest.translation_m[0] == -2.0
        owner, peer = runner.stage.sources
        assert owner.health.rejected_by_reason == {"camera_id": 1}  # id 3: nobody's
        assert (owner.health.received, peer.health.received) == (3, 1)
        assert owner.bound == peer.bound
    finally:
        runner.close()
