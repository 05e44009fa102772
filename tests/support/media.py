"""Real camera media for tests, written with PyAV: a few picture frames with a start timecode.

``write_clip`` writes a short MOV, MP4 or MXF the way a camera or a transcode would: one video stream at
an exact rate, the start timecode as FFmpeg's muxers take it (the ``timecode`` metadata: a QuickTime
``tmcd`` track in MOV/MP4, the material package timecode in MXF), and optional reel / camera tags. The
muxer decides what reaches the file; readers must find it there.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import av

__all__ = ["CONTAINERS", "write_clip"]

# container suffix -> (muxer, video encoder, pixel format); MXF OP1a takes MPEG-2 video.
CONTAINERS = {
    ".mov": ("mov", "mpeg4", "yuv420p"),
    ".mp4": ("mp4", "mpeg4", "yuv420p"),
    ".mxf": ("mxf", "mpeg2video", "yuv420p"),
}


def write_clip(path: Path, rate: Fraction, timecode: str, frames: int = 5, *,
               stream_tags: Mapping[str, str] | None = None,
               container_tags: Mapping[str, str] | None = None) -> Path:
    """Write ``frames`` 64x48 picture frames at ``rate`` starting at ``timecode`` ("01:00:00:00",
    drop-frame "00:59:59;28") into ``path`` (.mov, .mp4 or .mxf); tags go on the video stream /
    the container as metadata (``reel_name`` on the video stream becomes the MOV tmcd track's reel).
    Custom container tags reach a MOV/MP4 only through ``movflags=use_metadata_tags`` (set here)."""
    muxer, codec, pix_fmt = CONTAINERS[path.suffix.lower()]
    options = {"movflags": "use_metadata_tags"} if muxer in ("mov", "mp4") else {}
    with av.open(str(path), "w", format=muxer, options=options) as out:
        out.metadata.update(dict(container_tags or {}))
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        stream.metadata["timecode"] = timecode
        stream.metadata.update(dict(stream_tags or {}))
        for n in range(frames):
            picture = av.VideoFrame(64, 48, "rgb24").reformat(format=pix_fmt)
            picture.pts = n
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path
