"""The stage's [[outputs]] end to end: simulated tracking in, OpenTrackIO, OSC and frustum cues out."""

from __future__ import annotations

import socket

from pythonosc.osc_packet import OscPacket

from stagectl.config.load import parse_stage
from stagectl.core.opentrackio.codec import decode_payload, parse_datagram, parse_sample
from stagectl.stage.runner import StageRunner
from tests.support.cli import REPO
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

DEMO_LENS = REPO / "lens" / "data" / "demo_zoom_24_70.json"


def _receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10.0)  # the stage starts first: generous for a loaded machine
    return sock


def test_camera_streams_and_frustum_cues_leave_the_stage() -> None:
    otio, osc = _receiver(), _receiver()
    text = (StageFile("outputs")
            .camera("A", lens=DEMO_LENS)
            .source("A", "simulator", camera_id=1)
            .output("opentrackio", target=f"127.0.0.1:{otio.getsockname()[1]}", encoding="json")
            .output("osc", target=f"127.0.0.1:{osc.getsockname()[1]}")
            .output("remote-control", emulator=True)
            .text)
    runner = StageRunner(parse_stage(text))
    try:
        header, segment = parse_datagram(otio.recv(65536))
        assert header.last_segment  # a lens-solved sample fits one datagram
        sample = parse_sample(decode_payload(header.encoding, segment))
        assert sample.translation_m is not None and sample.lens is not None
        focal_mm = sample.lens.pinhole_focal_length_mm
        assert focal_mm is not None and 24.0 <= focal_mm <= 70.0
        addresses = {OscPacket(osc.recv(65536)).messages[0].message.address for _ in range(20)}
        assert "/stagectl/camera/A/transform" in addresses
        sender = runner.stage.frustum_senders["remote-control@emulator"]
        runner.stage.call_in_loop(lambda: sender.set(overscan=1.3, inner_frustum=False))
        emulator = runner.stage.outputs._emulators["remote-control@emulator"]
        wait_until(lambda: emulator.preset_value("stagectl", "Overscan") == 1.3, detail=sender.status)
        assert emulator.preset_value("stagectl", "Inner Frustum") is False
        status = runner.stage.status()["outputs"]
        assert set(status) == {f"opentrackio@127.0.0.1:{otio.getsockname()[1]}",
                               f"osc@127.0.0.1:{osc.getsockname()[1]}", "remote-control@emulator"}
        assert all(v["sent"] > 0 for k, v in status.items() if not k.startswith("remote"))
        assert status["remote-control@emulator"]["state"] == "up"
    finally:
        runner.close()
        otio.close()
        osc.close()


def test_a_camera_without_a_lens_file_still_sends_its_static_block() -> None:
    # FreeD (Mo-Sys preset) with the sensor in the stage file: label, tracker vendor and film back go out,
    # through the strict receiver at MTU 400, every datagram of the FreeD path too.
    from tests.opentrackio_strict import StrictReceiver

    out = _receiver()
    text = (StageFile("static")
            .camera("A", sensor_mm=[24.89, 18.66])
            .source("A", "simulator", preset="mosys", camera_id=1)
            .output("opentrackio", target=f"127.0.0.1:{out.getsockname()[1]}", mtu=400)
            .text)
    runner = StageRunner(parse_stage(text))
    try:
        strict = StrictReceiver()

        def static_arrived() -> bool:
            strict.feed(out.recv(65536))
            return any("static" in s for s in strict.samples)

        wait_until(static_arrived, what="a sample with its static block", interval_s=0.0)
        static = next(s for s in strict.samples if "static" in s)["static"]
        assert static["camera"]["label"] == "A"
        assert static["camera"]["activeSensorPhysicalDimensions"] == {"width": 24.89, "height": 18.66}
        assert static["tracker"]["make"] == "Mo-Sys"
        assert "lens" not in static  # no lens file: nothing invented about the lens
        status = runner.stage.status()["cameras"]["A"]
        assert (status["sensor_mm"], status["sensor_source"]) == ([24.89, 18.66], "stage file")
    finally:
        runner.close()
        out.close()
