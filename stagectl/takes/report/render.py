"""The daily report as HTML: one standalone printable document, or its body for a page to embed.

Everything on a slate or in a note was typed by someone (on a phone, over the network), so every
piece of text goes through :func:`text`: characters HTML cannot hold (controls, lone surrogates) are
replaced, the rest escaped; every cell isolates its text's direction (a right-to-left override typed
into a note cannot reorder the columns beside it). The document has no script and loads nothing.

Cells carry ``data-field`` names (``tc-in``, ``focal``...) and each take ``data-take`` (its id), so
the page that embeds the report and its tests find a value without depending on the layout.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from stagectl.core.version import __version__
from stagectl.takes.report.model import CameraLine, DayReport, NoteLine, TakeLine
from stagectl.takes.report.style import REPORT_CSS

__all__ = ["REPORT_CSS", "render_fragment", "render_html", "text"]

# C0 controls but tab, newline and carriage return; DEL and C1 controls; lone surrogates (which
# cannot be written as UTF-8); non-characters U+FDD0-U+FDEF, U+FFFE, U+FFFF.
_UNFIT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
DASH = "\u2014"
STATES = {"complete": "complete", "recovered": "recovered", "recording": "recording"}
"""A take's state as the report names it."""


def text(value: object) -> str:
    """``value`` as HTML text: unfit characters replaced by U+FFFD, ``& < > " '`` escaped."""
    return html.escape(_UNFIT.sub("\ufffd", str(value)), quote=True)


def _or_dash(value: object) -> str:
    shown = text(value)
    return shown if shown else f'<span class="dr-muted">{DASH}</span>'


def _cell(field: str, value: str, cls: str = "", *, raw: bool = False, blank: bool = False) -> str:
    """A ``<td>`` named ``field``; ``value`` is escaped unless ``raw`` (already built markup); an empty
    value shows a dash unless ``blank``."""
    dash = "" if blank else f'<span class="dr-muted">{DASH}</span>'
    body = (value or dash) if raw else (text(value) or dash)
    attr = f' class="{cls}"' if cls else ""
    return f'<td data-field="{field}"{attr}>{body}</td>'


def _head(*names: str) -> str:
    return "<thead><tr>" + "".join(f'<th scope="col">{n}</th>' for n in names) + "</tr></thead>"


def render_html(report: DayReport) -> str:
    """The report as one standalone HTML document (inline style sheet, print layout, no script)."""
    title = f"{report.title} {DASH} daily report {report.day.isoformat()}"
    if report.title.casefold() == "daily report":
        title = f"Daily report {report.day.isoformat()}"
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="stagectl {text(__version__)}">\n'
            f"<title>{text(title)}</title>\n<style>{REPORT_CSS}</style>\n<style>{_page_boxes(title)}</style>\n"
            "</head>\n<body>\n"
            f"{render_fragment(report)}\n</body>\n</html>\n")


def _css_string(value: str) -> str:
    """``value`` as a CSS string: anything but letters, digits and plain punctuation as a six-digit escape
    and the space that ends it (so no quote, backslash or ``</style>`` of it survives)."""
    safe = _UNFIT.sub("\ufffd", value)
    return '"' + "".join(c if c.isalnum() or c in " .,-_:/()" else f"\\{ord(c):06x} " for c in safe) + '"'


def _page_boxes(title: str) -> str:
    """Each printed page's running head (the report's title and day) and its page number."""
    box = "font: 7.5pt Arial, 'Liberation Sans', sans-serif; color: #555;"
    return ("@media print { @page { "
            f"@top-left {{ content: {_css_string(title)}; {box} }} "
            f'@bottom-right {{ content: "Page " counter(page) " of " counter(pages); {box} }} }} }}')


def render_fragment(report: DayReport) -> str:
    """The report's body (an ``<article class="day-report">``) for a page that embeds it; style it with
    :data:`REPORT_CSS`, whose rules all apply inside ``.day-report``."""
    parts = [f'<article class="day-report" data-day="{report.day.isoformat()}">',
             '<section class="dr-section dr-overview">', _header(report), "<h2>Takes</h2>"]
    if report.takes:
        parts.append(_take_list(report))
    else:
        parts.append('<p class="dr-empty" data-field="empty">No takes were recorded on this day.</p>')
    parts.append("</section>")
    if report.takes:
        parts += ['<section class="dr-section dr-details">', "<h2>Takes in detail</h2>",
                  *(_take_detail(t) for t in report.takes), "</section>"]
    parts += [_totals(report), _footer(report), "</article>"]
    return "\n".join(parts)


