"""The column-wise text machinery the text exporters (CSV, .chan, OpenTrackIO JSON lines) share.

Numbers are turned into text a column at a time with integer arithmetic in numpy and the rows
assembled by one boolean mask over a byte matrix (:func:`join_rows`), 16k rows per chunk; Python's
``%`` formatting would take ~10 s for an hour at 240 Hz. Also: atomic file writes, per-camera file
names, throttled progress reports and vectorised timecode labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from stagectl.core.atomic import atomic_write
from stagectl.core.timecode import FrameRate
from stagectl.core.timecode.columns import timecode_fields
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import TakeData

Progress = Callable[[float], None]
Bytes2D = npt.NDArray[np.uint8]
Mask2D = npt.NDArray[np.bool_]
CHUNK_ROWS = 16384
_ZERO = ord("0")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_FIXED_LIMIT = 1e12  # above this a fixed-point value is written in scientific notation


# --- files ---------------------------------------------------------------------------------------

def camera_path(take: TakeData, camera: str, out_dir: Path, extension: str) -> Path:
    """``out_dir/<take name>_<camera>.<extension>``, the per-camera file name every format uses
    (``out_dir/<file stem>.<extension>`` when the take names one: :attr:`TakeInfo.file_stem`)."""
    if take.info.file_stem:
        return out_dir / f"{take.info.file_stem}.{extension}"
    return out_dir / f"{take.info.name}_{camera}.{extension}"


def write_atomically(path: Path, chunks: Iterable[bytes]) -> Path:
    """Write ``chunks`` to ``path`` atomically (:func:`~stagectl.core.atomic.atomic_write`: a temporary file
    in the same folder, fsync'ed, then renamed): a failed export never leaves a half file under the real name,
    and an old file of that name stays as it was. Raises :class:`ExportError` on an OS error; any other
    error (a formatter's) propagates unchanged."""

    def write(out: BinaryIO) -> None:
        for chunk in chunks:
            out.write(chunk)

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise ExportError(f"{path}: could not write the export: {exc.strerror or exc}; check that the folder "
                          "exists, is writable and has space") from exc
    return path


def chunk_bounds(n: int, rows: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive row chunks covering 0..n."""
    for start in range(0, n, rows):
        yield start, min(n, start + rows)


class ProgressReport:
    """Hands an exporter's ``progress`` callback (may be None) the fraction done, at most every 1 %
    (a dialog's bar gets ~100 calls, however many chunks and cameras), and 1.0 at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._total = max(1, total)
        self._done = 0
        self._reported = 0.0

    def add(self, count: int) -> None:
        """``count`` more units (samples, cameras) are done."""
        self._done += count
        fraction = min(1.0, self._done / self._total)
        if self._progress is not None and fraction - self._reported >= 0.01:
            self._reported = fraction
            self._progress(fraction)

    def finish(self) -> None:
        """Everything is done: report 1.0 (once)."""
        if self._progress is not None and self._reported < 1.0:
            self._reported = 1.0
            self._progress(1.0)


# --- text columns ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Text:
    """One text column of n rows: ``chars`` (n, width) bytes, of which the ``shown`` ones are written.

    ``same`` marks a column that writes the same text on every row (a literal, a constant lens
    value): :func:`join_rows` copies one row of it instead of masking n rows.
    """

    chars: Bytes2D
    shown: Mask2D
    same: bool = False

    def only(self, rows: npt.NDArray[np.bool_]) -> Text:
        """This column shown only in ``rows`` (others write nothing)."""
        if rows.all():
            return self
        if not rows.any():
            return _repeat(b"", rows.size)
        return Text(self.chars, self.shown & rows[:, None])

    def first_row(self) -> bytes:
        """The text of row 0."""
        return bytes(self.chars[0][self.shown[0]].tobytes())


def _repeat(text: bytes, n: int) -> Text:
    raw = np.frombuffer(text, dtype=np.uint8)
    return Text(np.broadcast_to(raw, (n, raw.size)), np.broadcast_to(np.True_, (n, raw.size)), True)


def join_rows(columns: list[Text]) -> bytes:
    """The rows of ``columns`` side by side, shown characters only, as one byte string."""
    n = columns[0].chars.shape[0] if columns else 0
    if n == 0:
        return b""
    merged: list[Text] = []
    run: list[bytes] = []
    for column in columns:
        if column.same:
            run.append(column.first_row())
            continue
        if run:
            merged.append(_repeat(b"".join(run), n))
            run = []
        merged.append(column)
    if not merged:
        return b"".join(run) * n
    if run:
        merged.append(_repeat(b"".join(run), n))
    whole = _stack(merged)
    return bytes(whole.chars[whole.shown].tobytes())


def literal(text: str, n: int, rows: npt.NDArray[np.bool_] | None = None) -> Text:
    """``text`` on every row (or only on ``rows``)."""
    whole = _repeat(text.encode(), n)
    return whole if rows is None else whole.only(rows)


def _digits(values: npt.NDArray[np.int64], width: int) -> Bytes2D:
    """The last ``width`` decimal digits of non-negative ints, most significant first."""
    out = np.empty((values.size, width), dtype=np.uint8)
    rest = values.copy()
    for col in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, col] = digit + _ZERO
    return out


def _digit_count(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Decimal digits of non-negative ints (1 for 0)."""
    count = np.ones(values.size, dtype=np.int64)
    top = int(values.max()) if values.size else 0
    power = 10
    while power <= top:
        count += values >= power
        power *= 10
    return count


def _sign_and_magnitude(negative: npt.NDArray[np.bool_], magnitude: npt.NDArray[np.int64],
                        shown: npt.NDArray[np.bool_]) -> Text:
    """``-`` (on negative shown rows) followed by the magnitude without leading zeros."""
    width = int(_digit_count(magnitude).max()) if magnitude.size else 1
    digits = _digits(magnitude, width)
    keep = np.arange(width)[None, :] >= (width - _digit_count(magnitude))[:, None]
    sign = np.full((magnitude.size, 1), ord("-"), dtype=np.uint8)
    return Text(np.concatenate([sign, digits], axis=1),
                np.concatenate([(negative & shown)[:, None], keep & shown[:, None]], axis=1))


def integers(values: npt.ArrayLike, shown: npt.NDArray[np.bool_] | None = None) -> Text:
    """Whole numbers (int64, exact), written only where ``shown`` (default: everywhere)."""
    ints = np.asarray(values, dtype=np.int64)
    show = np.ones(ints.size, dtype=np.bool_) if shown is None else shown
    return _sign_and_magnitude(ints < 0, np.abs(ints), show)


def _stack(parts: list[Text]) -> Text:
    """Columns side by side as one column."""
    return Text(np.concatenate([p.chars for p in parts], axis=1),
                np.concatenate([p.shown for p in parts], axis=1), all(p.same for p in parts))


def _shortcut(floats: npt.NDArray[np.float64], form: Callable[[npt.NDArray[np.float64]], Text]
              ) -> Text | None:
    """A column with nothing finite (nothing to write) or one repeated value (lens columns of a prime
    lens: formatted once); None for any other column."""
    n = floats.size
    if n < 2:
        return None
    if not np.isfinite(floats).any():
        return _repeat(b"", n)
    if floats[0] != floats[-1] or not np.all(floats == floats[0]):
        return None
    one = form(floats[:1])
    width = one.chars.shape[1]
    return Text(np.broadcast_to(one.chars, (n, width)), np.broadcast_to(one.shown, (n, width)), True)


def fixed(values: npt.ArrayLike, decimals: int) -> Text:
    """Floats rounded to ``decimals`` places, trailing zeros (and a bare point) dropped, no ``-0``.
    Non-finite values write nothing; magnitudes of 1e12 and more are written as :func:`scientific`."""
    floats = np.asarray(values, dtype=np.float64)
    same = _shortcut(floats, lambda one: fixed(one, decimals))
    if same is not None:
        return same
    finite = np.isfinite(floats)
    magnitude = np.abs(np.where(finite, floats, 0.0))
    big = magnitude >= _FIXED_LIMIT
    scale = 10 ** decimals
    scaled = np.rint(np.where(big, 0.0, magnitude) * scale).astype(np.int64)
    whole, fraction = np.divmod(scaled, scale)
    show = finite & ~big
    head = _sign_and_magnitude((floats < 0) & (scaled > 0), whole, show)
    trailing = np.zeros(floats.size, dtype=np.int64)
    for k in range(1, decimals + 1):
        trailing += fraction % (10 ** k) == 0
    kept = decimals - trailing
    point = np.full((floats.size, 1), ord("."), dtype=np.uint8)
    tail = Text(np.concatenate([point, _digits(fraction, decimals)], axis=1),
                np.concatenate([(kept > 0)[:, None], np.arange(decimals)[None, :] < kept[:, None]], axis=1))
    parts = [head, tail.only(show)]
    if big.any():
        parts.append(scientific(np.where(big & finite, floats, np.nan), 15))
    return _stack(parts)


def scientific(values: npt.ArrayLike, digits: int) -> Text:
    """Floats as ``d.ddde-05`` with ``digits`` significant digits (trailing zeros dropped), 0 as ``0``.
    Non-finite values write nothing. Valid JSON numbers and Python floats."""
    floats = np.asarray(values, dtype=np.float64)
    same = _shortcut(floats, lambda one: scientific(one, digits))
    if same is not None:
        return same
    finite = np.isfinite(floats)
    magnitude = np.abs(np.where(finite, floats, 0.0))
    nonzero = magnitude > 0.0
    safe = np.where(nonzero, magnitude, 1.0)
    exponent = np.floor(np.log10(safe)).astype(np.int64)
    low, high = 10 ** (digits - 1), 10 ** digits
    # Subnormals (below ~1e-308): scale up first, 10.0 ** -320 itself would underflow to 0.
    boost = np.where(exponent < -290, 100.0, 0.0)
    safe = safe * 10.0 ** boost

    def scaled(power: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        result: npt.NDArray[np.float64] = np.rint(safe / 10.0 ** (power + boost) * low)
        return result

    mantissa = scaled(exponent).astype(np.int64)
    over, under = mantissa >= high, mantissa < low  # log10 rounding at exact powers of ten
    exponent = exponent + over - under
    mantissa = np.where(over | under, scaled(exponent), mantissa)
    mantissa = np.where(nonzero, mantissa, 0).astype(np.int64)
    exponent = np.where(nonzero, exponent, 0)
    lead, rest = np.divmod(mantissa, low)
    trailing = np.zeros(floats.size, dtype=np.int64)
    for k in range(1, digits):
        trailing += rest % (10 ** k) == 0
    kept = digits - 1 - trailing
    n = floats.size
    exp_abs = np.abs(exponent)
    parts = [literal("-", n, (floats < 0) & nonzero), Text((lead + _ZERO).astype(np.uint8)[:, None],
                                                           np.ones((n, 1), np.bool_)),
             literal(".", n, kept > 0),
             Text(_digits(rest, digits - 1), np.arange(digits - 1)[None, :] < kept[:, None]),
             literal("e-", n, nonzero & (exponent < 0)), literal("e+", n, nonzero & (exponent >= 0)),
             Text(_digits(exp_abs, 3), np.stack([exp_abs >= 100, nonzero, nonzero], axis=1))]
    return _stack(parts).only(finite)


def hexadecimal(values: npt.ArrayLike, width: int) -> Text:
    """Non-negative ints as exactly ``width`` lowercase hex digits (the low ``4 * width`` bits)."""
    ints = np.asarray(values, dtype=np.uint64)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (ints[:, None] >> shifts[None, :]) & np.uint64(15)
    return Text(_HEX[nibbles.astype(np.intp)], np.ones((ints.size, width), dtype=np.bool_))


def choices(indices: npt.ArrayLike, texts: list[str]) -> Text:
    """Row i shows ``texts[indices[i]]`` (a few distinct strings over many rows: rates, names)."""
    raw = [text.encode() for text in texts] or [b""]
    width = max(1, max(map(len, raw)))
    table = np.zeros((len(raw), width), dtype=np.uint8)
    for k, text in enumerate(raw):
        table[k, :len(text)] = np.frombuffer(text, dtype=np.uint8)
    lengths = np.array([len(text) for text in raw])
    rows = np.asarray(indices, dtype=np.intp)
    return Text(table[rows], np.arange(width)[None, :] < lengths[rows][:, None])


def booleans(values: npt.NDArray[np.bool_]) -> Text:
    """``true`` / ``false``."""
    words = np.array([list(b"false"), list(b"true\0")], dtype=np.uint8)
    chars = words[values.astype(np.intp)]
    return Text(chars, chars != 0)


# --- timecode --------------------------------------------------------------------------------------

def timecode_text(fields: Sequence[npt.NDArray[np.int64]], nominal: int | npt.NDArray[np.int64],
                  drop: bool | npt.NDArray[np.bool_]) -> Text:
    """``HH:MM:SS:FF`` of (hours, minutes, seconds, frames) columns: ``;`` before the frames where
    ``drop``; the frame's hundreds digit where the label rate ``nominal`` is above 100 fps (or the frame
    itself is 100 or more). ``nominal`` and ``drop`` are one value for every row or one per row."""
    hour, minute, second, frame = (np.asarray(column, dtype=np.int64) for column in fields)
    n = hour.size
    colon = np.full((n, 1), ord(":"), np.uint8)
    last = np.broadcast_to(np.where(drop, ord(";"), ord(":")).astype(np.uint8), n)[:, None]
    chars = np.concatenate([_digits(hour, 2), colon, _digits(minute, 2), colon, _digits(second, 2), last,
                            _digits(frame, 3)], axis=1)
    shown = np.ones(chars.shape, dtype=np.bool_)
    shown[:, 9] = (np.asarray(nominal) > 100) | (frame >= 100)
    return Text(chars, shown)


def timecode_labels(frames: npt.ArrayLike, rate: FrameRate, drop_frame: bool) -> Text:
    """The take's ``HH:MM:SS:FF`` labels of absolute frame counts (:func:`timecode_text`)."""
    return timecode_text(timecode_fields(frames, rate, drop_frame), rate.nominal, drop_frame)
