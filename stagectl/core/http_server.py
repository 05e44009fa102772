"""The project's small HTTP server for emulators and tests (loopback use), on aiohttp.

aiohttp's low-level server (``aiohttp.web.Server`` with a ``ServerRunner`` and a ``TCPSite``) runs
on the caller's running loop (the stage's I/O loop); aiohttp does the HTTP/1.1 framing: keep-alive,
pipelining, ``Connection: close``, request lines and headers (malformed ones are answered 400 and
the connection is closed, or, with ``drop_malformed``, the connection is just closed). On top of it:

* one application handler, ``handler(request) -> HttpResponse`` (plain or async), given a
  :class:`HttpRequest` with the whole body; a handler that raises is answered 500 and counted;
* bodies need ``Content-Length`` (chunked bodies are refused with 411) and at most ``max_body``
  bytes (413); both refusals close the connection;
* answers say ``HTTP/1.1`` (also to an HTTP/1.0 request, as RFC 9110 asks of an HTTP/1.1 server);
* :class:`ServerAuth` (optional): every request must carry the credentials, by HTTP Basic and/or
  Digest (RFC 7616, MD5, ``qop=auth``); without them, or with wrong ones: 401 with a
  ``WWW-Authenticate`` challenge per accepted scheme;
* :class:`Faults` for tests, read on every request: ``delay_s`` before each answer, ``hang`` (read
  the request, never answer), ``fail_status`` (answer everything with that status and ``fail_body``);
* a stop that closes every connection at once: the listener, idle keep-alive connections, and
  requests held by ``hang`` or ``delay_s`` (their connections are dropped unanswered).
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

from aiohttp import HttpVersion11, web, web_protocol
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from multidict import CIMultiDict

from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.text import escape_untrusted

log = logging.getLogger("stagectl.http")

MAX_BODY = 1 << 20
"""Default largest request body in bytes (larger: 413 and the connection is closed)."""
SHUTDOWN_S = 0.25
"""Longest a stop waits for a handler still running (held requests are released at once)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(raw: bytes | str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (which Python's parser accepts by default)."""
    return json.loads(raw, parse_constant=_reject_constant)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as received. ``path`` is percent-decoded; header names match in any case."""

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
        ha2 = _md5(f"{request.method}:{uri}")
        if fields.get("qop") == "auth":
            counter, cnonce = fields.get("nc", ""), fields.get("cnonce", "")
            expected = _md5(f"{ha1}:{self.nonce}:{counter}:{cnonce}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{self.nonce}:{ha2}")
        return hmac.compare_digest(expected, fields.get("response", ""))


Handler = Callable[[HttpRequest], "HttpResponse | Awaitable[HttpResponse]"]
Refusal = Callable[[int, str], HttpResponse]
"""The answer to a request the server refuses itself (status, reason): 411, 413."""


class _Dropped(Exception):
    """The request is dropped unanswered (server stopping while it was held)."""


class _QuietLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's per-connection log: a malformed request is counted and warned about once by the
    server; aiohttp's own traceback of it goes to debug."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        self.debug(msg, *args, exc_info=exc_info, **kwargs)


class HttpServer:
    """An HTTP/1.1 server on ``host``:``port`` (0: any free port; see ``port`` after start).

    Counters: ``requests`` (requests read whole), ``answered``, ``bad_requests`` (malformed,
    chunked, oversized), ``handler_errors`` (handler raised), ``hung`` (held by the hang fault),
    ``unauthorized`` (answered 401). ``handler``, ``faults`` and ``auth`` may change while running.
    ``refusal`` builds the answer to a chunked (411) or oversized (413) request; ``drop_malformed``
    closes a connection that sends something that is not HTTP instead of answering it 400.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, *,
                 max_body: int = MAX_BODY, faults: Faults | None = None, name: str = "http",
                 auth: ServerAuth | None = None, refusal: Refusal | None = None,
                 drop_malformed: bool = False) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self.faults = faults if faults is not None else Faults()
        self.name = name
        self.auth = auth
        self.refusal: Refusal = refusal if refusal is not None else HttpResponse.text
        self.drop_malformed = drop_malformed
        self.requests = 0
        self.answered = 0
        self.bad_requests = 0
        self.handler_errors = 0
        self.hung = 0
        self.unauthorized = 0
        self._runner: web.ServerRunner | None = None
        self._release = asyncio.Event()
        self._limiter = RateLimiter(1.0)

    @property
    def url(self) -> str:
        """``http://host:port`` as bound."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._runner is not None

    async def async_start(self) -> int:
        """Bind and listen on the running loop; returns the bound port."""
        if self._runner is not None:
            return self.port
        self._release = asyncio.Event()
        # lingering_time=0: a refused request's unread body is not waited for before closing.
        server = web.Server(self._serve, request_factory=self._make_request,
                            logger=_QuietLog(logging.getLogger("stagectl.http.aiohttp"), {}),
                            access_log=None, lingering_time=0)
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        return self.port

    async def async_stop(self) -> None:
        """Stop listening and close every connection now, dropping held requests unanswered."""
        runner, self._runner = self._runner, None
        self._release.set()
        if runner is not None:
            await runner.cleanup()

    # --- requests --------------------------------------------------------------------------------

    def _make_request(self, message: RawRequestMessage, payload: StreamReader,
                      protocol: web.RequestHandler, writer: AbstractStreamWriter,
                      task: asyncio.Task[None]) -> web.BaseRequest:
        """aiohttp's request, answered as HTTP/1.1; a malformed one is counted (and maybe dropped)."""
        if message is web_protocol.ERROR:  # what aiohttp's parser could not read arrives as this message
            self.bad_requests += 1
            self._warn("bad-request", f"{self.name}: refused a malformed request (bad request line, "
                                      "header or Content-Length)")
            if self.drop_malformed and protocol.transport is not None:
                protocol.transport.close()
        if message.version < HttpVersion11:
            message = message._replace(version=HttpVersion11)
        return web.BaseRequest(message, payload, protocol, writer, task, asyncio.get_running_loop(),
                               client_max_size=self.max_body)

    async def _serve(self, raw: web.BaseRequest) -> web.StreamResponse:
        if "chunked" in raw.headers.get("Transfer-Encoding", "").lower():
            return self._refuse(411, "chunked request bodies are not supported: send Content-Length")
        length = raw.content_length or 0
        if length > self.max_body:
            return self._refuse(413, f"request body of {length} bytes is over {self.max_body}")
        body = await raw.read()
        request = HttpRequest(raw.method.upper(), raw.raw_path, raw.path, raw.rel_url.raw_query_string,
                              raw.headers, body)
        self.requests += 1
        try:
            response = await self._respond(request)
        except _Dropped:
            if raw.transport is not None:
                raw.transport.close()
            return web.Response(status=503)  # never written: the connection is closed
        self.answered += 1
        return self._to_aiohttp(response, keep_alive=raw.keep_alive)

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        faults = self.faults
        if faults.hang:
            self.hung += 1
            await self._release.wait()
            raise _Dropped
        if faults.delay_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), faults.delay_s)
            if self._release.is_set():
                raise _Dropped
        auth = self.auth
        if auth is not None and not auth.accepts(request):
            self.unauthorized += 1
            return HttpResponse(401, HttpResponse.json(401, {"error": "authentication required"}).body,
                                headers=auth.challenges())
        if faults.fail_status is not None:
            body = faults.fail_body
            return HttpResponse(faults.fail_status, body) if isinstance(body, bytes) else \
                HttpResponse.json(faults.fail_status, body)
        return await self._answer(request)

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

    def _refuse(self, status: int, message: str) -> web.StreamResponse:
        self.bad_requests += 1
        self._warn("bad-request", f"{self.name}: refused a request: {message}")
        response = self._to_aiohttp(self.refusal(status, message), keep_alive=False)
        response.force_close()
        return response

    @staticmethod
    def _to_aiohttp(response: HttpResponse, *, keep_alive: bool) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict({"Content-Type": response.content_type})
        for name, value in response.headers:
            headers.add(name, value)
        if keep_alive:
            headers["Connection"] = "keep-alive"
        return web.Response(status=response.status, body=response.body, headers=headers)

    def _warn(self, key: str, message: str) -> None:
        held_back = self._limiter.check(key)
        if held_back is not None:
            log.warning("%s", with_suppressed(escape_untrusted(message), held_back))
