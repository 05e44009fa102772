"""``stagectl takes raw TAKE``: a take's raw datagrams back out, as they arrived, or decoded again.

Without ``--redecode`` the raw entries of the take's sources (those that fed ``--camera``, else all)
are written as hex lines (the default; to ``--out FILE`` or stdout) or as a pcap file for Wireshark
(``--format pcap``; needs ``--out``): the formats are described in :mod:`stagectl.takes.raw_formats`.
A pcap of a take whose sources are all serial (FreeD or lens encoders on a serial line) is refused:
their bytes have no IP sender and ports; mixed with UDP sources, the serial ones are left out with
a warning on stderr. Files are written atomically (a temporary file renamed over ``FILE``).

With ``--redecode`` the entries go through today's decoders again (:mod:`tracking.redecode`), per
source in arrival order, pre-roll entries included (marked ``"preroll": true``), and come out as
JSON lines: per decoded sample ``{"number", "arrival_ns", "source", "protocol", "camera",
"sample": {...}}`` (OpenTrackIO: ``stagectl decode opentrackio``'s fields, ``warnings`` and
``received``, the payload as sent; FreeD: ``stagectl decode freed``'s and the preset's reading; lens
serial: the reading), per refused datagram ``{"number", "arrival_ns", "source", "rejected": reason,
"detail"}``, per lens notice ``{"number", "arrival_ns", "source", "notice": kind, "detail"}``. Every
line is strict JSON: a value JSON cannot hold (NaN or bytes a CBOR sender put in ``custom``) is
written as null or hex and named, with its value as sent, under ``"changed"``. With ``--camera``,
samples a shared FreeD port gave other cameras are left out. Then a summary on stderr per source
(entries, samples, rejected and warnings by reason) and per camera: the samples the take recorded
from those sources against the samples decoded now from the take's own entries (a sample a pre-roll
entry completed arrived before RECORD and is not in the take; a sample of no known source is counted
for none).

Exit status: 0; 1 when the take has no raw capture (recorded before it existed), a file cannot be
written or the take or its raw capture cannot be read (a damaged store: the message names the take,
the store and what to do); 2 for an unknown camera or options that do not go together.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

import numpy as np

from stagectl.commands.opentrackio import sample_json
from stagectl.commands.takes import open_store
from stagectl.config.model import StageConfig
from stagectl.core.atomic import atomic_write
from stagectl.core.opentrackio.merge import jsonable
from stagectl.takes.model import TakeData, TakeSource
from stagectl.takes.raw import RawCaptureError
from stagectl.takes.raw_formats import hex_header, hex_line, is_serial, write_pcap
from stagectl.takes.records import RAW_PREROLL
from stagectl.takes.store import TakeStoreError
from tracking.redecode import Decoded, Notice, Outcome, Rejected, SourceDecoder, make_decoder

T = TypeVar("T")


def takes_raw(config: StageConfig, ref: str, *, camera: str | None = None, out_path: str | None = None,
              fmt: str | None = None, redecode: bool = False, out: TextIO = sys.stdout,
              err: TextIO = sys.stderr) -> int:
    """The command (see the module docstring); StageError (a bad take reference) is left to the caller."""
    if redecode and fmt is not None:
        print("stagectl takes raw: --redecode writes JSON lines; --format does not go with it", file=err)
        return 2
    fmt = fmt or "hex"
    if fmt == "pcap" and out_path is None:
        print("stagectl takes raw: a pcap is a binary file: give --out FILE.pcap", file=err)
        return 2
    with open_store(config) as store:
        take_id = store.find(ref)
        try:
            take = store.read(take_id)
        except TakeStoreError as exc:  # a damaged store: what, where and what to do are in the message
            print(f"stagectl takes raw: {exc}", file=err)
            return 1
    what = f"take {take.info.take_id} ({take.info.name})"
    if camera is not None and camera not in take.cameras:
        print(f"stagectl takes raw: {what} has no camera {camera!r}; its cameras: "
              f"{', '.join(take.cameras) or 'none'}", file=err)
        return 2
    if take.raw is None:
        print(f"stagectl takes raw: {what} has no raw capture: it was recorded before stagectl kept the "
              "datagrams its sources received", file=err)
        return 1
    selected = {i: s for i, s in sorted(take.sources.items()) if camera is None or camera in s.cameras}
    if not selected:
        print(f"stagectl takes raw: no source of {what} fed camera {camera}: nothing was captured for it",
              file=err)
    try:
        if redecode:
            return _redecode(take, selected, camera, out_path, out, err)
        if fmt == "pcap":
            assert out_path is not None
            return _pcap(take, selected, Path(out_path), err)
        return _hex(take, selected, out_path, out, err)
    except BrokenPipeError:  # stdout closed early (| head): stop quietly
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1
    except RawCaptureError as exc:  # a damaged batch, a codec from the future, the store failing
        print(f"stagectl takes raw: {exc}", file=err)
        return 1


# --- writing -----------------------------------------------------------------------------------------

def _to_file(path: Path, write: Callable[[BinaryIO], T], err: TextIO) -> T | None:
    try:
        return atomic_write(path, write)
    except OSError as exc:
        print(f"stagectl takes raw: cannot write {path}: {exc.strerror or exc}", file=err)
        return None


def _write_lines(handle: BinaryIO, lines: Iterable[str]) -> int:
    count = 0
    for line in lines:
        handle.write(line.encode("utf-8"))
        count += 1
    return count


def _hex(take: TakeData, selected: Mapping[int, TakeSource], out_path: str | None, out: TextIO,
         err: TextIO) -> int:
    assert take.raw is not None
    raw = take.raw
    header = "".join(hex_header(take.info.take_id, take.info.name, selected.values()))

    if out_path is None:
        out.write(header)
        for entry in raw.entries(tuple(selected)):
            out.write(hex_line(entry))
        out.flush()
        return 0

    def write(handle: BinaryIO) -> int:
        handle.write(header.encode("utf-8"))
        entries = 0
        for entry in raw.entries(tuple(selected)):
            handle.write(hex_line(entry).encode("utf-8"))
            entries += 1
        return entries

    written = _to_file(Path(out_path), write, err)
    if written is None:
        return 1
    print(f"stagectl takes raw: {written} entries of {take.info.name} written to {out_path}", file=err)
    return 0


def _pcap(take: TakeData, selected: Mapping[int, TakeSource], path: Path, err: TextIO) -> int:
    assert take.raw is not None
    raw = take.raw
    serial = [s for s in selected.values() if is_serial(s.protocol, s.settings)]
    udp = {i: s for i, s in selected.items() if not is_serial(s.protocol, s.settings)}
    names = ", ".join(f"{s.index} {s.name} ({s.protocol})" for s in serial)
    if serial and not udp:
        print(f"stagectl takes raw: source(s) {names} read a serial port: their bytes have no IP sender or "
              "UDP ports to put in a pcap; use --format hex", file=err)
        return 2
    if serial:
        print(f"stagectl takes raw: warning: serial source(s) {names} left out of the pcap (no IP sender); "
              "use --format hex for them", file=err)
    listen = {i: (str(s.settings["listen"]) if s.settings.get("listen") else None) for i, s in udp.items()}
    counts = _to_file(path, lambda handle: write_pcap(handle, raw.entries(tuple(udp)), listen), err)
    if counts is None:
        return 1
    written, skipped = counts
    if skipped:
        print(f"stagectl takes raw: warning: {skipped} entries left out: their sender is not an IP address "
              "and port, or they are too large for a UDP packet", file=err)
    print(f"stagectl takes raw: {written} packets of {take.info.name} written to {path}", file=err)
    return 0


# --- --redecode --------------------------------------------------------------------------------------

@dataclass(slots=True)
class Tally:
    """One source's counts for the summary: entries, samples (``preroll_samples`` of them completed by a
    pre-roll entry), lens readings, notices, rejected and warnings by reason, and ``by_camera`` the
    samples completed by the take's own entries: what the take should hold."""

    entries: int = 0
    preroll_entries: int = 0
    samples: int = 0
    preroll_samples: int = 0
    readings: int = 0
    notices: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    by_camera: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        if isinstance(outcome, Rejected):
            self.rejected[outcome.reason] += 1
        elif isinstance(outcome, Notice):
            self.notices += 1
        elif not outcome.pose:
            self.readings += 1
        else:
            self.samples += 1
            self.warnings.update(outcome.warnings)
            if outcome.preroll:
                self.preroll_samples += 1
            else:
                self.by_camera[outcome.camera or ""] += 1


