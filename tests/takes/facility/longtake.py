"""A long take written straight into a local take store, and a replicator run as its own process.

:func:`write_take` (or :class:`TakeWriter`, a take being recorded) builds a take through the store's
own writing path (journal records applied by :class:`stagectl.takes.committer.TakeIngest`, one commit
per :data:`COMMIT_S` of recording, as the committer does while a stage records): ``cameras`` trackers
at ``hz`` with every field varying, one raw datagram per sample from one source, a static block per
camera and a log entry a second. The bench uses it for its loads.

Run as a module (``python -m tests.takes.facility.longtake FOLDER URL STAGE_ID [BATCH_BYTES]``) it
replicates the store in FOLDER with a :class:`stagectl.takes.facility.Replicator` until everything
is sent (exit 0) or it is killed; BATCH_BYTES makes each transaction that small (many of them, so a
kill lands mid-take).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.takes.committer import TakeIngest
from stagectl.takes.journal import CAMERA, HEADER, LOG, RAW, SAMPLE, SOURCE, STATIC
from stagectl.takes.records import FLAG_SOLVED, SAMPLE_DTYPE, dumps, pack_raw
from stagectl.takes.store import TakeStore

COMMIT_S = 0.2
"""Recording per commit (the committer's period): each commit stores one chunk per camera."""
STARTED = 1_790_000_000.0
FPS = 25
PEER = "10.0.0.21:40000"


def _records(cameras: int, hz: int, first: int, count: int) -> np.ndarray:
    """Samples ``first`` to ``first + count`` of each camera, interleaved in arrival order."""
    k = np.arange(first, first + count)
    out = []
    for cam in range(cameras):
        t = k / hz + cam * 0.0003
        r = np.zeros(count, dtype=SAMPLE_DTYPE)
        r["arrival_ns"] = 1_000_000_000 + np.round(t * 1e9).astype(np.int64)
        r["frame"] = 90_000 + np.floor(t * FPS).astype(np.int64)
        r["sequence"] = k % 65536
        r["raw_index"] = k * cameras + cam
        r["ptp_seconds"] = r["ptp_nanoseconds"] = r["device_id"] = r["spare"] = -1
        r["tc_rate_num"], r["tc_rate_den"] = FPS, 1
        r["x"], r["y"], r["z"] = np.sin(t) + cam, np.cos(t), 1.5 + 0.01 * k
        r["pan"], r["tilt"], r["roll"] = (t * 7) % 360 - 180, np.sin(t / 3), 0.1 * cam
        r["zoom_raw"], r["focus_raw"], r["iris_raw"] = k % 4096, 2000 + cam, 300
        r["focal_length_mm"], r["focus_distance_m"], r["f_stop"] = 24 + k % 50, 3.0, 2.8
        r["camera"] = cam
        r["flags"] = FLAG_SOLVED
        out.append(r)
    merged = np.concatenate(out)
    return merged[np.argsort(merged["arrival_ns"], kind="stable")]


class TakeWriter:
    """One take being recorded into ``store`` (see the module's docstring): :meth:`record` adds seconds
    of recording, :meth:`stop` finishes it."""

    def __init__(self, store: TakeStore, *, cameras: int, hz: int, name: str = "12-A-T001",
                 started: float = STARTED, scene: str = "12", take: int = 1, raw: bool = True) -> None:
        self.cameras, self.hz, self.raw, self.started = cameras, hz, raw, started
        self.ingest = TakeIngest(store, f"{int(started * 1000)}-{name}.journal")
        self.sent = 0  # samples per camera so far
        self._offset = 0
        names = [f"CAM{c}" for c in range(cameras)]
        header = {"name": name, "slate": {"scene": scene, "shot": "A", "take": take, "cameras": names},
                  "rate": [FPS, 1], "drop_frame": False, "started": started, "tc_in": 90_000,
                  "timecode_from": "stage", "look": "Dusk"}
        head: list[tuple[int, bytes]] = [(HEADER, dumps(header))]
        head += [(CAMERA, dumps({"index": c, "camera": n, "source": "K", "delay_ms": 0.0}))
                 for c, n in enumerate(names)]
        if raw:
            head.append((SOURCE, dumps({"index": 0, "name": "K", "protocol": "freed", "cameras": names,
                                        "settings": {}})))
        head += [(STATIC, dumps({"camera": c, "ns": 1_000_000_000, "static": {"serial": f"S-{c}"}}))
                 for c in range(cameras)]
        self.ingest.add(head, 0)
        self.ingest.commit()
        assert self.ingest.take_id is not None
        self.take_id: int = self.ingest.take_id

    def record(self, seconds: float) -> None:
        """``seconds`` more of recording, committed every :data:`COMMIT_S`."""
        hz = self.hz
        per_commit = max(1, round(hz * COMMIT_S))
        end = self.sent + round(hz * seconds)
        for first in range(self.sent, end, per_commit):
            count = min(per_commit, end - first)
            records = _records(self.cameras, hz, first, count)
            batch: list[tuple[int, bytes]] = [(SAMPLE, sample) for sample in _split(records)]
            if self.raw:
                batch += [(RAW, pack_raw(int(r["arrival_ns"]), int(r["arrival_ns"]) + 7, int(r["raw_index"]),
                                         0, 0, PEER, _freed(int(r["camera"]), int(r["sequence"]))))
                          for r in records]
            if first // hz != (first + count) // hz:
                last = records[-1]
                batch.append((LOG, dumps({"ns": int(last["arrival_ns"]), "frame": int(last["frame"]),
                                          "kind": "event", "source": "K", "text": f"second {first // hz}",
                                          "data": {"n": first}})))
            self._offset += len(batch)
            self.ingest.add(batch, self._offset)
            self.ingest.commit()
        self.sent = end

    def stop(self) -> None:
        """STOP: the take finished (``complete``)."""
        seconds = self.sent / self.hz
        self.ingest.ended = {"stopped": self.started + seconds, "tc_out": 90_000 + int(seconds * FPS) - 1}
        self.ingest.finish("complete")


def write_take(store: TakeStore, *, cameras: int, hz: int, seconds: float, name: str = "12-A-T001",
               started: float = STARTED, scene: str = "12", take: int = 1, raw: bool = True) -> int:
    """One finished take of ``seconds`` of recording (see the module's docstring); its local id."""
    writer = TakeWriter(store, cameras=cameras, hz=hz, name=name, started=started, scene=scene, take=take,
                        raw=raw)
    writer.record(seconds)
    writer.stop()
    return writer.take_id


def _split(records: np.ndarray) -> list[bytes]:
    blob = records.tobytes()
    size = SAMPLE_DTYPE.itemsize
    return [blob[i:i + size] for i in range(0, len(blob), size)]


def _freed(camera: int, sequence: int) -> bytes:
    """A FreeD-sized datagram (29 bytes) that varies with the sample."""
    tail = bytes((sequence * 7 + i) % 256 for i in range(24))
    return bytes([0xD1, camera]) + sequence.to_bytes(3, "big") + tail


def main(argv: list[str]) -> int:
    """Replicate the store in argv[0] to argv[1] as stage argv[2] until everything is sent."""
    from stagectl.takes.facility import FacilitySettings, Replicator, push

    folder, url, stage_id = Path(argv[0]), argv[1], argv[2]
    if len(argv) > 3:
        push.BATCH_BYTES = int(argv[3])
        push.BATCH_ROWS = max(1, int(argv[3]) // 64)
    replicator = Replicator(folder, FacilitySettings(url, stage_id, connect_timeout_s=2.0))
    replicator.start()
    try:
        status: Any = replicator.sync_now(600.0)
    finally:
        replicator.stop()
    print(status.state, {k: v.state for k, v in status.takes.items()}, flush=True)
    return 0 if status.state == "ok" and all(t.state == "synced" for t in status.takes.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
