"""A small HTTP/1.1 server on asyncio streams for emulators and tests (loopback use).

What it speaks: keep-alive (HTTP/1.1 default, ``Connection: close`` honoured), request bodies
with ``Content-Length`` (chunked bodies are refused with 411), any method (the handler decides;
emulators use GET, PUT, POST and PATCH), query strings, a maximum body size (413), and a clean
shutdown that closes every connection, including requests held by the "hang" fault.

The application is one handler: ``handler(request) -> HttpResponse`` (plain or async). A
handler that raises is answered with 500 and counted; nothing a client sends can stop the server.

Authentication (:class:`ServerAuth`, optional): every request must carry the credentials, by
HTTP Basic and/or Digest (RFC 7616, MD5, ``qop=auth``) as chosen; a request without them, or with
wrong ones, is answered 401 with a ``WWW-Authenticate`` challenge per accepted scheme.

Faults for tests (:class:`Faults`, changeable while running): ``delay_s`` before every answer,
``hang`` (read the request, never answer), ``fail_status`` (answer every request with that
status and ``fail_body``).

It is meant to replace the private server in ``stagectl/unreal/rc_emulator.py`` later: that
emulator's ``handle(verb, url, body) -> (status, body)`` maps onto a handler directly.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import inspect
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from urllib.request import parse_http_list

from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.text import escape_untrusted

log = logging.getLogger("stagectl.led_wall")

MAX_BODY = 1 << 20
"""Default largest request body in bytes (larger: 413 and the connection is closed)."""
MAX_HEADERS = 100
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
           411: "Length Required", 413: "Payload Too Large", 422: "Unprocessable Entity",
           500: "Internal Server Error", 503: "Service Unavailable"}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(raw: bytes | str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (which Python's parser accepts by default)."""
    return json.loads(raw, parse_constant=_reject_constant)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as received. ``path`` is percent-decoded; header names are lower case."""

    method: str
    target: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters (``?a=1&b`` -> ``{"a": ["1"], "b": [""]}``), blank values kept."""
        return parse_qs(self.query_string, keep_blank_values=True)

    def json(self) -> Any:
        """The body as JSON (None when empty); ValueError when it is not JSON (NaN refused)."""
        if not self.body.strip():
            return None
        return loads_strict(self.body)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An answer: status, body bytes, content type and any extra header lines (name, value)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, data: Any) -> HttpResponse:
        """A JSON answer (``data`` None: empty body)."""
        return cls(status, b"" if data is None else json.dumps(data).encode())

    @classmethod
    def text(cls, status: int, text: str) -> HttpResponse:
        """A plain-text answer."""
        return cls(status, text.encode(), "text/plain; charset=utf-8")


@dataclass
class Faults:
    """Misbehaviour on demand; read on every request, so tests may change it while running."""

    delay_s: float = 0.0
    """Seconds to wait before answering each request."""
    hang: bool = False
    """Read requests and never answer them (until the server stops)."""
    fail_status: int | None = None
    """Answer every request with this status (and ``fail_body``) instead of the handler's answer."""
    fail_body: Any = field(default_factory=lambda: {"error": "fault injected by the emulator"})
    """JSON body sent with ``fail_status`` (bytes are sent as they are)."""


