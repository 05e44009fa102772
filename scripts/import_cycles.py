"""Import cycles between our modules: every import counts (function-local and TYPE_CHECKING ones too).

    .venv/bin/python scripts/import_cycles.py      # prints each cycle; exit status 1 when there is one

A package's ``__init__`` importing its own sub-modules is not a cycle of the house and is left out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import grimp

PACKAGES = ("stagectl", "tracking", "lens", "led_wall", "presets", "ui")


def _imports(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        targets = graph.find_modules_directly_imported_by(module)
        # importing a parent package (its __init__) from inside it is how Python loads a sub-module
        edges[module] = {t for t in targets if not module.startswith(t + ".")}
    return edges


def find_cycles(packages: Iterable[str] = PACKAGES) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted, largest first."""
    edges = _imports(grimp.build_graph(*packages, cache_dir=None))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(root: str) -> None:
        nonlocal counter
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(groups, key=len, reverse=True)


def main() -> int:
    """Print the cycles; 1 when there is one."""
    cycles = find_cycles()
    for group in cycles:
        print("cycle: " + " <-> ".join(group))
    print(f"{len(cycles)} import cycle(s) among {', '.join(PACKAGES)}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
