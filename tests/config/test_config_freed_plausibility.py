"""``plausibility`` on FreeD sources: parsed, checked with file and line, and reaching the source."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.config.load import parse_stage
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.stage.pipeline import CameraPipeline
from stagectl.stage.sources import make_sources
from tests.config.test_config import HEAD, check, only_error, write
from tracking.freed.source import MAX_SPEED_M_S, MAX_TURN_DEG_S, FreeDSource, Plausibility


def _source(text: str) -> str:
    return HEAD + '[[sources]]\ncamera = "A"\n' + text  # the source's keys start on line 9


@pytest.mark.parametrize(("text", "expected"), [
    ("", None),
    ("plausibility = false\n", None),
    ("plausibility = true\n", (MAX_SPEED_M_S, MAX_TURN_DEG_S)),
    ("plausibility = { max_speed_m_s = 12 }\n", (12.0, MAX_TURN_DEG_S)),
    ("plausibility = { max_speed_m_s = 12, max_turn_deg_s = 720.5 }\n", (12.0, 720.5)),
])
@pytest.mark.parametrize("protocol", ["freed", "freed-serial"])
def test_plausibility_is_read(protocol: str, text: str, expected: tuple[float, float] | None) -> None:
    port = 'port = "/dev/ttyUSB9"\n' if protocol == "freed-serial" else ""
    src = parse_stage(_source(f'protocol = "{protocol}"\n{port}{text}')).sources[0]
    assert src.plausibility == expected


def test_a_wrong_plausibility_value_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "freed"\nplausibility = "yes"\n'))
    check(only_error(path), path, 10, "sources[0].plausibility", "must be", "true, false, or {")


def test_a_plausibility_limit_out_of_range_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "freed"\n\nplausibility = { max_speed_m_s = 0 }\n'))
    check(only_error(path), path, 11, "sources[0].plausibility.max_speed_m_s", "0.1..1000")


def test_an_unknown_plausibility_key_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "freed"\nplausibility = { max_speed = 10 }\n'))
    check(only_error(path), path, 10, "sources[0].plausibility.max_speed", "did you mean 'max_speed_m_s'?")


def test_plausibility_is_only_for_freed(tmp_path: Path) -> None:
    path = write(tmp_path, _source('protocol = "opentrackio"\nplausibility = true\n'))
    check(only_error(path), path, 10, "sources[0].plausibility", "only used by protocol 'freed' or "
          "'freed-serial'")


def test_the_stage_builds_freed_sources_with_the_limits() -> None:
    text = _source('protocol = "freed"\nplausibility = { max_speed_m_s = 12 }\n'
                   '[[sources]]\ncamera = "A"\nprotocol = "freed-serial"\nport = "/dev/ttyUSB9"\n'
                   'plausibility = true\n[[cameras]]\nname = "B"\n'
                   '[[sources]]\ncamera = "B"\nprotocol = "freed"\nlisten = "127.0.0.1:0"\n')
    config = parse_stage(text)
    cameras = {c.name: CameraPipeline(c.name) for c in config.cameras}
    sources = make_sources(config, cameras, StageClock(config.frame_rate), EventQueue())
    tracks = [s.track.limits if isinstance(s, FreeDSource) and s.track else None for s in sources]
    assert tracks == [Plausibility(max_speed_m_s=12.0), Plausibility(), None]
