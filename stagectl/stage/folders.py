"""Where a stage keeps its files when the stage file does not say: looks and takes under one data dir."""

from __future__ import annotations

import os
from pathlib import Path

from stagectl.config.model import StageConfig

DATA_DIR_ENV = "STAGECTL_DATA_DIR"


def default_data_dir() -> Path:
    """``$STAGECTL_DATA_DIR``, else ``$XDG_DATA_HOME/stagectl``, else ``~/.local/share/stagectl``."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stagectl"


def looks_folder(config: StageConfig) -> Path:
    """``[looks] dir``, else ``<data dir>/looks``."""
    return config.looks.dir or default_data_dir() / "looks"
