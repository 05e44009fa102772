"""The remote's live state and its WebSocket clients: one state, sent only when it changes.

:class:`LiveState` asks the stage for its state :data:`TICK_HZ` times a second on the I/O loop
while a page is connected (with none, it does nothing until a page is asked for: the stage idles),
adds what the pages show (one-line texts, the HTML fragments of :mod:`stagectl.web.pages`, made
again only when their inputs change) and compares it with the last one sent: only the keys that
changed go out, as one JSON text shared by every client. A change made anywhere (the desktop, OSC
control-in, another browser) is on every page within a tick. The day's takes are read from the take
store on the loop's default executor when a take starts or stops or its flags change.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.runtime import async_cancel
from stagectl.takes.report.model import TakeLine
from stagectl.web import pages

log = logging.getLogger("stagectl.web")

#: State looks per second (a change reaches the pages within one period plus the send).
TICK_HZ = 20.0
StateFn = Callable[[], Mapping[str, Any]]


@dataclass(eq=False, slots=True)
class Client:
    """One connected page: its WebSocket and the send in progress."""

    ws: web.WebSocketResponse
    token: str = ""
    """The session's cookie token (its sockets close at logout)."""
    sending: asyncio.Task[None] | None = None
    behind: bool = False


def _texts(state: dict[str, Any]) -> None:
    """The one-line texts the pages show, from the stage's state."""
    if state.get("blackout"):
        live = "BLACKOUT"
    else:
        live = state.get("live_look") or "No look yet"
        if state.get("live_cue"):
            label = state.get("live_cue_label")
            live = f"Cue {state['live_cue']}{f' {label}' if label else ''} — {live}"
    state["live_text"] = live
    state["next_text"] = state.get("next_label") or "—"
    slate = state.get("slate", {})
    parts = [slate.get("production", ""), slate.get("scene", ""), slate.get("shot", "")]
    state["slate_text"] = " · ".join([p for p in parts if p] + [f"take {slate.get('take', '')}"])
    if state.get("recording"):
        state["rec_text"] = f"RECORDING {state.get('take_name', '')}"
        state["timecode_text"] = state.get("timecode", "")
    elif state.get("has_recorder", True):
        last = state.get("last_take")
        state["rec_text"] = "STOPPED" + (f" · last take {last}" if last else "")
        state["timecode_text"] = "--:--:--:--"
    else:
        state["rec_text"], state["timecode_text"] = "no take recorder", "--:--:--:--"


