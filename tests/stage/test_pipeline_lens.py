"""The camera pipeline's lens stage: lens readings merged by arrival time, and the lens solve."""

from __future__ import annotations

import pytest

from stagectl.core.samples import CameraSample, LensReading, LensValues
from stagectl.stage.pipeline import CameraPipeline

MS = 1_000_000


def _sample(t_ms: int, zoom: int | None = 100, focus: int | None = 200, lens: LensValues | None = None
            ) -> CameraSample:
    return CameraSample("A", "A/freed", t_ms * MS, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), zoom, focus, lens=lens)


def _solve(zoom: int | None, focus: int | None, iris: int | None) -> LensValues:
    """A stand-in solver: focal length = zoom / 10 mm, focus distance = focus / 100 m, k1 = 0.0."""
    return LensValues(focal_length_mm=None if zoom is None else zoom / 10,
                      focus_distance_m=None if focus is None else focus / 100,
                      t_stop=None if iris is None else iris / 10,
                      brown_conrady=(0.0, 0.0, 0.0, 0.0, 0.0), lens_file="test.json")


def _run(camera: CameraPipeline, *samples: CameraSample) -> list[CameraSample]:
    out: list[CameraSample] = []
    camera.add_sink(out.append)
    for s in samples:
        camera.push(s)
    return out


def test_without_a_lens_file_raw_values_flow_and_the_camera_says_unsolved() -> None:
    camera = CameraPipeline("A")
    camera.set_lens(None, error="lens.json: grid.zoom[1]: not ascending")
    (out,) = _run(camera, _sample(0))
    assert (out.zoom_raw, out.focus_raw, out.lens) == (100, 200, None)
    assert camera.lens_status == "unsolved: lens.json: grid.zoom[1]: not ascending"


def test_solver_fills_the_lens_values() -> None:
    camera = CameraPipeline("A")
    camera.set_lens(_solve, "zoom.json")
    (out,) = _run(camera, _sample(0, zoom=350, focus=250))
    assert out.lens is not None
    assert (out.lens.focal_length_mm, out.lens.focus_distance_m) == (35.0, 2.5)
    assert out.lens.brown_conrady == (0.0, 0.0, 0.0, 0.0, 0.0)  # zeros are values, not "missing"
    assert camera.lens_status == "solved (zoom.json)"


def test_tracker_values_fill_what_the_lens_file_leaves_empty() -> None:
    camera = CameraPipeline("A")
    camera.set_lens(_solve, "zoom.json")
    (out,) = _run(camera, _sample(0, lens=LensValues(f_stop=2.8, focal_length_mm=99.0)))
    assert out.lens is not None
    assert out.lens.f_stop == 2.8  # the file has none: the tracker's (e.g. Sony spare bits)
    assert out.lens.focal_length_mm == 10.0  # the file has one: the lens file wins


def test_lens_reading_merged_by_arrival_time() -> None:
    camera = CameraPipeline("A")
    camera.lens_reading(LensReading("A/lens", 10 * MS, focus_raw=1000, iris_raw=28, zoom_raw=500))
    camera.lens_reading(LensReading("A/lens", 30 * MS, focus_raw=2000, iris_raw=40, zoom_raw=600))
    early, middle, late = _run(camera, _sample(5), _sample(20), _sample(40))
    assert (early.zoom_raw, early.focus_raw) == (100, 200)  # no reading yet at 5 ms: the tracker's
    assert (middle.zoom_raw, middle.focus_raw, middle.iris_raw) == (500, 1000, 28)
    assert (late.zoom_raw, late.focus_raw, late.iris_raw) == (600, 2000, 40)


def test_a_stale_lens_reading_is_not_merged() -> None:
    camera = CameraPipeline("A")
    camera.lens_reading(LensReading("A/lens", 0, zoom_raw=500))
    (out,) = _run(camera, _sample(600))  # 600 ms later: the encoder went quiet
    assert out.zoom_raw == 100


def test_measured_lens_values_win_over_the_lens_file() -> None:
    camera = CameraPipeline("A")
    camera.set_lens(_solve, "zoom.json")
    camera.lens_reading(LensReading("A/cooke", 0, zoom_raw=400, focus_raw=300, iris_raw=20,
                                    focus_distance_m=3.2, t_stop=2.1))
    (out,) = _run(camera, _sample(1))
    assert out.lens is not None
    assert out.lens.focal_length_mm == 40.0  # solved from the reading's raw zoom
    assert (out.lens.focus_distance_m, out.lens.t_stop) == (3.2, 2.1)  # measured by the lens


def test_a_failing_solver_never_stops_the_stream() -> None:
    def broken(zoom: int | None, focus: int | None, iris: int | None) -> LensValues:
        raise ZeroDivisionError("bad table")

    camera = CameraPipeline("A")
    camera.set_lens(broken, "zoom.json")
    out = _run(camera, _sample(0), _sample(20))
    assert [s.lens for s in out] == [None, None] and camera.solve_errors == 2


@pytest.mark.parametrize("error", [None, "missing file"])
def test_lens_status_text(error: str | None) -> None:
    camera = CameraPipeline("A")
    camera.set_lens(None, None, error)
    assert camera.lens_status == ("unsolved" if error is None else f"unsolved: {error}")
