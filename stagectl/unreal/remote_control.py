"""Unreal Remote Control API client: WebSocket (30020) first, HTTP (30010) as the fallback.

Everything here runs on the I/O loop (methods named ``async_...`` or plain ``async def``).
Every request has a timeout, so a wedged editor costs the loop nothing but one pending future.

The connection state machine follows aioesphomeapi's reconnect logic: ``CONNECTING`` on the
first attempt, ``UP`` while the link is open, ``DOWN`` while waiting out a capped, doubling
backoff, ``RECONNECTING`` during a retry. The first failure of an outage is a WARNING event;
later failures of the same outage are logged at DEBUG only. With a WebSocket URL the state is
the WebSocket's (requests fall back to HTTP meanwhile); without one it is HTTP reachability,
probed with ``GET /remote/info``.

Unreal's error bodies reach the operator verbatim: :class:`RemoteControlError` carries the
status and the body text as received (``error_message`` is its ``errorMessage`` when present).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.logutil import RateLimiter, swallowed, with_suppressed
from stagectl.core.runtime import async_cancel

log = logging.getLogger("stagectl.unreal")


class LinkState(enum.Enum):
    """Connection state of one Unreal node."""

    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    RECONNECTING = "reconnecting"


class RemoteControlError(StageError):
    """Unreal refused a request (HTTP non-2xx or WebSocket ResponseCode != 200), or it failed.

    ``status`` is Unreal's status (None for transport failures), ``body`` its response body
    verbatim, ``error_message`` the body's ``errorMessage`` when there is one.
    """

    def __init__(self, target: str, verb: str, url: str, status: int | None, body: str) -> None:
        self.target = target
        self.verb = verb
        self.url = url
        self.status = status
        self.body = body
        self.error_message = _error_message(body)
        #: The message without the target's name (for the event log, whose lines name the source).
        self.summary = f"{verb} {url} -> {status}: {body}" if status is not None else f"{verb} {url}: {body}"
        super().__init__(f"{target}: {self.summary}")


class RemoteControlTimeout(RemoteControlError):
    """Unreal did not answer within the request timeout."""


class RemoteControlUnavailable(RemoteControlError):
    """The request could not be delivered (connection refused, dropped, client stopped)."""


@dataclass(frozen=True, slots=True)
class BatchResponse:
    """One answer inside a ``/remote/batch`` reply."""

    request_id: int
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


def _error_message(body: str) -> str | None:
    with contextlib.suppress(ValueError):
        data = json.loads(body)
        if isinstance(data, dict):
            for key, value in data.items():
                if key.lower() == "errormessage":
                    return str(value)
    return None


def _body_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def preset_property_request(preset: str, label: str, value: Any) -> dict[str, Any]:
    """A ``/remote/batch`` item (URL/Verb/Body) setting a preset property by label."""
    return {"URL": f"/remote/preset/{quote(preset, safe='')}/property/{quote(label, safe='')}",
            "Verb": "PUT", "Body": {"PropertyValue": value}}


def object_property_request(object_path: str, property_name: str, value: Any,
                            access: str = "WRITE_ACCESS", transaction: bool = False) -> dict[str, Any]:
    """A ``/remote/batch`` item writing one object property (``propertyValue`` is {name: value})."""
    return {"URL": "/remote/object/property", "Verb": "PUT",
            "Body": {"objectPath": object_path, "propertyName": property_name,
                     "propertyValue": {property_name: value}, "access": access,
                     "generateTransaction": transaction}}


def function_call_request(object_path: str, function_name: str,
                          parameters: Mapping[str, Any] | None = None,
                          transaction: bool = False) -> dict[str, Any]:
    """A ``/remote/batch`` item calling a function on an object."""
    return {"URL": "/remote/object/call", "Verb": "PUT",
            "Body": {"objectPath": object_path, "functionName": function_name,
                     "parameters": dict(parameters or {}), "generateTransaction": transaction}}


class RemoteControlClient:
    """Client of one Unreal node's Remote Control API.

    Attributes (read from any thread): ``state``, ``detail``, ``last_error`` (Unreal's body
    verbatim, or the transport failure), ``rtt_ms`` of the last answered request,
    ``last_transport`` ("websocket" or "http"), counters ``requests``, ``answered``,
    ``refused``, ``timeouts``, ``failures``, ``http_fallbacks``, ``connects``.
    """

    def __init__(self, name: str, http_url: str = "http://127.0.0.1:30010",
                 ws_url: str | None = "ws://127.0.0.1:30020", *, events: EventQueue,
                 timeout_s: float = 1.0, reconnect_min_s: float = 0.5, reconnect_max_s: float = 10.0) -> None:
        self.name = name
        self.http_url = http_url.rstrip("/")
        self.ws_url = ws_url
        self.events = events
        self.timeout_s = timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = max(reconnect_max_s, reconnect_min_s)
        self.state = LinkState.DOWN
        self.detail = "not started"
        self.last_error = ""
        self.rtt_ms: float | None = None
        self.last_transport = ""
        self.requests = self.answered = self.refused = self.timeouts = self.failures = 0
        self.http_fallbacks = self.connects = 0
        self._http: httpx.AsyncClient | None = None
        self._ws: ClientConnection | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, Any]]] = {}
        self._ids = itertools.count(1)
        self._supervisor: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._http_lost = asyncio.Event()
        self._limiter = RateLimiter(1.0)
        self._outage_warned = False

    # --- lifecycle --------------------------------------------------------------------------
    async def async_start(self) -> None:
        """Open the HTTP client and start connecting; returns at once (watch ``state``)."""
        if self._supervisor is not None:
            return
        # trust_env=False: a proxy from the environment must never sit between us and the stage.
        self._http = httpx.AsyncClient(base_url=self.http_url, timeout=self.timeout_s, trust_env=False)
        self._set_state(LinkState.CONNECTING, "first attempt")
        self._supervisor = asyncio.create_task(self._supervise(), name=f"rc-{self.name}")

    async def async_stop(self) -> None:
        """Close the link; pending requests fail with RemoteControlUnavailable."""
        task, self._supervisor = self._supervisor, None
        await async_cancel(task)
        await self._close_ws("client stopped")
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._set_state(LinkState.DOWN, "stopped")

    async def async_wait_state(self, state: LinkState, timeout: float) -> bool:
        """Wait until ``state`` is reached; False on timeout."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.state is not state:
                    await self._changed.wait()
                return True
        return False

    def _set_state(self, state: LinkState, detail: str) -> None:
        self.detail = detail
        if state is self.state:
            return
        self.state = state
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if state is LinkState.UP:
            self.events.post(Level.INFO, self.name, "state", f"Remote Control up ({detail})")
            self._outage_warned = False

    def _outage(self, reason: str, delay: float) -> None:
        self.last_error = reason
        self._set_state(LinkState.DOWN, f"{reason}; retry in {delay:.1f} s")
        if not self._outage_warned:
            self._outage_warned = True
            self.events.post(Level.WARNING, self.name, "state",
                             f"Remote Control down: {reason} (retrying every <= {self.reconnect_max_s:g} s)")
        else:
            log.debug("%s: still down: %s; retry in %.1f s", self.name, reason, delay)

    async def _supervise(self) -> None:
        delay = self.reconnect_min_s
        while True:
            try:
                if self.ws_url is not None:
                    await self._ws_session()
                else:
                    await self._http_session()
                delay = self.reconnect_min_s  # the link was up: start the next outage from the bottom
                reason = self.last_error or "connection closed"
            except (OSError, TimeoutError, WebSocketException, httpx.HTTPError, RemoteControlError) as exc:
                reason = str(exc) or type(exc).__name__
            self._outage(reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max_s)
            self._set_state(LinkState.RECONNECTING, "retrying")

    async def _ws_session(self) -> None:
        assert self.ws_url is not None
        ws = await connect(self.ws_url, open_timeout=self.timeout_s, proxy=None, compression=None,
                           ping_interval=5.0, ping_timeout=5.0, close_timeout=self.timeout_s)
        self._ws = ws
        self.connects += 1
        self._set_state(LinkState.UP, f"websocket {self.ws_url}")
        try:
            async for message in ws:
                self._on_ws_message(message)
            self.last_error = "websocket closed by Unreal"
        except ConnectionClosed as exc:
            self.last_error = f"websocket closed: {exc}"
        finally:
            await self._close_ws(self.last_error or "websocket closed")

    async def _http_session(self) -> None:
        self._http_lost.clear()
        await self._request("GET", "/remote/info", None, force_http=True)
        self.connects += 1
        self._set_state(LinkState.UP, f"http {self.http_url}")
        await self._http_lost.wait()

    async def _close_ws(self, reason: str) -> None:
        ws, self._ws = self._ws, None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))
        if ws is not None:
            with swallowed(log, "closing a broken Remote Control WebSocket"):
                async with asyncio.timeout(self.timeout_s):
                    await ws.close()

    def _on_ws_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            log.debug("%s: ignoring a non-JSON WebSocket message", self.name)
            return
        if not isinstance(data, dict):
            return
        request_id = data.get("RequestId", data.get("Id"))
        future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is not None and not future.done():
            code = data.get("ResponseCode")
            future.set_result((code if isinstance(code, int) else 0, data.get("ResponseBody")))

    # --- requests ---------------------------------------------------------------------------
    async def async_set_preset_property(self, preset: str, label: str, value: Any) -> Any:
        """Set an exposed property of a Remote Control preset by its label."""
        item = preset_property_request(preset, label, value)
        return await self._request("PUT", item["URL"], item["Body"])

    async def async_set_object_property(self, object_path: str, property_name: str, value: Any,
                                  access: str = "WRITE_ACCESS", transaction: bool = False) -> Any:
        """Write one property of an object by path (``access`` e.g. WRITE_TRANSACTION_ACCESS)."""
        item = object_property_request(object_path, property_name, value, access, transaction)
        return await self._request("PUT", item["URL"], item["Body"])

    async def async_get_object_property(self, object_path: str, property_name: str) -> Any:
        """Read one property of an object; returns its value."""
        body = {"objectPath": object_path, "propertyName": property_name, "access": "READ_ACCESS"}
        reply = await self._request("PUT", "/remote/object/property", body)
        return reply.get(property_name) if isinstance(reply, dict) else reply

    async def async_call_function(self, object_path: str, function_name: str,
                            parameters: Mapping[str, Any] | None = None, transaction: bool = False) -> Any:
        """Call a function on an object; returns Unreal's reply (e.g. {"ReturnValue": ...})."""
        item = function_call_request(object_path, function_name, parameters, transaction)
        return await self._request("PUT", item["URL"], item["Body"])

    async def async_batch(self, requests: Sequence[Mapping[str, Any]]) -> list[BatchResponse]:
        """Send several requests (dicts with URL, Verb, Body) as one ``/remote/batch``.

        Items are numbered 0..n-1 as RequestId. A refused item does not raise: check ``ok``.
        """
        items = [{"RequestId": i, "URL": r["URL"], "Verb": r.get("Verb", "PUT"), "Body": r.get("Body")}
                 for i, r in enumerate(requests)]
        reply = await self._request("PUT", "/remote/batch", {"Requests": items})
        answers = reply.get("Responses", []) if isinstance(reply, dict) else []
        return [BatchResponse(int(a.get("RequestId", -1)), int(a.get("ResponseCode", 0)),
                              a.get("ResponseBody")) for a in answers if isinstance(a, dict)]

    async def async_get_presets(self) -> list[dict[str, Any]]:
        """The Remote Control presets Unreal knows (each with Name, ID, Path)."""
        reply = await self._request("GET", "/remote/presets", None)
        presets = reply.get("Presets", []) if isinstance(reply, dict) else []
        return [p for p in presets if isinstance(p, dict)]

    async def _request(self, verb: str, url: str, body: Any, *, force_http: bool = False) -> Any:
        self.requests += 1
        started = time.perf_counter()
        use_ws = self._ws is not None and not force_http
        self.last_transport = "websocket" if use_ws else "http"
        try:
            async with asyncio.timeout(self.timeout_s):
                if use_ws:
                    status, reply = await self._ws_request(verb, url, body)
                    text = _body_text(reply)
                else:
                    status, text = await self._http_request(verb, url, body)
                    reply = json.loads(text) if text.strip() else None
        except TimeoutError:
            self.timeouts += 1
            if self.ws_url is None:
                self._http_lost.set()
            raise self._failed(RemoteControlTimeout(
                self.name, verb, url, None, f"no answer within {self.timeout_s:g} s")) from None
        except (httpx.HTTPError, OSError, ConnectionClosed) as exc:
            self.failures += 1
            if self.ws_url is None:
                self._http_lost.set()
            raise self._failed(RemoteControlUnavailable(
                self.name, verb, url, None, str(exc) or type(exc).__name__)) from None
        except RemoteControlUnavailable as exc:
            self.failures += 1
            raise self._failed(exc) from None
        except ValueError:
            status, reply = status, text  # a 2xx body that is not JSON: hand it over as text
        self.rtt_ms = (time.perf_counter() - started) * 1000.0
        if not 200 <= status < 300:
            self.refused += 1
            raise self._failed(RemoteControlError(self.name, verb, url, status, text))
        self.answered += 1
        return reply

    async def _ws_request(self, verb: str, url: str, body: Any) -> tuple[int, Any]:
        ws = self._ws
        if ws is None:
            raise RemoteControlUnavailable(self.name, verb, url, None, "websocket not connected")
        request_id = next(self._ids)
        future: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"MessageName": "http", "Parameters": {"Url": url, "Verb": verb, "Body": body},
                   "Id": request_id}
        try:
            await ws.send(json.dumps(message))
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def _http_request(self, verb: str, url: str, body: Any) -> tuple[int, str]:
        if self._http is None:
            raise RemoteControlUnavailable(self.name, verb, url, None, "client not started")
        if self.ws_url is not None:
            self.http_fallbacks += 1
        response = await self._http.request(verb, url, json=body) if body is not None else \
            await self._http.request(verb, url)
        return response.status_code, response.text

    def _failed(self, error: RemoteControlError) -> RemoteControlError:
        """Record an error for the operator (verbatim), rate-limited per URL on the event queue."""
        self.last_error = error.body
        held_back = self._limiter.check(f"{error.verb} {error.url} {error.status}")
        if held_back is not None:
            self.events.post(Level.ERROR, self.name, "error", with_suppressed(error.summary, held_back))
        return error