def outcome_json(source: TakeSource, outcome: Outcome) -> dict[str, Any]:
    """One JSON line of ``--redecode`` (see the module docstring)."""
    line: dict[str, Any] = {"number": outcome.number, "arrival_ns": outcome.arrival_ns, "source": source.name}
    if isinstance(outcome, Decoded):
        sample = dict(outcome.fields)
        if outcome.sample is not None:
            sample.update(sample_json(outcome.sample), warnings=list(outcome.warnings))
        line.update(protocol=source.protocol, camera=outcome.camera, sample=sample)
    elif isinstance(outcome, Rejected):
        line.update(rejected=outcome.reason, detail=outcome.detail)
    else:
        line.update(notice=outcome.kind, detail=outcome.detail)
    if outcome.preroll:
        line["preroll"] = True
    return line


def json_line(line: dict[str, Any]) -> str:
    """One ``--redecode`` line as strict JSON: what JSON cannot hold (NaN or bytes a CBOR sender put in
    ``custom``) is written as ``core.opentrackio.merge.jsonable`` makes it (null, hex), each such place
    named under ``"changed"`` with the value as sent."""
    try:
        return json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n"
    except (TypeError, ValueError):
        changed: dict[str, Any] = {}
        safe = jsonable(line, "", changed)
        return json.dumps({**safe, "changed": changed}, separators=(",", ":"), allow_nan=False) + "\n"


