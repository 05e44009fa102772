"""The built-in demo stage, headless and in-process: packets over loopback, health, clean stop."""

from __future__ import annotations

import io
import json
import threading
import time

from stagectl.app import StageRunner, run_headless
from stagectl.config import default_stage
from tracking.simulated_source import SimulatedFreeDSource


def test_demo_stage_receives_at_least_90_percent_of_the_simulators_packets() -> None:
    runner = StageRunner(default_stage())
    try:
        time.sleep(3.0)
        sources = [s for s in runner.stage.sources if isinstance(s, SimulatedFreeDSource)]
        assert len(sources) == 2
        for source in sources:
            assert source.simulator is not None
            sent = source.simulator.sent
            received = source.health.accepted
            assert sent >= 0.9 * 3.0 * 50, f"{source.name} sent only {sent}"
            assert received >= 0.9 * sent, f"{source.name}: {received}/{sent}"
            assert source.health.rejected == 0
            assert source.camera.delivered == received
            assert source.camera.latest is not None
    finally:
        runner.close()


def test_closing_the_stage_leaves_no_thread_and_frees_the_ports() -> None:
    before = set(threading.enumerate())
    runner = StageRunner(default_stage())
    ports = [s.bound for s in runner.stage.sources]
    time.sleep(0.3)
    started = time.monotonic()
    runner.close()
    took = time.monotonic() - started
    assert took < 1.0
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []
    import socket

    for endpoint in ports:
        assert endpoint is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((endpoint.host, endpoint.port))  # would raise if still held


def test_headless_status_lines_follow_the_contract() -> None:
    runner = StageRunner(default_stage())
    out = io.StringIO()
    try:
        run_headless(runner, duration_s=2.2, status_json=True, out=out)
    finally:
        runner.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    for cam in lines[-1]["cameras"].values():
        assert cam["state"] == "up"
        x, y, z = cam["position_m"]
        assert -5 < x < 5 and -4 < y < 1 and 0.5 < z < 3  # metres, internal axes, on the stage


def test_stop_event_ends_the_headless_run_promptly() -> None:
    runner = StageRunner(default_stage())
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    try:
        run_headless(runner, duration_s=None, status_json=False, stop=stop)
    finally:
        runner.close()
    assert time.monotonic() - started < 1.5
