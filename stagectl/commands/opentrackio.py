"""``stagectl decode opentrackio`` and ``stagectl simulate opentrackio``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

from stagectl.core.errors import DecodeError
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import (
    ENCODING_NAMES,
    MAGIC,
    Header,
    OpenTrackIOSample,
    Reassembler,
    decode_payload,
    parse_datagram,
    parse_sample,
)
from stagectl.core.opentrackio.merge import jsonable
from stagectl.core.opentrackio.reassembly import Numbering
from stagectl.core.opentrackio.sample import WARNINGS
from tracking.opentrackio_sim import OpenTrackIOSimulator

_SEPARATORS = re.compile(r"[\s:-]+")
_NO_TIMEOUT_NS = 1 << 62  # the command line has no clock: segments never go stale


def _read_datagram(arg: str) -> bytes:
    """One argument as bytes: hex (spaces, colons, dashes allowed) or @FILE (raw binary or hex text)."""
    if arg.startswith("@"):
        try:
            raw = Path(arg[1:]).read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {arg[1:]}: {exc.strerror}") from None
        if raw.startswith(MAGIC):
            return raw
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("neither a binary datagram (starting with 'OTrk') nor hex text") from None
    else:
        text = arg
    try:
        return bytes.fromhex(_SEPARATORS.sub("", text))
    except ValueError:
        raise ValueError("not hexadecimal") from None


def _numbering(headers: list[Header]) -> Numbering:
    """Two segments of one payload with one sequence number: the sender numbers payloads."""
    seen: dict[tuple[int, int], int] = {}
    for header in headers:
        if header.segment_offset == 0 and header.last_segment:
            continue
        key = (header.encoding, header.sequence)
        if seen.setdefault(key, header.segment_offset) != header.segment_offset:
            return "per_payload"
    return "per_datagram"


def _triple(values: tuple[float, float, float] | None) -> list[float] | None:
    return None if values is None else list(values)


def sample_json(sample: OpenTrackIOSample) -> dict[str, Any]:
    """The sample in stagectl's units, as plain JSON values (absent fields left out). The decoder's
    output also carries ``received``: the sample exactly as it was sent."""
    out: dict[str, Any] = {
        "source_number": sample.source_number, "source_id": sample.source_id, "sample_id": sample.sample_id,
        "position_m": _triple(sample.translation_m), "rotation_deg": _triple(sample.rotation_deg),
        "transforms": [{"id": t.transform_id, "translation_m": list(t.translation_m),
                        "rotation_deg": list(t.rotation_deg)} for t in sample.transforms] or None,
        "timecode": None if sample.timecode is None else str(sample.timecode),
        "timecode_rate": None if sample.timecode is None else str(sample.timecode.rate),
        "timecode_as_sent": None if sample.timecode_label is None else str(sample.timecode_label),
        "sub_frame": sample.sub_frame,
        "sample_time_ns": sample.sample_time_ns,
        "sample_rate": None if sample.sample_rate is None else str(sample.sample_rate),
        "sequence_number": sample.sequence_number,
        "timing_mode": sample.timing_mode,
        "protocol": None if sample.protocol_version is None else
        f"{sample.protocol_name} {'.'.join(map(str, sample.protocol_version))}",
    }
    lens = sample.lens
    if lens is not None:
        out.update({
            "focal_length_mm": lens.pinhole_focal_length_mm, "focus_distance_m": lens.focus_distance_m,
            "f_stop": lens.f_stop, "t_stop": lens.t_stop,
            "entrance_pupil_offset_m": lens.entrance_pupil_offset_m,
            "encoders": {k: v for k, v in (("focus", lens.encoder_focus), ("iris", lens.encoder_iris),
                                           ("zoom", lens.encoder_zoom)) if v is not None} or None,
            "raw_encoders": {k: v for k, v in (("focus", lens.raw_focus), ("iris", lens.raw_iris),
                                               ("zoom", lens.raw_zoom)) if v is not None} or None,
            "distortion": [{"model": d.model, "radial": list(d.radial),
                            **({"tangential": list(d.tangential)} if d.tangential else {})}
                           for d in lens.distortion] or None,
        })
    if sample.static is not None:
        s = sample.static
        out["static"] = {k: v for k, v in {
            "camera": " ".join(filter(None, (s.camera_make, s.camera_model))) or None,
            "camera_serial": s.camera_serial,
            "sensor_mm": None if s.sensor_width_mm is None else [s.sensor_width_mm, s.sensor_height_mm],
            "sensor_px": None if s.sensor_width_px is None else [s.sensor_width_px, s.sensor_height_px],
            "lens": " ".join(filter(None, (s.lens_make, s.lens_model))) or None,
            "lens_serial": s.lens_serial,
            "tracker": " ".join(filter(None, (s.tracker_make, s.tracker_model))) or None,
        }.items() if v is not None}
    return {k: v for k, v in out.items() if v is not None}


def decode_opentrackio(args: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print one JSON object per decoded sample; each bad datagram or payload says what is wrong.

    Several arguments may be the segments of one payload (in any order). Exit 1 if anything was bad
    or a payload stayed incomplete.
    """
    status = 0
    checked: list[tuple[str, Header, bytes]] = []
    for arg in args:
        shown = arg if len(arg) <= 40 else arg[:37] + "..."
        try:
            header, segment = parse_datagram(_read_datagram(arg))
        except ValueError as exc:
            print(f"{shown}: {exc}", file=err)
            status = 1
            continue
        except DecodeError as exc:
            print(f"{shown}: {exc.reason}: {exc}", file=err)
            status = 1
            continue
        checked.append((shown, header, segment))
    reassembler = Reassembler(timeout_ns=_NO_TIMEOUT_NS, max_pending=max(1, len(checked)),
                              numbering=_numbering([h for _, h, _ in checked]))
    rejected_sets = 0  # payloads the reassembler dropped because a segment was bad (already reported)
    for shown, header, segment in checked:
        discarded, duplicates = reassembler.discarded, reassembler.duplicates
        try:
            payload = reassembler.feed(header, segment, 0)
        except DecodeError as exc:
            rejected_sets += reassembler.discarded - discarded
            print(f"{shown}: {exc.reason}: {exc}", file=err)
            status = 1
            continue
        if payload is None:
            if reassembler.duplicates > duplicates:
                print(f"{shown}: repeats an earlier datagram (same sequence, offset and checksum): "
                      "ignored, as OpenTrackIO asks", file=err)
            continue
        try:
            received = decode_payload(header.encoding, payload)
            sample = parse_sample(received)
        except DecodeError as exc:
            print(f"{shown}: {exc.reason}: {exc}", file=err)
            status = 1
            continue
        for warning in sample.warnings:
            print(f"{shown}: kept as sent ({warning}): {WARNINGS.get(warning, warning)}", file=err)
        print(json.dumps({"encoding": ENCODING_NAMES[header.encoding],
                          "sequence": reassembler.completed_sequence,
                          "segments": reassembler.completed_segments, **sample_json(sample),
                          "warnings": list(sample.warnings),
                          "received": jsonable(received, "", {})}), file=out)
    incomplete = reassembler.pending + reassembler.discarded - rejected_sets
    if incomplete:
        print(f"incomplete: {incomplete} payload(s) are missing segments; an incomplete payload is discarded",
              file=err)
        status = 1
    return status


