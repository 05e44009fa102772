"""Which store the Takes dock shows: this stage's takes folder, or the facility's PostgreSQL store.

A mixin of :class:`~ui.panels.takes_browser.TakesBrowser`: it uses the browser's table, labels, buttons and
``refresh``; kept apart so the browser stays about its table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QLabel, QPushButton, QTableWidget

from stagectl.config.facility import redacted, url_problem
from ui import theme

if TYPE_CHECKING:
    from stagectl.stage.commands import StageCommands
    from ui.panels.take_list import TakeRow


class StoreSource:
    """The "Facility store…" / "This stage" choice of the Takes dock (see the module docstring)."""

    folder: Path
    commands: StageCommands | None
    store_url: str | None
    store_dialog: QInputDialog | None
    rows: list[TakeRow]
    error: str
    table: QTableWidget
    source_label: QLabel
    export_button: QPushButton
    conform_button: QPushButton
    local_button: QPushButton
    _facility_default: str

    def refresh(self) -> None:  # the browser's
        raise NotImplementedError

    def _on_failed(self, exc: object) -> None:  # the browser's
        raise NotImplementedError

    # --- which store -------------------------------------------------------------------------------

    def ask_store(self) -> None:
        """Ask for the facility store's URL (offering the stage's own ``[facility]`` database), show it."""
        dialog = QInputDialog(self)  # type: ignore[arg-type]  # the mixin is always a TakesBrowser (a QWidget)
        dialog.setWindowTitle("Open facility store")
        dialog.setLabelText("PostgreSQL URL of the facility store (no password in it: libpq reads\n"
                            "PGPASSWORD or ~/.pgpass), e.g. postgresql://stagectl@db.facility/stagectl")
        dialog.setTextValue(self.store_url or self._facility_default)
        dialog.resize(560, dialog.sizeHint().height())
        dialog.textValueSelected.connect(lambda text: self.open_store(text.strip() or None))
        self.store_dialog = dialog
        dialog.open()

    def open_store(self, url: str | None) -> bool:
        """Show the facility store at ``url`` (read only), or this stage's folder (None); False when the
        URL is refused (the reason is shown, the list stays as it was)."""
        if url is not None:
            problem = url_problem(url)
            if problem is not None:
                self._on_failed(f"facility store {redacted(url)}: the URL {problem}")
                return False
        self.store_url = url
        self.rows = []
        self.table.setRowCount(0)
        self.error = ""
        self._show_source()
        self.refresh()
        return True

    def _show_source(self) -> None:
        """The line saying which store the table shows; the stage's own actions only for its own takes."""
        local = self.store_url is None
        if local:
            self.source_label.setText(f"This stage's takes · {self.folder}")
            self.source_label.setStyleSheet(f"color: {theme.DIM_TEXT};")
        else:
            self.source_label.setText(f"Facility store · {redacted(self.store_url or '')} · every stage, "
                                      "read only")
            self.source_label.setStyleSheet(f"color: {theme.ACCENT}; font-weight: bold;")
        self.export_button.setVisible(self.commands is not None and local)
        self.conform_button.setVisible(self.commands is not None and local)
        self.local_button.setVisible(not local)
