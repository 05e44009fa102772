"""Who may control the stage over OSC: the sender allow-list and the optional passcode.

* :class:`AllowList`: IP addresses and CIDR networks. An empty list means **loopback only**
  (127.0.0.0/8 and ::1): a control port must be opened to a network on purpose, by writing it
  down. ``0.0.0.0/0`` (and ``::/0``) allows everyone, explicitly. IPv4-mapped IPv6 senders
  (``::ffff:10.0.0.5``, seen on a dual-stack socket) are checked as their IPv4 address.
* :class:`PasscodeGate`: with a passcode, a sender *address* (IP, not port: desks and older
  Companion versions send from changing ports) must first send ``/stagectl/auth <passcode>``.
  A session lasts until the address has been silent for ``idle_s`` (1 hour by default); every
  accepted message renews it. Passcodes are compared in constant time (:func:`hmac.compare_digest`).
  What a guess costs, in the order it is checked:

  1. An address with a live session is never locked out: its attempts are compared at once and a
     wrong one changes nothing (the desk keeps working; the address already controls the stage).
  2. Per address: wrong passcodes in a row are counted; the first :data:`FREE_ATTEMPTS` cost nothing
     (typos), then the address waits 1, 2, 4 ... up to :data:`MAX_LOCKOUT_S` seconds before another
     attempt is even compared. A right passcode clears the count.
  3. Stage-wide, whatever the number of addresses: wrong passcodes spend a budget of
     :data:`GLOBAL_BURST` tries that earns one try back every :data:`GLOBAL_REFILL_S` seconds. Once it
     is spent, an attempt from an address without a session is not compared until a try is earned,
     so guessing costs about a minute per try in total, from one address or from thousands.
     Addresses that opened a session since the stage started are exempt from this budget (only rule 2
     applies to them), so someone spending it cannot keep the stage's own desks from logging in again.

  Counters (:meth:`PasscodeGate.counters`) say how many attempts came, how many were compared, and
  how many were refused uncompared by rule 2 (``locked_out``) or rule 3 (``budget_exhausted``).

Both are plain objects used on the I/O loop; neither does I/O.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
#: Wrong passcodes in a row that cost nothing (typos).
FREE_ATTEMPTS = 3
#: Longest wait imposed after wrong passcodes, seconds.
MAX_LOCKOUT_S = 60.0
#: Addresses tracked for sessions, failures and known desks; beyond this the stalest are forgotten.
MAX_TRACKED = 4096
#: Wrong passcodes the whole stage absorbs at once (several desks' typos) before the global budget bites.
GLOBAL_BURST = 10
#: Seconds for the global budget to earn back one try (about a minute per try, stage-wide).
GLOBAL_REFILL_S = 60.0


def parse_allow(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The networks of ``allow`` entries (``"10.0.0.7"``, ``"10.0.0.0/24"``, ``"fd00::/64"``).

    ValueError naming the entry and what is wrong with it (a host part set in a CIDR network, a
    name instead of an address, ...). Names are never resolved.
    """
    networks: list[IPNetwork] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise ValueError(f"allow[{position}] = {entry!r} is not a string (write \"10.0.0.7\" or "
                             "\"10.0.0.0/24\")")
        text = entry.strip()
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            if "host bits" in str(exc):
                network = ipaddress.ip_network(text, strict=False)
                address = text.split("/", 1)[0]
                raise ValueError(f"allow[{position}] = {entry!r} has host bits set: write "
                                 f"\"{network}\" for the network or \"{address}\" for one address") from None
            raise ValueError(f"allow[{position}] = {entry!r} is not an IP address or CIDR network "
                             "such as \"10.0.0.7\" or \"10.0.0.0/24\" (names are not resolved)") from None
    return tuple(networks)


def sender_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The sender's address as an ip_address (IPv4-mapped IPv6 unwrapped); None if unparsable."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class AllowList:
    """Senders allowed to talk to the control server (see the module docstring)."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        parsed = parse_allow(entries)
        self.explicit = bool(parsed)
        self.networks: tuple[IPNetwork, ...] = parsed or LOOPBACK

    def allows(self, host: str) -> bool:
        """True when ``host`` (an IP literal as a socket reports it) is inside one of the networks."""
        address = sender_ip(host)
        if address is None:
            return False
        return any(address.version == net.version and address in net for net in self.networks)

    def describe(self) -> str:
        """The list for logs and the status line (``loopback only`` when none was given)."""
        text = ", ".join(str(net) for net in self.networks)
        return text if self.explicit else f"loopback only ({text})"


class AuthVerdict(enum.Enum):
    """The outcome of one ``/stagectl/auth`` attempt."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"
    """Not compared: the address is still waiting out a lockout."""
    BUSY = "busy"
    """Not compared: the stage-wide budget of wrong passcodes is spent."""
    NOT_REQUIRED = "not_required"


@dataclass(frozen=True, slots=True)
class AuthResult:
    """An attempt's verdict and, for WRONG/LOCKED/BUSY, how long until the next attempt counts (seconds)."""

    verdict: AuthVerdict
    retry_after_s: float = 0.0


@dataclass(slots=True)
class _Failures:
    count: int
    locked_until: float
    last: float


