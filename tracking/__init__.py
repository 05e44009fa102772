"""Camera tracking protocols: codecs, sources and simulators."""
