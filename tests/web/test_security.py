"""The remote's security with a plain HTTP client (aiohttp's), no browser: sessions, lockout, origin,
CSRF, the passcode kept out of every log, and the one address bound."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from stagectl.control.auth import FREE_ATTEMPTS
from stagectl.stage.runner import StageRunner
from tests.support.loop import run_loop
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile
from tests.web.conftest import PASSCODE

ROUTES = (("GET", "/"), ("GET", "/dp"), ("GET", "/script"), ("GET", "/report"),
          ("GET", "/report?day=2026-01-02"), ("GET", "/login"), ("GET", "/static/web.js"),
          ("GET", "/static/web.css"), ("GET", "/nowhere"),
          ("POST", "/action/go"), ("POST", "/action/flag"), ("POST", "/logout"), ("GET", "/action/go"))


def light_stage(folder: Path, listen: str = "127.0.0.1:0") -> StageRunner:
    """A simulated camera, a take recorder and the remote."""
    stage = StageFile("Security").source("A").takes(dir="takes")
    stage.tables["web"] = {"listen": listen, "passcode": PASSCODE}
    return StageRunner(stage.config(folder))


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    runner = light_stage(tmp_path)
    yield runner
    runner.close()


def client(**kwargs: object) -> aiohttp.ClientSession:
    """A client that keeps cookies of an IP address (aiohttp's default jar refuses them)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), **kwargs)  # type: ignore[arg-type]


def base(runner: StageRunner) -> str:
    server = runner.stage.web
    assert server is not None and server.running
    return server.urls[0].rstrip("/")


async def login(session: aiohttp.ClientSession, url: str, passcode: str = PASSCODE) -> tuple[int, str]:
    async with session.post(url + "/login", data={"passcode": passcode, "next": "/dp"},
                            allow_redirects=True) as response:
        return response.status, await response.text()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def test_no_session_is_401_with_the_login_form_on_every_route(runner: StageRunner) -> None:
    url = base(runner)

    async def main() -> None:
        for cookie in ({}, {"stagectl_session": "forged-token"}):
            async with client(cookies=cookie) as session:
                for method, path in ROUTES:
                    async with session.request(method, url + path, allow_redirects=False) as response:
                        body = await response.text()
                        assert response.status == 401, (method, path, response.status)
                        assert '<input id="passcode" name="passcode" type="password"' in body, (method, path)
                        assert 'method="post" action="/login"' in body
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(url + "/ws", origin=url)
                assert refused.value.status == 401

    run_loop(main)
    assert runner.stage.status()["web"]["refused"] == 2 * (len(ROUTES) + 1)


def test_wrong_passcodes_lock_the_address_out(runner: StageRunner) -> None:
    url = base(runner)

    async def main() -> None:
        async with client() as session:
            for n in range(FREE_ATTEMPTS):
                status, body = await login(session, url, f"wrong-guess-{n}")
                assert status == 401 and "Wrong passcode." in body
            status, body = await login(session, url, "wrong-guess-again")
            assert status == 401 and "The next try counts in 1 s" in body
            status, body = await login(session, url)  # the right one, but during the wait: not even compared
            assert status == 401 and "Too many wrong passcodes from this device" in body
            assert "stagectl_session" not in {c.key for c in session.cookie_jar}

    run_loop(main)
    web = runner.stage.status()["web"]
    assert (web["failed_logins"], web["lockouts"], web["logins"]) == (FREE_ATTEMPTS + 1, 1, 0)

    async def later() -> None:
        async with client() as session:
            status, body = await login(session, url)
            assert status == 200 and "GO" in body, re.findall(r"flash error[^<]*<", body)

    server = runner.stage.web
    assert server is not None and server.auth.gate.counters()["locked_out"] == 1
    asyncio.run(asyncio.sleep(1.1))  # the 1 s wait of the fourth wrong passcode
    run_loop(later)
    assert runner.stage.status()["web"]["logins"] == 1


def test_a_websocket_from_another_origin_is_refused(runner: StageRunner) -> None:
    url = base(runner)

    async def main() -> None:
        async with client() as session:
            assert (await login(session, url))[0] == 200
            for origin in ("http://evil.example", url.replace("127.0.0.1", "localhost"), "null", None):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(url + "/ws", origin=origin)
                assert refused.value.status == 403, origin
            async with session.ws_connect(url + "/ws", origin=url) as ws:
                message = json.loads((await ws.receive(timeout=5.0)).data)
                assert message["type"] == "state" and message["changes"]["stage"] == "Security"

    run_loop(main)


def test_a_post_without_the_right_csrf_token_is_403(runner: StageRunner) -> None:
    url = base(runner)

    async def main() -> None:
        async with client() as session:
            _status, page = await login(session, url)
            token = csrf_of(page)
            wrong = (({}, {}), ({"csrf": "x" + token[1:]}, {}), ({}, {"X-CSRF-Token": token[:-1]}),
                     ({"csrf": ""}, {}))
            for data, headers in wrong:
                async with session.post(url + "/action/slate", data={**data, "scene": "99"}, headers=headers,
                                        allow_redirects=False) as response:
                    assert response.status == 403, (data, headers)
            assert runner.stage.recorder.slate.scene == ""
            right = {"csrf": token, "scene": "99", "back": "/script"}
            async with session.post(url + "/action/slate", data=right, allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/script"
            assert runner.stage.recorder.slate.scene == "99"
            async with session.post(url + "/action/slate", data={"scene": "100"},
                                    headers={"X-CSRF-Token": token, "X-Requested-With": "fetch"}) as response:
                assert response.status == 200 and (await response.json())["ok"]
            assert runner.stage.recorder.slate.scene == "100"

    run_loop(main)


def test_the_passcode_is_never_logged(runner: StageRunner, caplog: pytest.LogCaptureFixture) -> None:
    url = base(runner)
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with client() as session:
            await login(session, url, "hunter2-wrong-guess")
            status, page = await login(session, url)
            assert status == 200
            note = {"csrf": csrf_of(page), "text": "x"}
            async with session.post(url + "/action/note", data=note) as response:
                await response.text()

    run_loop(main)
    events = [e.message for e in runner.views.publish().events]
    assert any("login from 127.0.0.1" in e for e in events), events
    assert any("login refused from 127.0.0.1" in e for e in events), events
    seen = "\n".join([caplog.text, *events, json.dumps(runner.stage.status()), repr(runner.stage.config)])
    for secret in (PASSCODE, "hunter2-wrong-guess"):
        assert secret not in seen


def test_the_server_binds_exactly_the_configured_address(runner: StageRunner) -> None:
    server = runner.stage.web
    assert server is not None and server.bound is not None
    host, port = server.bound
    assert host == "127.0.0.1" and runner.stage.status()["web"]["url"] == f"http://127.0.0.1:{port}/"
    with socket.create_connection(("127.0.0.1", port), timeout=5.0):
        pass
    with socket.socket() as other, pytest.raises(OSError) as refused:  # same port, another loopback address
        other.settimeout(5.0)
        other.connect(("127.0.0.2", port))
    assert refused.value.errno == errno.ECONNREFUSED
    assert runner.views.latest.web == (f"http://127.0.0.1:{port}/",)


def test_a_port_taken_leaves_the_stage_running_without_the_remote(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = light_stage(tmp_path, f"127.0.0.1:{port}")
        try:
            web = runner.stage.status()["web"]
            assert not web["running"] and web["url"] is None
            assert f"not started on 127.0.0.1:{port}" in web["error"]
            events = [e.message for e in runner.views.publish().events]
            assert any("the stage runs on without it" in e for e in events), events
            assert runner.views.latest.web is None
            wait_until(lambda: runner.stage.status()["cameras"]["A"]["samples"] > 0, what="the stage running")
        finally:
            runner.close()


def test_untrusted_text_is_escaped_on_the_pages(runner: StageRunner) -> None:
    url = base(runner)
    hostile = '<img src=x onerror="alert(1)">'

    async def main() -> None:
        async with client() as session:
            _status, page = await login(session, url)
            data = {"csrf": csrf_of(page), "production": hostile, "scene": "1", "back": "/script"}
            async with session.post(url + "/action/slate", data=data) as response:
                body = await response.text()
            assert response.status == 200 and response.url.path == "/script"
            assert hostile not in body and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
            async with session.get(url + "/report?day=not-a-day") as response:
                assert response.status == 400 and "YYYY-MM-DD" in await response.text()
            async with session.get(url + "/report") as response:
                assert response.status == 200 and "<!doctype html" in (await response.text()).lower()

    run_loop(main)


def test_https_with_a_certificate_and_a_secure_cookie(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed to make the test's certificate (apt-get install openssl)"
    cert, key = tmp_path / "stage.pem", tmp_path / "stage-key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    stage = StageFile("Security").source("A").takes(dir="takes")
    stage.tables["web"] = {"listen": "127.0.0.1:0", "passcode": PASSCODE, "certificate": cert.name,
                           "key": key.name}
    runner = StageRunner(stage.config(tmp_path))
    try:
        url = base(runner)
        assert url.startswith("https://127.0.0.1:") and runner.stage.status()["web"]["https"]
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the test's certificate names no IP address

        async def main() -> None:
            async with client(connector=aiohttp.TCPConnector(ssl=context)) as session:
                async with session.get(url + "/dp") as response:
                    assert response.status == 401
                async with session.post(url + "/login", data={"passcode": PASSCODE, "next": "/dp"},
                                        allow_redirects=False) as response:
                    assert response.status == 303
                    cookie = response.headers["Set-Cookie"]
                assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
                async with session.ws_connect(url.replace("https", "wss") + "/ws", origin=url) as ws:
                    assert json.loads((await ws.receive(timeout=5.0)).data)["type"] == "state"

        run_loop(main)
    finally:
        runner.close()
