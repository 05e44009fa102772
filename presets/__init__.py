"""The DP's looks and cues: colour, fades and easing, nudges, the cue list and its store.
The package never imports Qt."""