def _header(report: DayReport) -> str:
    totals = report.rate_totals
    facts = [
        ("Production", "production", ", ".join(report.productions)),
        ("Stage", "stage", report.stage),
        ("Day", "day", f"{report.day:%A} {report.day.day} {report.day:%B %Y}"),
        ("Takes", "takes", str(len(report.takes))),
        ("Circled", "circled", str(report.circled)),
        ("NG", "no-good", str(report.no_good)),
        ("Recorded", "recorded", "; ".join(f"{r.duration} at {_fps(r.rate_text)}" for r in totals)),
    ]
    items = "".join(f'<div><dt>{label}</dt><dd data-field="{field}">{_or_dash(value)}</dd></div>'
                    for label, field, value in facts)
    return (f'<header><div class="dr-kind">Daily report</div><h1 data-field="title">{text(report.title)}</h1>'
            f'<dl class="dr-facts">{items}</dl></header>')


def _fps(rate_text: str) -> str:
    """``24`` -> ``24 fps``, ``29.97 DF`` -> ``29.97 fps DF``."""
    rate, _, drop = rate_text.partition(" ")
    return f"{rate} fps{f' {drop}' if drop else ''}"


def _flags(take: TakeLine) -> str:
    flags = []
    if take.circled:
        flags.append('<span class="dr-flag" data-flag="circled">CIRCLED</span>')
    if take.no_good:
        flags.append('<span class="dr-flag dr-flag-ng" data-flag="no-good">NG</span>')
    if take.state != "complete":
        flags.append(f'<span class="dr-flag dr-flag-state" data-flag="{take.state}">'
                     f"{STATES.get(take.state, text(take.state)).upper()}</span>")
    return "".join(flags)


def _row_class(take: TakeLine) -> str:
    classes = [c for c, on in (("circled", take.circled), ("no-good", take.no_good)) if on]
    return f' class="{" ".join(classes)}"' if classes else ""


def _take_no(take: TakeLine) -> str:
    return f'<span class="dr-take-no">{take.take}</span>'


def _tc(take: TakeLine, which: str) -> str:
    value = take.tc_in if which == "in" else take.tc_out
    return str(value) if value is not None else ""


def _cameras_brief(take: TakeLine) -> str:
    return "<br>".join(f"{text(c.camera)} <span class=\"dr-muted\">{text(c.focal_text)}</span>"
                       for c in take.cameras)


def _remarks(take: TakeLine) -> str:
    lines = [text(t) for t in (take.take_notes, take.slate_notes) if t]
    lines += [_note(n) for n in take.notes]
    return "<br>".join(lines)


def _note(note: NoteLine) -> str:
    when = f'<span class="dr-note-tc tc">{note.timecode}</span>' if note.timecode is not None else ""
    return f'{when}<span class="multiline">{text(note.text)}</span>'


def _take_list(report: DayReport) -> str:
    several = len({t.stage for t in report.takes if t.stage}) > 1
    rows = []
    for t in report.takes:
        cells = [_cell("take-id", str(t.take_id), "num")]
        if several:
            cells.append(_cell("stage", t.stage or ""))
        cells += [
            _cell("scene", t.scene), _cell("shot", t.shot), _cell("take", _take_no(t), "num", raw=True),
            _cell("tc-in", _tc(t, "in"), "tc"), _cell("tc-out", _tc(t, "out"), "tc"),
            _cell("duration", str(t.duration), "tc"), _cell("cameras", _cameras_brief(t), raw=True),
            _cell("looks", ", ".join(t.looks)), _cell("remarks", _remarks(t), "multiline", raw=True),
            _cell("flags", _flags(t), raw=True, blank=True),
        ]
        rows.append(f'<tr data-take="{t.take_id}"{_row_class(t)}>{"".join(cells)}</tr>')
    head = _head("Id", *(("Stage",) if several else ()), "Scene", "Shot", "Take", "TC in", "TC out",
                 "Duration", "Cameras / focal", "Looks", "Remarks", "Flags")
    return f'<table class="dr-list">{head}<tbody>{"".join(rows)}</tbody></table>'


