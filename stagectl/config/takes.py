"""Checking ``[takes]``: the takes folder, the timecode source and the production on the slate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stagectl.config.model import TakesConfig
from stagectl.core.check import Checker
from stagectl.core.text import did_you_mean

TAKES_KEYS = ("dir", "timecode", "production")


class TakesTableChecker(Checker):
    """The ``[takes]`` part of the stage-file checker (mixed into config._Checker)."""

    def takes(self, data: Mapping[str, Any], base_dir: Path, cameras: Sequence[str]) -> TakesConfig:
        """``[takes]`` (defaults when absent); ``timecode`` must be ``stage`` or a camera's name."""
        table = self.section(data, "takes", f"[takes] with {', '.join(TAKES_KEYS)}")
        if table is None:
            return TakesConfig()
        self.unknown_keys(table, ("takes",), "[takes]", TAKES_KEYS)
        folder = self.typed(table, ("takes", "dir"), (str,), "a folder path, relative to the stage file")
        timecode = self.typed(table, ("takes", "timecode"), (str,),
                              '"stage" or the name of a camera whose tracker sends timecode', "stage")
        production = self.typed(table, ("takes", "production"), (str,), "the production's name", "")
        if isinstance(timecode, str) and timecode != "stage" and timecode not in cameras:
            choices = ["stage", *cameras]
            self.error(("takes", "timecode"), f"{timecode!r} is neither \"stage\" nor a camera of this stage"
                       f"{did_you_mean(timecode, choices)}; allowed: {', '.join(choices)}")
            timecode = "stage"
        return TakesConfig(None if folder is None else base_dir / folder, str(timecode or "stage"),
                           str(production or ""))
