"""One camera, one field of view: USD, .chan, CSV and the OpenTrackIO JSON lines agree, or all say unknown.

A real take with four cameras whose film back comes from four places: ``L`` a lens file (FreeD, the
demo zoom), ``K`` the tracker's static block (OpenTrackIO), ``G`` the stage file's ``sensor_mm``
(OpenTrackIO without a sensor), ``N`` nowhere (OpenTrackIO without a sensor, no ``sensor_mm``). Each
format's own numbers give a vertical field of view per frame: CSV's ``vfov_deg``, .chan's eighth
column, the JSON lines' ``pinholeFocalLength`` with the first line's static sensor height, USD's
``stagectl:verticalFovDeg`` and USD's ``focalLength`` and ``verticalAperture``. They agree to 1e-6
degrees; USD's camera attributes are 32-bit floats (UsdGeomCamera's types), so the FOV a USD reader
works out from them agrees to what float32 can hold, a bound worked out per frame.
Where the film back is unknown, every format says so.
"""

from __future__ import annotations

import csv
import json
import math
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pxr import Usd, UsdGeom

import lens as lens_package
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    OpenTrackIOLens,
    OpenTrackIOSample,
    OpenTrackIOStatic,
    encode_sample,
)
from stagectl.takes.export.registry import export_takes
from tests.chan_reader import read_chan
from tests.support.polling import wait_until
from tests.support.recording import read_take, record, running
from tests.support.stagefile import StageFile
from tracking.freed.codec import FreeDPosition, encode_d1


def _stage(lens: Path) -> str:
    """L: FreeD solved by a lens file; K: OpenTrackIO with the tracker's sensor; G: the stage file's
    sensor; N: nothing known about the film back."""
    stage = StageFile("fov").camera("L", lens=lens).camera("K").camera("G", sensor_mm=[24.89, 18.66])
    stage.source("L", "freed")
    for camera in ("K", "G", "N"):
        stage.source(camera, "opentrackio")
    return stage.takes(dir="takes").text


FRAMES = 10


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fov")
    lens_file = Path(lens_package.__file__).parent / "data" / "demo_zoom_24_70.json"
    sensor = OpenTrackIOStatic(sensor_width_mm=27.99, sensor_height_mm=19.22, camera_label="K")
    with running(_stage(lens_file), folder) as runner, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        stage = runner.stage

        def send() -> None:
            for n in range(FRAMES):
                focal = 24.0 + 4.321 * n + 1e-7 * n  # not round: every digit must survive
                freed = FreeDPosition(0, float(n), 0.0, 0.0, 0.0, 0.0, 1500.0, 6000 * n, 9000)
                sends = [(0, encode_d1(freed))]
                for index, static in ((1, sensor if n == 0 else None), (2, None), (3, None)):
                    sample = OpenTrackIOSample(translation_m=(0.0, 0.1 * n, 1.5), rotation_deg=(n, 0.0, 0.0),
                                               lens=OpenTrackIOLens(pinhole_focal_length_mm=focal),
                                               sequence_number=n, static=static)
                    sends.append((index, encode_sample(sample, ENCODING_CBOR, n)[0]))
                for index, datagram in sends:
                    bound = stage.sources[index].bound
                    assert bound is not None
                    sender.sendto(datagram, ("127.0.0.1", bound.port))
                wait_until(lambda n=n: all(c.delivered == n + 1 for c in stage.cameras.values()))
                time.sleep(0.045)  # a new stage-clock frame (25 fps) for every sample

        record(runner, send, scene="fov")
    take = read_take(folder / "takes")
    written = export_takes([take], ["usd", "chan", "csv", "jsonl"], folder / "export")
    return {path.name.replace(take.info.name, "take"): path for path in written}


def _fov(focal: float, height: float) -> float:
    return math.degrees(2.0 * math.atan(height / (2.0 * focal)))


def _csv_fov(path: Path) -> dict[int, float | None]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[int, float | None] = {}
    for row in rows:
        out.setdefault(int(row["frame"]), float(row["vfov_deg"]) if row["vfov_deg"] else None)
    return out


