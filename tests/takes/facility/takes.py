"""Real takes for the facility tests (recorded by a running stage from OpenTrackIO datagrams on loopback),
and the comparison of a facility copy with the stage's own, column by column by checksum."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.core.opentrackio.codec import ENCODING_JSON, OpenTrackIOSample, OpenTrackIOStatic, encode_sample
from stagectl.stage.runner import StageRunner
from stagectl.takes.model import TakeData
from tests.support.polling import wait_until
from tests.support.recording import record, running
from tests.support.stagefile import StageFile

STAGE = StageFile("facility").source("K", "opentrackio").takes(dir="takes").text
STATIC = OpenTrackIOStatic(sensor_width_mm=27.99, sensor_height_mm=19.22, camera_serial="A-1")


def datagram(n: int) -> bytes:
    """OpenTrackIO sample ``n`` (every field varying with n)."""
    sample = OpenTrackIOSample(translation_m=(0.01 * n, 0.1 * n, 1.5), rotation_deg=(n % 360, 0.5, -0.25),
                               sequence_number=n % 65536, static=STATIC)
    [out] = encode_sample(sample, ENCODING_JSON, n)
    return out


class Sender:
    """Sends numbered datagrams to the stage's first source and waits until the stage has them."""

    def __init__(self, runner: StageRunner) -> None:
        self.runner = runner
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.next = 0

    def send(self, count: int) -> None:
        source = self.runner.stage.sources[0]
        assert source.bound is not None
        for _ in range(count):
            self.sock.sendto(datagram(self.next), ("127.0.0.1", source.bound.port))
            self.next += 1
            if self.next % 50 == 0:
                wait_until(lambda: source.health.received >= self.next, what="the stage to receive")
        wait_until(lambda: source.health.received >= self.next, what="the stage to receive")


@contextmanager
def stage(folder: Path) -> Iterator[tuple[StageRunner, Sender]]:
    """A running stage with one OpenTrackIO camera, its takes in ``folder/takes``."""
    with running(STAGE, folder) as runner:
        sender = Sender(runner)
        try:
            yield runner, sender
        finally:
            sender.sock.close()


def record_take(runner: StageRunner, sender: Sender, samples: int, during: Callable[[], None] | None = None,
                **slate: Any) -> str:
    """One take of ``samples`` datagrams (``during()`` between their two halves); its name."""
    def send() -> None:
        sender.send(samples // 2)
        if during is not None:
            during()
        sender.send(samples - samples // 2)

    return record(runner, send, scene=slate.pop("scene", "12"), shot=slate.pop("shot", "A"), **slate)


def _digest(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes() + str(value.dtype).encode()).hexdigest()
    return hashlib.sha256(repr(value).encode()).hexdigest()


def checksums(take: TakeData) -> dict[str, str]:
    """A checksum of every column of every camera, and of the take's info (but its store id), log, CDL,
    dropouts, sources and raw capture."""
    out = {"info": _digest(dataclasses.replace(take.info, take_id=0)), "log": _digest(take.log),
           "cdl": _digest(take.cdl_at_start), "dropouts": _digest(take.dropouts),
           "sources": _digest(take.sources),
           "raw": _digest(list(take.raw.entries()) if take.raw is not None else None)}
    for name, track in take.cameras.items():
        for f in dataclasses.fields(track):
            out[f"{name}.{f.name}"] = _digest(getattr(track, f.name))
        out[f"{name}.samples"] = str(len(track))
    return out
