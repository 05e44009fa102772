"""A clip's look, lens identity and ALE values, from a take written into a real take store through the
store's own ingest (the recorder's journal records: header with the look and its CDL, a camera with its
lens file, the log, the samples)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stagectl.core.colour import Cdl
from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.committer import TakeIngest
from stagectl.takes.conform.run import conform_clips
from stagectl.takes.journal import CAMERA, HEADER, LOG
from stagectl.takes.records import SAMPLE_DTYPE, cdl_json, dumps
from stagectl.takes.store import TakeStore
from tests.takes.conform.test_conform_frames import make_clip

R25 = FrameRate.parse(25)
TEN = 10 * 3600 * 25
GRADE = Cdl((1.1, 1.0, 0.9), (0.01, 0.0, -0.02), (1.0, 1.05, 0.95), 0.9)
LENS = {"lens_file": "sp35.json", "make": "ZEISS", "model": "Supreme Prime 35", "serial": "SP35-0001",
        "sensor_width_mm": 36.0, "sensor_height_mm": 24.0, "image_width_px": 3840, "image_height_px": 2160}
T0_NS = 10**12


def _records(seconds: float, hz: int = 100) -> np.ndarray:
    n = int(seconds * hz)
    r = np.zeros(n, dtype=SAMPLE_DTYPE)
    t = np.arange(n) / hz
    r["arrival_ns"] = T0_NS + np.round(t * 1e9).astype(np.int64) + 1_000_000  # 1 ms into each 10 ms
    r["frame"] = TEN + np.floor((t + 0.001) * 25).astype(np.int64)  # the stage clock at arrival
    r["sequence"] = np.arange(n)
    r["raw_index"] = r["ptp_seconds"] = r["ptp_nanoseconds"] = r["device_id"] = r["spare"] = -1
    r["tc_rate_num"], r["tc_rate_den"] = 25, 1
    for name, values in zip(("tc_hours", "tc_minutes", "tc_seconds", "tc_frames"),
                            timecode_fields(r["frame"], R25, False), strict=True):
        r[name] = values
    r["x"], r["z"] = t, 1.5
    r["focal_length_mm"] = 30.0 + t  # slow enough that placing a sample a few ms off shows in no digit
    r["focus_distance_m"], r["f_stop"], r["t_stop"], r["entrance_pupil_m"] = 2.0 + 0.1 * t, 2.5, 2.8, 0.1
    r["flags"] = 1  # solved by the lens file; stage clock timecode
    return r


def _store(folder: Path, log: list[dict[str, Any]], tc_in: int = TEN) -> Path:
    header = {"name": "look-T001", "slate": {"scene": "look", "take": 1, "cameras": ["A"]}, "rate": [25, 1],
              "drop_frame": False, "started": 1.8e9, "tc_in": tc_in, "timecode_from": "stage", "look": "Dusk",
              "cdl": {"frustum": cdl_json(GRADE)}}
    with TakeStore(folder) as store:
        ingest = TakeIngest(store, "look.journal")
        ingest.add([(HEADER, dumps(header)), (CAMERA, dumps({"index": 0, "camera": "A", "lens": LENS})),
                    *((LOG, dumps(entry)) for entry in log)], 0)
        ingest.commit()
        assert ingest.take_id is not None
        with store.transaction():
            store.put_samples(ingest.take_id, _records(4.0))
        ingest.ended = {"stopped": 1.8e9 + 4, "tc_out": tc_in + 99}
        ingest.finish("complete")
    return folder


def _look_change(at_s: float, look: str) -> dict[str, Any]:
    return {"ns": T0_NS + int(at_s * 1e9), "frame": TEN + int(at_s * 25), "kind": "cue", "source": "cues",
            "text": f"GO: cue 2 ({look})", "data": {"look": look}}


def test_the_look_live_at_the_first_frame_and_the_lens(tmp_path: Path) -> None:
    store = _store(tmp_path / "takes", [_look_change(2.0, "Night")])
    clips = [make_clip("A001C001", "25", "10:00:00:10", 25), make_clip("A001C002", "25", "10:00:02:10", 25)]
    result = conform_clips(clips, store, tmp_path / "out")
    day = tmp_path / "out" / "A001C001"
    assert {"A001C001.cc", "A001C001.cdl", "A001C001.ccc"} <= {p.name for p in day.iterdir()}
    assert "<Slope>1.1 1.0 0.9</Slope>" in (day / "A001C001.cc").read_text()
    manifest = json.loads((day / "A001C001.json").read_text())
    assert manifest["look"] == {"name": "Dusk", "zones": ["frustum"], "cdlWritten": True, "note": None}
    assert manifest["lens"] == {"make": "ZEISS", "model": "Supreme Prime 35", "serial": "SP35-0001",
                                "file": "sp35.json"}
    # A take written without the camera's delay line (an older stagectl): assumed 0 ms, and said.
    assert manifest["delayAppliedMs"] == [0.0]
    warnings = manifest["warnings"]
    assert any("no record of camera A's delay line" in w and "assumed 0 ms" in w for w in warnings)
    values = result.ale_values["A001C001"]
    assert values["Lens"] == "ZEISS Supreme Prime 35 SP35-0001"
    assert values["ASC_SOP"] == "(1.1 1.0 0.9)(0.01 0.0 -0.02)(1.0 1.05 0.95)"
    assert values["ASC_SAT"] == "0.9"
    assert values["T-stop"] == "2.8"
    assert values["Focal range"] == "30.4-31.4 mm"  # 30 mm + 1 mm/s from 0.4 s to 1.36 s
    assert values["Focus range"] == "2.04-2.14 m"

    night = tmp_path / "out" / "A001C002"  # after the cue: a look whose CDL the take does not hold
    assert not [p for p in night.iterdir() if p.suffix in (".cc", ".cdl", ".ccc")]
    manifest = json.loads((night / "A001C002.json").read_text())
    assert manifest["look"]["name"] == "Night" and not manifest["look"]["cdlWritten"]
    assert any("look 'Night' was live" in w for w in manifest["warnings"])
    assert result.ale_values["A001C002"]["ASC_SOP"] == ""


def test_a_take_whose_tc_in_disagrees_with_its_samples_is_still_found(tmp_path: Path) -> None:
    """Takes near the clip by their own tc in / out are read first; a take whose samples carry labels an
    hour from its tc in (a tracker on another generator) is found by its samples all the same."""
    store = _store(tmp_path / "takes", [], tc_in=TEN + 3600 * 25)
    result = conform_clips([make_clip("A001C001", "25", "10:00:00:10", 25)], store, tmp_path / "out")
    [package] = result.packages
    assert package.frames_covered == 25 and package.frames_missing == 0
