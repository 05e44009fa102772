"""OSC control-in: lighting desks, Stream Deck/Companion and scripts fire cues, recall looks and
set device features over UDP.

``[control] listen = "127.0.0.1:53000"``, ``allow = [...]``, ``passcode = "..."``,
``reply_port = 9000`` (optional). docs/control.md lists every address; this module is the
server, :mod:`stagectl.control.routes` says what each address means, :mod:`stagectl.control.auth`
who may send, :mod:`stagectl.core.osc` decodes the packets and :mod:`stagectl.control.osc` encodes replies.

Per datagram, on the I/O loop: sender outside the allow-list -> dropped, counted, no reply (a
reply would confirm to a stranger that something listens). Otherwise decode (a malformed packet
is counted and answered with an error) and queue its messages (bundles: every element, in order,
timetags ignored); they are carried out in turns of the loop, at most 16 messages or ~2 ms a turn,
senders served in rotation (:mod:`stagectl.control.pacing`), so a flood of commands cannot hold
the loop that feeds Unreal. A datagram that does not fit in the backlog is dropped and counted as
``overload``, without a reply. ``/stagectl/ping`` and ``/stagectl/auth`` need no session; everything
else needs one when a passcode is set. A command runs on the stage's
:class:`~stagectl.control.protocol.ControlActions`; a
:class:`~stagectl.core.errors.StageError` from it becomes an ``error`` reply with its message, any
other exception an ``error`` reply naming it, logged with its traceback. Nothing raises out of
the socket callback.

**Logs**: a rejection is posted as an event at most once a second per reason and sender, and all of
them together at most 20 at once then 5 a second (:class:`~stagectl.core.logutil.LogBudget`), with
"N similar suppressed" on the next line that gets through; whatever the sender wrote (addresses,
arguments) appears escaped (:func:`~stagectl.core.text.escape_untrusted`), never as raw text.

**Replies** go to the sender's address and source port (Companion's Generic OSC module with
"Listen for Feedback" sends from, and listens on, one fixed port; scripts and oscsend-style
tools read the socket they sent from), or to the sender's address at ``reply_port`` when one is
configured (desks such as Eos send from one port and listen on another they call "OSC TX").
They are plain messages, never bundles (Companion's feedback ignores bundles):
``/stagectl/reply <address> ok|error <text>`` for every command, then one
``/stagectl/state/<key> <value>`` per entry of :meth:`ControlActions.state`. Senders whose
commands were accepted in the last ``auth_idle_s`` also get the state when the stage calls
:meth:`ControlServer.publish_state` (for example after the DP recalled a look in the window).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import socket
import time
from collections.abc import Iterable
from typing import Any

from stagectl.control.auth import AllowList, AuthVerdict, PasscodeGate
from stagectl.control.osc import encode_reply, encode_state, state_value
from stagectl.control.pacing import Backlog
from stagectl.control.protocol import ControlActions
from stagectl.control.routes import RouteError, parse_command
from stagectl.control.status import REJECT_REASONS, ControlStatus
from stagectl.core.errors import DecodeError, StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.links import Endpoint
from stagectl.core.logutil import LogBudget, RateLimiter, with_suppressed
from stagectl.core.osc import OscMessage, decode_packet, encode_message
from stagectl.core.text import escape_untrusted

__all__ = ["MAX_PACKET", "REJECT_REASONS", "ControlError", "ControlServer", "ControlStatus"]

log = logging.getLogger("stagectl.control")

PING, PONG, AUTH, STATE = "/stagectl/ping", "/stagectl/pong", "/stagectl/auth", "/stagectl/state"
#: Datagrams longer than this are refused unread (a desk's command is a few dozen bytes).
MAX_PACKET = 16384
#: Senders remembered for :meth:`ControlServer.publish_state`.
MAX_SUBSCRIBERS = 64


class ControlError(StageError):
    """The control server could not start (address in use, not an address of this machine)."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: ControlServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.server._on_socket_error(exc)

    def pause_writing(self) -> None:
        self.server._writing_paused = True

    def resume_writing(self) -> None:
        self.server._writing_paused = False


