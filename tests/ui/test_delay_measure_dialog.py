"""The Tracking panel's "Measure delay…" dialog, driven like an operator would on the demo stage.

Start returns at once (the measurement runs on a worker): the preview and the meter fill in while the
clip plays as if live, and a still picture of the simulated (moving) camera is refused with what to do.
A delay measured from rendered video is shown with its curves, and Apply sets camera A's delay line on
the running stage (read back from the stage's view). Stop cancels a running capture.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from stagectl.core.events import Level, StageEvent
from stagectl.stage.runner import StageRunner
from stagectl.takes.motion import MotionTracker, TrackingPath, measure_lag
from stagectl.takes.motion.lag import DelayResult
from stagectl.takes.motion.video import open_video
from tests.support.motion_scene import render_clip, still, tracking_samples
from tests.support.polling import TIMEOUT_MS
from tests.ui.feed import MakeFeed
from ui.panels.delay_control import DelayControl
from ui.panels.delay_measure_dialog import DelayMeasureDialog

_KEPT: list[DelayControl] = []  # the control owns the dialog: kept alive for the test


def _dialog(qtbot: QtBot, runner: StageRunner, feed: MakeFeed) -> DelayMeasureDialog:
    fed = feed(runner)
    control = DelayControl(fed.view.fps, str(fed.view.frame_rate), fed.commands)
    qtbot.addWidget(control)
    _KEPT[:] = [control]
    control.set_camera("A")
    control.measure_button.click()
    dialog = control.measure_dialog
    assert dialog is not None and dialog.isVisible() and dialog.camera == "A"
    return dialog


def _measured(tmp_path: Path, delay_s: float) -> DelayResult:
    """A delay measured from a rendered clip (25 fps, 4 s) against its tracking."""
    clip = tmp_path / "moving.mov"
    render_clip(clip, Fraction(25), 4.0, delay_s, blur_steps=2)
    tracker, motions = MotionTracker(), []
    with open_video(str(clip)) as video:
        for frame in video.frames(None, paced=False):
            motion = tracker.push(frame.image, frame.index / 25.0)
            if motion is not None:
                motions.append(motion)
    times, rotation = tracking_samples(6.0)
    return measure_lag(motions, TrackingPath.of(times, rotation), rate_fps=25.0)


def test_a_still_picture_is_refused_and_a_measured_delay_applied(
        qtbot: QtBot, demo_runner: StageRunner, feed: MakeFeed, tmp_path: Path) -> None:
    dialog = _dialog(qtbot, demo_runner, feed)
    clip = tmp_path / "still.mov"
    render_clip(clip, Fraction(25), 3.0, 0.0, pose=still, actor=False)
    dialog.start_button.click()  # no source yet: said, nothing started
    assert dialog.job is None and "picture first" in dialog.result_label.text()
    dialog.source_edit.setText(str(clip))
    dialog.seconds.setValue(2.0)
    dialog.start_button.click()
    assert dialog.running and not dialog.start_button.isEnabled()  # the click returned: a worker captures
    assert dialog.cancel_button.text() == "Stop"
    qtbot.waitUntil(lambda: dialog.preview.pixmap() is not None and not dialog.preview.pixmap().isNull(),
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "°/s" in dialog.meter_text.text(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)
    assert dialog.result_label.text() == "No delay measured"
    assert "pan and tilt the camera briskly" in dialog.detail_label.text()
    assert not dialog.apply_button.isEnabled()
    # in the log a refusal is a warning from the delay measurement, not a take-store error
    def said() -> list[StageEvent]:
        return [e for e in demo_runner.views.latest.events if "measure delay" in e.message]

    qtbot.waitUntil(lambda: bool(said()), timeout=TIMEOUT_MS)
    assert all((e.level, e.source) == (Level.WARNING, "delay") for e in said()), said()

    result = _measured(tmp_path, 0.060)
    assert result.offset_ms == pytest.approx(60.0, abs=3.0)
    dialog.show_result(result)
    assert dialog.result_label.text().startswith(f"Delay {result.offset_ms:.1f} ms")
    picture, tracking = dialog._curves["after"]
    assert len(picture.getData()[0]) == result.frames == len(tracking.getData()[0])
    assert dialog.apply_button.isEnabled()
    dialog.apply_button.click()
    want = round(result.offset_ms, 1)

    def applied() -> bool:
        status = demo_runner.views.latest.camera("A")
        return status is not None and abs(status.delay_ms - want) < 0.01

    qtbot.waitUntil(applied, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "Applied" in dialog.detail_label.text(), timeout=TIMEOUT_MS)
    assert f"delay_ms = {result.offset_ms:.1f}" in dialog.detail_label.text()


def test_stop_cancels_a_running_capture(qtbot: QtBot, demo_runner: StageRunner, feed: MakeFeed,
                                        tmp_path: Path) -> None:
    dialog = _dialog(qtbot, demo_runner, feed)
    clip = tmp_path / "long.mov"
    render_clip(clip, Fraction(25), 2.0, 0.0, pose=still, blur_steps=1)
    dialog.source_edit.setText(str(clip))
    dialog.seconds.setValue(30.0)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "°/s" in dialog.meter_text.text(), timeout=TIMEOUT_MS)
    dialog.cancel_button.click()
    assert dialog.isVisible()  # Stop stops the capture; it does not close the dialog
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)
    assert dialog.result_label.text() == "No delay measured"
    assert "cancelled" in dialog.detail_label.text() or "frames were captured" in dialog.detail_label.text()
    assert dialog.cancel_button.text() == "Close"