def _take_detail(t: TakeLine) -> str:
    slate = (f'<span>Scene <b data-field="scene">{_or_dash(t.scene)}</b></span>'
             f'<span>Shot <b data-field="shot">{_or_dash(t.shot)}</b></span>'
             f'<span>Take {_take_no(t)}</span><span data-field="flags">{_flags(t)}</span>')
    who = " \u00b7 ".join(x for x in (text(t.production), text(t.name), f"id {t.take_id}",
                                      text(t.stage or "")) if x)
    started = datetime.fromtimestamp(t.started_unix_s).strftime("%H:%M:%S")
    facts = "".join([
        _cell("tc-in", _tc(t, "in"), "tc"), _cell("tc-out", _tc(t, "out"), "tc"),
        _cell("duration", str(t.duration), "tc"), _cell("frames", str(t.duration_frames), "num"),
        _cell("rate", t.rate_text, "num"), _cell("started", started, "tc"),
        _cell("state", STATES.get(t.state, t.state)), _cell("looks", ", ".join(t.looks)),
    ])
    head = _head("TC in", "TC out", "Duration", "Frames", "Rate", "Started", "State", "Looks")
    facts_table = f'<table class="dr-take-facts">{head}<tbody><tr>{facts}</tr></tbody></table>'
    cameras = "".join(_camera_row(c) for c in t.cameras) or (
        f'<tr><td colspan="6" class="dr-muted">no camera{DASH}nothing was tracked</td></tr>')
    head = _head("Camera", "Lens", "Lens file", "Focal range", "Samples", "Dropouts")
    cameras_table = f'<table class="dr-cameras">{head}<tbody>{cameras}</tbody></table>'
    return (f'<section class="dr-take{" circled" if t.circled else ""}" id="take-{t.take_id}" '
            f'data-take="{t.take_id}"><h3>{slate}<span class="dr-name">{who}</span></h3>'
            f"{facts_table}{cameras_table}{_notes_table(t)}</section>")


def _camera_row(c: CameraLine) -> str:
    return ("<tr>" + _cell("camera", c.camera) + _cell("lens", c.lens) + _cell("lens-file", c.lens_file)
            + _cell("focal", c.focal_text, "num") + _cell("samples", str(c.samples), "num")
            + _cell("dropouts", str(c.dropouts), "num") + "</tr>")


def _notes_table(t: TakeLine) -> str:
    rows = []
    if t.slate_notes:
        rows.append(("Slate notes", "slate-notes", f'<span class="multiline">{text(t.slate_notes)}</span>'))
    if t.take_notes:
        rows.append(("Take notes", "take-notes", f'<span class="multiline">{text(t.take_notes)}</span>'))
    if t.notes:
        items = "".join(f'<li data-field="note">{_note(n)}</li>' for n in t.notes)
        rows.append(("Notes", "notes", f'<ul class="dr-notes">{items}</ul>'))
    if not rows:
        rows.append(("Notes", "notes", f'<span class="dr-muted">{DASH}</span>'))
    body = "".join(f'<tr><th scope="row">{label}</th>{_cell(field, value, raw=True)}</tr>'
                   for label, field, value in rows)
    return f'<table class="dr-take-notes"><tbody>{body}</tbody></table>'


def _totals(report: DayReport) -> str:
    recorded = "<br>".join(
        f'<span class="tc">{r.duration}</span> at {_fps(r.rate_text)} '
        f'<span class="dr-muted">({r.frames} frames, {r.takes} take{"" if r.takes == 1 else "s"})</span>'
        for r in report.rate_totals)
    rows = [
        ("Takes", "takes", str(len(report.takes)), False),
        ("Circled", "circled", str(report.circled), False),
        ("NG", "no-good", str(report.no_good), False),
        ("Recovered / recording", "incomplete", str(report.incomplete), False),
        ("Recorded", "recorded", recorded, True),
        ("Cameras", "cameras", ", ".join(report.cameras), False),
        ("Looks", "looks", ", ".join(report.looks), False),
    ]
    body = "".join(f'<tr><th scope="row">{label}</th>{_cell(field, value, raw=raw)}</tr>'
                   for label, field, value, raw in rows)
    return (f'<section class="dr-section dr-totals"><h2>Totals</h2>'
            f'<table class="dr-totals-table"><tbody>{body}</tbody></table>{_sign_off()}</section>')


def _sign_off() -> str:
    """Lines for the departments to sign the printed report."""
    roles = ("Script supervisor", "Camera", "DIT")
    return '<div class="dr-sign">' + "".join(f"<div><span>{r}</span></div>" for r in roles) + "</div>"


def _footer(report: DayReport) -> str:
    return (f'<p class="dr-foot">stagectl {text(__version__)} {DASH} timecode and durations counted in '
            "frames "
            "at each take's rate; start times in local time; focal range: the smallest and largest focal "
            "length over the take's samples (unknown: no lens data).</p>")
