"""The main window: the take bar on top, Stage, Tracking, Lens, Frustum, Lighting, Takes and Log docks, and a
status bar with the stage timecode.

The window sees the stage through two things only: a :class:`~stagectl.stage.view.ViewSource` (the
newest :class:`~stagectl.stage.view.StageView`, which its :class:`~ui.bridge.StageBridge` hands every
panel about 30 times a second) and :class:`~stagectl.stage.commands.StageCommands` (every action,
its outcome called back on the GUI thread through the bridge).

A dock drawing live figures (Stage, Tracking, Lens) that is not seen (tabbed away, closed, or the window
minimised) is not updated: it catches up with the newest view the moment it shows again. The refresh
rate (Display > Refresh rate) persists; at 60 Hz the plots, the map and the lens curves draw every view and
the numbers (readouts, tables, timecodes) every second one (:data:`ui.theme.NUMBERS_PERIOD_S`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QScrollArea, QToolBar, QWidget

from stagectl.stage.commands import StageCommands
from stagectl.stage.view import StageView, ViewSource
from ui import theme, workers
from ui.bridge import DEFAULT_REFRESH_HZ, REFRESH_RATES, StageBridge
from ui.frame import RepaintHold
from ui.panels.dp_panel import DpPanel
from ui.panels.frustum_panel import FrustumPanel
from ui.panels.lens_panel import LensPanel
from ui.panels.log_panel import LogPanel
from ui.panels.remote_link import RemoteLink
from ui.panels.stage_panel import StagePanel
from ui.panels.take_bar import TakeBar
from ui.panels.takes_browser import TakesBrowser
from ui.panels.tracking_panel import TrackingPanel
from ui.seen import seen

#: Bump when the dock layout changes incompatibly: Qt then ignores the saved state.
#: 2: the Camera dock became the Tracking dock (new object name, much more content).
#: 3: the Lens dock, tabbed with Tracking.
#: 4: the Frustum dock, tabbed with Tracking and Lens.
#: 6: the take bar (a toolbar across the top) and the Takes dock, tabbed after Lighting.
LAYOUT_VERSION = 6

#: The status bar's totals (samples, rejected) change at most this often (s).
TOTALS_PERIOD_S = 0.5

#: The window's size on a first run, shrunk to the screen it opens on.
PREFERRED_SIZE = QSize(1400, 860)
#: Below this window height (px) the log starts smaller, so a laptop's 720 lines still give the time plots
#: room to read: a few lines of log (more by dragging its edge) over plots three times as tall as their
#: labels.
SHORT_WINDOW_PX = 900


def log_share(height: int) -> float:
    """The share of the window's height the log dock starts with on a first run."""
    return 0.18 if height >= SHORT_WINDOW_PX else 0.11


def fitted(frame: QRect, available: QRect) -> QRect:
    """``frame`` moved and, where it must, shrunk so that all of it lies on ``available`` (a screen's
    available area): a window restored from a larger screen, or placed off the edge, is whole again."""
    width, height = min(frame.width(), available.width()), min(frame.height(), available.height())
    x = min(max(frame.x(), available.left()), available.left() + available.width() - width)
    y = min(max(frame.y(), available.top()), available.top() + available.height() - height)
    return QRect(x, y, width, height)