class PasscodeGate:
    """Sessions per sender address, the per-address lockout and the stage-wide budget of wrong
    passcodes (see the module docstring).

    ``passcode`` None means no passcode: every allowed sender is trusted. An empty passcode is
    refused (ValueError): leave the key out instead. How strong a passcode must be is the stage
    file's rule (``stagectl.config``), checked where the file is read.
    """

    def __init__(self, passcode: str | None, *, idle_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic, burst: int = GLOBAL_BURST,
                 refill_s: float = GLOBAL_REFILL_S) -> None:
        if passcode is not None and not passcode:
            raise ValueError("passcode is empty: leave it out for no passcode, or set one")
        if not idle_s > 0:
            raise ValueError(f"auth idle time must be positive seconds, got {idle_s!r}")
        if burst < 1 or not refill_s > 0:
            raise ValueError(f"the global passcode budget needs burst >= 1 and refill_s > 0, "
                             f"got {burst!r}, {refill_s!r}")
        self._secret = passcode.encode() if passcode is not None else None
        self.idle_s = idle_s
        self._clock = clock
        self.burst = burst
        self.refill_s = refill_s
        self._tokens = float(burst)
        self._tokens_at = clock()
        self._sessions: dict[str, float] = {}
        """sender address -> monotonic time of its last accepted message."""
        self._failures: dict[str, _Failures] = {}
        self._known: dict[str, float] = {}
        """addresses that opened a session since start -> when (exempt from the global budget)."""
        self.attempts = 0
        self.compared = 0
        self.accepted = 0
        self.wrong = 0
        self.locked_out = 0
        self.budget_exhausted = 0

    @property
    def required(self) -> bool:
        """True when a passcode is set."""
        return self._secret is not None

    def sessions(self) -> int:
        """Addresses with a live session (read-only: safe for a status snapshot from another thread)."""
        now = self._clock()
        return sum(1 for seen in list(self._sessions.values()) if now - seen <= self.idle_s)

    def has_session(self, host: str) -> bool:
        """True when ``host`` has a live session (without renewing it); always False without a passcode."""
        seen = self._sessions.get(host)
        return seen is not None and self._clock() - seen <= self.idle_s

    def counters(self) -> dict[str, int | float]:
        """Attempts, compared, accepted, wrong, locked_out, budget_exhausted, and the tries the stage-wide
        budget holds now (``budget_tries``, rounded down)."""
        return {"attempts": self.attempts, "compared": self.compared, "accepted": self.accepted,
                "wrong": self.wrong, "locked_out": self.locked_out, "budget_exhausted": self.budget_exhausted,
                "budget_tries": int(self._tokens_at_time(self._clock()))}

    def allowed(self, host: str) -> bool:
        """True when ``host`` may send commands now; renews its session. Always True without a passcode."""
        if self._secret is None:
            return True
        now = self._clock()
        seen = self._sessions.get(host)
        if seen is None or now - seen > self.idle_s:
            self._sessions.pop(host, None)
            return False
        self._sessions[host] = now
        return True

    def attempt(self, host: str, passcode: str) -> AuthResult:
        """Check one ``/stagectl/auth`` from ``host``; opens a session when it is right."""
        if self._secret is None:
            return AuthResult(AuthVerdict.NOT_REQUIRED)
        now = self._clock()
        self.attempts += 1
        seen = self._sessions.get(host)
        if seen is not None and now - seen <= self.idle_s:  # rule 1: a live session is never locked out
            self.compared += 1
            if hmac.compare_digest(passcode.encode(), self._secret):
                return self._accept(host, now)
            self.wrong += 1
            return AuthResult(AuthVerdict.WRONG)
        failures = self._failures.get(host)
        if failures is not None and now < failures.locked_until:  # rule 2
            failures.last = now
            self.locked_out += 1
            return AuthResult(AuthVerdict.LOCKED, failures.locked_until - now)
        known = host in self._known
        if not known and self._refill(now) < 1.0:  # rule 3
            self.budget_exhausted += 1
            return AuthResult(AuthVerdict.BUSY, (1.0 - self._tokens) * self.refill_s)
        self.compared += 1
        if hmac.compare_digest(passcode.encode(), self._secret):
            return self._accept(host, now)
        self.wrong += 1
        if not known:
            self._tokens -= 1.0
        if failures is None:
            failures = _Failures(0, 0.0, now)
            self._remember(self._failures, host, failures)
        failures.count += 1
        failures.last = now
        extra = failures.count - FREE_ATTEMPTS
        wait = min(2.0 ** (extra - 1), MAX_LOCKOUT_S) if extra > 0 else 0.0
        failures.locked_until = now + wait
        return AuthResult(AuthVerdict.WRONG, wait)

    def _accept(self, host: str, now: float) -> AuthResult:
        self.accepted += 1
        self._failures.pop(host, None)
        self._remember(self._sessions, host, now)
        self._known.pop(host, None)
        self._remember(self._known, host, now)
        return AuthResult(AuthVerdict.ACCEPTED)

    def _tokens_at_time(self, now: float) -> float:
        """The budget's tries at ``now`` (read-only: safe from another thread)."""
        return min(float(self.burst), self._tokens + max(0.0, now - self._tokens_at) / self.refill_s)

    def _refill(self, now: float) -> float:
        """Bring the budget up to ``now`` (tries earned back since the last look, up to ``burst``)."""
        self._tokens, self._tokens_at = self._tokens_at_time(now), max(now, self._tokens_at)
        return self._tokens

    def _remember(self, table: dict[str, _T], host: str, value: _T) -> None:
        if host not in table and len(table) >= MAX_TRACKED:
            self._prune(self._clock())
            if len(table) >= MAX_TRACKED:  # still full: forget the oldest entry
                table.pop(next(iter(table)))
        table[host] = value

    def _prune(self, now: float) -> None:
        for host in [h for h, seen in self._sessions.items() if now - seen > self.idle_s]:
            del self._sessions[host]
        for host in [h for h, f in self._failures.items()
                     if now >= f.locked_until and now - f.last > self.idle_s]:
            del self._failures[host]
