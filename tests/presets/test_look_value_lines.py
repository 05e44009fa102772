"""Every bad value in a look or cue file names the line it is written on, and no value crashes the reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from presets.model import LookError
from presets.store import LookStore

LOOK = """\
{
  "schema": "stagectl.look/1",
  "name": "Grade",
  "zones": {
    "wall": {
      "brightness_nits": %s
    },
    "frustum": {
      "cdl": {
        "slope": [
          1,
          %s,
          1
        ],
        "saturation": %s
      }
    }
  }
}
"""

CUES = """\
{
  "schema": "stagectl.cues/1",
  "cues": [
    {"number": "1", "look": "Grade"},
    {
      "number": "2",
      "look": "Grade",
      "fade_s": %s
    }
  ]
}
"""


def _errors(folder: Path) -> list[str]:
    _, errors = LookStore(folder).load_all()
    assert len(errors) == 1
    return [str(e) for e in errors[0].errors]


def test_a_cdl_number_names_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "grade.json"
    path.write_text(LOOK % ("1200", "-0.5", "-1"))
    assert _errors(tmp_path) == [
        f"{path}:12: zones.frustum.cdl.slope[1]: slope must be >= 0, got -0.5",
        f"{path}:15: zones.frustum.cdl.saturation: saturation must be >= 0, got -1",
    ]


def test_a_number_too_long_for_a_float_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "grade.json"
    path.write_text(LOOK % ("1" + "0" * 400, "1", "1"))
    assert _errors(tmp_path) == [f"{path}:6: zones.wall.brightness_nits: a 401-digit number is out of range: "
                                 "must be within 0 .. 10000 nits"]


@pytest.mark.parametrize(("value", "message"), [
    ("-3", "fade_s must be a finite number of seconds >= 0, got -3"),
    ("1" + "0" * 400, "fade_s must be a finite number of seconds >= 0, got a 401-digit number"),
])
def test_a_cue_value_names_the_line_of_its_field(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "cues.json"
    path.write_text(CUES % value)
    with pytest.raises(LookError) as info:
        LookStore(tmp_path).load_cues()
    assert [str(e) for e in info.value.errors] == [f"{path}:8: cues[1].fade_s: cue 2: {message}"]
