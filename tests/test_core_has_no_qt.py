"""The headless core never imports Qt: by source scan and by importing it in a clean process."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.support.cli import REPO, stagectl_env

CORE_PACKAGES = ("stagectl", "tracking", "lens", "led_wall", "presets")
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")


def _imports(path: str) -> set[str]:
    tree = ast.parse((REPO / path).read_text(), filename=path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_core_module_imports_qt() -> None:
    offenders = []
    for package in CORE_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = str(path.relative_to(REPO))
            bad = _imports(rel) & set(QT_MODULES)
            if bad:
                offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []


def test_scanner_sees_a_qt_import() -> None:
    # The scan above must be able to fail: it finds Qt in ui/.
    assert "PySide6" in _imports("ui/app.py")


def test_running_the_core_loads_no_qt() -> None:
    code = (
        "import sys, stagectl.app, stagectl.stage.assembly, stagectl.commands.freed, tracking.simulator, "
        "lens, led_wall, presets\n"
        "from stagectl.stage.runner import StageRunner\n"
        "from stagectl.config.load import default_stage\n"
        "r = StageRunner(default_stage()); r.close()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=stagectl_env(), cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
