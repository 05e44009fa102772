"""Real takes for conform's tests: a stage on loopback, a sender whose pose encodes the sample's time.

An OpenTrackIO sample carries the tracker's timecode and sub-frame; its pose says when it was taken:
``x`` metres = seconds on the timecode axis since ``T0`` (the stage's clock face, see
``stagectl.takes.conform.timing``), pan = 100 degrees per second of it (wrapping at +-180 many times),
focal length 20 mm + 10 mm per second. Linear in time, so a frame interpolated between two samples has
exactly the pose of its own exposure time.
"""

from __future__ import annotations

import datetime
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from stagectl.core.opentrackio.codec import ENCODING_JSON, encode_sample
from stagectl.core.opentrackio.model import OpenTrackIOLens, OpenTrackIOSample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.core.timecode.label import TimecodeLabel
from stagectl.stage.runner import StageRunner
from tests.support.polling import wait_until
from tests.support.recording import record, running
from tests.support.stagefile import StageFile

PAN_DEG_PER_S = 100.0
FOCAL_MM = 20.0
FOCAL_MM_PER_S = 10.0
BATCH = 40


def wrap_deg(value: float) -> float:
    """An angle in [-180, 180)."""
    return (value + 180.0) % 360.0 - 180.0


@dataclass(frozen=True, slots=True)
class Sent:
    """One sample as sent: its time on the axis (s since T0), its label, its sub-frame."""

    t: float
    label: Timecode
    sub_frame: int | None


def stage_text(frame_rate: str = "25", camera: str = "A") -> str:
    """A stage with one OpenTrackIO camera and a take store in ``takes``."""
    stage = StageFile("conform test", frame_rate=frame_rate).source(camera, "opentrackio")
    return stage.takes(dir="takes").text


def samples(start: Timecode, seconds: float, hz: int, *, sub_frames: bool = True) -> list[Sent]:
    """``seconds`` of a tracker at ``hz`` whose timecode runs at ``start``'s rate from ``start``
    (its first sample at the start of that frame); ``hz`` a whole multiple of the timecode rate."""
    rate = start.rate.rate
    per_frame = Fraction(hz) / rate
    assert per_frame.denominator == 1, "hz must be a multiple of the timecode rate"
    m = int(per_frame)
    out = []
    frame_s = 1 / float(start.rate.nominal if not start.drop_frame and rate.denominator != 1 else rate)
    for k in range(round(seconds * hz)):
        frame, sub = divmod(k, m)
        out.append(Sent((frame + sub / m) * frame_s, start + frame, sub if sub_frames else None))
    return out


def datagram(n: int, sent: Sent) -> bytes:
    """Sample ``n`` as one OpenTrackIO JSON datagram."""
    label = TimecodeLabel.of(sent.label, sent.sub_frame)
    sample = OpenTrackIOSample(
        translation_m=(sent.t, 0.5, 1.5), rotation_deg=(wrap_deg(PAN_DEG_PER_S * sent.t), -5.0, 0.0),
        lens=OpenTrackIOLens(pinhole_focal_length_mm=FOCAL_MM + FOCAL_MM_PER_S * sent.t),
        sequence_number=n % 2**32, source_number=1, timecode_label=label)
    [data] = encode_sample(sample, ENCODING_JSON, n % 65536)
    return data


def sender(runner: StageRunner, sent: Sequence[Sent], before: Callable[[], None] | None = None,
           first: int = 0) -> Callable[[], None]:
    """What ``record`` runs during the take: ``before()``, then every sample, in batches (each batch
    waits until the stage has received it: loopback UDP is not flow-controlled); numbered from ``first``
    (a tracker's numbering runs on across takes)."""
    source = runner.stage.sources[0]
    bound = source.bound
    assert bound is not None

    def send() -> None:
        if before is not None:
            before()
        base = source.health.received
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for start in range(0, len(sent), BATCH):
                chunk = sent[start:start + BATCH]
                for n, s in enumerate(chunk, start=start):
                    sock.sendto(datagram(first + n, s), ("127.0.0.1", bound.port))
                done = base + start + len(chunk)

                def received(done: int = done) -> bool:
                    return source.health.received >= done

                wait_until(received, what=f"the stage to receive {done - base} samples")
        recorder = runner.stage.recorder
        wait_until(lambda: recorder.status().samples.get("A", 0) >= len(sent),
                   what="the recorder to take every sample", detail=recorder.status)

    return send


def wall_time_of_day(label: str) -> float:
    """A wall-clock time (local, a fixed day) whose time of day is ``label``'s hours, minutes and seconds:
    a stage clock jammed to it reads the label, whatever the time of day the test runs at."""
    hours, minutes, seconds, _frames = (int(part) for part in re.split("[:;]", label))
    return datetime.datetime(2026, 1, 15).timestamp() + hours * 3600 + minutes * 60 + seconds


def record_takes(folder: Path, takes: Sequence[Sequence[Sent]], frame_rate: str = "25",
                 before: Callable[[StageRunner], None] | None = None) -> Path:
    """Record one take per list of samples on a real stage in ``folder``; the take store's folder."""
    first = next((sent[0] for sent in takes if sent), None)
    with running(stage_text(frame_rate), folder) as runner:
        if first is not None:  # the stage clock on the tracker's time of day, as house sync keeps a stage
            runner.stage.clock.jam(wall_time_s=wall_time_of_day(str(first.label)))
        numbered = 0
        for n, sent in enumerate(takes, start=1):
            hook = (lambda: before(runner)) if before is not None else None
            record(runner, sender(runner, sent, hook, numbered), scene="conform", shot=str(n))
            numbered += len(sent)
    return folder / "takes"


def parse_rate(text: str) -> FrameRate:
    """``"29.97"`` -> FrameRate."""
    return FrameRate.parse(text)
