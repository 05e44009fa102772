"""The window's two doors into the stage: views published on the I/O loop and read without waiting,
frozen and read-only; commands that return at once, even with the loop stalled, and call back on the
GUI thread."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from concurrent.futures import Future
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from stagectl.core.events import Level, StageEvent
from stagectl.stage.runner import StageRunner
from stagectl.stage.view import INTERVALS_PERIOD_S, StageView, StageViewPublisher
from tests.support.polling import TIMEOUT_MS, wait_until
from tests.ui.feed import MakeFeed


class Stall:
    """Holds the I/O loop (a slow device, a long GC) from when it starts until :meth:`release`."""

    def __init__(self, runner: StageRunner) -> None:
        self.started, self._gate, self.free = threading.Event(), threading.Event(), threading.Event()
        runner.runtime.call_soon(self._hold)
        assert self.started.wait(3.0), "the loop never reached the stall"

    def _hold(self) -> None:
        self.started.set()
        self._gate.wait(5.0)
        self.free.set()

    def release(self) -> None:
        """Let the loop go on."""
        self._gate.set()


def test_views_are_read_without_waiting_and_cannot_be_changed(qtbot: QtBot, demo_runner: StageRunner) -> None:
    views = demo_runner.views
    qtbot.waitUntil(lambda: len(views.latest.history.get("A", ())) > 10, timeout=TIMEOUT_MS)
    stall = Stall(demo_runner)
    stalled = views.latest  # read while the loop cannot answer anything
    time.sleep(0.2)
    assert views.latest is stalled  # no view is made while the loop is held...
    stall.release()
    qtbot.waitUntil(lambda: views.latest.sequence > stalled.sequence, timeout=TIMEOUT_MS)
    assert stall.free.is_set()  # ...and a new one once it is free again

    view = views.latest
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.timecode = "00:00:00:00"  # type: ignore[misc]
    rows = view.history["A"]
    with pytest.raises(ValueError, match="read-only"):
        rows[0, 0] = 0.0
    before = demo_runner.stage.cameras["A"].delivered
    qtbot.waitUntil(lambda: demo_runner.stage.cameras["A"].delivered > before + 5, timeout=TIMEOUT_MS)
    assert view.history["A"] is rows and len(rows) == len(view.history["A"])  # a copy: it never moves
    assert [c.name for c in view.cameras] == ["A", "B"] and view.camera("B") is view.cameras[1]
    # Inter-arrival times of the sources of the cameras whose history the view carries (what is plotted).
    assert set(view.intervals) == {s.name for s in view.sources if s.camera in view.history}
    assert set(view.intervals) and all(not a.flags.writeable for a in view.intervals.values())


def test_a_command_returns_at_once_with_the_loop_stalled_and_calls_back_on_the_gui_thread(
        qtbot: QtBot, demo_runner: StageRunner, feed: MakeFeed) -> None:
    commands = feed(demo_runner).commands
    outcomes: list[tuple[threading.Thread, Future[Any]]] = []

    def done(future: Future[Any]) -> None:
        outcomes.append((threading.current_thread(), future))

    stall = Stall(demo_runner)
    accepted = commands.set_delay("A", ms=40.0, done=done)
    refused = commands.set_delay("A", ms=5000.0, done=done)
    assert not accepted.done() and not refused.done()  # both returned with the loop held: nothing waited
    qtbot.wait(100)
    assert outcomes == []
    stall.release()
    qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=TIMEOUT_MS)
    assert all(thread is threading.main_thread() for thread, _future in outcomes)
    assert accepted.result() == 40.0 and demo_runner.stage.cameras["A"].delay_ms == 40.0
    assert isinstance(refused.exception(), ValueError)

    def refusal_posted() -> bool:
        events = demo_runner.views.latest.events
        return any(e.level is Level.ERROR and "delay_ms = 5000" in e.message for e in events)

    qtbot.waitUntil(refusal_posted, timeout=TIMEOUT_MS)


def test_a_command_after_the_stage_stopped_fails_at_once(demo_runner: StageRunner) -> None:
    commands = demo_runner.commands
    demo_runner.close()
    future = commands.cue_go()
    assert future.done() and "the stage is not running" in str(future.exception())


def _event(n: int) -> StageEvent:
    return StageEvent(0.0, n, Level.INFO, "test", "info", f"event {n}")


def test_a_reader_that_skipped_views_gets_every_event_still_kept_and_the_count_of_the_rest() -> None:
    view = StageView(1, "test", "00:00:00:00", "25", 25.0, 0, (), (),
                     events=tuple(_event(n) for n in range(6, 11)), events_posted=10)
    assert view.events_since(8) == ([_event(9), _event(10)], 0)
    assert view.events_since(10) == ([], 0)
    events, missed = view.events_since(2)  # events 3..5 left the view before this reader came back
    assert [e.message for e in events] == [f"event {n}" for n in range(6, 11)] and missed == 3


def test_inter_arrival_times_are_made_ten_times_a_second_and_at_once_for_another_camera(
        demo_runner: StageRunner) -> None:
    views = demo_runner.views
    loop = demo_runner.runtime.loop

    def publish() -> StageView:
        return asyncio.run_coroutine_threadsafe(_publish(views), loop).result(timeout=TIMEOUT_MS / 1000)

    views.history_cameras = frozenset({"A"})
    first = publish()
    assert set(first.intervals) == {s.name for s in first.sources if s.camera == "A"}
    views.history_cameras = frozenset({"B"})  # another camera plotted: its sources' times at once
    other = publish()
    assert set(other.intervals) == {s.name for s in other.sources if s.camera == "B"}
    delivered = demo_runner.stage.cameras["B"].delivered
    time.sleep(INTERVALS_PERIOD_S * 1.5)  # and B's tracker has sent since (a loaded machine may be slow)
    wait_until(lambda: demo_runner.stage.cameras["B"].delivered > delivered + 1, what="new samples from B")
    later = publish()  # older than the period: made again, with what arrived since
    assert later.intervals is not other.intervals
    assert all(not np.array_equal(later.intervals[name], other.intervals[name]) for name in later.intervals)


async def _publish(views: StageViewPublisher) -> StageView:
    return views.publish()


def test_timed_views_make_each_camera_new_and_keep_the_figures_until_they_are_due(
        demo_runner: StageRunner) -> None:
    stage, loop = demo_runner.stage, demo_runner.runtime.loop

    def on_loop(call: Any) -> Any:
        async def run() -> Any:
            return call()
        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=TIMEOUT_MS / 1000)

    views: StageViewPublisher = on_loop(lambda: StageViewPublisher(stage, figures_s=3600.0))
    try:
        kept = 0
        for _attempt in range(5):  # an event posted between two views (the demo's own) makes them whole
            first: StageView = on_loop(views.publish)
            delivered = stage.cameras["A"].delivered
            wait_until(lambda d=delivered: stage.cameras["A"].delivered > d + 1, what="new samples from A")
            moved: StageView = on_loop(lambda: views.publish(whole=False))
            if moved.events_posted != first.events_posted:
                continue
            kept += 1
            assert moved.sources is first.sources and moved.outputs is first.outputs  # the figures kept
            before, after = first.camera("A"), moved.camera("A")
            assert before is not None and after is not None and before.latest is not None
            assert after.latest is not None and after.latest.arrival_ns > before.latest.arrival_ns
            assert after.samples > before.samples and after.state == "up"
            assert after.rate_hz == before.rate_hz and moved.monotonic_ns > first.monotonic_ns
            break
        assert kept, "every pair of views had an event between them"
        stage.events.post(Level.INFO, "test", "info", "posted")  # a state, a command: the figures at once
        posted: StageView = on_loop(lambda: views.publish(whole=False))
        assert posted.sources is not moved.sources
        assert sum(s.received for s in posted.sources) > sum(s.received for s in moved.sources)
    finally:
        asyncio.run_coroutine_threadsafe(views.async_stop(), loop).result(timeout=TIMEOUT_MS / 1000)
