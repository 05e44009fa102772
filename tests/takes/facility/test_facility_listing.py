"""``takes list --json`` of the facility store, written by the database: equal, key for key and value for
value, to the JSON the CLI writes of the same takes read as TakeInfo (``take_json``), over the takes that
bite: drop-frame and NTSC rates, a take over midnight, a take without timecode, hostile text."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import psycopg

from stagectl.commands.takes import take_json
from stagectl.takes.facility import FacilityStore, migrate

_TAKES: list[dict[str, Any]] = [
    # 25 fps, plain
    {"name": "1-A-T001", "num": 25, "den": 1, "drop": False, "tc_in": 90_000, "tc_out": 90_250},
    # 29.97 drop-frame over midnight (the out point wrapped: counted on, not back)
    {"name": "2-A-T001", "num": 30000, "den": 1001, "drop": True, "tc_in": 2_589_000, "tc_out": 2_589_700},
    # 23.976, notes with quotes, a newline, a backslash, a tab and non-ASCII
    {"name": "3-B-T002", "num": 24000, "den": 1001, "drop": False, "tc_in": 100, "tc_out": 200,
     "notes": 'she said "cut"\nthen \\ left\t– Ünïcode ✓', "scene": "3 \"night\""},
    # recovered after a crash, no timecode at all
    {"name": "4-A-T001", "num": 50, "den": 1, "drop": False, "tc_in": None, "tc_out": None,
     "state": "recovered"},
]


def _insert(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO stages (stage_id) VALUES ('stage-1'), ('stage-2')")
        for n, take in enumerate(_TAKES, start=1):
            scene = take.get("scene", str(n))
            slate = {"production": "Listing", "scene": scene, "shot": "A", "take": n, "cameras": ["A", "B"],
                     "notes": f"slate note {n} \"quoted\""}
            conn.execute(
                "INSERT INTO takes (stage_id, take_key, local_id, name, slate, production, scene, shot, "
                "take_number, rate_num, rate_den, drop_frame, tc_in, tc_out, timecode_from, started, "
                "stopped, day, state, circled, no_good, notes, look_at_start, samples) VALUES "
                "(%s, %s, %s, %s, %s, 'Listing', %s, 'A', %s, %s, %s, %s, %s, %s, 'stage', "
                "%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (f"stage-{n % 2 + 1}", f"k{n}", n, take["name"], json.dumps(slate), scene, n, take["num"],
                 take["den"], take["drop"], take["tc_in"], take["tc_out"], 1_790_000_000.125 + n,
                 None if n == 4 else 1_790_000_060.5 + n, date(2026, 12, 7), take.get("state", "complete"),
                 n % 2 == 0, n == 3, take.get("notes", ""), "Sunset" if n < 3 else "", 1000 * n))


def test_the_database_writes_the_same_json_as_the_cli(facility_url: str) -> None:
    migrate(facility_url)
    _insert(facility_url)
    with FacilityStore(facility_url) as store:
        infos = store.takes()
        listed = [json.loads(text) for text in store.listing()]
        counts, stages = store.sample_counts(), store.stages()
        one = [json.loads(text)["name"] for text in store.listing(stage="stage-1", circled=True)]
    expected = [{**take_json(t), "samples": counts[t.take_id], "stage": stages[t.take_id]} for t in infos]
    assert len(listed) == len(_TAKES)
    for got, want in zip(listed, expected, strict=True):
        assert list(got) == list(want)  # the keys in the CLI's order
        assert got == want
    by_name = {row["name"]: row for row in listed}
    assert by_name["2-A-T001"]["tc_out"] == "00:00:09;22" and by_name["2-A-T001"]["duration_frames"] == 701
    assert by_name["3-B-T002"]["notes"] == _TAKES[2]["notes"] and by_name["3-B-T002"]["scene"] == '3 "night"'
    assert by_name["4-A-T001"]["tc_in"] is None and by_name["4-A-T001"]["recovered"] is True
    assert one == ["2-A-T001", "4-A-T001"]  # the filters are those of takes()
