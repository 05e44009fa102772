"""Raw capture: every datagram a take's tracking sources receive, journaled as it arrived.

The composition hands each tracking source the callable :meth:`RawCapture.add_source` returns; the
source calls it on the I/O loop with every datagram (or serial read) before decoding it. While a
take records, the bytes, the monotonic arrival time, the wall-clock time and the sender go into the
journal as a RAW record (``records.pack_raw``, about a microsecond); between takes the call returns
at once. Each entry is numbered in arrival order; the number of the newest entry per source name is
what the recorder stores with each sample (``raw_index``), so an export can find the datagram a
sample came from.

At RECORD, what a source has kept of the datagrams just before (OpenTrackIO: the reassembler's
window) is journaled first and flagged ``RAW_PREROLL``, so the first sample's earlier segments are
in the take too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stagectl.takes.journal import RAW, SOURCE, JournalWriter
from stagectl.takes.records import RAW_PREROLL, dumps, pack_raw

Capture = Callable[[bytes, Any, int], None]
"""(data as it arrived, sender address or port name, arrival ``time.monotonic_ns()``)."""
Preroll = Callable[[], Iterable[tuple[bytes, Any, int]]]
"""The datagrams a source kept from just before now: (data, sender, arrival ns), oldest first."""
#: Pre-roll datagrams older than this at RECORD are not taken (OpenTrackIO's reassembly window).
PREROLL_NS = 100_000_000


def peer_text(peer: Any) -> str:
    """``host:port`` of a socket address (``[v6]:port``), else the text of ``peer`` (a serial port)."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer)


@dataclass(slots=True)
class _Source:
    index: int
    name: str
    protocol: str
    cameras: tuple[str, ...]
    settings: Mapping[str, Any]
    names: tuple[str, ...]
    preroll: Preroll | None
    captured: int = 0


@dataclass(slots=True)
class RawCapture:
    """The raw capture of a recorder's takes (see the module docstring); runs on the I/O loop.

    Attributes:
        last: per source name, the number of the newest raw entry of the take in progress.
        count: entries journaled in the take in progress.
    """

    sources: list[_Source] = field(default_factory=list)
    last: dict[str, int] = field(default_factory=dict)
    count: int = 0
    _writer: JournalWriter | None = None
    _index_by_name: dict[str, int] = field(default_factory=dict)

    def add_source(self, name: str, protocol: str, cameras: tuple[str, ...], settings: Mapping[str, Any], *,
                   names: tuple[str, ...] = (), preroll: Preroll | None = None) -> Capture:
        """Register a source; returns the capture callable to give it.

        ``names``: every source whose samples come through this transport (a FreeD port shared by
        camera id: the owner receives for all of them); default just ``name``.
        """
        source = _Source(len(self.sources), name, protocol, cameras, dict(settings), names or (name,),
                         preroll)
        self.sources.append(source)
        for each in source.names:
            self._index_by_name[each] = source.index

        def capture(data: bytes, peer: Any, arrival_ns: int) -> None:
            writer = self._writer
            if writer is None:
                return
            number = self.count
            self.count = number + 1
            entry = pack_raw(arrival_ns, time.time_ns(), number, source.index, 0, peer_text(peer), data)
            writer.put(RAW, entry)
            source.captured += 1
            for each in source.names:
                self.last[each] = number

        return capture

    def source_index(self, name: str) -> int:
        """The take source index of the source called ``name`` (0 when unknown)."""
        return self._index_by_name.get(name, 0)

    def start(self, writer: JournalWriter, cameras: Mapping[str, int]) -> None:
        """Begin a take: journal the sources of its ``cameras`` (name -> index), then their pre-roll."""
        self.last, self.count = {}, 0
        mono, wall = time.monotonic_ns(), time.time_ns()
        for source in self.sources:
            if not any(camera in cameras for camera in source.cameras):
                continue
            source.captured = 0
            writer.put(SOURCE, dumps({"index": source.index, "name": source.name, "protocol": source.protocol,
                                      "cameras": list(source.cameras), "settings": dict(source.settings)}))
            if source.preroll is None:
                continue
            for data, peer, arrival_ns in source.preroll():
                if mono - arrival_ns <= PREROLL_NS:
                    writer.put(RAW, pack_raw(arrival_ns, wall - (mono - arrival_ns), self.count, source.index,
                                             RAW_PREROLL, peer_text(peer), data))
                    self.count += 1
        self._writer = writer

    def stop(self) -> None:
        """End the take: nothing more is captured."""
        self._writer = None
