"""The actions the web remote added to the control-in's actions object, on a running stage: hold, fade
time, nudges with undo/redo, notes, the slate and take flags (written off the loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from presets.model import Look, ZoneValues
from presets.nudge_history import NudgeHistory
from stagectl.core.errors import StageError
from stagectl.stage.runner import StageRunner
from stagectl.takes.store import TakeStore
from tests.support.desk import Desk
from tests.support.polling import wait_until
from tests.web.conftest import BRIGHTNESS, web_stage_file, write_looks

T = TypeVar("T")


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    write_looks(tmp_path / "looks")
    runner = StageRunner(web_stage_file().config(tmp_path))
    wait_until(lambda: runner.stage.status()["devices"]["wall"]["state"] == "up")
    wait_until(lambda: len(runner.stage.lighting.latest.looks) == 2)
    yield runner
    runner.close()


def on_loop(runner: StageRunner, fn: Callable[[], T]) -> T:
    async def run() -> T:
        return fn()

    return runner.runtime.call_sync(run(), 5.0)


def wall(runner: StageRunner) -> object:
    return runner.stage.devices.emulators["wall"].value(BRIGHTNESS)


def test_nudges_undo_and_redo_move_the_wall(runner: StageRunner) -> None:
    actions = runner.stage.actions
    with pytest.raises(StageError, match="no live look to nudge"):
        on_loop(runner, lambda: actions.nudge("brightness", 1.0))
    on_loop(runner, lambda: actions.look_recall("Dim"))  # 1 s default fade
    wait_until(lambda: wall(runner) == 100)
    assert on_loop(runner, lambda: actions.nudge("brightness", 1.0)) == "brightness +1 stops"
    wait_until(lambda: wall(runner) == 200)
    assert on_loop(runner, actions.nudge_undo) == "nudge undone"
    wait_until(lambda: wall(runner) == 100)
    assert on_loop(runner, actions.nudge_redo) == "nudge redone"
    wait_until(lambda: wall(runner) == 200)
    with pytest.raises(StageError, match=r"no nudge 'brightnes'.*did you mean 'brightness'"):
        on_loop(runner, lambda: actions.nudge("brightnes", 1.0))
    on_loop(runner, lambda: actions.look_recall("Bright"))  # a new live look: a fresh history
    wait_until(lambda: wall(runner) == 1600)
    assert on_loop(runner, actions.nudge_undo) == "nothing to undo"


def test_hold_and_fade_time(runner: StageRunner) -> None:
    actions, engine = runner.stage.actions, runner.stage.lighting.engine
    assert on_loop(runner, lambda: actions.fade_time(2.5)) == "fade time 2.5 s"
    assert engine.default_fade_s == 2.5
    for bad in (-1.0, float("nan"), 4000.0):
        with pytest.raises(StageError, match=r"0\.\.3600"):
            on_loop(runner, lambda bad=bad: actions.fade_time(bad))
    assert on_loop(runner, lambda: actions.hold(True)) == "fades held" and engine.status().held
    assert on_loop(runner, lambda: actions.hold(False)) == "fades released" and not engine.status().held


def test_notes_slate_and_flags(runner: StageRunner) -> None:
    actions = runner.stage.actions
    with pytest.raises(StageError, match="not recording"):
        on_loop(runner, lambda: actions.take_note("too early"))
    assert on_loop(runner, lambda: actions.slate({"scene": "7", "shot": "C"})) == "slate 7-C-T001"
    with pytest.raises(StageError, match="unknown slate field"):
        on_loop(runner, lambda: actions.slate({"cameras": "A"}))
    name = runner.commands.record().result(5.0)
    with pytest.raises(StageError, match="empty"):
        on_loop(runner, lambda: actions.take_note("  "))
    runner.commands.stop_take().result(5.0)
    take_id = wait_until(lambda: runner.stage.recorder.status().last_take_id)
    before = actions.takes_revision

    async def flag() -> str:
        text = actions.take_flags(take_id, circled=True)
        await asyncio.wait(actions.pending_writes(), timeout=5.0)
        return text

    assert runner.runtime.call_sync(flag(), 10.0) == f"take {take_id}: circled on"
    assert actions.takes_revision == before + 1
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        assert store.info(take_id).circled and store.info(take_id).name == name
    with pytest.raises(StageError, match="say what to change"):
        on_loop(runner, lambda: actions.take_flags(take_id))


def test_the_nudge_history_merges_a_quick_run_of_presses() -> None:
    now = [0.0]
    history = NudgeHistory(clock=lambda: now[0])
    look = Look("L", {"wall": ZoneValues(brightness_nits=100.0, cct_k=5600.0)})
    history.follow(look)
    for _ in range(3):  # one gesture
        history.nudge("brightness", 1.0)
        now[0] += 0.2
    now[0] += 5.0
    history.nudge("cct", 10.0)
    assert history.working is not None
    assert history.working.zones["wall"].brightness_nits == pytest.approx(800.0)
    history.undo()
    undone = history.undo()
    assert undone == look and not history.can_undo and history.can_redo
    assert history.nudge("tint", 0.001, ["ceiling"]) is None  # not in that zone: nothing changes


def test_the_same_actions_over_osc_control_in(runner: StageRunner) -> None:
    """Two transports, one actions object: what the remote's pages do, a desk does over OSC."""
    control = runner.stage.control
    assert control is not None and control.running
    with Desk(control.address.port) as desk:
        assert desk.send("/stagectl/cue/go")[1] == "ok"
        assert desk.send("/stagectl/hold", 1)[1:] == ["ok", "fades held"]
        assert on_loop(runner, lambda: runner.stage.lighting.engine.status().held)
        assert desk.send("/stagectl/hold", 0)[1] == "ok"
        assert desk.send("/stagectl/fade", 2.5)[1] == "ok"
        assert runner.stage.lighting.engine.default_fade_s == 2.5
        assert desk.send("/stagectl/nudge/undo")[1:] == ["ok", "nothing to undo"]
        assert desk.send("/stagectl/take/last/circle")[1:2] == ["error"]  # nothing recorded yet
        assert desk.send("/stagectl/take/record", "scene=4", "shot=B")[1] == "ok"
        assert desk.send("/stagectl/take/note", "wind noise")[1] == "ok"
        assert desk.send("/stagectl/take/stop")[1] == "ok"
        take_id = wait_until(lambda: runner.stage.recorder.status().last_take_id)
        reply = desk.send("/stagectl/take/last/circle")
        assert reply[1:] == ["ok", f"take {take_id}: circled on"], reply
    actions = runner.stage.actions
    wait_until(lambda: not actions.pending_writes() and actions.takes_revision > 0)
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        info = store.info(take_id)
        notes = [e.text for e in store.log(take_id) if e.kind == "note"]
    assert info.circled and info.name == "4-B-T001" and notes == ["wind noise"]
