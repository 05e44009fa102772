"""The calibration wizard on real PNGs rendered through a known camera: it runs on a worker while
the GUI goes on, lists every image, rejects a blank one with its reason, cancels, and saves the
point into a lens file the camera then uses."""

from __future__ import annotations

import gc
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from pytestqt.qtbot import QtBot

import lens.calibrate
from lens.calibrate import BoardSpec
from lens.lensfile import load_lens_file
from lens.solve import LensSolver
from lens.synthetic import CameraModel, orbit_poses, render_board
from stagectl.stage.runner import StageRunner
from tests.support.polling import TIMEOUT_MS
from ui import workers
from ui.app import ensure_app, open_settings
from ui.main_window import MainWindow
from ui.panels.calibration_results import CORNERS, IMAGE, NOTE, RMS
from ui.panels.calibration_wizard import CalibrationWizard

DEMO_LENS = Path(__file__).resolve().parents[2] / "lens" / "data" / "demo_zoom_24_70.json"
#: Where the images were "taken": raw zoom and focus of the demo lens (about 39 mm, 3.3 m).
ZOOM_RAW, FOCUS_RAW = 30000, 20000
WIDTH, HEIGHT = 384, 216  # the sensor's 16:9, small for speed (at 320 x 180 a steep view is lost)
BOARD = BoardSpec("checkerboard", (7, 5), 30.0)
VIEWS = 9


def _focal_mm() -> float:
    focal = LensSolver(load_lens_file(DEMO_LENS)).solve(ZOOM_RAW, FOCUS_RAW).focal_length_mm
    assert focal is not None
    return focal


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """VIEWS board views through a camera with the demo lens's focal length there, then a blank frame."""
    folder = tmp_path_factory.mktemp("board")
    fx = _focal_mm() * WIDTH / 36.0
    camera = CameraModel(WIDTH, HEIGHT, fx, fx, WIDTH / 2 - 0.5, HEIGHT / 2 - 0.5, k1=-0.04, k2=0.01)
    paths = []
    for i, pose in enumerate(orbit_poses(BOARD, camera, VIEWS)):
        path = folder / f"view{i:02d}.png"
        assert cv2.imwrite(str(path), render_board(BOARD, camera, pose, seed=i))
        paths.append(path)
    blank = folder / "blank.png"
    assert cv2.imwrite(str(blank), np.full((HEIGHT, WIDTH), 90, np.uint8))
    return [*paths, blank]


@pytest.fixture(autouse=True)
def _no_task_left_running(qtbot: QtBot) -> Iterator[None]:
    """No worker outlives its test; and the test's windows (closed by pytest-qt before this runs) are
    deleted and collected now, so their garbage does not stall the I/O thread of a later test."""
    yield
    qtbot.waitUntil(lambda: not workers.running_tasks(), timeout=TIMEOUT_MS)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


