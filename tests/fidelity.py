"""The field matrix: does every field a tracker sent reach each output and export, as sent?

Marks, per (field, format):

* ``✓``: carried exactly as sent (within the format's documented precision);
* ``±``: stagectl put its own value in the field's place and kept the tracker's in
  ``custom.stagectl.changed`` (OpenTrackIO only: its identity, or a lens it solved);
* ``·``: the format has no place for it (a CSV has no column for a distortion model);
* ``✗``: lost or altered: a defect.

A field's paths are written with ``[]`` for list indices (``transforms[].rotation.pan``); a subtree
whose leaves all share one row of marks is shown once as ``path.*``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

MISSING: Any = object()
SENT, CHANGED, CANNOT, LOST = "✓", "±", "·", "✗"
FORMATS = ("decode", "output", "jsonl", "csv", "usd", "otio", "ale")
_INDEX = re.compile(r"\[\d+\]")


def leaves(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar of a JSON-like value with its path (``a.b[2].c``)."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from leaves(value, f"{path}[{i}]")
    else:
        yield path, obj


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        steps.append(int(part[1:-1]) if part.startswith("[") else part)
    return steps


def get(obj: Any, path: str) -> Any:
    """The value at ``path`` in ``obj`` (MISSING when absent)."""
    for step in _steps(path):
        if isinstance(step, int):
            if not isinstance(obj, list) or step >= len(obj):
                return MISSING
            obj = obj[step]
        else:
            if not isinstance(obj, Mapping) or step not in obj:
                return MISSING
            obj = obj[step]
    return obj


def same(a: Any, b: Any, rel: float = 0.0) -> bool:
    """Equal values; numbers within ``rel`` (booleans are not numbers)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (rel > 0 and math.isclose(float(a), float(b), rel_tol=rel, abs_tol=rel))
    return bool(a == b)


def passed_on(out: Mapping[str, Any], path: str, value: Any) -> str:
    """How a relayed / exported OpenTrackIO sample carries the sent leaf at ``path``."""
    if same(get(out, path), value):
        return SENT
    changed = get(out, "custom.stagectl.changed")
    if isinstance(changed, Mapping):
        for key, theirs in changed.items():
            if path == key:
                return CHANGED if same(theirs, value) else LOST
            if path.startswith(key + ".") or path.startswith(key + "["):
                rest = path[len(key):].lstrip(".")
                return CHANGED if same(get(theirs, rest), value) else LOST
    return LOST


def pattern(path: str) -> str:
    """``transforms[2].scale.x`` -> ``transforms[].scale.x``."""
    return _INDEX.sub("[]", path)


def merge(marks: Sequence[str]) -> str:
    """One cell from the marks of every sample: a loss anywhere is a loss."""
    for mark in (LOST, CHANGED, SENT):
        if mark in marks:
            return mark
    return CANNOT


def collapse(rows: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Each subtree whose leaves (two or more) all share one row of marks becomes one ``path.*`` row."""
    tree: dict[str, Any] = {}
    for path, marks in rows.items():
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = marks

    Marks = tuple[str, ...]

    def fold(node: dict[str, Any], prefix: str) -> tuple[dict[str, Marks], set[Marks], int]:
        out: dict[str, Marks] = {}
        kinds: set[Marks] = set()
        count = 0
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                sub, sub_kinds, sub_count = fold(value, path)
                if len(sub_kinds) == 1 and sub_count > 1:
                    sub = {f"{path}.*": next(iter(sub_kinds))}
                out.update(sub)
                kinds |= sub_kinds
                count += sub_count
            else:
                out[path] = value
                kinds.add(value)
                count += 1
        return out, kinds, count

    return dict(sorted(fold(tree, "")[0].items()))


def render(rows: Mapping[str, tuple[str, ...]]) -> str:
    """The matrix as a Markdown table."""
    lines = ["| field | " + " | ".join(FORMATS) + " |", "|---|" + "---|" * len(FORMATS)]
    lines += [f"| `{path}` | " + " | ".join(marks) + " |" for path, marks in rows.items()]
    return "\n".join(lines) + "\n"
