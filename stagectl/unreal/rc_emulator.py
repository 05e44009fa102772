"""An emulator of the Unreal Remote Control API subset stagectl uses, on loopback.

Real servers on aiohttp: HTTP/1.1 (:class:`stagectl.core.http_server.HttpServer`: keep-alive,
Content-Length bodies, strict JSON) and WebSocket, on two ports like Unreal, speaking the message
shapes of docs PROTOCOLS.md "Unreal Engine". It keeps
state like Unreal: objects by path with properties, presets whose labels map to object
properties, functions whose calls are recorded, and ``/remote/batch``.

UNVERIFIED against a real Unreal (this is our imitation, written from the documented shapes):
the exact text and status of error bodies (we answer ``{"errorMessage": "..."}`` with 400 or
404); the body of a successful write (we answer 200 with an empty body over HTTP, ``null`` over
WebSocket); the ``/remote/presets`` and ``/remote/info`` body layouts; whether Unreal merges a
partial struct on write (we merge); clamping to preset metadata ranges (we clamp); the nDisplay
property paths below (``CameraSettings.Chromakey...``, ``...AutoExposureBias``). Dotted nested
property names are refused on ``/remote/object/property`` because their support in Unreal is
UNVERIFIED: address nested values through a preset label.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from stagectl.core.http_server import SHUTDOWN_S, Faults, HttpRequest, HttpResponse, HttpServer
from stagectl.unreal.rc_seed import SYSTEM_LIBRARY, default_objects, default_presets

log = logging.getLogger("stagectl.unreal")

WS_CLOSE_S = 0.5
"""Longest a stop waits for a WebSocket client to answer the close (a live client answers at once)."""


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One function call the emulator received."""

    object_path: str
    function_name: str
    parameters: dict[str, Any]


@dataclass
class _Reply:
    status: int
    body: Any = None


