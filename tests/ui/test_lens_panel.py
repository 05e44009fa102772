"""The Lens dock on the demo stage: choosing, breaking and removing a lens file, live solved values,
the curves and the distortion preview."""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from lens.lensfile import load_lens_file
from lens.solve import LensSolver
from stagectl.core.samples import CameraSample
from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from ui import theme, workers
from ui.app import ensure_app, open_settings
from ui.main_window import LAYOUT_VERSION, MainWindow
from ui.panels.distortion_preview import DistortionPreview, LensFrame, displaced_grid, distort
from ui.panels.lens_curves import DioptreAxis, sample_curves
from ui.panels.lens_panel import LensPanel
from ui.panels.lens_readout import LensReadout

DEMO_LENS = Path(__file__).resolve().parents[2] / "lens" / "data" / "demo_zoom_24_70.json"


@pytest.fixture(autouse=True)
def _no_task_left_running(qtbot: QtBot) -> Iterator[None]:
    """No worker outlives its test; and the test's windows (closed by pytest-qt before this runs) are
    deleted and collected now, so their garbage does not stall the I/O thread of a later test."""
    yield
    qtbot.waitUntil(lambda: not workers.running_tasks(), timeout=TIMEOUT_MS)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _window(qtbot: QtBot, runner: StageRunner) -> MainWindow:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.lens_dock.raise_()
    qtbot.waitUntil(window.lens_panel.isVisible, timeout=TIMEOUT_MS)
    return window


def _status(panel: LensPanel) -> str:
    return panel.status.text()


def _solved(panel: LensPanel, name: str) -> bool:
    sample = panel.shown_sample
    return (f"solved ({name})" in _status(panel) and panel.solver is not None and sample is not None
            and sample.lens is not None and sample.lens.lens_file == name)


