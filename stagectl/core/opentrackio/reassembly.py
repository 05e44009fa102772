"""Reassembly of segmented OpenTrackIO payloads, in bounded memory and time.

Which segments belong together? The spec says only that each datagram has a "unique sequence
number" and a segment offset. camdkit's reference sender numbers every *datagram* (segments of
one payload carry first, first+1, ...); other senders may repeat one number on every segment.
Both are handled, chosen by ``numbering``:

* ``"per_datagram"`` (default, the reference sender): every non-last segment has the same
  length L (the sender's MTU - 16), so a segment at ``offset`` is number ``offset // L`` of its
  payload and the payload's first sequence number is ``sequence - offset // L``. A last segment
  that arrives before any other (reordering) is held alone until a segment of known L claims it.
* ``"per_payload"``: the payload is keyed by the sequence number itself.

Payloads are keyed by (encoding, first sequence number). Incomplete payloads are discarded, and
counted in :attr:`Reassembler.discarded`, when a newer payload completes, when they are older
than ``timeout_ns``, or when more than ``max_pending`` are open (the oldest goes). Each payload
is capped at ``max_payload_bytes`` and ``MAX_SEGMENTS`` segments, so memory stays below
``max_pending * max_payload_bytes`` whatever arrives, and the work per datagram stays small
(a few dict lookups over at most ``max_pending`` payloads, a sorted insert among at most
MAX_SEGMENTS offsets, one join when a payload completes: ~20 us for 256 KiB). What a completed
payload costs to decode is bounded by :mod:`stagectl.core.opentrackio.payload` (items, depth).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from stagectl.core.errors import DecodeError
from stagectl.core.opentrackio.datagram import MAX_PAYLOAD_BYTES, SEQUENCE_MODULUS, Header

Numbering = Literal["per_datagram", "per_payload"]
DEFAULT_TIMEOUT_NS = 100_000_000
DEFAULT_MAX_PENDING = 4
#: 256 KiB in the reference sender's 1484-byte segments is 177; more means a hostile sender.
MAX_SEGMENTS = 1024
_RECENT = 64  # datagrams remembered to drop exact repeats (multicast can deliver twice)
_HALF = SEQUENCE_MODULUS // 2


def _older(a: int, b: int) -> bool:
    """True when sequence ``a`` comes before ``b`` (RFC 1982 style, modulo 65536)."""
    return 0 < (b - a) % SEQUENCE_MODULUS < _HALF


@dataclass(slots=True)
class _Pending:
    """The segments received so far of one payload."""

    encoding: int
    sequence: int  # first sequence number of the payload (a lone tail: its own)
    first_seen_ns: int
    segment_length: int | None = None
    total: int | None = None
    received: int = 0
    offsets: list[int] = field(default_factory=list)  # sorted
    data: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Joins segments into payloads; one instance per incoming stream (socket).

    Attributes:
        discarded: incomplete payloads thrown away (timeout, newer payload, too many open,
            inconsistent segments).
        duplicates: datagrams ignored because they repeated one already seen.
        completed_sequence / completed_segments: first sequence number and number of segments
            of the payload :meth:`feed` returned last.
    """

    def __init__(self, *, timeout_ns: int = DEFAULT_TIMEOUT_NS, max_pending: int = DEFAULT_MAX_PENDING,
                 max_payload_bytes: int = MAX_PAYLOAD_BYTES, numbering: Numbering = "per_datagram") -> None:
        if max_pending < 1 or timeout_ns <= 0 or max_payload_bytes < 1:
            raise ValueError("max_pending, timeout_ns and max_payload_bytes must be positive")
        if numbering not in ("per_datagram", "per_payload"):
            raise ValueError(f"numbering {numbering!r} is not 'per_datagram' or 'per_payload'")
        self.timeout_ns = timeout_ns
        self.max_pending = max_pending
        self.max_payload_bytes = max_payload_bytes
        self.numbering: Numbering = numbering
        self.discarded = 0
        self.duplicates = 0
        self.completed_sequence = 0
        self.completed_segments = 0
        self._sets: dict[tuple[int, int], _Pending] = {}
        self._tails: dict[tuple[int, int], _Pending] = {}  # lone last segments, by (encoding, sequence)
        self._recent: deque[tuple[int, int, int, int]] = deque()
        self._recent_keys: set[tuple[int, int, int, int]] = set()

    @property
    def pending(self) -> int:
        """Number of incomplete payloads held."""
        return len(self._sets) + len(self._tails)

    @property
    def buffered_bytes(self) -> int:
        """Payload bytes held in incomplete payloads."""
        return sum(p.received for p in (*self._sets.values(), *self._tails.values()))

    def feed(self, header: Header, payload: bytes, now_ns: int) -> bytes | None:
        """Add one checked datagram (from parse_datagram); the whole payload once it is complete.

        ``now_ns`` is a monotonic clock reading. Raises DecodeError: ``too_large`` (the payload
        would exceed max_payload_bytes), ``segment`` (segments that overlap or disagree).
        """
        self.expire(now_ns)
        key = (header.encoding, header.sequence, header.segment_offset, header.checksum)
        if key in self._recent_keys:
            self.duplicates += 1
            return None
        self._recent.append(key)
        self._recent_keys.add(key)
        if len(self._recent) > _RECENT:
            self._recent_keys.discard(self._recent.popleft())
        offset, length = header.segment_offset, len(payload)
        if offset + length > self.max_payload_bytes:
            raise DecodeError("too_large", f"segment at offset {offset} (+{length} bytes) would make the "
                                           f"payload larger than {self.max_payload_bytes} bytes")
        if offset == 0 and header.last_segment:
            self._completed(header.sequence, 1)
            return payload
        first = self._first_sequence(header, length)
        if first is None:  # a last segment nobody claims yet
            self._hold_tail(header, payload, now_ns)
            return None
        pending = self._sets.get((header.encoding, first))
        if pending is None:
            pending = _Pending(header.encoding, first, now_ns)
            self._make_room()
            self._sets[(header.encoding, first)] = pending
        return self._add(pending, header.last_segment, offset, payload)

    def expire(self, now_ns: int) -> None:
        """Discard incomplete payloads first seen more than ``timeout_ns`` before ``now_ns``."""
        for table in (self._sets, self._tails):
            stale = [k for k, p in table.items() if now_ns - p.first_seen_ns > self.timeout_ns]
            for k in stale:
                del table[k]
                self.discarded += 1

    def _first_sequence(self, header: Header, length: int) -> int | None:
        seq, offset = header.sequence, header.segment_offset
        if self.numbering == "per_payload":
            return seq
        if not header.last_segment:
            if length == 0 or offset % length:
                raise DecodeError("segment", f"segment of {length} bytes at offset {offset}: offsets of the "
                                             "non-last segments must be multiples of their (equal) length")
            return (seq - offset // length) % SEQUENCE_MODULUS
        for (encoding, first), pending in self._sets.items():
            if encoding == header.encoding and self._claims(pending, first, seq, offset):
                return first
        return None

    @staticmethod
    def _claims(pending: _Pending, first: int, seq: int, offset: int) -> bool:
        size = pending.segment_length
        return size is not None and offset % size == 0 and (first + offset // size) % SEQUENCE_MODULUS == seq

    def _hold_tail(self, header: Header, payload: bytes, now_ns: int) -> None:
        key = (header.encoding, header.sequence)
        if key in self._tails:
            del self._tails[key]
            self.discarded += 1
            raise DecodeError("segment", f"two different last segments carry sequence {header.sequence}")
        self._make_room()
        tail = _Pending(header.encoding, header.sequence, now_ns)
        self._tails[key] = tail
        self._add(tail, True, header.segment_offset, payload)

    def _make_room(self) -> None:
        while self.pending >= self.max_pending:
            table, key = min(((t, k) for t in (self._sets, self._tails) for k in t),
                             key=lambda tk: tk[0][tk[1]].first_seen_ns)
            del table[key]
            self.discarded += 1

    def _fail(self, pending: _Pending, message: str) -> DecodeError:
        self._sets.pop((pending.encoding, pending.sequence), None)
        self.discarded += 1
        return DecodeError("segment", f"payload {pending.sequence}: {message}")

    def _add(self, pending: _Pending, last: bool, offset: int, payload: bytes) -> bytes | None:
        length, end = len(payload), offset + len(payload)
        if not last and self.numbering == "per_datagram":
            if pending.segment_length is None:
                pending.segment_length = length
            elif pending.segment_length != length:
                raise self._fail(pending, f"segment of {length} bytes at offset {offset}; the others have "
                                          f"{pending.segment_length}")
        if last:
            if pending.total is not None and pending.total != end:
                raise self._fail(pending, f"two last segments end at {pending.total} and {end}")
            pending.total = end
            if pending.offsets and pending.offsets[-1] + len(pending.data[pending.offsets[-1]]) > end:
                raise self._fail(pending, f"a segment lies beyond the payload end {end}")
        elif pending.total is not None and end > pending.total:
            raise self._fail(pending, f"segment {offset}..{end} lies beyond the payload end {pending.total}")
        if offset in pending.data:  # not an exact repeat (those were dropped earlier): a conflict
            raise self._fail(pending, f"two different segments at offset {offset}")
        i = bisect.bisect_left(pending.offsets, offset)
        if i > 0:
            before = pending.offsets[i - 1]
            if before + len(pending.data[before]) > offset:
                raise self._fail(pending, f"segment {offset}..{end} overlaps the one at {before}")
        if i < len(pending.offsets) and pending.offsets[i] < end:
            raise self._fail(pending, f"segment {offset}..{end} overlaps the one at {pending.offsets[i]}")
        if len(pending.offsets) >= MAX_SEGMENTS:
            raise self._fail(pending, f"more than {MAX_SEGMENTS} segments")
        pending.offsets.insert(i, offset)
        pending.data[offset] = payload
        pending.received += length
        if pending.total is None and pending.segment_length is not None and self._tails:
            tail = self._claim_tail(pending)
            if tail is not None:
                return self._add(pending, True, *tail)
        return self._finish(pending)

    def _claim_tail(self, pending: _Pending) -> tuple[int, bytes] | None:
        """Take the held last segment that belongs to ``pending``, if there is one."""
        for key, tail in self._tails.items():
            offset = tail.offsets[0]
            if tail.encoding == pending.encoding and self._claims(pending, pending.sequence, tail.sequence,
                                                                  offset):
                del self._tails[key]
                return offset, tail.data[offset]
        return None

    def _finish(self, pending: _Pending) -> bytes | None:
        if pending.total is None or pending.received != pending.total:
            return None
        if (pending.encoding, pending.sequence) in self._sets:
            del self._sets[(pending.encoding, pending.sequence)]
        self._completed(pending.sequence, len(pending.offsets))
        return b"".join(pending.data[o] for o in pending.offsets)

    def _completed(self, sequence: int, segments: int) -> None:
        """A payload starting at ``sequence`` is complete: older incomplete ones never will be."""
        self.completed_sequence, self.completed_segments = sequence, segments
        for table in (self._sets, self._tails):
            older = [k for k, p in table.items() if _older(p.sequence, sequence)]
            for k in older:
                del table[k]
                self.discarded += 1
