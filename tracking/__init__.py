"""Input streams from the camera: FreeD over UDP and serial, OpenTrackIO over UDP, lens encoders on their
own wire, their simulators, and re-decoding a take's raw datagrams."""
