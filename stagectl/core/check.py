"""One checker for every document stagectl reads: stage files, lens files, looks and cues.

A document arrives as plain data (what ``tomllib`` or ``json`` give, or a dict built in code);
a :class:`Checker` walks it and collects every problem as a located
:class:`~stagectl.core.errors.ConfigError`: the file, the key path (``devices[2].features[0].address``,
rendered by :func:`render_key`) and a message saying what was wrong and what is allowed. It never
stops at the first problem: callers look at ``errors`` (or raise them as one
:class:`DocumentErrors`) when the walk is done.

Line numbers are a plug-in: a :class:`Locator` maps a key path to the line it is written on
(``stagectl.core.locate`` has one for TOML and one for JSON text). Without one -- a dict built in
code -- errors name the key alone.

The words of a message follow the document's format (:class:`Dialect`): a stage file (TOML) says
``must be an integer, not a string ('5'); allowed: ...`` and talks of tables and arrays, a JSON
file says ``expected a whole number, got a string ('5')`` and talks of objects and lists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from stagectl.core.errors import ConfigError
from stagectl.core.text import did_you_mean

KeyPath = tuple[str | int, ...]
"""Where a value is: ``("devices", 2, "features", 0, "address")``."""

MISSING: Any = object()
"""Sentinel for "key not in the table" (``table.get(key, MISSING)``)."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NUMBER = (int, float)


def render_key(path: Sequence[str | int]) -> str:
    """A key path the way messages show it: ``sources[1].listen``; odd keys quoted: ``a."odd key"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if not _BARE_KEY.fullmatch(part):
            part = '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out += f".{part}" if out else part
    return out


class Locator(Protocol):
    """Key path -> line in the document's text (a plug-in of :class:`Checker`)."""

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line where exactly ``path`` is written, or None."""

    def locate(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, else of its nearest written parent, else None."""


class KeyLines:
    """A :class:`Locator` from a ready map of key paths to 1-based lines."""

    __slots__ = ("_lines",)

    def __init__(self, lines: Mapping[KeyPath, int] | None = None) -> None:
        self._lines: dict[KeyPath, int] = dict(lines or {})

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


@dataclass(frozen=True, slots=True)
class Dialect:
    """How messages about one file format name values and phrase problems.

    The templates are ``str.format`` strings; each gets every field below (unused ones are
    ignored): ``name`` (the key or value in question), ``expected``, ``got`` (a described value),
    ``value``, ``bounds`` (``> 0``, ``within 0..1``), ``allowed``, ``where``, ``what``, ``hint``
    (a did-you-mean) and ``note``.
    """

    kinds: tuple[tuple[type, str], ...]
    """(type, words) in the order a value is tested: the first match names it."""
    integer: str
    """What an integer is called when one is expected."""
    null: str
    wrong_type: str
    missing: str
    unknown_key: str
    unknown_choice: str
    not_finite: str
    out_of_range: str

    def kind(self, types: Sequence[type]) -> str:
        """``a number``, ``an integer``, ``a number or a string`` ... for values of ``types``."""
        names: list[str] = []
        for t, words in self.kinds:
            if t not in types or (t is int and float in types):  # int and float together: "a number"
                continue
            words = self.integer if t is int else words
            if words not in names:
                names.append(words)
        return " or ".join(names) or "a value"

    def describe(self, value: Any) -> str:
        """Name a value for a message: ``a boolean (true)``, ``a string ('x')``, ``a table``."""
        if value is None:
            return self.null
        if isinstance(value, bool):
            return f"a boolean ({str(value).lower()})"
        words = next((w for t, w in self.kinds if isinstance(value, t)), "a date/time")
        if isinstance(value, dict | list):
            return words
        return f"{words} ({value!r})" if isinstance(value, str) else f"{words} ({value})"


TOML = Dialect(
    kinds=((int, "an integer"), (float, "a number"), (str, "a string"), (bool, "a boolean"),
           (list, "an array"), (dict, "a table")),
    integer="an integer",
    null="nothing",
    wrong_type="must be {expected}, not {got}; allowed: {allowed}",
    missing="missing required key '{name}'; allowed: {allowed}",
    unknown_key="unknown key '{name}' {where}{hint} (allowed: {allowed}){note}",
    unknown_choice="unknown {what} '{value}'{hint} (allowed: {allowed})",
    not_finite="{value} is not a finite number; allowed: {allowed}",
    out_of_range="{value} is out of range; allowed: {allowed}",
)
"""Stage files: tables and arrays, and every message ends with what is allowed."""

