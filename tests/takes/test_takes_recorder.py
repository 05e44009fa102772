"""The take recorder on a running stage: FreeD packets from a loopback socket into a take, read back
from the SQLite store; slate numbering; control-in record / stop over OSC; the CLI."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from stagectl.stage.runner import StageRunner
from stagectl.takes.committer import JOURNAL_DIR
from stagectl.takes.recorder import RecorderError
from stagectl.takes.store import TakeStore
from tests.support.cli import stagectl
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile
from tracking.freed.codec import FreeDPosition, encode_d1

STAGE = (StageFile("takes test", frame_rate=24)
         .source("A", "freed", camera_id=1)
         .source("B", "freed", camera_id=2)
         .takes(dir="takes", production="Night Drive")
         .control())


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    runner = StageRunner(STAGE.config(tmp_path))
    wait_until(lambda: runner.stage.recorder.ready)
    yield runner
    runner.close()


def _on_loop(runner: StageRunner, fn: Callable[[], object]) -> object:
    async def call() -> object:
        return fn()

    return runner.runtime.call_sync(call(), 5.0)


def _port(runner: StageRunner, index: int) -> int:
    bound = runner.stage.sources[index].bound
    assert bound is not None
    return int(bound.port)


def _packet(camera_id: int, n: int) -> bytes:
    """A D1 whose zoom count is the packet's number and pan a function of it (hand-checkable)."""
    return encode_d1(
        FreeDPosition(
            camera_id,
            pan_deg=n * 0.01,
            tilt_deg=-5.0,
            roll_deg=1.0,
            x_mm=1000.0 + n,
            y_mm=2000.0,
            z_mm=1500.0,
            zoom=n,
            focus=100,
        )
    )


