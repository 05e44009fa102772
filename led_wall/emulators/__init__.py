"""Emulators of LED processors: real HTTP servers on loopback that keep state like the hardware."""
