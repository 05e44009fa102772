"""The sender process of bench/tracking_pipeline.py: FreeD D1 for N cameras on an absolute schedule.

Camera k (FreeD id k+1) follows tracking.simulator.MotionModel(k) and carries its tick number in
the 16-bit ``spare`` field, so the receiver can tell loss, duplicates and order, and match each
datagram to the moment it was sent. Every datagram is encoded before the schedule starts; the
timed loop only sleeps, spins the last ``--spin-us`` and calls ``send``. ``time.monotonic_ns()``
is read just before each ``send`` (CLOCK_MONOTONIC, the same clock in every process on Linux)
and written with the due times to ``--out`` (.npz) when the schedule ends.

    python bench/_freed_sender.py --port P --out FILE [--cameras 8] [--rate 500] [--duration 5]
                                  [--spread] [--spin-us 100]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import socket
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracking.freed.codec import encode_d1
from tracking.simulator import MotionModel

#: prctl option: the timer slack (default 50 µs) added to every sleep of this thread.
PR_SET_TIMERSLACK = 29
#: How long after setup the first datagram is due (the receiver is already bound).
START_DELAY_NS = 20_000_000


def encode_schedule(cameras: int, rate_hz: float, ticks: int, tick_in_zoom: bool = False) -> list[bytes]:
    """Every datagram in send order: tick-major, then camera; spare = tick number (and the zoom
    count too with ``tick_in_zoom``: the take recorder keeps zoom, not spare)."""
    models = [MotionModel(k) for k in range(cameras)]
    return [encode_d1(model.freed(tick / rate_hz, k + 1)._replace(
                spare=tick & 0xFFFF, **({"zoom": tick} if tick_in_zoom else {})))
            for tick in range(ticks) for k, model in enumerate(models)]


def precise_sleeps() -> bool:
    """Ask Linux for 1 ns timer slack so ``time.sleep`` wakes on time; False where it cannot."""
    with contextlib.suppress(OSError, AttributeError):
        return int(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)) == 0
    return False


def run(port: int, cameras: int, rate_hz: float, ticks: int, spread: bool, spin_ns: int,
        packets: list[bytes]) -> tuple[list[int], list[int], int]:
    """Send ``packets`` on schedule; returns (due_ns, sent_ns (-1 = send failed), send errors)."""
    period_ns = round(1e9 / rate_hz)
    offsets = [k * period_ns // cameras if spread else 0 for k in range(cameras)]
    count = ticks * cameras
    due_ns, sent_ns = [0] * count, [0] * count
    errors = 0
    mono, sleep = time.monotonic_ns, time.sleep
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", port))
        send = sock.send
        start = mono() + START_DELAY_NS
        i = 0
        for tick in range(ticks):
            base = start + tick * period_ns
            for offset in offsets:
                due = base + offset
                now = mono()
                if now < due - spin_ns:
                    sleep((due - spin_ns - now) / 1e9)
                while mono() < due:
                    pass
                t = mono()
                try:
                    send(packets[i])
                except OSError:  # ECONNREFUSED after an ICMP from a closed port, ENOBUFS
                    t = -1
                    errors += 1
                due_ns[i], sent_ns[i] = due, t
                i += 1
    return due_ns, sent_ns, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--spread", action="store_true",
                        help="camera k sends k/N of a period after camera 0 (default: all at once)")
    parser.add_argument("--spin-us", type=float, default=100.0)
    parser.add_argument("--tick-in-zoom", action="store_true",
                        help="also put the tick number in the zoom count (24 bits; bench/take_crash.py)")
    args = parser.parse_args()
    ticks = round(args.duration * args.rate)
    if ticks > (0xFFFFFF if args.tick_in_zoom else 0x10000):
        parser.error(f"{ticks} ticks do not fit the sequence field; shorten --duration")
    packets = encode_schedule(args.cameras, args.rate, ticks, args.tick_in_zoom)
    slack = precise_sleeps()
    due, sent, errors = run(args.port, args.cameras, args.rate, ticks, args.spread,
                            round(args.spin_us * 1000), packets)
    shape = (ticks, args.cameras)
    np.savez(args.out, due_ns=np.array(due, np.int64).reshape(shape),
             sent_ns=np.array(sent, np.int64).reshape(shape), errors=np.int64(errors),
             timer_slack_1ns=np.bool_(slack))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
