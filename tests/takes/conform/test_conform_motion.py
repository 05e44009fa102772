"""``stagectl conform clips --verify-motion``: a real take recorded on a stage over loopback (an OpenTrackIO
tracker at 50 Hz sending its timecode and sub-frame, the pose of an operator panning and tilting), and
two camera clips rendered from the same moves (H.264 MOV with a start timecode): one labelled right, one
whose timecode is two frames late. The command runs as a subprocess; the first clip's manifest must say
the picture agrees with its tracking, the second must be flagged with +2 frames.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stagectl.core.opentrackio.codec import ENCODING_JSON, encode_sample
from stagectl.core.opentrackio.model import OpenTrackIOSample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.core.timecode.label import TimecodeLabel
from tests.support.cli import stagectl
from tests.support.motion_scene import moving, render_clip
from tests.takes.conform import recorded
from tests.takes.conform.recorded import Sent, record_takes, samples, stage_text

RATE = FrameRate.parse("25")
ORIGIN = Timecode.parse("11:00:00:00", RATE)
TAKE_S = 9.0
CLIP_AT_S = 1.0  # the clips start 1 s into the take
CLIP_S = 6.0


def posed_datagram(n: int, sent: Sent) -> bytes:
    """Sample ``n``: the operator's pan and tilt at its time on the axis (seconds since ORIGIN)."""
    pan, tilt, roll = moving(np.array([sent.t]))[0]
    sample = OpenTrackIOSample(
        translation_m=(0.0, -2.0, 1.5),
        rotation_deg=(recorded.wrap_deg(float(pan)), float(tilt), float(roll)),
        sequence_number=n % 2**32, source_number=1,
        timecode_label=TimecodeLabel.of(sent.label, sent.sub_frame))
    [data] = encode_sample(sample, ENCODING_JSON, n % 65536)
    return data


@pytest.fixture(scope="module")
def conformed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    folder = tmp_path_factory.mktemp("motion_conform")
    with pytest.MonkeyPatch.context() as patch:  # the recording helper sends these poses instead of its ramp
        patch.setattr(recorded, "datagram", posed_datagram)
        record_takes(folder, [samples(ORIGIN, TAKE_S, 50)])
    (folder / "stage.toml").write_text(stage_text(), encoding="utf-8")
    media = folder / "media"
    media.mkdir()
    first_frame = round(CLIP_AT_S * 25)

    def shifted(t: np.ndarray) -> np.ndarray:  # frame n of the clip shows the take at CLIP_AT_S + n / 25
        return moving(t + CLIP_AT_S)

    for name, late_frames in (("A001C001", 0), ("A001C002", 2)):
        label = str(ORIGIN + first_frame + late_frames)
        render_clip(media / f"{name}.mov", Fraction(25), CLIP_S, 0.0, pose=shifted, timecode=label,
                    seed=11 + late_frames)
    done = stagectl("conform", "clips", str(media), "--out", str(folder / "out"), "--config",
                    str(folder / "stage.toml"), "--verify-motion", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), folder / "out"


def manifest(out: Path, clip: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / clip / f"{clip}.json").read_text(encoding="utf-8"))
    return data


def test_a_clip_labelled_right_agrees(conformed: tuple[dict[str, object], Path]) -> None:
    _, out = conformed
    motion = manifest(out, "A001C001")["motion"]
    assert isinstance(motion, dict)
    assert motion["flagged"] is False, motion
    assert abs(float(motion["offset_ms"])) < 6.0, motion
    assert motion["implied_ms"] == 0.0 and float(motion["confidence"]) > 0.9


def test_a_clip_two_frames_late_is_flagged(conformed: tuple[dict[str, object], Path]) -> None:
    result, out = conformed
    motion = manifest(out, "A001C002")["motion"]
    assert isinstance(motion, dict)
    assert motion["flagged"] is True, motion
    assert float(motion["offset_frames"]) == pytest.approx(2.0, abs=0.15), motion
    assert math.isclose(float(motion["offset_ms"]), 80.0, abs_tol=6.0)
    listed = {m["clip"]: m for m in result["motion"]}  # type: ignore[attr-defined]
    assert listed["A001C002"]["flagged"] is True and listed["A001C001"]["flagged"] is False
