"""Fuzz the real tracking datagram handlers with mutated datagrams; nothing may escape.

For each protocol, ``--count`` mutated datagrams (default one million) go through the same
``datagram_received`` the socket calls — FreeDUdpSource, OpenTrackIOUdpSource — and, for
FreeD serial, the byte-stream framer (``FreeDStreamParser.feed``) in random chunks.

Mutations start from valid traffic (simulator output): bit flips, byte overwrites, truncation,
extension, splices of two datagrams, random bytes; for half of the structured mutations the
checksum is recomputed afterwards, so the mutation reaches the decoders behind it (JSON/CBOR,
sample validation, FreeD value checks) instead of stopping at the checksum. OpenTrackIO also
gets payload-level mutations (NaN/inf/huge numbers, wrong types, deep nesting, long strings,
huge CBOR length claims) re-framed with valid headers.

Reported per protocol: datagrams, accepted, rejected by reason, exceptions escaping the handler
(must be 0), ``internal`` rejections (the handler's last-resort catch; must be 0), the slowest
single datagram, and peak RSS growth.

    python bench/fuzz_tracking.py [--count N] [--seed S] [--protocol freed|opentrackio|serial]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import resource
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import ENCODING_CBOR, ENCODING_JSON, encode_datagram, encode_payload
from stagectl.core.opentrackio.datagram import HEADER_LENGTH, fletcher16
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from tracking.freed.codec import checksum as freed_checksum
from tracking.freed.stream import FreeDStreamParser
from tracking.freed.udp import FreeDUdpSource
from tracking.opentrackio_sim import OpenTrackIOSimulator
from tracking.opentrackio_udp import OpenTrackIOUdpSource
from tracking.simulator import FreeDSimulator

ADDR = ("127.0.0.1", 40000)
CLOCK = StageClock(FrameRate.parse(25))


class Mutator:
    """Byte-level mutations of a corpus of valid datagrams."""

    def __init__(self, rng: random.Random, corpus: list[bytes]) -> None:
        self.rng = rng
        self.corpus = corpus

    def mutate(self, data: bytes) -> bytearray:
        rng = self.rng
        out = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
            kind = rng.randrange(7)
            if kind == 0 and out:  # flip a bit
                i = rng.randrange(len(out))
                out[i] ^= 1 << rng.randrange(8)
            elif kind == 1 and out:  # overwrite a byte with an interesting value
                special = (0, 1, 0x7F, 0x80, 0xFF, 0xD1, 0xD0, rng.randrange(256))
                out[rng.randrange(len(out))] = rng.choice(special)
            elif kind == 2:  # truncate
                del out[rng.randrange(len(out) + 1):]
            elif kind == 3:  # extend
                out += rng.randbytes(rng.choice((1, 3, 16, 200)))
            elif kind == 4:  # splice with another datagram
                other = rng.choice(self.corpus)
                cut = rng.randrange(len(out) + 1)
                out = out[:cut] + other[rng.randrange(len(other) + 1):]
            elif kind == 5:  # duplicate a slice in place
                if out:
                    a = rng.randrange(len(out))
                    b = min(len(out), a + rng.randrange(1, 32))
                    out[a:a] = out[a:b]
            else:  # random bytes
                out = bytearray(rng.randbytes(rng.choice((0, 1, 4, 16, 29, 64, 1500))))
        return out


def _fix_freed(data: bytearray) -> bytearray:
    if len(data) == 29:
        data[28] = freed_checksum(data[:28])
    return data


def _fix_otio(data: bytearray) -> bytearray:
    if len(data) >= HEADER_LENGTH:
        length = len(data) - HEADER_LENGTH
        flags = data[12] & 0x80
        data[12] = flags | ((length >> 8) & 0x7F)
        data[13] = length & 0xFF
        data[14:16] = fletcher16(bytes(data[:14]) + bytes(data[16:])).to_bytes(2, "big")
    return data


# --- payload-level mutations (OpenTrackIO) ---------------------------------------------------------

_BAD_VALUES: list[Any] = [math.nan, math.inf, -math.inf, 1e308, -1e308, 10**40, -1, 0, True, None, "x" * 2000,
                          [], {}, [1.0] * 100, "NaN"]


def _mutate_tree(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    if isinstance(obj, dict) and obj:
        key = rng.choice(list(obj))
        copy = dict(obj)
        if rng.random() < 0.3 or depth > 6:
            copy[key] = rng.choice(_BAD_VALUES)
        elif rng.random() < 0.1:
            del copy[key]
        else:
            copy[key] = _mutate_tree(rng, obj[key], depth + 1)
        return copy
    if isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        copy_list = list(obj)
        copy_list[i] = _mutate_tree(rng, obj[i], depth + 1)
        return copy_list
    return rng.choice(_BAD_VALUES)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _payload_datagram(rng: random.Random, samples: list[dict[str, Any]]) -> bytes:
    kind = rng.randrange(10)
    encoding = ENCODING_CBOR if rng.random() < 0.5 else ENCODING_JSON
    if kind == 0:  # nesting bombs
        body = _nested(rng.choice((40, 1000, 100_000))) if encoding == ENCODING_JSON \
            else b"\x81" * rng.choice((40, 1000, 30_000)) + b"\x00"
        return encode_datagram(body[:32000], encoding, rng.randrange(65536))
    if kind == 1 and encoding == ENCODING_CBOR:  # huge length claims
        claim = rng.choice((b"\x9b", b"\xbb", b"\x7b", b"\x5b")) + (2**60).to_bytes(8, "big")
        return encode_datagram(b"\xa1\x61a" + claim, encoding, rng.randrange(65536))
    tree = _mutate_tree(rng, rng.choice(samples))
    try:
        payload = encode_payload(tree, encoding)
    except (ValueError, TypeError, OverflowError):
        payload = json.dumps(tree, allow_nan=True, default=str).encode()
        encoding = ENCODING_JSON
    if len(payload) > 32000:
        payload = payload[:32000]
    return encode_datagram(payload, encoding, rng.randrange(65536))


# --- runs ------------------------------------------------------------------------------------------

def _run(name: str, count: int, make: Callable[[int], bytes], handle: Callable[[bytes], None],
         counts: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    escaped = 0
    durations = array("q", bytes(8 * count))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for i in range(count):
        data = make(i)
        t0 = time.perf_counter_ns()
        try:
            handle(data)
        except Exception as exc:  # what the test is about: this must never happen
            escaped += 1
            if escaped <= 5:
                print(f"{name}: ESCAPED {type(exc).__name__}: {exc} for {bytes(data[:64]).hex()}",
                      file=sys.stderr)
        durations[i] = time.perf_counter_ns() - t0
        if i and i % 200_000 == 0:
            print(f"  {name}: {i:,} ...", file=sys.stderr)
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before sorting the timings
    ordered = sorted(durations)
    result = {"protocol": name, "datagrams": count, "escaped": escaped, "seconds": round(elapsed, 1),
              "handler_us_p50": round(ordered[count // 2] / 1e3, 1),
              "handler_us_p99_9": round(ordered[min(count - 1, count * 999 // 1000)] / 1e3, 1),
              "slowest_ms": round(ordered[-1] / 1e6, 2),
              "rss_growth_mb": round((rss_after - rss_before) / 1024, 1)}
    result.update(counts())
    return result


def fuzz_freed(count: int, rng: random.Random) -> dict[str, Any]:
    """Mutated FreeD D1 datagrams through FreeDUdpSource.datagram_received."""
    simulator = FreeDSimulator(Endpoint("127.0.0.1", 9), cameras=3)
    corpus = [p for t in range(200) for p in simulator.packets_at(t / 7)]
    mutator = Mutator(rng, corpus)
    source = FreeDUdpSource("fuzz/freed", CameraPipeline("A"), CLOCK, EventQueue(), Endpoint("127.0.0.1", 0))

    def make(_: int) -> bytes:
        data = mutator.mutate(rng.choice(corpus))
        return bytes(_fix_freed(data) if rng.random() < 0.5 else data)

    def counts() -> dict[str, Any]:
        h = source.health
        return {"accepted": h.accepted, "rejected": h.rejected, "by_reason": dict(h.rejected_by_reason),
                "internal": h.rejected_by_reason.get("internal", 0)}

    return _run("freed", count, make, lambda d: source.datagram_received(d, ADDR), counts)


def fuzz_opentrackio(count: int, rng: random.Random) -> dict[str, Any]:
    """Mutated OpenTrackIO datagrams (bytes and payloads) through OpenTrackIOUdpSource."""
    corpus: list[bytes] = []
    samples: list[dict[str, Any]] = []
    encodings: tuple[Literal["json", "cbor"], ...] = ("json", "cbor")
    for encoding in encodings:
        for mtu in (1500, 1500, 600):  # mostly one datagram per sample, some segmented
            sim = OpenTrackIOSimulator(Endpoint("127.0.0.1", 9), 50.0, encoding, mtu=mtu)
            for tick in range(0, 300, 3):
                corpus += sim.packets_at(tick, wall_time_ns=1_700_000_000_000_000_000 + tick)
    from stagectl.core.opentrackio.codec import build_sample

    sim = OpenTrackIOSimulator(Endpoint("127.0.0.1", 9), 50.0, "json")
    samples = [build_sample(sim.sample_at(t, wall_time_ns=1_700_000_000_000_000_000))
               for t in (0, 1, 100, 101)]
    mutator = Mutator(rng, corpus)
    source = OpenTrackIOUdpSource("fuzz/opentrackio", CameraPipeline("A"), CLOCK, EventQueue(),
                                  Endpoint("127.0.0.1", 0))

    def make(_: int) -> bytes:
        r = rng.random()
        if r < 0.1:
            return rng.choice(corpus)  # valid traffic keeps the reassembler and sequence paths busy
        if r < 0.4:
            return _payload_datagram(rng, samples)
        data = mutator.mutate(rng.choice(corpus))
        return bytes(_fix_otio(data) if rng.random() < 0.5 else data)

    def counts() -> dict[str, Any]:
        h = source.health
        return {"accepted": h.accepted, "rejected": h.rejected, "by_reason": dict(h.rejected_by_reason),
                "internal": h.rejected_by_reason.get("internal", 0),
                "reassembly_pending_at_end": source.reassembler.pending}

    return _run("opentrackio", count, make, lambda d: source.datagram_received(d, ADDR), counts)


def fuzz_serial(count: int, rng: random.Random) -> dict[str, Any]:
    """Mutated FreeD byte stream in random chunks through FreeDStreamParser.feed."""
    corpus = [p for t in range(200) for p in FreeDSimulator(Endpoint("127.0.0.1", 9)).packets_at(t / 7)]
    mutator = Mutator(rng, corpus)
    parser = FreeDStreamParser()
    frames = 0

    def make(_: int) -> bytes:
        if rng.random() < 0.5:
            return b"".join(rng.choice(corpus) for _ in range(rng.randrange(1, 4)))
        return bytes(mutator.mutate(rng.choice(corpus)))

    def handle(data: bytes) -> None:
        nonlocal frames
        frames += len(parser.feed(data))

    return _run("freed-serial stream", count, make, handle, lambda: {"items_out": frames})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="datagrams per protocol (default 1e6)")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--protocol", choices=("freed", "opentrackio", "serial"), action="append",
                        help="only these (repeatable; default all)")
    args = parser.parse_args(argv)
    logging.getLogger("stagectl.events").setLevel(logging.CRITICAL)  # counted, not printed
    runs = {"freed": fuzz_freed, "opentrackio": fuzz_opentrackio, "serial": fuzz_serial}
    failed = False
    for name in args.protocol or list(runs):
        result = runs[name](args.count, random.Random(args.seed))
        print(json.dumps(result))
        failed |= bool(result["escaped"] or result.get("internal"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
