"""FreeD (D1): the codec, the stream parser, the presets and the UDP and serial sources."""
