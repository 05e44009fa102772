"""Raw capture: every datagram a take's tracking sources receive, journaled as it arrived.

The composition hands each tracking source the callable :meth:`RawCapture.add_source` returns; the
source calls it on the I/O loop with every datagram (or serial read) before decoding it. While a
take records, the bytes, the monotonic arrival time, the wall-clock time and the sender go into the
journal as a RAW record (``records.pack_raw``, about a microsecond); between takes the call returns
at once. Each entry is numbered in arrival order; the number of the newest entry of the sample's
source is what the recorder stores with each sample (``raw_index``, through :meth:`RawCapture.link`),
so an export can find the datagram a sample came from.

The per-datagram work is kept to the entry itself: the sender's text is worked out again only when
the sender changes (a tracker sends from one address), and the newest entry is kept per source index,
once per datagram however many cameras a shared FreeD port feeds.

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
from stagectl.takes.records import NO_SOURCE, RAW_PREROLL, dumps, pack_raw, peer_bytes

Capture = Callable[[bytes, Any, int], None]
"""(data as it arrived, sender address or port name, arrival ``time.monotonic_ns()``)."""
Preroll = Callable[[], Iterable[tuple[bytes, Any, int]]]
"""The datagrams a source kept from just before now: (data, sender, arrival ns), oldest first."""
#: Pre-roll datagrams older than this at RECORD are not taken (OpenTrackIO's reassembly window).
PREROLL_NS = 100_000_000
_NO_SENDER = object()


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


@dataclass(slots=True)
class RawCapture:
    """The raw capture of a recorder's takes (see the module docstring); runs on the I/O loop.

    Attributes:
        sources: every registered source, by index.
        last: per source index, the number of the newest raw entry of the take in progress (-1: none).
        count: entries journaled in the take in progress.
    """

    sources: list[_Source] = field(default_factory=list)
    last: list[int] = field(default_factory=list)
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
        self.last.append(-1)
        for each in source.names:
            self._index_by_name[each] = source.index
        index = source.index
        sender: Any = _NO_SENDER
        where = b""

        def capture(data: bytes, peer: Any, arrival_ns: int) -> None:
            nonlocal sender, where
            writer = self._writer
            if writer is None:
                return
            if peer != sender:
                sender, where = peer, peer_bytes(peer_text(peer))
            number = self.count
            self.count = number + 1
            writer.put(RAW, pack_raw(arrival_ns, time.time_ns(), number, index, 0, where, data))
            self.last[index] = number

        return capture

    def link(self, name: str) -> tuple[int, int]:
        """What a sample of the source called ``name`` records of the capture: (its take source index,
        the number of the source's newest raw entry, -1 when none); (``records.NO_SOURCE``, -1) for a
        name no source registered."""
        index = self._index_by_name.get(name)
        if index is None:
            return NO_SOURCE, -1
        return index, self.last[index]

    def start(self, writer: JournalWriter, cameras: Mapping[str, int]) -> None:
        """Begin a take: journal the sources of its ``cameras`` (name -> index), then their pre-roll."""
        self.last, self.count = [-1] * len(self.sources), 0
        mono, wall = time.monotonic_ns(), time.time_ns()
        for source in self.sources:
            if not any(camera in cameras for camera in source.cameras):
                continue
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
