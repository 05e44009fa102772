"""The Tracking dock on the demo stage, driven like an operator would: health, timing, delay, smoothing."""

from __future__ import annotations

import math
import socket
import time
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from stagectl.config.load import default_stage
from stagectl.core.runtime import Runtime
from stagectl.core.samples import CameraSample, LensValues
from stagectl.core.timecode import Timecode
from stagectl.stage.assembly import Stage
from stagectl.stage.commands import StageCommands
from stagectl.stage.runner import StageRunner
from stagectl.stage.view import CameraStatus, SourceStatus, StageView, build_view
from tests.support.polling import TIMEOUT_MS
from ui import theme
from ui.app import ensure_app, open_settings
from ui.main_window import MainWindow
from ui.panels import source_health_table as table
from ui.panels.delay_control import FRAMES, MS
from ui.panels.tracking_panel import INTERVALS_REFRESH_MS, TrackingPanel


def _window(qtbot: QtBot, runner: StageRunner) -> MainWindow:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _cell(window: MainWindow, column: int, row: int = 0) -> str:
    item = window.tracking_panel.health.item(row, column)
    return item.text() if item is not None else ""


def _shown(window: MainWindow, camera: str = "A") -> CameraStatus:
    """Camera ``camera`` in the view the tracking dock shows now."""
    status = window.tracking_panel.view.camera(camera)
    assert status is not None
    return status