class ControlServer:
    """The OSC control-in server (see the module docstring). Construct anywhere, run on the I/O loop.

    ``allow``: IP addresses / CIDR networks (empty: loopback only); ``passcode``: None for none;
    ``reply_port``: None to reply to the sender's port. ValueError for a bad allow entry, an
    empty passcode or a reply port outside 1..65535.
    """

    def __init__(self, listen: Endpoint, actions: ControlActions, *, allow: Iterable[str] = (),
                 passcode: str | None = None, events: EventQueue | None = None,
                 reply_port: int | None = None, auth_idle_s: float = 3600.0, name: str = "control") -> None:
        if reply_port is not None and not 1 <= reply_port <= 65535:
            raise ValueError(f"reply_port must be 1..65535, got {reply_port!r}")
        self.listen = listen
        self.actions = actions
        self.allow = AllowList(allow)
        self.gate = PasscodeGate(passcode, idle_s=auth_idle_s)
        self.events = events if events is not None else EventQueue()
        self.reply_port = reply_port
        self.name = name
        self.received = 0
        self.handled = 0
        self.rejected_by_reason: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        self.releases_ignored = 0
        self.replies_sent = 0
        self.replies_dropped = 0
        self.state_values_skipped = 0
        self.state_errors = 0
        """Times ``actions.state()`` raised (the reply went out without the state; logged)."""
        self.last_command: str | None = None
        self.last_error: str | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._bound: Endpoint | None = None
        self.log_budget = LogBudget()
        self._limiter = RateLimiter(1.0, budget=self.log_budget)
        self._subscribers: dict[str, tuple[Any, float]] = {}
        self._writing_paused = False
        self._backlog: Backlog[tuple[OscMessage, str, Any]] = Backlog(self._run_message)
        self._turn_scheduled = False

    # --- lifecycle (I/O loop) ---------------------------------------------------------------------

    @property
    def address(self) -> Endpoint:
        """The address actually bound (port 0 in ``listen`` resolved); ``listen`` before start."""
        return self._bound if self._bound is not None else self.listen

    @property
    def running(self) -> bool:
        """True between a successful start and stop."""
        return self._transport is not None and not self._transport.is_closing()

    async def async_start(self) -> None:
        """Bind the UDP socket; ControlError (saying what to change) when it cannot."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.listen.host else socket.AF_INET
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.listen.host, self.listen.port), family=family)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                hint = "another program listens on this port (QLab uses 53000): change [control] listen"
            elif exc.errno == errno.EADDRNOTAVAIL:
                hint = "not an address of this machine: use one of its addresses, or 0.0.0.0"
            else:
                hint = "check [control] listen"
            raise ControlError(f"cannot listen for OSC control on {self.listen}: {exc.strerror or exc} "
                               f"({hint})") from None
        self._transport = transport
        host, port = transport.get_extra_info("sockname")[:2]
        self._bound = Endpoint(host, port)
        passcode = "passcode required" if self.gate.required else "no passcode"
        self.events.post(Level.INFO, self.name, "state", f"OSC control listening on {self._bound} "
                                                         f"(allow {self.allow.describe()}; {passcode})")

    async def async_stop(self) -> None:
        """Close the socket (idempotent)."""
        transport, self._transport = self._transport, None
        self._backlog.clear()
        if transport is not None:
            transport.close()
            await asyncio.sleep(0)  # let the transport's close callback run
            self.events.post(Level.INFO, self.name, "state", "OSC control stopped")

    def status(self) -> ControlStatus:
        """A snapshot (copies; safe to read from another thread)."""
        return ControlStatus(str(self.address), self.running, self.allow.describe(), self.gate.required,
                             self.reply_port, self.received, self.handled, dict(self.rejected_by_reason),
                             self.releases_ignored, self.replies_sent, self.replies_dropped,
                             self.state_values_skipped, self.gate.sessions(), self.last_command,
                             self.last_error, self.gate.counters(), self._backlog.pending,
                             self._backlog.turns_cut, self.log_budget.suppressed_total)

    def publish_state(self) -> int:
        """Send the current state to every sender accepted in the last ``auth_idle_s``; how many got it."""
        now = time.monotonic()
        stale = [h for h, (_, seen) in self._subscribers.items() if now - seen > self.gate.idle_s]
        for host in stale:
            del self._subscribers[host]
        if not self._subscribers:
            return 0
        messages = self._state_messages()
        for reply_to, _ in self._subscribers.values():
            for message in messages:
                self._send(reply_to, message)
        return len(self._subscribers)

    # --- the socket callback ----------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        self.received += 1
        host = str(addr[0])
        try:
            if not self.allow.allows(host):
                self._reject("not_allowed", host, f"{host} is not in the allow-list "
                                                  f"({self.allow.describe()})")
                return
            reply_to = addr if self.reply_port is None else (addr[0], self.reply_port, *addr[2:])
            if len(data) > MAX_PACKET:
                self._reject("malformed", host, f"packet of {len(data)} bytes (at most {MAX_PACKET})",
                             reply_to)
                return
            privileged = self.gate.required and self.gate.has_session(host)
            if self._backlog.full(host, privileged):  # not even decoded
                self._reject("overload", host, f"datagram dropped: the control backlog is full "
                                               f"({self._backlog.pending} waiting); send less often")
                return
            try:
                messages = decode_packet(data)
            except DecodeError as exc:
                self._reject("malformed", host, f"malformed OSC packet: {exc}", reply_to)
                return
            if not self._backlog.offer(host, [(m, host, reply_to) for m in messages], privileged):
                self._reject("overload", host, f"{len(messages)} message(s) dropped: the control backlog is "
                                               f"full ({self._backlog.pending} waiting); send less often")
                return
            if not self._turn_scheduled:
                self._turn_scheduled = True
                asyncio.get_running_loop().call_soon(self._turn)
        except Exception as exc:  # a bug here must never take the socket down
            self._internal(exc, host)

    def _turn(self) -> None:
        """One turn of queued messages (within the turn's budget); the next turn in the next iteration."""
        self._turn_scheduled = False
        self._backlog.run_turn()
        if self._backlog.pending and self._transport is not None:
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self._turn)

    def _run_message(self, item: tuple[OscMessage, str, Any]) -> None:
        message, host, reply_to = item
        try:
            self._on_message(message, host, reply_to)
        except Exception as exc:  # a bug here must never stop the turns
            self._internal(exc, host)

    def _internal(self, exc: Exception, host: str) -> None:
        self.rejected_by_reason["internal"] += 1
        self.last_error = escape_untrusted(f"internal error: {type(exc).__name__}: {exc}")
        if self._allow_log("internal") is not None:
            log.exception("control: internal error on a datagram from %s", host)

    def _on_socket_error(self, exc: Exception) -> None:
        # ICMP "port unreachable" after a reply to a sender that went away, a full buffer, ...
        self.replies_dropped += 1
        held = self._allow_log("socket")
        if held is not None:
            log.debug(with_suppressed(f"control: socket error: {exc}", held))

    def _on_message(self, message: OscMessage, host: str, reply_to: Any) -> None:
        address = message.address
        if address == PING:
            self.handled += 1
            echo = [v for v in (state_value(a) for a in message.args) if v is not None]
            self._send(reply_to, encode_message(PONG, *echo))
            return
        if address == AUTH:
            self._authenticate(message, host, reply_to)
            return
        if not self.gate.allowed(host):
            self._reject("not_authenticated", host, f"not authenticated: send {AUTH} <passcode> first",
                         reply_to, address)
            return
        self._subscribe(host, reply_to)
        if address == STATE:
            self.handled += 1
            for data in self._state_messages():
                self._send(reply_to, data)
            return
        try:
            command = parse_command(message)
        except RouteError as exc:
            self._reject(exc.reason, host, str(exc), reply_to, address)
            return
        if command is None:
            self.releases_ignored += 1
            return
        try:
            text = command.run(self.actions)
        except StageError as exc:
            self._reject("action_error", host, f"{command.label}: {exc}", reply_to, address,
                         reply_text=str(exc))
            return
        except Exception as exc:
            log.exception("control: %s from %s failed", escape_untrusted(command.label), host)
            text = f"internal error: {type(exc).__name__}: {exc}"
            self._reject("action_error", host, f"{command.label}: {text}", reply_to, address, reply_text=text)
            return
        self.handled += 1
        label = escape_untrusted(command.label)
        self.last_command = f"{host}: {label}"
        if command.discrete:
            self.events.post(Level.INFO, self.name, "info", f"{host}: {label} -> {escape_untrusted(text)}")
        else:
            log.debug("control: %s: %s -> %s", host, label, escape_untrusted(text))
        self._send(reply_to, encode_reply(address, True, str(text)))
        for data in self._state_messages():
            self._send(reply_to, data)

    def _authenticate(self, message: OscMessage, host: str, reply_to: Any) -> None:
        if len(message.args) != 1 or message.type_tags not in ("s", "S", "i", "h"):
            self._reject("bad_arguments", host, f"{AUTH} takes one argument: the passcode (a string)",
                         reply_to, AUTH)
            return
        result = self.gate.attempt(host, str(message.args[0]))
        if result.verdict is AuthVerdict.NOT_REQUIRED:
            self.handled += 1
            self._send(reply_to, encode_reply(AUTH, True, "no passcode required"))
        elif result.verdict is AuthVerdict.ACCEPTED:
            self.handled += 1
            self._subscribe(host, reply_to)
            minutes = self.gate.idle_s / 60.0
            self.events.post(Level.INFO, self.name, "info", f"{host}: authenticated")
            self._send(reply_to, encode_reply(AUTH, True, f"authenticated until {minutes:g} min "
                                                          "without a message"))
        else:
            reason, text = {AuthVerdict.LOCKED: ("locked_out", "too many wrong passcodes"),
                            AuthVerdict.BUSY: ("auth_busy", "too many wrong passcodes on this stage")}.get(
                result.verdict, ("bad_passcode", "wrong passcode"))
            if result.retry_after_s:
                text += f"; wait {math.ceil(result.retry_after_s)} s before the next attempt"
            self._reject(reason, host, text, reply_to, AUTH)

    # --- helpers ----------------------------------------------------------------------------------

    def _reject(self, reason: str, host: str, message: str, reply_to: Any = None, address: str = "",
                reply_text: str | None = None) -> None:
        self.rejected_by_reason[reason] += 1
        safe = escape_untrusted(message)  # it may quote the sender's address, arguments or bytes
        self.last_error = f"{host}: {safe}"
        # Strangers share one key (their addresses are unbounded); allowed senders get one each, and
        # all of them together no more than the log budget.
        held = self._allow_log(reason if reason in ("not_allowed", "overload") else f"{reason}:{host}")
        if held is not None:
            self.events.post(Level.WARNING, self.name, "rejected", with_suppressed(f"{host}: {safe}", held))
        if reply_to is not None:
            text = reply_text if reply_text is not None else message
            self._send(reply_to, encode_reply(address, False, text))

    def _allow_log(self, key: str) -> int | None:
        if len(self._limiter) >= 4096:
            self._limiter.forget()  # bound the per-sender memory (the budget still holds)
        return self._limiter.check(key)

    def _subscribe(self, host: str, reply_to: Any) -> None:
        self._subscribers.pop(host, None)
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            self._subscribers.pop(next(iter(self._subscribers)))
        self._subscribers[host] = (reply_to, time.monotonic())

    def _state_messages(self) -> list[bytes]:
        try:
            state = self.actions.state()
            messages, skipped = encode_state(state)
        except Exception as exc:  # the reply still went out; the state is best effort
            self.state_errors += 1
            held = self._allow_log("state")
            if held is not None:
                log.warning(with_suppressed(f"control: state() failed: {type(exc).__name__}: {exc}", held))
            return []
        if skipped:
            self.state_values_skipped += len(skipped)
            held = self._allow_log("state_skipped")
            if held is not None:
                log.warning(with_suppressed(f"control: state values not sent (NaN, infinite or not a "
                                            f"number/string/bool): {', '.join(skipped)}", held))
        return messages

    def _send(self, reply_to: Any, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._writing_paused:  # the socket buffer is full: drop, never queue without bound
            self.replies_dropped += 1
            return
        transport.sendto(data, reply_to)  # OSError goes to error_received, not here
        self.replies_sent += 1