class MainWindow(QMainWindow):
    """The stagectl window for one running stage; layout and geometry persist in ``settings``.

    Args:
        views: where the newest view is read (``StageRunner.views``).
        commands: the stage's commands (``StageRunner.commands``); the window's own copy calls back
            on the GUI thread.
        settings: window geometry and dock layout.

    Attributes:
        bridge: reads the views and runs command callbacks on the GUI thread.
        commands: the commands the panels call.
        docks: every dock, in the View menu's order.
        refresh_actions: Display > Refresh rate, one checkable action per rate (Hz).
    """

    def __init__(self, views: ViewSource, commands: StageCommands, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = views
        self.settings = settings
        self.bridge = StageBridge(views, self)
        self.commands = commands.with_hop(self.bridge.post)
        view = views.latest
        self.setWindowTitle(f"stagectl — {view.name}")
        self.setDockNestingEnabled(True)
        self._first_size()

        self.stage_panel = StagePanel(self)
        self.tracking_panel = TrackingPanel(view, self.commands, self)
        self.lens_panel = LensPanel(view, self.commands, self)
        self.frustum_panel = FrustumPanel(self.commands.set_frustum_cues, view.frustum, self)
        self.dp_panel = DpPanel(view, self.commands, self)
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
        self.takes_browser = TakesBrowser.for_view(view, self.commands, self)
        self.takes_dock = self._dock("Takes", "takes_dock", self.takes_browser,
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.lighting_dock, self.takes_dock)
        # Record / stop and the running timecode stay in sight whichever dock is raised.
        self.take_bar = TakeBar(view, self.commands, self)
        self.take_toolbar = QToolBar("Take", self)
        self.take_toolbar.setObjectName("take_toolbar")
        self.take_toolbar.setMovable(False)
        self.take_toolbar.addWidget(self.take_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.take_toolbar)
        # A stage without cameras is a lighting stage: its Lighting dock comes first.
        (self.tracking_dock if view.cameras else self.lighting_dock).raise_()
        self.log_dock = self._dock("Log", "log_dock", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.docks = (self.stage_dock, self.tracking_dock, self.lens_dock, self.frustum_dock,
                      self.lighting_dock, self.takes_dock, self.log_dock)
        self._layout_restored = False
        self._window_size = QSize()
        self._resizing = False
        #: Stage dock width and Log dock height, as last set by the operator or the first layout.
        self._kept: dict[QDockWidget, int] = {}
        self.stage_dock.installEventFilter(self)
        self.log_dock.installEventFilter(self)
        #: The docks that draw live figures, plots and the map, and what draws a view in each: a dock not
        #: seen is skipped, and draws the newest view when it shows again (see the module docstring).
        self._feeds: tuple[tuple[QDockWidget, Callable[[StageView], None]], ...] = (
            (self.stage_dock, self.stage_panel.update_view),
            (self.tracking_dock, self.tracking_panel.update_view),
            (self.lens_dock, self.lens_panel.update_view))
        #: The panels that follow changes (a look, the cues, the recorder) and do nothing while nothing
        #: changes: they follow even unseen, so that a control shows the stage's value when it is touched.
        self._followers: tuple[Callable[[StageView], None], ...] = (
            self.frustum_panel.update_view, self.dp_panel.update_view, self.takes_browser.update_view)
        for shown, update in self._feeds:
            shown.visibilityChanged.connect(lambda visible, update=update: self._catch_up(visible, update))

        self.timecode = QLabel("--:--:--:--", self)
        self.timecode.setFont(theme.monospace(14, bold=True))
        # Opaque, in the status bar's colour: a new timecode repaints the label, not the bar and window under
        # it. So its style sheet holds the colour alone and its room is margins: a style sheet with a box
        # (padding) draws the label as a styled box, which Qt does not take as opaque.
        self.timecode.setStyleSheet(f"color: {theme.ACCENT};")
        self.timecode.setContentsMargins(10, 0, 10, 0)
        theme.hold_size(self.timecode, "00:00:00;00", opaque=True, background=theme.BACKGROUND)
        self.totals = QLabel("", self)
        self._totals_at = -TOTALS_PERIOD_S
        self._numbers_at = -theme.NUMBERS_PERIOD_S
        self._totals_key: tuple[int, int] | None = None
        self.totals.setStyleSheet(f"color: {theme.DIM_TEXT}; padding: 0 8px;")
        self.remote = RemoteLink(self)
        self.statusBar().addWidget(self.totals, 1)
        self.statusBar().addPermanentWidget(self.remote)
        self.statusBar().addPermanentWidget(self.timecode)

        self._make_menu()
        #: One repaint a view, however many plots it touches (see ui.frame).
        self.frame = RepaintHold(self)
        self.frame.find_scenes()
        self.stage_panel.camera_selected.connect(self._select_camera)
        self.tracking_panel.camera_selected.connect(self._select_camera)
        self.lens_panel.camera_selected.connect(self._select_camera)
        self.bridge.view_ready.connect(self._on_view)
        self.bridge.events_ready.connect(self.log_panel.add_events)
        self.restore_layout()
        self._follow_history()
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
        self.view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks:  # every dock: one closed is always back from here
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addAction(self.take_toolbar.toggleViewAction())
        # The View menu lists what can be shown; how the window draws goes in a menu of its own.
        self.display_menu = self.menuBar().addMenu("&Display")
        refresh_menu = self.display_menu.addMenu("&Refresh rate")
        refresh_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.refresh_actions: dict[int, QAction] = {}
        for hz in REFRESH_RATES:
            action = QAction(f"{hz} Hz", self, checkable=True)
            action.setToolTip("smoother plots, more of a core" if hz > DEFAULT_REFRESH_HZ
                              else "the stage's view rate; least power")
            action.triggered.connect(lambda _checked=False, hz=hz: self.set_refresh_hz(hz))
            group.addAction(action)
            refresh_menu.addAction(action)
            self.refresh_actions[hz] = action
        self.refresh_actions[self.bridge.refresh_hz].setChecked(True)

    def set_refresh_hz(self, hz: int) -> None:
        """Refresh the window ``hz`` times a second (one of :data:`ui.bridge.REFRESH_RATES`); kept for the
        next run."""
        self.bridge.set_refresh_hz(hz)
        self.refresh_actions[hz].setChecked(True)
        self.settings.setValue("window/refresh_hz", hz)

    def _select_camera(self, name: str) -> None:
        self.tracking_panel.select_camera(name)
        self.stage_panel.select_camera(name)
        self.lens_panel.select_camera(name)
        self._follow_history()

    def _follow_history(self) -> None:
        """Ask the views for the recent samples of the camera the plots show (and no other)."""
        camera = self.tracking_panel.camera
        self.views.history_cameras = frozenset({camera} if camera else ())

    def _on_view(self, view: StageView) -> None:
        if self.isMinimized():
            return  # nothing is seen; showing the window again catches up (changeEvent)
        with self.frame.one_repaint():
            self._apply(view)

    def _apply(self, view: StageView) -> None:
        first = not self.isVisible()  # the first view fills every panel, before any is shown
        now = time.monotonic()
        numbers = first or now - self._numbers_at >= 0.75 * theme.NUMBERS_PERIOD_S
        if numbers:
            self._numbers_at = now
        # Plots, the map and the lens curves' live point every view; numbers at most every NUMBERS_PERIOD_S.
        if first or seen(self.tracking_dock):
            self.tracking_panel.update_view(view, numbers=numbers)
        if first or seen(self.lens_dock):
            self.lens_panel.update_view(view)
        if numbers and (first or seen(self.stage_dock)):
            self.stage_panel.update_view(view)
        for follow in self._followers:
            follow(view)
        self.remote.update_view(view)
        if not numbers:
            return
        self.take_bar.update_view(view)
        self.timecode.setText(view.timecode)
        up = sum(1 for c in view.cameras if c.state == "up")
        tracking = (f"cameras up {up}/{len(view.cameras)} · samples {view.total_samples} · "
                    f"rejected {view.total_rejected}" if view.cameras else "no camera: lighting only")
        totals = f"{view.name} · {view.frame_rate} fps · {tracking}"
        # The sample count moves thousands of times a second: shown twice a second it needs no new layout
        # per frame. Anything else (a camera down, a rejection) shows at once.
        news = (up, view.total_rejected) != self._totals_key
        if self.totals.text() != totals and (news or now - self._totals_at >= TOTALS_PERIOD_S):
            self._totals_at, self._totals_key = now, (up, view.total_rejected)
            self.totals.setText(totals)

    # --- persistence ---------------------------------------------------------------------------

    def _available(self) -> QRect:
        """The available area of the screen the window is on (the primary one before it is shown)."""
        screen = QGuiApplication.screenAt(self.frameGeometry().center()) or self.screen() \
            or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def _first_size(self) -> None:
        """A first run: the preferred size where the screen has room, centred on it."""
        available = self._available()
        size = PREFERRED_SIZE.boundedTo(available.size())
        self.resize(size)
        self.move(available.center() - QPoint(size.width() // 2, size.height() // 2))

    def fit_to_screen(self) -> None:
        """Keep the whole window on its screen (a geometry restored from another screen may not fit)."""
        frame = self.frameGeometry()
        inside = fitted(frame, self._available())
        if inside != frame:
            margins = QSize(frame.width() - self.width(), frame.height() - self.height())
            self.resize(inside.size() - margins)
            self.move(inside.topLeft())

    def restore_layout(self) -> None:
        """Restore geometry, dock layout and the selected camera from the last run, on the screen."""
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.fit_to_screen()
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self._layout_restored = self.restoreState(state, LAYOUT_VERSION)
        camera = self.settings.value("camera/selected")
        if isinstance(camera, str):
            self._select_camera(camera)
        refresh = str(self.settings.value("window/refresh_hz", DEFAULT_REFRESH_HZ))
        hz = int(refresh) if refresh.isdigit() else DEFAULT_REFRESH_HZ
        self.set_refresh_hz(hz if hz in REFRESH_RATES else DEFAULT_REFRESH_HZ)

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
        elif not self._kept:
            QTimer.singleShot(0, self._remember_sizes)

    def _remember_sizes(self) -> None:
        self._kept = {self.stage_dock: self.stage_dock.width(), self.log_dock: self.log_dock.height()}

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A bigger (or maximised) window gives its new room to the tabbed docks on the right, where the
        plots and tables are: the Stage list keeps its width and the Log strip its height."""
        super().resizeEvent(event)
        self._window_size = event.size()
        if self._kept and event.oldSize().isValid():
            self._resizing = True  # the docks' sizes until then are the layout's, not the operator's
            QTimer.singleShot(0, self._keep_sizes)

    def changeEvent(self, event: QEvent) -> None:
        """Back from minimised: every dock seen catches up with the newest view."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange and not self.isMinimized():
            self._on_view(self.bridge.last)

    def _catch_up(self, visible: bool, update: Callable[[StageView], None]) -> None:
        """A dock shown again (its tab raised, opened from the View menu) draws the newest view at once,
        once Qt has laid it out."""
        if visible:
            QTimer.singleShot(0, lambda: None if self.isMinimized() else update(self.bridge.last))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Remember the Stage width and Log height the operator gave them (the window's size unchanged)."""
        if event.type() == QEvent.Type.Resize and self.size() == self._window_size and not self._resizing \
                and isinstance(watched, QDockWidget) and not watched.isFloating():
            self._kept[watched] = watched.width() if watched is self.stage_dock else watched.height()
        return super().eventFilter(watched, event)

    def _keep_sizes(self) -> None:
        # Qt sizes two areas through a pair of docks: the tabbed group stands in for the rest.
        tabbed = next((d for d in (self.tracking_dock, self.lens_dock, self.frustum_dock, self.lighting_dock,
                                   self.takes_dock) if d.toggleViewAction().isChecked() and not d.isFloating()
                       and self.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea), None)
        if tabbed is None:
            return
        for dock, size in list(self._kept.items()):
            if dock.isVisible() and not dock.isFloating():
                if dock is self.stage_dock:
                    self.resizeDocks([dock, tabbed], [size, max(1, self.width() - size)],
                                     Qt.Orientation.Horizontal)
                else:
                    self.resizeDocks([tabbed, dock], [max(1, self.height() - size), size],
                                     Qt.Orientation.Vertical)
        QTimer.singleShot(0, self._resized)

    def _resized(self) -> None:
        self._resizing = False

    def _default_proportions(self) -> None:
        width, height = self.width(), self.height()
        log = int(height * log_share(height))
        self.resizeDocks([self.stage_dock, self.tracking_dock], [int(width * 0.26), int(width * 0.74)],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.tracking_dock, self.log_dock], [height - log, log], Qt.Orientation.Vertical)
        self._kept = {self.stage_dock: int(width * 0.26), self.log_dock: log}

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout and stop reading the views; the runner stops the stage."""
        self.bridge.stop()
        self.frustum_panel.stop()
        self.takes_browser.stop()
        workers.shutdown(timeout_ms=2000)  # a calibration still running stops at its next image
        self.save_layout()
        super().closeEvent(event)
