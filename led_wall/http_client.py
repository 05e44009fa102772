"""The HTTP side shared by the LED processors that speak JSON over HTTP (Tessera, HELIOS).

:class:`ProcessorHttp` wraps one ``httpx.AsyncClient`` per processor and turns every way a
request can go wrong into the Device base's two errors, with the processor's answer verbatim:

* :class:`~stagectl.core.device.DeviceRefused` -- the processor answered 400/404/405/409/422: it
  refused these values (not retried; the link stays up);
* a 401 (the processor wants credentials, or ours are wrong) is a :class:`DeviceRefused` reading
  "authentication failed: check username / password_env" (a poll that gets it fails with that
  message and backs off like any outage; a write's values are dropped, never retried);
* :class:`~stagectl.core.device.DeviceError` -- anything else: no answer, connection refused, 5xx, 403,
  an oversized or non-JSON body (retried after the backoff).

With a ``username`` the client answers the processor's challenge (:class:`ChallengeAuth`): HTTP
Digest when offered (HELIOS), else Basic. Nothing is sent before a challenge asks for it.

Bodies over ``max_response_bytes`` are refused before they are parsed. JSON is parsed as
Python does (a ``NaN`` token becomes a float NaN, so one odd value does not fail a whole poll);
:class:`PolledValues` then checks each polled value against its feature, so a processor reporting
nonsense (NaN, out of range, wrong type) is counted and logged (at most once a second per device
and feature) and never becomes a value.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Generator, Iterable
from typing import Any

import httpx

from stagectl.core.device import Device
from stagectl.core.events import EventQueue
from stagectl.core.features import DeviceError, DeviceRefused, Feature, FeatureValueError, Value
from stagectl.core.logutil import RateLimiter, with_suppressed
from stagectl.core.text import escape_untrusted

log = logging.getLogger("stagectl.led_wall")

REFUSED_STATUSES = frozenset({400, 404, 405, 409, 422})
"""Statuses meaning "I heard you and the answer is no" (values dropped, not retried)."""
MAX_RESPONSE_BYTES = 4 << 20
MAX_ERROR_TEXT = 2000
"""An error body longer than this is cut (with a note) before it goes into a message."""


AUTH_FAILED = "authentication failed: check username / password_env"
"""What a 401 reads as (after ``<verb> <url> -> 401:``)."""


class ChallengeAuth(httpx.Auth):
    """Answers a 401's challenge with ``username`` / ``password``: Digest when offered, else Basic.

    The scheme that worked is remembered, so later requests carry credentials from the start (Digest
    re-challenges, a stale nonce after a processor restart, are answered once per request). httpx's
    own :class:`httpx.DigestAuth` ignores a Basic-only challenge, and :class:`httpx.BasicAuth` cannot
    answer Digest: a processor may be set to either.
    """

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)
        self.scheme: str | None = None
        """``basic`` or ``digest`` once a challenge chose it."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send; on a 401 answer its challenge once (httpx drives this generator)."""
        if self.scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        if self.scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        offered = {h.split(None, 1)[0].lower() for h in response.headers.get_list("www-authenticate")
                   if h.strip()}
        if "digest" in offered:
            self.scheme = "digest"
            flow = self._digest.auth_flow(request)
            next(flow)  # the unauthenticated request: already sent, ``response`` is its answer
            try:
                retry = flow.send(response)
            except StopIteration:
                return
            answer = yield retry
            with contextlib.suppress(StopIteration):
                flow.send(answer)
        elif "basic" in offered:
            self.scheme = "basic"
            yield from self._basic.auth_flow(request)