AUTH_SCHEMES = ("basic", "digest")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass
class ServerAuth:
    """Credentials a server requires, and the schemes (``basic``, ``digest``) it accepts."""

    username: str
    password: str
    schemes: tuple[str, ...] = ("basic",)
    realm: str = "stagectl-emulator"
    nonce: str = field(default_factory=lambda: secrets.token_hex(16))
    """The Digest nonce this server issues (one per server; a test may change it to make it stale)."""

    def __post_init__(self) -> None:
        unknown = [s for s in self.schemes if s not in AUTH_SCHEMES]
        if unknown or not self.schemes:
            raise ValueError(f"auth schemes must be among {', '.join(AUTH_SCHEMES)}, not {self.schemes!r}")

    def challenges(self) -> tuple[tuple[str, str], ...]:
        """The ``WWW-Authenticate`` header lines of a 401, Digest first."""
        out = []
        if "digest" in self.schemes:
            out.append(("WWW-Authenticate", f'Digest realm="{self.realm}", qop="auth", '
                                            f'nonce="{self.nonce}", algorithm=MD5'))
        if "basic" in self.schemes:
            out.append(("WWW-Authenticate", f'Basic realm="{self.realm}", charset="UTF-8"'))
        return tuple(out)

    def accepts(self, request: HttpRequest) -> bool:
        """True when the request's ``Authorization`` carries these credentials by an accepted scheme."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme not in self.schemes:
            return False
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return hmac.compare_digest(decoded.encode(), f"{self.username}:{self.password}".encode())
        return self._digest_ok(request, value)

    def _digest_ok(self, request: HttpRequest, value: str) -> bool:
        fields: dict[str, str] = {}
        for item in parse_http_list(value):
            key, sep, raw = item.strip().partition("=")
            if sep:
                fields[key.strip().lower()] = raw.strip().strip('"')
        if fields.get("username") != self.username or fields.get("realm") != self.realm \
                or fields.get("nonce") != self.nonce or fields.get("algorithm", "MD5").upper() != "MD5":
            return False
        uri = fields.get("uri", "")
        if unquote(urlsplit(uri).path) != request.path:
            return False
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"{request.method}:{fields.get('uri', '')}")
        if fields.get("qop") == "auth":
            counter, cnonce = fields.get("nc", ""), fields.get("cnonce", "")
            expected = _md5(f"{ha1}:{self.nonce}:{counter}:{cnonce}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{self.nonce}:{ha2}")
        return hmac.compare_digest(expected, fields.get("response", ""))


Handler = Callable[[HttpRequest], "HttpResponse | Awaitable[HttpResponse]"]


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HttpServer:
    """An HTTP/1.1 server on ``host``:``port`` (0: any free port; see ``port`` after start).

    Counters: ``requests`` (complete requests read), ``answered``, ``bad_requests`` (malformed,
    oversized), ``handler_errors`` (handler raised), ``hung`` (held by the hang fault),
    ``unauthorized`` (answered 401). ``auth`` (changeable while running): credentials required.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, *,
                 max_body: int = MAX_BODY, faults: Faults | None = None, name: str = "http",
                 auth: ServerAuth | None = None) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self.faults = faults if faults is not None else Faults()
        self.name = name
        self.requests = 0
        self.answered = 0
        self.bad_requests = 0
        self.handler_errors = 0
        self.hung = 0
        self.unauthorized = 0
        self.auth = auth
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._release = asyncio.Event()
        self._limiter = RateLimiter(1.0)

    @property
    def url(self) -> str:
        """``http://host:port`` as bound."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._server is not None

    async def async_start(self) -> int:
        """Bind and listen; returns the bound port."""
        if self._server is not None:
            return self.port
        self._release = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def async_stop(self) -> None:
        """Stop listening, release hung requests and close every connection."""
        server, self._server = self._server, None
        self._release.set()
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        tasks = list(self._connections)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await server.wait_closed()

    # --- connections ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        self._writers.add(writer)
        try:
            while self._server is not None and await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent something we cannot frame: drop the connection
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            request, keep = await self._read_request(reader)
        except _BadRequest as exc:
            self.bad_requests += 1
            self._warn("bad-request", f"{self.name}: refused a request: {exc}")
            await self._write(writer, HttpResponse.text(exc.status, str(exc)), False)
            return False
        if request is None:
            return False
        self.requests += 1
        faults = self.faults
        if faults.hang:
            self.hung += 1
            await self._release.wait()
            return False
        if faults.delay_s > 0:
            await asyncio.sleep(faults.delay_s)
        auth = self.auth
        if auth is not None and not auth.accepts(request):
            self.unauthorized += 1
            response = HttpResponse.json(401, {"error": "authentication required"})
            response = HttpResponse(401, response.body, response.content_type, auth.challenges())
        elif faults.fail_status is not None:
            body = faults.fail_body
            response = HttpResponse(faults.fail_status, body) if isinstance(body, bytes) else \
                HttpResponse.json(faults.fail_status, body)
        else:
            response = await self._answer(request)
        await self._write(writer, response, keep)
        self.answered += 1
        return keep

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        try:
            result = self.handler(request)
            if inspect.isawaitable(result):
                result = await result
            if not isinstance(result, HttpResponse):
                raise TypeError(f"handler returned {type(result).__name__}, not HttpResponse")
            return result
        except Exception as exc:  # a handler bug must not take the server down
            self.handler_errors += 1
            self._warn("handler", f"{self.name}: {request.method} {request.path} failed: "
                                  f"{type(exc).__name__}: {exc}")
            return HttpResponse.json(500, {"error": f"{type(exc).__name__}: {exc}"})

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[HttpRequest | None, bool]:
        line = await reader.readline()
        if not line.strip():
            return None, False
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, f"malformed request line {line[:80]!r}")
        method, target, version = parts
        headers: dict[str, str] = {}
        while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
            if len(headers) >= MAX_HEADERS:
                raise _BadRequest(400, f"more than {MAX_HEADERS} header lines")
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise _BadRequest(400, f"malformed header line {raw[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "chunked request bodies are not supported: send Content-Length")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(400, f"bad Content-Length {headers['content-length']!r}") from None
        if length < 0:
            raise _BadRequest(400, f"bad Content-Length {length}")
        if length > self.max_body:
            raise _BadRequest(413, f"request body of {length} bytes is over {self.max_body}")
        body = await reader.readexactly(length) if length else b""
        connection = headers.get("connection", "").lower()
        keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        split = urlsplit(target)
        request = HttpRequest(method.upper(), target, unquote(split.path), split.query, headers, body)
        return request, keep

    async def _write(self, writer: asyncio.StreamWriter, response: HttpResponse, keep: bool) -> None:
        reason = REASONS.get(response.status, "Status")
        head = (f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
                f"Content-Length: {len(response.body)}\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in response.headers) +
                f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n")
        writer.write(head.encode("latin-1") + response.body)
        await writer.drain()

    def _warn(self, key: str, message: str) -> None:
        held_back = self._limiter.check(key)
        if held_back is not None:
            log.warning("%s", with_suppressed(escape_untrusted(message), held_back))
