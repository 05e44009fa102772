"""The floor's remote: an aiohttp app served from the stage's own I/O loop (no second loop, no thread
per client).

:class:`WebServer` binds exactly the configured address (``[web] listen``), over HTTPS when a
certificate is given. Every route needs a session (:mod:`stagectl.web.auth`): without one the answer is
HTTP 401 with the login form as its body (the WebSocket: a bare 401). Pages are made by
:mod:`stagectl.web.pages`; a form POSTs to ``/action/<name>`` (:mod:`stagectl.web.forms`) with the
session's CSRF token and comes back to its page (303), or, sent by the page's script, gets JSON. The
WebSocket (``/ws``) is accepted only with a session and an ``Origin`` that is this server's own; it
carries the live state (:mod:`stagectl.web.live`). A port that is taken, or a certificate that does
not load, leaves the stage running without the remote: an event and the status say why.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import socket
import ssl
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from stagectl.config.web import WebConfig
from stagectl.control.protocol import ControlActions
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.web import pages
from stagectl.web.auth import COOKIE, IDLE_S, Session, WebAuth, refusal_text
from stagectl.web.forms import ACTIONS
from stagectl.web.live import Client, LiveState, StateFn
from stagectl.web.report import report_page

log = logging.getLogger("stagectl.web")
SOURCE = "web"
#: Largest request body accepted (a form with a note), bytes.
MAX_BODY = 64 * 1024
#: How long a page waits for a take-flag write before it comes back (seconds).
WRITE_WAIT_S = 5.0
PAGES = ("/", "/dp", "/script", "/report")
STATIC = {"web.js": "text/javascript", "web.css": "text/css"}
SESSION = web.RequestKey("session", Session)


def _static(name: str) -> str:
    return resources.files("stagectl.web").joinpath("static", name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class WebStatus:
    """The remote in ``--status-json``: where it listens, clients, logins, refusals and errors."""

    listen: str
    urls: tuple[str, ...]
    running: bool
    https: bool
    clients: int
    sessions: int
    logins: int
    failed_logins: int
    lockouts: int
    requests: int
    refused: int
    errors: int
    pushes: int
    error: str | None


class WebServer:
    """The remote's HTTP + WebSocket server on the stage's I/O loop (see the module docstring).

    Args:
        config: the ``[web]`` table.
        actions: the stage's control actions (the object OSC control-in drives).
        state: the stage's state for the pages (JSON values; called on the loop).
        takes_folder: the take store's folder (None: no take recorder).
        stage_name: shown on every page.
        events: where starts, failures and logins are posted (never a passcode).
    """

    def __init__(self, config: WebConfig, actions: ControlActions, state: StateFn, *,
                 takes_folder: Path | None, stage_name: str, events: EventQueue) -> None:
        self.config = config
        self.actions = actions
        self.events = events
        self.stage_name = stage_name
        self.takes_folder = takes_folder
        self.auth = WebAuth(config.passcode)
        self.live = LiveState(state, takes_folder, stage_name)
        self._css = _static("web.css")
        self._js = _static("web.js")
        digest = base64.b64encode(hashlib.sha256(self._css.encode()).digest()).decode()
        self._csp = ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
                     f"style-src 'self' 'sha256-{digest}'; form-action 'self'; frame-ancestors 'none'; "
                     "base-uri 'none'")
        self._runner: web.AppRunner | None = None
        self.bound: tuple[str, int] | None = None
        self.urls: tuple[str, ...] = ()
        self.running = False
        self.error: str | None = None
        self.requests = 0
        self.refused = 0
        self.errors = 0

    # --- start and stop ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application: middlewares (headers, session) and routes."""
        app = web.Application(middlewares=[self._headers, self._session], client_max_size=MAX_BODY)
        app.add_routes([
            web.get("/", self._landing), web.get("/dp", self._dp), web.get("/script", self._script),
            web.get("/report", self._report), web.get("/login", self._login_form),
            web.post("/login", self._login), web.post("/logout", self._logout),
            web.post("/action/{name}", self._action), web.get("/static/{name}", self._static),
            web.get("/ws", self._ws)])
        return app

    async def async_start(self) -> None:
        """Bind and serve (I/O loop). A failure is an event and :attr:`error`; it never raises."""
        listen = self.config.listen
        try:
            context = await asyncio.get_running_loop().run_in_executor(None, self._ssl) if self.config.https \
                else None
            runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
            await runner.setup()
            try:
                site = web.TCPSite(runner, listen.host, listen.port, ssl_context=context, reuse_address=True)
                await site.start()
            except BaseException:
                await runner.cleanup()
                raise
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.error = f"not started on {listen}: {exc}"
            self.events.post(Level.WARNING, SOURCE, "error",
                             f"the web remote is {self.error}; the stage runs on without it "
                             "(free the port or change [web] listen)")
            return
        self._runner = runner
        address = runner.addresses[0]
        self.bound = (str(address[0]), int(address[1]))
        self.urls = await asyncio.get_running_loop().run_in_executor(None, self._urls)
        await self.live.async_start()
        self.running = True
        self.error = None
        self.events.post(Level.INFO, SOURCE, "state",
                         f"web remote on {', '.join(self.urls)} (passcode from the "
                         f"{self.config.passcode_from})")

    def _ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        assert self.config.certificate is not None and self.config.key is not None
        context.load_cert_chain(self.config.certificate, self.config.key)
        return context

    def _urls(self) -> tuple[str, ...]:
        """The URLs to open (a worker thread: the host's addresses for 0.0.0.0 / ::)."""
        assert self.bound is not None
        host, port = self.bound
        scheme = "https" if self.config.https else "http"
        hosts = [host]
        if host in ("0.0.0.0", "::"):
            family = socket.AF_INET if host == "0.0.0.0" else socket.AF_INET6
            try:
                found = socket.getaddrinfo(socket.gethostname(), None, family, socket.SOCK_STREAM)
            except OSError:
                found = []
            hosts = [str(info[4][0]) for info in found if not str(info[4][0]).startswith(("127.", "::1"))]
            hosts = list(dict.fromkeys(hosts)) or [socket.gethostname()]
        return tuple(f"{scheme}://[{h}]:{port}/" if ":" in h else f"{scheme}://{h}:{port}/" for h in hosts)

    async def async_stop(self) -> None:
        """Close every client and the listening socket (I/O loop)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.running = False
        await self.live.async_stop()
        await runner.cleanup()

    def status(self) -> WebStatus:
        """Counters and state now (any thread: plain reads)."""
        auth = self.auth
        return WebStatus(str(self.config.listen), self.urls, self.running, self.config.https,
                         len(self.live.clients), auth.count(), auth.logins, auth.failed_logins, auth.lockouts,
                         self.requests, self.refused, self.errors, self.live.sent, self.error)

    # --- middlewares -------------------------------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        response: web.StreamResponse = await handler(request)
        if not isinstance(response, web.WebSocketResponse):
            report = request.path == "/report"
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
                if report else self._csp)
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Origin "null"
            response.headers["Cache-Control"] = "no-store"
        return response

    @web.middleware
    async def _session(self, request: web.Request, handler: Any) -> web.StreamResponse:
        session = self.auth.session(request.cookies.get(COOKIE))
        if session is None and not (request.method == "POST" and request.path == "/login"):
            self.refused += 1
            if request.path == "/ws":
                return web.Response(status=401, text="log in first")
            next_path = request.path if request.method == "GET" and request.path in PAGES else "/"
            return self._login_response(next_path, "", 401)
        if session is not None:  # none only for the login POST itself
            request[SESSION] = session
        response: web.StreamResponse = await handler(request)
        return response

    # --- login -------------------------------------------------------------------------------------

    def _login_response(self, next_path: str, message: str, status: int) -> web.Response:
        text = pages.login_page(self._css, next_path=next_path, message=message, stage=self.stage_name)
        return web.Response(status=status, text=text, content_type="text/html")

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/")

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        return origin is not None and origin == f"{request.scheme}://{request.host}"

    async def _login(self, request: web.Request) -> web.StreamResponse:
        if "Origin" in request.headers and not self._same_origin(request):
            self.refused += 1
            return web.Response(status=403, text="cross-origin login refused")
        form = await request.post()
        passcode, next_path = form.get("passcode"), form.get("next", "/")
        if not isinstance(next_path, str) or next_path not in PAGES:
            next_path = "/"
        address = request.remote or "?"
        if not isinstance(passcode, str) or not passcode:
            return self._login_response(next_path, "Type the passcode.", 401)
        session, result = self.auth.login(address, passcode)
        if session is None:
            message = refusal_text(result)
            self.events.post(Level.WARNING, SOURCE, "auth",
                             f"login refused from {address}: {result.verdict.value}", for_take=False)
            return self._login_response(next_path, message, 401)
        self.events.post(Level.INFO, SOURCE, "auth", f"login from {address}", for_take=False)
        response = web.HTTPSeeOther(next_path)
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="Strict", secure=self.config.https,
                            path="/", max_age=int(IDLE_S))
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        session: Session = request[SESSION]
        if not await self._csrf(request, session):
            return web.Response(status=403, text="missing or wrong CSRF token")
        self.auth.logout(session)
        for client in list(self.live.clients):
            if client.token == session.token:
                await client.ws.close(code=1008, message=b"logged out")
        response = web.HTTPSeeOther("/")
        response.del_cookie(COOKIE, path="/")
        raise response

    # --- pages -------------------------------------------------------------------------------------

    def _note(self, session: Session) -> tuple[str, bool]:
        note = (session.flash, session.flash_error)
        session.flash, session.flash_error = "", False
        return note

    def _html(self, text: str) -> web.Response:
        return web.Response(text=text, content_type="text/html")

    async def _landing(self, request: web.Request) -> web.StreamResponse:
        session: Session = request[SESSION]
        self.live.refresh()
        return self._html(pages.landing_page(self.live.current, session.csrf, self._note(session)))

    async def _dp(self, request: web.Request) -> web.StreamResponse:
        session: Session = request[SESSION]
        self.live.refresh()
        return self._html(pages.dp_page(self.live.current, session.csrf, self._note(session)))

    async def _script(self, request: web.Request) -> web.StreamResponse:
        session: Session = request[SESSION]
        live = self.live
        live.refresh()
        await live.async_takes_read()  # the day's takes as they are now, not as last read
        takes = pages.takes_fragment(live.takes, session.csrf, live.takes_error)
        return self._html(pages.script_page(live.current, session.csrf, self._note(session), takes))

    async def _report(self, request: web.Request) -> web.StreamResponse:
        return await report_page(request.query.get("day"), self.takes_folder, self.stage_name)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(text=self._js if name == "web.js" else self._css, content_type=STATIC[name])

    # --- actions -----------------------------------------------------------------------------------

    async def _csrf(self, request: web.Request, session: Session) -> bool:
        given = request.headers.get("X-CSRF-Token")
        if given is None:
            form = await request.post()
            value = form.get("csrf")
            given = value if isinstance(value, str) else None
        if self.auth.csrf_ok(session, given):
            return True
        self.refused += 1
        return False

    async def _action(self, request: web.Request) -> web.StreamResponse:
        session: Session = request[SESSION]
        if not await self._csrf(request, session):
            return web.Response(status=403, text="missing or wrong CSRF token: reload the page")
        name = request.match_info["name"]
        run = ACTIONS.get(name)
        if run is None:
            raise web.HTTPNotFound(text=f"no action {name!r}")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            message, ok = run(self.actions, form), True
        except (StageError, ValueError, KeyError) as exc:
            message, ok = str(exc), False
            self.errors += 1
        if ok and name == "flag":
            await self._flag_written()
        self.live.poke()
        if request.headers.get("X-Requested-With") == "fetch":
            return web.json_response({"ok": ok, "message": message}, status=200 if ok else 400)
        session.flash, session.flash_error = message, not ok
        back = form.get("back", "/")
        raise web.HTTPSeeOther(back if back in PAGES else "/")

    async def _flag_written(self) -> None:
        """Wait for the take store write, then for the takes to be read again (the page shows them)."""
        pending = getattr(self.actions, "pending_writes", None)
        writes = pending() if callable(pending) else ()
        if writes:
            await asyncio.wait(writes, timeout=WRITE_WAIT_S)
        self.live.build()  # starts the read of the takes the write changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.live.async_takes_read(), WRITE_WAIT_S)

    # --- the WebSocket -----------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        session: Session = request[SESSION]
        if not self._same_origin(request):
            self.refused += 1
            return web.Response(status=403, text="cross-origin WebSocket refused")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
        await ws.prepare(request)
        client = Client(ws, token=session.token)
        self.live.refresh()  # before it counts: the state now, whatever the ticks last made
        self.live.clients.add(client)
        self.live.poke()  # the ticks run while a page is connected
        try:
            await ws.send_str(self.live.hello())
            async for _message in ws:
                pass  # the page only listens; what it sends is ignored
        finally:
            self.live.clients.discard(client)
        return ws
