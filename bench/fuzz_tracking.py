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

``shapes`` (also run by default) times the worst payload shapes a hostile sender can choose, each
with a valid header, through the same handler: "wide" (``{"a": [[]] * n}``, ints, floats, maps,
strings, escapes) and "deep" (nested arrays or maps) in CBOR and JSON, as one 32 KB datagram and
as a 256 KiB payload reassembled from 8 segments, plus a real sample as the reference. Each shape
is sent ``--shape-repeats`` times (default 200); reported per shape: the reason it ended with and
the worst and median handler time per datagram. The goal is a worst datagram under 2 ms: the
I/O loop's budget per wake-up (tracking/udp_source.py).

    python bench/fuzz_tracking.py [--count N] [--seed S] [--protocol freed|opentrackio|serial|shapes]
                                  [--shape-repeats R]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import resource
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import cbor2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import ENCODING_CBOR, ENCODING_JSON, encode_datagram, encode_payload
from stagectl.core.opentrackio.datagram import HEADER_LENGTH
from stagectl.core.opentrackio.fletcher import fletcher16
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


def _shape_payloads() -> dict[str, tuple[int, bytes]]:
    """name -> (encoding, payload): the costliest shapes to check or build, about 32 KB each."""
    def js(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    size = 32000
    return {
        "cbor wide [[]]": (ENCODING_CBOR, cbor2.dumps({"a": [[]] * (size - 8)})),
        "cbor wide [[]] indefinite": (ENCODING_CBOR, b"\xa1\x61a\x9f" + b"\x80" * (size - 5) + b"\xff"),
        "cbor wide floats": (ENCODING_CBOR, cbor2.dumps({"a": [1.5e-300] * (size // 9)})),
        "cbor wide maps": (ENCODING_CBOR, cbor2.dumps({"a": [{"k": 1}] * (size // 4)})),
        "cbor deep arrays": (ENCODING_CBOR, b"\xa1\x61a" + b"\x81" * (size - 4) + b"\x00"),
        "cbor deep maps": (ENCODING_CBOR, b"\xa1\x61a" + b"\xa1\x61a" * ((size - 4) // 3) + b"\x00"),
        "json wide [[]]": (ENCODING_JSON, js({"a": [[]] * ((size - 8) // 3)})),
        "json wide ints": (ENCODING_JSON, js({"a": [7] * ((size - 8) // 2)})),
        "json wide strings": (ENCODING_JSON, js({"a": ["x"] * ((size - 8) // 4)})),
        "json wide escapes": (ENCODING_JSON, b'{"a":"' + b"\\u00e9" * ((size - 8) // 6) + b'"}'),
        "json deep arrays": (ENCODING_JSON, b'{"a":' + b"[" * (size - 6) + b"}"),
        "json deep maps": (ENCODING_JSON, b'{"a":' * (size // 5)),
    }


def shapes(repeats: int) -> list[dict[str, Any]]:
    """Worst and median handler time per datagram for each hostile shape (and a real sample)."""
    from stagectl.core.opentrackio.codec import encode_datagrams, encode_sample

    sim = OpenTrackIOSimulator(Endpoint("127.0.0.1", 9), 50.0, "cbor")
    real = sim.sample_at(0, wall_time_ns=1_700_000_000_000_000_000)
    cases: dict[str, list[bytes]] = {"real sample (CBOR, reference)": encode_sample(real, ENCODING_CBOR, 0)}
    for name, (encoding, payload) in _shape_payloads().items():
        cases[f"{name} (32 KB)"] = [encode_datagram(payload, encoding, 0)]
    def js(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    big = {"cbor wide [[]]": (ENCODING_CBOR, cbor2.dumps({"a": [[]] * 250_000})),
           "cbor wide floats": (ENCODING_CBOR, cbor2.dumps({"a": [1.5e-300] * 29_000})),
           "json wide [[]]": (ENCODING_JSON, js({"a": [[]] * 85_000})),
           "json wide escapes": (ENCODING_JSON, b'{"a":"' + b"\\u00e9" * 43_000 + b'"}'),
           "json wide strings": (ENCODING_JSON, js({"a": ["x"] * 64_000}))}
    for name, (encoding, payload) in big.items():
        cases[f"{name} (256 KiB in 8 segments)"] = encode_datagrams(payload, encoding, 0, mtu=32767 + 16)
    results = []
    for name, datagrams in cases.items():
        source = OpenTrackIOUdpSource("fuzz/shapes", CameraPipeline("A"), CLOCK, EventQueue(),
                                      Endpoint("127.0.0.1", 0))
        worst, times = 0, []
        sequence = 0
        for _ in range(repeats):
            for datagram in _renumber(datagrams, sequence):
                t0 = time.perf_counter_ns()
                source.datagram_received(datagram, ADDR)
                elapsed = time.perf_counter_ns() - t0
                times.append(elapsed)
                worst = max(worst, elapsed)
            sequence = (sequence + len(datagrams)) % 65536
        times.sort()
        h = source.health
        results.append({"shape": name, "bytes": sum(len(d) for d in datagrams), "datagrams": len(datagrams),
                        "outcome": "accepted" if h.accepted else "kept, no pose" if h.warned
                        else ",".join(sorted(h.rejected_by_reason)),
                        "worst_ms": round(worst / 1e6, 3),
                        "p99_ms": round(times[len(times) * 99 // 100] / 1e6, 3),
                        "p50_ms": round(times[len(times) // 2] / 1e6, 3)})
    return results


def _renumber(datagrams: list[bytes], first: int) -> list[bytes]:
    """The same datagrams with sequence numbers from ``first`` (so reassembly never sees repeats)."""
    out = []
    for i, datagram in enumerate(datagrams):
        data = bytearray(datagram)
        data[6:8] = ((first + i) % 65536).to_bytes(2, "big")
        out.append(bytes(_fix_otio(data)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="datagrams per protocol (default 1e6)")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--protocol", choices=("freed", "opentrackio", "serial", "shapes"), action="append",
                        help="only these (repeatable; default all)")
    parser.add_argument("--shape-repeats", type=int, default=200, help="sends of each hostile shape")
    args = parser.parse_args(argv)
    logging.getLogger("stagectl.events").setLevel(logging.CRITICAL)  # counted, not printed
    runs = {"freed": fuzz_freed, "opentrackio": fuzz_opentrackio, "serial": fuzz_serial}
    failed = False
    for name in args.protocol or [*runs, "shapes"]:
        if name == "shapes":
            table = shapes(args.shape_repeats)
            worst = max(r["worst_ms"] for r in table)
            print(json.dumps({"protocol": "shapes", "repeats": args.shape_repeats, "worst_ms": worst,
                              "goal_under_2_ms": worst < 2.0, "shapes": table}))
            for r in table:
                print(f"  {r['shape']:<46} {r['bytes']:>7} B  {r['outcome']:<16} "
                      f"worst {r['worst_ms']:6.3f} ms  p99 {r['p99_ms']:6.3f} ms  p50 {r['p50_ms']:6.3f} ms",
                      file=sys.stderr)
            failed |= any(r["outcome"] in ("internal", "accepted") and "reference" not in r["shape"]
                          for r in table)
            print(f"  worst datagram {worst:.3f} ms (goal < 2 ms: {'PASS' if worst < 2.0 else 'FAIL'}); "
                  f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)
            continue
        result = runs[name](args.count, random.Random(args.seed))
        print(json.dumps(result))
        failed |= bool(result["escaped"] or result.get("internal"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