class Gate:
    """Holds the worker at its first image until the test opens it; records the threads it ran on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()
        self.threads: set[threading.Thread] = set()
        original = lens.calibrate._load_gray

        def load(source: Any) -> Any:
            self.threads.add(threading.current_thread())
            self.reached.set()
            assert self.opened.wait(5.0), "the test never opened the gate"
            return original(source)

        monkeypatch.setattr(lens.calibrate, "_load_gray", load)


def _wizard(qtbot: QtBot, runner: StageRunner, lens_path: Path) -> tuple[MainWindow, CalibrationWizard]:
    ensure_app()
    window = MainWindow(runner.views, runner.commands, open_settings())
    qtbot.addWidget(window)
    window.show()
    window.lens_dock.raise_()
    panel = window.lens_panel
    panel.choose_lens_file(lens_path)
    qtbot.waitUntil(lambda: panel.solver is not None and panel.solver.lens.path == lens_path,
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: runner.stage.cameras["A"].latest is not None, timeout=TIMEOUT_MS)
    wizard = panel.open_calibration()
    assert wizard is not None
    return window, wizard


def _cell(wizard: CalibrationWizard, row: int, col: int) -> str:
    item = wizard.results.table.item(row, col)
    return item.text() if item is not None else ""


def test_calibrates_on_a_worker_shows_each_image_and_saves_into_the_lens_file(
        qtbot: QtBot, demo_runner: StageRunner, shots: list[Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    lens_copy = tmp_path / "lens_a.json"
    shutil.copy(DEMO_LENS, lens_copy)
    _window, wizard = _wizard(qtbot, demo_runner, lens_copy)
    # Prefilled from the lens file and from the camera.
    assert wizard.sensor_width.value() == 36.0 and wizard.lens_path == lens_copy
    latest = demo_runner.stage.cameras["A"].latest
    assert latest is not None and wizard.zoom_raw.value() > 0
    wizard.zoom_raw.setValue(ZOOM_RAW)
    wizard.focus_raw.setValue(FOCUS_RAW)
    wizard.cols.setValue(7)
    wizard.rows.setValue(5)
    wizard.add_images(list(shots))
    assert wizard.image_count.text() == f"{VIEWS + 1} images"

    gate = Gate(monkeypatch)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    wizard.run_button.click()
    assert wizard.task is not None and wizard.cancel_button.isEnabled() and not wizard.run_button.isEnabled()
    assert gate.reached.wait(5.0)
    # The worker is held at its first image; the GUI thread goes on ticking meanwhile.
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=TIMEOUT_MS)
    gate.opened.set()
    qtbot.waitUntil(lambda: wizard.result is not None, timeout=10000)
    timer.stop()
    assert gate.threads and threading.main_thread() not in gate.threads
    assert wizard.progress.value() == wizard.progress.maximum() == VIEWS + 2

    result = wizard.result
    assert result.focal_length_mm == pytest.approx(_focal_mm(), rel=0.01)
    assert wizard.results.table.rowCount() == VIEWS + 1
    for row in range(VIEWS):
        assert _cell(wizard, row, IMAGE) == f"view{row:02d}.png"
        assert _cell(wizard, row, CORNERS) == "35"
        assert 0.0 < float(_cell(wizard, row, RMS)) < 0.3
    assert _cell(wizard, VIEWS, IMAGE) == "blank.png"
    assert _cell(wizard, VIEWS, NOTE).startswith("rejected: board not found")
    assert f"from {VIEWS} of {VIEWS + 1} images" in wizard.results.summary.text()
    assert "focal length" in wizard.results.summary.text()

    qtbot.waitUntil(lambda: wizard.task is None and wizard.save_button.isEnabled(), timeout=TIMEOUT_MS)
    wizard.save_button.click()
    qtbot.waitUntil(lambda: "Saved into lens_a.json" in wizard.status.text(), timeout=TIMEOUT_MS)
    saved = load_lens_file(lens_copy)
    (point,) = saved.calibrations
    assert (point.zoom_raw, point.focus_raw, point.images_used) == (ZOOM_RAW, FOCUS_RAW, VIEWS)
    assert point.rms_px == pytest.approx(result.rms_px)
    # The camera re-reads the file: its new solver has the point.
    qtbot.waitUntil(lambda: len(demo_runner.stage.lens_solvers["A"].lens.calibrations) == 1,
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "1 calibration point" in _window.lens_panel.description.text(),
                    timeout=TIMEOUT_MS)


def test_cancel_stops_the_run(qtbot: QtBot, demo_runner: StageRunner, shots: list[Path], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    lens_copy = tmp_path / "lens_a.json"
    shutil.copy(DEMO_LENS, lens_copy)
    _window, wizard = _wizard(qtbot, demo_runner, lens_copy)
    wizard.add_images(list(shots))
    gate = Gate(monkeypatch)
    wizard.run_button.click()
    assert gate.reached.wait(5.0)
    wizard.cancel_button.click()
    assert "Cancelling" in wizard.status.text() and not wizard.cancel_button.isEnabled()
    gate.opened.set()  # the image in hand finishes; the next check of the flag stops the run
    qtbot.waitUntil(lambda: wizard.task is None, timeout=TIMEOUT_MS)
    assert wizard.status.text().startswith("Cancelled: calibration cancelled after 1 of")
    assert wizard.result is None and not wizard.save_button.isEnabled() and wizard.run_button.isEnabled()
    assert load_lens_file(lens_copy).calibrations == []


def test_errors_are_shown_in_the_dialog(qtbot: QtBot, demo_runner: StageRunner, shots: list[Path],
                                        tmp_path: Path) -> None:
    ensure_app()
    wizard = CalibrationWizard(demo_runner.commands, "A", lambda: None)
    qtbot.addWidget(wizard)
    wizard.run()
    assert wizard.status.text() == "Add images of the board first." and wizard.task is None
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is not a PNG")
    wizard.add_images([shots[-1], not_an_image])
    wizard.run()
    qtbot.waitUntil(lambda: wizard.task is None, timeout=TIMEOUT_MS)
    text = wizard.status.text()
    assert text.startswith("Calibration failed: need at least 5 usable images, got 0")
    assert "blank.png: board not found" in text and "notes.png: unreadable" in text
    assert wizard.result is None and wizard.run_button.isEnabled()
    # No lens file: a result could be looked at, not saved.
    assert not wizard.save_button.isEnabled() and "no lens file" in wizard.lens_label.text()


def test_a_point_that_does_not_fit_the_lens_file_is_not_saved(qtbot: QtBot, demo_runner: StageRunner,
                                                              shots: list[Path], tmp_path: Path) -> None:
    lens_copy = tmp_path / "lens_a.json"
    shutil.copy(DEMO_LENS, lens_copy)
    ensure_app()
    wizard = CalibrationWizard(demo_runner.commands, "A", lambda: None)
    qtbot.addWidget(wizard)
    wizard.set_lens(load_lens_file(lens_copy))
    wizard.cols.setValue(7)
    wizard.rows.setValue(5)
    wizard.add_images(shots[:-1])
    wizard.run()
    qtbot.waitUntil(lambda: wizard.task is None and wizard.result is not None, timeout=10000)
    wizard.zoom_raw.setValue(0)  # a ~39 mm point at the wide end (24 mm) breaks the focal-length order
    wizard.focus_raw.setValue(FOCUS_RAW)
    before = lens_copy.read_text()
    wizard.save()
    qtbot.waitUntil(lambda: wizard.task is None, timeout=TIMEOUT_MS)
    assert wizard.status.text().startswith("Not saved into lens_a.json:")
    assert "does not fit the lens file" in wizard.status.text()
    assert lens_copy.read_text() == before
