"""The main window: the take bar on top, Stage, Tracking, Lens, Frustum, Lighting, Takes and Log docks, and a
status bar with the stage timecode."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QScrollArea, QToolBar, QWidget

from stagectl.stage.assembly import Stage
from stagectl.stage.snapshot import StageSnapshot
from ui import theme, workers
from ui.bridge import StageBridge
from ui.panels.dp_panel import DpPanel
from ui.panels.frustum_panel import FrustumPanel
from ui.panels.lens_panel import LensPanel
from ui.panels.log_panel import LogPanel
from ui.panels.stage_panel import StagePanel
from ui.panels.take_bar import TakeBar
from ui.panels.takes_browser import TakesBrowser
from ui.panels.tracking_panel import TrackingPanel

#: Bump when the dock layout changes incompatibly: Qt then ignores the saved state.
#: 2: the Camera dock became the Tracking dock (new object name, much more content).
#: 3: the Lens dock, tabbed with Tracking.
#: 4: the Frustum dock, tabbed with Tracking and Lens.
#: 6: the take bar (a toolbar across the top) and the Takes dock, tabbed after Lighting.
LAYOUT_VERSION = 6


class MainWindow(QMainWindow):
    """The stagectl window for one running Stage; layout and geometry persist in ``settings``."""

    def __init__(self, stage: Stage, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        self.settings = settings
        self.setWindowTitle(f"stagectl — {stage.config.name}")
        self.setDockNestingEnabled(True)
        self.resize(1400, 860)

        self.stage_panel = StagePanel(self)
        self.tracking_panel = TrackingPanel(stage, self)
        self.lens_panel = LensPanel(stage, self)
        self.frustum_panel = FrustumPanel.for_stage(stage, self)
        self.dp_panel = DpPanel.for_stage(stage, self)
        self.log_panel = LogPanel(self)
        self.stage_dock = self._dock("Stage", "stage_dock", self.stage_panel,
                                     Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tracking_dock = self._dock("Tracking", "tracking_dock", self.tracking_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.lens_dock = self._dock("Lens", "lens_dock", self.lens_panel,
                                    Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.tracking_dock, self.lens_dock)
        self.frustum_dock = self._dock("Frustum", "frustum_dock", self.frustum_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.lens_dock, self.frustum_dock)
        lighting_scroll = QScrollArea(self)  # the panel's full layout may be taller than a small window
        lighting_scroll.setWidget(self.dp_panel)
        lighting_scroll.setWidgetResizable(True)
        lighting_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.lighting_dock = self._dock("Lighting", "lighting_dock", lighting_scroll,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.frustum_dock, self.lighting_dock)
        self.takes_browser = TakesBrowser.for_stage(stage, self)
        self.takes_dock = self._dock("Takes", "takes_dock", self.takes_browser,
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.lighting_dock, self.takes_dock)
        # Record / stop and the running timecode stay in sight whichever dock is raised.
        self.take_bar = TakeBar.for_stage(stage, self)
        self.take_toolbar = QToolBar("Take", self)
        self.take_toolbar.setObjectName("take_toolbar")
        self.take_toolbar.setMovable(False)
        self.take_toolbar.addWidget(self.take_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.take_toolbar)
        self.tracking_dock.raise_()
        self.log_dock = self._dock("Log", "log_dock", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._layout_restored = False

        self.timecode = QLabel("--:--:--:--", self)
        self.timecode.setFont(theme.monospace(14, bold=True))
        self.timecode.setStyleSheet(f"color: {theme.ACCENT}; padding: 0 10px;")
        self.totals = QLabel("", self)
        self.totals.setStyleSheet(f"color: {theme.DIM_TEXT}; padding: 0 8px;")
        self.statusBar().addWidget(self.totals, 1)
        self.statusBar().addPermanentWidget(self.timecode)

        self._make_menu()
        self.stage_panel.camera_selected.connect(self._select_camera)
        self.tracking_panel.camera_selected.connect(self._select_camera)
        self.lens_panel.camera_selected.connect(self._select_camera)
        self.bridge = StageBridge(stage, self)
        self.bridge.snapshot_ready.connect(self._on_snapshot)
        self.bridge.events_ready.connect(self.log_panel.add_events)
        self.restore_layout()
        self.bridge.start()

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState needs stable names
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _make_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for dock in (self.stage_dock, self.tracking_dock, self.lens_dock, self.frustum_dock, self.takes_dock,
                     self.log_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addAction(self.take_toolbar.toggleViewAction())

    def _select_camera(self, name: str) -> None:
        self.tracking_panel.select_camera(name)
        self.stage_panel.select_camera(name)
        self.lens_panel.select_camera(name)

    def _on_snapshot(self, snap: StageSnapshot) -> None:
        self.stage_panel.update_snapshot(snap)
        self.tracking_panel.update_snapshot(snap)
        self.lens_panel.update_snapshot(snap)
        self.frustum_panel.update_snapshot(snap)
        self.timecode.setText(snap.timecode)
        up = sum(1 for c in snap.cameras if c.state == "up")
        self.totals.setText(
            f"{snap.name} · {snap.frame_rate} fps · cameras up {up}/{len(snap.cameras)} · "
            f"samples {snap.total_samples} · rejected {snap.total_rejected}")

    # --- persistence ---------------------------------------------------------------------------

    def restore_layout(self) -> None:
        """Restore geometry, dock layout and the selected camera from the last run."""
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self._layout_restored = self.restoreState(state, LAYOUT_VERSION)
        camera = self.settings.value("camera/selected")
        if isinstance(camera, str):
            self._select_camera(camera)

    def save_layout(self) -> None:
        """Write geometry, dock layout and the selected camera."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        if self.tracking_panel.camera:
            self.settings.setValue("camera/selected", self.tracking_panel.camera)
        self.settings.sync()

    def showEvent(self, event: QShowEvent) -> None:
        """On a first run (no saved layout) give the tracking dock most of the room."""
        super().showEvent(event)
        if not self._layout_restored:
            self._layout_restored = True
            QTimer.singleShot(0, self._default_proportions)

    def _default_proportions(self) -> None:
        width, height = self.width(), self.height()
        self.resizeDocks([self.stage_dock, self.tracking_dock], [int(width * 0.26), int(width * 0.74)],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.tracking_dock, self.log_dock], [int(height * 0.78), int(height * 0.18)],
                         Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout and stop pulling from the stage; the runner stops the stage."""
        self.bridge.stop()
        self.dp_panel.stop()
        self.take_bar.stop()
        self.takes_browser.stop()
        workers.shutdown(timeout_ms=2000)  # a calibration still running stops at its next image
        self.save_layout()
        super().closeEvent(event)
