"""Rolling time plots for camera channels, fed from a camera's recent samples in each view, and what
makes a plot cheap to redraw thirty or sixty times a second."""

from __future__ import annotations

import math
import weakref

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene

from stagectl.stage.view import HISTORY_S
from ui import theme
from ui.peaks import PeakBins

#: Height (px) kept for a bottom axis's tick labels: fixed, so new labels never re-layout the plot.
TICK_TEXT_HEIGHT = 18
#: A time plot draws its samples in about this many bins per pixel of the plot's width, each bin's lowest
#: and highest (see :mod:`ui.peaks`: spikes stay in sight): two points per bin, so one per pixel column.
SAMPLES_PER_PIXEL = 0.5


class LiveCurve(QGraphicsPathItem):
    """A curve that changes every frame, drawn and measured by Qt alone: a path through the points it is
    given, with a hairline pen (one device pixel at any zoom).

    pyqtgraph's curve items run Python to measure their bounds and to paint, at every change and every
    repaint; this one runs Python once per :meth:`setData` (to build the path from the arrays).
    """

    def __init__(self, colour: str) -> None:
        super().__init__()
        pen = theme.curve_pen(colour)
        pen.setWidth(0)  # a hairline: its bounds and shape are the path's own (no stroke to compute)
        self.setPen(pen)
        self._x: npt.NDArray[np.float64] = np.empty(0)
        self._y: npt.NDArray[np.float64] = np.empty(0)

    def setData(self, x: npt.ArrayLike, y: npt.ArrayLike) -> None:
        """Draw through the points (x, y); points that are not finite break the line."""
        self._x, self._y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if not len(self._x):
            self.setPath(QPainterPath())
            return
        finite = bool(np.isfinite(self._y).all() and np.isfinite(self._x).all())
        self.setPath(pg.arrayToQPath(self._x, self._y, connect="all" if finite else "finite",
                                     finiteCheck=not finite))

    def getData(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The points drawn: (x, y)."""
        return self._x, self._y


class SteadyAxis(pg.AxisItem):  # type: ignore[misc]
    """An axis that measures itself once per change of its or its view's geometry.

    Qt asks an item for its bounds several times at every repaint; pyqtgraph's axis works them out in
    Python each time (with its grid on, from its view's bounds too): about 25 calls a view for the time
    plots. The bounds change only when the axis or its view is moved or resized, or when pyqtgraph says
    so (``prepareGeometryChange``: grid, style, font), so that is when they are measured again.
    """

    def __init__(self, orientation: str, **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self._bounds: QRectF | None = None
        self.geometryChanged.connect(self._forget)

    def _forget(self) -> None:
        self._bounds = None

    def prepareGeometryChange(self) -> None:
        """Qt takes the old bounds first (still the kept ones); they are measured again next time."""
        super().prepareGeometryChange()
        self._bounds = None

    def linkToView(self, view: pg.ViewBox) -> None:
        """Follow ``view``: its geometry is part of this axis's bounds while the grid is on."""
        super().linkToView(view)
        view.geometryChanged.connect(self._forget)
        self._bounds = None

    def boundingRect(self) -> QRectF:
        """The axis's bounds (with the grid on, its view's too), measured once per change."""
        if self._bounds is None:
            self._bounds = super().boundingRect()
        return QRectF(self._bounds)


def steady_axes() -> dict[str, pg.AxisItem]:
    """The left and bottom axes of a new plot (``axisItems``), which Qt can measure without running Python
    (see SteadyAxis). The top and right ones stay pyqtgraph's own, hidden as a plot has them."""
    return {name: SteadyAxis(name) for name in ("left", "bottom")}


class PlotGrid:
    """A plot's grid lines at its left and bottom axes' ticks, drawn into its view's cached background.

    pyqtgraph draws a grid as its axes' ticks reaching across the view, with alpha: each axis is then as
    large as the view, and, kept as a pixmap so that its text is not laid out again, one more full-size
    translucent pixmap to blend at every repaint of a curve. Drawn afresh, the two hundred lines of three
    time plots cost a quarter of their repaint; as a pixmap of their own, a sixth. Here every level of ticks
    is one hairline path in an opaque colour, the one pyqtgraph's translucent line makes over the plots'
    background (same levels, same alpha per level), drawn into the background the view keeps as a pixmap
    (``QGraphicsView.CacheBackground``, on in pyqtgraph) when the plot's range, size or place changes: a
    repaint copies that background as it would anyway, and the grid costs nothing more.

    Attributes:
        levels: (path in the plot's coordinates, colour) per axis and tick level, bottom axis first.
    """

    def __init__(self, plot: pg.PlotItem, view: pg.GraphicsView, alpha: float) -> None:
        self.plot = plot
        self.alpha = alpha
        self.levels: list[tuple[QPainterPath, QColor]] = []
        # The view keeps its grids; a grid only points back at it, weakly: a cycle between the two would leave
        # the view's deletion to the garbage collector, at any later moment, with Qt's timers still on it.
        self._graphics: weakref.ref[pg.GraphicsView] = weakref.ref(view)
        self._view: pg.ViewBox = plot.getViewBox()
        view.grids.append(self)
        self._view.sigRangeChanged.connect(self.refresh)
        self._view.geometryChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Make the lines again for the plot's range, size and place (when one of them changes)."""
        graphics = self._graphics()
        if graphics is None or not shiboken6.isValid(graphics) or not shiboken6.isValid(self._view):
            return  # the view is going away
        (x0, x1), (y0, y1) = self._view.viewRange()
        width, height = float(self._view.width()), float(self._view.height())
        background = pg.mkColor(pg.getConfigOption("background"))
        levels: list[tuple[QPainterPath, QColor]] = []
        for name, low, high, size in (("bottom", x0, x1, width), ("left", y0, y1, height)):
            axis = self.plot.getAxis(name)
            if size <= 0 or not axis.isVisible() or high <= low:
                continue
            for level, (_spacing, ticks) in enumerate(axis.tickValues(low, high, size)):
                path = QPainterPath()
                for tick in ticks:  # across the whole view: upright for the bottom axis, level for the left
                    upright = name == "bottom"
                    path.moveTo(tick if upright else x0, y0 if upright else tick)
                    path.lineTo(tick if upright else x1, y1 if upright else tick)
                # pyqtgraph's alpha for this level of grid lines (AxisItem.generateDrawSpecs)
                share = self.alpha / (level + 1) * min(max(0.05 * size / (len(ticks) + 1), 0.0), 1.0)
                levels.append((path, _blend(background, axis.pen().color(), share)))
        self.levels = levels
        graphics.resetCachedContent()  # the background is drawn again at the next repaint
        graphics.viewport().update()

    def draw(self, painter: QPainter) -> None:
        """Draw the lines with ``painter`` in scene coordinates, inside the plot's view."""
        if not self.levels or not self._view.isVisible():
            return
        painter.save()
        painter.setClipRect(self._view.sceneBoundingRect())
        painter.setTransform(self._view.childGroup.sceneTransform(), combine=True)
        for path, colour in self.levels:
            pen = QPen(colour, 0)  # a hairline: one device pixel
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPath(path)
        painter.restore()


class GridView:
    """What a pyqtgraph view needs to draw its plots' :class:`PlotGrid` into its cached background: use
    :class:`GridLayoutWidget` or :class:`GridPlotWidget` where a plot has a grid."""

    grids: list[PlotGrid]

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        """The view's background, then every grid (Qt calls this when its background cache is made)."""
        super().drawBackground(painter, rect)  # type: ignore[misc]
        for grid in self.grids:
            grid.draw(painter)


class GridLayoutWidget(GridView, pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """pyqtgraph's ``GraphicsLayoutWidget`` whose plots' grids are part of its background (see PlotGrid)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.grids = []


class GridPlotWidget(GridView, pg.PlotWidget):  # type: ignore[misc]
    """pyqtgraph's ``PlotWidget`` whose plot's grid is part of its background (see PlotGrid)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.grids = []


def _blend(a: QColor, b: QColor, share: float) -> QColor:
    """``b`` drawn over ``a`` with opacity ``share``, as one opaque colour."""
    return QColor.fromRgbF(*(a_c + (b_c - a_c) * share for a_c, b_c in
                             ((a.redF(), b.redF()), (a.greenF(), b.greenF()), (a.blueF(), b.blueF()))))


#: A plot title's type size; its row is as tall as its lines (pyqtgraph gives every title 30 px, which on a
#: laptop's screen is a third of a time plot).
TITLE_SIZE = "9pt"
#: Pixels a title's row keeps free below its text, and its text's margin (Qt's default is 4 on each side).
TITLE_GAP = 2
TITLE_MARGIN = 1


def set_title(plot: pg.PlotItem, html: str) -> None:
    """Title ``plot`` with ``html`` (:data:`TITLE_SIZE`) in a row as tall as the title's lines."""
    label = plot.titleLabel
    label.item.document().setDocumentMargin(TITLE_MARGIN)
    if label.isVisible():  # a new text: no return to pyqtgraph's 30 px (and its re-layout) in between
        label.setText(html, size=TITLE_SIZE)
    else:
        plot.setTitle(html, size=TITLE_SIZE)
    height = math.ceil(label.item.boundingRect().height()) + TITLE_GAP
    if label.maximumHeight() != height:
        label.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)


def show_grid(plot: pg.PlotItem, alpha: float = 0.15) -> PlotGrid:
    """Grid lines for ``plot`` (see :class:`PlotGrid`), in place of pyqtgraph's ``showGrid``; the plot must be
    in a :class:`GridLayoutWidget` or a :class:`GridPlotWidget`."""
    views = plot.scene().views() if plot.scene() is not None else []
    if not views or not isinstance(views[0], GridView):
        raise TypeError("a plot with a grid belongs in a GridLayoutWidget or a GridPlotWidget")
    for name in ("left", "bottom"):  # the lines reach the axes: no tick marks over them (as pyqtgraph's grid)
        plot.getAxis(name).setStyle(tickLength=0)
    return PlotGrid(plot, views[0], alpha)


def steady(plot: pg.PlotItem, left_width: int | None = None) -> None:
    """Make ``plot`` cheap to repaint: axes of fixed size (new tick labels never re-layout the plot) drawn
    once per change into a pixmap (not replayed at every repaint), and the title likewise."""
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        if name in ("left", "right"):
            if left_width is not None and name == "left":
                axis.setWidth(left_width)
        else:
            axis.setStyle(autoExpandTextSpace=False, tickTextHeight=TICK_TEXT_HEIGHT)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    scene = plot.scene()
    if scene is not None:
        # A few dozen items, some changing every frame: a search tree of them costs more to keep than
        # looking through them all.
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)


#: When the y range follows the data, a new range leaves this share of it free (half above, half below) ...
Y_HEADROOM = 0.35
#: ... and is kept while all the data is inside it and fills at least this share of it: the axis (its
#: ticks, labels and grid) is redrawn when the data has moved, not at every frame.
Y_MIN_FILL = 0.35
#: The least y span drawn (in the plot's units, and as a share of the values' size): a still camera
#: shows a flat line, not its noise blown up.
Y_MIN_SPAN = 1e-3


def follow_range(current: tuple[float, float], low: float, high: float) -> tuple[float, float] | None:
    """A new y range for data spanning ``low``..``high`` when ``current`` no longer suits it, else None."""
    span = max(high - low, Y_MIN_SPAN * max(1.0, abs(low), abs(high)))
    y0, y1 = current
    if y0 <= low and high <= y1 and span >= Y_MIN_FILL * (y1 - y0):
        return None
    middle, half = (low + high) / 2.0, span / (1.0 - Y_HEADROOM) / 2.0
    return middle - half, middle + half


class TimePlot:
    """A pyqtgraph plot of several history columns against time (seconds before now).

    ``channels`` is a list of (label, column index in :data:`stagectl.stage.view.HISTORY_COLUMNS`, colour,
    scale).

    Attributes:
        updates: how many times data was drawn.
        following: the y range follows the data (False once the operator zoomed it).
        peaks: thins the rows :meth:`update` draws to the plot's bins.
    """

    def __init__(self, plot: pg.PlotItem, title: str, unit: str,
                 channels: list[tuple[str, int, str, float]]) -> None:
        self.plot = plot
        self.channels = channels
        # The legend is the title row: channel names in their curves' colours, never over the data.
        entries = [(label, colour) for label, _col, colour, _scale in channels]
        set_title(plot, theme.legend_title(title, entries))
        plot.setLabel("left", units=unit)
        plot.setXRange(-HISTORY_S, 0.0, padding=0.0)
        self.grid = show_grid(plot, alpha=0.15)
        plot.setMouseEnabled(x=False, y=True)
        # The y range follows the data here (see follow_range), not in pyqtgraph's auto range, which fits
        # every frame; zooming with the mouse stops following, the plot's "A" button follows again.
        plot.enableAutoRange(axis="y")
        steady(plot, left_width=52)
        self.following = True
        # Curves fed already thinned (see ui.peaks): pyqtgraph's own clipping and downsampling per curve would
        # look at every sample of every curve again, and its bounds at every one of them.
        self.curves = [LiveCurve(colour) for _label, _col, colour, _scale in channels]
        for curve in self.curves:
            plot.addItem(curve)
        self.columns = [col for _label, col, _colour, _scale in channels]
        self._scales = np.array([[scale] for _label, _col, _colour, scale in channels])
        self._scaled = bool(np.any(self._scales != 1.0))
        plot.getViewBox().sigRangeChangedManually.connect(self._zoomed)
        self.updates = 0
        self.peaks = PeakBins(HISTORY_S)

    def update(self, rows: npt.NDArray[np.float64], now_s: float) -> None:
        """Redraw from history rows (see :data:`stagectl.stage.view.HISTORY_COLUMNS`)."""
        if rows.size == 0:
            for curve in self.curves:
                curve.setData([], [])
            return
        times, values = self.peaks(rows, self.columns, self.bins())
        self.show(times - now_s, values)

    def bins(self) -> int:
        """How many bins of samples the plot's width draws (see :mod:`ui.peaks`)."""
        return max(1, round(float(self.plot.getViewBox().width()) * SAMPLES_PER_PIXEL))

    def show(self, t: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> None:
        """Draw ``values`` (a row per channel, unscaled, from :class:`~ui.peaks.PeakBins`) against ``t``
        (s, 0 is now)."""
        if self._scaled:
            values = values * self._scales
        for curve, line in zip(self.curves, values, strict=True):
            curve.setData(t, line)
        self._follow(values)
        self.updates += 1

    def _zoomed(self) -> None:
        self.following = False

    def _follow(self, values: npt.NDArray[np.float64]) -> None:
        view = self.plot.getViewBox()
        if view.autoRangeEnabled()[1] is not False:  # the first frame, or the operator clicked "A"
            view.enableAutoRange(axis="y", enable=False)
            self.following = True
        if not self.following:
            return
        low, high = np.nanmin(values, initial=np.inf), np.nanmax(values, initial=-np.inf)
        if not (np.isfinite(low) and np.isfinite(high)):
            return
        wanted = follow_range(tuple(view.viewRange()[1]), float(low), float(high))
        if wanted is not None:
            view.setYRange(*wanted, padding=0.0)
