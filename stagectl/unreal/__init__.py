"""Unreal Engine outputs: OpenTrackIO, OSC and the Remote Control client."""
