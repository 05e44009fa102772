"""DP panel: the looks at a glance, the cue list with a big GO, live nudges with undo, A/B, devices.

Reads the :class:`~stagectl.stage.view.LightingView` of each view (the window feeds them; the I/O
loop refreshes the lighting every 50 ms); every action goes to the cue engine through
:class:`~stagectl.stage.commands.StageCommands` and never waits. The engine reports refusals itself
(events in the Log dock).

Nudges work on a *working look*: the live look as recalled, changed by the nudge buttons
(brightness in thirds of a stop, CCT in 10-mired steps, tint in 0.001 Duv) in the chosen zone or
every light zone, each change sent with a short fade and pushed on a QUndoStack (undo/redo).
A GO, BACK or recall from anywhere (a desk over OSC, another panel) resets the working look to
the new live look. A/B: store the working look as A or B, then flip between them (no fade) to
compare; flipping is undoable like a nudge. "Save as look…" writes the working look to the
looks folder under a new name.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from presets.easing import EASINGS
from presets.model import Look
from presets.nudge import (
    BRIGHTNESS_STEP_STOPS,
    CCT_STEP_MIRED,
    TINT_STEP_DUV,
    nudge_brightness,
    nudge_cct,
    nudge_tint,
)
from stagectl.core.features import LinkState
from stagectl.stage.commands import StageCommands
from stagectl.stage.view import LightingView, StageView
from ui import theme
from ui.panels.discovery_panel import DiscoveryPanel
from ui.panels.lighting_tables import CueTable, DeviceTable, LooksTable
from ui.panels.nudge_commands import LookChange

NUDGE_FADE_S = 0.3
ALL_ZONES = "All light zones"


def _button(text: str, tip: str, colour: str | None = None, height: int = 28) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.setMinimumHeight(height)
    if colour is not None:
        button.setStyleSheet(f"QPushButton {{ background: {colour}; color: #0e1013; font-weight: bold; }}"
                             "QPushButton:checked { border: 2px solid #ffffff; }")
    return button


class DpPanel(QWidget):
    """The DP's lighting panel (see the module docstring).

    Args:
        view: the stage's first view.
        commands: where every action goes.
        confirm: asks the operator yes/no (title, question); replaced in tests.
    """

    def __init__(self, view: StageView, commands: StageCommands, parent: QWidget | None = None,
                 confirm: Callable[[str, str], bool] | None = None) -> None:
        super().__init__(parent)
        self.commands = commands
        self.confirm = confirm or self._ask
        self.undo_stack = QUndoStack(self)
        self.working: Look | None = None
        self.side_a: Look | None = None
        self.side_b: Look | None = None
        self._applied: str | None = None
        self._status = LightingView()

        self.live_label = QLabel("—")
        font = QFont(self.live_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.live_label.setFont(font)
        self.live_label.setStyleSheet(f"color: {theme.ACCENT};")
        self.next_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)

        self.go_button = _button("GO", "Fire the next cue (with its fade)", "#3fb950", height=60)
        go_font = QFont(self.go_button.font())
        go_font.setPointSizeF(go_font.pointSizeF() * 2.2)
        go_font.setBold(True)
        self.go_button.setFont(go_font)
        self.back_button = _button("BACK", "Fire the cue before the last one")
        self.hold_button = _button("HOLD", "Freeze every running fade where it is (press again to go on)")
        self.hold_button.setCheckable(True)
        self.safe_button = _button("Back to safe", "Recall the last look that was fully reached")
        self.blackout_button = _button("BLACKOUT", "Blackout every processor and dim every fixture "
                                       "(asks first)", theme.STATE_COLOURS["down"])
        self.fade_spin = QDoubleSpinBox()
        self.fade_spin.setRange(0.0, 600.0)
        self.fade_spin.setDecimals(1)
        self.fade_spin.setSuffix(" s")
        self.fade_spin.setValue(view.lighting.fade_s)
        self.fade_spin.setToolTip("Fade time of a look recalled from the looks table")
        self.easing_combo = QComboBox()
        self.easing_combo.addItems(list(EASINGS))
        self.easing_combo.setCurrentText("ease-in-out")

        self.cue_table = CueTable()
        self.looks_table = LooksTable()
        self.device_table = DeviceTable()
        self.discovery_panel = DiscoveryPanel(view.stage_file, commands)
        self.recall_button = _button("Recall look", "Fade to the selected look (fade and easing at left)")
        self.save_button = _button("Save as look…", "Write the working look (with its nudges) as a new look")

        self.zone_combo = QComboBox()
        self.zone_combo.addItem(ALL_ZONES)
        self.nudges: dict[str, QPushButton] = {}
        self.undo_button = _button("Undo", "Undo the last nudge or A/B flip")
        self.redo_button = _button("Redo", "Redo")
        self.store_a = _button("Store A", "Keep the working look as side A")
        self.store_b = _button("Store B", "Keep the working look as side B")
        self.flip_button = _button("A / B", "Flip between side A and side B (no fade)")
        self.flip_button.setCheckable(True)
        self._build()
        self._connect()
        self.show_lighting(view.lighting)

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.live_label, 1)
        header.addWidget(self.next_label)
        transport = QVBoxLayout()
        transport.setContentsMargins(0, 0, 0, 0)
        transport.addWidget(self.go_button)
        row = QHBoxLayout()
        row.addWidget(self.back_button)
        row.addWidget(self.hold_button)
        transport.addLayout(row)
        form = QHBoxLayout()
        form.addWidget(QLabel("Fade"))
        form.addWidget(self.fade_spin, 1)
        form.addWidget(QLabel("Easing"))
        form.addWidget(self.easing_combo, 1)
        transport.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.safe_button)
        row.addWidget(self.blackout_button)
        transport.addLayout(row)

        # The nudges sit under GO, in three short columns: the DP's hands stay in one place, and the
        # cues and looks get the panel's whole height on a laptop or a tablet.
        nudge_box = QGroupBox("Nudge the live look")
        nudge = QGridLayout(nudge_box)
        nudge.setContentsMargins(6, 6, 6, 6)
        nudge.addWidget(self.zone_combo, 0, 0, 1, 3)
        for key, text, tip, row_, col in (
                ("dim", "−⅓ stop", "Darker by a third of a stop", 1, 0),
                ("bright", "+⅓ stop", "Brighter by a third of a stop", 1, 1),
                ("warm", "Warmer", f"+{CCT_STEP_MIRED:g} mired (lower K)", 2, 0),
                ("cool", "Cooler", f"−{CCT_STEP_MIRED:g} mired (higher K)", 2, 1),
                ("magenta", "Tint −", f"−{TINT_STEP_DUV:g} Duv (magenta)", 3, 0),
                ("green", "Tint +", f"+{TINT_STEP_DUV:g} Duv (green)", 3, 1)):
            self.nudges[key] = _button(text, tip)
            nudge.addWidget(self.nudges[key], row_, col)
        for button, row_, col in ((self.undo_button, 1, 2), (self.redo_button, 2, 2),
                                  (self.store_a, 4, 0), (self.store_b, 4, 1), (self.flip_button, 4, 2)):
            nudge.addWidget(button, row_, col)
        transport.addWidget(nudge_box)
        transport.addStretch(1)
        left = QWidget()
        left.setLayout(transport)
        left.setMaximumWidth(290)

        looks_box = QGroupBox("Looks")
        looks_layout = QVBoxLayout(looks_box)
        looks_layout.addWidget(self.looks_table)
        buttons = QHBoxLayout()
        buttons.addWidget(self.recall_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        looks_layout.addLayout(buttons)
        cues_box = QGroupBox("Cues")
        QVBoxLayout(cues_box).addWidget(self.cue_table)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(cues_box)
        split.addWidget(looks_box)

        middle = QHBoxLayout()
        middle.addWidget(left)
        middle.addWidget(split, 1)

        # Devices and what zeroconf found share the bottom as tabs: the cues and looks get the height.
        devices_page = QWidget()
        devices_layout = QVBoxLayout(devices_page)
        devices_layout.setContentsMargins(4, 4, 4, 4)
        devices_layout.addWidget(self.device_table)
        self.discovery_panel.setTitle("")
        self.discovery_panel.setFlat(True)
        self.device_tabs = QTabWidget()
        self.device_tabs.setDocumentMode(True)
        self.device_tabs.addTab(devices_page, "Devices")
        self.device_tabs.addTab(self.discovery_panel, "On the network")
        self.discovery_panel.needs_attention.connect(
            lambda: self.device_tabs.setCurrentWidget(self.discovery_panel))

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.progress)
        layout.addLayout(middle, 3)
        layout.addWidget(self.device_tabs, 2)

    def _connect(self) -> None:
        commands = self.commands
        self.go_button.clicked.connect(lambda: commands.cue_go())
        self.back_button.clicked.connect(lambda: commands.cue_back())
        self.hold_button.toggled.connect(lambda on: commands.hold(bool(on)))
        self.safe_button.clicked.connect(lambda: commands.back_to_safe())
        self.blackout_button.clicked.connect(self.blackout)
        self.recall_button.clicked.connect(self.recall_selected)
        self.looks_table.doubleClicked.connect(lambda _index: self.recall_selected())
        self.cue_table.doubleClicked.connect(lambda _index: self.goto_selected())
        self.save_button.clicked.connect(self.save_working)
        self.nudges["dim"].clicked.connect(lambda: self.nudge("brightness", -BRIGHTNESS_STEP_STOPS))
        self.nudges["bright"].clicked.connect(lambda: self.nudge("brightness", BRIGHTNESS_STEP_STOPS))
        self.nudges["warm"].clicked.connect(lambda: self.nudge("cct", CCT_STEP_MIRED))
        self.nudges["cool"].clicked.connect(lambda: self.nudge("cct", -CCT_STEP_MIRED))
        self.nudges["magenta"].clicked.connect(lambda: self.nudge("tint", -TINT_STEP_DUV))
        self.nudges["green"].clicked.connect(lambda: self.nudge("tint", TINT_STEP_DUV))
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.store_a.clicked.connect(lambda: self._store_side("a"))
        self.store_b.clicked.connect(lambda: self._store_side("b"))
        self.flip_button.clicked.connect(self.flip)

    # --- actions ----------------------------------------------------------------------------------

    def recall_selected(self) -> None:
        """Fade to the look selected in the looks table with the panel's fade time and easing."""
        name = self.looks_table.selected_key()
        if name is not None:
            self.commands.recall_look(name, self.fade_spin.value(), self.easing_combo.currentText())

    def goto_selected(self) -> None:
        """Fire the cue selected in the cue table."""
        number = self.cue_table.selected_key()
        if number is not None:
            self.commands.cue_goto(number)

    def blackout(self) -> None:
        """Ask, then black out."""
        if self.confirm("Blackout", "Black out every LED processor and dim every fixture now?"):
            self.commands.blackout()

    def nudge(self, kind: str, amount: float) -> None:
        """Change the working look by ``amount`` (stops, mired or Duv) in the chosen zone(s), undoably."""
        before = self.working
        if before is None:
            return
        zone = self.zone_combo.currentText()
        zones = None if zone == ALL_ZONES else [zone]
        change = {"brightness": nudge_brightness, "cct": nudge_cct, "tint": nudge_tint}[kind]
        after = change(before, amount, zones)
        if after != before:
            self.undo_stack.push(LookChange(f"{kind} {amount:+g}", kind, before, after, self._apply_working))

    def _store_side(self, side: str) -> None:
        if self.working is not None:
            if side == "a":
                self.side_a = self.working
            else:
                self.side_b = self.working

    def flip(self) -> None:
        """Show side B (button checked) or side A, with no fade; undoable."""
        target = self.side_b if self.flip_button.isChecked() else self.side_a
        if target is None or self.working is None:
            return
        self.undo_stack.push(LookChange(f"A/B: {'B' if self.flip_button.isChecked() else 'A'}", "ab",
                                        self.working, target, lambda look: self._apply_working(look, 0.0)))

    def _apply_working(self, look: Look, fade_s: float = NUDGE_FADE_S) -> None:
        self.working = look
        self._applied = look.name
        self.commands.apply_look(look, fade_s, "linear", what="nudge")

    def save_working(self) -> None:
        """Ask for a name, then write the working look to the looks folder (off the GUI thread)."""
        if self.working is None:
            return
        name, ok = QInputDialog.getText(self, "Save as look", "Name of the new look:",
                                        text=f"{self.working.name} (nudged)")
        if ok and name.strip():
            self.save_working_as(name.strip())

    def save_working_as(self, name: str) -> None:
        """Write the working look as ``name`` (the loop hands the file write to a thread)."""
        if self.working is not None:
            self.commands.save_look(self.working, name)

    @staticmethod
    def _ask(title: str, question: str) -> bool:
        answer = QMessageBox.question(None, title, question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # --- refresh ----------------------------------------------------------------------------------

    def update_view(self, view: StageView) -> None:
        """Redraw from a view (the window's feed); nothing to do while the lighting is unchanged."""
        if view.lighting is not self._status and view.lighting != self._status:  # most new ones are the same
            self.show_lighting(view.lighting)

    def show_lighting(self, status: LightingView) -> None:
        """Redraw from ``status``."""
        self._status = status
        engine = status.engine
        live = engine.live_look if engine is not None else None
        if live is not None and live != self._applied:  # a GO / recall from anywhere: a new working look
            self.working = next((look for look in status.looks if look.name == live), None)
            self._applied = live
            self.undo_stack.clear()
        elif live is None:
            self._applied = None
        self._show_header(status)
        self.looks_table.show_looks(status.looks, live)
        self.cue_table.show_cues(status.cues, engine)
        self.device_table.show_devices(status.devices)
        self.discovery_panel.show_status(status)
        self._show_tab_titles(status)
        zones = sorted({z for look in status.looks for z in look.zones if z != "frustum"})
        current = [self.zone_combo.itemText(i) for i in range(1, self.zone_combo.count())]
        if zones != current:
            self.zone_combo.blockSignals(True)
            self.zone_combo.clear()
            self.zone_combo.addItems([ALL_ZONES, *zones])
            self.zone_combo.blockSignals(False)
        if engine is not None and self.hold_button.isChecked() != engine.held:
            self.hold_button.blockSignals(True)
            self.hold_button.setChecked(engine.held)
            self.hold_button.blockSignals(False)

    def _show_tab_titles(self, status: LightingView) -> None:
        """Counts in the tab titles, so a device that drops is seen whichever tab is in front."""
        down = sum(1 for d in status.devices if d.state is not LinkState.UP)
        title = f"Devices ({len(status.devices)})" + (f" · {down} not up" if down else "")
        bar = self.device_tabs.tabBar()
        if bar.tabText(0) != title:
            bar.setTabText(0, title)
            bar.setTabTextColor(0, QColor(theme.STATE_COLOURS["down"] if down else theme.TEXT))
        found = f"On the network ({len(status.found)} found)"
        if bar.tabText(1) != found:
            bar.setTabText(1, found)

    def _show_header(self, status: LightingView) -> None:
        engine = status.engine
        if engine is None:
            self.live_label.setText("Lighting starting…")
            return
        if engine.blackout:
            text = "BLACKOUT"
        else:
            text = engine.live_look or "No look yet"
            if engine.live_cue is not None:
                cue = next((c for c in status.cues if c.number == engine.live_cue), None)
                text = f"Cue {engine.live_cue}{f' {cue.label}' if cue and cue.label else ''} — {text}"
            if self.working is not None and self.undo_stack.count() and self.undo_stack.index():
                text += " (nudged)"
        if engine.held:
            text += " · HELD"
        self.live_label.setText(text)
        following = next((c for c in status.cues if c.number == engine.next_cue), None)
        self.next_label.setText(f"next: {following.number} {following.label or following.look}"
                                if following else "next: —")
        fade = next((f for f in engine.fades if f.look is not None), None)
        self.progress.setValue(1000 if fade is None else round(fade.progress * 1000))
