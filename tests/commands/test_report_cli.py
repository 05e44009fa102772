"""``stagectl report`` run as a command on a take a real stage recorded (OpenTrackIO datagrams with a
zooming lens on loopback, a note typed while recording, the take circled afterwards): the HTML read back
with the standard library's parser; a bad day, a day without takes, an --out that cannot be written; and
the same report from the facility store on a real PostgreSQL server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from stagectl.core.errors import StageError
from stagectl.core.opentrackio.codec import ENCODING_JSON, encode_sample
from stagectl.core.opentrackio.model import OpenTrackIOLens, OpenTrackIOSample
from stagectl.core.timecode import frames_per_24h
from stagectl.takes.model import TakeData
from stagectl.takes.report import DayReport
from stagectl.takes.store import TakeStore
from tests.support.cli import stagectl
from tests.support.polling import wait_until
from tests.support.recording import record, running
from tests.support.stagefile import StageFile
from tests.takes.permissions import permissions_apply
from tests.takes.report.reading import Element, parse, take_row, take_section

SAMPLES = 60
NOTE = 'boom <b>in</b> shot & "re-set"'


def _datagram(n: int) -> bytes:
    """OpenTrackIO sample ``n``: the lens zooms 24 to 50 mm and back (every 27 samples)."""
    sample = OpenTrackIOSample(translation_m=(0.01 * n, 2.0, 1.5), rotation_deg=(n % 360, 0.5, 0.0),
                               sequence_number=n, lens=OpenTrackIOLens(pinhole_focal_length_mm=24.0 + n % 27))
    [out] = encode_sample(sample, ENCODING_JSON, n)
    return out


@dataclass
class Recorded:
    """The recorded take: its stage file, its folder, the take as the store reads it, and its day."""

    stage: Path
    folder: Path
    take: TakeData
    day: date


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    folder = tmp_path_factory.mktemp("report")
    stage = StageFile("report stage", frame_rate=25).source("K", "opentrackio").takes(dir="takes")
    stage_path = stage.write(folder)
    with running(stage.text, folder) as runner, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        source = runner.stage.sources[0]
        assert source.bound is not None
        port = source.bound.port

        def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                sock.sendto(_datagram(n), ("127.0.0.1", port))
            wait_until(lambda: source.health.received >= first + count, what="the stage to receive")

        async def note() -> None:
            runner.stage.recorder.note(NOTE)

        def during() -> None:
            send(0, SAMPLES // 2)
            runner.runtime.call_sync(note(), 5.0)
            send(SAMPLES // 2, SAMPLES - SAMPLES // 2)

        record(runner, during, production="Night Drive", scene="12", shot="A")
    with TakeStore(folder / "takes") as store:
        store.set_flags(1, circled=True)
        take = store.read(1)
    day = datetime.fromtimestamp(take.info.started_unix_s).date()
    return Recorded(stage_path, folder / "takes", take, day)


def _report(out: Path, *args: str) -> tuple[int, str, Element | None]:
    done = stagectl("report", "--out", str(out), *args, timeout=60)
    root = parse(out.read_text(encoding="utf-8")) if done.returncode == 0 else None
    return done.returncode, done.stderr, root


def _check_take(root: Element, r: Recorded, take_id: int) -> None:
    info = r.take.info
    row, section = take_row(root, take_id), take_section(root, take_id)
    assert (row.field("scene"), row.field("shot"), row.field("take")) == ("12", "A", "1")
    assert row.field("tc-in") == str(info.tc_in) and row.field("tc-out") == str(info.tc_out)
    assert info.tc_in is not None and info.duration_frames > 0
    assert section.one("table", class_="dr-take-facts").field("frames") == str(info.duration_frames)
    assert "circled" in row.classes()
    assert row.one(data_field="flags").one("span").attrs["data-flag"] == "circled"
    [camera] = section.one("table", class_="dr-cameras").find_all("tr")[1:]
    assert camera.field("camera") == "K" and camera.field("samples") == str(SAMPLES)
    assert camera.field("focal") == "24-50 mm"  # what the tracker sent: no lens file solved K
    assert camera.field("lens") == "\u2014"
    [note] = [e for e in r.take.log if e.kind == "note"]
    assert section.one("li", data_field="note").text() == f"{note.timecode}{NOTE}"
    assert note.timecode is not None and info.tc_out is not None
    per_day = frames_per_24h(info.rate, info.drop_frame)  # a take may cross midnight
    assert (note.timecode.frames - info.tc_in.frames) % per_day < info.duration_frames


def test_report_of_a_recorded_take(recorded: Recorded, tmp_path: Path) -> None:
    code, err, root = _report(tmp_path / "report.html", "--day", recorded.day.isoformat(),
                              "--config", str(recorded.stage))
    assert code == 0, err
    assert root is not None and f"1 takes of {recorded.day.isoformat()} (1 circled)" in err
    head = root.one("header")
    assert [head.field(f) for f in ("production", "stage", "takes", "circled", "no-good")] == [
        "Night Drive", "report stage", "1", "1", "0"]
    _check_take(root, recorded, 1)
    assert not root.find_all("script")


def test_a_day_without_takes_writes_an_empty_report_and_says_where_the_takes_are(
        recorded: Recorded, tmp_path: Path) -> None:
    code, err, root = _report(tmp_path / "r.html", "--day", "2001-01-01", "--config", str(recorded.stage))
    assert code == 0
    assert "no takes on 2001-01-01" in err and f"takes were recorded on {recorded.day.isoformat()}" in err
    assert root is not None and root.field("empty") == "No takes were recorded on this day."


@pytest.mark.parametrize(("args", "code", "says"), [
    (["--day", "2026-13-01"], 2, "is not a day as YYYY-MM-DD"),
    (["--day", "yesterday"], 2, "is not a day as YYYY-MM-DD"),
    (["--day", "2026-12-07", "--stage", "stage-9"], 1, "--stage stage-9: the takes folder of this stage"),
    (["--day", "2026-12-07", "--out", "MISSING/r.html"], 1, "does not exist; create it"),
    (["--day", "2026-12-07", "--out", "FOLDER"], 1, "is a folder: give the report's file name"),
])
def test_clear_errors(recorded: Recorded, tmp_path: Path, args: list[str], code: int, says: str) -> None:
    args = [str(tmp_path / "missing" / "r.html") if a == "MISSING/r.html" else str(tmp_path) if a == "FOLDER"
            else a for a in args]
    out = tmp_path / "r.html"
    done = stagectl("report", "--out", str(out), "--config", str(recorded.stage), *args, timeout=60)
    assert done.returncode == code, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_folder_this_user_may_not_write_is_named(tmp_path: Path) -> None:
    from stagectl.commands.report import write_report

    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    report = DayReport(date(2026, 12, 7), "s", "t", (), ())
    with permissions_apply(folder) as where, pytest.raises(StageError) as caught:
        write_report(where / "report.html", report)
    assert f"cannot write the report to {where / 'report.html'}" in str(caught.value)
    assert "permissions" in str(caught.value) and not (folder / "report.html").exists()


@pytest.fixture
def replicated(recorded: Recorded, facility_url: str) -> Iterator[str]:
    """The recorded take in a fresh facility store as stage ``stage-3``."""
    from stagectl.takes.facility import FacilitySettings, Replicator

    done = stagectl("facility", "migrate", "--store", facility_url, timeout=60)
    assert done.returncode == 0, done.stderr
    replicator = Replicator(recorded.folder, FacilitySettings(facility_url, "stage-3", connect_timeout_s=2.0))
    replicator.start()
    try:
        status = replicator.sync_now(60.0)
    finally:
        replicator.stop()
    assert status.state == "ok" and [t.state for t in status.takes.values()] == ["synced"], status
    yield facility_url


def test_report_from_the_facility_store(recorded: Recorded, replicated: str, tmp_path: Path) -> None:
    day = recorded.day.isoformat()
    code, err, root = _report(tmp_path / "post.html", "--day", day, "--store", replicated)
    assert code == 0, err
    assert root is not None and root.one("header").field("stage") == "stage-3"
    [row] = root.find_all("tr", class_="circled")
    _check_take(root, recorded, int(row.attrs["data-take"] or 0))
    code, err, only = _report(tmp_path / "only.html", "--day", day, "--store", replicated,
                              "--stage", "stage-3")
    assert code == 0 and only is not None and len(only.find_all("section", class_="dr-take circled")) == 1
    code, err, other = _report(tmp_path / "other.html", "--day", day, "--store", replicated,
                               "--stage", "stage-9")
    assert code == 0 and other is not None and other.field("empty").startswith("No takes")
    assert "no takes on" in err
