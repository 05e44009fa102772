"""The field matrix: camdkit's published and generated examples, every leaf field, every way out.

A real stage receives each example over loopback UDP (JSON and CBOR) on two OpenTrackIO sources:
camera ``T`` (no lens file: stagectl changes nothing but its own sample identity) and camera ``S``
(solved with the demo lens file: lens values and the film back are stagectl's). It relays both to
two OpenTrackIO outputs (JSON at MTU 1500, CBOR at MTU 400, read by the strict receiver written from
the spec in tests/opentrackio_strict.py) and records a take, which is exported to every format.
For each leaf the examples send, the matrix says how (a) ``stagectl decode``, (b) the live output,
(c) the take's JSON lines and (d) CSV, USD, OTIO and ALE carry it (tests/fidelity.py: ✓ as sent,
± stagectl's own value with the tracker's in ``custom.stagectl.changed``, · no place for it,
✗ lost). The test prints the matrix and holds docs/takes.md's copy to it.

Each example is sent as published but for two fields, so that the samples are distinct samples:
``timing.timecode.seconds`` becomes the sample's number (they would all be one frame otherwise) and
``timing.sequenceNumber``, where the example has one, counts up (a repeated number is a duplicate).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped, unused-ignore]
import pytest
from pxr import Usd, UsdGeom

import lens as lens_package
from stagectl.commands.opentrackio import decode_opentrackio
from stagectl.core.coords import internal_to_usd_camera_matrix
from stagectl.core.opentrackio.datagram import ENCODING_CBOR, ENCODING_JSON, encode_datagrams
from stagectl.core.opentrackio.payload import encode_payload
from stagectl.core.opentrackio.sample import parse_sample
from stagectl.takes.export.registry import export_takes
from tests.ale_reader import read_ale
from tests.fidelity import (
    CANNOT,
    CHANGED,
    FORMATS,
    LOST,
    SENT,
    collapse,
    get,
    leaves,
    merge,
    passed_on,
    pattern,
    render,
    same,
)
from tests.opentrackio_strict import StrictReceiver
from tests.support.polling import wait_until
from tests.support.recording import read_take, record, running
from tests.support.stagefile import StageFile

DATA = Path(__file__).parent / "data" / "opentrackio"
EXAMPLES = [*sorted((DATA / "examples").glob("*.json")), *sorted((DATA / "generated").glob("*.json"))]
DOCS = Path(__file__).parent.parent / "docs" / "takes.md"
ENCODINGS = ((ENCODING_JSON, "json"), (ENCODING_CBOR, "cbor"))


def _sends() -> list[tuple[str, int, dict[str, Any]]]:
    """(example name, encoding, the sample as sent) in sending order."""
    out = []
    for k, (path, (encoding, _)) in enumerate((p, e) for p in EXAMPLES for e in ENCODINGS):
        sample = json.loads(path.read_text())
        timing = sample.get("timing", {})
        if "timecode" in timing:
            timing["timecode"]["seconds"] = k
        if "sequenceNumber" in timing:
            timing["sequenceNumber"] = 100 + k
        out.append((f"{path.parent.name}/{path.stem}", encoding, sample))
    return out


SENDS = _sends()


@dataclass
class Run:
    """What one stage run gave back."""

    folder: Path
    outputs: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # encoding -> camera
    datagrams: dict[str, list[list[bytes]]] = field(default_factory=dict)  # camera -> per sample
    exports: dict[str, Path] = field(default_factory=dict)
    segments: dict[str, list[int]] = field(default_factory=dict)


def _stage(folder: Path, ports: dict[str, int]) -> str:
    lens_file = Path(lens_package.__file__).parent / "data" / "demo_zoom_24_70.json"
    stage = StageFile("fidelity", frame_rate="24000/1001").camera("T").camera("S", lens=lens_file)
    stage.source("T", "opentrackio").source("S", "opentrackio")
    stage.output("opentrackio", target=f"127.0.0.1:{ports['json']}", encoding="json", cameras=["T", "S"])
    stage.output("opentrackio", target=f"127.0.0.1:{ports['cbor']}", encoding="cbor", mtu=400,
                 cameras=["T", "S"])
    return stage.takes(dir=folder / "takes", timecode="T").text


def _drain(sock: socket.socket, receiver: StrictReceiver, wanted: int) -> None:
    def arrived() -> bool:
        with contextlib.suppress(BlockingIOError):
            while len(receiver.samples) < wanted:
                receiver.feed(sock.recv(70000))
        return len(receiver.samples) >= wanted

    wait_until(arrived, what=f"{wanted} output samples", detail=lambda: len(receiver.samples))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("fidelity")
    sockets = {name: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for name in ("json", "cbor")}
    for sock in sockets.values():
        sock.bind(("127.0.0.1", 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sock.setblocking(False)
    ports = {name: sock.getsockname()[1] for name, sock in sockets.items()}
    result = Run(folder)
    with contextlib.ExitStack() as stack:
        for sock in sockets.values():
            stack.enter_context(sock)
        runner = stack.enter_context(running(_stage(folder, ports), folder))
        sender = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        stage = runner.stage

        def send() -> None:
            sequence = 0
            for n, (_, encoding, sample) in enumerate(SENDS):
                payload = encode_payload(sample, encoding)
                for camera, source in zip(("T", "S"), stage.sources, strict=True):
                    datagrams = encode_datagrams(payload, encoding, sequence, 1200 if n % 2 else 1500)
                    sequence = (sequence + len(datagrams)) % 65536
                    result.datagrams.setdefault(camera, []).append(datagrams)
                    assert source.bound is not None
                    for datagram in datagrams:
                        sender.sendto(datagram, ("127.0.0.1", source.bound.port))
                wait_until(lambda n=n: all(c.delivered == n + 1 for c in stage.cameras.values()))

        record(runner, send, scene="fidelity")
        for name, sock in sockets.items():
            receiver = StrictReceiver()
            _drain(sock, receiver, 2 * len(SENDS))
            by_camera: dict[str, list[dict[str, Any]]] = {"T": [], "S": []}
            for sample in receiver.samples:
                by_camera["T" if sample["sourceNumber"] == 1 else "S"].append(sample)
            result.outputs[name] = by_camera
            result.segments[name] = list(receiver.segments_per_sample)
        for source in stage.sources:
            assert source.health.rejected == 0, source.health.rejected_by_reason
    take = read_take(folder / "takes")
    for path in export_takes([take], ["usd", "csv", "jsonl", "otio", "ale"], folder / "export"):
        result.exports[path.name.replace(take.info.name, "take")] = path
    yield result


# --- the formats, each read with its own reader --------------------------------------------------------

def _decoded(run: Run) -> list[dict[str, Any]]:
    out = []
    for datagrams in run.datagrams["T"]:
        stdout, stderr = io.StringIO(), io.StringIO()
        assert decode_opentrackio([d.hex() for d in datagrams], stdout, stderr) == 0, stderr.getvalue()
        out.append(json.loads(stdout.getvalue())["received"])
    return out


def _jsonl(run: Run, camera: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.exports[f"take_{camera}.jsonl"].read_text().splitlines()]


def _csv(run: Run) -> list[dict[str, str]]:
    with open(run.exports["take_T.csv"], newline="") as f:
        return list(csv.DictReader(f))


def _csv_number(row: dict[str, str], column: str) -> float | None:
    return float(row[column]) if row[column] != "" else None


def _label(label_text: str) -> tuple[int, int, int, int, bool]:
    h, m, s, f = (int(v) for v in label_text.replace(";", ":").split(":"))
    return h, m, s, f, ";" in label_text


def _csv_mark(row: dict[str, str], sample: dict[str, Any], path: str, value: Any) -> str:
    """How the CSV row carries the leaf (a column per value it has, to its 1e-6 precision)."""
    columns = {"lens.pinholeFocalLength": "focal_length_mm", "lens.focusDistance": "focus_distance_m",
               "lens.fStop": "f_stop", "lens.tStop": "t_stop", "lens.entrancePupilOffset": "entrance_pupil_m",
               "lens.rawEncoders.focus": "focus_raw", "lens.rawEncoders.iris": "iris_raw",
               "lens.rawEncoders.zoom": "zoom_raw", "timing.sequenceNumber": "sequence",
               "sourceNumber": "device_id", "timing.sampleTimestamp.seconds": "sample_timestamp_s",
               "timing.sampleTimestamp.nanoseconds": "sample_timestamp_ns",
               "timing.timecode.subFrame": "sub_frame"}
    pose = {"translation.x": "x_m", "translation.y": "y_m", "translation.z": "z_m", "rotation.pan": "pan_deg",
            "rotation.tilt": "tilt_deg", "rotation.roll": "roll_deg"}
    if path in columns:
        return SENT if same(_csv_number(row, columns[path]), value, 1e-6) else LOST
    if path.startswith("transforms[0].") and path[len("transforms[0]."):] in pose:
        if len(sample["transforms"]) > 1:
            return CANNOT  # a chain: the CSV holds the composed pose only
        return SENT if same(_csv_number(row, pose[path[len("transforms[0]."):]]), value, 1e-6) else LOST
    label = _label(row["source_timecode"])
    parts = {"timing.timecode.hours": label[0], "timing.timecode.minutes": label[1],
             "timing.timecode.seconds": label[2], "timing.timecode.frames": label[3],
             "timing.timecode.dropFrame": label[4]}
    if path in parts:
        return SENT if same(parts[path], value) else LOST
    if path in ("timing.timecode.frameRate.num", "timing.timecode.frameRate.denom"):
        num, den = (int(v) for v in row["source_timecode_rate"].split("/"))
        return SENT if value == (num if path.endswith("num") else den) else LOST
    if path == "static.camera.activeSensorPhysicalDimensions.height":
        focal = _csv_number(row, "focal_length_mm")
        fov = _csv_number(row, "vfov_deg")
        if focal is None or fov is None:
            return LOST
        expected = math.degrees(2 * math.atan(value / (2 * focal)))
        return SENT if math.isclose(fov, expected, abs_tol=1e-8) else LOST
    return CANNOT


def _usd(run: Run) -> tuple[Usd.Stage, UsdGeom.Camera]:
    stage = Usd.Stage.Open(str(run.exports["take_T.usda"]))
    return stage, UsdGeom.Camera(stage.GetDefaultPrim())


def _plain(value: Any) -> Any:
    """USD's and OTIO's containers (VtArray, AnyDictionary, AnyVector) as dicts and lists."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "__len__") and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def _static_mark(kept: Any, path: str, value: Any) -> str:
    """The first static block of the take, kept whole as clip metadata (USD's layer data, OTIO's clip)."""
    return SENT if same(get(_plain(kept), path[len("static."):]), value) else LOST


