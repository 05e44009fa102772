"""What the control server reports: its counters' keys and the :class:`ControlStatus` snapshot that the
window and ``--status-json`` read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["REJECT_REASONS", "ControlStatus"]

REJECT_REASONS = ("not_allowed", "not_authenticated", "bad_passcode", "locked_out", "auth_busy", "malformed",
                  "overload", "unknown_address", "bad_arguments", "action_error", "internal")
"""Keys of :attr:`ControlServer.rejected_by_reason`. ``not_allowed``, ``malformed`` and ``overload``
count datagrams, the others messages. ``bad_passcode``: a wrong passcode (compared); ``locked_out``
and ``auth_busy``: a passcode not even compared, the address waiting out its lockout or the
stage-wide budget of wrong passcodes spent. ``internal`` counts bugs in this server (never expected)."""


@dataclass(frozen=True, slots=True)
class ControlStatus:
    """A snapshot of the control server for the UI and ``--status-json``."""

    listen: str
    running: bool
    allow: str
    passcode_required: bool
    reply_port: int | None
    received: int
    """Datagrams received (from anyone)."""
    handled: int
    """Messages carried out (commands, pings, auth, state requests)."""
    rejected: Mapping[str, int]
    releases_ignored: int
    replies_sent: int
    replies_dropped: int
    state_values_skipped: int
    """State values that could not travel as OSC (NaN, infinite, unsupported type)."""
    sessions: int
    last_command: str | None
    last_error: str | None
    auth: Mapping[str, int | float] = field(default_factory=dict)
    """The passcode gate's counters (:meth:`PasscodeGate.counters`): attempts, compared, accepted,
    wrong, locked_out, budget_exhausted, budget_tries."""
    queued: int = 0
    """Messages waiting for a turn of the loop now."""
    turns_cut: int = 0
    """Turns that stopped on their budget with messages left for the next one."""
    log_suppressed: int = 0
    """Rejection events held back by the stage-wide log budget."""
