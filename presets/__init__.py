"""The DP's looks and cues: the look model and store, the cue list and its engine, fades, easing and nudges.
The package never imports Qt."""
