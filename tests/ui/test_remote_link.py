"""The floor's remote in the window: its address in the status bar, and a QR code that a reader someone
else wrote (OpenCV's QR detector) decodes to that address."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from stagectl.stage.view import StageView
from ui.panels.remote_link import RemoteDialog, RemoteLink, qr_image


def _view(web: tuple[str, ...] | None) -> StageView:
    return StageView(1, "test", "00:00:00:00", "25", 25.0, 0, (), (), web=web)


def _decode(image: QImage) -> str:
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = gray.width(), gray.height(), gray.bytesPerLine()
    pixels = np.frombuffer(gray.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    text, _points, _code = cv2.QRCodeDetector().detectAndDecode(np.ascontiguousarray(pixels[:, :width]))
    return str(text)


def test_the_qr_code_reads_back_as_the_address() -> None:
    for url in ("http://127.0.0.1:8080/", "https://10.20.30.40:8443/", "http://stage-3.local:8080/"):
        assert _decode(qr_image(url)) == url


def test_the_status_bar_link_follows_the_stage(qtbot: QtBot) -> None:
    link = RemoteLink()
    qtbot.addWidget(link)
    link.update_view(_view(None))
    assert link.isHidden() and link.text() == ""
    link.update_view(_view(("http://10.0.0.2:8080/",)))
    assert not link.isHidden() and link.text() == "Remote  http://10.0.0.2:8080/"
    link.update_view(_view(("http://10.0.0.2:8080/", "http://192.168.1.5:8080/")))
    assert link.text() == "Remote  http://10.0.0.2:8080/ (+1)"
    link.open_dialog()
    assert link.dialog is not None and link.dialog.isVisible()
    link.update_view(_view(None))  # the server stopped: no code for an address that does not answer
    assert link.isHidden()
    qtbot.waitUntil(lambda: link.dialog is None)


def test_the_dialog_shows_the_chosen_address(qtbot: QtBot) -> None:
    urls = ("http://10.0.0.2:8080/", "http://192.168.1.5:8080/")
    dialog = RemoteDialog(urls)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.choice.isHidden() and dialog.address.text() == urls[0]
    pixmap = dialog.code.pixmap()
    assert _decode(pixmap.toImage()) == urls[0]
    dialog.choice.setCurrentIndex(1)
    assert dialog.address.text() == urls[1] and _decode(dialog.code.pixmap().toImage()) == urls[1]
    one = RemoteDialog(urls[:1])
    qtbot.addWidget(one)
    assert one.choice.isHidden()  # one address: nothing to choose
