"""What stagectl changes in a relayed OpenTrackIO sample, it changes visibly (core.opentrackio.merge)."""

from __future__ import annotations

import copy
import json
import math
import socket
from typing import Any

import pytest

from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue
from stagectl.core.links import Endpoint
from stagectl.core.opentrackio.codec import (
    ENCODING_CBOR,
    ENCODING_JSON,
    encode_datagrams,
    encode_payload,
    parse_sample,
)
from stagectl.core.opentrackio.merge import REMOVED, append_correction, overlay, with_notes
from stagectl.core.opentrackio.sample import compose_transforms
from stagectl.core.timecode import FrameRate
from stagectl.stage.pipeline import CameraPipeline
from stagectl.unreal.opentrackio_out import OpenTrackIOOutput
from tests.opentrackio_strict import StrictReceiver
from tests.support.cli import REPO
from tracking.opentrackio_udp import OpenTrackIOUdpSource

EXAMPLE = REPO / "tests" / "data" / "opentrackio" / "examples" / "complete_dynamic_example.json"


def test_overlay_keeps_equal_values_as_sent_and_records_what_it_replaces() -> None:
    changed: dict[str, Any] = {}
    base = {"fStop": 4, "focusDistance": 10.0, "encoders": {"zoom": 0.3, "focus": 0.1}, "custom": [1.0]}
    out = overlay(base, {"fStop": 4.0, "focusDistance": REMOVED, "encoders": {"zoom": 0.5}, "tStop": 4.1},
                  "lens", changed)
    assert out == {"fStop": 4, "encoders": {"zoom": 0.5, "focus": 0.1}, "custom": [1.0], "tStop": 4.1}
    assert type(out["fStop"]) is int  # 4 stays 4: the tracker's own representation
    assert changed == {"lens.focusDistance": 10.0, "lens.encoders.zoom": 0.3}
    assert base["focusDistance"] == 10.0  # never mutated
    filled = overlay(base, {"fStop": 2.8, "label": "A"}, "lens", changed, fill_only=True)
    assert (filled["fStop"], filled["label"]) == (4, "A")


def test_notes_keep_the_trackers_custom_data_and_an_upstream_stagectl() -> None:
    sample = {"custom": {"pot1": 2435, "stagectl": {"changed": {"sampleId": "x"}}}}
    out = with_notes(dict(sample), {"lens.fStop": 4.0}, {"takeFrame": 7})
    assert out["custom"]["pot1"] == 2435
    assert out["custom"]["stagectl"] == {"takeFrame": 7, "changed": {"lens.fStop": 4.0},
                                         "upstream": {"changed": {"sampleId": "x"}}}
    assert sample["custom"]["stagectl"] == {"changed": {"sampleId": "x"}}


def test_an_appended_transform_makes_the_chain_compose_to_the_new_pose() -> None:
    chain = json.loads(EXAMPLE.read_text())["transforms"]  # three entries, two of them scaled
    target = ((0.5, -1.25, 2.0), (12.0, -4.0, 1.5))
    extended = append_correction(chain, *target)
    assert extended[:3] == chain and extended[3]["id"] == "stagectl" and "scale" not in extended[3]
    composed = compose_transforms(parse_sample({"transforms": extended}).transforms)
    assert composed[0] == pytest.approx(target[0], abs=1e-9)
    assert composed[1] == pytest.approx(target[1], abs=1e-9)


def test_a_chain_that_collapses_a_dimension_is_replaced_by_one_transform() -> None:
    flat = [{"translation": {"x": 1.0}, "rotation": {"pan": 10.0}, "scale": {"x": 0.0, "y": 1.0, "z": 1.0}}]
    (only,) = append_correction(flat, (0.5, 0.5, 0.5), (1.0, 2.0, 3.0))
    assert only["translation"] == {"x": 0.5, "y": 0.5, "z": 0.5}
    assert (only["rotation"]["pan"], only["rotation"]["tilt"]) == (pytest.approx(1.0), pytest.approx(2.0))


def _relayed(camera: CameraPipeline, samples: list[dict[str, Any]], encoding: int) -> list[dict[str, Any]]:
    """``samples`` sent in ``encoding`` (3 segments each) to a real source feeding ``camera``, relayed by a
    JSON output to a socket read by the strict receiver: what it received."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(2.0)
        source = OpenTrackIOUdpSource("A/opentrackio", camera, StageClock(FrameRate.parse(25)), EventQueue(),
                                      Endpoint("127.0.0.1", 0))
        output = OpenTrackIOOutput("out", Endpoint("127.0.0.1", receiver.getsockname()[1]), encoding="json")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(receiver.getsockname())
        output._udp.open(sock)
        camera.add_sink(output.sink_for("A"))
        strict = StrictReceiver()
        for n, sample in enumerate(samples):
            payload = encode_payload(sample, encoding)
            mtu = 16 + -(-len(payload) // 3)
            for datagram in encode_datagrams(payload, encoding, 3 * n, mtu=mtu):
                source.datagram_received(datagram, ("127.0.0.1", 9))
        while len(strict.samples) < len(samples):
            strict.feed(receiver.recv(70000))
        sock.close()
    assert output._udp.dropped_by_reason == {}
    return strict.samples


def test_smoothing_appends_a_transform_and_keeps_the_trackers_chain() -> None:
    camera = CameraPipeline("A", smoothing=3)
    sample = json.loads(EXAMPLE.read_text())
    sent = []
    for n in range(3):
        sample["timing"]["sequenceNumber"] = n
        sample["transforms"][0]["translation"]["x"] = float(n)  # the dolly moves: smoothing changes it
        sent.append(copy.deepcopy(sample))
    relayed = _relayed(camera, sent, ENCODING_JSON)[-1]
    sent_chain = sample["transforms"]
    assert relayed["transforms"][:3] == sent_chain  # the tracker's entries, untouched
    assert relayed["transforms"][3]["id"] == "stagectl"
    latest = camera.latest
    assert latest is not None
    composed = compose_transforms(parse_sample({"transforms": relayed["transforms"]}).transforms)
    assert composed[0] == pytest.approx(latest.translation_m, abs=1e-9)
    assert relayed["custom"]["pot1"] == 2435 and relayed["globalStage"] == sample["globalStage"]
    assert relayed["custom"]["stagectl"]["changed"]["sampleId"] == sample["sampleId"]
    assert relayed["relatedSampleIds"] == [*sample["relatedSampleIds"], sample["sampleId"]]


def test_cbor_values_json_cannot_hold_cost_that_value_not_the_sample() -> None:
    sample = json.loads(EXAMPLE.read_text())
    sample["custom"] = {"blob": b"\x01\x02", "gain": math.nan, "pot1": 7}
    (relayed,) = _relayed(CameraPipeline("A"), [sample], ENCODING_CBOR)
    custom = relayed["custom"]
    assert (custom["blob"], custom["gain"], custom["pot1"]) == ("0102", None, 7)
    changed = custom["stagectl"]["changed"]
    assert (changed["custom.blob"], changed["custom.gain"]) == ("bytes of 2", "nan")
    assert changed["sampleId"] == sample["sampleId"] and "upstream" not in custom["stagectl"]
    assert relayed["transforms"] == sample["transforms"]
