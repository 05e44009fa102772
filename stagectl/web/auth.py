"""Who may use the floor's remote: the passcode, browser sessions and CSRF tokens.

* **Login**: a plain HTML form POSTs the passcode. Guesses go through the control-in's
  :class:`~stagectl.control.auth.PasscodeGate` keyed by the browser's IP address: the same free typos,
  the same growing per-address wait and the same stage-wide budget (about a minute per guess, from one
  address or thousands). The gate's own per-address sessions are not used here (a browser's session
  is its cookie, not its address: a second browser on a logged-in machine must log in too), so the
  gate is made with the shortest idle time.
* **Sessions**: a right passcode opens a session named by a random token in an ``HttpOnly``,
  ``SameSite=Strict`` cookie (``Secure`` under HTTPS). A session ends after :data:`IDLE_S` without a
  request, at :data:`MAX_AGE_S` whatever happens, at logout, or when the stage stops (sessions live
  in memory only). At most :data:`MAX_SESSIONS` live at once; the stalest is dropped beyond that.
* **CSRF**: every session has its own random token; every state-changing request is a POST that
  carries it (form field ``csrf`` or header ``X-CSRF-Token``), compared with
  :func:`hmac.compare_digest`.

Plain objects used on the I/O loop; no I/O. The passcode is never logged, stored in a session or
shown.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from stagectl.control.auth import AuthResult, AuthVerdict, PasscodeGate, sender_ip

COOKIE = "stagectl_session"
#: A session ends after this long without a request (seconds): a shooting day with long breaks.
IDLE_S = 4 * 3600.0
#: A session ends this long after login whatever happens (seconds).
MAX_AGE_S = 16 * 3600.0
#: Sessions kept at once; the stalest is dropped beyond this.
MAX_SESSIONS = 256
#: The gate's per-address session lasts this long (seconds): in effect none (see the module docstring).
_GATE_IDLE_S = 1e-9


@dataclass(slots=True)
class Session:
    """One logged-in browser: its token (the cookie), CSRF token, address and times."""

    token: str
    csrf: str
    address: str
    created: float
    seen: float
    flash: str = ""
    """A one-shot message for the next page (the outcome of a form POST without JavaScript)."""
    flash_error: bool = False


class WebAuth:
    """The passcode gate, the sessions and the counters (see the module docstring)."""

    def __init__(self, passcode: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.gate = PasscodeGate(passcode, idle_s=_GATE_IDLE_S, clock=clock)
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self.logins = 0
        """Right passcodes (sessions opened)."""
        self.failed_logins = 0
        """Wrong passcodes compared."""
        self.lockouts = 0
        """Attempts refused uncompared (an address waiting out its lockout, or the stage-wide budget "
        "spent)."""

    def login(self, address: str, passcode: str) -> tuple[Session | None, AuthResult]:
        """Check one login from ``address``: (the new session, the verdict) or (None, the verdict)."""
        host = str(sender_ip(address) or address)
        result = self.gate.attempt(host, passcode)
        if result.verdict is AuthVerdict.ACCEPTED:
            self.logins += 1
            return self._open(host), result
        if result.verdict is AuthVerdict.WRONG:
            self.failed_logins += 1
        elif result.verdict in (AuthVerdict.LOCKED, AuthVerdict.BUSY):
            self.lockouts += 1
        return None, result

    def _open(self, address: str) -> Session:
        now = self._clock()
        self._prune(now)
        if len(self._sessions) >= MAX_SESSIONS:
            stalest = min(self._sessions.values(), key=lambda s: s.seen)
            del self._sessions[stalest.token]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), address, now, now)
        self._sessions[session.token] = session
        return session

    def session(self, token: str | None) -> Session | None:
        """The live session of cookie value ``token`` (renewed), else None."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if now - session.seen > IDLE_S or now - session.created > MAX_AGE_S:
            del self._sessions[token]
            return None
        session.seen = now
        return session

    def logout(self, session: Session) -> None:
        """End ``session`` now."""
        self._sessions.pop(session.token, None)

    @staticmethod
    def csrf_ok(session: Session, given: str | None) -> bool:
        """True when ``given`` is the session's CSRF token (constant-time compare)."""
        return given is not None and hmac.compare_digest(given.encode(), session.csrf.encode())

    def count(self) -> int:
        """Live sessions now."""
        now = self._clock()
        return sum(1 for s in list(self._sessions.values())
                   if now - s.seen <= IDLE_S and now - s.created <= MAX_AGE_S)

    def _prune(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items()
                      if now - s.seen > IDLE_S or now - s.created > MAX_AGE_S]:
            del self._sessions[token]


def refusal_text(result: AuthResult) -> str:
    """What the login form says after a refused attempt (never the passcode)."""
    wait = result.retry_after_s
    if result.verdict is AuthVerdict.LOCKED:
        return f"Too many wrong passcodes from this device: try again in {max(wait, 1.0):.0f} s."
    if result.verdict is AuthVerdict.BUSY:
        return f"Too many wrong passcodes on this stage: try again in {max(wait, 1.0):.0f} s."
    if wait > 0:
        return f"Wrong passcode. The next try counts in {max(wait, 1.0):.0f} s."
    return "Wrong passcode."
