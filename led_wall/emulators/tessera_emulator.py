"""A Brompton Tessera processor's IP Control API on loopback (docs/led-processors.md).

A real HTTP server (:mod:`stagectl.core.http_server`, on aiohttp) that keeps a state tree like the
processor (seeded from ``data/tessera_state.json``) and answers:

* ``GET /api/`` -> ``{"api": tree}``; ``GET /api/<path>`` -> ``{"<last segment>": value}``;
* ``PUT /api/<path>`` with ``{"data": value}`` -> the same answer after the change;
* ``GET /api/<path>?set=<value>`` -> set from the query string (typed by the leaf).

Values are checked like the processor documents them (type, range, enum, read-only). A preset
recall (``presets/active/number``) must name an existing preset and applies that preset's look.

UNVERIFIED (our imitation, not captured from hardware): the error bodies' exact text and
``response-code`` value (we answer ``{"response-code": "400", "error-messages": [...]}`` with
400, and 404 for unknown paths); that a PUT answers like a GET; that a refused preset number is a
400; the answer when IP control is disabled (``ip_control = False``: 403 with a response-code body).

Run one standalone: ``python -m led_wall.emulators.tessera_emulator --port 8080``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from led_wall.emulators.served import Change, ServedEmulator
from stagectl.core.http_server import Faults, HttpRequest, HttpResponse, HttpServer, ServerAuth

SEED = Path(__file__).resolve().parent / "data" / "tessera_state.json"
TEST_PATTERN_TYPES = (
    "brompton", "red", "green", "blue", "cyan", "magenta", "yellow", "white", "black", "grid",
    "scrolling-grid", "checkerboard", "scrolling-checkerboard", "colour-bars", "scrolling-colour-bars",
    "gradient", "scrolling-gradient", "strobe", "smpte-bars", "scrolling-smpte-bars", "custom-colour",
    "custom", "forty-five-degree-grid", "scrolling-forty-five-degree-grid", "custom-gradient",
    "scrolling-custom-gradient",
)
FORMATS = ("from-input", "standard-dynamic-range", "perceptual-quantiser", "hybrid-log-gamma")
DEFAULT_PRESET_LOOKS: dict[int, dict[str, Any]] = {
    1: {"output/global-colour/brightness": 1500, "output/global-colour/colour-temperature": 6500},
    2: {"output/global-colour/brightness": 300, "output/global-colour/colour-temperature": 4300},
    3: {"output/global-colour/brightness": 800, "output/global-colour/colour-temperature": 3200},
}
"""What recalling each seeded preset does to the output (the API does not publish preset contents)."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """What a path accepts: ``kind`` is int, float, bool, enum, string or pattern; ``read_only``."""

    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    read_only: bool = False

    def range_text(self) -> str:
        """``(0 - 10000)`` or the allowed values, as the processor's schema prints them."""
        if self.choices:
            return f"(allowed values: {','.join(self.choices)})"
        return f"(range: {self.low:g} - {self.high:g})" if self.low is not None else ""


LEAVES: dict[str, Leaf] = {
    "output/global-colour/brightness": Leaf("int", -1, 10000),
    "output/global-colour/colour-temperature": Leaf("int", 2000, 11000),
    "output/global-colour/gamma": Leaf("float", 0.2, 4),
    "output/global-colour/gains/*": Leaf("float", 0, 100),
    "output/global-colour/brightness-limit/*": Leaf("any", read_only=True),
    "groups/items/*/brightness": Leaf("int", 0, 10000),
    "groups/items/*/colour-temperature": Leaf("int", 2000, 11000),
    "groups/items/*/gamma": Leaf("float", 0.2, 4),
    "groups/items/*/gains/*": Leaf("float", 0, 100),
    "presets/active/number": Leaf("int", 1, 128),
    "presets/active/name": Leaf("string", read_only=True),
    "presets/items/*/status": Leaf("bool", read_only=True),
    "override/blackout/fade-time": Leaf("float", 0, 10),
    "override/test-pattern/type": Leaf("pattern", 1, 50, TEST_PATTERN_TYPES),
    "override/test-pattern/format": Leaf("enum", choices=FORMATS),
    "override/test-pattern/custom-colour/*": Leaf("int", 0, 4095),
    "processing/3d-lut/strength": Leaf("float", 0, 100),
    "processing/3d-lut/filename": Leaf("string", read_only=True),
    "output/network/genlock/phase-offset/angle": Leaf("float", -360, 360),
    "output/network/genlock/phase-offset/fraction": Leaf("float", -100, 100),
    "output/network/shuttersync/mode": Leaf("enum", choices=("none", "speed", "angle")),
    "devices/*/*/*": Leaf("any", read_only=True),
    "devices/*/*": Leaf("any", read_only=True),
    "system/*": Leaf("any", read_only=True),
    "project/name": Leaf("string", read_only=True),
}
"""Documented types and ranges (the processor's ``?help=1`` schema, 3.5.2); other leaves are typed
by their current value."""


