"""Conform as a job (stagectl/stage/conform_jobs.py) and through StageCommands, on a real recorded take:
the match table's rows and statuses, the bar only going forward to 100, the enriched ALE of an ALE
source, cancel between packages, errors as the outcome (never raised), VFX events of a cut with
handles, and the work on a thread of its own."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from stagectl.core.timecode import Timecode
from stagectl.stage.conform_jobs import ConformOutcome, ConformRequest, plan_conform, run_conform
from stagectl.stage.runner import StageRunner
from stagectl.takes.model import TakeInfo
from stagectl.takes.store import TakeStore
from tests.support.polling import wait_until
from tests.support.recording import record, running
from tests.support.stagefile import StageFile


class Day:
    """A running stage (two simulated cameras at 100 Hz, 25 fps) and its one recorded take."""

    def __init__(self, runner: StageRunner, folder: Path, tc_in: Timecode, tc_out: Timecode) -> None:
        self.runner, self.folder, self.tc_in, self.tc_out = runner, folder, tc_in, tc_out


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    root = tmp_path_factory.mktemp("jobs")
    text = (StageFile("jobs", frame_rate=25).source("A", rate_hz=100).source("B", rate_hz=100)
            .takes(dir="takes").text)
    with running(text, root) as runner:
        record(runner, lambda: time.sleep(2.0), scene="3", shot="C")
        folder = runner.stage.recorder.folder

        def stored() -> TakeInfo | None:
            with TakeStore(folder, readonly=True) as store:
                (found,) = store.takes()
            return found if found.state == "complete" else None

        info = wait_until(stored, what="the take to be committed")
        assert info.tc_in is not None and info.tc_out is not None
        yield Day(runner, folder, info.tc_in, info.tc_out)


def _csv(path: Path, rows: list[tuple[str, str, Timecode, int]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "camera", "start TC", "end TC", "fps"])
        writer.writerows([name, camera, str(start), str(start + frames), "25"] for name, camera, start, frames
                         in rows)
    return path


def _ale(path: Path, rows: list[tuple[str, Timecode, int]]) -> Path:
    lines = ["Heading", "FIELD_DELIM\tTABS", "VIDEO_FORMAT\t1080", "FPS\t25", "", "Column",
             "Name\tTracks\tStart\tEnd\tCamera", "", "Data"]
    lines += [f"{name}\tV\t{start}\t{start + frames}\t{name[0]}" for name, start, frames in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def test_plan_rows_say_each_status(day: Day, tmp_path: Path) -> None:
    inside = day.tc_in + 10
    clips = _csv(tmp_path / "c.csv", [("A001C001_0001", "A", inside, 20),
                                      ("B001C001_0001", "B", day.tc_in - 7, 20),
                                      ("E001C001_0001", "E", inside, 5),
                                      ("A001C002_0001", "A", inside - 50_000, 5)])
    plan = plan_conform(day.folder, ConformRequest(sources=(clips,)))
    statuses = [row.status for row in plan.rows]
    # (row 0 is fully covered unless a loaded machine held the simulator's datagrams back too long)
    assert statuses[1:] == ["partial", "refused", "none"]
    first = plan.rows[0]
    assert (first.name, first.camera, first.takes, first.tc_in, first.tc_out) == (
        "A001C001_0001", "A", "3-C-T001", str(inside), str(inside + 19))
    assert first.frames == 20 and first.covered >= 18 and first.coverage_percent == 5 * first.covered
    assert statuses[0] in (("ok", "warnings") if first.covered == 20 else ("partial",))
    assert 10 <= plan.rows[1].covered <= 13 and plan.matched == 2
    assert plan.rows[2].warnings[0].startswith("clip E001C001_0001") and plan.rows[2].camera == ""
    assert any(w.startswith("A001C002_0001: no take was recorded") for w in plan.warnings)
    assert plan.rows[3].as_json()["takes"] == [] and plan.rows[0].as_json()["takes"] == ["3-C-T001"]
    assert not list(tmp_path.glob("*/")), "a plan writes nothing"


def test_the_bar_goes_forward_to_100_and_an_ale_gets_enriched(day: Day, tmp_path: Path) -> None:
    ale = _ale(tmp_path / "dit.ale", [("A001C003_0002", day.tc_in + 5, 10),
                                       ("B001C003_0002", day.tc_in + 5, 10)])
    steps: list[int] = []

    def progress(done: int, total: int, what: str) -> None:
        steps.append(round(100 * done / total))

    outcome = run_conform(day.folder, ConformRequest(sources=(ale,)), ["chan"], tmp_path / "out", progress,
                          threading.Event())
    assert outcome.error == "" and not outcome.cancelled
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 100
    assert outcome.enriched_ale == tmp_path / "out" / "dit_stagectl.ale"
    assert outcome.files[-1] == outcome.enriched_ale and outcome.enriched_ale.exists()
    assert [p.folder.name for p in outcome.packages] == ["A001C003_0002", "B001C003_0002"]
    assert {f.name for f in outcome.files} == {"A001C003_0002.chan", "A001C003_0002.json",
                                               "B001C003_0002.chan", "B001C003_0002.json", "dit_stagectl.ale"}
    assert [row.frames for row in outcome.rows] == [10, 10] and min(row.covered for row in outcome.rows) >= 8


def test_cancel_stops_between_packages(day: Day, tmp_path: Path) -> None:
    # listed latest first: conform works in timecode order, so the one it finishes is listed last
    rows = [(f"A001C{n:03d}_0001", "A", day.tc_in + 5 + n, 5) for n in (3, 2, 1, 0)]
    clips = _csv(tmp_path / "c.csv", rows)
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        if what == "A001C000_0001":
            cancel.set()  # the operator presses Cancel while the first package is written

    outcome = run_conform(day.folder, ConformRequest(sources=(clips,)), ["csv"], tmp_path / "out", progress,
                          cancel)
    assert outcome.cancelled and outcome.error == ""
    assert [p.folder.name for p in outcome.packages] == ["A001C000_0001"]  # finished; no other begun
    assert [(row.name, row.frames) for row in outcome.rows] == [("A001C000_0001", 5)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["A001C000_0001"]


def test_a_failure_is_the_outcome_saying_where(day: Day, tmp_path: Path) -> None:
    clips = _csv(tmp_path / "c.csv", [("A001C001_0001", "A", day.tc_in + 5, 5)])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    outcome = run_conform(day.folder, ConformRequest(sources=(clips,)), ["csv"], blocker / "out",
                          lambda *_: None, threading.Event())
    assert outcome.error and str(blocker) in outcome.error, outcome
    nothing = ConformRequest(sources=(tmp_path / "none.csv",))
    missing = run_conform(day.folder, nothing, ["csv"], tmp_path / "o", lambda *_: None, threading.Event())
    assert missing.error.startswith(f"SOURCE {tmp_path / 'none.csv'} does not exist")


def test_a_cut_vfx_events_with_handles(day: Day, tmp_path: Path) -> None:
    a, b = day.tc_in + 15, day.tc_in + 25
    rec = Timecode.parse("01:00:00:00", a.rate)
    cut = tmp_path / "cut.edl"
    cut.write_text("\n".join([
        "TITLE: T", "FCM: NON-DROP FRAME", "",
        f"001  A001C001 V     C        {a} {a + 6} {rec} {rec + 6}", "* FROM CLIP NAME: A001C001_0001", "",
        f"002  B001C001 V     C        {b} {b + 4} {rec + 6} {rec + 10}", "* FROM CLIP NAME: B001C001_0001",
        "* LOC: 01:00:00:07 RED VFX_020", ""]), encoding="utf-8")
    request = ConformRequest(cut=cut, handles=2, cut_rate=a.rate)
    plan = plan_conform(day.folder, request)
    assert [(r.name, r.tc_in, r.frames) for r in plan.rows] == [("002_B001C001_0001", str(b - 2), 8)]
    assert plan.read.warnings == [f"{cut}: the cut marks 1 of 2 events VFX; only those are conformed "
                                  "(every event: --all-events)"]
    every = plan_conform(day.folder, ConformRequest(cut=cut, handles=2, cut_rate=a.rate, all_events=True))
    assert [(r.name, r.tc_in, r.frames) for r in every.rows] == [("001_A001C001_0001", str(a - 2), 10),
                                                                 ("002_B001C001_0001", str(b - 2), 8)]


def test_stage_commands_run_conform_on_a_thread_of_its_own(day: Day, tmp_path: Path) -> None:
    clips = _csv(tmp_path / "c.csv", [("A001C001_0001", "A", day.tc_in + 5, 5)])
    request = ConformRequest(sources=(clips,))
    threads: set[str] = set()
    planned = day.runner.commands.conform_plan(request)
    assert wait_until(planned.done, what="the plan").__bool__()
    assert planned.result().rows[0].covered >= 4
    finished: list[Future[ConformOutcome]] = []
    job = day.runner.commands.conform(request, ["chan"], tmp_path / "out",
                                      progress=lambda *_: threads.add(threading.current_thread().name),
                                      done=finished.append)
    wait_until(lambda: finished, what="the conform")
    assert finished == [job] and job.result().error == ""
    assert threads == {"conform"}  # neither this thread nor the I/O loop's
    assert (tmp_path / "out" / "A001C001_0001" / "A001C001_0001.chan").exists()
