"""``takes list --json`` of a facility store, its rows built by the database.

A facility holds tens of thousands of takes; building a :class:`~stagectl.takes.model.TakeInfo` (its
slate, two timecodes) per take and then a dict per take costs Python most of the time of a listing. Here
PostgreSQL writes each take's JSON object itself (``row_to_json``, compact), all but the three values
that are timecode counts: the labels of TC in and out and the duration, which are counted in Python
through :mod:`stagectl.core.timecode`, as everywhere, and put in the object's place between the rate
and the start time. The keys and their order are those of the local ``takes list --json``
(``stagectl.commands.takes.take_json`` plus ``samples`` and ``stage``); the tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from stagectl.core.timecode import FrameRate, Timecode, frames_per_24h

#: Each take's JSON, in two parts around its timecodes, with what counting them needs.
_SELECT = """
SELECT row_to_json(h)::text, k.tc_in, k.tc_out, k.rate_num, k.rate_den, k.drop_frame, row_to_json(t)::text
FROM takes k
CROSS JOIN LATERAL (
    SELECT k.id, k.name, k.state, k.state = 'recovered' AS recovered, k.production, k.scene, k.shot,
           k.take_number AS "take", coalesce((k.slate::json) -> 'cameras', '[]'::json) AS cameras,
           coalesce((k.slate::json) ->> 'notes', '') AS slate_notes, k.rate_num || '/' || k.rate_den AS rate,
           k.drop_frame) h
CROSS JOIN LATERAL (
    SELECT k.started AS started_unix_s, k.stopped AS stopped_unix_s, k.circled, k.no_good, k.notes,
           k.look_at_start, k.samples, k.stage_id AS stage) t
"""


def listing_query(stage: str | None, day: date | None, scene: str | None,
                  circled: bool | None) -> tuple[str, tuple[Any, ...]]:
    """The listing's SQL and its arguments for these filters (None: any), by start time."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("stage_id", stage), ("day", day), ("scene", scene), ("circled", circled)):
        if value is not None:
            where.append(f"k.{column} = %s")
            args.append(value)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return f"{_SELECT} {clause} ORDER BY k.started, k.id", tuple(args)


def listing_rows(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """One JSON object text per row of :func:`listing_query`, its timecodes counted and put in."""
    rates: dict[tuple[int, int, bool], tuple[FrameRate, int]] = {}
    out = []
    for head, tc_in, tc_out, num, den, drop, tail in rows:
        key = (num, den, drop)
        known = rates.get(key)
        if known is None:
            rate = FrameRate(Fraction(num, den))
            known = rates[key] = (rate, frames_per_24h(rate, drop))
        rate, per_day = known
        label_in = f'"{Timecode(tc_in % per_day, rate, drop)}"' if tc_in is not None else "null"
        label_out = f'"{Timecode(tc_out % per_day, rate, drop)}"' if tc_out is not None else "null"
        duration = (tc_out - tc_in) % per_day + 1 if tc_in is not None and tc_out is not None else 0
        out.append(f'{head[:-1]},"tc_in":{label_in},"tc_out":{label_out},"duration_frames":{duration},'
                   f"{tail[1:]}")
    return out
