"""The raw capture on its own: entries journaled with their sender as it changes, the newest entry per
source (one for every camera of a shared FreeD port), and what a sample of an unknown source links to."""

from __future__ import annotations

import time
from pathlib import Path

from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.capture import RawCapture
from stagectl.takes.journal import RAW, SOURCE, JournalWriter, read_journal
from stagectl.takes.model import RawEntry
from stagectl.takes.records import NO_SOURCE, RAW_PREROLL, iter_raw, pack_sample, unpack_samples


def _journal(tmp_path: Path, capture: RawCapture, cameras: dict[str, int],
             during: list[tuple[int, bytes, object]]) -> tuple[list[RawEntry], list[int]]:
    """Record a take with ``capture``: each (source, data, sender) of ``during`` arrives in it; the raw
    entries journaled, and the source indexes of the SOURCE records."""
    calls = [capture.add_source("A/freed", "freed", ("A", "C"), {"camera_id": None},
                                names=("A/freed#1", "C/freed#2")),
             capture.add_source("B/otrk", "opentrackio", ("B",), {},
                                preroll=lambda: [(b"early", ("127.0.0.1", 7000), time.monotonic_ns())]),
             capture.add_source("D/serial", "freed-serial", ("D",), {})]
    calls[0](b"before", ("127.0.0.1", 5000), 10)  # no take yet: not captured
    writer = JournalWriter(tmp_path / "c.journal", lambda records, offset: None)
    capture.start(writer, cameras)
    for index, data, sender in during:
        calls[index](data, sender, 100 + len(data))
    capture.stop()
    calls[1](b"after", ("127.0.0.1", 7000), 999)  # stopped: not captured
    assert writer.close()
    records = read_journal(tmp_path / "c.journal").records
    entries = [entry for rtype, payload in records if rtype == RAW for entry in iter_raw(payload)]
    return entries, [int(payload.split(b'"index":')[1].split(b",")[0]) for rtype, payload in records
                     if rtype == SOURCE]


def test_entries_keep_each_sender_and_the_newest_entry_per_source(tmp_path: Path) -> None:
    capture = RawCapture()
    v4, v6 = ("127.0.0.1", 5000), ("::1", 6000, 0, 0)
    during = [(0, b"a0", v4), (0, b"a1", v4), (0, b"a2", v6), (0, b"a3", v4), (2, b"d0", "/dev/ttyUSB0"),
              (1, b"b0", ("127.0.0.1", 7000))]
    entries, sources = _journal(tmp_path, capture, {"A": 0, "B": 1, "C": 2, "D": 3}, during)
    assert sources == [0, 1, 2]
    assert [(e.number, e.source, e.peer, e.data) for e in entries] == [
        (0, 1, "127.0.0.1:7000", b"early"),  # the pre-roll first
        (1, 0, "127.0.0.1:5000", b"a0"), (2, 0, "127.0.0.1:5000", b"a1"), (3, 0, "[::1]:6000", b"a2"),
        (4, 0, "127.0.0.1:5000", b"a3"), (5, 2, "/dev/ttyUSB0", b"d0"), (6, 1, "127.0.0.1:7000", b"b0")]
    assert [bool(e.flags & RAW_PREROLL) for e in entries] == [True] + [False] * 6
    assert capture.count == 7 and capture.last == [4, 6, 5]
    # every camera of the shared port links to the port's newest entry
    assert capture.link("A/freed#1") == capture.link("C/freed#2") == (0, 4)
    assert capture.link("B/otrk") == (1, 6) and capture.link("D/serial") == (2, 5)
    assert capture.link("E/unknown") == (NO_SOURCE, -1)


def test_a_new_take_starts_without_entries(tmp_path: Path) -> None:
    capture = RawCapture()
    entries, sources = _journal(tmp_path, capture, {"B": 0}, [(1, b"b0", ("127.0.0.1", 7000))])
    assert sources == [1] and [e.data for e in entries] == [b"early", b"b0"]
    capture.start(JournalWriter(tmp_path / "d.journal", lambda records, offset: None), {"B": 0})
    capture.stop()
    assert capture.last == [-1, -1, -1] and capture.count == 1  # only the pre-roll of the new take
    assert capture.link("A/freed#1") == (0, -1)


def test_a_sample_of_no_known_source_records_no_source() -> None:
    r24 = FrameRate.parse(24)
    sample = CameraSample("A", "?", 5, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), timecode=Timecode(0, r24))
    [unknown] = unpack_samples(pack_sample(sample, 0, 0))
    [first] = unpack_samples(pack_sample(sample, 0, 0, 0, 12))
    assert (int(unknown["source"]), int(unknown["raw_index"])) == (NO_SOURCE, -1)
    assert (int(first["source"]), int(first["raw_index"])) == (0, 12)
