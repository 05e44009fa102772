"""Where things are in a TOML document, and how error messages name them.

``tomllib`` returns plain dicts and lists without positions, so error messages about a
*value* would have no line number.  :class:`KeyLocator` scans the raw text once and maps
every key path it sees -- ``("sources", 1, "listen")`` -- to the 1-based line where that
key (or table header, or array element) is written.

It understands ``[table]`` and ``[[array.of.tables]]`` headers (occurrences are counted to
get the array index, nested arrays of tables included), dotted and quoted keys, inline
tables, arrays (of inline tables) and all four string forms, so that ``#``, ``=`` or
brackets inside strings do not confuse it.  It is meant for documents ``tomllib`` has
already accepted; on anything else it stops quietly and knows fewer keys, it never raises.

:class:`TableChecker` builds on it to collect located :class:`~stagectl.core.errors.ConfigError` s
with typed getters; the small helpers beside them render key paths (:func:`render_key`),
describe values (:func:`describe`), suggest a spelling (:func:`did_you_mean`) and pull the
position out of a ``tomllib`` syntax error (:func:`syntax_position`).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from stagectl.core.errors import ConfigError
from stagectl.core.text import did_you_mean

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}
_SCALAR_END = frozenset(",]}#\r\n")
_SYNTAX_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_KINDS = ((int, "an integer"), (float, "a number"), (str, "a string"), (dict, "a table"), (list, "an array"))
_TYPE_NAMES = {(str,): "a string", (int,): "an integer", (int, float): "a number", (bool,): "a boolean",
               (list,): "an array"}
MISSING: Any = object()
"""Sentinel for "key not in the table" (``table.get(key, MISSING)``)."""


def render_key(path: Sequence[str | int]) -> str:
    """Render a key path the way error messages show it: ``sources[1].listen``.

    Keys that are not bare TOML keys are quoted: ``cameras[0]."odd key"``.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if not _BARE_KEY.fullmatch(part):
            part = '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out += f".{part}" if out else part
    return out