def test_every_sample_sent_is_in_the_take_in_order_with_its_values(
    runner: StageRunner, tmp_path: Path
) -> None:
    recorder = runner.stage.recorder
    name = _on_loop(runner, lambda: recorder.record(scene="12", shot="A"))
    assert name == "12-A-T001"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tracker:
        for n in range(300):
            tracker.sendto(_packet(1, n), ("127.0.0.1", _port(runner, 0)))
            tracker.sendto(_packet(2, n), ("127.0.0.1", _port(runner, 1)))
            if n % 50 == 0:
                time.sleep(0.005)
        wait_until(lambda: recorder.status().samples == {"A": 300, "B": 300})
    _on_loop(runner, recorder.stop)
    wait_until(lambda: recorder.status().last_take_id is not None)
    journal_dir = tmp_path / "takes" / JOURNAL_DIR
    wait_until(lambda: not any(journal_dir.iterdir()))  # the journal goes once the take is stored
    with TakeStore(tmp_path / "takes") as store:
        take = store.read(store.find("12-A-T001"))
    assert take.info.state == "complete" and take.info.slate.production == "Night Drive"
    a = take.cameras["A"]
    assert len(a) == 300 and len(take.cameras["B"]) == 300
    assert list(a.zoom_raw[:5]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert a.zoom_raw[299] == 299.0
    # FreeD x 1000 + n mm is internal X (right) in metres: 1.0 + n / 1000
    assert a.translation_m[10, 0] == pytest.approx(1.010, abs=1 / 64000)  # FreeD position LSB is 1/64 mm
    # FreeD pan is clockwise seen from above, internal pan counter-clockwise (Z up): 0.10 deg -> -0.10
    assert a.rotation_deg[10, 0] == pytest.approx(-0.10, abs=1 / 32768)  # FreeD angle LSB is 1/32768 deg
    assert take.info.tc_in is not None and take.info.tc_out is not None
    assert take.info.tc_in.frames <= int(a.frame[0]) and int(a.frame[-1]) <= take.info.tc_out.frames
    assert [e.kind for e in take.log][:1] == ["take"] and take.log[-1].text == "stop 12-A-T001"


def test_the_slate_counts_takes_per_scene_and_shot_and_refuses_bad_fields(runner: StageRunner) -> None:
    recorder = runner.stage.recorder
    names = []
    for _ in range(2):
        names.append(_on_loop(runner, lambda: recorder.record(scene="4", shot="B")))
        _on_loop(runner, recorder.stop)
    names.append(_on_loop(runner, lambda: recorder.record(scene="5", shot="")))
    assert names == ["4-B-T001", "4-B-T002", "5-T001"]
    with pytest.raises(RecorderError, match="already recording take 5-T001"):
        _on_loop(runner, recorder.record)
    _on_loop(runner, recorder.stop)
    with pytest.raises(RecorderError, match="not recording"):
        _on_loop(runner, recorder.stop)
    with pytest.raises(RecorderError, match=r"take number must be 1\.\.9999"):
        recorder.set_slate(take=0)
    with pytest.raises(RecorderError, match="unknown slate field"):
        recorder.set_slate(lens="35")
    with pytest.raises(RecorderError, match="not on this stage"):
        recorder.set_slate(cameras="A C")
    assert recorder.set_slate(scene="4", shot="B").take == 3  # back to 4/B: its next take


def test_control_in_records_and_stops_with_slate_arguments(runner: StageRunner, tmp_path: Path) -> None:
    control = runner.stage.control
    assert control is not None and control.running
    port = control.address.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as desk:
        desk.bind(("127.0.0.1", 0))
        desk.settimeout(10.0)  # a reply comes at once; the bound is for a loaded machine

        def send(address: str, *args: str) -> list[object]:
            builder = OscMessageBuilder(address)
            for arg in args:
                builder.add_arg(arg)
            desk.sendto(builder.build().dgram, ("127.0.0.1", port))
            while True:
                reply = OscMessage(desk.recv(65536))
                if reply.address == "/stagectl/reply":
                    return list(reply.params)

        assert send("/stagectl/take/record", "scene=21", "shot=C", "take=7")[:3] == [
            "/stagectl/take/record",
            "ok",
            "recording 21-C-T007" + _from_tc(runner),
        ]
        assert send("/stagectl/take/record")[1] == "error"
        assert send("/stagectl/take/stop")[:3] == ["/stagectl/take/stop", "ok", "stopped 21-C-T007"]
        reply = send("/stagectl/take/stop")
        assert reply[1] == "error" and "not recording" in str(reply[2])
        reply = send("/stagectl/take/record", "lens=35")
        assert reply[1] == "error" and "unknown slate field" in str(reply[2])
    wait_until(lambda: runner.stage.recorder.status().last_take_id is not None)
    with TakeStore(tmp_path / "takes") as store:
        info = store.info(store.find("21-C-T007"))
    assert (info.slate.scene, info.slate.shot, info.slate.take) == ("21", "C", 7)


def _from_tc(runner: StageRunner) -> str:
    tc = runner.stage.recorder.status().tc_in
    return f" from {tc}" if tc else ""


def test_status_json_shows_the_recording_and_its_lag(runner: StageRunner) -> None:
    recorder = runner.stage.recorder
    _on_loop(runner, lambda: recorder.record(scene="1"))
    status = runner.stage.status()["takes"]
    assert status["recording"] is True and status["take"] == "1-T001" and status["journal_pending"] >= 0
    assert status["slate"]["production"] == "Night Drive"
    _on_loop(runner, recorder.stop)
    assert runner.stage.status()["takes"]["recording"] is False


def test_cli_records_lists_and_shows_takes(tmp_path: Path) -> None:
    stage = (StageFile("cli").source("A", "simulator", camera_id=1, rate_hz=100).takes(dir="takes")
             .write(tmp_path))
    done = stagectl(
        "takes", "record", "--config", str(stage), "--duration", "1", "--scene", "9", "--json", timeout=60
    )
    assert done.returncode == 0, done.stderr
    recorded = json.loads(done.stdout)
    assert recorded["name"] == "9-T001" and recorded["state"] == "complete"
    # The simulator's 100 Hz over the take's own length (stage clock, 25 fps): never more; most of them
    # (a loaded machine makes the simulator skip ticks rather than burst; 50 Hz would fail).
    take_s = recorded["duration_frames"] / 25
    assert 0.6 * 100 * take_s <= recorded["samples"] <= 100 * take_s + 5, (recorded["samples"], take_s)
    listed = stagectl("takes", "list", "--config", str(stage), "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["id"] == recorded["id"] and row["samples"] == recorded["samples"] and row["rate"] == "25/1"
    shown = stagectl("takes", "show", "9-T001", "--config", str(stage))
    assert shown.returncode == 0 and "scene 9" in shown.stdout and "camera A" in shown.stdout, shown.stdout
    missing = stagectl("takes", "show", "nope", "--config", str(stage))
    assert missing.returncode == 1 and "no take 'nope'" in missing.stderr and "9-T001" in missing.stderr
    with contextlib.closing(sqlite3.connect(tmp_path / "takes" / "takes.sqlite")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_stream_going_stale_mid_take_is_logged_as_a_dropout(tmp_path: Path) -> None:
    stage = (StageFile("takes test", frame_rate=24)
             .source("A", "freed", camera_id=1, stale_ms=100)
             .source("B", "freed", camera_id=2)
             .takes(dir="takes", production="Night Drive"))
    runner = StageRunner(stage.config(tmp_path))
    states: list[str] = []  # A's stream states as the stage announces them (what the take logs)
    runner.stage.events.subscribe(
        lambda e: states.append(e.message.split(" ", 1)[0].rstrip(":"))
        if e.kind == "state" and e.source == "A/freed#1" else None)
    try:
        wait_until(lambda: runner.stage.recorder.ready)
        recorder = runner.stage.recorder
        _on_loop(runner, lambda: recorder.record(scene="7"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tracker:
            for n in range(20):
                tracker.sendto(_packet(1, n), ("127.0.0.1", _port(runner, 0)))
                time.sleep(0.005)
            wait_until(lambda: "stale" in states, detail=lambda: states)  # silence: stale after 100 ms
            for n in range(20, 40):
                tracker.sendto(_packet(1, n), ("127.0.0.1", _port(runner, 0)))
                time.sleep(0.005)
            wait_until(lambda: recorder.status().samples["A"] == 40)
        wait_until(lambda: "up" in states[states.index("stale"):], detail=lambda: states)  # back up
        _on_loop(runner, recorder.stop)
        wait_until(lambda: recorder.status().last_take_id is not None)
    finally:
        runner.close()
    with TakeStore(tmp_path / "takes") as store:
        log = store.log(store.find("7-T001"))
    dropouts = [(e.source, e.data.get("state")) for e in log if e.kind == "dropout"]
    assert ("A/freed#1", "stale") in dropouts, [(e.kind, e.source, e.text) for e in log]
    first_stale = dropouts.index(("A/freed#1", "stale"))
    assert ("A/freed#1", "up") in dropouts[first_stale:], dropouts  # and back up when samples came again
