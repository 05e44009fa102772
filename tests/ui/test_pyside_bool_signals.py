"""Regression: PySide6 6.12.0 on CPython 3.11 aborts (bool_dealloc) after signals carry bools.

The pin in pyproject.toml keeps us below 6.12; this test proves the installed build survives a
flood of bool-carrying signals, in a child process so an abort cannot take pytest down with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import PySide6

CHILD = textwrap.dedent("""
    import gc
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Emitter(QObject):
        flag = Signal(bool)
        pair = Signal(bool, object)

    app = QCoreApplication([])
    emitter = Emitter()
    seen = [0, 0]
    emitter.flag.connect(lambda value: seen.__setitem__(0, seen[0] + (1 if value else 0)))
    emitter.pair.connect(lambda value, obj: seen.__setitem__(1, seen[1] + (obj is value)))
    for i in range(200_000):
        emitter.flag.emit(i % 2 == 0)
        emitter.pair.emit(i % 3 == 0, i % 3 == 0)
    gc.collect()
    del emitter
    gc.collect()
    print(seen[0], seen[1])
""")


def test_installed_pyside6_is_below_6_12() -> None:
    major, minor = (int(part) for part in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__}: pyproject.toml must keep it below 6.12"


def test_many_bool_signals_do_not_abort_the_interpreter() -> None:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, f"child died with {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.split() == ["100000", "200000"]
