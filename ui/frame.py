"""One repaint of the window per view.

Qt repaints a window in one pass (a backing-store sync) for everything marked dirty since the last one. A
``QGraphicsScene`` (every pyqtgraph plot has one) breaks that: it gathers its items' changes in a queued
call and, once it has told its views, dispatches the window's pending repaint at once. So a view that
touches three plots costs three repaints of the window, each redrawing whatever else was dirty by then
(labels, tables, the other plots). :class:`RepaintHold` holds the window's repaints while a view is
applied, hands every scene its changes then (and pyqtgraph its deferred range and transform work, which
it would otherwise do inside the paint and so ask for one more), and lets one repaint through for all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget


class RepaintHold(QObject):
    """Counts the repaints of ``window`` and folds those asked for while a view is applied into one.

    Attributes:
        repaints: repaints of the window (backing-store syncs) so far.
        held: repaints asked for while a view was applied and folded into the one that follows it.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._holding = False
        self._owed = False
        self._scenes: list[QGraphicsScene] = []
        self.repaints = 0
        self.held = 0
        window.installEventFilter(self)

    def find_scenes(self) -> None:
        """Collect the scenes of every graphics view in the window (call once its panels are built)."""
        scenes = {id(v.scene()): v.scene() for v in self._window.findChildren(QGraphicsView) if v.scene()}
        self._scenes = list(scenes.values())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Swallow the window's repaint requests while holding (one is owed), count those let through."""
        if watched is self._window and event.type() == QEvent.Type.UpdateRequest:
            if self._holding:
                self._owed = True
                self.held += 1
                return True
            self.repaints += 1
        return False

    @contextmanager
    def one_repaint(self) -> Iterator[None]:
        """Apply a view inside this: whatever it changes reaches the screen in one repaint, after it."""
        if self._holding:  # nested (a dock catching up inside a view): the outer hold covers it
            yield
            return
        self._holding = True
        try:
            yield
            for scene in self._scenes:
                prepare = getattr(scene, "prepareForPaint", None)  # pyqtgraph: ranges, transforms
                if prepare is not None:
                    prepare()
                # The scene's queued change handling, now: its views are marked dirty, its repaint held.
                QCoreApplication.sendPostedEvents(scene, QEvent.Type.MetaCall)
        finally:
            self._holding = False
            if self._owed:
                self._owed = False
                QCoreApplication.postEvent(self._window, QEvent(QEvent.Type.UpdateRequest),
                                           Qt.EventPriority.LowEventPriority.value)
