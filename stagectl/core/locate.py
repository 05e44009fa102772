"""Where things are in TOML and JSON text: the line locators of :class:`stagectl.core.check.Checker`.

``tomllib`` and ``json`` return plain dicts and lists without positions, so a message about a
*value* would have no line number. :class:`TomlLocator` and :class:`JsonLocator` scan the raw text
once and map every key path they see -- ``("sources", 1, "listen")`` -- to the 1-based line where
that key (or table header, or array element) is written.

The TOML scanner understands ``[table]`` and ``[[array.of.tables]]`` headers (occurrences are
counted to get the array index, nested arrays of tables included), dotted and quoted keys, inline
tables, arrays (of inline tables) and all four string forms, so that ``#``, ``=`` or brackets
inside strings do not confuse it. Both are meant for documents their parser has already accepted;
on anything else they stop quietly and know fewer keys, they never raise.

:func:`syntax_position` pulls the position out of a ``tomllib`` syntax error; :func:`json_document`
decodes JSON text the way lens files and looks are read (NaN and Infinity kept, to be reported).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from stagectl.core.check import KeyLines, KeyPath
from stagectl.core.errors import ConfigError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}
_SCALAR_END = frozenset(",]}#\r\n")
_JSON_SCALAR_END = frozenset(",]} \t\r\n")
_SYNTAX_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_E = TypeVar("_E", bound=ConfigError)


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


class TomlLocator(KeyLines):
    """Key path -> line map of one TOML document (see the module docstring)."""

    __slots__ = ()

    def __init__(self, text: str) -> None:
        lines: dict[KeyPath, int] = {}
        with contextlib.suppress(RecursionError, IndexError, ValueError):  # best effort: keep what was found
            _Scanner(text, lines).document()
        super().__init__(lines)


class JsonLocator(KeyLines):
    """Key path -> line map of one JSON document: an object member at its key, an array element where
    it starts. Iterative, so nesting depth does not matter. The text is scanned at the first question,
    so a file without a problem costs nothing."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text: str | None = text

    def _scan(self) -> None:
        text, self._text = self._text, None
        if text is not None:
            with contextlib.suppress(IndexError, ValueError):
                _scan_json(text, self._lines)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line where exactly ``path`` is written, or None."""
        self._scan()
        return super().line_of(path)

    def locate(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, else of its nearest written parent, else None."""
        self._scan()
        return super().locate(path)


def json_document(text: str, path: str | None, error: type[_E]) -> Any:
    """``json.loads(text)`` with NaN / Infinity kept (to be reported as not finite, where they are);
    ``error`` (a :class:`ConfigError`) with the line and column of a syntax error."""
    try:
        return json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno) from None
    except RecursionError:
        raise error("not valid JSON: nested too deeply", path=path) from None


def _constant(name: str) -> float:
    return float(name.replace("Infinity", "inf"))


def _scan_json(text: str, out: dict[KeyPath, int]) -> None:
    """Record the line of every object member and array element of accepted JSON ``text``."""
    stack: list[list[Any]] = []  # [path, key (None: a key comes next) or element index, is_object]
    i, line, n = 0, 1, len(text)

    def value_path() -> KeyPath | None:
        """The path of a value starting here (recording an array element), None for an object key."""
        if not stack:
            return ()
        path, slot, is_object = stack[-1]
        if is_object and slot is None:
            return None
        here: KeyPath = (*path, slot)
        if not is_object:
            out.setdefault(here, line)
        return here

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r:":
            i += 1
        elif c == ",":
            if stack:
                frame = stack[-1]
                frame[1] = None if frame[2] else frame[1] + 1
            i += 1
        elif c in "{[":
            here = value_path()
            stack.append([here if here is not None else (), None if c == "{" else 0, c == "{"])
            i += 1
        elif c in "}]":
            stack.pop()
            i += 1
        elif c == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if stack and stack[-1][2] and stack[-1][1] is None:
                key = json.loads(text[i:end + 1])
                stack[-1][1] = key
                out.setdefault((*stack[-1][0], key), line)
            else:
                value_path()
            i = end + 1
        else:
            value_path()
            while i < n and text[i] not in _JSON_SCALAR_END:
                i += 1


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
