"""Text helpers for messages people read: the "did you mean" hint."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'listen'?"`` for the closest of ``choices``, or ``""``."""
    hint = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""
