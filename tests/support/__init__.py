"""What the tests share: waiting (polling), stage files (stagefile), the emulators as fixtures (emulators),
the network guard and free ports (network), the ``stagectl`` command (cli), a checked asyncio loop (loop),
a running stage recording takes (recording), serial devices on a pty (serial) and liblo's oscdump (oscdump).
"""