class _RouteError(Exception):
    """An Unreal-like error answer (status + errorMessage); never leaves this module."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _fail(status: int, message: str) -> _RouteError:
    return _RouteError(status, message)


def _field(body: Any, name: str, default: Any = None) -> Any:
    """Unreal accepts body field names case-insensitively."""
    if isinstance(body, dict):
        lowered = name.lower()
        for key, value in body.items():
            if isinstance(key, str) and key.lower() == lowered:
                return value
    return default


def _refusal(status: int, message: str) -> HttpResponse:
    """The server's own refusals (411, 413) in Unreal's error shape."""
    return HttpResponse.json(status, {"errorMessage": message})


def _conforms(current: Any, new: Any) -> bool:
    if isinstance(current, bool):
        return isinstance(new, bool)
    if isinstance(current, int | float):
        return isinstance(new, int | float) and not isinstance(new, bool)
    if isinstance(current, dict):
        return isinstance(new, dict) and all(k in current and _conforms(current[k], v)
                                             for k, v in new.items())
    return isinstance(new, type(current))


def _merged(current: Any, new: Any) -> Any:
    if isinstance(current, dict) and isinstance(new, dict):
        return {k: _merged(v, new[k]) if k in new else v for k, v in current.items()}
    return float(new) if isinstance(current, float) else new


class RemoteControlEmulator:
    """Unreal's Remote Control HTTP (``http_port``) and WebSocket (``ws_port``) servers on ``host``.

    ``hang=True`` accepts connections and messages and never answers (a wedged editor).
    Attributes for tests: ``objects``, ``presets``, ``calls``, ``http_requests``, ``ws_messages``,
    ``hung`` (requests received and never answered while hanging).
    """

    def __init__(self, host: str = "127.0.0.1", http_port: int = 0, ws_port: int = 0, *,
                 presets: dict[str, dict[str, Any]] | None = None, hang: bool = False,
                 objects: dict[str, dict[str, Any]] | None = None) -> None:
        self.host = host
        self.http_port = http_port
        self.ws_port = ws_port
        self.objects = copy.deepcopy(objects) if objects is not None else default_objects()
        self.presets = copy.deepcopy(presets) if presets is not None else default_presets()
        self.functions: dict[tuple[str, str], Callable[[dict[str, Any]], Any] | None] = {
            (SYSTEM_LIBRARY, "PrintString"): None}
        self.calls: list[RecordedCall] = []
        self.ws_messages = 0
        self._faults = Faults(hang=hang)
        self._http = HttpServer(self._serve_http, host, http_port, faults=self._faults, name="rc-emulator",
                                refusal=_refusal, drop_malformed=True)
        self._ws_hung = 0
        self._ws: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def hang(self) -> bool:
        """Accept connections and messages and never answer (a wedged editor); changeable while running."""
        return self._faults.hang

    @hang.setter
    def hang(self, value: bool) -> None:
        self._faults.hang = value

    @property
    def http_requests(self) -> int:
        """HTTP requests received whole."""
        return self._http.requests

    @property
    def hung(self) -> int:
        """Requests (HTTP and WebSocket) received and never answered while hanging."""
        return self._http.hung + self._ws_hung

    # --- lifecycle --------------------------------------------------------------------------
    async def async_start(self) -> tuple[int, int]:
        """Bind both servers on the running loop; returns (http_port, ws_port) as bound."""
        self.http_port = await self._http.async_start()
        await self.async_start_websocket()
        return self.http_port, self.ws_port

    async def async_start_websocket(self) -> int:
        """(Re)bind the WebSocket server, on the same port as before once one was bound."""
        if self._ws is not None:
            return self.ws_port
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._serve_ws)
        app.on_shutdown.append(self._close_websockets)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.ws_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.ws_port = int(runner.addresses[0][1])
        self._ws = runner
        return self.ws_port

    async def async_stop_websocket(self) -> None:
        """Close the WebSocket server and drop every WebSocket client (like Unreal quitting)."""
        runner, self._ws = self._ws, None
        if runner is not None:
            await runner.cleanup()

    async def async_stop(self) -> None:
        """Close both servers and every connection now (hung requests are dropped unanswered)."""
        await self.async_stop_websocket()
        await self._http.async_stop()

    def register_function(self, object_path: str, name: str,
                          handler: Callable[[dict[str, Any]], Any] | None = None) -> None:
        """Make ``object_path``.``name`` callable; ``handler(parameters)`` gives its ReturnValue."""
        self.objects.setdefault(object_path, {})
        self.functions[(object_path, name)] = handler

    # --- state inspection ---------------------------------------------------------------------
    def property_value(self, object_path: str, dotted: str) -> Any:
        """The value at a dotted property path of an object (KeyError when absent)."""
        value: Any = self.objects[object_path]
        for part in dotted.split("."):
            value = value[part]
        return value

    def preset_value(self, preset: str, label: str) -> Any:
        """The value behind a preset label (the first property when it drives several)."""
        entry = self.presets[preset]["properties"][label]
        paths = entry["property"] if isinstance(entry["property"], list) else [entry["property"]]
        return self.property_value(entry["object"], paths[0])

    # --- request handling ---------------------------------------------------------------------
    def handle(self, verb: str, url: str, body: Any) -> tuple[int, Any]:
        """Answer one Remote Control request: (status, JSON body or None)."""
        try:
            reply = self._route(verb.upper(), unquote(urlsplit(url).path), body)
        except _RouteError as exc:
            return exc.status, {"errorMessage": str(exc)}
        return reply.status, reply.body

    def _route(self, verb: str, path: str, body: Any) -> _Reply:
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["remote"]:
            raise _fail(404, f"Route {verb} {path} is not a Remote Control route.")
        rest = parts[1:]
        routes: dict[tuple[str, ...], Callable[[], _Reply]] = {
            ("GET", "info"): lambda: _Reply(200, {"HttpRoutes": [], "ActivePreset": None}),
            ("GET", "presets"): self._list_presets,
            ("PUT", "object", "property"): lambda: self._object_property(body),
            ("PUT", "object", "call"): lambda: self._call(body),
            ("PUT", "batch"): lambda: self._batch(body),
        }
        handler = routes.get((verb, *rest))
        if handler is not None:
            return handler()
        if len(rest) >= 2 and rest[0] == "preset":
            return self._preset_route(verb, rest[1], rest[2:], body)
        raise _fail(404, f"Route {verb} {path} was not found.")

    def _list_presets(self) -> _Reply:
        items = [{"Name": name, "ID": f"{zlib.crc32(name.encode()):08X}",
                  "Path": f"/Game/RemoteControl/{name}.{name}"} for name in self.presets]
        return _Reply(200, {"Presets": items})

    def _preset(self, name: str) -> dict[str, Any]:
        preset = self.presets.get(name)
        if preset is None:
            raise _fail(404, f"Preset {name} could not be found.")
        return preset

    def _preset_route(self, verb: str, name: str, rest: list[str], body: Any) -> _Reply:
        preset = self._preset(name)
        if not rest and verb == "GET":
            exposed = [{"DisplayName": label, "UnderlyingProperty": {"Name": str(e["property"])}}
                       for label, e in preset["properties"].items()]
            functions = [{"DisplayName": label} for label in preset.get("functions", {})]
            return _Reply(200, {"Preset": {"Name": name, "Groups": [
                {"Name": "Default", "ExposedProperties": exposed, "ExposedFunctions": functions}]}})
        if len(rest) == 2 and rest[0] == "property":
            entry = preset["properties"].get(rest[1])
            if entry is None:
                raise _fail(404, f"Property {rest[1]} is not exposed on preset {name}.")
            if verb == "GET":
                return _Reply(200, {"PropertyValues": [
                    {"ObjectPath": entry["object"], "PropertyValue": self.preset_value(name, rest[1])}]})
            if verb == "PUT":
                self._write_exposed(entry, rest[1], _field(body, "PropertyValue"))
                return _Reply(200)
        if len(rest) == 2 and rest[0] == "function" and verb == "PUT":
            fn = preset.get("functions", {}).get(rest[1])
            if fn is None:
                raise _fail(404, f"Function {rest[1]} is not exposed on preset {name}.")
            return self._call({"objectPath": fn["object"], "functionName": fn["function"],
                               "parameters": _field(body, "Parameters", {})})
        raise _fail(404, f"Route {verb} /remote/preset/{name}/{'/'.join(rest)} was not found.")

    def _write_exposed(self, entry: dict[str, Any], label: str, value: Any) -> None:
        kind = entry.get("type")
        ok = {"bool": isinstance(value, bool),
              "float": isinstance(value, int | float) and not isinstance(value, bool),
              "struct": isinstance(value, dict)}.get(str(kind), value is not None)
        if not ok:
            raise _fail(400, f"Failed to deserialize the value for property {label}: expected {kind}.")
        if kind == "float":
            value = min(max(float(value), entry.get("min", float("-inf"))), entry.get("max", float("inf")))
        paths = entry["property"] if isinstance(entry["property"], list) else [entry["property"]]
        for dotted in paths:
            self._set_nested(entry["object"], dotted, value, label)

    def _set_nested(self, object_path: str, dotted: str, value: Any, label: str) -> None:
        props = self._object(object_path)
        *parents, leaf = dotted.split(".")
        for part in parents:
            props = props[part]
        if not _conforms(props[leaf], value):
            raise _fail(400, f"Failed to deserialize the value for property {label}.")
        props[leaf] = _merged(props[leaf], value)

    def _object(self, object_path: Any) -> dict[str, Any]:
        props = self.objects.get(object_path) if isinstance(object_path, str) else None
        if props is None:
            raise _fail(400, f"Object: {object_path} does not exist.")
        return props

    def _object_property(self, body: Any) -> _Reply:
        path = _field(body, "objectPath")
        props = self._object(path)
        name = _field(body, "propertyName")
        access = str(_field(body, "access", "READ_ACCESS")).upper()
        if name is not None and (not isinstance(name, str) or name not in props):
            raise _fail(400, f"Object: {path} does not have a property named {name}.")
        if access == "READ_ACCESS":
            return _Reply(200, {name: props[name]} if name is not None else dict(props))
        if access not in ("WRITE_ACCESS", "WRITE_TRANSACTION_ACCESS", "WRITE_MANUAL_TRANSACTION_ACCESS"):
            raise _fail(400, f"Unknown access mode {access}.")
        value = _field(body, "propertyValue")
        if not isinstance(value, dict) or (name is not None and name not in value):
            raise _fail(400, f"Missing propertyValue for property {name} on {path}.")
        for key, new in (value.items() if name is None else [(name, value[name])]):
            if key not in props or not _conforms(props[key], new):
                raise _fail(400, f"Failed to deserialize the value for property {key} on {path}.")
            props[key] = _merged(props[key], new)
        return _Reply(200)

    def _call(self, body: Any) -> _Reply:
        path = _field(body, "objectPath")
        self._object(path)
        name = _field(body, "functionName")
        key = (path, name)
        if key not in self.functions:
            raise _fail(400, f"Object: {path} does not have a function named {name}.")
        parameters = _field(body, "parameters", {}) or {}
        if not isinstance(parameters, dict):
            raise _fail(400, f"Parameters for function {name} must be an object.")
        self.calls.append(RecordedCall(str(path), str(name), dict(parameters)))
        handler = self.functions[key]
        return _Reply(200, {"ReturnValue": handler(parameters)} if handler is not None else {})

    def _batch(self, body: Any) -> _Reply:
        requests = _field(body, "Requests")
        if not isinstance(requests, list):
            raise _fail(400, "Batch body must carry a Requests array.")
        responses = []
        for item in requests:
            status, reply = self.handle(str(_field(item, "Verb", "GET")), str(_field(item, "URL", "")),
                                        _field(item, "Body"))
            responses.append({"RequestId": _field(item, "RequestId"), "ResponseCode": status,
                              "ResponseBody": reply})
        return _Reply(200, {"Responses": responses})

    # --- transports ---------------------------------------------------------------------------
    def _serve_http(self, request: HttpRequest) -> HttpResponse:
        try:
            body = request.json()
        except ValueError:
            status, reply = 400, {"errorMessage": "Request body is not valid JSON."}
        else:
            status, reply = self.handle(request.method, request.target, body)
        return HttpResponse.json(status, reply)

    async def _serve_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, timeout=WS_CLOSE_S)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                self.ws_messages += 1
                if self.hang:
                    self._ws_hung += 1
                    continue
                reply = self._ws_reply(message.data)
                if reply is not None:
                    await ws.send_str(json.dumps(reply))
        finally:
            self._sockets.discard(ws)
        return ws

    async def _close_websockets(self, _app: web.Application) -> None:
        await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY) for ws in list(self._sockets)),
                             return_exceptions=True)

    def _ws_reply(self, message: str | bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(message)
        except ValueError:
            return None
        request_id = _field(data, "Id")
        if _field(data, "MessageName") != "http":
            if request_id is None:
                return None
            return {"RequestId": request_id, "ResponseCode": 400,
                    "ResponseBody": {"errorMessage": "Unsupported MessageName."}}
        params = _field(data, "Parameters", {})
        status, body = self.handle(str(_field(params, "Verb", "GET")), str(_field(params, "Url", "")),
                                   _field(params, "Body"))
        return {"RequestId": request_id, "ResponseCode": status, "ResponseBody": body}
