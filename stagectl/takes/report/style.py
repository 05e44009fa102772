"""The daily report's style sheet: one for the screen and for paper, every rule scoped to ``.day-report``
so a page that embeds the report (:func:`stagectl.takes.report.render_fragment`) keeps its own look.

Paper: landscape on whatever the printer holds (``size: landscape`` keeps A4 and US letter both
right; the layout fits the narrower of the two, 279 x 210 mm less the margins), the take list, the
takes in detail and the totals each start a page, a take is never split across two pages, and the
table header repeats on each page of a long list.
"""

REPORT_CSS = """
.day-report {
  --ink: #111; --muted: #555; --rule: #9a9a9a; --faint: #e6e6e6; --band: #f4f4f4; --accent: #1d4f91;
  --ng: #a11; color: var(--ink); background: #fff;
  font: 13px/1.35 "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  max-width: 1400px; margin: 0 auto; padding: 16px 20px;
}
.day-report * { box-sizing: border-box; }
.day-report h1 { font-size: 22px; margin: 0 0 2px; letter-spacing: .01em; }
.day-report h2 {
  font-size: 13px; text-transform: uppercase; letter-spacing: .08em; color: var(--accent);
  border-bottom: 2px solid var(--accent); padding-bottom: 2px; margin: 18px 0 8px;
}
.day-report .dr-kind {
  font-size: 11px; text-transform: uppercase; letter-spacing: .12em; color: var(--muted);
}
.day-report .dr-facts {
  display: flex; flex-wrap: wrap; gap: 0; margin: 10px 0 0; border: 1px solid var(--rule);
}
.day-report .dr-facts div { padding: 4px 12px; border-right: 1px solid var(--faint); min-width: 7em; }
.day-report .dr-facts div:last-child { border-right: 0; }
.day-report .dr-facts dt {
  font-size: 10px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
}
.day-report .dr-facts dd { margin: 0; font-size: 15px; font-weight: 600; }
.day-report table { border-collapse: collapse; width: 100%; }
.day-report th, .day-report td {
  border: 1px solid var(--rule); padding: 3px 6px; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; unicode-bidi: isolate;
}
.day-report thead th {
  white-space: nowrap; overflow-wrap: normal; background: var(--band); font-size: 10px;
  text-transform: uppercase; letter-spacing: .05em; font-weight: 600;
}
.day-report tbody tr:nth-child(even) td { background: #fafafa; }
.day-report .tc {
  font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-variant-numeric: tabular-nums;
  white-space: nowrap;
}
.day-report .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.day-report .multiline { white-space: pre-line; }
.day-report .dr-muted { color: var(--muted); }
.day-report .dr-take-no { display: inline-block; min-width: 1.9em; text-align: center; font-weight: 700; }
.day-report .circled .dr-take-no { border: 2px solid var(--ink); border-radius: 50%; padding: 0 3px; }
.day-report .dr-flag {
  display: inline-block; font-size: 10px; font-weight: 700; letter-spacing: .05em; padding: 0 4px;
  border: 1px solid currentColor; border-radius: 3px; margin-right: 3px; white-space: nowrap;
}
.day-report .dr-flag-ng { color: var(--ng); }
.day-report .dr-flag-state { color: var(--muted); }
.day-report tr.no-good td { color: #444; }
.day-report .dr-note-tc { color: var(--muted); margin-right: 6px; }
.day-report ul.dr-notes { list-style: none; margin: 0; padding: 0; }
.day-report .dr-take { margin: 0 0 14px; break-inside: avoid; page-break-inside: avoid; }
.day-report .dr-take h3 {
  font-size: 15px; margin: 0; padding: 4px 8px; background: var(--band); border: 1px solid var(--rule);
  border-bottom: 0; display: flex; gap: 14px; align-items: baseline; flex-wrap: wrap;
}
.day-report .dr-take h3 .dr-name {
  font-weight: 400; font-size: 12px; color: var(--muted); margin-left: auto;
}
.day-report .dr-take table + table { border-top: 0; }
.day-report .dr-take th[scope=row] { width: 9em; background: var(--band); font-weight: 600; font-size: 11px; }
.day-report .dr-empty {
  padding: 18px; border: 1px dashed var(--rule); color: var(--muted); text-align: center;
}
.day-report .dr-totals-table { width: auto; min-width: 60%; }
.day-report .dr-totals-table th { width: 12em; background: var(--band); font-size: 11px; }
.day-report .dr-sign { display: flex; gap: 28px; margin-top: 36px; }
.day-report .dr-sign div { flex: 1; border-top: 1px solid var(--ink); padding-top: 3px; }
.day-report .dr-sign span {
  font-size: 10px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
}
.day-report .dr-foot { margin-top: 14px; font-size: 10px; color: var(--muted); }
@media screen and (max-width: 760px) {
  /* a phone: the page keeps the screen's width; each wide table scrolls sideways on its own */
  .day-report { padding: 10px 8px; }
  .day-report table { display: block; overflow-x: auto; -webkit-overflow-scrolling: touch; }
  .day-report th, .day-report td { white-space: nowrap; overflow-wrap: normal; }
  .day-report td.multiline, .day-report td:has(ul.dr-notes) { white-space: pre-line; min-width: 16em; }
  .day-report ul.dr-notes li { white-space: normal; }
  .day-report .dr-facts div { min-width: 45%; border-bottom: 1px solid var(--faint); }
  .day-report .dr-sign { flex-direction: column; gap: 22px; }
}
@media print {
  @page { size: landscape; margin: 10mm 10mm 12mm; }
  html, body { margin: 0; background: #fff; }
  .day-report { font-size: 8.5pt; max-width: none; padding: 0; }
  .day-report h1 { font-size: 15pt; }
  .day-report h2 { font-size: 9pt; margin-top: 0; }
  .day-report header + h2 { margin-top: 10pt; }
  .day-report .dr-facts dd { font-size: 11pt; }
  .day-report .dr-take h3 { font-size: 10pt; }
  .day-report th, .day-report td { padding: 1.5pt 4pt; }
  .day-report tbody tr:nth-child(even) td { background: none; }
  .day-report thead { display: table-header-group; }
  .day-report tr { break-inside: avoid; page-break-inside: avoid; }
  .day-report .dr-section + .dr-section { break-before: page; page-break-before: always; }
  .day-report * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""
