"""A Megapixel HELIOS processor's public JSON API on loopback (docs/led-processors.md).

A real HTTP server (:mod:`stagectl.core.http_server`, on aiohttp) keeping a state tree like the
processor (seeded from ``data/helios_state.json``):

* ``GET /api/v1/public`` -> the tree; ``?dev.display&sys.name`` -> only those dotted paths;
* ``PATCH`` or ``POST /api/v1/public`` with a nested fragment -> every leaf checked first, then
  all applied; the answer is the fragment as now stored (``accept_verbs`` narrows the verbs);
* ``GET /api/v1/presets/list`` (and ``/api/v1/presets``) -> ``{"presets": [{"presetName": ...}]}``;
* ``POST /api/v1/presets/apply`` ``{"presetName": ...}`` -> applies that preset's fragment.

UNVERIFIED (our imitation): error statuses and bodies (we answer 400 or 404 with
``{"error": "..."}``, 405 for a verb not in ``accept_verbs``); the answer to a write; ranges
(gamma 1..4, cctDuv -0.01..0.01, group gains 0..2, from a public client's controls); that groups
are an object keyed by index; that a write naming an unknown key is refused.

Run one standalone: ``python -m led_wall.emulators.helios_emulator --port 8081``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from led_wall.emulators.served import Change, ServedEmulator
from stagectl.core.http_server import Faults, HttpRequest, HttpResponse, HttpServer, ServerAuth

SEED = Path(__file__).resolve().parent / "data" / "helios_state.json"
TEST_PATTERN_TYPES = (
    "black", "red", "green", "blue", "white", "customColor", "aspectRatioTest", "colorBars", "diagonal",
    "diagonalColorBars", "diagonalGradient", "grid", "horizontalGradient", "horizontalGraySteps",
    "smallGrid", "verticalGradient", "verticalGraySteps",
)
RANGES: dict[str, tuple[float, float]] = {
    "dev.display.brightness": (0.0, 100.0),
    "dev.display.cct": (1667.0, 10000.0),
    "dev.display.cctDuv": (-0.01, 0.01),
    "dev.display.gamma": (1.0, 4.0),
    "dev.groups.*.gains.*": (0.0, 2.0),
}
CHOICES: dict[str, tuple[str, ...]] = {"dev.ingest.testPattern.type": TEST_PATTERN_TYPES}
READ_ONLY = ("sys.*", "dev.display.tilesCount", "dev.display.tilesInfo", "dev.display.redundancy.*",
             "dev.ingest.inputs.*", "dev.groups.*.name")


def _matches(pattern: str, path: str) -> bool:
    pattern_parts, parts = pattern.split("."), path.split(".")
    if pattern_parts[-1] == "*" and len(parts) > len(pattern_parts):
        parts = [*parts[:len(pattern_parts) - 1], "*"]
    return len(parts) == len(pattern_parts) and all(p in ("*", s) for p, s in zip(pattern_parts, parts,
                                                                                  strict=True))


def _leaves(fragment: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(fragment, dict):
        for key, value in fragment.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, fragment


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HeliosEmulator(ServedEmulator):
    """A HELIOS's public API on ``host``:``port`` (0: a free port; ``port``/``url`` after start).

    ``state`` is the public tree; ``presets`` maps names to the fragments they apply;
    ``active_preset`` the last recalled; ``changes`` logs every API write as :class:`Change`;
    ``requests_by_verb`` counts writes per verb; ``faults`` (or ``delay_s``, ``hang``,
    ``fail_status``) misbehave on demand; ``auth`` (a :class:`ServerAuth`, Basic and/or Digest) makes
    every request need credentials, like a processor with authentication enabled.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, state: Mapping[str, Any] | None = None,
                 presets: Mapping[str, Mapping[str, Any]] | None = None,
                 accept_verbs: Iterable[str] = ("PATCH", "POST"), auth: ServerAuth | None = None) -> None:
        seed = json.loads(SEED.read_text(encoding="utf-8"))
        self.state: dict[str, Any] = copy.deepcopy(dict(state if state is not None else seed["public"]))
        chosen = presets if presets is not None else seed["presets"]
        self.presets: dict[str, Any] = copy.deepcopy(dict(chosen))
        self.accept_verbs = frozenset(v.upper() for v in accept_verbs)
        self.active_preset: str | None = None
        self.changes: list[Change] = []
        self.requests_by_verb: dict[str, int] = {}
        self.faults = Faults(fail_body={"error": "fault injected by the emulator"})
        self.server = HttpServer(self.handle, host, port, faults=self.faults, name="helios-emulator",
                                 auth=auth)


    def value(self, dotted: str) -> Any:
        """The value at a dotted path (KeyError when there is none)."""
        node: Any = self.state
        for key in dotted.split("."):
            if not isinstance(node, dict):
                raise KeyError(dotted)
            node = node[key]
        return node

    def set_local(self, dotted: str, value: Any) -> None:
        """Change a value as the processor's own UI would (not logged in ``changes``)."""
        *parents, leaf = dotted.split(".")
        node = self.state
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    # --- the API ----------------------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one HTTP request like the processor."""
        path = request.path.rstrip("/")
        try:
            if path == "/api/v1/public":
                if request.method == "GET":
                    return HttpResponse.json(200, self._filtered(request.query_string))
                if request.method in ("PATCH", "POST", "PUT"):
                    return self._write(request)
            elif path in ("/api/v1/presets", "/api/v1/presets/list") and request.method == "GET":
                return HttpResponse.json(200, {"presets": [{"presetName": n} for n in self.presets]})
            elif path == "/api/v1/presets/apply" and request.method == "POST":
                return self._apply_preset(self._body(request))
            else:
                raise _Refusal(404, f"No route for {request.method} {request.path}")
        except _Refusal as exc:
            return HttpResponse.json(exc.status, {"error": str(exc)})
        return HttpResponse.json(405, {"error": f"Method {request.method} not allowed on {request.path}"})

    def _filtered(self, query: str) -> dict[str, Any]:
        wanted = [p for p in query.split("&") if p and "=" not in p]
        if not wanted:
            return self.state
        out: dict[str, Any] = {}
        for dotted in wanted:
            try:
                value = self.value(dotted)
            except KeyError:
                continue
            *parents, leaf = dotted.split(".")
            node = out
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = copy.deepcopy(value)
        return out

    @staticmethod
    def _body(request: HttpRequest) -> Any:
        try:
            return request.json()
        except ValueError as exc:
            raise _Refusal(400, f"Request body is not valid JSON: {exc}") from None

    def _write(self, request: HttpRequest) -> HttpResponse:
        if request.method not in self.accept_verbs:
            raise _Refusal(405, f"Method {request.method} not allowed on {request.path}")
        self.requests_by_verb[request.method] = self.requests_by_verb.get(request.method, 0) + 1
        body = self._body(request)
        if not isinstance(body, dict) or not body:
            raise _Refusal(400, "Body must be a non-empty JSON object")
        checked = [(path, self._check(path, value)) for path, value in _leaves(body)]
        now = time.monotonic_ns()
        for path, value in checked:
            self.set_local(path, value)
            self.changes.append(Change(now, path, value))
        return HttpResponse.json(200, self._filtered("&".join(p for p, _ in checked)))

    def _check(self, path: str, value: Any) -> Any:
        try:
            current = self.value(path)
        except KeyError:
            raise _Refusal(400, f"Unknown property {path}") from None
        if isinstance(current, dict):
            raise _Refusal(400, f"{path} is an object, not a value")
        if any(_matches(p, path) for p in READ_ONLY):
            raise _Refusal(400, f"{path} is read-only")
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise _Refusal(400, f"{path} must be true or false, not {json.dumps(value)}")
            return value
        if isinstance(current, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise _Refusal(400, f"{path} must be a number, not {json.dumps(value)}")
            for pattern, (low, high) in RANGES.items():
                if _matches(pattern, path) and not low <= value <= high:
                    raise _Refusal(400, f"{path} = {value} is out of range [{low:g}, {high:g}]")
            return value
        choices = next((c for p, c in CHOICES.items() if _matches(p, path)), None)
        if choices is not None and value not in choices:
            raise _Refusal(400, f"{path} = {json.dumps(value)} is not one of {', '.join(choices)}")
        if isinstance(current, str) and not isinstance(value, str):
            raise _Refusal(400, f"{path} must be a string, not {json.dumps(value)}")
        return value

    def _apply_preset(self, body: Any) -> HttpResponse:
        name = body.get("presetName") if isinstance(body, dict) else None
        if not isinstance(name, str):
            raise _Refusal(400, 'Body must be {"presetName": "<name>"}')
        fragment = self.presets.get(name)
        if fragment is None:
            raise _Refusal(404, f"Preset {name} not found")
        now = time.monotonic_ns()
        for path, value in _leaves(fragment):
            self.set_local(path, value)
        self.active_preset = name
        self.changes.append(Change(now, "presets.apply", name))
        return HttpResponse.json(200, {"presetName": name})


async def _serve(host: str, port: int) -> None:
    emulator = HeliosEmulator(host, port)
    await emulator.async_start()
    print(f"HELIOS emulator at {emulator.url}/api/v1/public (Ctrl-C stops)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.async_stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m led_wall.emulators.helios_emulator [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(description="Megapixel HELIOS public API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