def leaf_for(path: str, current: Any) -> Leaf:
    """The rule for ``path`` (a LEAVES pattern, ``*`` = one segment), else one typed by ``current``."""
    parts = path.split("/")
    for pattern, leaf in LEAVES.items():
        pattern_parts = pattern.split("/")
        if len(pattern_parts) == len(parts) and all(p in ("*", s) for p, s in zip(pattern_parts, parts,
                                                                                   strict=True)):
            return leaf
    if isinstance(current, bool):
        return Leaf("bool")
    if isinstance(current, int):
        return Leaf("int")
    if isinstance(current, float):
        return Leaf("float")
    return Leaf("string")


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _check(path: str, leaf: Leaf, value: Any) -> Any:
    """The value to store, or _Refusal with a processor-like message."""
    if leaf.read_only:
        raise _Refusal(400, f"{path} is read only")
    bad = _Refusal(400, f"Invalid value {json.dumps(value)} for {path} {leaf.range_text()}".rstrip())
    if leaf.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if leaf.kind == "enum":
        if value not in leaf.choices:
            raise bad
        return value
    if leaf.kind == "pattern":  # a title, or a frame-store number
        if isinstance(value, str) and value in leaf.choices:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 50:
            return value
        raise bad
    if leaf.kind == "string":
        if not isinstance(value, str):
            raise bad
        return value
    if leaf.kind == "any":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad
    if leaf.kind == "int" and not isinstance(value, int):
        raise bad
    if not math.isfinite(value):
        raise bad
    if leaf.low is not None and leaf.high is not None and not leaf.low <= value <= leaf.high:
        raise _Refusal(400, f"Value {value} is out of range for {path} {leaf.range_text()}")
    return float(value) if leaf.kind == "float" else value


def _from_query(leaf: Leaf, text: str) -> Any:
    """``?set=`` text typed by the leaf (what the processor does with a query string)."""
    if leaf.kind == "bool":
        lowered = text.lower()
        return {"true": True, "false": False, "1": True, "0": False}.get(lowered, text)
    for kind, convert in (("int", int), ("float", float)):
        if leaf.kind == kind:
            try:
                return convert(text)
            except ValueError:
                return text
    if leaf.kind == "pattern" and text.isdigit():
        return int(text)
    return text


