"""The floor's remote in the window: its address in the status bar, and a QR code to open it on a phone.

The stage serves the DP's and the script supervisor's pages (``[web]`` in the stage file). The status
bar shows where (``Remote  http://10.0.0.2:8080/``); a click opens :class:`RemoteDialog`, a QR code of
that address as large as a phone's camera reads across a desk, every address when the stage listens on
all of the host's (pick one: the phone must be on that network), and a copy button. The passcode is
never shown here: it is in the stage file (or the environment) and is asked for by the login page.
"""

from __future__ import annotations

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from stagectl.stage.view import StageView
from ui import theme

#: Pixels per QR module: a version-2 code (a short URL) is ~300 px wide with its quiet zone.
QR_SCALE = 8


def qr_image(text: str, scale: int = QR_SCALE) -> QImage:
    """``text`` as a QR code (error correction M, the standard 4-module quiet zone), black on white:
    phone cameras read dark modules on a light ground, whatever the window's theme."""
    code = segno.make(text, error="m", micro=False)
    matrix = list(code.matrix_iter(scale=scale, border=4))
    size = len(matrix)
    image = QImage(size, size, QImage.Format.Format_Grayscale8)
    stride = image.bytesPerLine()
    buffer = bytearray(stride * size)
    for y, row in enumerate(matrix):
        start = y * stride
        buffer[start:start + size] = bytes(0 if dark else 255 for dark in row)
    return QImage(bytes(buffer), size, size, stride, QImage.Format.Format_Grayscale8).copy()


class RemoteDialog(QDialog):
    """A QR code of the remote's address (one of ``urls``), the address as text, and a copy button."""

    def __init__(self, urls: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Floor remote")
        self.urls = urls
        layout = QVBoxLayout(self)
        intro = QLabel("Open the DP's and the script supervisor's pages on a phone or tablet on the stage "
                       "network: point its camera at the code. The login page asks for the passcode of the "
                       "stage file's [web] table.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.choice = QComboBox(self)
        self.choice.addItems(list(urls))
        self.choice.setVisible(len(urls) > 1)  # listening on every address: the phone's network decides
        self.choice.setToolTip("The stage listens on several addresses: pick the one the phone's network "
                               "reaches")
        layout.addWidget(self.choice)
        self.code = QLabel(self)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.code)
        self.address = QLabel(self)
        self.address.setFont(theme.monospace(13, bold=True))
        self.address.setStyleSheet(f"color: {theme.ACCENT};")
        self.address.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.address)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy = QPushButton("Copy address", self)
        buttons.addButton(self.copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy.clicked.connect(self._copy)
        layout.addWidget(buttons)
        self.choice.currentTextChanged.connect(self._show)
        self._show(self.choice.currentText())

    @property
    def url(self) -> str:
        """The address the code shows."""
        return self.choice.currentText()

    def _show(self, url: str) -> None:
        if not url:
            return
        self.code.setPixmap(QPixmap.fromImage(qr_image(url)))
        self.address.setText(url)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.url)


class RemoteLink(QToolButton):
    """The status bar's "Remote" button: the remote's first address; hidden when the stage serves none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(f"QToolButton {{ color: {theme.ACCENT}; padding: 0 8px; }}")
        self.setToolTip("The floor's remote: click for a QR code to open it on a phone or tablet")
        self.urls: tuple[str, ...] = ()
        self.dialog: RemoteDialog | None = None
        self.clicked.connect(self.open_dialog)
        self.setVisible(False)

    def update_view(self, view: StageView) -> None:
        """Follow the stage: the remote's addresses (None: no ``[web]``, or its server is not running)."""
        urls = view.web or ()
        if urls == self.urls:
            return
        self.urls = urls
        self.setVisible(bool(urls))
        more = f" (+{len(urls) - 1})" if len(urls) > 1 else ""
        self.setText(f"Remote  {urls[0]}{more}" if urls else "")
        if self.dialog is not None and not urls:
            self.dialog.close()

    def open_dialog(self) -> None:
        """Show the QR code (non-modal: the operator keeps working while a phone reads it)."""
        if not self.urls:
            return
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = RemoteDialog(self.urls, self.window())
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.destroyed.connect(self._forget)
        self.dialog.show()

    def _forget(self) -> None:
        self.dialog = None