def _jsonl_fov(path: Path, frames: list[int]) -> dict[int, float | None]:
    lines: list[dict[str, Any]] = [json.loads(line) for line in path.read_text().splitlines()]
    dims = lines[0].get("static", {}).get("camera", {}).get("activeSensorPhysicalDimensions")
    focal = [line["lens"]["pinholeFocalLength"] for line in lines]
    return {frame: None if dims is None else _fov(f, dims["height"]) for frame, f in zip(frames, focal,
                                                                                          strict=True)}


def _chan_fov(path: Path) -> dict[int, float | None]:
    first = path.read_text().splitlines()[0].split()
    if len(first) == 7:
        chan = read_chan(path, columns=7)
        return {int(f): None for f in chan.frames}
    chan = read_chan(path)
    return {int(f): float(v) for f, v in zip(chan.frames, chan.values[:, 6], strict=True)}


def _usd_fov(path: Path) -> tuple[dict[int, float | None], dict[int, float], dict[int, float | None]]:
    """USD's field of view per frame from the camera's attributes, per frame how far float32 lets it
    stray from the exact one, and the exact one in ``stagectl:verticalFovDeg``."""
    stage = Usd.Stage.Open(str(path))
    camera = UsdGeom.Camera(stage.GetDefaultPrim())
    fov: dict[int, float | None] = {}
    bound: dict[int, float] = {}
    exact_attr = camera.GetPrim().GetAttribute("stagectl:verticalFovDeg")
    exact = {int(t): exact_attr.Get(Usd.TimeCode(t)) if exact_attr.HasAuthoredValue() else None
             for t in camera.GetFocalLengthAttr().GetTimeSamples()}
    height_attr = camera.GetVerticalApertureAttr()
    for t in camera.GetFocalLengthAttr().GetTimeSamples():  # the focal length changes every frame
        focal = camera.GetFocalLengthAttr().Get(Usd.TimeCode(t))
        if not height_attr.HasAuthoredValue():
            fov[int(t)] = None
            continue
        height = height_attr.Get()
        fov[int(t)] = _fov(focal, height)
        # d(fov)/df and d(fov)/dh times half a float32 step of each (radians -> degrees), plus rounding.
        k = 1.0 / (1.0 + (height / (2 * focal)) ** 2)
        step_f, step_h = float(np.spacing(np.float32(focal))), float(np.spacing(np.float32(height)))
        bound[int(t)] = math.degrees(k * (height / focal**2 * step_f / 2 + step_h / 2 / focal)) + 1e-9
    return fov, bound, exact


@pytest.mark.parametrize(("camera", "height"), [("L", 20.25), ("K", 19.22), ("G", 18.66), ("N", None)])
def test_every_format_gives_the_same_vertical_fov(files: dict[str, Path], camera: str,
                                                 height: float | None) -> None:
    csv_fov = _csv_fov(files[f"take_{camera}.csv"])
    frames = sorted(csv_fov)
    assert len(frames) == FRAMES
    jsonl = _jsonl_fov(files[f"take_{camera}.jsonl"], frames)
    chan = _chan_fov(files[f"take_{camera}.chan"])
    usd, bound, usd_exact = _usd_fov(files[f"take_{camera}.usda"])
    assert sorted(chan) == sorted(usd) == frames
    for frame in frames:
        values = (csv_fov[frame], jsonl[frame], chan[frame], usd_exact[frame], usd[frame])
        if height is None:
            assert values == (None, None, None, None, None)
            continue
        assert None not in values, values
        exact = csv_fov[frame]
        assert exact is not None
        for value in values[1:4]:
            assert value is not None and abs(value - exact) <= 1e-6
        assert usd[frame] is not None and abs(usd[frame] - exact) <= bound[frame]
        assert bound[frame] < 1e-5
    if height is not None:  # and the height is the camera's one film back
        stage = Usd.Stage.Open(str(files[f"take_{camera}.usda"]))
        assert UsdGeom.Camera(stage.GetDefaultPrim()).GetVerticalApertureAttr().Get() == pytest.approx(height)
