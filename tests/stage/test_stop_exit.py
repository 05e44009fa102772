"""The end of a stage run's process (core.platform.exit_process): what a normal exit does first is still
done (other threads waited for, exit handlers run, standard output flushed) and the status is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
import atexit, sys, threading
from pathlib import Path
from stagectl.core.platform import exit_process

marks = Path(sys.argv[1])
go = threading.Event()

def worker():
    go.wait()
    with marks.open("a") as f:
        f.write("thread finished\\n")

threading.Thread(target=worker).start()  # not a daemon: the exit waits for it
atexit.register(lambda: marks.open("a").write("exit handler ran\\n"))
sys.stdout.write("buffered, not flushed")
threading.Timer(0.05, go.set).start()
exit_process(3)
"""


def test_exit_process_waits_for_threads_runs_exit_handlers_and_flushes(tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    done = subprocess.run([sys.executable, "-c", CHILD, str(marks)], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered, not flushed"
    assert marks.read_text().splitlines() == ["thread finished", "exit handler ran"]


def test_a_reader_gone_from_standard_output_makes_the_status_1() -> None:
    child = ("import io, sys\n"
             "from stagectl.core.platform import exit_process\n"
             "sys.stdout = io.TextIOWrapper(open(1, 'wb', closefd=False))\n"  # buffered, whatever the env
             "sys.stdout.write('a status line')\n"  # kept in the buffer: exit_process's flush meets the pipe
             "sys.stdin.read()\n"  # until the reader has gone
             "exit_process(0)\n")
    proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stdin.close()
    assert proc.wait(timeout=60) == 1
    assert b"Traceback" not in proc.stderr.read()