def describe(value: Any) -> str:
    """Name a tomllib value for a message: ``a boolean (true)``, ``a string ('x')``, ``a table``."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    kind = next((name for t, name in _KINDS if isinstance(value, t)), "a date/time")
    if isinstance(value, dict | list):
        return kind
    return f"{kind} ({value!r})" if isinstance(value, str) else f"{kind} ({value})"


def syntax_position(message: str, text: str) -> tuple[int | None, str]:
    """Split a ``tomllib.TOMLDecodeError`` message into (line, message with the column).

    ``"Invalid value (at line 3, column 9)"`` -> ``(3, "Invalid value (column 9)")``.
    """
    m = _SYNTAX_POS.search(message)
    if m is not None:
        return int(m.group(1)), f"{message[:m.start()]} (column {m.group(2)})"
    if message.endswith(" (at end of document)"):
        return text.count("\n") + 1, message.removesuffix(" (at end of document)") + " (at end of file)"
    return None, message


class KeyLocator:
    """Key path -> line map of one TOML document (see the module docstring)."""

    __slots__ = ("_lines",)

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        with contextlib.suppress(RecursionError, IndexError, ValueError):  # best effort: keep what was found
            _Scanner(text, self._lines).document()

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line where exactly ``path`` is written, or None."""
        return self._lines.get(tuple(path))

    def locate(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, else of its nearest written parent (a table header), else None."""
        key = tuple(path)
        while key:
            line = self._lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return None


def locate_key(text: str, path: Sequence[str | int]) -> int | None:
    """One-shot :meth:`KeyLocator.locate` (build a :class:`KeyLocator` to look up many keys)."""
    return KeyLocator(text).locate(path)


class TableChecker:
    """Collects :class:`ConfigError` s about the keys of one parsed TOML document, each located.

    The typed getters return the value, or ``default`` after recording what was wrong and what
    is allowed; a caller compares ``len(errors)`` before and after to know whether a table was good.
    """

    def __init__(self, text: str, path: str | None) -> None:
        self.path = path
        self.locator = KeyLocator(text)
        self.errors: list[ConfigError] = []

    def error(self, key: KeyPath, message: str) -> None:
        self.errors.append(ConfigError(message, path=self.path, line=self.locator.locate(key),
                                       key=render_key(key) if key else None))

    def typed(self, table: Mapping[str, Any], key: KeyPath, types: tuple[type, ...], allowed: str,
              default: Any = None, required: bool = False) -> Any:
        """The value at ``key`` if it is one of ``types`` (a bool is never a number), else ``default``."""
        value = table.get(str(key[-1]), MISSING)
        if value is MISSING:
            if required:
                self.error(key, f"missing required key '{key[-1]}'; allowed: {allowed}")
            return default
        if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
            kind = _TYPE_NAMES.get(types, "a number or a string")
            self.error(key, f"must be {kind}, not {describe(value)}; allowed: {allowed}")
        elif isinstance(value, float) and not math.isfinite(value):
            self.error(key, f"{value} is not a finite number; allowed: {allowed}")
        else:
            return value
        return default

    def ranged(self, table: Mapping[str, Any], key: KeyPath, lo: int, hi: int, default: Any, allowed: str,
               integer: bool = False) -> Any:
        """A number (or an integer) ``lo..hi`` at ``key``, else ``default``."""
        value = self.typed(table, key, (int,) if integer else (int, float), allowed)
        if value is None:
            return default
        if not lo <= value <= hi:
            self.error(key, f"{value} is out of range; allowed: {allowed}")
            return default
        return value if integer else float(value)

    def unknown_keys(self, table: Mapping[str, Any], base: KeyPath, where: str,
                     allowed: Sequence[str]) -> None:
        """One error per key of ``table`` (at ``base``, shown as ``where``) that is not in ``allowed``."""
        for name in table:
            if name not in allowed:
                self.error((*base, name), f"unknown key '{name}' in {where}{did_you_mean(name, allowed)} "
                           f"(allowed: {', '.join(allowed)})")

    def tables(self, data: Mapping[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
        """The ``[[name]]`` tables with their index (none if missing)."""
        value = data.get(name, [])
        allowed = f"allowed: [[{name}]] tables"
        if not isinstance(value, list):
            self.error((name,), f"must be an array of tables, not {describe(value)}; {allowed}")
            return []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.error((name, i), f"must be a table, not {describe(item)}; {allowed}")
        return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


class _Scanner:
    """A forgiving recursive-descent walk over TOML text that only records key positions."""

    def __init__(self, text: str, out: dict[KeyPath, int]) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.out = out
        self.table: KeyPath = ()
        self.aot_counts: dict[KeyPath, int] = {}

    # -- characters -------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.s[j] if j < len(self.s) else ""

    def at_end(self) -> bool:
        return self.i >= len(self.s)

    def advance(self, n: int = 1) -> None:
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i = min(self.i + n, len(self.s))

    def skip_ws(self, newlines: bool) -> None:
        while not self.at_end():
            c = self.peek()
            if c in " \t" or (newlines and c in "\r\n"):
                self.advance()
            elif c == "#":
                while not self.at_end() and self.peek() != "\n":
                    self.advance()
            else:
                return

    def record(self, path: KeyPath, line: int) -> None:
        self.out.setdefault(path, line)

    # -- document level ---------------------------------------------------------------------

    def document(self) -> None:
        while True:
            self.skip_ws(newlines=True)
            if self.at_end():
                return
            if self.peek() == "[":
                self.header()
            else:
                self.keyval(self.table)
            self.skip_ws(newlines=False)
            while not self.at_end() and self.peek() != "\n":  # defensive: resync on the next line
                self.advance()

    def header(self) -> None:
        line = self.line
        aot = self.peek(1) == "["
        self.advance(2 if aot else 1)
        parts = self.key()
        self.skip_ws(newlines=False)
        self.advance(2 if aot else 1)
        path: list[str | int] = []
        for n, part in enumerate(parts):
            path.append(part)
            here = tuple(path)
            if aot and n == len(parts) - 1:
                count = self.aot_counts.get(here, 0)
                self.aot_counts[here] = count + 1
                self.record(here, line)
                path.append(count)
            elif here in self.aot_counts:
                path.append(self.aot_counts[here] - 1)
            else:
                self.record(here, line)
        self.table = tuple(path)
        self.record(self.table, line)

    def keyval(self, base: KeyPath) -> None:
        line = self.line
        parts = self.key()
        if not parts:
            return
        for n in range(1, len(parts) + 1):
            self.record(base + tuple(parts[:n]), line)
        self.skip_ws(newlines=False)
        if self.peek() != "=":
            return
        self.advance()
        self.skip_ws(newlines=False)
        self.value(base + tuple(parts))

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_ws(newlines=False)
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                m = _BARE_KEY.match(self.s, self.i)
                if m is None:
                    return parts
                parts.append(m.group())
                self.advance(m.end() - self.i)
            self.skip_ws(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    # -- values -----------------------------------------------------------------------------

    def value(self, path: KeyPath) -> None:
        c = self.peek()
        if c == "{":
            self.inline_table(path)
        elif c == "[":
            self.array(path)
        elif c in ('"', "'"):
            self.string()
        else:
            while not self.at_end() and self.peek() not in _SCALAR_END:
                self.advance()

    def inline_table(self, path: KeyPath) -> None:
        self.advance()
        while True:
            self.skip_ws(newlines=True)
            if self.at_end():
                return
            if self.peek() == "}":
                self.advance()
                return
            self.keyval(path)
            self.skip_ws(newlines=True)
            if self.peek() == ",":
                self.advance()
            elif self.peek() == "}":
                self.advance()
                return
            else:
                return

    def array(self, path: KeyPath) -> None:
        self.advance()
        index = 0
        while True:
            self.skip_ws(newlines=True)
            if self.at_end():
                return
            if self.peek() == "]":
                self.advance()
                return
            element = (*path, index)
            self.record(element, self.line)
            self.value(element)
            index += 1
            self.skip_ws(newlines=True)
            if self.peek() == ",":
                self.advance()
            elif self.peek() == "]":
                self.advance()
                return
            else:
                return

    def string(self) -> str:
        """Consume a string of any of the four kinds and return its (key-relevant) text."""
        quote = self.peek()
        if self.s.startswith(quote * 3, self.i):
            self.advance(3)
            while not self.at_end():
                c = self.peek()
                if c == "\\" and quote == '"':
                    self.advance(2)
                elif c == quote and self.s.startswith(quote * 3, self.i):
                    run = 3
                    while run < 5 and self.peek(run) == quote:
                        run += 1
                    self.advance(run)
                    return ""
                else:
                    self.advance()
            return ""
        self.advance()
        chars: list[str] = []
        while not self.at_end():
            c = self.peek()
            if c == "\n":
                break
            if c == quote:
                self.advance()
                break
            if c == "\\" and quote == '"':
                chars.append(self.escape())
                continue
            chars.append(c)
            self.advance()
        return "".join(chars)

    def escape(self) -> str:
        code = self.peek(1)
        if code in ("u", "U", "x"):
            width = {"u": 4, "U": 8, "x": 2}[code]
            digits = self.s[self.i + 2:self.i + 2 + width]
            self.advance(2 + width)
            try:
                return chr(int(digits, 16))
            except (ValueError, OverflowError):
                return ""
        self.advance(2)
        return _ESCAPES.get(code, code)