def _usd_mark(stage: Usd.Stage, camera: UsdGeom.Camera, sample: dict[str, Any], path: str, value: Any,
              first_static: bool) -> str:
    """How the USD camera carries the leaf, at the sample's frame (take frames count at 24 here); the first
    static block of the take in the layer's metadata."""
    if first_static and path.startswith("static."):
        meta = stage.GetRootLayer().customLayerData["stagectl"]
        return _static_mark(dict(meta.get("trackerStatic", {})), path, value)
    tc = sample["timing"]["timecode"]
    frame = float(((tc["hours"] * 60 + tc["minutes"]) * 60 + tc["seconds"]) * 24 + tc["frames"])
    time_code = Usd.TimeCode(frame)
    clock_face = ("hours", "minutes", "seconds", "frames")
    if path.startswith("timing.timecode.") and path.split(".")[2] in clock_face:
        inside = stage.GetStartTimeCode() <= frame <= stage.GetEndTimeCode()
        return SENT if inside else LOST
    pose_leaf = path.startswith(("transforms[0].translation.", "transforms[0].rotation."))
    if pose_leaf and len(sample["transforms"]) == 1:
        parsed = parse_sample(sample)
        assert parsed.translation_m is not None and parsed.rotation_deg is not None
        expected = internal_to_usd_camera_matrix([parsed.translation_m], [parsed.rotation_deg], 0.01)[0]
        matrix = camera.GetPrim().GetAttribute("xformOp:transform").Get(time_code)
        got = [[matrix[i][j] for j in range(4)] for i in range(4)]
        return SENT if all(same(got[i][j], float(expected[i][j]), 1e-9) for i in range(4) for j in range(4)) \
            else LOST
    lens = {"lens.pinholeFocalLength": (camera.GetFocalLengthAttr(), 1.0),
            "lens.focusDistance": (camera.GetFocusDistanceAttr(), 100.0),
            "lens.fStop": (camera.GetFStopAttr(), 1.0)}
    if path in lens:
        attribute, scale = lens[path]
        return SENT if same(attribute.Get(time_code), value * scale, 1e-6) else LOST
    sensor = {"static.camera.activeSensorPhysicalDimensions.width": camera.GetHorizontalApertureAttr(),
              "static.camera.activeSensorPhysicalDimensions.height": camera.GetVerticalApertureAttr()}
    if path in sensor:
        return SENT if same(sensor[path].Get(), value, 1e-6) else LOST
    if path.startswith("timing.sampleTimestamp."):
        name = path.rsplit(".", 1)[1]
        stamp = camera.GetPrim().GetAttribute(f"stagectl:sampleTimestamp:{name}").Get(time_code)
        return SENT if stamp == value else LOST
    return CANNOT


