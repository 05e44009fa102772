"""Running the ``stagectl`` command from a test: this checkout first on the path, offscreen Qt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The checkout's root folder."""


def stagectl_env() -> dict[str, str]:
    """Environment for a stagectl subprocess: this checkout first on the path, offscreen Qt."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def stagectl(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stagectl ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "stagectl", *args], capture_output=True, text=True,
                          timeout=timeout, env=stagectl_env(), cwd=REPO, check=False)


def stagectl_popen(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m stagectl ARGS`` with stdout/stderr piped."""
    return subprocess.Popen([sys.executable, "-m", "stagectl", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=stagectl_env(), cwd=REPO)
