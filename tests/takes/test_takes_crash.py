"""Acceptance: a recorder killed with SIGKILL mid-take loses nothing the trackers sent well before the
kill (bench/take_crash.py: 8 cameras x 240 Hz from a separate sender process, whose send log is the
truth), and the store passes PRAGMA integrity_check after the restart.

The product's figure is 10 ms before the kill, measured by the bench (docs/BENCHMARKS.md). Here the
window is 100 ms: a loaded machine may leave the recorder's process unscheduled for some tens of
milliseconds, with datagrams still in its socket buffer, and that is no loss of the journal's. A
recorder that held samples back in batches of 100 ms or more still fails.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tests.support.cli import REPO

BENCH = REPO / "bench" / "take_crash.py"
MARGIN_MS = 100.0


def test_sigkill_mid_take_keeps_every_sample_sent_well_before_the_kill(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("take_crash", BENCH)
    assert spec is not None and spec.loader is not None
    crash = importlib.util.module_from_spec(spec)
    sys.modules["take_crash"] = crash  # dataclasses look their module up
    spec.loader.exec_module(crash)
    result = crash.run_crash(tmp_path, cameras=8, rate_hz=240.0, record_s=2.0, margin_ms=MARGIN_MS)
    # The sender starts after the recorder says "recording" and has 2 s until the kill; a loaded machine
    # may take a while to start it: a quarter of a second of all eight cameras is enough to judge by.
    assert result.sent_in_window > 8 * 240 / 4
    assert result.missing == 0, result
    assert result.integrity == "ok" and result.state == "recovered"
    assert result.recorded >= result.sent_in_window
