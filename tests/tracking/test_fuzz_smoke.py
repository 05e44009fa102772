"""bench/fuzz_tracking.py stays runnable: a short run of every protocol, nothing escapes."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.support.cli import REPO

BENCH = REPO / "bench" / "fuzz_tracking.py"


def test_short_fuzz_run_of_every_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("fuzz_tracking", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--count", "3000", "--seed", "7", "--shape-repeats", "2"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["protocol"] for r in results] == ["freed", "opentrackio", "freed-serial stream", "shapes"]
    for result in results[:3]:
        assert result["datagrams"] == 3000 and result["escaped"] == 0
    freed, otio, _, shapes = results
    # Every hostile shape is refused by its budget (or kept as a schema-valid sample without a pose),
    # never decoded into a pose and never an internal error; the real sample is accepted.
    outcomes = {r["shape"]: r["outcome"] for r in shapes["shapes"]}
    assert outcomes.pop("real sample (CBOR, reference)") == "accepted"
    assert {o for name, o in outcomes.items() if "wide [[]]" in name} == {"too_many_items"}
    assert {o for name, o in outcomes.items() if "deep" in name} == {"too_deep"}
    assert set(outcomes.values()) <= {"too_many_items", "too_deep", "kept, no pose"}
    # The mutations reach past the checksum into the value checks and decoders behind it.
    assert freed["internal"] == 0 and freed["by_reason"].get("value", 0) > 0 and freed["accepted"] > 0
    assert otio["internal"] == 0 and {"value", "json", "cbor", "too_deep"} <= set(otio["by_reason"])