def _clip(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_ERROR_TEXT:
        return f"{text[:MAX_ERROR_TEXT]}... ({len(text)} characters)"
    return text


class ProcessorHttp:
    """JSON over HTTP to one processor at ``base_url``; open with :meth:`open` on the I/O loop.

    Error messages read ``PUT /api/output/global-colour/brightness -> 400: <body as received>``
    (the Device adds its own name where it reports them).
    """

    def __init__(self, base_url: str, *, timeout_s: float = 1.0,
                 max_response_bytes: int = MAX_RESPONSE_BYTES, username: str | None = None,
                 password: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._auth = ChallengeAuth(username, password) if username is not None else None
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self.requests = 0
        self._client: httpx.AsyncClient | None = None

    async def async_open(self) -> None:
        """Create the client (keep-alive pool). ``trust_env=False``: no proxy between us and the wall."""
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s,
                                             trust_env=False, follow_redirects=False, auth=self._auth)

    async def async_close(self) -> None:
        """Close the client and its connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def async_request(self, method: str, url: str, *, json_body: Any = None,
                      params: dict[str, str] | None = None, features: Iterable[str] = ()) -> Any:
        """Send one request; the JSON answer (None for an empty body).

        ``features`` names the features this request carries, for :class:`DeviceRefused`.
        """
        client = self._client
        if client is None:
            raise DeviceError(f"{method} {url}: HTTP client not open")
        self.requests += 1
        where = f"{method} {url}"
        try:
            kwargs: dict[str, Any] = {"params": params}
            if json_body is not None:
                kwargs["json"] = json_body
            async with client.stream(method, url, **kwargs) as response:
                raw = await self._read_body(response, where)
                status = response.status_code
        except httpx.TimeoutException:
            raise DeviceError(f"{where}: no answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise DeviceError(f"{where}: {type(exc).__name__}: {str(exc) or 'connection failed'}") from None
        text = raw.decode("utf-8", errors="replace")
        if status == 401:
            hint = "" if self.username is not None else " (the processor asks for credentials; none are set)"
            raise DeviceRefused(f"{where} -> 401: {AUTH_FAILED}{hint}", features)
        if not 200 <= status < 300:
            message = f"{where} -> {status}: {_clip(text) or '(empty body)'}"
            if status in REFUSED_STATUSES:
                raise DeviceRefused(message, features)
            raise DeviceError(message)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise DeviceError(f"{where} -> {status}: answer is not JSON ({exc}): "
                              f"{text.strip()[:200]}") from None

    async def _read_body(self, response: httpx.Response, where: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise DeviceError(f"{where}: answer larger than {self.max_response_bytes} bytes, refused")
            chunks.append(chunk)
        return b"".join(chunks)


class PolledValues:
    """Checks values read from a processor against their features; counts and logs the bad ones.

    ``rejected`` counts values that failed their feature's check (NaN, out of range, wrong type).
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.rejected = 0
        self._limiter = RateLimiter(1.0)

    def accept(self, feature: Feature, raw: Any, out: dict[str, Value]) -> None:
        """Put ``raw`` into ``out`` under the feature's name if it passes the feature's check."""
        try:
            out[feature.name] = feature.check(raw, self.owner)
        except FeatureValueError as exc:
            self.rejected += 1
            held_back = self._limiter.check(feature.name)
            if held_back is not None:
                message = f"ignoring a polled value: {escape_untrusted(exc)}"
                log.warning("%s", with_suppressed(message, held_back))


class HttpProcessorDevice(Device):
    """A processor reached over its HTTP API at ``url``: the shared part of Tessera and HELIOS.

    ``username`` / ``password``: credentials for a processor with HTTP authentication enabled.
    """

    def __init__(self, name: str, url: str, *, zone: str | None, events: EventQueue | None, timeout_s: float,
                 poll_s: float, username: str | None = None, password: str = "") -> None:
        super().__init__(name, target=url.rstrip("/"), zone=zone, events=events, timeout_s=timeout_s,
                         poll_s=poll_s)
        self.url = url.rstrip("/")
        self._credentials = (username, password)
        self.http = ProcessorHttp(self.url, timeout_s=timeout_s, username=username, password=password)

    def set_url(self, url: str) -> None:
        """Point the device at another base URL (before :meth:`async_start`; e.g. an emulator's)."""
        self.url = self.target = url.rstrip("/")
        username, password = self._credentials
        self.http = ProcessorHttp(self.url, timeout_s=self.timeout_s, username=username, password=password)

    async def _async_open(self) -> None:
        await self.http.async_open()

    async def _async_close(self) -> None:
        await self.http.async_close()
