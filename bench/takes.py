"""Takes: the recorder's headroom over an 8 x 240 Hz stage, and exporting a one-hour take to every format.

Recorder: 8 camera pipelines with the recorder's taps, samples pushed through
``CameraPipeline.push`` (lens values filled in, as a solved camera's are) as fast as one thread can,
timed until the committer has stored the last one in SQLite (journal ``write()`` + commit). The
sustained rate over the 8 x 240 = 1920 samples/s load is the headroom (goal >= 10x). Run twice:
FreeD-sized (the sample record only) and OpenTrackIO-sized (each sample also captures its ~1 KB
datagram as the take's raw capture, as a real OpenTrackIO source does: the simulator's JSON
datagrams, different every sample). The baseline in the same run is the same pushes with no
recorder recording: the difference is the tap's (and capture's) cost on the I/O thread per sample.

Export: a one-hour, one-camera, 240 Hz take (864 000 samples, moving camera, lens, CDL) is put in
a take store, read back (``TakeStore.read``), and exported to each format; seconds per format
(goal: each under 10 s). The baseline is ``np.save`` of the same columns (the cheapest write of
the same numbers), taken in the same run. Then the OpenTrackIO JSON lines of a take recorded with
raw capture (``--raw-minutes`` of 240 Hz ~1 KB samples), which replays every datagram through the
decoder: seconds, per sample, and that per hour.

    python bench/takes.py [--hours 1] [--samples 200000] [--raw-minutes 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stagectl.core.clock import StageClock  # noqa: E402
from stagectl.core.colour import Cdl  # noqa: E402
from stagectl.core.events import EventQueue  # noqa: E402
from stagectl.core.links import Endpoint  # noqa: E402
from stagectl.core.samples import CameraSample, LensValues, Received  # noqa: E402
from stagectl.core.timecode import FrameRate, Timecode  # noqa: E402
from stagectl.core.timecode.columns import timecode_fields  # noqa: E402
from stagectl.stage.pipeline import CameraPipeline  # noqa: E402
from stagectl.takes.committer import TakeIngest  # noqa: E402
from stagectl.takes.export.registry import FORMATS, export_takes  # noqa: E402
from stagectl.takes.journal import CAMERA, HEADER, SAMPLE  # noqa: E402
from stagectl.takes.recorder import Recorder  # noqa: E402
from stagectl.takes.records import SAMPLE_DTYPE, cdl_json, dumps, pack_sample  # noqa: E402
from stagectl.takes.store import TakeStore  # noqa: E402
from tracking.opentrackio_sim import OpenTrackIOSimulator  # noqa: E402
from tracking.opentrackio_udp import OpenTrackIOUdpSource  # noqa: E402

LOAD = 8 * 240
LENS = LensValues(
    focal_length_mm=35.0,
    focus_distance_m=3.0,
    f_stop=2.5,
    t_stop=2.8,
    entrance_pupil_offset_m=0.1,
    brown_conrady=(-0.1, 0.02, 0.0, 0.001, -0.002),
    principal_point_px=(1920.0, 1080.0),
    lens_file="bench.json",
)


TC = Timecode(864000, FrameRate(Fraction(24)))
RECEIVED = Received("opentrackio", {}, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))


def _datagrams(n: int) -> list[bytes]:
    """n OpenTrackIO datagrams as the simulator sends them (JSON, pose and lens moving, ~1 KB)."""
    sim = OpenTrackIOSimulator(Endpoint("127.0.0.1", 9), rate_hz=240.0, encoding="json")
    return [sim.packets_at(i, 1_790_000_000_000_000_000 + i * 4_166_667, i)[0] for i in range(n)]


def _samples(cameras: list[str], n: int, datagrams: list[bytes] | None = None) -> list[CameraSample]:
    now = time.monotonic_ns()
    return [
        CameraSample(
            cameras[i % len(cameras)],
            f"src{i % len(cameras)}",
            now + i * 1000,
            (i * 1e-4, 2.0, 1.5),
            (i * 1e-3, -5.0, 1.0),
            zoom_raw=i,
            focus_raw=100,
            iris_raw=200,
            sequence=i // len(cameras),
            timecode=TC,
            lens=LENS,
            received=None if datagrams is None else RECEIVED,
        )
        for i in range(n)
    ]


async def _recorder_run(folder: Path, n: int, capture: bool) -> dict[str, float]:
    """Push n samples (capturing a ~1 KB datagram with each when ``capture``) and time them into SQLite."""
    clock = StageClock(FrameRate(Fraction(24)))
    names = [f"C{k}" for k in range(8)]
    pipes = {name: CameraPipeline(name) for name in names}
    datagrams = _datagrams(2000) if capture else None
    samples = _samples(names, n, datagrams)
    baseline_pipes = {name: CameraPipeline(name) for name in names}
    t0 = time.perf_counter()
    for s in samples:
        baseline_pipes[s.camera].push(s)
    base_s = time.perf_counter() - t0
    recorder = Recorder(folder, clock, EventQueue(), pipes)
    captures = [recorder.add_source(f"src{k}", "opentrackio", (name,), {"protocol": "opentrackio"})
                for k, name in enumerate(names)]
    await recorder.async_start()
    recorder.record(scene="bench")
    assert recorder._committer is not None
    stats = recorder._committer.stats
    peer = ("127.0.0.1", 55555)
    t0 = time.perf_counter()
    if datagrams is None:
        for s in samples:
            pipes[s.camera].push(s)
    else:
        for i, s in enumerate(samples):
            captures[i % 8](datagrams[i % len(datagrams)], peer, s.arrival_ns)
            pipes[s.camera].push(s)
    push_s = time.perf_counter() - t0
    while stats.committed_records < n or (capture and stats.committed_raw < n):
        await asyncio.sleep(0.001)
    stored_s = time.perf_counter() - t0
    await recorder.async_stop_take()
    await recorder.async_stop()
    pack = pack_sample
    parked: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
    t0 = time.perf_counter()
    for s in samples[:50_000]:  # the tap's own work, with no writer thread draining at the same time
        parked.put((SAMPLE, pack(s, 0, 864000)))
    tap_alone_us = (time.perf_counter() - t0) / 50_000 * 1e6
    database = folder / "takes.sqlite"
    return {"tap_alone_us": tap_alone_us,
        "samples": n,
        "datagram_bytes": float(np.mean([len(d) for d in datagrams])) if datagrams else 0.0,
        "push_baseline_us": base_s / n * 1e6,
        "push_recording_us": push_s / n * 1e6,
        "tap_us": (push_s - base_s) / n * 1e6,
        "stored_s": stored_s,
        "sustained_per_s": n / stored_s,
        "headroom_x": n / stored_s / LOAD,
        "store_mb": database.stat().st_size / 1e6,
    }


def _hour_take(folder: Path, hours: float) -> int:
    n = int(hours * 3600 * 240)
    r = np.zeros(n, dtype=SAMPLE_DTYPE)
    t = np.arange(n) / 240.0
    r["arrival_ns"] = 1_000_000_000 + (t * 1e9).astype(np.int64)
    r["frame"] = 864000 + (np.arange(n) // 10)
    r["sequence"] = np.arange(n)
    r["raw_index"] = r["ptp_seconds"] = r["ptp_nanoseconds"] = r["device_id"] = -1
    r["spare"] = -1
    r["tc_rate_num"], r["tc_rate_den"] = 24, 1
    for name, values in zip(("tc_hours", "tc_minutes", "tc_seconds", "tc_frames"),
                            timecode_fields(r["frame"], FrameRate(Fraction(24)), False), strict=True):
        r[name] = values
    r["x"], r["y"], r["z"] = np.sin(t / 10) * 3, np.cos(t / 10) * 3, 1.5 + 0.1 * np.sin(t)
    r["pan"], r["tilt"], r["roll"] = (t * 3) % 360 - 180, -5 + np.sin(t), 0.5 * np.sin(t / 3)
    r["zoom_raw"], r["focus_raw"], r["iris_raw"] = 1000 + np.arange(n) % 500, 2000, 300
    r["focal_length_mm"] = 24 + 46 * (0.5 + 0.5 * np.sin(t / 20))
    r["focus_distance_m"], r["f_stop"], r["t_stop"], r["entrance_pupil_m"] = 3.0, 2.5, 2.8, 0.1
    r["k1"], r["k2"], r["k3"], r["p1"], r["p2"], r["cx"], r["cy"] = -0.1, 0.02, 0.0, 0.001, -0.002, 1920, 1080
    r["flags"] = 2
    grade = Cdl((1.1, 1.0, 0.9), (0.01, 0.0, -0.02), (1.0, 1.05, 0.95), 0.9)
    header = {
        "name": "bench-hour",
        "slate": {"scene": "bench", "take": 1, "cameras": ["A"]},
        "rate": [24, 1],
        "drop_frame": False,
        "started": time.time(),
        "tc_in": 864000,
        "timecode_from": "stage",
        "look": "Dusk",
        "cdl": {"frustum": cdl_json(grade)},
    }
    lens = {
        "lens_file": "bench.json",
        "make": "ZEISS",
        "model": "Supreme Prime 35",
        "serial": "1",
        "sensor_width_mm": 36.0,
        "sensor_height_mm": 24.0,
        "image_width_px": 3840,
        "image_height_px": 2160,
    }
    with TakeStore(folder) as store:
        ingest = TakeIngest(store, "bench.journal")
        ingest.add([(HEADER, dumps(header)), (CAMERA, dumps({"index": 0, "camera": "A", "lens": lens}))], 0)
        ingest.commit()
        assert ingest.take_id is not None
        for start in range(0, n, 240 * 60):
            with store.transaction():
                store.put_samples(ingest.take_id, r[start : start + 240 * 60])
        ingest.ended = {"stopped": time.time(), "tc_out": int(r["frame"][-1])}
        ingest.finish("complete")
        return ingest.take_id


def _export_run(folder: Path, hours: float) -> dict[str, Any]:
    take_id = _hour_take(folder / "takes", hours)
    with TakeStore(folder / "takes") as store:
        t0 = time.perf_counter()
        take = store.read(take_id)
        read_s = time.perf_counter() - t0
    track = take.cameras["A"]
    t0 = time.perf_counter()
    np.savez(
        folder / "baseline.npz",
        a=track.arrival_ns,
        f=track.frame,
        t=track.translation_m,
        r=track.rotation_deg,
        fl=track.focal_length_mm,
        d=track.distortion,
    )
    base_s = time.perf_counter() - t0
    out: dict[str, Any] = {"samples": len(track), "read_s": read_s, "baseline_npz_s": base_s, "formats": {}}
    for name in FORMATS:
        t0 = time.perf_counter()
        files = export_takes([take], [name], folder / "out")
        seconds = time.perf_counter() - t0
        out["formats"][name] = {
            "seconds": seconds,
            "vs_baseline": seconds / base_s,
            "bytes": sum(p.stat().st_size for p in files),
            "files": len(files),
        }
    return out


async def _raw_take(folder: Path, minutes: float) -> int:
    """A take recorded by the recorder from ``minutes`` of one 240 Hz OpenTrackIO camera with raw capture."""
    n = int(minutes * 60 * 240)
    pipe = CameraPipeline("O")
    recorder = Recorder(folder, StageClock(FrameRate(Fraction(24))), EventQueue(), {"O": pipe})
    capture = recorder.add_source("O/opentrackio", "opentrackio", ("O",), {"protocol": "opentrackio"})
    await recorder.async_start()
    recorder.record(scene="raw")
    sim = OpenTrackIOSimulator(Endpoint("127.0.0.1", 9), rate_hz=240.0, encoding="json")
    # A real source's decoding path, fed without a socket.
    source = OpenTrackIOUdpSource("O/opentrackio", pipe, StageClock(FrameRate(Fraction(24))), EventQueue(),
                                  Endpoint("127.0.0.1", 0))
    source.capture = capture
    start = time.monotonic_ns()
    for i in range(n):
        for datagram in sim.packets_at(i, 1_790_000_000_000_000_000 + i * 4_166_667, start + i):
            source.datagram_received(datagram, ("127.0.0.1", 55555))
        if i % 20000 == 0:
            await asyncio.sleep(0)
    await recorder.async_stop_take()
    await recorder.async_stop()
    return n


def _raw_export(folder: Path, minutes: float) -> dict[str, Any]:
    n = asyncio.run(_raw_take(folder / "raw", minutes))
    with TakeStore(folder / "raw") as store:
        take = store.read(store.find(1))
    database = (folder / "raw" / "takes.sqlite").stat().st_size
    t0 = time.perf_counter()
    (path,) = export_takes([take], ["jsonl"], folder / "raw-out")
    seconds = time.perf_counter() - t0
    return {"samples": n, "seconds": seconds, "us_per_sample": seconds / n * 1e6,
            "hour_at_240_s": seconds / n * 240 * 3600, "bytes": path.stat().st_size, "store_bytes": database}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="length of the exported take")
    parser.add_argument("--samples", type=int, default=200_000, help="samples pushed through the recorder")
    parser.add_argument("--raw-minutes", type=float, default=5.0,
                        help="minutes of 240 Hz OpenTrackIO recorded with raw capture for the JSON lines "
                             "replay")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stagectl-bench-") as tmp:
        recorder = asyncio.run(_recorder_run(Path(tmp) / "rec", args.samples, False))
        captured = asyncio.run(_recorder_run(Path(tmp) / "raw-rec", args.samples, True))
        export = _export_run(Path(tmp), args.hours)
        raw = _raw_export(Path(tmp), args.raw_minutes)
    if args.json:
        print(json.dumps({"recorder": recorder, "recorder_raw": captured, "export": export, "raw_jsonl": raw},
                         indent=1))
        return 0
    for title, r in (("FreeD-sized samples", recorder),
                     (f"OpenTrackIO samples with raw capture ({r2:.0f} B datagrams)"
                      if (r2 := captured["datagram_bytes"]) else "", captured)):
        print(f"recorder, {title}: {r['samples']} samples over 8 cameras stored in {r['stored_s']:.2f} s = "
              f"{r['sustained_per_s']:,.0f} samples/s = {r['headroom_x']:.1f}x the 8 x 240 Hz load; "
              f"store {r['store_mb']:.1f} MB")
        print(f"  push per sample: {r['push_baseline_us']:.2f} us without recording, "
              f"{r['push_recording_us']:.2f} us recording a flood (tap {r['tap_us']:.2f} us, with the "
              f"journal and committer threads draining it); the tap alone {r['tap_alone_us']:.2f} us")
    print(
        f"export of {export['samples']} samples ({args.hours:g} h at 240 Hz, one camera): "
        f"read {export['read_s']:.2f} s, np.savez baseline {export['baseline_npz_s']:.2f} s"
    )
    for name, f in export["formats"].items():
        print(
            f"  {name:<6} {f['seconds']:7.2f} s  ({f['vs_baseline']:6.1f}x baseline)  "
            f"{f['bytes'] / 1e6:8.1f} MB in {f['files']} file(s)"
        )
    print(f"OpenTrackIO JSON lines from the raw capture: {raw['samples']} samples in "
          f"{raw['seconds']:.2f} s = {raw['us_per_sample']:.1f} us a sample = "
          f"{raw['hour_at_240_s']:.0f} s for an hour at 240 Hz; "
          f"{raw['bytes'] / 1e6:.1f} MB of lines from a {raw['store_bytes'] / 1e6:.1f} MB store")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
