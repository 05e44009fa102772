"""Add a device by address: the Lighting dock's "Add device…" dialog (kind, URL, name, zone), checked as the
stage file checker would before anything is sent to the stage."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from stagectl.config.model import DeviceConfig
from stagectl.core.errors import ConfigError
from stagectl.discovery.mdns import KINDS
from stagectl.discovery.stage import check_device_config
from ui import theme

NO_ZONE = "(no zone)"
KIND_LABELS = {"tessera": "Brompton Tessera", "helios": "Megapixel HELIOS", "osc": "OSC device",
               "sacn": "sACN (DMX) fixtures", "stagectl": "stagectl control"}
EDIT_STAGE_FILE = ("{label}s need their {what} listed: add a [[devices]] table to the stage file "
                   "(docs/stage-file.md) and reload the stage.")
_NEEDS = {"osc": "features (OSC addresses)", "sacn": "fixtures (profile, universe, address)"}


def error_style(label: QLabel) -> None:
    """Red, wrapped: how a problem reads under the fields."""
    label.setStyleSheet(f"color: {theme.STATE_COLOURS['down']};")
    label.setWordWrap(True)


class AddDeviceDialog(QDialog):
    """Add a Tessera or HELIOS by address: kind, URL, name, zone, and a login (user, and the environment
    variable holding the password) for a processor that asks for one; problems shown under the fields.

    ``taken``: names already used (refused here rather than on the loop). After ``accept``,
    :attr:`config` is the checked device.
    """

    def __init__(self, taken: Sequence[str], zones: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add device")
        self.taken = set(taken)
        self.config: DeviceConfig | None = None
        self.kind_combo = QComboBox()
        for kind in ("tessera", "helios", "osc", "sacn"):
            self.kind_combo.addItem(KIND_LABELS[kind], kind)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://10.0.0.50")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. wall-left (letters, digits, - _ .)")
        self.username_edit = QLineEdit()
        self.username_edit.setPlaceholderText("only when the processor asks for a login")
        self.password_env_edit = QLineEdit()
        self.password_env_edit.setPlaceholderText("environment variable holding the password")
        self.password_env_edit.setToolTip("The name of an environment variable of the stagectl process, e.g. "
                                          "WALL_PASSWORD; the password itself is never typed or stored here")
        self.zone_combo = QComboBox()
        self.zone_combo.setEditable(True)
        self.zone_combo.addItems([NO_ZONE, *zones])
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.DIM_TEXT};")
        self.error_label = QLabel("")
        error_style(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add")
        form = QFormLayout()
        form.addRow("Kind", self.kind_combo)
        form.addRow("URL", self.url_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("Zone", self.zone_combo)
        form.addRow("User", self.username_edit)
        form.addRow("Password from", self.password_env_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        for edit in (self.url_edit, self.name_edit):
            edit.textEdited.connect(lambda _text: self._mark(None, ""))
        self._kind_changed()
        self.setMinimumWidth(440)

    def kind(self) -> str:
        """The chosen kind (tessera, helios, osc, sacn)."""
        return str(self.kind_combo.currentData())

    def _kind_changed(self) -> None:
        kind = self.kind()
        drivable = kind in KINDS
        for widget in (self.url_edit, self.name_edit, self.zone_combo, self.ok_button, self.username_edit,
                       self.password_env_edit):
            widget.setEnabled(drivable)
        hint = "" if drivable else EDIT_STAGE_FILE.format(label=KIND_LABELS[kind], what=_NEEDS[kind])
        self.note.setText(hint)
        self._mark(None, "")

    def _mark(self, key: str | None, message: str) -> None:
        self.error_label.setText(message)
        bad = f"border: 1px solid {theme.STATE_COLOURS['down']};"
        self.url_edit.setStyleSheet(bad if key == "url" else "")
        self.name_edit.setStyleSheet(bad if key == "name" else "")
        self.zone_combo.setStyleSheet(bad if key == "zone" else "")
        self.username_edit.setStyleSheet(bad if key == "username" else "")
        self.password_env_edit.setStyleSheet(bad if key == "password_env" else "")

    def _url(self) -> str:
        """The URL as typed; a bare address (``10.0.0.50``, ``10.0.0.50:8080``) gets ``http://``."""
        text = self.url_edit.text().strip()
        return text if "://" in text or not text else f"http://{text}"

    def try_accept(self) -> None:
        """Check the fields; accept with :attr:`config`, or say what is wrong and stay open."""
        zone = self.zone_combo.currentText().strip()
        name = self.name_edit.text().strip()
        if not self.url_edit.text().strip():
            self._mark("url", "Enter the processor's address, e.g. http://10.0.0.50")
            return
        try:
            config = check_device_config(DeviceConfig(
                self.kind(), name, url=self._url(), zone=None if zone in ("", NO_ZONE) else zone,
                username=self.username_edit.text().strip() or None,
                password_env=self.password_env_edit.text().strip() or None))
        except ConfigError as exc:
            self._mark(exc.key, f"{exc.key}: {exc.detail}" if exc.key else exc.detail)
            return
        if config.name in self.taken:
            self._mark("name", f"name: a device named {config.name!r} exists; choose another name")
            return
        self.config = config
        self.accept()
