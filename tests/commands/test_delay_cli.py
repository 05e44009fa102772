"""``stagectl delay measure`` as a subprocess: the stage file's stage runs headless, the picture is a
rendered clip played at its own rate as if live.

* Against live tracking: a tracker in the test sends OpenTrackIO over loopback to the stage's source, the
  pose of the clip's moves at ``monotonic - T0``, ``T0`` taken when the command says it starts capturing.
  The clip shows the moves 120 ms late; the command's JSON says when its first frame played (on the same
  monotonic clock), so the delay it must find is 120 ms + (first frame - T0), to within 3 ms.
* The stage's own simulated camera moves on a clock of its own (it starts with the stage inside the
  command), so it is used where the value does not matter: a still picture of it is refused.
* Usage errors say what to do.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.opentrackio.codec import ENCODING_JSON, encode_sample
from stagectl.core.opentrackio.model import OpenTrackIOSample
from tests.support.cli import stagectl, stagectl_popen
from tests.support.motion_scene import moving, render_clip, still
from tests.support.stagefile import StageFile

DELAY_S = 0.120


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Tracker:
    """Sends the clip's moves at ``monotonic - t0`` to ``port``, 100 times a second, until stopped."""

    def __init__(self, port: int, t0: float) -> None:
        self.port, self.t0, self.sent = port, t0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while not self.stop.wait(0.01 - (time.monotonic() - self.t0) % 0.01):
                pan, tilt, roll = moving(np.array([time.monotonic() - self.t0]))[0]
                sample = OpenTrackIOSample(translation_m=(0.0, -2.0, 1.5),
                                           rotation_deg=(float(pan), float(tilt), float(roll)),
                                           sequence_number=self.sent, source_number=1)
                [data] = encode_sample(sample, ENCODING_JSON, self.sent % 65536)
                sock.sendto(data, ("127.0.0.1", self.port))
                self.sent += 1


def test_the_delay_of_a_clip_against_live_tracking(tmp_path: Path) -> None:
    clip = tmp_path / "moving.mov"
    render_clip(clip, Fraction(25), 6.0, DELAY_S, blur_steps=2)
    port = free_udp_port()
    stage = StageFile("delay test", frame_rate=25).source("A", "opentrackio", listen=f"127.0.0.1:{port}")
    config = tmp_path / "stage.toml"
    config.write_text(stage.takes(dir="takes").text, encoding="utf-8")
    process = stagectl_popen("delay", "measure", "--camera", "A", "--video", str(clip), "--seconds", "6",
                             "--config", str(config), "--json")
    assert process.stderr is not None
    said = []
    while not any("capturing" in line for line in said):
        said.append(process.stderr.readline())
        assert said[-1], f"the command ended before capturing: {''.join(said)}"
    tracker = Tracker(port, time.monotonic())
    try:
        out, err = process.communicate(timeout=60)
    finally:
        tracker.stop.set()
        tracker.thread.join(5)
    assert process.returncode == 0, "".join(said) + err
    result = json.loads(out)
    first_frame_s = result["capture_monotonic_ns"][0] / 1e9
    truth_ms = 1000 * (DELAY_S + first_frame_s - tracker.t0)
    assert abs(truth_ms - 1000 * DELAY_S) < 100  # the clip started playing soon after the command said so
    assert result["offset_ms"] == pytest.approx(truth_ms, abs=3.0), (truth_ms, result)
    assert result["offset_frames"] == pytest.approx(result["offset_ms"] / 40.0, abs=0.01)
    assert result["confidence"] > 0.9 and result["applied"] is False
    assert result["stage_file_line"].startswith(f"delay_ms = {result['offset_ms']:.1f}")


def stage_file(folder: Path) -> Path:
    path = folder / "stage.toml"
    stage = StageFile("delay test", frame_rate=25).source("A", "simulator", rate_hz=100)
    text = stage.takes(dir="takes").text
    path.write_text(text, encoding="utf-8")
    return path


def test_a_still_picture_of_a_moving_camera_is_refused(tmp_path: Path) -> None:
    clip = tmp_path / "still.mov"
    render_clip(clip, Fraction(25), 3.0, 0.0, pose=still, actor=False)
    done = stagectl("delay", "measure", "--camera", "A", "--video", str(clip), "--seconds", "2.5",
                    "--config", str(stage_file(tmp_path)), "--json", timeout=60)
    assert done.returncode == 1, done.stderr
    assert "pan and tilt the camera briskly now" in done.stderr  # the operator is told what to do
    assert "deg/s" in done.stderr and "[" in done.stderr  # the motion meter ran
    refusal = json.loads(done.stdout)
    assert refusal["camera"] == "A" and refusal["reason"] == "NotEnoughMotion", refusal
    assert "picture 0.0" in refusal["error"] and "pan and tilt the camera briskly" in refusal["error"]


def test_unknown_camera_and_missing_video_say_what_to_do(tmp_path: Path) -> None:
    config = str(stage_file(tmp_path))
    done = stagectl("delay", "measure", "--camera", "Z", "--video", "0", "--config", config)
    assert done.returncode == 2 and "no camera 'Z' in the stage file (cameras: A)" in done.stderr
    done = stagectl("delay", "measure", "--camera", "A", "--video", str(tmp_path / "none.mov"), "--config",
                    config, "--seconds", "1")
    assert done.returncode == 1
    assert "cannot open the video source" in done.stderr and "a video file" in done.stderr