def test_the_lens_dock_is_tabbed_with_tracking_and_in_the_view_menu(qtbot: QtBot,
                                                                    demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    assert LAYOUT_VERSION >= 3  # the Lens dock came with layout 3
    assert window.lens_dock in window.tabifiedDockWidgets(window.tracking_dock)
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert isinstance(view, QMenu) and "Lens" in [a.text() for a in view.actions()]
    # The camera follows the window's choice, both ways.
    window.tracking_panel.selector.setCurrentText("B")
    assert window.lens_panel.camera == "B" and window.lens_panel.selector.currentText() == "B"
    window.lens_panel.selector.setCurrentText("A")
    assert window.tracking_panel.camera == "A"


def test_the_demo_lens_file_solves_the_camera_and_follows_its_raw_zoom(qtbot: QtBot,
                                                                       demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    panel = window.lens_panel
    panel.choose_lens_file(DEMO_LENS)
    assert "loading demo_zoom_24_70.json" in _status(panel)
    qtbot.waitUntil(lambda: _solved(panel, DEMO_LENS.name), timeout=TIMEOUT_MS)
    assert panel.status.toolTip() == f"solved ({DEMO_LENS.name})"
    assert "Zoom 24-70 mm T2.8" in panel.description.text()
    solver = demo_runner.stage.lens_solvers["A"]
    assert panel.solver is solver

    # Every frame shows the solver's own answer for the raw counts shown, as the zoom moves.
    zooms: set[int] = set()

    def shows_a_new_zoom() -> bool:
        sample = panel.shown_sample
        assert sample is not None and sample.zoom_raw is not None
        expected = solver.solve(sample.zoom_raw, sample.focus_raw, sample.iris_raw)
        values = panel.readout.values
        assert values["zoom_raw"].text() == str(sample.zoom_raw)
        assert expected.encoders is not None
        assert values["zoom_norm"].text() == f"{expected.encoders[2]:.4f}"
        assert values["focal_length"].text() == f"{expected.focal_length_mm:.2f} mm"
        distance = expected.focus_distance_m
        assert distance is not None
        assert values["focus_distance"].text() == ("∞" if math.isinf(distance) else f"{distance:.3f} m")
        assert expected.brown_conrady is not None
        assert values["k1"].text() == f"{expected.brown_conrady[0]:+.5f}"
        zooms.add(sample.zoom_raw)
        return len(zooms) >= 3

    qtbot.waitUntil(shows_a_new_zoom, timeout=TIMEOUT_MS)

    # The curves come from a worker, once; the live point sits on the focal-length band.
    qtbot.waitUntil(lambda: panel.curves.curves is not None and panel.curves.live["focal"] is not None,
                    timeout=TIMEOUT_MS)
    band = panel.curves.curves.focal_over_zoom if panel.curves.curves else None
    assert band is not None
    assert band.low[0] == pytest.approx(24.0, abs=0.01) and band.high[-1] == pytest.approx(71.05, abs=0.01)
    x, y = panel.curves.live["focal"] or (math.nan, math.nan)
    assert float(np.interp(x, band.x, band.low)) - 0.05 <= y <= float(np.interp(x, band.x, band.high)) + 0.05
    # The distortion preview draws the solved coefficients.
    qtbot.waitUntil(lambda: panel.distortion.redraws > 0 and panel.distortion.frame is not None,
                    timeout=TIMEOUT_MS)


@pytest.mark.parametrize(("edit", "field"), [
    (lambda lens: lens["grid"]["zoom"].__setitem__(3, 0.1), "grid.zoom[3]"),
    (lambda lens: lens["tables"]["focal_length_mm"][0].__setitem__(1, math.nan),
     "tables.focal_length_mm[0][1]"),
], ids=["grid-not-ascending", "nan-in-table"])
def test_a_broken_lens_file_leaves_the_camera_unsolved_and_says_why(
        qtbot: QtBot, demo_runner: StageRunner, tmp_path: Path, edit: object, field: str) -> None:
    lens = json.loads(DEMO_LENS.read_text())
    assert callable(edit)
    edit(lens)
    broken = tmp_path / "broken_lens.json"
    broken.write_text(json.dumps(lens))  # NaN is written as the bare token NaN, which the loader refuses
    window = _window(qtbot, demo_runner)
    panel = window.lens_panel
    panel.choose_lens_file(broken)
    qtbot.waitUntil(lambda: "unsolved:" in _status(panel), timeout=TIMEOUT_MS)
    tooltip = panel.status.toolTip()
    assert str(broken) in tooltip and field in tooltip
    assert "#f85149" in _status(panel)  # the fault red
    assert panel.solver is None and panel.curves.curves is None
    # The stage runs on with raw values.
    delivered = demo_runner.stage.cameras["A"].delivered
    qtbot.waitUntil(lambda: demo_runner.stage.cameras["A"].delivered > delivered + 10, timeout=TIMEOUT_MS)
    sample = panel.shown_sample
    assert sample is not None and (sample.lens is None or sample.lens.lens_file is None)
    assert panel.readout.values["zoom_raw"].text() == str(sample.zoom_raw)
    assert panel.readout.values["focal_length"].text() == "—"


def test_removing_the_lens_file_shows_lens_unsolved(qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    panel = window.lens_panel
    panel.choose_lens_file(DEMO_LENS)
    qtbot.waitUntil(lambda: _solved(panel, DEMO_LENS.name), timeout=TIMEOUT_MS)
    panel.remove_button.click()
    qtbot.waitUntil(lambda: "lens unsolved" in _status(panel) and panel.solver is None, timeout=TIMEOUT_MS)
    assert panel.status.toolTip() == "unsolved"
    qtbot.waitUntil(lambda: panel.readout.values["focal_length"].text() == "—", timeout=TIMEOUT_MS)
    assert panel.curves.curves is None and "No lens file" in panel.description.text()
    qtbot.waitUntil(lambda: panel.distortion.frame is None, timeout=TIMEOUT_MS)


def _frame(**coefficients: float) -> LensFrame:
    return LensFrame(3840, 2160, 3000.0, 3000.0, 1925.0, 1075.0, **coefficients)


def test_the_distortion_preview_redraws_when_k1_changes_and_only_then(qtbot: QtBot) -> None:
    ensure_app()
    preview = DistortionPreview()
    qtbot.addWidget(preview)
    preview.show()
    preview.set_exaggeration(10)
    preview.set_frame(_frame(k1=-0.05))
    qtbot.waitUntil(lambda: preview.redraws == 1, timeout=TIMEOUT_MS)
    before = np.array(preview.grid.getData(), dtype=np.float64)
    preview.set_frame(_frame(k1=-0.05))  # the same coefficients: nothing to redo
    preview.redraw()  # what the 10 Hz timer's next tick does
    assert preview.redraws == 1
    preview.set_frame(_frame(k1=-0.10))
    qtbot.waitUntil(lambda: preview.redraws == 2, timeout=TIMEOUT_MS)
    after = np.array(preview.grid.getData(), dtype=np.float64)
    assert not np.allclose(np.nan_to_num(before), np.nan_to_num(after))
    # Barrel: the corner of the frame is pulled in further with the stronger k1.
    assert np.nanmin(after[0]) > np.nanmin(before[0]) > 0.0
    assert "×10" in preview.caption.text() and "barrel" in preview.caption.text()
    preview.set_frame(_frame(k1=0.05))
    qtbot.waitUntil(lambda: "pincushion" in preview.caption.text(), timeout=TIMEOUT_MS)


def test_the_preview_distorts_as_opencv_projects() -> None:
    frame = _frame(k1=-0.08, k2=0.02, k3=-0.004, p1=0.0007, p2=-0.0004)
    rng = np.random.default_rng(3)
    u, v = rng.uniform(0, 3840, 50), rng.uniform(0, 2160, 50)
    ours_u, ours_v = distort(frame, u, v)
    x, y = (u - frame.cx_px) / frame.fx_px, (v - frame.cy_px) / frame.fy_px
    rays = np.stack([x, y, np.ones_like(u)], axis=1)
    camera = np.array([[frame.fx_px, 0, frame.cx_px], [0, frame.fy_px, frame.cy_px], [0, 0, 1]])
    k1, k2, k3, p1, p2 = frame.coefficients
    projected, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), camera, np.array([k1, k2, p1, p2, k3]))
    projected = projected.reshape(-1, 2)
    assert np.allclose(ours_u, projected[:, 0], atol=1e-6) and np.allclose(ours_v, projected[:, 1], atol=1e-6)
    _u, _v, shift = displaced_grid(frame, 1.0)
    assert shift > 10.0


def test_focus_curve_runs_from_infinity_on_a_dioptre_axis() -> None:
    curves = sample_curves(LensSolver(load_lens_file(DEMO_LENS)))
    band = curves.dioptres_over_focus
    assert band is not None
    assert band.low[0] == pytest.approx(0.0) and band.high[-1] == pytest.approx(2.0)  # ∞ .. 0.5 m
    axis = DioptreAxis("left")
    assert axis.tickStrings([0.0, 1.0, 2.0], 1.0, 1.0) == ["∞", "1 m", "0.5 m"]
    (_spacing, ticks), = axis.tickValues(0.0, 2.0, 300)
    assert ticks[0] == 0.0 and 1.0 in ticks and 2.0 in ticks


def test_the_readout_shows_infinity_and_marks_a_clamped_axis_amber(qtbot: QtBot) -> None:
    ensure_app()
    readout = LensReadout()
    qtbot.addWidget(readout)
    solver = LensSolver(load_lens_file(DEMO_LENS))
    lens = solver.solve(70000, 0, 30000)  # zoom beyond the encoder's 0..65535, focus at infinity
    assert lens.clamped == ("zoom",)
    readout.show_sample(CameraSample("A", "test", 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), zoom_raw=70000,
                                     focus_raw=0, iris_raw=30000, lens=lens))
    values = readout.values
    assert values["focus_distance"].text() == "∞" and values["focal_length"].text() == "70.00 mm"
    assert values["zoom_norm"].text() == "1.0000" and values["t_stop"].text().startswith("T")
    for key in ("zoom_raw", "zoom_norm", "focal_length"):
        assert theme.CLAMPED_TEXT in values[key].styleSheet() and "outside" in values[key].toolTip()
    assert values["focus_raw"].styleSheet() == "" and readout.origin.text() == f"from {DEMO_LENS.name}"


def test_the_film_back_row_names_the_cameras_one_sensor_and_where_it_comes_from(
        qtbot: QtBot, demo_runner: StageRunner) -> None:
    window = _window(qtbot, demo_runner)
    panel = window.lens_panel
    values = panel.readout.values
    # Camera A: the demo lens file's sensor; camera B: the one its OpenTrackIO tracker's static block names.
    qtbot.waitUntil(lambda: values["film_back"].text() == "36.00 x 20.25 mm"
                    and panel.readout.film_source.text() == "from the lens file", timeout=TIMEOUT_MS)
    panel.selector.setCurrentText("B")
    qtbot.waitUntil(lambda: panel.readout.film_source.text() == "from the tracker", timeout=TIMEOUT_MS)
    assert values["film_back"].text() == "36.00 x 20.25 mm"
    panel.readout.show_film_back(None)
    assert values["film_back"].text() == "—" and "unknown" in panel.readout.film_source.text()
