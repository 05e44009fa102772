"""Global image motion per frame: phase correlation on a grid of tiles, the median shift.

Each frame is made grey and scaled to :data:`ANALYSIS_WIDTH` pixels wide; the picture is cut into a
grid of tiles (:data:`GRID`) and each tile phase-correlated (OpenCV, Hann window) with the same tile of
the frame before. A camera rotation moves every tile alike; an actor crossing the frame moves one or
two. The frame's motion is the median of the tiles whose correlation peak is clear, so a few
disagreeing tiles never pull it. The tiles' spread about the centre also gives the frame's scale
change (a zoom moves tiles outwards or inwards), which is how a zoom during the capture is refused even
without a solved lens.

Shifts are reported in pixels of the original frame (the analysis scale undone), positive x to the
right, positive y down: a camera panning left (positive pan) moves the scene right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["ANALYSIS_WIDTH", "GRID", "MIN_RESPONSE", "FrameMotion", "MotionTracker", "analysis_size",
           "thumbnail"]

#: Width (px) frames are scaled to before the analysis: enough for sub-pixel shifts, cheap at 1080p.
ANALYSIS_WIDTH = 320
#: Tiles across and down.
GRID = (4, 3)
#: A tile's phase-correlation peak must reach this to count (a flat or occluded tile stays below).
MIN_RESPONSE = 0.05
#: At least this many tiles must agree for a frame's motion to count.
MIN_TILES = 4

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class FrameMotion:
    """The motion between a frame and the one before it.

    Attributes:
        time_s: the frame's time (seconds, the caller's clock).
        dx_px, dy_px: the scene's shift in pixels of the original frame (NaN when too few tiles agreed).
        scale: the frame's scale change against the one before (0: none; 0.01: 1 % larger).
        tiles: how many tiles had a clear correlation peak.
        texture: mean gradient magnitude of the frame, grain smoothed away (grey levels per analysis px).
    """

    time_s: float
    dx_px: float
    dy_px: float
    scale: float
    tiles: int
    texture: float

    @property
    def valid(self) -> bool:
        """True when enough tiles agreed to give a shift."""
        return math.isfinite(self.dx_px) and math.isfinite(self.dy_px)


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """The analysis frame size for a ``width`` x ``height`` picture (never larger than the picture)."""
    if width <= ANALYSIS_WIDTH:
        return width, height
    return ANALYSIS_WIDTH, max(GRID[1] * 8, round(height * ANALYSIS_WIDTH / width))


def _grey(frame: Image) -> Image:
    if frame.ndim == 3 and frame.shape[2] == 3:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY), dtype=np.uint8)
    return frame


def thumbnail(frame: Image, width: int = 192) -> Image:
    """A small RGB copy of a BGR (or grey) frame for a preview."""
    h, w = frame.shape[:2]
    size = (width, max(1, round(h * width / max(w, 1))))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    code = cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB
    return np.asarray(cv2.cvtColor(small, code), dtype=np.uint8)


class MotionTracker:
    """Feed frames in order (:meth:`push`); each after the first gives its :class:`FrameMotion`.

    Not thread-safe; one per picture source. Cost at 1080p: a resize and 12 small FFTs per frame.
    """

    def __init__(self) -> None:
        self._size: tuple[int, int] | None = None
        self._factor = 1.0
        self._window: npt.NDArray[np.float32] | None = None
        self._whole_window: npt.NDArray[np.float32] | None = None
        self._frame: npt.NDArray[np.float32] | None = None
        self._tiles: list[tuple[slice, slice]] = []
        self._centres = np.zeros((0, 2))

    def _layout(self, width: int, height: int) -> None:
        aw, ah = analysis_size(width, height)
        self._size, self._factor = (aw, ah), width / aw
        cols, rows = GRID
        tw, th = aw // cols, ah // rows
        self._tiles = [(slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw))
                       for r in range(rows) for c in range(cols)]
        self._centres = np.array([((c + 0.5) * tw - aw / 2, (r + 0.5) * th - ah / 2)
                                  for r in range(rows) for c in range(cols)])
        self._window = np.asarray(cv2.createHanningWindow((tw, th), cv2.CV_32F), dtype=np.float32)
        self._whole_window = np.asarray(cv2.createHanningWindow((aw, ah), cv2.CV_32F), dtype=np.float32)

    def reset(self) -> None:
        """Forget the previous frame (a gap in the picture: the next frame starts afresh)."""
        self._frame = None

    def push(self, frame: Image, time_s: float) -> FrameMotion | None:
        """The motion from the previous frame to ``frame`` (a BGR or grey picture); None for the first."""
        h, w = frame.shape[:2]
        if self._size is None or self._factor != w / self._size[0]:
            self._layout(w, h)
            self._frame = None
        assert self._size is not None and self._window is not None and self._whole_window is not None
        grey = _grey(frame)
        if grey.shape[1] != self._size[0]:
            grey = np.asarray(cv2.resize(grey, self._size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        small = grey.astype(np.float32)
        # Texture is measured above the grain's scale: a blank wall under sensor noise is still flat.
        smooth = cv2.GaussianBlur(small, (0, 0), 1.5)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
        texture = float(np.mean(np.abs(gx)) + np.mean(np.abs(gy))) / 8.0
        previous, self._frame = self._frame, small
        if previous is None:
            return None
        # The whole frame first (to the nearest pixel), then each tile against the frame before moved by
        # that much: a tile's phase correlation is then unbiased, whatever the speed of the pan.
        (cx, cy), _ = cv2.phaseCorrelate(previous, small, self._whole_window)
        ix, iy = round(cx), round(cy)
        moved = cv2.warpAffine(previous, np.array([[1, 0, ix], [0, 1, iy]], dtype=np.float32), self._size,
                               borderMode=cv2.BORDER_REFLECT)
        shifts = np.full((len(self._tiles), 2), np.nan)
        for i, (rows, cols) in enumerate(self._tiles):
            (sx, sy), response = cv2.phaseCorrelate(np.ascontiguousarray(moved[rows, cols]),
                                                    np.ascontiguousarray(small[rows, cols]), self._window)
            if response >= MIN_RESPONSE:
                shifts[i] = (sx + ix, sy + iy)
        good = np.isfinite(shifts[:, 0])
        count = int(good.sum())
        if count < MIN_TILES:
            return FrameMotion(time_s, math.nan, math.nan, 0.0, count, texture)
        shift = np.median(shifts[good], axis=0)
        # Tiles that moved with the median (within 1 px) give the scale: residual . centre / |centre|^2.
        near = good & (np.abs(shifts - shift).max(axis=1) <= 1.0)
        centres, residual = self._centres[near], shifts[near] - shift
        # Least squares over the tiles: a rotation's perspective (edges moving faster) cancels between
        # opposite tiles, a zoom's outward motion adds up.
        spread = float((centres ** 2).sum())
        scale = float((residual * centres).sum()) / spread if near.sum() >= MIN_TILES and spread > 0 else 0.0
        factor = self._factor
        return FrameMotion(time_s, float(shift[0]) * factor, float(shift[1]) * factor, scale, count, texture)
