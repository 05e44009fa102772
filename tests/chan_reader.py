"""A strict reader of Nuke ``.chan`` files, written for the tests independently of the exporter.

A .chan file is ASCII, one line per frame: the frame number then the channel values, separated
by spaces or tabs. This reader accepts nothing else: every line (the last one too) ends with a
newline, no blank or comment lines, exactly ``columns`` numbers per line, every number finite,
the frame a whole number, frames strictly increasing. Anything else raises :class:`ChanError`
naming the file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


class ChanError(ValueError):
    """The file is not a strict .chan file; ``line`` is 1-based."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True)
class Chan:
    """A .chan file's frames (N,) and channel values (N, columns - 1)."""

    frames: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


def read_chan(path: Path, *, columns: int = 8) -> Chan:
    """Read ``path`` strictly (see the module docstring); ``columns`` counts the frame column."""
    text = path.read_bytes().decode("ascii")
    if text and not text.endswith("\n"):
        raise ChanError(path, text.count("\n") + 1, "the last line does not end with a newline")
    frames: list[int] = []
    rows: list[list[float]] = []
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        fields = line.replace("\t", " ").split(" ")
        fields = [f for f in fields if f != ""]
        if len(fields) != columns:
            raise ChanError(path, number, f"expected {columns} numbers, found {len(fields)}: {line!r}")
        try:
            values = [float(f) for f in fields]
        except ValueError as exc:
            raise ChanError(path, number, f"not a number: {exc}") from None
        if not all(math.isfinite(v) for v in values):
            raise ChanError(path, number, f"non-finite value in {line!r}")
        if values[0] != int(values[0]):
            raise ChanError(path, number, f"frame {fields[0]} is not a whole number")
        frame = int(values[0])
        if frames and frame <= frames[-1]:
            raise ChanError(path, number, f"frame {frame} does not follow frame {frames[-1]}")
        frames.append(frame)
        rows.append(values[1:])
    return Chan(np.array(frames, dtype=np.int64), np.array(rows, dtype=np.float64).reshape(-1, columns - 1))
