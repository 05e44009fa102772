"""A lighting-only stage (devices and looks, no cameras): it parses, runs headless, recalls a look,
records a take with its looks and notes and no samples; a stage with nothing at all is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagectl.config.load import ConfigErrors
from stagectl.stage.runner import StageRunner
from stagectl.takes.committer import JOURNAL_DIR
from tests.support.polling import wait_until
from tests.support.recording import read_take, record
from tests.support.stagefile import StageFile

BRIGHTNESS = "output/global-colour/brightness"


def lighting_only() -> StageFile:
    """One emulated Tessera wall, the looks folder and the takes folder beside the stage file; no camera."""
    return (StageFile("Lighting only")
            .device("tessera", "wall", zone="wall", emulator=True, timeout_ms=500, poll_ms=200)
            .looks(dir="looks")
            .takes(dir="takes"))


def write_looks(folder: Path) -> None:
    """A look that sets the wall's brightness."""
    folder.mkdir(parents=True, exist_ok=True)
    look = {"schema": "stagectl.look/1", "name": "Bright", "zones": {"wall": {"brightness_nits": 2000}}}
    (folder / "bright.json").write_text(json.dumps(look), encoding="utf-8")


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    write_looks(tmp_path / "looks")
    runner = StageRunner(lighting_only().config(tmp_path))
    wait_until(lambda: runner.stage.recorder.ready and bool(runner.stage.lighting.latest.looks))
    yield runner
    runner.close()


def recall(runner: StageRunner, look: str) -> None:
    """Recall ``look`` (no fade) on the stage's loop."""
    async def on_loop() -> None:
        runner.stage.lighting.engine.recall(look, 0.0, "linear")

    runner.runtime.call_sync(on_loop())


def test_a_lighting_only_stage_file_parses(tmp_path: Path) -> None:
    config = lighting_only().config(tmp_path)
    assert config.cameras == () and config.sources == ()
    assert [d.name for d in config.devices] == ["wall"]


def test_a_stage_with_neither_cameras_nor_devices_says_what_it_needs(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        StageFile("Empty").looks(dir="looks").config(tmp_path)
    message = str(info.value)
    assert "no camera defined and no device" in message
    assert "[[cameras]]" in message and "[[sources]]" in message and "[[devices]]" in message


def test_it_runs_headless_and_recalls_a_look(runner: StageRunner) -> None:
    devices = runner.stage.devices
    wait_until(lambda: runner.stage.status()["devices"]["wall"]["state"] == "up")
    status = runner.stage.status()
    assert status["cameras"] == {} and status["sources"] == {}
    assert status["cues"]["looks"] == ["Bright"]
    recall(runner, "Bright")
    wall = devices.emulators["wall"]
    wait_until(lambda: wall.value(BRIGHTNESS) == 2000)
    wait_until(lambda: runner.stage.status()["cues"]["live_look"] == "Bright")
    assert json.loads(json.dumps(runner.stage.status()))["cameras"] == {}
    view = runner.views.latest
    assert view.cameras == () or list(view.cameras) == []
    assert view.camera(None) is None


def test_a_take_keeps_the_looks_and_notes_and_no_samples(runner: StageRunner, tmp_path: Path) -> None:
    recall(runner, "Bright")
    wait_until(lambda: runner.stage.status()["cues"]["live_look"] == "Bright")

    def during() -> None:
        async def note() -> None:
            runner.stage.recorder.note("wall at 2000 nits")

        runner.runtime.call_sync(note())

    name = record(runner, during, scene="3", shot="B")
    assert name == "3-B-T001"
    journal_dir = tmp_path / "takes" / JOURNAL_DIR
    wait_until(lambda: runner.stage.recorder.status().last_take_id is not None
               and not any(journal_dir.iterdir()), detail=lambda: runner.stage.recorder.status())
    take = read_take(tmp_path / "takes")
    assert take.cameras == {}
    assert take.info.look_at_start == "Bright"
    assert take.info.slate.cameras == ()
    assert any(entry.kind == "look" and entry.data.get("look") == "Bright" for entry in take.log), take.log
    assert any(entry.kind == "note" and entry.text == "wall at 2000 nits" for entry in take.log), take.log
