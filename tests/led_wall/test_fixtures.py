"""Fixture profiles, patching and rendering levels into DMX slots (hand-worked values, properties)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from led_wall.fixtures import (
    PROFILES,
    Channel,
    ChannelKind,
    Fixture,
    FixtureError,
    FixtureLevels,
    Profile,
    check_patch,
    custom_profile,
    default_cct_k,
    find_profile,
    kelvin_to_rgb,
    level_bytes,
    parse_channel,
    render,
    rgbw_from_cct,
)


def test_builtin_profiles_layouts_and_footprints() -> None:
    assert {name: (p.layout_text(), p.footprint) for name, p in PROFILES.items()} == {
        "dimmer": ("intensity", 1),
        "dimmer16": ("intensity16", 2),
        "intensity_cct": ("intensity cct", 2),
        "intensity_cct16": ("intensity16 cct16", 4),
        "rgbw": ("red green blue white", 4),
        "rgbw16": ("red16 green16 blue16 white16", 8),
        "intensity_rgbw": ("intensity red green blue white", 5),
    }
    assert PROFILES["intensity_cct"].cct_range_k == (2700.0, 6500.0)
    assert not PROFILES["dimmer"].has_cct and PROFILES["rgbw"].has_cct


@pytest.mark.parametrize(("value", "bits", "expected"), [
    (0.0, 8, "00"), (1.0, 8, "ff"), (0.5, 8, "80"),  # 127.5 rounds half up
    (0.2, 8, "33"),  # 51
    (0.0, 16, "0000"), (1.0, 16, "ffff"), (0.5, 16, "8000"),  # 32767.5 -> 32768 = 0x8000
    (0.75, 16, "bfff"),  # 49151.25 -> 49151
    (1 / 3, 16, "5555"),  # 21845 exactly: coarse and fine the same byte
    (256 / 65535, 16, "0100"),  # one coarse step, fine 0: big-endian
])
def test_level_bytes_hand_worked(value: float, bits: int, expected: str) -> None:
    assert level_bytes(value, bits).hex() == expected


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_16_bit_levels_are_monotonic_and_within_half_a_step(a: float, b: float) -> None:
    low, high = sorted((a, b))
    raw_low, raw_high = (int.from_bytes(level_bytes(v, 16), "big") for v in (low, high))
    assert raw_low <= raw_high
    assert abs(raw_low - low * 65535) <= 0.5 + 1e-9


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf])
def test_level_bytes_refuses_out_of_range(bad: float) -> None:
    with pytest.raises(FixtureError, match=r"outside 0\.\.1"):
        level_bytes(bad, 8)


def test_render_intensity_and_cct_profiles() -> None:
    # CCT 4600 K is (4600 - 2700) / 3800 = 0.5 of the range: 8-bit 128, 16-bit 0x8000.
    assert render(PROFILES["intensity_cct"], FixtureLevels(1.0, 4600.0)).hex() == "ff80"
    assert render(PROFILES["intensity_cct16"], FixtureLevels(0.5, 4600.0)).hex() == "80008000"
    # 5600 K: 2900 / 3800 * 65535 = 50013.55 -> 50014 = 0xC35E; 0.75 -> 0xBFFF.
    assert render(PROFILES["intensity_cct16"], FixtureLevels(0.75, 5600.0)).hex() == "bfffc35e"
    assert render(PROFILES["intensity_cct16"], FixtureLevels(0.0, 2700.0)).hex() == "00000000"
    assert render(PROFILES["dimmer16"], FixtureLevels(0.75)).hex() == "bfff"
    # No CCT given: the profile's default, 5600 K.
    assert render(PROFILES["intensity_cct16"], FixtureLevels(0.0)).hex() == "0000c35e"


def test_render_refuses_values_outside_their_ranges() -> None:
    with pytest.raises(FixtureError, match=r"colour temperature 2000\.0 K is outside 2700\.\.6500 K"):
        render(PROFILES["intensity_cct"], FixtureLevels(0.5, 2000.0))
    with pytest.raises(FixtureError, match=r"intensity 1\.5 is outside 0\.\.1"):
        render(PROFILES["dimmer"], FixtureLevels(1.5))
    with pytest.raises(FixtureError, match=r"red 2\.0 is outside 0\.\.1"):
        render(PROFILES["rgbw"], FixtureLevels(1.0, None, (2.0, 0.0, 0.0, 0.0)))
    with pytest.raises(FixtureError, match="not finite"):
        kelvin_to_rgb(math.nan)


def test_helland_against_published_values() -> None:
    # tempergb (a Rust port of Helland's fit) documents 2500 K -> (255, 159, 70).
    assert tuple(round(c * 255) for c in kelvin_to_rgb(2500)) == (255, 159, 70)
    # At 6600 K (t = 66) all three reach 255; below 1900 K blue is 0; clamped below 1000 K.
    assert kelvin_to_rgb(6600) == (1.0, 1.0, 1.0)
    assert kelvin_to_rgb(1800)[2] == 0.0 and kelvin_to_rgb(500) == kelvin_to_rgb(1000)
    red, green, blue = kelvin_to_rgb(10000)
    assert blue == 1.0 and red < green < 1.0  # cool light: blue at full, red lowest


def test_rgbw_from_cct_extracts_white_and_normalises() -> None:
    assert rgbw_from_cct(6600) == (0.0, 0.0, 0.0, 1.0)
    red, green, blue, white = rgbw_from_cct(2500)
    # From (255, 159, 70): white 70, remainder (185, 89, 0), divided by 185.
    assert red == 1.0 and blue == 0.0
    assert green == pytest.approx(89 / 185, abs=0.01) and white == pytest.approx(70 / 185, abs=0.01)


def test_rgbw_scaled_by_intensity_only_without_an_intensity_channel() -> None:
    mix = (1.0, 0.5, 0.0, 0.4)
    # rgbw scales the mix: 0.5, 0.25, 0, 0.2 of 255 -> 127.5 -> 128, 63.75 -> 64, 0, 51.
    assert render(PROFILES["rgbw"], FixtureLevels(0.5, None, mix)).hex() == "80400033"
    # intensity_rgbw: intensity 128 in its own slot, the mix at full scale: 255, 128, 0, 102.
    assert render(PROFILES["intensity_rgbw"], FixtureLevels(0.5, None, mix)).hex() == "80ff800066"
    assert render(PROFILES["rgbw16"], FixtureLevels(1.0, 6600.0)).hex() == "000000000000ffff"


def test_parse_channel_texts() -> None:
    assert parse_channel("intensity") == Channel(ChannelKind.INTENSITY, 8)
    assert parse_channel(" cct16 ") == Channel(ChannelKind.CCT, 16)
    assert parse_channel("fixed:128") == Channel(ChannelKind.FIXED, 8, 128)
    assert parse_channel("fixed16:32768") == Channel(ChannelKind.FIXED, 16, 32768)
    for text, message in (("strobe", "unknown kind 'strobe'"), ("fixed", "fixed:<raw value>"),
                          ("fixed:-1", "fixed:<raw value>"), ("fixed:256", r"outside 0\.\.255"),
                          ("red:3", "only fixed channels take a value")):
        with pytest.raises(FixtureError, match=message):
            parse_channel(text)


def test_custom_profile_with_fixed_channels() -> None:
    sky = custom_profile("panel-cct", ["intensity16", "cct16", "fixed:0", "fixed:128"], [2800, 10000])
    assert sky.footprint == 6 and sky.cct_range_k == (2800.0, 10000.0)
    # 6400 K is half way through 2800..10000 K: 0x8000.
    assert render(sky, FixtureLevels(1.0, 6400.0)).hex() == "ffff80000080"
    assert find_profile("panel-cct", {"panel-cct": sky}) is sky
    with pytest.raises(FixtureError, match=r"give cct_range_k"):
        custom_profile("x", ["intensity", "cct"])
    with pytest.raises(FixtureError, match="more than one intensity"):
        custom_profile("x", ["intensity", "intensity16"])
    with pytest.raises(FixtureError, match="is not low < high"):
        custom_profile("x", ["cct"], [6500, 2700])
    with pytest.raises(FixtureError, match="letters, digits"):
        custom_profile("a b", ["intensity"])
    with pytest.raises(FixtureError, match="needs 513 slots"):
        Profile("huge", tuple(Channel(ChannelKind.FIXED) for _ in range(513)))
    with pytest.raises(FixtureError, match=r"unknown fixture profile 'par' \(known: dimmer, "):
        find_profile("par")


def test_default_cct_is_5600_clamped_into_range() -> None:
    assert default_cct_k(PROFILES["intensity_cct"]) == 5600.0
    assert default_cct_k(custom_profile("warm", ["cct"], [2700, 4000])) == 4000.0
    assert default_cct_k(PROFILES["dimmer"]) is None


def test_fixture_validation_messages() -> None:
    with pytest.raises(FixtureError, match=r"would end at slot 513: beyond 512; start it at 509 or lower"):
        Fixture("kick", PROFILES["rgbw"], 1, 510)
    Fixture("kick", PROFILES["rgbw"], 1, 509)  # ends exactly at 512
    with pytest.raises(FixtureError, match=r"address 0 is outside 1\.\.512"):
        Fixture("a", PROFILES["dimmer"], 1, 0)
    with pytest.raises(FixtureError, match=r"universe 64000 is outside 1\.\.63999"):
        Fixture("a", PROFILES["dimmer"], 64000, 1)
    with pytest.raises(FixtureError, match="universe True"):
        Fixture("a", PROFILES["dimmer"], True, 1)
    with pytest.raises(FixtureError, match="feature names"):
        Fixture("key.light", PROFILES["dimmer"], 1, 1)
    with pytest.raises(FixtureError, match="'Key Light' is not a look zone name"):
        Fixture("key", PROFILES["dimmer"], 1, 1, "Key Light")


def test_patch_overlap_names_both_fixtures() -> None:
    key = Fixture("key", PROFILES["intensity_cct16"], 2, 10)
    check_patch([key, Fixture("fill", PROFILES["dimmer"], 2, 14), Fixture("x", PROFILES["rgbw"], 3, 10)])
    with pytest.raises(FixtureError, match=r"'key' \(universe 2, slots 10-13\) and 'fill' \(universe 2, "
                                           r"slots 13-13\) overlap"):
        check_patch([Fixture("fill", PROFILES["dimmer"], 2, 13), key])
    with pytest.raises(FixtureError, match="two fixtures are called 'key'"):
        check_patch([key, Fixture("key", PROFILES["dimmer"], 5, 1)])


@given(st.lists(st.tuples(st.sampled_from(sorted(PROFILES)), st.integers(1, 2), st.integers(1, 505)),
                min_size=1, max_size=8))
def test_check_patch_agrees_with_counting_slots(patch: list[tuple[str, int, int]]) -> None:
    fixtures = [Fixture(f"f{i}", PROFILES[p], u, a) for i, (p, u, a) in enumerate(patch)]
    taken = [(f.universe, slot) for f in fixtures for slot in range(f.address, f.last_address + 1)]
    clash = len(taken) != len(set(taken))
    if clash:
        with pytest.raises(FixtureError, match="overlap"):
            check_patch(fixtures)
    else:
        check_patch(fixtures)
