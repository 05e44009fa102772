"""Conform: per-clip and per-cut-event tracking packages, one sample per picture frame.

Given the camera's clips (or an editor's cut) and the take store, conform matches each clip to the
take(s) and camera that recorded it, resamples the camera track onto the clip's picture frames and
writes a package per clip through the take exporters.
"""

from stagectl.takes.conform.model import Clip, ConformError, CutEvent

__all__ = ["Clip", "ConformError", "CutEvent"]
