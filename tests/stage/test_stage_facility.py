"""A stage with ``[facility]`` replicates its takes to a real PostgreSQL server on the replicator's thread:
woken at STOP and at a flags edit, its state per take in ``--status-json`` and the view, stopped at close.
Without ``[facility]`` nothing changes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from stagectl.stage.runner import StageRunner
from stagectl.takes.facility import FacilityStore, migrate
from stagectl.takes.store import TakeStore
from tests.support.network import LOCAL, free_tcp_port
from tests.support.polling import wait_until
from tests.support.recording import record, running
from tests.support.stagefile import StageFile

STAGE_ID = "stage-3"


def stage_text(url: str | None) -> str:
    """A stage of one simulated camera at 100 Hz recording into ``takes`` (and replicating to ``url``)."""
    text = StageFile("facility test", frame_rate=25).source("A", "simulator", rate_hz=100.0).takes(
        dir="takes").text
    if url is not None:
        text += f'\n[facility]\ndatabase = "{url}"\nstage_id = "{STAGE_ID}"\nconnect_timeout_s = 1.0\n'
    return text


def _samples(runner: StageRunner) -> int:
    return sum(runner.stage.recorder.status().samples.values())


def _record_some(runner: StageRunner) -> str:
    def during() -> None:
        wait_until(lambda: _samples(runner) >= 20, what="samples recorded")

    return record(runner, during, scene="12", shot="A")


def _facility(runner: StageRunner) -> Any:
    """The ``facility`` part of ``--status-json``, as a JSON reader sees it."""
    return json.loads(json.dumps(runner.stage.status()))["facility"]


def test_without_facility_nothing_changes(tmp_path: Path) -> None:
    with running(stage_text(None), tmp_path) as runner:
        assert runner.stage.facility is None
        assert runner.stage.status()["facility"] is None
        assert runner.views.latest.facility is None


def test_a_take_is_replicated_its_state_shown_and_a_flags_edit_sent(tmp_path: Path,
                                                                    facility_url: str) -> None:
    migrate(facility_url)
    with running(stage_text(facility_url), tmp_path) as runner:
        facility = runner.stage.facility
        assert facility is not None and facility.started
        name = _record_some(runner)
        found = wait_until(lambda: runner.stage.recorder.status().last_take_id, what="the take stored")
        assert found is not None
        take_id = found
        wait_until(lambda: _local_state(tmp_path, take_id) == "complete", what="the take committed")
        # Synced, and named: the name comes from the recorder's status, seen on the stage's next tick
        # (10 a second), which may come a moment after the replicator's pass.
        synced = wait_until(
            lambda: (_facility(runner)["takes"].get(str(take_id)) or {}).get("state") == "synced"
            and _facility(runner)["takes"][str(take_id)]["name"] == name,
            what="the take synced", detail=lambda: _facility(runner))
        assert synced
        state = _facility(runner)
        assert state["stage_id"] == STAGE_ID and state["state"] == "ok" and state["database"] == facility_url
        assert state["takes"][str(take_id)] == {"name": name, "state": "synced", "behind_s": 0.0,
                                                "detail": None}
        wait_until(lambda: _facility(runner)["sent_samples"] == _local_count(tmp_path),
                   what="every sample sent",
                   detail=lambda: (_facility(runner), _local_count(tmp_path)))
        view = wait_until(lambda: runner.views.latest.facility, what="the view's facility part")
        assert view is not None and view.stage_id == STAGE_ID
        def view_synced() -> bool:
            shown = runner.views.latest.facility
            return shown is not None and any(i == take_id and s.state == "synced" for i, _n, s in shown.takes)

        wait_until(view_synced, what="the view shows the take synced")

        before = facility.wakes
        runner.commands.set_take_flags(take_id, circled=True, notes="best one").result(10.0)
        assert facility.wakes == before + 1  # the edit woke the replicator

        def circled() -> bool:
            with FacilityStore(facility_url) as store:
                return any(t.circled and t.notes == "best one" for t in store.takes(stage=STAGE_ID))

        wait_until(circled, what="the flags edit in the facility store")

        def counts() -> list[int]:
            with FacilityStore(facility_url) as store:
                return list(store.sample_counts().values())

        wait_until(lambda: counts() == [_local_count(tmp_path)],
                   what="the facility copy equal to the local one",
                   detail=counts)
        with FacilityStore(facility_url) as store:
            assert len(store.takes()) == 1  # updated, not duplicated
    assert not facility.started  # stopped at close


def _local_count(tmp_path: Path) -> int:
    with TakeStore(tmp_path / "takes", readonly=True) as store:
        return sum(store.sample_counts().values())


def _local_state(tmp_path: Path, take_id: int) -> str:
    with TakeStore(tmp_path / "takes", readonly=True) as store:
        return store.info(take_id).state


def test_the_stage_wakes_the_replicator_at_record_and_stop(tmp_path: Path) -> None:
    """With the database unreachable the stage records as ever; the replicator is woken at RECORD,
    while recording and at STOP, and says it is down without holding anything up."""
    url = f"postgresql://stagectl@{LOCAL}:{free_tcp_port()}/stagectl"
    with running(stage_text(url), tmp_path) as runner:
        facility = runner.stage.facility
        assert facility is not None
        woken = facility.wakes
        recorder = runner.stage.recorder

        async def start() -> str:
            return recorder.record()

        async def stop() -> str:
            return await recorder.async_stop_take()

        runner.runtime.call_sync(start(), 5.0)
        wait_until(lambda: facility.wakes > woken, what="a wake at RECORD")
        at_record = facility.wakes
        wait_until(lambda: _samples(runner) >= 10, what="samples")
        runner.runtime.call_sync(stop(), 30.0)
        wait_until(lambda: facility.wakes > at_record, what="a wake at STOP")
        state = wait_until(lambda: _facility(runner)["state"] == "down" and _facility(runner),
                           what="the replicator down", detail=lambda: _facility(runner))
        assert state["error"]
        assert recorder.status().errors == 0
        started = time.monotonic()
    assert time.monotonic() - started < 3.0  # closing does not wait for the database