def _clip_marks(run: Run, samples: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """What camera T's OTIO clip and ALE row say about the samples, by field: the first sample's timecode
    (OTIO as sent; ALE's Start at the take's rate: the same label here), focus and T-stop at the start,
    the focal length range, the film back (OTIO)."""
    timeline = otio.adapters.read_from_file(str(run.exports["take.otio"]))
    (clip,) = [c for t in timeline.tracks for c in t.find_clips() if c.metadata["stagectl"]["camera"] == "T"]
    meta = clip.metadata["stagectl"]
    (row,) = [r for r in read_ale(run.exports["take.ale"]).rows if r["Camera"] == "T"]
    first = samples[0]
    tc = first["timing"]["timecode"]
    label = (f"{tc['hours']:02d}:{tc['minutes']:02d}:{tc['seconds']:02d}{';' if tc.get('dropFrame') else ':'}"
             f"{tc['frames']:02d}")
    focal = [s["lens"]["pinholeFocalLength"] for s in samples]
    film = meta["film_back"]
    static_at = next(k for k, s in enumerate(samples) if "static" in s)
    otio_static = {path: _static_mark(meta["tracker_static"], path, value)
                   for path, value in leaves({"static": samples[static_at]["static"]})}
    otio_ok = {"timecode": label == meta["source_timecode_first"]
               and meta["source_timecode_rate"] == f"{tc['frameRate']['num']}/{tc['frameRate']['denom']}",
               "lens.focusDistance": same(meta["lens"]["focus_distance_m_at_start"],
                                          first["lens"]["focusDistance"]),
               "lens.tStop": same(meta["lens"]["t_stop_at_start"], first["lens"]["tStop"]),
               "lens.fStop": same(meta["lens"]["f_stop_at_start"], first["lens"]["fStop"]),
               "lens.pinholeFocalLength": meta["lens"]["focal_length_mm"] == {"min": min(focal),
                                                                              "max": max(focal)},
               "static.camera.activeSensorPhysicalDimensions.width": film["widthMm"] == 36.0,
               "static.camera.activeSensorPhysicalDimensions.height": film["heightMm"] == 24.0}
    ale_ok = {"timecode": row["Start"] == label.replace(";", ":"),
              "lens.focusDistance": row["Focus Distance (m)"] == f"{first['lens']['focusDistance']:.4g}",
              "lens.tStop": row["T-Stop"] == f"{first['lens']['tStop']:.4g}",
              "lens.pinholeFocalLength": row["Focal Length (mm)"] == f"{min(focal):.4g}"}
    marks = {k: SENT if v else LOST for k, v in otio_ok.items()}
    return ({**{f"first:{k}": v for k, v in otio_static.items()}, **marks},
            {k: SENT if v else LOST for k, v in ale_ok.items()})


def _clip_key(path: str, first: bool, ale: bool) -> str:
    """The key of a leaf in :func:`_clip_marks`: the first sample's timecode (OTIO its label and rate as
    sent; ALE its label on the take's base) and focus; any focal length; any film back (OTIO)."""
    label = path.split(".")[-1] in ("hours", "minutes", "seconds", "frames", "dropFrame")
    if first and path.startswith("timing.timecode.") and (label or (not ale and "frameRate" in path)):
        return "timecode"
    if first or not path.startswith(("lens.focusDistance", "lens.tStop", "lens.fStop")):
        return path
    return ""


def matrix(run: Run) -> dict[str, tuple[str, ...]]:
    """Every sent leaf (as a pattern) and its mark per format, camera T."""
    sent = [sample for _, _, sample in SENDS]
    decoded, jsonl, rows = _decoded(run), _jsonl(run, "T"), _csv(run)
    stage, camera = _usd(run)
    otio_marks, ale_marks = _clip_marks(run, sent)
    static_at = next(k for k, s in enumerate(sent) if "static" in s)
    cells: dict[str, dict[str, list[str]]] = {}
    for k, sample in enumerate(sent):
        for path, value in leaves(sample):
            row = cells.setdefault(pattern(path), {name: [] for name in FORMATS})
            row["decode"].append(SENT if same(get(decoded[k], path), value) else LOST)
            row["output"] += [passed_on(run.outputs[e]["T"][k], path, value) for e in ("json", "cbor")]
            row["jsonl"].append(passed_on(jsonl[k], path, value))
            row["csv"].append(_csv_mark(rows[k], sample, path, value))
            row["usd"].append(_usd_mark(stage, camera, sample, path, value, k == static_at))
            key = f"first:{path}" if k == static_at and path.startswith("static.") else ""
            row["otio"].append(otio_marks.get(key) or otio_marks.get(_clip_key(path, k == 0, False), CANNOT))
            row["ale"].append(ale_marks.get(_clip_key(path, k == 0, True), CANNOT))
    return {path: tuple(merge(row[name]) for name in FORMATS) for path, row in sorted(cells.items())}


def _docs_table() -> str:
    text = DOCS.read_text()
    start = text.index("<!-- field matrix: begin -->")
    end = text.index("<!-- field matrix: end -->")
    return text[start:end].split("\n", 1)[1]


def test_every_field_sent_reaches_every_way_out_that_can_carry_it(run: Run) -> None:
    rows = matrix(run)
    table = render(collapse(rows))
    print("\n" + table)
    lost = {path: marks for path, marks in rows.items() if LOST in marks}
    assert lost == {}
    assert table == _docs_table(), "docs/takes.md's field matrix is out of date: paste the printed table"


def test_what_stagectl_changes_it_changes_visibly(run: Run) -> None:
    # Camera S is solved with the demo lens file: its lens values are stagectl's; the tracker's are kept.
    for k, (_, _, sample) in enumerate(SENDS):
        for out in (run.outputs["json"]["S"][k], run.outputs["cbor"]["S"][k], _jsonl(run, "S")[k]):
            marks = {path: passed_on(out, path, value) for path, value in leaves(sample)}
            assert LOST not in marks.values(), {p: m for p, m in marks.items() if m == LOST}
            if "rawEncoders" in sample.get("lens", {}):
                assert marks["lens.pinholeFocalLength"] == CHANGED
            if "static" in sample:  # the lens file's 36 x 20.25 mm sensor over the tracker's 36 x 24
                changed = out["custom"]["stagectl"]["changed"]
                assert changed["static.camera.activeSensorPhysicalDimensions.height"] == 24.0
                assert out["static"]["camera"]["activeSensorPhysicalDimensions"] == {"width": 36.0,
                                                                                     "height": 20.25}


def test_the_strict_receiver_took_every_datagram_at_mtu_1500_and_400(run: Run) -> None:
    # Every output datagram went through the strict receiver (header, checksum, segments, schema);
    # the complete examples need segments at MTU 1500 too, and more at 400.
    assert max(run.segments["cbor"]) > max(run.segments["json"]) > 1 == min(run.segments["json"])
    assert len(run.outputs["json"]["T"]) == len(run.outputs["cbor"]["S"]) == len(SENDS)
