"""The built-in demo stage, headless and in-process: packets over loopback, health, clean stop."""

from __future__ import annotations

import io
import json
import threading
import time

from stagectl.app import run_headless
from stagectl.config.load import default_stage
from stagectl.stage.runner import StageRunner
from tracking.simulated_source import SimulatedFreeDSource, SimulatedOpenTrackIOSource


def test_demo_stage_receives_at_least_90_percent_of_the_simulators_packets() -> None:
    runner = StageRunner(default_stage())
    try:
        time.sleep(3.0)
        sources = runner.stage.sources
        assert [type(s) for s in sources] == [SimulatedFreeDSource, SimulatedOpenTrackIOSource]
        for source in sources:
            assert isinstance(source, SimulatedFreeDSource | SimulatedOpenTrackIOSource)
            assert source.simulator is not None
            sent = source.simulator.sent
            received = source.health.accepted
            assert sent >= 0.9 * 3.0 * 50, f"{source.name} sent only {sent}"
            assert received >= 0.9 * sent, f"{source.name}: {received}/{sent}"
            assert source.health.rejected == 0
            assert source.camera.delivered == received
            assert source.camera.latest is not None
        otio = runner.stage.cameras["B"].latest
        assert otio is not None and otio.timecode_source == "tracker" and otio.lens is not None
        assert otio.lens.focal_length_mm is not None and 24.0 <= otio.lens.focal_length_mm <= 70.0
        assert runner.stage.sources[1].health.has_sequence and runner.stage.sources[1].health.lost == 0
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


def test_two_cameras_share_one_freed_port_told_apart_by_camera_id() -> None:
    import socket

    from stagectl.config.load import parse_stage
    from tests.helpers import free_udp_port
    from tracking.freed.codec import FreeDPosition, encode_d1

    port = free_udp_port()
    config = parse_stage(f"""
[stage]
name = "shared"
frame_rate = 25
[[cameras]]
name = "A"
[[cameras]]
name = "B"
[[sources]]
camera = "A"
protocol = "freed"
listen = "127.0.0.1:{port}"
camera_id = 1
[[sources]]
camera = "B"
protocol = "freed"
listen = "localhost:{port}"
camera_id = 2
""")
    runner = StageRunner(config)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for cam_id, x_mm in ((1, 1000.0), (2, -2000.0), (3, 0.0), (1, 1500.0)):
                pos = FreeDPosition(cam_id, 0.0, 0.0, 0.0, x_mm, 0.0, 0.0, 0, 0, 0)
                sock.sendto(encode_d1(pos), ("127.0.0.1", port))
        deadline = time.monotonic() + 2.0
        a, b = runner.stage.cameras["A"], runner.stage.cameras["B"]
        while time.monotonic() < deadline and (a.delivered < 2 or b.delivered < 1):
            time.sleep(0.02)
        assert (a.delivered, b.delivered) == (2, 1)
        assert a.latest is not None and a.latest.translation_m[0] == 1.5
        assert b.latest is not None and b.latest.translation_m[0] == -2.0
        owner, peer = runner.stage.sources
        assert owner.health.rejected_by_reason == {"camera_id": 1}  # id 3: nobody's
        assert (owner.health.received, peer.health.received) == (3, 1)
        assert owner.bound == peer.bound
    finally:
        runner.close()
