"""Live nudges: stops, mired and Duv, hand-worked, clamped, untouched zones left alone."""

from __future__ import annotations

import pytest

from presets.model import Look, ZoneValues
from presets.nudge import nudge_brightness, nudge_cct, nudge_tint, zone_summary

LOOK = Look("Day", {"wall": ZoneValues(brightness_nits=1000.0, cct_k=5000.0, tint_duv=0.0),
                    "key": ZoneValues(level=0.5, cct_k=3200.0),
                    "frustum": ZoneValues(exposure_stops=0.0)})


def test_one_stop_doubles_nits_and_level() -> None:
    up = nudge_brightness(LOOK, 1.0)
    assert up.zones["wall"].brightness_nits == pytest.approx(2000.0)
    assert up.zones["key"].level == pytest.approx(1.0)
    third = nudge_brightness(LOOK, 1 / 3, zones=["wall"])
    assert third.zones["wall"].brightness_nits == pytest.approx(1259.92, abs=0.01)  # 1000 * 2^(1/3)
    assert third.zones["key"].level == 0.5  # other zones untouched
    assert nudge_brightness(LOOK, 2.0).zones["key"].level == 1.0  # clamped to 0..1


def test_cct_moves_in_mired() -> None:
    # 5000 K = 200 mired; -10 mired = 190 mired = 5263.16 K. 3200 K = 312.5 mired -> 302.5 = 3305.79 K.
    cooler = nudge_cct(LOOK, -10.0)
    assert cooler.zones["wall"].cct_k == pytest.approx(5263.158, abs=0.01)
    assert cooler.zones["key"].cct_k == pytest.approx(3305.785, abs=0.01)
    assert nudge_cct(LOOK, -1e6).zones["wall"].cct_k == 20000.0  # clamped to the model's limit


def test_tint_and_untouched_values() -> None:
    greener = nudge_tint(LOOK, 0.002)
    assert greener.zones["wall"].tint_duv == pytest.approx(0.002)
    assert greener.zones["key"].tint_duv is None  # the look leaves the key's tint alone: so does the nudge
    assert greener.zones["frustum"] == LOOK.zones["frustum"]
    assert zone_summary(greener.zones["wall"]) == "1000 nit · 5000 K · +0.002 Duv"
