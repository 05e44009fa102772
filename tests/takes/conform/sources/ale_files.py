"""ALE files for the tests: one written by hand (LF), one the way DaVinci Resolve exports it."""

from __future__ import annotations

from pathlib import Path

# Hand-written, LF line ends, only the columns conform needs plus a Scene.
HAND = """Heading
FIELD_DELIM\tTABS
VIDEO_FORMAT\t1080
AUDIO_FORMAT\t48khz
FPS\t25

Column
Name\tTracks\tStart\tEnd\tTape\tCamera\tScene

Data
A001C007_0412\tV\t10:00:00:00\t10:00:04:00\tA001\tA\t12
B002C001_0412\tV\t10:00:01:12\t10:00:03:00\tB002\t\t12
"""

# The way Resolve writes an ALE (File > Export > Timeline > ALE): a UTF-8 byte order mark, CRLF, a trailing
# tab on the Column and Data lines, extra columns (Duration, Source File, Clip Color, Resolution, Codec,
# Reel Name, the grade), 23.976.
RESOLVE_ROWS = [
    ["A001C007_220101_R1AB", "V", "13:24:51:12", "13:25:03:02", "00:00:11:14", "A001C007_220101_R1AB",
     "A001C007_220101_R1AB.mov", "A", "12", "3", "Orange", "3840x2160", "Apple ProRes 422 HQ", "A001",
     "(1.0000 1.0000 1.0000)(0.0000 0.0000 0.0000)(1.0000 1.0000 1.0000)", "1.0000"],
    ["B001C002_220101_R2CD", "V", "14:02:10:05", "14:02:14:05", "00:00:04:00", "B001C002_220101_R2CD",
     "B001C002_220101_R2CD.mov", "B", "12", "4", "Blue", "3840x2160", "Apple ProRes 422 HQ", "B001",
     "(1.1000 1.0000 0.9000)(0.0100 0.0000 -0.0100)(1.0000 1.0000 1.0000)", "0.9000"],
]
RESOLVE_COLUMNS = ["Name", "Tracks", "Start", "End", "Duration", "Tape", "Source File", "Camera", "Scene",
                   "Take", "Clip Color", "Resolution", "Codec", "Reel Name", "ASC_SOP", "ASC_SAT"]


def resolve_text() -> str:
    """The Resolve-style ALE as text (without the byte order mark, which :func:`write_resolve` adds)."""
    lines = ["Heading", "FIELD_DELIM\tTABS", "VIDEO_FORMAT\t1080", "AUDIO_FORMAT\t48khz", "FPS\t23.976", "",
             "Column", "\t".join(RESOLVE_COLUMNS) + "\t", "", "Data"]
    lines += ["\t".join(row) + "\t" for row in RESOLVE_ROWS]
    return "\r\n".join(lines) + "\r\n"


def write_resolve(path: Path) -> Path:
    """Write the Resolve-style ALE (BOM, CRLF) to ``path``."""
    path.write_bytes(b"\xef\xbb\xbf" + resolve_text().encode("utf-8"))
    return path


def write_hand(path: Path, text: str = HAND) -> Path:
    """Write the hand-written ALE (or ``text``) with LF line ends."""
    path.write_bytes(text.encode("utf-8"))
    return path
