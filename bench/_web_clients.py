"""The phones and tablets of bench/web_load.py: N browser sessions of the web remote, in one process.

Each client logs in with the passcode (the login form's POST, its session cookie kept), loads the DP
page (its CSRF token), and opens the live WebSocket with the page's Origin, as a browser does. Once
every client is connected it prints ``ready``; then, while it runs, one client acts as the DP does
(a fade-time change every ``--every`` seconds: a POST the stage answers and pushes to every client).
On ``stop`` from stdin it prints ``clients N messages M actions A`` and exits.

    python bench/_web_clients.py --url URL --passcode P [--clients 20] [--every 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys

import aiohttp

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client:
    """One logged-in browser session with its WebSocket."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.messages = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self, passcode: str) -> None:
        """Log in, load the DP page, open the WebSocket."""
        async with self.session.post(self.url + "/login", data={"passcode": passcode},
                                     allow_redirects=False) as answer:
            if answer.status not in (200, 302, 303):
                raise SystemExit(f"web_load: login refused ({answer.status})")
        async with self.session.get(self.url + "/dp") as page:
            found = CSRF.search(await page.text())
            if page.status != 200 or found is None:
                raise SystemExit(f"web_load: the DP page did not load ({page.status})")
            self.csrf = found[1]
        self.ws = await self.session.ws_connect(self.url + "/ws", origin=self.url)

    async def read(self) -> None:
        """Count the state messages until the socket closes."""
        assert self.ws is not None
        async for _message in self.ws:
            self.messages += 1

    async def act(self, seconds: float) -> None:
        """The DP changes the fade time (one POST the stage pushes to every client)."""
        async with self.session.post(self.url + "/action/fade", data={"seconds": f"{seconds:g}"},
                                     headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"}) as a:
            if a.status != 200:
                raise SystemExit(f"web_load: the fade action was refused ({a.status})")

    async def close(self) -> None:
        """Close the socket and the session."""
        if self.ws is not None:
            await self.ws.close()
        await self.session.close()


async def run(url: str, passcode: str, count: int, every: float) -> int:
    """Connect ``count`` clients, act every ``every`` s until ``stop`` on stdin, report."""
    clients = [Client(url) for _ in range(count)]
    await asyncio.gather(*(c.connect(passcode) for c in clients))
    readers = [asyncio.create_task(c.read()) for c in clients]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.run_in_executor(None, sys.stdin.readline)
    actions = 0
    while not stop.done():
        await asyncio.wait([stop], timeout=every)
        if not stop.done():
            await clients[0].act(2.0 + actions % 2)
            actions += 1
    messages = sum(c.messages for c in clients)
    for client in clients:
        await client.close()
    await asyncio.gather(*readers, return_exceptions=True)
    print(f"clients {count} messages {messages} actions {actions}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--passcode", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between the DP's actions")
    args = parser.parse_args()
    return asyncio.run(run(args.url, args.passcode, args.clients, args.every))


if __name__ == "__main__":
    raise SystemExit(main())
