"""Journal records no layout fits (a sample of an odd size, a raw record shorter than its header says)
are left out and counted, by recovery and by the live committer, and the rest of the take is stored:
nothing blocks the take or is retried forever."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.committer import JOURNAL_DIR, Committer
from stagectl.takes.journal import CAMERA, END, HEADER, RAW, SAMPLE, SOURCE, Record, frame
from stagectl.takes.records import RAW_HEAD, dumps, pack_raw, pack_sample
from stagectl.takes.recovery import recover
from stagectl.takes.store import TakeStore
from tests.support.polling import wait_until

R24 = FrameRate.parse(24)
HEADER_JSON = {"name": "S-T001", "slate": {"scene": "S", "cameras": ["A"]}, "rate": [24, 1],
               "drop_frame": False, "started": 1_790_000_000.0, "tc_in": 864000, "timecode_from": "stage"}


def _sample(n: int) -> bytes:
    sample = CameraSample("A", "A/freed", 1_000_000 + n, (n * 0.5, 2.0, 1.5), (n * 1.0, -5.0, 0.0),
                          zoom_raw=n, timecode=Timecode(864000 + n, R24))
    return pack_sample(sample, 0, 864000 + n, 0, n)


def _raw(n: int) -> bytes:
    return pack_raw(1_000_000 + n, 1_790_000_000_000_000_000 + n, n, 0, 0, "127.0.0.1:9", b"datagram %d" % n)


BAD = [(SAMPLE, _sample(90)[:100]), (SAMPLE, _sample(91) + b"\0" * 44), (RAW, _raw(92)[:10]),
       (RAW, _raw(93)[:-1])]
"""A sample of 100 bytes and one of 300, a raw record cut inside its header and one a byte short."""


def _records() -> list[Record]:
    source = {"index": 0, "name": "A/freed", "protocol": "freed", "cameras": ["A"], "settings": {}}
    return [(HEADER, dumps(HEADER_JSON)),
            (CAMERA, dumps({"index": 0, "camera": "A", "source": "A/freed", "lens": None})),
            (SOURCE, dumps(source)),
            *[rec for n in range(3) for rec in ((RAW, _raw(n)), (SAMPLE, _sample(n)))],
            *BAD,
            *[rec for n in range(3, 6) for rec in ((RAW, _raw(n)), (SAMPLE, _sample(n)))],
            (END, dumps({"stopped": 1_790_000_001.0, "tc_out": 864005}))]


def _check_take(folder: Path, take_id: int) -> None:
    with TakeStore(folder) as store:
        take = store.read(take_id)
    assert take.info.state == "complete"
    track = take.cameras["A"]
    assert track.zoom_raw.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert track.raw_index is not None and track.raw_index.tolist() == list(range(6))
    assert take.raw is not None
    assert [(e.number, e.data) for e in take.raw.entries()] == [(n, b"datagram %d" % n) for n in range(6)]


def test_recovery_leaves_out_records_of_no_layout_and_keeps_the_take(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert RAW_HEAD.size > 10  # the third bad record is cut inside its header
    (tmp_path / JOURNAL_DIR).mkdir()
    (tmp_path / JOURNAL_DIR / "s.journal").write_bytes(b"".join(frame(t, p) for t, p in _records()))
    with caplog.at_level(logging.ERROR, logger="stagectl.takes"):
        [r] = recover(tmp_path).takes
    assert (r.state, r.samples) == ("complete", 6)
    assert r.problem == "4 records of a size no layout has were left out"
    errors = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.ERROR]
    assert len(errors) == 1  # at most one log a period, however many are left out
    assert "s.journal: a sample record of 100 bytes (layout 2 is 256, layout 1 208)" in errors[0]
    _check_take(tmp_path, r.take_id)


def test_the_live_committer_stores_the_take_around_records_of_no_layout(tmp_path: Path) -> None:
    taken: list[int] = []
    committer = Committer(tmp_path, on_take=lambda name, take_id: taken.append(take_id))
    committer.start()
    records = _records()
    for start in range(0, len(records), 4):  # batches as the journal writer hands them on
        committer.feed("live.journal", records[start:start + 4], start)
    wait_until(lambda: committer.stats.committed_records >= 6 and not committer.pending,
               detail=lambda: committer.stats)
    assert committer.stop()
    assert committer.stats.errors == 0 and committer.stats.error is None
    assert committer.stats.committed_raw == 6 and len(taken) == 1
    _check_take(tmp_path, taken[0])


def test_an_idle_committer_sleeps_until_a_batch_arrives(tmp_path: Path) -> None:
    committer = Committer(tmp_path)
    committer.start()
    try:
        time.sleep(0.6)  # three commit periods: a committer that polled would have woken three times
        assert committer.stats.wakes == 0
        records = _records()
        committer.feed("live.journal", records, 0)
        wait_until(lambda: committer.stats.committed_records >= 6 and not committer.pending,
                   detail=lambda: committer.stats)
        woke = committer.stats.wakes
        time.sleep(0.6)  # stored: nothing left to commit, so it sleeps again (at most the period under way)
        assert committer.stats.wakes <= woke + 1
    finally:
        assert committer.stop()
