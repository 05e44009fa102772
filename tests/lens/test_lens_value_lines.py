"""Every bad value in a lens file names its line, however the file is read; no value crashes the reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from lens.lensfile import load_lens_file, parse_lens_text
from lens.lensfile_check import LensFileError

DEMO = Path(__file__).resolve().parents[2] / "lens" / "data" / "demo_zoom_24_70.json"


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('"width_px": 3840', '"width_px": -3840', "sensor.width_px: must be >= 1, got -3840"),
    ('"width_px": 3840', '"width_px": 1' + "0" * 400,
     "sensor.width_px: a 401-digit integer is too large; allowed: at most 9007199254740992 (2**53)"),
    ("[24.0, 24.09,", "[1" + "0" * 400 + ", 24.09,",
     "tables.focal_length_mm[0][0]: a 401-digit integer is too large; allowed: at most 9007199254740992 "
     "(2**53)"),
])
def test_a_bad_value_names_its_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = DEMO.read_text().replace(old, new, 1)
    line = _line_of(text, new[:12])
    with pytest.raises(LensFileError) as parsed:
        parse_lens_text(text, "lens.json")
    assert [str(e) for e in parsed.value.errors] == [f"lens.json:{line}: {message}"]
    path = tmp_path / "lens.json"
    path.write_text(text)
    with pytest.raises(LensFileError) as loaded:
        load_lens_file(path)
    assert [str(e) for e in loaded.value.errors] == [f"{path}:{line}: {message}"]
