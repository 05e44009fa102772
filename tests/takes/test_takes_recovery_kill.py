"""A recorder killed with SIGKILL mid-take, then a takes folder whose journal cannot be deleted: the take
is recovered once, with every sample once, and each later start reports the journal (path and what to
do) instead of replaying it into a new take."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np

from stagectl.takes.committer import JOURNAL_DIR
from stagectl.takes.recovery import recover
from stagectl.takes.store import TakeStore
from tests.support.cli import stagectl_popen
from tests.support.network import free_udp_port
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile
from tests.takes.permissions import open_to_all, permissions_apply, read_only
from tracking.freed.codec import FreeDPosition, encode_d1

PACKETS = 300


def _packet(n: int) -> bytes:
    return encode_d1(FreeDPosition(1, pan_deg=0.0, tilt_deg=0.0, roll_deg=0.0, x_mm=0.0, y_mm=0.0, z_mm=0.0,
                                   zoom=n, focus=0))


def _record_and_kill(tmp_path: Path) -> Path:
    """Record a take in a ``stagectl takes record`` process, send it PACKETS FreeD packets, SIGKILL it;
    returns its takes folder, with the journal left behind."""
    port = free_udp_port()
    stage = (StageFile("kill test", frame_rate=24)
             .source("A", "freed", camera_id=1, listen=f"127.0.0.1:{port}")
             .takes(dir="takes").write(tmp_path))
    proc = stagectl_popen("--log-level", "WARNING", "takes", "record", "--config", str(stage),
                          "--duration", "600", "--scene", "kill")
    said = threading.Event()

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "recording" in line:
                said.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert said.wait(60.0), "the recorder never said it was recording"
        journal_dir = tmp_path / "takes" / JOURNAL_DIR
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tracker:
            for n in range(PACKETS):
                tracker.sendto(_packet(n), ("127.0.0.1", port))
                if n % 20 == 0:
                    time.sleep(0.002)
        [journal] = wait_until(lambda: list(journal_dir.glob("*.journal")))
        sizes: list[int] = []

        def settled() -> bool:  # every packet's record reached the journal: its size stops growing
            sizes.append(journal.stat().st_size)
            return len(sizes) > 3 and sizes[-1] == sizes[-4] > 4096

        wait_until(settled, interval_s=0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10.0)
    return tmp_path / "takes"


def test_a_killed_take_whose_journal_cannot_be_deleted_is_recovered_once(tmp_path: Path) -> None:
    folder = _record_and_kill(tmp_path)
    journal_dir = folder / JOURNAL_DIR
    [journal] = journal_dir.glob("*.journal")
    open_to_all(folder, journal, *folder.glob("takes.sqlite*"))
    read_only(journal_dir)
    try:
        with permissions_apply(folder) as where:
            runs = [recover(where) for _ in range(3)]
    finally:
        journal_dir.chmod(0o755)
    [first] = runs[0].takes
    assert first.state == "recovered"
    for run in runs:
        [notice] = run.notices
        assert f"take journal {journal} could not be deleted (Permission denied)" in notice
        assert "not replayed again: delete it, or make" in notice
    assert runs[1].takes == runs[2].takes == []
    assert journal.exists()
    with TakeStore(folder) as store:
        [info] = store.takes()
        zoom = store.read(info.take_id).cameras["A"].zoom_raw
    assert info.name == "kill-T001" and info.state == "recovered"
    assert np.array_equal(zoom, np.arange(PACKETS, dtype=zoom.dtype))  # each sample once, in order