class LiveState:
    """The pages' state and the WebSocket clients (see the module docstring). I/O loop only.

    Attributes:
        clients: the connected WebSockets.
        sent: state messages sent (one per change, to every client).
        builds: states made (a tick with a page connected, a page asked for with none connected).
        takes: the day's takes as last read (oldest first), and ``takes_error`` when the read failed.
    """

    def __init__(self, state: StateFn, takes_folder: Path | None, stage_name: str) -> None:
        self._state_fn = state
        self._folder = takes_folder
        self._stage_name = stage_name
        self.clients: set[Client] = set()
        self.sent = 0
        self.dropped = 0
        self.builds = 0
        self.current: dict[str, Any] = {}
        self.takes: tuple[TakeLine, ...] = ()
        self.takes_error = ""
        self._takes_key: object = None
        self._takes_task: asyncio.Task[None] | None = None
        self._fragments: dict[str, tuple[object, str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._limiter = RateLimiter()

    # --- the state ---------------------------------------------------------------------------------

    def _fragment(self, key: str, inputs: object, make: Callable[[], str]) -> str:
        kept = self._fragments.get(key)
        if kept is not None and kept[0] == inputs:
            return kept[1]
        text = make()
        self._fragments[key] = (inputs, text)
        return text

    def build(self) -> dict[str, Any]:
        """The state now, with texts and fragments (fragments carry an empty CSRF field)."""
        self.builds += 1
        state = dict(self._state_fn())
        state["stage"] = self._stage_name
        _texts(state)
        looks_in = (tuple(state.get("looks", ())), state.get("live_look"))
        state["looks_html"] = self._fragment("looks", looks_in, lambda: pages.looks_fragment(state))
        devices_in = json.dumps(state.get("devices", ()), sort_keys=True, default=str)
        state["devices_html"] = self._fragment("devices", devices_in, lambda: pages.devices_fragment(state))
        takes_in = (self.takes, self.takes_error)
        state["takes_html"] = self._fragment("takes", takes_in,
                                             lambda: pages.takes_fragment(self.takes, error=self.takes_error))
        self._watch_takes(state)
        return state

    def refresh(self) -> None:
        """Make :attr:`current` the state now, when no connected page keeps it fresh (a page asked for,
        a page connecting). With pages connected the ticks keep it, and they alone may change it: the
        changes they send are counted from it."""
        if not self.clients:
            self.current = self.build()

    def changes(self) -> dict[str, Any]:
        """Build the state and return what changed since the last call (and keep it)."""
        state = self.build()
        changed = {k: v for k, v in state.items() if self.current.get(k, _MISSING) != v}
        self.current = state
        return changed

    # --- the day's takes ---------------------------------------------------------------------------

    def _watch_takes(self, state: Mapping[str, Any]) -> None:
        key = (state.get("recording"), state.get("take_name"), state.get("last_take_id"),
               state.get("takes_revision"), state.get("takes_stored"), datetime.date.today())
        if key == self._takes_key or self._folder is None:
            return
        if self._takes_task is not None and not self._takes_task.done():
            return  # read again when this one is done (the key still differs then)
        self._takes_key = key
        self._takes_task = asyncio.get_running_loop().create_task(self._async_read_takes(), name="web takes")

    async def _async_read_takes(self) -> None:
        folder = self._folder
        assert folder is not None
        try:
            takes = await asyncio.get_running_loop().run_in_executor(None, read_day, folder,
                                                                     datetime.date.today())
        except Exception as exc:  # a damaged store: the page says so, the remote goes on
            self.takes_error = f"takes not read: {exc}"
        else:
            self.takes, self.takes_error = takes, ""
        self.poke()

    async def async_takes_read(self) -> None:
        """Wait for a read of the day's takes in progress (the page after a flag change shows it)."""
        task = self._takes_task
        if task is not None:
            await asyncio.shield(task)

    # --- the clients -------------------------------------------------------------------------------

    def poke(self) -> None:
        """Look at the state now (after an action) rather than at the next tick."""
        self._wake.set()

    async def async_start(self) -> None:
        """Start the ticks (I/O loop)."""
        self.current = self.build()
        self._task = asyncio.get_running_loop().create_task(self._async_run(), name="web live state")

    async def async_stop(self) -> None:
        """Stop the ticks and close every client (I/O loop)."""
        task, self._task = self._task, None
        await async_cancel(task)
        if self._takes_task is not None:
            self._takes_task.cancel()
        for client in list(self.clients):
            with contextlib.suppress(Exception):
                await client.ws.close(code=1001, message=b"stage stopping")
        self.clients.clear()

    async def _async_run(self) -> None:
        period = 1.0 / TICK_HZ
        while True:
            if self.clients:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), period)
            else:  # nobody watching: nothing to make until a page connects (it pokes)
                await self._wake.wait()
            self._wake.clear()
            if not self.clients:
                continue
            try:
                changed = self.changes()
            except Exception as exc:  # a state that cannot be made must not stop the next ones
                held = self._limiter.check("state")
                if held is not None:
                    log.error(with_suppressed(f"web state not made: {exc!r}", held))
                continue
            if changed and self.clients:
                self.broadcast(json.dumps({"type": "state", "changes": changed}, default=str))

    def broadcast(self, text: str) -> None:
        """Send ``text`` to every client. A client still sending the last message is skipped and gets
        the whole state once it has caught up (messages carry changes only: none may be lost)."""
        self.sent += 1
        for client in list(self.clients):
            if client.ws.closed:
                self.clients.discard(client)
            elif client.sending is not None and not client.sending.done():
                client.behind = True
                self.dropped += 1
            else:
                message = self.hello() if client.behind else text
                client.behind = False
                client.sending = asyncio.get_running_loop().create_task(client.ws.send_str(message))
                client.sending.add_done_callback(_ignore_result)

    def hello(self) -> str:
        """The whole state, for a client that just connected."""
        return json.dumps({"type": "state", "changes": self.current}, default=str)


def _ignore_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # a client gone mid-send: its handler sees the close


def read_day(folder: Path, day: datetime.date) -> tuple[TakeLine, ...]:
    """The takes started on ``day`` in the store of ``folder`` (a worker thread; none without a store)."""
    from stagectl.takes.report.build import day_report
    from stagectl.takes.store import DB_NAME, TakeStore

    if not (folder / DB_NAME).exists():
        return ()
    with TakeStore(folder, readonly=True) as store:
        return day_report(store, day).takes


_MISSING = object()
