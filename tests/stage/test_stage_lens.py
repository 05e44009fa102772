"""A camera's lens file on the stage: solved, unsolved with the reason, swapped live."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from stagectl.config.load import parse_stage
from stagectl.stage.assembly import Stage
from stagectl.stage.runner import StageRunner
from tests.support.cli import REPO
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

DEMO_LENS = REPO / "lens" / "data" / "demo_zoom_24_70.json"


def _stage(lens: str) -> StageFile:
    return StageFile("lens test").camera("A", lens=lens).source("A", "simulator", camera_id=1)


def test_a_broken_lens_file_leaves_the_camera_unsolved_and_says_where(tmp_path: Path) -> None:
    data = json.loads(DEMO_LENS.read_text())
    data["grid"]["zoom"][2] = 0.01  # no longer ascending
    (tmp_path / "bad.json").write_text(json.dumps(data))
    stage = Stage(parse_stage(_stage("bad.json").text, base_dir=tmp_path))
    status = stage.cameras["A"].lens_status
    assert status.startswith("unsolved: ") and "bad.json" in status and "grid.zoom[2]" in status
    events = [e.message for e in stage.events.drain()]
    assert any("camera A is unsolved" in m and "grid.zoom[2]" in m for m in events)


def test_a_missing_lens_file_is_unsolved_and_the_stage_runs(tmp_path: Path) -> None:
    runner = StageRunner(parse_stage(_stage("nowhere.json").text, base_dir=tmp_path))
    try:
        camera = runner.stage.cameras["A"]
        wait_until(lambda: camera.delivered >= 10, what="ten samples")
        assert camera.lens_status.startswith("unsolved: ") and "nowhere.json" in camera.lens_status
        assert camera.latest is not None and camera.latest.zoom_raw is not None  # raw values flow
        assert camera.latest.lens is not None and camera.latest.lens.focal_length_mm is None
    finally:
        runner.close()


def test_the_lens_file_can_be_swapped_live(tmp_path: Path) -> None:
    shutil.copy(DEMO_LENS, tmp_path / "demo.json")
    runner = StageRunner(parse_stage(_stage("nowhere.json").text, base_dir=tmp_path))
    try:
        camera = runner.stage.cameras["A"]
        runner.stage.use_lens_file("A", tmp_path / "demo.json")
        wait_until(lambda: camera.latest and camera.latest.lens and camera.latest.lens.focal_length_mm,
                   what="a solved sample", detail=lambda: camera.lens_status)
        assert camera.lens_status == "solved (demo.json)"
        solver = runner.stage.lens_solvers["A"]
        latest = camera.latest
        expected = solver.solve(latest.zoom_raw, latest.focus_raw, latest.iris_raw)
        assert latest.lens.focal_length_mm == expected.focal_length_mm
        runner.stage.use_lens_file("A", None)
        wait_until(lambda: camera.lens_status == "unsolved", detail=lambda: camera.lens_status)
    finally:
        runner.close()


def test_a_fiz_box_on_a_serial_line_feeds_the_tracked_camera(tmp_path: Path) -> None:
    """End to end: simulated FreeD tracking + a FIZ box on a pty -> samples carry the box's counts,
    solved by the lens file; the lens source never makes the camera "up" on its own."""
    from tests.support.serial import PtyDevice

    shutil.copy(DEMO_LENS, tmp_path / "demo.json")
    box = PtyDevice(tmp_path / "fiz0")
    box.plug()
    text = _stage("demo.json").source("A", "lens-serial", port=box.path, lens_protocol="fiz-line").text
    runner = StageRunner(parse_stage(text, base_dir=tmp_path))
    try:
        camera = runner.stage.cameras["A"]
        lens_source = runner.stage.sources[1]
        assert lens_source.health not in camera.sources and lens_source.health in camera.lens_sources

        def merged() -> bool:
            box.write(b"FIZ 16384 100 32768\n")  # focus, iris, zoom
            return camera.latest is not None and camera.latest.zoom_raw == 32768

        wait_until(merged, what="a sample with the box's counts", detail=lambda: camera.latest,
                   interval_s=0.05)
        latest = camera.latest
        assert (latest.focus_raw, latest.iris_raw, latest.zoom_raw) == (16384, 100, 32768)
        expected = runner.stage.lens_solvers["A"].solve(32768, 16384, 100)
        assert latest.lens is not None and latest.lens.focal_length_mm == expected.focal_length_mm
        assert lens_source.health.accepted >= 1 and camera.lens_readings >= 1
    finally:
        runner.close()
        box.unplug()


def test_the_static_block_follows_the_lens_file_and_the_trackers_block(tmp_path: Path) -> None:
    shutil.copy(DEMO_LENS, tmp_path / "demo.json")
    stage = Stage(parse_stage(_stage("demo.json").text, base_dir=tmp_path))
    tracker = {"camera": {"serialNumber": "A-1"}, "tracker": {"make": "Acme"}}
    first = stage.static_block("A", tracker, {})
    assert first["camera"]["serialNumber"] == "A-1" and first["camera"]["label"] == "A"
    assert first["lens"]["model"] and first["camera"]["activeSensorPhysicalDimensions"]["width"] == 36.0
    assert stage.static_block("A", dict(tracker), {}) is first  # a repeated block: the same answer
    changed = {"camera": {"serialNumber": "A-2"}, "tracker": {"make": "Acme"}}
    assert stage.static_block("A", changed, {})["camera"]["serialNumber"] == "A-2"
    stage.use_lens_file("A", None)  # no loop running: applied at once
    unsolved = stage.static_block("A", changed, {})
    assert "lens" not in unsolved or "model" not in unsolved.get("lens", {})
    assert "activeSensorPhysicalDimensions" not in unsolved["camera"]  # no lens file, no sensor: unknown
