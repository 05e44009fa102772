"""Looks and cues for the DP (arrives with the looks issue, S5)."""
