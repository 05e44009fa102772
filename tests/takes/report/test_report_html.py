"""The daily report's HTML read back with the standard library's parser: every field of every take in the
list and in detail, the header and totals; hostile slates and notes stay text; a document with no script
and nothing loaded from anywhere, printable landscape with a page per section."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.model import LogEntry
from stagectl.takes.report import DayReport, TakeLine, render_fragment, render_html, take_line
from stagectl.takes.report.render import REPORT_CSS
from tests.take_factory import make_take
from tests.takes.report.reading import Element, parse, take_row, take_section

DAY = date(2026, 12, 7)
DF = FrameRate(Fraction(30000, 1001))


def _day() -> DayReport:
    one = make_take(take_id=1, cameras=("A", "B"), frames=240)
    one.log.append(LogEntry(2_000_000_000, Timecode.parse("10:00:04:12", one.info.rate), "note", "operator",
                            "actor missed mark\nre-set"))
    one.cameras["B"].focal_length_mm[:] = float("nan")
    two = make_take(take_id=2, rate=DF, drop_frame=True, tc_in="00:00:59;28", frames=1800,
                    samples_per_frame=1)
    two.info = dataclasses.replace(two.info, slate=dataclasses.replace(two.info.slate, scene="14", shot="B",
                                                                       take=1, notes=""),
                                   circled=False, no_good=True, state="recovered", notes="",
                                   started_unix_s=two.info.started_unix_s + 600)
    lines = (take_line(one, "stage-3"), take_line(two, "stage-3"))
    return DayReport(DAY, "stage-3", "Night Drive", ("Night Drive",), lines)


def _check_row(row: Element, t: TakeLine) -> None:
    assert row.field("take-id") == str(t.take_id)
    assert (row.field("scene"), row.field("shot"), row.field("take")) == (t.scene, t.shot, str(t.take))
    assert row.field("tc-in") == str(t.tc_in) and row.field("tc-out") == str(t.tc_out)
    assert row.field("duration") == str(t.duration)
    assert row.field("cameras").split("\n") == [f"{c.camera} {c.focal_text}" for c in t.cameras]
    assert row.field("looks") == ", ".join(t.looks)
    remarks = [x for x in (t.take_notes, t.slate_notes) if x] + [f"{n.timecode}{n.text}" for n in t.notes]
    assert row.field("remarks") == ("\n".join(remarks) or "\u2014")
    flags = {e.attrs["data-flag"] for e in row.one(data_field="flags").find_all("span")}
    assert flags == ({"circled"} if t.circled else set()) | ({"no-good"} if t.no_good else set()) | (
        {t.state} if t.state != "complete" else set())
    assert ("circled" in row.classes()) == t.circled and ("no-good" in row.classes()) == t.no_good


def _check_section(section: Element, t: TakeLine) -> None:
    assert section.field("scene") == t.scene and section.field("shot") == t.shot
    assert section.one(class_="dr-take-no").text() == str(t.take)
    assert f"{t.production} · {t.name} · id {t.take_id} · {t.stage}" == section.one(class_="dr-name").text()
    facts = section.one("table", class_="dr-take-facts")
    assert [facts.field(f) for f in ("tc-in", "tc-out", "duration", "frames", "rate", "state", "looks")] == [
        str(t.tc_in), str(t.tc_out), str(t.duration), str(t.duration_frames), t.rate_text,
        {"complete": "complete", "recovered": "recovered"}[t.state], ", ".join(t.looks)]
    assert facts.field("started") == datetime.fromtimestamp(t.started_unix_s).strftime("%H:%M:%S")
    rows = section.one("table", class_="dr-cameras").find_all("tr")[1:]
    assert [[r.field(f) for f in ("camera", "lens", "lens-file", "focal", "samples", "dropouts")]
            for r in rows] == [[c.camera, c.lens, c.lens_file, c.focal_text, str(c.samples), str(c.dropouts)]
                               for c in t.cameras]
    notes = section.one("table", class_="dr-take-notes")
    assert [li.text() for li in notes.find_all("li", data_field="note")] == [
        f"{n.timecode}{n.text}" for n in t.notes]
    if t.slate_notes:
        assert notes.field("slate-notes") == t.slate_notes
    if t.take_notes:
        assert notes.field("take-notes") == t.take_notes


def test_every_field_of_every_take_is_in_the_list_and_in_detail() -> None:
    report = _day()
    root = parse(render_html(report))
    head = root.one("header")
    assert head.field("title") == "Night Drive"
    assert [head.field(f) for f in ("production", "stage", "day", "takes", "circled", "no-good")] == [
        "Night Drive", "stage-3", "Monday 7 December 2026", "2", "1", "1"]
    assert head.field("recorded") == "00:00:10:00 at 24 fps; 00:01:00;02 at 29.97 fps DF"
    for t in report.takes:
        _check_row(take_row(root, t.take_id), t)
        _check_section(take_section(root, t.take_id), t)
    one = report.takes[0]
    assert [c.focal_text for c in one.cameras] == ["35 mm", "unknown"]  # B has no lens data
    assert [f"{n.timecode}{n.text}" for n in one.notes] == ["10:00:04:12actor missed mark\nre-set"]
    totals = root.one("section", class_="dr-section dr-totals")
    assert [totals.field(f) for f in ("takes", "circled", "no-good", "incomplete", "cameras", "looks")] == [
        "2", "1", "1", "1", "A, B", "dusk, night"]
    assert totals.field("recorded").split("\n") == ["00:00:10:00 at 24 fps (240 frames, 1 take)",
                                                    "00:01:00;02 at 29.97 fps DF (1800 frames, 1 take)"]


def test_hostile_slate_and_notes_stay_text() -> None:
    hostile = {
        "scene": "<script>alert(1)</script>",
        "shot": '"><img src=x onerror=alert(1)>',
        "production": "Rock & Roll </style><style>body{display:none}",
        "notes": "it's <b>bold</b> &amp; \u202eevil\u202c",
    }
    take = make_take(take_id=5)
    slate = dataclasses.replace(take.info.slate, scene=hostile["scene"], shot=hostile["shot"],
                                production=hostile["production"], notes=hostile["notes"])
    take.info = dataclasses.replace(take.info, slate=slate, name="x<y",
                                    notes="nul\x00 here \ud800 and \x1b[2J")
    take.log.append(LogEntry(1, take.info.tc_in, "note", "operator", "</li></ul></td></tr></table><script>"))
    report = DayReport(DAY, '<stage "3">', "</title><script>x()</script>", (hostile["production"],),
                       (take_line(take),))
    document = render_html(report)
    document.encode("utf-8")  # a lone surrogate would not encode
    root = parse(document)
    assert not root.find_all("script") and not root.find_all("img")
    assert len(root.find_all("style")) == 2  # the report's own: the sheet and the page boxes
    assert root.one("title").text().startswith("</title><script>x()</script>")
    row = take_row(root, 5)
    assert row.field("scene") == hostile["scene"] and row.field("shot") == hostile["shot"]
    assert row.field("remarks") == "\n".join(["nul\ufffd here \ufffd and \ufffd[2J", hostile["notes"],
                                              "10:00:00:00</li></ul></td></tr></table><script>"])
    assert root.one("header").field("production") == hostile["production"]
    assert root.one("header").field("stage") == '<stage "3">'


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_text_on_a_slate_or_in_a_note_reads_back_as_text(scene: str, note: str) -> None:
    take = make_take(take_id=9)
    take.info = dataclasses.replace(take.info, slate=dataclasses.replace(take.info.slate, scene=scene))
    take.log.append(LogEntry(1, take.info.tc_in, "note", "operator", note))
    document = render_html(DayReport(DAY, "s", "t", ("p",), (take_line(take),)))
    document.encode("utf-8")
    root = parse(document)
    unfit = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
    # the parser turns a lone CR into text as given; HTML would normalise it, the report does not care
    shown = take_section(root, 9).one("li", data_field="note").text()
    assert shown == "10:00:00:00" + unfit.sub("\ufffd", note)
    assert take_row(root, 9).field("scene") in (unfit.sub("\ufffd", scene), "\u2014")
    assert {e.tag for e in root.iter()} <= {"#document", "html", "head", "meta", "title", "style", "body",
                                            "article", "section", "header", "div", "h1", "h2", "h3", "dl",
                                            "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "span",
                                            "b", "br", "ul", "li", "p"}


def test_a_standalone_printable_document_that_loads_nothing() -> None:
    document = render_html(_day())
    root = parse(document)
    assert document.startswith("<!DOCTYPE html>")
    assert root.one("meta", charset="utf-8")
    assert not root.find_all("script") and not root.find_all("link") and not root.find_all("iframe")
    assert not any(k in ("src", "href") or k.startswith("on") for e in root.iter() for k in e.attrs)
    assert "url(" not in document and "@import" not in document
    assert "@page" in REPORT_CSS and "size: landscape" in REPORT_CSS
    assert "break-before: page" in REPORT_CSS and "break-inside: avoid" in REPORT_CSS
    sections = root.find_all("section", class_="dr-section dr-overview") + root.find_all(
        "section", class_="dr-section dr-details") + root.find_all("section", class_="dr-section dr-totals")
    assert len(sections) == 3
    # the body is the fragment a page embeds, as is
    assert render_fragment(_day()) in document


def test_a_day_without_takes_says_so() -> None:
    root = parse(render_html(DayReport(DAY, "stage-3", "Daily report", (), ())))
    assert root.field("empty") == "No takes were recorded on this day."
    assert root.one("header").field("takes") == "0" and not root.find_all("tr", data_take="1")
    assert not root.find_all("section", class_="dr-section dr-details")