def _views_later(qtbot: QtBot, window: MainWindow, runner: StageRunner) -> None:
    """Wait until the window has shown views published after this call (two, so a full refresh)."""
    after = runner.views.latest.sequence
    qtbot.waitUntil(lambda: window.tracking_panel.view.sequence > after + 1, timeout=TIMEOUT_MS)


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def test_health_table_shows_the_demo_sources_up_at_the_stage_rate(qtbot: QtBot,
                                                                    demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    health = window.tracking_panel.health
    source = demo_runner.stage.sources[0]
    qtbot.waitUntil(lambda: _cell(window, table.STATE) == "up" and _finite(_cell(window, table.HZ))
                    and abs(float(_cell(window, table.HZ)) - 23.976) < 3.0, timeout=TIMEOUT_MS)
    # Jitter needs a second of intervals; then both percentiles are figures, not "—".
    qtbot.waitUntil(lambda: all(_finite(part) for part in _cell(window, table.JITTER).split(" / ")),
                    timeout=TIMEOUT_MS)
    assert health.rowCount() == 1
    assert _cell(window, table.SOURCE) == source.name.removeprefix("A/")
    assert _cell(window, table.ADDRESS) == str(source.bound)
    # The median settles at the 41.7 ms period of 23.976 Hz (a start-up catch-up burst from the simulator
    # can pull the first figures down while only a few intervals are known).
    qtbot.waitUntil(lambda: 35.0 < float(_cell(window, table.INTERVAL)) < 50.0, timeout=TIMEOUT_MS)
    assert _cell(window, table.REJECTED) == "0 / 0"
    # Updated in place: more frames, new figures, the same rows.
    rebuilds, samples = health.rebuilds, demo_runner.stage.cameras["A"].delivered
    qtbot.waitUntil(lambda: _shown(window).samples > samples + 20, timeout=TIMEOUT_MS)  # drawn since
    assert health.rebuilds == rebuilds
    # Another camera, its own sources.
    window.tracking_panel.selector.setCurrentText("B")
    other = demo_runner.stage.sources[1]
    qtbot.waitUntil(lambda: _cell(window, table.ADDRESS) == str(other.bound), timeout=TIMEOUT_MS)
    assert health.rebuilds == rebuilds + 1


def test_a_rejected_datagram_shows_with_its_reason(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    source = demo_runner.stage.sources[0]  # camera A, a FreeD port
    assert source.camera.name == "A" and source.bound is not None
    qtbot.waitUntil(lambda: _cell(window, table.STATE) == "up", timeout=TIMEOUT_MS)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            sock.sendto(b"\xd1" + bytes(28), (source.bound.host, source.bound.port))  # bad checksum
        sock.sendto(b"\xd1" + bytes(5), (source.bound.host, source.bound.port))  # too short
    qtbot.waitUntil(lambda: _cell(window, table.REJECTED) == "4 / 0", timeout=TIMEOUT_MS)
    item = window.tracking_panel.health.item(0, table.REJECTED)
    assert item is not None
    assert "checksum: 3" in item.toolTip() and "length: 1" in item.toolTip()
    assert "rejected: checksum 3, length 1" in _cell(window, table.DETAIL)
    assert _cell(window, table.STATE) == "up"  # good samples keep coming between the bad ones


def test_a_silent_source_goes_stale_in_the_table_and_holds_its_values(qtbot: QtBot,
                                                                       demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    panel = window.tracking_panel
    qtbot.waitUntil(lambda: _cell(window, table.STATE) == "up", timeout=TIMEOUT_MS)
    demo_runner.runtime.call_sync(demo_runner.stage.sources[0].async_stop())
    qtbot.waitUntil(lambda: _cell(window, table.STATE) == "stale", timeout=TIMEOUT_MS)
    held = panel.values["X"].text()
    assert "(last value held)" in _cell(window, table.DETAIL)
    _views_later(qtbot, window, demo_runner)
    assert panel.values["X"].text() == held != "—"


def test_delay_in_frames_reaches_the_pipeline(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    control = window.tracking_panel.delay_control
    stage = demo_runner.stage
    fps = float(stage.config.frame_rate.rate)
    assert control.unit.itemText(FRAMES) == "frames @ 23.976"
    control.unit.setCurrentIndex(FRAMES)
    control.delay.setValue(2.0)
    assert control.other_unit.text() == "= 83.4 ms"
    qtbot.waitUntil(lambda: abs(stage.cameras["A"].delay_ms - 2.0 * 1000.0 / fps) < 1e-9, timeout=TIMEOUT_MS)
    assert stage.cameras["B"].delay_ms == 0.0
    _views_later(qtbot, window, demo_runner)  # later views agree with what was set: the spin box stays put
    assert control.delay.value() == 2.0
    # Back to ms: the same delay in the other unit.
    control.unit.setCurrentIndex(MS)
    assert control.delay.value() == 83.4 and control.other_unit.text() == "= 2.00 frames"


def test_dragging_the_delay_is_coalesced(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    control = window.tracking_panel.delay_control
    stage = demo_runner.stage
    calls: list[dict[str, Any]] = []
    commands = control.commands

    class Counting:
        def set_delay(self, camera: str, **kw: Any) -> object:
            calls.append(kw)
            return commands.set_delay(camera, **kw)

    control.commands = Counting()  # type: ignore[assignment]
    for ms in range(1, 41):  # forty steps of the spinner, faster than the loop is told
        control.delay.setValue(float(ms))
    qtbot.waitUntil(lambda: stage.cameras["A"].delay_ms == 40.0, timeout=TIMEOUT_MS)
    assert 1 <= len(calls) <= 3


def test_the_delay_follows_the_stage_when_not_being_edited(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    control = window.tracking_panel.delay_control
    demo_runner.commands.set_delay("A", ms=125.0)  # another client's commands, e.g. the web remote
    qtbot.waitUntil(lambda: control.delay.value() == 125.0, timeout=TIMEOUT_MS)
    assert control.other_unit.text() == "= 3.00 frames"


def test_smoothing_names_the_latency_it_adds(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    control = window.tracking_panel.delay_control
    stage = demo_runner.stage
    qtbot.waitUntil(lambda: stage.cameras["A"].rate_hz > 20.0, timeout=TIMEOUT_MS)
    assert control.latency.text() == "off (no added latency)"
    control.smoothing.setValue(5)
    qtbot.waitUntil(lambda: stage.cameras["A"].smoothing == 5, timeout=TIMEOUT_MS)
    # (5 - 1) / 2 periods at the measured rate (about 83 ms at 23.976 Hz): the period is the source's
    # median interval in the same view, whatever a loaded machine makes of the rate.
    qtbot.waitUntil(lambda: control.latency.text().startswith("adds ")
                    and math.isfinite(_shown(window).smoothing_latency_ms), timeout=TIMEOUT_MS)
    camera = _shown(window)
    [source] = window.tracking_panel.view.sources_of("A")
    assert camera.smoothing_latency_ms == pytest.approx(2 * source.interval_ms_p50)
    text = control.latency.text()
    assert text == f"adds {camera.smoothing_latency_ms:.0f} ms at {camera.rate_hz:.0f} Hz"
    control.smoothing.setValue(0)
    qtbot.waitUntil(lambda: control.latency.text() == "off (no added latency)", timeout=TIMEOUT_MS)
    assert stage.cameras["A"].smoothing == 0


def test_the_inter_arrival_plot_has_data_and_its_percentiles(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    plot = window.tracking_panel.intervals
    source = demo_runner.stage.sources[0]
    qtbot.waitUntil(lambda: source.name in plot.curves
                    and len(plot.curves[source.name].getData()[1]) > 30, timeout=TIMEOUT_MS)
    x, y = plot.curves[source.name].getData()
    assert x[-1] == 0 and x[0] == -(len(x) - 1)  # samples before the latest
    assert 35.0 < float(np.median(y)) < 50.0  # 23.976 Hz: about 41.7 ms apart (a late burst aside)
    qtbot.waitUntil(lambda: math.isfinite(plot.p50_ms), timeout=TIMEOUT_MS)
    assert 35.0 < plot.p50_ms <= plot.p99_ms
    assert plot.p50_line.isVisible() and plot.p50_line.value() == plot.p50_ms
    assert "p50" in plot.plot.titleLabel.text and "p99" in plot.plot.titleLabel.text
    # Not redrawn every frame (views come 30 times a second): on its own 10 Hz timer, which never
    # fires early, however late a loaded machine runs it.
    start, began = plot.updates, time.monotonic()
    qtbot.waitUntil(lambda: plot.updates >= start + 5, timeout=TIMEOUT_MS)
    took = time.monotonic() - began
    assert plot.updates - start <= 2 + took * 1000 / INTERVALS_REFRESH_MS, (plot.updates - start, took)


def test_the_stage_map_shows_every_camera_and_rings_the_selected_one(qtbot: QtBot,
                                                                     demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    panel = window.tracking_panel
    qtbot.waitUntil(lambda: len(panel.map.glyphs) == 2, timeout=TIMEOUT_MS)
    panel.selector.setCurrentText("B")

    def ringed(name: str) -> bool:
        ring, glyph = panel.map.selection_ring, panel.map.glyphs[name]
        return bool(ring.isVisible() and abs(ring.x() - glyph.x) < 1e-9 and abs(ring.y() - glyph.y) < 1e-9)

    qtbot.waitUntil(lambda: ringed("B"), timeout=TIMEOUT_MS)
    assert set(panel.map.glyphs) == {"A", "B"}


# --- the header and the table against made-up figures (no timing involved) ----------------------

def _view(stage: Stage, sample: CameraSample, source: SourceStatus) -> StageView:
    camera = CameraStatus("A", source.state, 50.0, 100, source.rejected, 0.0, sample, smoothing=5,
                          smoothing_latency_ms=40.0)
    return StageView(1, "test", "10:00:00:00", str(stage.config.frame_rate), 23.976, time.monotonic_ns(),
                     (camera,), (source,))


def test_header_names_the_timecode_source_and_the_lens(qtbot: QtBot) -> None:
    ensure_app()
    stage = Stage(default_stage())  # never started: the panel sees only the views made here
    panel = TrackingPanel(build_view(stage), StageCommands(stage, Runtime()))
    qtbot.addWidget(panel)
    panel.show()
    rate = stage.config.frame_rate
    sample = CameraSample("A", "A/simulator#1", time.monotonic_ns(), (1.0, 2.0, 3.0), (10.0, 0.0, 0.0),
                          timecode=Timecode.from_components(10, 0, 0, 5, rate), timecode_source="tracker",
                          lens=LensValues(focal_length_mm=35.0, focus_distance_m=2.5, t_stop=2.8))
    source = SourceStatus("A/opentrackio@127.0.0.1:55555", "A", "opentrackio", "127.0.0.1:55555", "down",
                          0.0, 10, 5, 5, {"sender": 2, "checksum": 3}, 6.5,
                          "cannot listen on 127.0.0.1:55555: Address already in use",
                          detail="reconnecting in 4 s (attempt 3)")
    panel.update_view(_view(stage, sample, source))
    assert panel.lens_label.text() == "35.0 mm · 2.50 m · T2.8"
    assert panel.timecode_source.text() == "TC tracker"
    assert panel.timecode_label.text() == "10:00:00:05"
    assert panel.values["Focal"].text() == "35.0" and panel.values["Focal"].isVisible()
    assert panel.delay_control.latency.text() == "adds 40 ms at 50 Hz"
    detail = panel.health.item(0, table.DETAIL)
    assert detail is not None
    assert detail.text() == ("cannot listen on 127.0.0.1:55555: Address already in use · "
                             "reconnecting in 4 s (attempt 3) · rejected: checksum 3, sender 2 · "
                             "no sample for 6.5 s (last value held)")
    assert detail.foreground().color().name() == "#f85149"  # an error reads red
    lost = panel.health.item(0, table.LOST)
    assert lost is not None and lost.text() == "—"  # no sequence numbers, nothing measured

    stage_sample = CameraSample("A", "A/simulator#1", time.monotonic_ns(), (1.0, 2.0, 3.0), (0.0, 0.0, 0.0),
                                timecode=Timecode.from_components(10, 0, 1, 0, rate))
    panel.update_view(_view(stage, stage_sample, source))
    assert panel.timecode_source.text() == "TC stage"
    assert panel.lens_label.text() == "lens unsolved"  # no lens values, no lens file
    assert not panel.values["Focal"].isVisible()


def test_header_says_lens_unsolved_without_a_lens_file(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    label = window.tracking_panel.lens_label
    # Demo camera A is solved by the demo lens file: the header shows its focal length.
    qtbot.waitUntil(lambda: label.text().endswith(" m") or " mm" in label.text(), timeout=TIMEOUT_MS)
    demo_runner.stage.use_lens_file("A", None)
    qtbot.waitUntil(lambda: label.text() == "lens unsolved", timeout=TIMEOUT_MS)
    assert "raw encoder counts still flow" in label.toolTip()


def test_a_sample_kept_as_sent_though_odd_shows_in_the_warned_column(qtbot: QtBot,
                                                                     demo_runner: StageRunner) -> None:
    # Camera B's simulated OpenTrackIO port: one sample whose timecode is flagged drop-frame at 23.976
    # (camdkit's own example does that): schema-valid, so delivered, counted and named, not rejected.
    from stagectl.core.opentrackio.codec import ENCODING_JSON, OpenTrackIOSample, encode_sample
    from stagectl.core.timecode import FrameRate
    from stagectl.core.timecode.label import TimecodeLabel

    window = _window(qtbot, demo_runner)
    window.tracking_panel.selector.setCurrentText("B")
    source = demo_runner.stage.sources[1]
    assert source.camera.name == "B" and source.bound is not None
    qtbot.waitUntil(lambda: _cell(window, table.ADDRESS) == str(source.bound), timeout=TIMEOUT_MS)
    label = TimecodeLabel(1, 2, 3, 4, FrameRate.parse("24000/1001"), drop_frame=True)
    sample = OpenTrackIOSample(translation_m=(0.0, 0.0, 1.5), rotation_deg=(0.0, 0.0, 0.0),
                               timecode_label=label, sequence_number=0,
                               source_id="urn:uuid:5210332e-0292-4f8e-a606-a23ebe2ae18e")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(encode_sample(sample, ENCODING_JSON, 0)[0], (source.bound.host, source.bound.port))
    qtbot.waitUntil(lambda: _cell(window, table.REJECTED) == "0 / 1", timeout=TIMEOUT_MS)
    item = window.tracking_panel.health.item(0, table.REJECTED)
    assert item is not None and "timecode_drop_frame: 1" in item.toolTip()
    assert "1 kept exactly as sent though odd" in item.toolTip()
    assert item.foreground().color().name() == theme.WARNING_TEXT.lower()
    assert "kept as sent: timecode_drop_frame 1" in _cell(window, table.DETAIL)


def test_the_three_time_plots_share_one_time_axis_and_keep_their_height(
        qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    window.resize(1280, 720)
    panel = window.tracking_panel
    qtbot.waitUntil(lambda: all(p.updates > 1 for p in panel.plots), timeout=TIMEOUT_MS)
    upper, lowest = panel.plots[:2], panel.plots[2]
    for plot in upper:  # grid lines, no values: the lowest plot's axis says the time for all three
        axis = plot.plot.getAxis("bottom")
        assert axis.isVisible() and not axis.style["showValues"] and axis.height() <= 4
        assert plot.plot.getViewBox().viewRange()[0] == lowest.plot.getViewBox().viewRange()[0]
    assert lowest.plot.getAxis("bottom").style["showValues"]
    assert lowest.plot.getAxis("bottom").labelText == "seconds before now"
    heights = [p.plot.getViewBox().height() for p in panel.plots]
    assert min(heights[:2]) >= heights[2] > 0  # the upper plots got the axes' height back
