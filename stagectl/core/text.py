"""Text helpers for messages people read: the "did you mean" hint, and untrusted text made safe to log.

:func:`escape_untrusted` is the one place that makes text from outside the stage (an OSC address, a
name or value a device or tracker sent, a string from the network) safe inside a log line, an event or
a take's log: no character of it can end the line, move the cursor, hide text or forge another line.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

MAX_UNTRUSTED = 200
"""Characters of one untrusted string kept in a log line by default (the rest is counted, not shown)."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'listen'?"`` for the closest of ``choices``, or ``""``."""
    hint = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_untrusted(text: object, limit: int | None = MAX_UNTRUSTED) -> str:
    """``text`` (``str()`` of it) as one printable line: every character Python does not call printable
    (C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides, zero-width and other
    format characters, non-space whitespace) is written as an escape (``\\n``, ``\\x1b``, ``\\u2028``).
    Ordinary text, spaces, backslashes and non-ASCII letters are unchanged.

    ``limit``: longer text is cut to that many characters and ends with ``...(N more characters)``;
    None keeps it whole (for the stage's own messages, which only need the line to stay one line).
    """
    value = text if isinstance(text, str) else str(text)
    extra = 0
    if limit is not None and len(value) > limit:
        value, extra = value[:limit], len(value) - limit
    if not value.isprintable():  # the common case (already safe) costs one C-level scan
        value = "".join(ch if ch.isprintable() else _escape_char(ch) for ch in value)
    return f"{value}...({extra} more characters)" if extra else value
