"""The CI entry point itself: `.ci/run` must parse, or CI fails before a single test runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import REPO

SCRIPTS = (REPO / ".ci" / "run",)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(Path(p).relative_to(REPO)))
def test_ci_script_parses_as_bash(script: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None, "bash is needed to check .ci/run"
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, f"{script} does not parse: {result.stderr}"


def test_ci_script_ends_in_make_test() -> None:
    lines = [line.strip() for line in SCRIPTS[0].read_text(encoding="utf-8").splitlines()]
    body = [line for line in lines if line and not line.startswith("#")]
    assert body[-1] == "make test", "CI must end by running the suite a developer runs"
    assert "set -euo pipefail" in body


def test_a_broken_script_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "run"
    broken.write_text("#!/usr/bin/env bash\n# x `if true; then\n  echo\nfi\n", encoding="utf-8")
    result = subprocess.run(["bash", "-n", str(broken)], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode != 0
