"""FreeD vendor presets: spare bits, lens counts, value checks, allow-lists and frame counters."""

from __future__ import annotations

import pytest

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tests.tracking.test_freed_udp import ANY_PORT
from tracking.freed.codec import FreeDPosition, encode_d1
from tracking.freed.presets import PRESETS, freed_sample
from tracking.freed.udp import FreeDUdpSource

CLOCK = StageClock(FrameRate.parse(25))
TRACKER = ("10.0.0.5", 40000)


def _pos(zoom: int = 0x4000, focus: int = 0x8000, spare: int = 0, pan: float = 10.0, tilt: float = 5.0,
         roll: float = 0.0) -> FreeDPosition:
    return FreeDPosition(1, pan, tilt, roll, 1000.0, 2000.0, 1500.0, zoom, focus, spare)


def _sample(preset: str, **kw: int) -> CameraSample:
    return freed_sample(_pos(**kw), PRESETS[preset], "A", "A/freed", 0, CLOCK, 1)


def test_generic_keeps_spare_raw_and_normalises_over_0_to_0x10000() -> None:
    s = _sample("generic", zoom=0x4000, focus=0x8000, spare=0xBEEF)
    assert s.extra == {"spare": 0xBEEF}
    assert s.lens is not None and s.lens.encoders == (0.5, None, 0.25)  # (focus, iris, zoom)
    assert (s.zoom_raw, s.focus_raw, s.iris_raw) == (0x4000, 0x8000, None)


def test_sony_spare_is_f_number_x100_and_a_frame_counter() -> None:
    s = _sample("sony", zoom=0x7AC0, focus=0x1000, spare=(0xA << 12) | 280)  # counter 10, f/2.8
    assert s.lens is not None and s.lens.f_stop == pytest.approx(2.8)
    assert s.extra == {"spare": (0xA << 12) | 280, "frame_counter": 10}
    assert s.lens.encoders == (0.0, None, 1.0)  # focus at its near end 0x1000, zoom at 0x7AC0


def test_panasonic_spare_is_iris_and_range_is_0x555_to_0xfff() -> None:
    s = _sample("panasonic", zoom=0xFFF, focus=0x555, spare=0x0ABC)
    assert s.iris_raw == 0x0ABC
    assert s.lens is not None and s.lens.encoders == (0.0, None, 1.0)


def test_mosys_spare_low_byte_is_tracking_quality() -> None:
    assert _sample("mosys", spare=0x1203).extra == {"spare": 0x1203, "tracking_quality": 3}


def test_zcam_counts_are_focal_length_and_focus_distance() -> None:
    s = _sample("zcam", zoom=3500, focus=25000, spare=(3 << 12) | 400)  # 35 mm, 2.5 m, f/4
    assert s.lens is not None
    assert (s.lens.focal_length_mm, s.lens.focus_distance_m, s.lens.f_stop) == (35.0, 2.5, 4.0)
    assert s.lens.encoders is None


def test_encoders_are_clamped_where_counts_overshoot() -> None:
    s = _sample("panasonic", zoom=0x1100, focus=0x100)
    assert s.lens is not None and s.lens.encoders == (0.0, None, 1.0)
    assert (s.zoom_raw, s.focus_raw) == (0x1100, 0x100)  # raw still flows as sent


def test_sample_uses_internal_signs_and_stage_timecode() -> None:
    s = _sample("generic")
    assert s.rotation_deg == (-10.0, 5.0, 0.0)  # FreeD pans right-positive; internal left-positive
    assert s.translation_m == (1.0, 2.0, 1.5)
    assert (s.timecode_source, s.timecode) == ("stage", CLOCK.timecode_at(0))


def _source(preset: str = "generic", allow: tuple[str, ...] = ()) -> FreeDUdpSource:
    return FreeDUdpSource("A/freed", CameraPipeline("A"), CLOCK, EventQueue(), ANY_PORT, None,
                          PRESETS[preset], allow)


@pytest.mark.parametrize(("field", "value", "detail"), [
    ("tilt", 91.0, "tilt 91.000 deg is outside -90..90"), ("pan", -200.0, "pan -200.000"),
    ("roll", 181.0, "roll 181.000"),
])
def test_impossible_angles_are_rejected_as_value(field: str, value: float, detail: str) -> None:
    source = _source()
    source.datagram_received(encode_d1(_pos(**{field: value})), TRACKER)  # type: ignore[arg-type]
    assert source.health.rejected_by_reason == {"value": 1}
    assert source.camera.delivered == 0
    assert detail in source.events.drain()[-1].message


def test_allow_list_rejects_other_senders_as_sender() -> None:
    source = _source(allow=("10.0.0.5",))
    source.datagram_received(encode_d1(_pos()), ("10.0.0.6", 40000))
    source.datagram_received(encode_d1(_pos()), ("::ffff:10.0.0.5", 40000, 0, 0))  # IPv4-mapped: same host
    source.datagram_received(encode_d1(_pos()), TRACKER)
    assert source.health.rejected_by_reason == {"sender": 1}
    assert source.camera.delivered == 2
    assert "from 10.0.0.6" in source.events.drain()[-1].message


def test_sony_frame_counter_gives_loss_and_drops_late_samples() -> None:
    source = _source("sony")
    assert source.health.has_sequence
    for counter in (1, 2, 4, 3, 5, 5):  # 3 missing, then late; 5 repeated
        source.datagram_received(encode_d1(_pos(spare=(counter << 12) | 280)), TRACKER)
    h = source.health
    assert (h.lost, h.reordered, h.duplicates) == (0, 1, 1)
    assert source.camera.delivered == 4  # 1, 2, 4, 5


def test_generic_preset_has_no_sequence() -> None:
    assert not _source().health.has_sequence


def test_stale_holds_the_last_pose_and_coming_back_delivers_only_the_new_sample() -> None:
    from stagectl.core.health import StreamState

    source = _source()
    for pan in (1.0, 2.0, 3.0):
        source.datagram_received(encode_d1(_pos(pan=pan)), TRACKER)
    held = source.camera.latest
    last_ns = source.health.last_arrival_ns
    assert held is not None and last_ns is not None
    assert source.health.evaluate(last_ns + 600_000_000) is StreamState.STALE  # 600 ms of silence
    assert source.camera.latest is held  # held, never zeroed
    source.datagram_received(encode_d1(_pos(pan=9.0)), TRACKER)
    assert source.health.evaluate(source.health.last_arrival_ns or 0) is StreamState.UP
    assert source.camera.delivered == 4  # the new sample alone: no backlog, nothing replayed
    assert source.camera.latest is not None and source.camera.latest.rotation_deg[0] == -9.0
