"""LineOut: status lines written by a thread of their own, so a reader that does not read never blocks the
caller; lines dropped while it is behind are counted; a reader gone is seen."""

from __future__ import annotations

import io
import os
import sys

import pytest

from stagectl.core.lineout import LineOut
from tests.support.polling import wait_until


def test_lines_reach_a_stream_in_order() -> None:
    out = io.StringIO()
    lines = LineOut(out)
    for n in range(3):
        lines.put(f"line {n}")
    assert lines.close(5.0)
    assert out.getvalue() == "line 0\nline 1\nline 2\n"
    assert (lines.written, lines.dropped, lines.broken) == (3, 0, False)


@pytest.mark.skipif(sys.platform == "win32", reason="an os.pipe filled from this side")
def test_a_reader_that_does_not_read_never_blocks_and_gets_whole_lines_when_it_does() -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    lines = LineOut(stream, keep=4)
    try:
        line = "x" * 20_000  # a few fill any pipe
        for _ in range(200):
            lines.put(line)  # returns at once: the writer thread is the one stuck in the pipe
        assert lines.dropped >= 200 - 4 - lines.written - 1
        assert not lines.close(0.2)  # nobody reads: what waits is not written
        # Reading now lets the writer finish the line it was in (the queued ones were dropped at close).
        received = b""
        while not received.endswith(b"\n"):
            received += os.read(read_end, 1 << 16)
        wait_until(lambda: lines.written == received.count(b"\n") >= 1, what="the line counted as written")
        assert all(part == line.encode() for part in received.split(b"\n")[:-1])
        assert lines.written + lines.dropped == 200
    finally:
        os.close(read_end)
        stream.close()


@pytest.mark.skipif(sys.platform == "win32", reason="a broken os.pipe")
def test_a_reader_gone_is_seen_as_broken() -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    os.close(read_end)
    lines = LineOut(stream)
    try:
        lines.put("nobody hears this")
        wait_until(lambda: lines.broken, what="the broken pipe seen")
        lines.put("nor this")  # taken and dropped quietly
        assert not lines.close(1.0) and lines.written == 0
    finally:
        stream.close()