def simulate_opentrackio(target: str, group: str | None, encoding: Literal["json", "cbor"], rate_hz: float,
                         ttl: int, source_number: int, duration_s: float | None,
                         err: TextIO = sys.stderr) -> int:
    """Send a simulated OpenTrackIO camera until Ctrl+C or the duration ends."""
    try:
        endpoint = Endpoint.parse(target)
        simulator = OpenTrackIOSimulator(endpoint, rate_hz, encoding, group, ttl, source_number)
    except ValueError as exc:
        print(f"stagectl simulate opentrackio: {exc}", file=err)
        return 2
    where = (f"multicast {group}:{endpoint.port} from interface {endpoint.host} (TTL {ttl})" if group
             else str(endpoint))
    print(f"sending OpenTrackIO ({encoding.upper()}, source number {source_number}) to {where} "
          f"at {rate_hz:g} Hz; Ctrl+C stops", file=err)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(simulator.async_run(duration_s))
    print(f"sent {simulator.sent} datagrams ({simulator.skipped_ticks} ticks skipped, "
          f"{simulator.send_errors} send errors)", file=err)
    for reason, count in sorted(simulator.send_errors_by_reason.items(), key=lambda item: -item[1]):
        print(f"  {count} send error{'s' if count != 1 else ''}: {reason}", file=err)
    return 0
