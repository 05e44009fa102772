"""OpenTrackIO (SMPTE RIS OSVP), the sample's own wire form.

Model, datagrams, payloads, samples, the relay overlay and the lens block conversions. No sockets.
"""
