"""The floors of the house hold: the import-linter contracts pass; a wrong import fails naming the rule."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.import_cycles import find_cycles
from tests.support.cli import REPO

PACKAGES = ("stagectl", "tracking", "lens", "led_wall", "presets", "ui")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages under ``root`` with the repo's contracts, writing no cache."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)


def _copy_house(tmp_path: Path) -> Path:
    root = tmp_path / "house"
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return root


def test_every_contract_is_kept() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "planted", "rule"), [
    ("tracking/source.py", "import stagectl.stage.pipeline", "Floors: an import only points down"),
    ("stagectl/takes/journal.py", "import tracking.freed.codec", "Domain packages never import each other"),
    ("stagectl/core/samples.py", "import stagectl.config.model", "Floors: an import only points down"),
    ("led_wall/helios.py", "import PySide6.QtCore", "Only ui/ imports Qt"),
    ("ui/panels/stage_map.py", "from stagectl.stage.pipeline import CameraPipeline", "ui reads StageView"),
    ("ui/panels/dp_panel.py", "import stagectl.core.runtime", "ui reads StageView"),
])
def test_a_planted_wrong_import_fails_naming_the_rule(tmp_path: Path, module: str, planted: str,
                                                      rule: str) -> None:
    root = _copy_house(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{planted}  # planted by the test\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert any(line.startswith(rule) for line in broken), result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout


def test_no_import_cycles() -> None:
    assert find_cycles() == []


def test_the_cycle_finder_sees_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "loop"
    (root / "ring").mkdir(parents=True)
    (root / "ring" / "__init__.py").write_text("")
    (root / "ring" / "a.py").write_text("def f() -> None:\n    from ring import b  # hidden in a function\n")
    (root / "ring" / "b.py").write_text("from ring import a\n")
    (root / "ring" / "c.py").write_text("from ring import a\n")
    monkeypatch.syspath_prepend(str(root))
    assert find_cycles(["ring"]) == [["ring.a", "ring.b"]]


def test_stagectl_holds_only_entry_modules_beside_its_sub_packages() -> None:
    loose = sorted(p.name for p in (REPO / "stagectl").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "app.py", "cli.py"]