def _redecode(take: TakeData, selected: Mapping[int, TakeSource], camera: str | None, out_path: str | None,
              out: TextIO, err: TextIO) -> int:
    assert take.raw is not None
    raw = take.raw
    decoders: dict[int, SourceDecoder] = {}
    tallies = {i: Tally() for i in selected}
    for i, s in selected.items():
        try:
            decoders[i] = make_decoder({"protocol": s.protocol, **s.settings}, s.cameras)
        except ValueError as exc:
            print(f"stagectl takes raw: source {i} {s.name}: {exc}; its entries are not decoded", file=err)

    def lines() -> Iterator[str]:
        for entry in raw.entries(tuple(selected)):
            preroll = bool(entry.flags & RAW_PREROLL)
            tallies[entry.source].entries += 1
            tallies[entry.source].preroll_entries += preroll
            decoder = decoders.get(entry.source)
            if decoder is not None:
                outcomes = decoder.feed(entry.number, entry.arrival_ns, entry.data, preroll)
                yield from _emit(entry.source, outcomes)
        for i, decoder in decoders.items():
            yield from _emit(i, decoder.finish())

    def _emit(index: int, outcomes: list[Outcome]) -> Iterator[str]:
        for outcome in outcomes:
            tallies[index].add(outcome)
            if camera is None or not isinstance(outcome, Decoded) or outcome.camera in (camera, None):
                yield json_line(outcome_json(selected[index], outcome))

    if out_path is None:
        for line in lines():
            out.write(line)
        out.flush()
    elif _to_file(Path(out_path), lambda handle: _write_lines(handle, lines()), err) is None:
        return 1
    print(summary(take, selected, decoders, tallies, camera), file=err, end="")
    return 0


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counter.items())) or "none"


def summary(take: TakeData, selected: Mapping[int, TakeSource], decoders: Mapping[int, SourceDecoder],
            tallies: Mapping[int, Tally], camera: str | None) -> str:
    """The ``--redecode`` summary: per source, then the take's samples against today's per camera."""
    lines = [f"stagectl takes raw: take {take.info.take_id} ({take.info.name}) decoded again:"]
    for i, s in selected.items():
        t, decoder = tallies[i], decoders.get(i)
        pre = f" ({t.preroll_entries} pre-roll)" if t.preroll_entries else ""
        if s.protocol == "lens-serial":
            got = f"{t.readings} lens readings, {t.notices} notices"
        else:
            got = f"{t.samples} samples decoded"
            if t.preroll_samples:
                got += f" ({t.preroll_samples} completed by pre-roll: before RECORD, not in the take)"
        left = decoder.leftover if decoder is not None else "not decoded"
        lines.append(f"  source {i} {s.name} ({s.protocol}): {t.entries} entries{pre}, {got}; rejected: "
                     f"{_counts(t.rejected)}; warnings: {_counts(t.warnings)}"
                     f"{f'; at the end: {left}' if left else ''}")
    cameras = [camera] if camera is not None else list(dict.fromkeys(
        c for s in selected.values() for c in s.cameras))
    for cam in cameras:
        feeding = [i for i, s in selected.items() if cam in s.cameras and s.protocol != "lens-serial"]
        if not feeding:
            continue
        track = take.cameras.get(cam)
        if track is None:
            recorded = 0
        elif track.source_index is None:
            recorded = len(track)
        else:  # a sample of no known source (records.NO_SOURCE) is in no source's count
            recorded = int(np.isin(track.source_index, feeding).sum())
        decoded = sum(tallies[i].by_camera[cam] for i in feeding)
        if recorded == decoded:
            verdict = "they match"
        else:
            diff = decoded - recorded
            verdict = f"{abs(diff)} {'more' if diff > 0 else 'fewer'} now"
        where = ", ".join(str(i) for i in feeding)
        lines.append(f"  camera {cam}: the take recorded {recorded} samples from source(s) {where}, "
                     f"decoded now {decoded}: {verdict}")
    return "\n".join(lines) + "\n"
