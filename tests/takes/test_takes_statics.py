"""A tracker's static block in a take: the one it had at RECORD, then each one that differs; every
repeat stays in the raw capture, byte for byte."""

from __future__ import annotations

import socket
from pathlib import Path

from stagectl.core.opentrackio.codec import ENCODING_JSON, OpenTrackIOSample, OpenTrackIOStatic, encode_sample
from stagectl.takes.records import RAW_PREROLL
from tests.support.polling import wait_until
from tests.support.recording import read_take, record, running
from tests.support.stagefile import StageFile

STAGE = StageFile("statics").source("K", "opentrackio").takes(dir="takes").text
FIRST = OpenTrackIOStatic(sensor_width_mm=27.99, sensor_height_mm=19.22, camera_serial="A-1")
SECOND = OpenTrackIOStatic(sensor_width_mm=27.99, sensor_height_mm=19.22, camera_serial="A-2")


def _datagram(n: int, static: OpenTrackIOStatic) -> bytes:
    sample = OpenTrackIOSample(translation_m=(0.0, 0.1 * n, 1.5), rotation_deg=(n, 0.0, 0.0),
                               sequence_number=n, static=static)
    [datagram] = encode_sample(sample, ENCODING_JSON, n)
    return datagram


def test_a_static_block_repeated_in_every_sample_is_stored_once_per_change(tmp_path: Path) -> None:
    statics = [FIRST] * 6 + [SECOND] * 6 + [FIRST] * 3  # a camera swapped, then swapped back
    sent = [_datagram(n, static) for n, static in enumerate(statics, start=1)]
    with running(STAGE, tmp_path) as runner, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        stage = runner.stage
        bound = stage.sources[0].bound
        assert bound is not None
        sender.sendto(_datagram(0, FIRST), ("127.0.0.1", bound.port))  # before RECORD: its pre-roll
        wait_until(lambda: stage.cameras["K"].tracker_static is not None)

        def send() -> None:
            for n, datagram in enumerate(sent):
                sender.sendto(datagram, ("127.0.0.1", bound.port))
                wait_until(lambda n=n: stage.sources[0].health.received == n + 2)

        record(runner, send, scene="statics")
    take = read_take(tmp_path / "takes")
    track = take.cameras["K"]
    serials = [static["camera"]["serialNumber"] for _ns, static in track.statics]
    assert serials == ["A-1", "A-2", "A-1"]  # at RECORD, then each change
    assert len(track) == len(sent)
    assert take.raw is not None
    entries = list(take.raw.entries())
    assert [e.data for e in entries if not e.flags & RAW_PREROLL] == sent  # every repeat, as sent
    assert [e.data for e in entries if e.flags & RAW_PREROLL] == [_datagram(0, FIRST)]
