"""An emulator of the Unreal Remote Control API subset stagectl uses, on loopback.

Real servers: HTTP/1.1 (asyncio streams; keep-alive, Content-Length bodies) and WebSocket (the
``websockets`` library) speaking the message shapes of docs PROTOCOLS.md "Unreal Engine". It keeps
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
import contextlib
import copy
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from stagectl.unreal.rc_seed import SYSTEM_LIBRARY, default_objects, default_presets

log = logging.getLogger("stagectl.unreal")

MAX_BODY = 1 << 20
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large"}


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
        self.hang = hang
        self.objects = copy.deepcopy(objects) if objects is not None else default_objects()
        self.presets = copy.deepcopy(presets) if presets is not None else default_presets()
        self.functions: dict[tuple[str, str], Callable[[dict[str, Any]], Any] | None] = {
            (SYSTEM_LIBRARY, "PrintString"): None}
        self.calls: list[RecordedCall] = []
        self.http_requests = 0
        self.ws_messages = 0
        self.hung = 0
        self._http: asyncio.Server | None = None
        self._ws: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._release = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------
    async def async_start(self) -> tuple[int, int]:
        """Bind both servers; returns (http_port, ws_port) as bound."""
        self._release = asyncio.Event()
        self._http = await asyncio.start_server(self._serve_http, self.host, self.http_port)
        self.http_port = int(self._http.sockets[0].getsockname()[1])
        await self.async_start_websocket()
        return self.http_port, self.ws_port

    async def async_start_websocket(self) -> int:
        """(Re)bind the WebSocket server, on the same port as before once one was bound."""
        self._ws = await serve(self._serve_ws, self.host, self.ws_port, compression=None)
        self.ws_port = int(next(iter(self._ws.sockets)).getsockname()[1])
        return self.ws_port

    async def async_stop_websocket(self) -> None:
        """Close the WebSocket server and drop every WebSocket client (like Unreal quitting)."""
        if self._ws is not None:
            self._ws.close(close_connections=True)
            await self._ws.wait_closed()
            self._ws = None

    async def async_stop(self) -> None:
        """Close both servers, release hung requests and drop every connection."""
        self._release.set()
        await self.async_stop_websocket()
        if self._http is not None:
            self._http.close()
            for writer in list(self._writers):
                writer.close()
            self._http = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)

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
    async def _hang(self) -> None:
        self.hung += 1
        await self._release.wait()

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._writers.add(writer)
        try:
            while await self._http_exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _http_exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        line = await reader.readline()
        if not line.strip():
            return False
        verb, target, version = line.decode("latin-1").split()
        headers: dict[str, str] = {}
        while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "transfer-encoding" in headers:
            await self._respond(writer, 411, {"errorMessage": "Content-Length is required."}, False)
            return False
        length = int(headers.get("content-length", "0"))
        if length > MAX_BODY:
            await self._respond(writer, 413, {"errorMessage": "Request body too large."}, False)
            return False
        raw_body = await reader.readexactly(length) if length else b""
        self.http_requests += 1
        if self.hang:
            await self._hang()
            return False
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            status, reply = 400, {"errorMessage": "Request body is not valid JSON."}
        else:
            status, reply = self.handle(verb, target, body)
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        await self._respond(writer, status, reply, keep)
        return keep

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, body: Any, keep: bool) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: {'keep-alive' if keep else 'close'}\r\n\r\n")
        writer.write(head.encode("latin-1") + payload)
        await writer.drain()

    async def _serve_ws(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                self.ws_messages += 1
                if self.hang:
                    self.hung += 1
                    continue
                reply = self._ws_reply(message)
                if reply is not None:
                    await connection.send(json.dumps(reply))
        except ConnectionClosed:
            pass

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
