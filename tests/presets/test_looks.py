"""Looks and cues as values (limits, zones, ordering) and the fade maths, at hand-worked points."""

from __future__ import annotations

import itertools
import math

import pytest

from presets.easing import EASINGS, EasingError, check_easing, clamp_fraction, ease
from presets.model import Cue, CueError, CueList, Look, LookError, ZoneValues, cue_number_key
from stagectl.core.colour import (
    Cdl,
    interpolate,
    kelvin_to_mired,
    lerp,
    lerp_cdl,
    lerp_log,
    lerp_mired,
    mired_to_kelvin,
)
from stagectl.core.features import Fade

# --- easings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "t", "expected"), [
    ("linear", 0.25, 0.25),
    ("ease-in", 0.5, 0.25),           # t^2
    ("ease-in", 0.25, 0.0625),
    ("ease-out", 0.5, 0.75),          # 1 - (1 - t)^2
    ("ease-out", 0.25, 0.4375),
    ("ease-in-out", 0.5, 0.5),        # 3t^2 - 2t^3
    ("ease-in-out", 0.25, 0.15625),   # 3/16 - 2/64
    ("ease-in-out", 0.75, 0.84375),
])
def test_easing_hand_worked_points(name: str, t: float, expected: float) -> None:
    assert ease(name, t) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name", list(EASINGS))
def test_every_easing_runs_from_0_to_1_without_going_back(name: str) -> None:
    assert ease(name, 0.0) == 0.0
    assert ease(name, 1.0) == 1.0
    samples = [ease(name, i / 100) for i in range(101)]
    assert all(b >= a for a, b in itertools.pairwise(samples))
    assert all(0.0 <= s <= 1.0 for s in samples)


def test_easing_clamps_time_and_treats_nan_as_not_started() -> None:
    assert ease("linear", -0.5) == 0.0
    assert ease("ease-out", 3.0) == 1.0
    assert clamp_fraction(math.nan) == 0.0


def test_unknown_easing_names_the_closest() -> None:
    with pytest.raises(EasingError, match="did you mean 'ease-in-out'") as info:
        check_easing("ease-inout")
    assert "linear" in str(info.value)
    with pytest.raises(EasingError):
        check_easing(3)


# --- colour maths --------------------------------------------------------------------------------


def test_mired_conversions() -> None:
    assert kelvin_to_mired(5000) == 200.0
    assert mired_to_kelvin(250) == 4000.0
    assert kelvin_to_mired(5600) == pytest.approx(178.5714286)
    with pytest.raises(ValueError):
        kelvin_to_mired(0)


def test_cct_fades_in_mired_not_kelvin() -> None:
    # 3200 K = 312.5 mired, 5600 K = 178.571 mired; halfway = 245.536 mired = 4072.7 K (kelvin-linear: 4400)
    assert lerp_mired(3200, 5600, 0.5) == pytest.approx(4072.727, abs=0.01)
    assert lerp_mired(3200, 5600, 0.0) == 3200
    assert lerp_mired(3200, 5600, 1.0) == 5600
    assert interpolate(Fade.MIRED, 2000, 10000, 0.5) == pytest.approx(1e6 / 300.0)  # (500 + 100) / 2


def test_brightness_fades_in_log_nits() -> None:
    assert lerp_log(100, 10000, 0.5) == pytest.approx(1000.0)
    assert lerp_log(100, 10000, 0.25) == pytest.approx(316.2278, abs=1e-3)
    assert interpolate(Fade.LOG, 1000, 10, 0.5) == pytest.approx(100.0)
    assert interpolate(Fade.LINEAR, 1000, 10, 0.5) == pytest.approx(505.0)


def test_log_fade_from_and_to_zero_is_continuous_and_exact_at_the_ends() -> None:
    # an end at 0: log(v + c) with c = 1 % of the larger end (10): halfway = sqrt(10 * 1010) - 10
    assert lerp_log(0, 1000, 0.5) == pytest.approx(math.sqrt(10 * 1010) - 10)
    assert lerp_log(0, 1000, 0.0) == 0.0
    assert lerp_log(0, 1000, 1.0) == 1000.0
    assert lerp_log(1000, 0, 1.0) == 0.0
    samples = [lerp_log(0, 1000, i / 50) for i in range(51)]
    assert all(b > a for a, b in itertools.pairwise(samples))
    assert samples[1] < 5.0  # no jump off zero
    assert lerp_log(0, 0, 0.5) == 0.0


def test_step_and_linear() -> None:
    assert interpolate(Fade.STEP, 1, 7, 0.01) == 7
    assert lerp(-0.01, 0.01, 0.25) == pytest.approx(-0.005)


def test_cdl_slope_and_power_fade_in_log_space_offset_and_saturation_linearly() -> None:
    a = Cdl(slope=(0.5, 1.0, 2.0), offset=(0.0, 0.1, -0.1), power=(0.5, 1.0, 2.0), saturation=0.0)
    b = Cdl(slope=(2.0, 1.0, 0.5), offset=(0.1, 0.1, 0.1), power=(2.0, 1.0, 0.5), saturation=1.0)
    mid = lerp_cdl(a, b, 0.5)
    assert mid.slope == pytest.approx((1.0, 1.0, 1.0))   # equal stops down and up
    assert mid.power == pytest.approx((1.0, 1.0, 1.0))   # p and 1/p meet at the identity
    assert mid.offset == pytest.approx((0.05, 0.1, 0.0))
    assert mid.saturation == pytest.approx(0.5)
    assert lerp_cdl(a, b, 1.0) == b and lerp_cdl(a, b, 0.0) == a
    assert b.component("cdl.power.b") == 0.5 and b.component("cdl.saturation") == 1.0
    with pytest.raises(KeyError):
        b.component("cdl.gain.r")


