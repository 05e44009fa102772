"""FreeD over a byte stream (serial lines): find D1 frames in whatever bytes arrive.

A serial line has no datagram boundaries: a reader joins the line mid-frame, noise and a wrong
baud rate produce garbage, and a tracker may echo our D0 commands. :class:`FreeDStreamParser`
is a pure, incremental framer over such a stream:

* a frame starts at a 0xD1 byte and is taken only when its 29 bytes carry a valid checksum;
* on a bad checksum it skips ONE byte and searches on for the next 0xD1, so a 0xD1 in garbage
  or inside a corrupt frame never swallows the good frame that follows;
* a 4-byte D0 command with a valid checksum (an echo of our start-stream command, say) is
  skipped as one unit and reported with reason ``type``, unless a 0xD1 sits inside it (a D0
  must never eat the start of a position frame);
* skipped bytes form a *run*, reported once when it ends (a frame or D0 follows, :meth:`flush`
  is called, or it reaches :data:`RUN_REPORT_BYTES`): reason ``checksum`` when the run is
  exactly one 29-byte frame starting with 0xD1 (the usual bit error), else ``sync``;
* it keeps at most one partial frame (28 bytes) between calls, and costs O(n) over the input.

The checksum is 8 bits: a 0xD1 in garbage whose 29 bytes happen to sum right (1 in 256) is a
frame as far as any FreeD receiver can tell; the value checks downstream catch most of those.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tracking.freed.codec import D0, D0_LENGTH, D1, D1_LENGTH, FreeDPosition, checksum, decode_d1

#: A run of skipped bytes this long is reported even though it has not ended (a wrong baud rate
#: produces nothing but garbage, and it must show up in the counters while it lasts).
RUN_REPORT_BYTES = 1024
#: How many bytes of a skipped run are quoted (in hex) in its report.
RUN_HEAD_BYTES = 8
#: The longest tail kept between feeds: one D1 frame short of a byte.
MAX_PENDING = D1_LENGTH - 1

_FRAME_START = re.compile(b"[\xd0\xd1]")


class StreamReject(NamedTuple):
    """Bytes of the stream that were not a position: a counter reason, a detail, how many."""

    reason: str
    detail: str
    skipped: int


StreamItem = FreeDPosition | StreamReject
"""What :meth:`FreeDStreamParser.feed` yields, in stream order."""


class FreeDStreamParser:
    """Incremental FreeD framer: feed it bytes, get positions and rejections in order.

    Not thread-safe: one parser per stream, used by that stream's reader.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._run_bytes = 0
        self._run_head = b""
        self._run_error: str | None = None  # set when the run began at a 0xD1 with a bad checksum

    @property
    def pending(self) -> int:
        """Bytes held back as the start of a frame not yet complete (at most 28)."""
        return len(self._pending)

    def feed(self, data: bytes | bytearray | memoryview) -> list[StreamItem]:
        """Frame ``data`` (appended to what came before); never raises on any input."""
        buf = self._pending + bytes(data)
        out: list[StreamItem] = []
        size = len(buf)
        pos = 0
        while pos < size:
            head = buf[pos]
            if head == D1:
                end = pos + D1_LENGTH
                if end > size:
                    break  # wait for the rest of the frame
                expected = checksum(buf[pos:end - 1])
                if buf[end - 1] == expected:
                    self._end_run(out)
                    out.append(decode_d1(buf[pos:end]))
                    pos = end
                else:
                    error = f"D1 checksum expected 0x{expected:02X}, found 0x{buf[end - 1]:02X}"
                    self._skip(buf, pos, 1, out, error)
                    pos += 1
            elif head == D0:
                end = pos + D0_LENGTH
                if end > size:
                    break
                if buf[end - 1] == checksum(buf[pos:end - 1]) and D1 not in buf[pos + 1:end]:
                    self._end_run(out)
                    out.append(StreamReject(
                        "type", f"D0 command {buf[pos:end].hex(' ')}; only D1 carries a camera position",
                        D0_LENGTH))
                    pos = end
                else:
                    self._skip(buf, pos, 1, out)
                    pos += 1
            else:
                found = _FRAME_START.search(buf, pos)
                stop = size if found is None else found.start()
                self._skip(buf, pos, stop - pos, out)
                pos = stop
        self._pending = buf[pos:]
        return out

    def flush(self) -> list[StreamItem]:
        """Report the open run of skipped bytes now (the line went quiet); keeps a partial frame."""
        out: list[StreamItem] = []
        self._end_run(out)
        return out

    def _skip(self, buf: bytes, pos: int, count: int, out: list[StreamItem],
              error: str | None = None) -> None:
        if self._run_bytes == 0:
            self._run_error = error
        if len(self._run_head) < RUN_HEAD_BYTES:
            self._run_head += buf[pos:pos + min(count, RUN_HEAD_BYTES - len(self._run_head))]
        self._run_bytes += count
        if self._run_bytes >= RUN_REPORT_BYTES:
            self._end_run(out)

    def _end_run(self, out: list[StreamItem]) -> None:
        skipped = self._run_bytes
        if not skipped:
            return
        if self._run_error is not None and skipped == D1_LENGTH:
            out.append(StreamReject("checksum", f"D1 frame dropped: {self._run_error}", skipped))
        else:
            more = " ..." if skipped > len(self._run_head) else ""
            out.append(StreamReject(
                "sync", f"skipped {skipped} bytes looking for a D1 frame ({self._run_head.hex(' ')}{more})",
                skipped))
        self._run_bytes = 0
        self._run_head = b""
        self._run_error = None