class TesseraEmulator(ServedEmulator):
    """A Tessera's API on ``host``:``port`` (0: a free port; ``port``/``url`` after :meth:`start`).

    ``state`` is the tree under ``/api/``; ``changes`` logs every API write as :class:`Change`
    (monotonic ns, path, value) for tests (fade curves); ``faults`` (or ``delay_s``, ``hang``,
    ``fail_status``) misbehave on demand; ``ip_control = False`` refuses every API request;
    ``auth`` (a :class:`ServerAuth`) makes every request need credentials (HTTP Basic).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, state: Mapping[str, Any] | None = None,
                 preset_looks: Mapping[int, Mapping[str, Any]] | None = None,
                 auth: ServerAuth | None = None) -> None:
        seed = state if state is not None else json.loads(SEED.read_text(encoding="utf-8"))["api"]
        self.state: dict[str, Any] = copy.deepcopy(dict(seed))
        self.preset_looks = {int(k): dict(v) for k, v in (preset_looks or DEFAULT_PRESET_LOOKS).items()}
        self.changes: list[Change] = []
        self.ip_control = True
        self.faults = Faults(fail_body={"response-code": "503", "error-messages": ["fault injected"]})
        self.server = HttpServer(self.handle, host, port, faults=self.faults, name="tessera-emulator",
                                 auth=auth)

    # --- lifecycle and faults -------------------------------------------------------------------

    # --- state ----------------------------------------------------------------------------------
    def value(self, path: str) -> Any:
        """The value at an API path (KeyError when there is none)."""
        node: Any = self.state
        for part in [p for p in path.split("/") if p]:
            if not isinstance(node, dict):
                raise KeyError(path)
            node = node[part]
        return node

    def set_local(self, path: str, value: Any) -> None:
        """Change a value as the processor's own UI would (not an API write: not in ``changes``)."""
        *parents, leaf = path.split("/")
        node = self.state
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    # --- the API ----------------------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one HTTP request like the processor."""
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] != ["api"]:
            return self._error(404, f"{request.path} is not an API path")
        if not self.ip_control:
            return self._error(403, "IP control is disabled: enable it in the Live Control tile")
        path = "/".join(parts[1:])
        try:
            if request.method == "GET":
                sets = request.query.get("set")
                if sets is not None:
                    return self._write(path, sets[-1], from_query=True)
                return self._read(path)
            if request.method == "PUT":
                try:
                    body = request.json()
                except ValueError as exc:
                    raise _Refusal(400, f"Request body is not valid JSON: {exc}") from None
                if not isinstance(body, dict) or "data" not in body:
                    raise _Refusal(400, 'Request body must be a JSON object with a "data" member')
                return self._write(path, body["data"], from_query=False)
        except _Refusal as exc:
            return self._error(exc.status, str(exc))
        return self._error(405, f"Method {request.method} is not supported on {request.path}")

    def _read(self, path: str) -> HttpResponse:
        if not path:
            return HttpResponse.json(200, {"api": self.state})
        try:
            value = self.value(path)
        except KeyError:
            raise _Refusal(404, f"Path {path} does not exist") from None
        return HttpResponse.json(200, {path.rsplit("/", 1)[-1]: value})

    def _write(self, path: str, raw: Any, *, from_query: bool) -> HttpResponse:
        try:
            current = self.value(path)
        except KeyError:
            raise _Refusal(404, f"Path {path} does not exist") from None
        if isinstance(current, dict):
            raise _Refusal(400, f"{path} is not a settable value")
        leaf = leaf_for(path, current)
        value = _check(path, leaf, _from_query(leaf, raw) if from_query else raw)
        if path == "presets/active/number":
            self._recall(value)
        else:
            self._apply(path, value)
        return HttpResponse.json(200, {path.rsplit("/", 1)[-1]: self.value(path)})

    def _apply(self, path: str, value: Any) -> None:
        self.set_local(path, value)
        self.changes.append(Change(time.monotonic_ns(), path, value))

    def _recall(self, number: int) -> None:
        items = self.state.get("presets", {}).get("items", {})
        if str(number) not in items:
            raise _Refusal(400, f"Preset {number} does not exist")
        for key, item in items.items():
            item["status"] = key == str(number)
        self.set_local("presets/active/name", items[str(number)].get("name", str(number)))
        self._apply("presets/active/number", number)
        for path, value in self.preset_looks.get(number, {}).items():
            self._apply(path, value)

    @staticmethod
    def _error(status: int, message: str) -> HttpResponse:
        return HttpResponse.json(status, {"response-code": str(status), "error-messages": [message]})


async def _serve(host: str, port: int) -> None:
    emulator = TesseraEmulator(host, port)
    await emulator.async_start()
    print(f"Tessera emulator at {emulator.url}/api/ (Ctrl-C stops)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.async_stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m led_wall.emulators.tessera_emulator [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(description="Brompton Tessera IP Control API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