JSON = Dialect(
    kinds=((int, "a number"), (float, "a number"), (str, "a string"), (bool, "a boolean"),
           (list, "a list"), (dict, "an object")),
    integer="a whole number",
    null="null",
    wrong_type="expected {expected}, got {got}",
    missing="missing (required)",
    unknown_key="unknown key{hint}; allowed: {allowed}{note}",
    unknown_choice="unknown {what} {value!r}{hint}; allowed: {allowed}",
    not_finite="not a finite number ({value}){note}",
    out_of_range="must be {bounds}, got {value}",
)
"""Lens files, looks and cues: objects and lists, ``expected X, got Y``."""


def bounds_text(low: float | None, high: float | None, low_open: bool = False) -> str:
    """``within 0..1``, ``> 0``, ``>= 1``, ``<= 10``."""
    if low is not None and high is not None:
        return f"within {low:g}..{high:g}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"<= {high:g}" if high is not None else "any number"


def choice_problem(what: str, value: object, choices: Sequence[str], *, dialect: Dialect = JSON,
                   hint_from: Sequence[str] | None = None) -> str | None:
    """Why ``value`` is not one of ``choices`` (``unknown easing 'x'; did you mean ...``), or None."""
    if isinstance(value, str) and value in choices:
        return None
    hint = did_you_mean(value, hint_from or choices) if isinstance(value, str) else ""
    return dialect.unknown_choice.format(what=what, value=value, hint=hint, allowed=", ".join(choices))


_E = TypeVar("_E", bound="DocumentErrors")


