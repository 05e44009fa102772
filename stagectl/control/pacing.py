"""How much control-in work one turn of the I/O loop may do: the backlog of decoded messages.

The control server shares the loop with tracking, outputs to Unreal, fades and device polls, so no
sender may hold it: a datagram can carry 64 messages, and each may fire a cue, write a device and
send five replies. Messages therefore wait in a :class:`Backlog` and are carried out by turns: one
turn per loop iteration (the server schedules it with ``call_soon``, which runs it in the *next*
iteration, after the timers and sockets that are ready now), each turn at most
:data:`MESSAGES_PER_TURN` messages and about :data:`TURN_S` of time. Reading needs no budget of its
own: asyncio's datagram transports (selector and proactor loops alike) hand over one datagram per
wake-up, and a datagram's cheap checks (allow-list, size, a bounded decode) run as it arrives.

Fairness: each sender address has its own queue and turns take one message from each in rotation,
so a flooding sender delays a desk by at most one message per turn. Bounds: a sender may queue
:data:`PER_SENDER` messages and the backlog :data:`TOTAL` in all; a datagram that does not fit is
dropped whole (the server counts it as ``overload``), except that senders the caller marks
``privileged`` (addresses with a live session) are held only to their own queue's bound, so
unauthenticated floods cannot fill the backlog against the desk.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

_Item = TypeVar("_Item")

#: Messages carried out in one turn of the loop, at most.
MESSAGES_PER_TURN = 16
#: Time one turn may take, seconds: it stops after the message that crosses it.
TURN_S = 0.002
#: Messages one sender may have waiting (four full datagrams).
PER_SENDER = 256
#: Messages waiting from all senders without a live session, at most.
TOTAL = 1024


class Backlog(Generic[_Item]):
    """Per-sender queues served in rotation within a per-turn budget (see the module docstring).

    ``handle`` carries out one item; what it raises is the caller's to catch (the server's handler
    never raises). ``clock`` is for tests.
    """

    def __init__(self, handle: Callable[[_Item], None], *, per_turn: int = MESSAGES_PER_TURN,
                 turn_s: float = TURN_S, per_sender: int = PER_SENDER, total: int = TOTAL,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._handle = handle
        self.per_turn = per_turn
        self.turn_s = turn_s
        self.per_sender = per_sender
        self.total = total
        self._clock = clock
        self._queues: OrderedDict[str, deque[_Item]] = OrderedDict()
        self.pending = 0
        """Items waiting now."""
        self.turns = 0
        self.turns_cut = 0
        """Turns that stopped on the budget with work left (it went on in a later turn)."""
        self.most_pending = 0

    def full(self, sender: str, privileged: bool = False) -> bool:
        """True when not one more item from ``sender`` would fit (the caller need not even decode)."""
        queue = self._queues.get(sender)
        if queue is not None and len(queue) >= self.per_sender:
            return True
        return not privileged and self.pending >= self.total

    def offer(self, sender: str, items: Sequence[_Item], privileged: bool = False) -> bool:
        """Queue ``items`` from ``sender`` (all or none); False when they do not fit."""
        queue = self._queues.get(sender)
        waiting = len(queue) if queue is not None else 0
        if waiting + len(items) > self.per_sender:
            return False
        if not privileged and self.pending + len(items) > self.total:
            return False
        if queue is None:
            queue = self._queues[sender] = deque()
        queue.extend(items)
        self.pending += len(items)
        self.most_pending = max(self.most_pending, self.pending)
        return True

    def run_turn(self) -> int:
        """Carry out items, one per sender in rotation, until the backlog is empty or the turn's budget
        (count or time) is spent; how many were carried out."""
        self.turns += 1
        start = self._clock()
        done = 0
        while self._queues and done < self.per_turn:
            sender, queue = self._queues.popitem(last=False)
            item = queue.popleft()
            if queue:
                self._queues[sender] = queue  # to the back of the rotation
            self.pending -= 1
            done += 1
            self._handle(item)
            if self._clock() - start >= self.turn_s:
                break
        if self._queues:
            self.turns_cut += 1
        return done

    def clear(self) -> None:
        """Drop everything waiting."""
        self._queues.clear()
        self.pending = 0