# --- looks ---------------------------------------------------------------------------------------


def test_look_values_by_zone_and_feature_name() -> None:
    look = Look("Day", {"wall": ZoneValues(brightness_nits=1200, cct_k=5600),
                        "key-light": ZoneValues(level=0.5),
                        "frustum": ZoneValues(exposure_stops=-1, cdl=Cdl(power=(1.0, 1.1, 1.2)))})
    assert look.value("wall", "brightness_nits") == 1200
    assert look.value("wall", "tint_duv") is None
    assert look.value("ceiling", "brightness_nits") is None
    assert look.value("key-light", "level") == 0.5
    assert look.value("frustum", "cdl.power.g") == 1.1
    assert look.value("frustum", "cdl.bogus") is None


@pytest.mark.parametrize(("values", "needle"), [
    ({"brightness_nits": 0}, "must be > 0"),
    ({"brightness_nits": 10001}, "<= 10000 nits"),
    ({"brightness_nits": math.nan}, "not a finite number"),
    ({"cct_k": 999}, ">= 1000"),
    ({"cct_k": 20001}, "20000 K"),
    ({"tint_duv": 0.06}, "0.05 Duv"),
    ({"level": 1.5}, "(0..1)"),
    ({"exposure_stops": -11}, "stops"),
    ({"cct_k": "5600"}, "expected a number"),
    ({"cdl": Cdl(slope=(-0.1, 1, 1))}, "slope must be >= 0"),
    ({"cdl": Cdl(power=(1, 0, 1))}, "power must be > 0"),
    ({"cdl": Cdl(saturation=-1)}, "saturation must be >= 0"),
])
def test_zone_values_out_of_range_are_refused(values: dict[str, object], needle: str) -> None:
    with pytest.raises(LookError) as info:
        ZoneValues(**values)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_zone_values_at_the_limits_are_allowed() -> None:
    values = ZoneValues(brightness_nits=10000, cct_k=1000, tint_duv=-0.05, level=0, exposure_stops=10,
                        cdl=Cdl(slope=(0, 0, 0), saturation=0))
    assert values.to_json()["cct_k"] == 1000


@pytest.mark.parametrize(("zone", "values", "needle"), [
    ("Wall", ZoneValues(cct_k=5600), "must match"),
    ("wall", ZoneValues(exposure_stops=1), "only the frustum zone takes exposure_stops"),
    ("frustum", ZoneValues(brightness_nits=100), "does not take brightness_nits"),
])
def test_zone_names_and_which_values_they_take(zone: str, values: ZoneValues, needle: str) -> None:
    with pytest.raises(LookError, match=needle):
        Look("x", {zone: values})


@pytest.mark.parametrize("name", ["", "  ", " padded", "a" * 81, "tab\there", 7])
def test_bad_look_names(name: object) -> None:
    with pytest.raises(LookError):
        Look(name)  # type: ignore[arg-type]


# --- cues ----------------------------------------------------------------------------------------


def test_cue_numbers_sort_as_decimals() -> None:
    cues = CueList.of(Cue(n, "Day") for n in ("10", "2", "2.5", "1", "2.25"))
    assert [c.number for c in cues] == ["1", "2", "2.25", "2.5", "10"]

    def number(cue: Cue | None) -> str | None:
        return None if cue is None else cue.number

    assert number(cues.after(None)) == "1"
    assert number(cues.after("2")) == "2.25"
    assert number(cues.after("3")) == "10"  # a number between cues
    assert number(cues.after("10")) is None
    assert number(cues.before("2.5")) == "2.25"
    assert number(cues.before("1")) is None
    assert cues.get("2.50").number == "2.5"


def test_cue_list_edits() -> None:
    cues = CueList.of([Cue("1", "Day"), Cue("2", "Night")])
    replaced = cues.with_cue(Cue("2", "Dusk", fade_s=5))
    assert [(c.number, c.look) for c in replaced] == [("1", "Day"), ("2", "Dusk")]
    assert [c.number for c in replaced.with_cue(Cue("1.5", "Noon"))] == ["1", "1.5", "2"]
    assert [c.number for c in cues.without("1")] == ["2"]
    assert [c.look for c in cues.with_look_renamed("Night", "Late night")] == ["Day", "Late night"]
    with pytest.raises(CueError, match=r"no cue 3 \(cues: 1, 2\)"):
        cues.get("3")


def test_duplicate_cue_numbers_are_refused() -> None:
    with pytest.raises(CueError, match="used twice"):
        CueList.of([Cue("2.5", "a"), Cue("2.50", "b")])


@pytest.mark.parametrize("number", ["2,5", "-1", "1e3", "", "1.", ".5", 2.5, "1.2345"])
def test_bad_cue_numbers(number: object) -> None:
    with pytest.raises(CueError, match="cue number"):
        cue_number_key(number)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "needle"), [
    ({"fade_s": -1}, "fade_s must be"),
    ({"fade_s": math.inf}, "fade_s must be"),
    ({"delay_s": math.nan}, "delay_s must be"),
    ({"fade_s": True}, "fade_s must be"),
    ({"easing": "bounce"}, "unknown easing"),
    ({"look": ""}, "look name"),
])
def test_bad_cues(fields: dict[str, object], needle: str) -> None:
    values: dict[str, object] = {"number": "1", "look": "Day", **fields}
    with pytest.raises(CueError, match=needle):
        Cue(**values)  # type: ignore[arg-type]
