"""Stopping a stage closes every part itself: each part reports its stop, no task is left for the loop
to cancel, every listener's port is free again, no thread is left, and the adverts are withdrawn."""

from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path

from stagectl.stage.runner import StageRunner
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

PARTS = {"views", "discovery", "control", "web", "takes", "lighting", "devices", "outputs", "sources",
         "loop thread", "stop"}


def every_part_stage(tag: str) -> StageFile:
    """Two simulated cameras, an emulated wall announced over mDNS, a remote-control emulator, a take
    recorder, OSC control-in (announced), looks and the web remote, all on loopback."""
    stage = (StageFile(f"Stop test {tag}").source("A").source("B", simulate="opentrackio", encoding="cbor")
             .device("tessera", f"wall-{tag}", zone="wall", emulator=True, poll_ms=200)
             .output("remote-control", emulator=True)
             .control(advertise=True).looks(dir="looks").takes(dir="takes")
             .discovery(interfaces=["127.0.0.1"]))
    stage.tables["web"] = {"listen": "127.0.0.1:0", "passcode": "stop-test-passcode"}
    return stage


def _free(kind: int, host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:  # a closed server's accepted connections may linger in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))  # raises while the stage still holds it


def test_closing_the_stage_stops_every_part_itself_and_frees_every_port(tmp_path: Path) -> None:
    (tmp_path / "looks").mkdir()
    tag = uuid.uuid4().hex[:6]
    before = set(threading.enumerate())
    runner = StageRunner(every_part_stage(tag).config(tmp_path))
    stage = runner.stage
    try:
        wait_until(lambda: all(s.health.accepted > 0 for s in stage.sources))
        wait_until(lambda: sorted(stage.discovery.own.values()) == ["(this stage)", f"wall-{tag}"],
                   detail=lambda: stage.discovery.own)
        assert stage.control is not None and stage.web is not None and stage.web.running
        assert stage.web.bound is not None
        udp = [s.bound for s in stage.sources] + [stage.control.address]
        tcp = [("127.0.0.1", stage.devices.emulators[f"wall-{tag}"].port), stage.web.bound]
    finally:
        runner.close()

    assert PARTS | {s.name for s in stage.sources} <= set(runner.stop_ms), runner.stop_ms
    assert runner.runtime.left_at_stop == ()  # every part ended its own tasks: none was cancelled for it
    assert stage.discovery.withdrawn == 2  # the wall's emulator and the control service, one goodbye
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    for endpoint in udp:
        assert endpoint is not None
        _free(socket.SOCK_DGRAM, endpoint.host, endpoint.port)
    for host, port in tcp:
        _free(socket.SOCK_STREAM, host, port)


def test_closing_twice_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "looks").mkdir()
    runner = StageRunner(StageFile("Stop twice").source("A").looks(dir="looks").config(tmp_path))
    runner.close()
    first = dict(runner.stop_ms)
    runner.close()
    assert runner.stop_ms == first and not runner.runtime.running