class DocumentErrors(ConfigError):
    """Every problem found in one document, as one error.

    ``errors`` holds the individual :class:`ConfigError` s. With one, ``str()`` is exactly that
    error's text (and ``line``/``key`` are its); with several it is ``"<file>: N errors:"`` followed
    by one line per error, and ``line``/``key`` are those of the first.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None, errors: Sequence[ConfigError] | None = None) -> None:
        super().__init__(message, path=path, line=line, key=key)
        self.errors: list[ConfigError] = list(errors or [ConfigError(message, path=path, line=line, key=key)])

    @staticmethod
    def summary(errors: Sequence[ConfigError], path: str | None) -> tuple[str, dict[str, Any]]:
        """(message, keyword arguments) of the one error that stands for ``errors`` (at least one)."""
        first = errors[0]
        if len(errors) == 1:
            return first.detail, {"path": first.path, "line": first.line, "key": first.key}
        return "\n".join([f"{len(errors)} errors:", *map(str, errors)]), {"path": path}

    @classmethod
    def collect(cls: type[_E], errors: Sequence[ConfigError], path: str | None) -> _E:
        """One error standing for all of ``errors`` (at least one)."""
        message, where = DocumentErrors.summary(errors, path)
        error = cls(message, errors=errors, **where)
        error.line, error.key = errors[0].line, errors[0].key
        return error


class Checker:
    """Collects located :class:`ConfigError` s about one document (see the module docstring).

    The value checks return the value when it is good and ``None`` (or a given default) after
    recording what was wrong; a caller compares ``len(errors)`` before and after to know whether a
    part was good.
    """

    def __init__(self, path: str | None = None, *, locator: Locator | None = None,
                 dialect: Dialect = TOML) -> None:
        self.path = path
        self.locator: Locator = locator if locator is not None else KeyLines()
        self.dialect = dialect
        self.errors: list[ConfigError] = []

    # --- recording ----------------------------------------------------------------------------------

    def error(self, key: KeyPath, message: str, *, line: int | None = None) -> None:
        """Record ``message`` about the value at ``key`` (``line`` when known better than the locator)."""
        where = line if line is not None else self.locator.locate(key)
        self.errors.append(ConfigError(message, path=self.path, line=where, key=render_key(key) or None))

    def raise_errors(self, error: type[_E]) -> None:
        """Raise every recorded problem as one ``error`` (a :class:`DocumentErrors`), if there is any."""
        if self.errors:
            raise error.collect(self.errors, self.path)

    def _say(self, template: str, **fields: Any) -> str:
        values = dict.fromkeys(("name", "expected", "got", "value", "bounds", "allowed", "where", "what",
                                "hint", "note"), "")
        values.update(fields)
        return template.format(**values)

    # --- values -------------------------------------------------------------------------------------

    def of_type(self, value: Any, key: KeyPath, types: tuple[type, ...], *, allowed: str = "",
                expected: str | None = None, note: str = "", finite: bool = True) -> Any:
        """``value`` if it is one of ``types`` (a bool is never a number; a float is finite unless
        ``finite`` is False, for a check that says more later), else None.

        ``expected`` names the types in the message (default: the dialect's words for ``types``);
        ``note`` follows a "not a finite number" message (JSON files).
        """
        if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
            self.error(key, self._say(self.dialect.wrong_type, expected=expected or self.dialect.kind(types),
                                      got=self.dialect.describe(value), allowed=allowed))
            return None
        if finite and isinstance(value, float) and not math.isfinite(value):
            self.error(key, self._say(self.dialect.not_finite, value=value, allowed=allowed, note=note))
            return None
        return value

    def in_range(self, value: float, key: KeyPath, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, allowed: str = "") -> bool:
        """True when ``low <= value <= high`` (``low < value`` with ``low_open``); else records why."""
        below = low is not None and (value <= low if low_open else value < low)
        if below or (high is not None and value > high):
            self.error(key, self._say(self.dialect.out_of_range, value=value, allowed=allowed,
                                      bounds=bounds_text(low, high, low_open)))
            return False
        return True

    def number(self, value: Any, key: KeyPath, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, integer: bool = False, allowed: str = "",
               expected: str | None = None, note: str = "") -> Any:
        """A finite number (an integer with ``integer``) within the bounds, else None."""
        number = self.of_type(value, key, (int,) if integer else _NUMBER, allowed=allowed, expected=expected,
                              note=note)
        if number is None or not self.in_range(number, key, low, high, low_open=low_open, allowed=allowed):
            return None
        return number

    def choice(self, value: Any, key: KeyPath, what: str, choices: Sequence[str], *,
               hint_from: Sequence[str] | None = None) -> str | None:
        """``value`` if it is one of ``choices``, else None after ``unknown <what> 'x'; did you mean``."""
        problem = choice_problem(what, value, choices, dialect=self.dialect, hint_from=hint_from)
        if problem is not None:
            self.error(key, problem)
            return None
        return value  # type: ignore[no-any-return]

    # --- tables / objects ---------------------------------------------------------------------------

    def word(self, table: Mapping[str, Any], key: KeyPath, choices: Sequence[str], default: str) -> str:
        """The string at ``key`` if it is one of ``choices`` (``default`` when absent); else ``default``
        after ``'x' is not one of "a" or "b"; did you mean``."""
        allowed = " or ".join(f'"{c}"' for c in choices)
        value = self.typed(table, key, (str,), allowed, default)
        if value not in choices:
            self.error(key, f"'{value}' is not one of {allowed}{did_you_mean(value, choices)}")
            return default
        return value  # type: ignore[no-any-return]

    def kind_and_keys(self, table: Mapping[str, Any], base: KeyPath, what: str, kinds: Sequence[str],
                      keys_by_kind: Mapping[str, Sequence[str]], all_keys: Sequence[str]) -> str | None:
        """A table whose ``kind`` decides its keys (``[[devices]]``, ``[[outputs]]``): ``kind`` is required
        and one of ``kinds``; every other key must be one that kind takes (any kind's, when the kind is
        bad). The kind, or None after an error."""
        key: KeyPath = (*base, "kind")
        kind: str | None = self.typed(table, key, (str,), ", ".join(kinds), required=True)
        if kind is not None:
            kind = self.choice(kind, key, f"{what} kind", kinds)
        article = "an" if what[:1] in "aeiou" else "a"
        where = f"for {article} {what} of kind '{kind}'"
        self.keys(table, base, keys_by_kind.get(kind or "", all_keys), where=where)
        return kind

    def keys(self, table: Mapping[str, Any], base: KeyPath, allowed: Sequence[str], *,
             required: Sequence[str] = (), where: str = "", hint_from: Sequence[str] | None = None,
             notes: Mapping[str, str] | None = None) -> bool:
        """One error per key of ``table`` not in ``allowed`` (with a did-you-mean; ``notes`` adds a word
        for some names), one per ``required`` key missing; True when every required key is there."""
        listed = ", ".join(allowed)
        for name in table:
            if name not in allowed:
                hint = did_you_mean(name, hint_from or allowed)
                self.error((*base, name), self._say(self.dialect.unknown_key, name=name, where=where,
                                                    hint=hint, allowed=listed,
                                                    note=(notes or {}).get(name, "")))
        missing = [name for name in required if name not in table]
        for name in missing:
            self.error((*base, name), self._say(self.dialect.missing, name=name, allowed=listed))
        return not missing

    def obj(self, value: Any, key: KeyPath, required: Sequence[str], optional: Sequence[str] = (), *,
            notes: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """``value`` if it is an object (a table) with every ``required`` key and no other than
        ``required`` + ``optional``; None when it is not one, or misses a required key."""
        if self.of_type(value, key, (dict,)) is None:
            return None
        complete = self.keys(value, key, (*required, *optional), required=required, notes=notes)
        return value if complete else None

    def typed(self, table: Mapping[str, Any], key: KeyPath, types: tuple[type, ...], allowed: str,
              default: Any = None, required: bool = False) -> Any:
        """The value at ``key`` (its last part is the name in ``table``) if it is one of ``types``,
        else ``default`` (after recording it missing when ``required``)."""
        value = table.get(str(key[-1]), MISSING)
        if value is MISSING:
            if required:
                self.error(key, self._say(self.dialect.missing, name=key[-1], allowed=allowed))
            return default
        checked = self.of_type(value, key, types, allowed=allowed)
        return default if checked is None else checked

    def ranged(self, table: Mapping[str, Any], key: KeyPath, lo: float, hi: float, default: Any, allowed: str,
               integer: bool = False) -> Any:
        """A number (or an integer) ``lo..hi`` at ``key``, else ``default``."""
        value = self.typed(table, key, (int,) if integer else _NUMBER, allowed)
        if value is None or not self.in_range(value, key, lo, hi, allowed=allowed):
            return default
        return value if integer else float(value)

    def unknown_keys(self, table: Mapping[str, Any], base: KeyPath, where: str,
                     allowed: Sequence[str]) -> None:
        """One error per key of ``table`` (at ``base``, shown as ``where``) that is not in ``allowed``."""
        self.keys(table, base, allowed, where=f"in {where}")

    def tables(self, data: Mapping[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
        """The ``[[name]]`` tables (array of objects) with their index; none if missing."""
        value = data.get(name, [])
        allowed = f"allowed: [[{name}]] tables"
        if not isinstance(value, list):
            self.error((name,), f"must be an array of tables, not {self.dialect.describe(value)}; {allowed}")
            return []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.error((name, i), f"must be a table, not {self.dialect.describe(item)}; {allowed}")
        return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]

    def section(self, data: Mapping[str, Any], name: str, allowed: str,
                required: bool = False) -> dict[str, Any] | None:
        """The table ``[name]`` of ``data``; None when it is absent (an error when ``required``) or is
        not a table (an error). ``allowed`` says what the table holds: ``[control] with listen``."""
        table = data.get(name, MISSING)
        if isinstance(table, dict):
            return table
        if table is not MISSING:
            self.error((name,), f"must be {self.dialect.kind((dict,))}, not {self.dialect.describe(table)}; "
                                f"allowed: {allowed}")
        elif required:
            self.error((name,), f"missing [{name}] table; allowed: {allowed}")
        return None

    def schema(self, data: Any, schema: str, what: str) -> bool:
        """True when ``data`` is an object whose ``schema`` is ``schema``; else records the one problem
        (another version's file follows another format: nothing else of it is judged)."""
        if not isinstance(data, dict):
            self.error((), f"expected a JSON object, got {self.dialect.describe(data)}")
            return False
        found = data.get("schema")
        if found != schema:
            problem = "missing" if found is None else f"{self.dialect.describe(found)} is not supported"
            self.error(("schema",), f"{problem}: this stagectl reads {schema!r} {what} files")
            return False
        return True
