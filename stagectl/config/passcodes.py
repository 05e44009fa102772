"""How strong a passcode must be: one rule for OSC control-in's ``[control]`` and the web remote's
``[web]`` (both are guessed at over the stage network, both lock a guesser out for about a minute)."""

from __future__ import annotations

import itertools

MIN_PASSCODE = 8
"""Shortest passcode accepted, characters."""


def passcode_weakness(passcode: str) -> str | None:
    """Why ``passcode`` is too easy to guess (never quoting it), or None when it is strong enough:
    shorter than :data:`MIN_PASSCODE`, fewer than 4 different characters, or a run with one step
    (``12345678``, ``abcdefgh``, ``87654321``)."""
    if len(passcode) < MIN_PASSCODE:
        return f"{len(passcode)} character(s), fewer than {MIN_PASSCODE}"
    if len(set(passcode)) < 4:
        return f"only {len(set(passcode))} different character(s)"
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(passcode)}
    if len(steps) == 1 and abs(next(iter(steps))) <= 1:
        return "a run of consecutive characters"
    return None
