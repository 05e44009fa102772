"""What the control-in server sends back: replies and state messages.

Packets from desks are decoded by :func:`stagectl.core.osc.decode_packet` (strict, bounded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from urllib.parse import quote

from stagectl.core.osc import FLOAT32_MAX, INT32_MAX, INT32_MIN, encode_message

#: Longest text sent back in a reply (characters); longer texts end with "...".
MAX_REPLY_TEXT = 400

# --- replies ------------------------------------------------------------------------------------

def _clip(text: str) -> str:
    text = text.replace("\x00", "")
    return text if len(text) <= MAX_REPLY_TEXT else text[:MAX_REPLY_TEXT - 3] + "..."


def encode_reply(address: str, ok: bool, text: str) -> bytes:
    """``/stagectl/reply ,sss <address> ok|error <text>`` (texts clipped, NULs removed)."""
    return encode_message("/stagectl/reply", _clip(address), "ok" if ok else "error", _clip(text))


def state_address(key: str, root: str = "/stagectl/state/") -> str:
    """``/stagectl/state/<key>``: the key percent-encoded where OSC forbids a character (space, #, *, ...)."""
    return root + quote(key.replace("\x00", ""), safe="/-._~:@!$&'()+;=")


def state_value(value: object) -> float | int | str | bool | None:
    """``value`` as something OSC carries (T/F, int32, float32, string); None when it cannot be sent.

    Integers outside int32 travel as floats; floats that are NaN, infinite or beyond float32 do
    not travel at all (the caller counts and logs them).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if INT32_MIN <= value <= INT32_MAX else state_value(float(value))
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= FLOAT32_MAX else None
    if isinstance(value, str):
        return _clip(value)
    return None


def encode_state(state: Mapping[str, object]) -> tuple[list[bytes], list[str]]:
    """One ``/stagectl/state/<key> <value>`` message per key, and the keys whose values cannot be sent."""
    messages: list[bytes] = []
    skipped: list[str] = []
    for key, value in state.items():
        wire = state_value(value)
        if wire is None or not key:
            skipped.append(key)
            continue
        messages.append(encode_message(state_address(key), wire))
    return messages, skipped
